# bench/bench.mk - `make bench` and `make bench-check` (included by the top-level Makefile;
# paths are relative to the repository root, where make runs).
#
#   make bench         builds at -O2, checks, then prints one Markdown table: ns and
#                      instructions per signed request (example and large order, mbedTLS,
#                      PSA Crypto (mbedTLS's), BearSSL and OpenSSL through the custom hook,
#                      md5 / hmac / hmac-sha256) against the hash-only bound, the
#                      cJSON baseline and the Python script; arena, heap, stack; response
#                      parsing against cJSON; then the issue's targets, met or not (< 2 min);
#                      then bench-net (below; about a minute);
#                      `make bench BENCH_WRITE=docs/bench.md` (what `make docs` runs) also
#                      writes the table into that page
#   make bench-check   the benchmark's correctness checks only (fast; for `make test`):
#                      last line "N passed, N failed", non-zero exit on failure
#   make bench-budget  callgrind Ir of the example order (mbedTLS, PSA, BearSSL) against
#                      the figures published in docs/bench.md plus a tolerance
#                      (tools/budget.py; about 10 s; for `make test`)
#   make bench-profile callgrind profile of the example order (mbedTLS): instructions per
#                      signed request, function by function; files in build/bench/profile/
#   make bench-net     what icbu-reflow costs per delivered order (flush of 100 orders, HTTP
#                      and HTTPS, keep-alive on and off: callgrind and orders/s) and per TLS
#                      handshake, full and resumed, TLS 1.2, and 1.3 over mbedTLS 3.6 built
#                      from MBEDTLS36_SRC as make test-compat builds it (bench/bench_net.py,
#                      about a minute; `make bench` runs it after the signing table, and
#                      BENCH_WRITE writes its tables into the page too)
#   make bench-net-budget  the keep-alive rows' instructions per order against the page
#                      (about 10 s; for `make test`)
#
# Needs (Debian): libmbedtls-dev libbearssl-dev libcjson-dev libcurl4-openssl-dev libssl-dev python3, and valgrind for
# `make bench`. mbedTLS (libmbedcrypto, also for the PSA rows: Debian's 2.28 has PSA Crypto
# in it) and BearSSL are linked statically into the bench_* drivers so that the link-time
# malloc wrappers see their calls too.

_bench_saved_default_goal := $(.DEFAULT_GOAL)

BUILD        ?= build
PYTHON       ?= python3
BENCH_OUT    := $(BUILD)/bench
BENCH_CC     ?= $(CC)
BENCH_CFLAGS ?= -std=c99 -O2 -g -Wall -Wextra -Wpedantic -Wshadow -I. -Itests -Ibench
BENCH_WRAP   := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=posix_memalign,--wrap=aligned_alloc
BENCH_HDRS   := icbu_reflow.h tests/example_order.h bench/orders.h bench/bound.h bench/bench.mk
BENCH_BINS   := $(BENCH_OUT)/bench_mbedtls $(BENCH_OUT)/bench_psa $(BENCH_OUT)/bench_bearssl $(BENCH_OUT)/bench_openssl
BENCH_WRITE  ?=
BENCH_PAGE   ?= docs/bench.md
BENCH_BUDGET_CG := $(BENCH_OUT)/cg_mbedtls $(BENCH_OUT)/cg_psa $(BENCH_OUT)/cg_bearssl
# The writer's fast paths, each turned off alone (and all of them: a small build), over
# mbedTLS without the baseline: what each saves (the "Fast paths" table).
BENCH_FAST   := all BLOCKS RUNS CJK KEYS small
BENCH_FAST_CG := $(foreach f,$(BENCH_FAST),$(BENCH_OUT)/cg_fast_$(f))
BENCH_CG     := $(BENCH_OUT)/cg_mbedtls $(BENCH_OUT)/cg_psa $(BENCH_OUT)/cg_bearssl $(BENCH_OUT)/cg_openssl \
                $(BENCH_OUT)/heap_mbedtls $(BENCH_FAST_CG)

# The baseline's and the OpenSSL hook's headers, checked once with a clear message.
$(BENCH_OUT)/.libs:
	@mkdir -p $(BENCH_OUT)
	@for h in cjson/cJSON.h:libcjson-dev curl/curl.h:libcurl4-openssl-dev openssl/sha.h:libssl-dev; do \
	    printf '#include <%s>\n' "$${h%%:*}" | $(BENCH_CC) -E -x c - >/dev/null 2>&1 || \
	    { echo "bench: $${h%%:*} is missing: apt-get install $${h#*:}"; exit 1; }; done
	@touch $@

$(BENCH_OUT)/bench_mbedtls: bench/bench.c bench/baseline.c bench/baseline.h $(BENCH_HDRS) $(BENCH_OUT)/.libs
	$(BENCH_CC) $(BENCH_CFLAGS) -DICBU_REFLOW_CRYPTO_MBEDTLS -DBENCH_BASELINE -o $@ bench/bench.c \
	    bench/baseline.c $(BENCH_WRAP) -Wl,-Bstatic -lmbedcrypto -Wl,-Bdynamic -lcjson -lcurl -pthread
# PSA Crypto through mbedTLS's libmbedcrypto; the driver calls psa_crypto_init() at start.
$(BENCH_OUT)/bench_psa: bench/bench.c $(BENCH_HDRS)
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -DICBU_REFLOW_CRYPTO_PSA -o $@ bench/bench.c \
	    $(BENCH_WRAP) -Wl,-Bstatic -lmbedcrypto -Wl,-Bdynamic -pthread
$(BENCH_OUT)/bench_bearssl: bench/bench.c $(BENCH_HDRS)
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -DICBU_REFLOW_CRYPTO_BEARSSL -o $@ bench/bench.c \
	    $(BENCH_WRAP) -Wl,-Bstatic -lbearssl -Wl,-Bdynamic -pthread
# The custom hook over OpenSSL's libcrypto (static, so the heap wrappers see it too).
$(BENCH_OUT)/bench_openssl: bench/bench.c bench/hash_openssl.c $(BENCH_HDRS) $(BENCH_OUT)/.libs
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -DICBU_REFLOW_CRYPTO_CUSTOM -o $@ bench/bench.c bench/hash_openssl.c \
	    $(BENCH_WRAP) -Wl,-Bstatic -lcrypto -Wl,-Bdynamic -ldl -pthread
$(BENCH_OUT)/cg_mbedtls: bench/cg_driver.c bench/baseline.c bench/baseline.h $(BENCH_HDRS) $(BENCH_OUT)/.libs
	$(BENCH_CC) $(BENCH_CFLAGS) -DICBU_REFLOW_CRYPTO_MBEDTLS -DBENCH_BASELINE -o $@ bench/cg_driver.c \
	    bench/baseline.c -lmbedcrypto -lcjson -lcurl
$(BENCH_OUT)/cg_fast_%: bench/cg_driver.c $(BENCH_HDRS)
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -DICBU_REFLOW_CRYPTO_MBEDTLS \
	    $(if $(filter all,$*),,$(if $(filter small,$*),-DICBU_REFLOW_SMALL,-DICBU__FAST_$*=0)) \
	    -o $@ bench/cg_driver.c -lmbedcrypto
$(BENCH_OUT)/cg_psa: bench/cg_driver.c $(BENCH_HDRS)
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -DICBU_REFLOW_CRYPTO_PSA -o $@ bench/cg_driver.c -lmbedcrypto
$(BENCH_OUT)/cg_bearssl: bench/cg_driver.c $(BENCH_HDRS)
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -DICBU_REFLOW_CRYPTO_BEARSSL -o $@ bench/cg_driver.c -lbearssl
$(BENCH_OUT)/cg_openssl: bench/cg_driver.c bench/hash_openssl.c $(BENCH_HDRS) $(BENCH_OUT)/.libs
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -DICBU_REFLOW_CRYPTO_CUSTOM -o $@ bench/cg_driver.c bench/hash_openssl.c -lcrypto
# memcheck's heap summary for mbedTLS: the driver without the baseline, since libcurl's
# dependencies (gnutls, libtasn1) allocate when they are loaded. The other back ends' cg_*
# drivers have no baseline and serve as their own (cg_psa: psa_crypto_init() included).
$(BENCH_OUT)/heap_mbedtls: bench/cg_driver.c $(BENCH_HDRS)
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CC) $(BENCH_CFLAGS) -DICBU_REFLOW_CRYPTO_MBEDTLS -o $@ bench/cg_driver.c -lmbedcrypto

.PHONY: bench bench-check bench-budget bench-profile bench-net bench-net-budget
bench: $(BENCH_BINS) $(BENCH_CG)
	@command -v valgrind >/dev/null || { echo "bench: valgrind is missing: apt-get install valgrind"; exit 1; }
	@$(PYTHON) bench/bench_run.py bench --dir $(BENCH_OUT) --cc "$(BENCH_CC)" $(if $(BENCH_WRITE),--write $(BENCH_WRITE))
	@$(MAKE) --no-print-directory bench-net

# The CLIs of make examples (cli/build.mk); MBEDTLS36_SRC and MBEDTLS36_PATCH: the Makefile's.
BENCH_NET_CLIS := $(BUILD)/icbu-reflow-mbedtls $(BUILD)/icbu-reflow-psa $(BUILD)/icbu-reflow-bearssl
bench-net: $(BENCH_NET_CLIS)
	@command -v valgrind >/dev/null || { echo "bench: valgrind is missing: apt-get install valgrind"; exit 1; }
	@$(PYTHON) bench/bench_net.py bench --bin $(BUILD) --tls13-src "$(MBEDTLS36_SRC)" \
	    --tls13-patch "$(MBEDTLS36_PATCH)" --tls13-cache $(BUILD)/compat $(if $(BENCH_WRITE),--write $(BENCH_WRITE))

bench-net-budget: $(BENCH_NET_CLIS)
	@command -v valgrind >/dev/null || { echo "bench: valgrind is missing: apt-get install valgrind"; exit 1; }
	@$(PYTHON) bench/bench_net.py budget --bin $(BUILD) --page $(BENCH_PAGE)

bench-budget: $(BENCH_BUDGET_CG)
	@command -v valgrind >/dev/null || { echo "bench: valgrind is missing: apt-get install valgrind"; exit 1; }
	@$(PYTHON) bench/bench_run.py budget --dir $(BENCH_OUT) --page $(BENCH_PAGE)

bench-profile: $(BENCH_CG)
	@$(PYTHON) bench/bench_run.py profile --dir $(BENCH_OUT)

bench-check: $(BENCH_BINS)
	@$(PYTHON) bench/bench_run.py check --dir $(BENCH_OUT)

# `make test` (bench_check, the correctness checks, is in the Makefile's SUITES).
EXTRA_SUITES += bench-budget="$(MAKE) --no-print-directory -s bench-budget BUILD=$(BUILD)" \
                bench-net-budget="$(MAKE) --no-print-directory -s bench-net-budget BUILD=$(BUILD)"

# Including this file does not change the default goal.
.DEFAULT_GOAL := $(_bench_saved_default_goal)
