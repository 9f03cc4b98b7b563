# cli/build.mk - the programs: the icbu-reflow command (cli/, over transports/) and the
# examples (examples/); included by the top-level Makefile (paths are relative to the
# repository root, where make runs).
#
#   make examples                      the programs below, in $(BUILD) (build/)
#   build/icbu-reflow-mbedtls          the CLI over mbedTLS: TLS, and hashes from mbedTLS's
#                                      MD5/SHA-256 (PSA on mbedTLS 4.x, which has no other)
#   build/icbu-reflow-psa              the CLI over mbedTLS: TLS, and hashes through PSA Crypto
#   build/icbu-reflow-bearssl          the CLI over BearSSL (TLS and hashes)
#   build/icbu-reflow                  the default CLI (the same as icbu-reflow-mbedtls)
#   build/minimal                      the README example (examples/minimal.c)
#   build/layered-curl                 the layered API with libcurl (examples/layered_curl.c)
#   make examples-asan                 the CLIs and layered-curl under ASan+UBSan, in $(BUILD)/asan
#
#   make examples MBEDTLS_PREFIX=DIR   the same against the mbedTLS installed under DIR
#                                      (tools/mbedtls.mk), and the unit tests of the
#                                      back ends over it (test_core_*, test_exchange_*,
#                                      psa_faults: mbedtls, psa, small)
#
# Each program is one compiler run; the .c that defines ICBU_REFLOW_IMPLEMENTATION
# (cli/commands.c, or the example itself) compiles the library. The CLI's TLS is the
# transports/icbu_tls_*.c given to it. Override EX_CFLAGS / EX_OPT (e.g.
# EX_OPT='-O0 -g -fsanitize=address,undefined'), or add EX_EXTRA_CFLAGS / EX_EXTRA_LDFLAGS.

_ex_saved_default_goal := $(.DEFAULT_GOAL)

EX_CC       ?= $(CC)
EX_OPT      ?= -O2 -g
EX_CFLAGS   ?= -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic \
               -Wconversion -Wshadow -Werror
EX_ALLFLAGS  = $(EX_CFLAGS) $(EX_OPT) $(EX_EXTRA_CFLAGS) -I.
EX_MBEDTLS_CFLAGS ?= $(MBEDTLS_CFLAGS)
EX_MBEDTLS_LIBS ?= $(MBEDTLS_LDFLAGS) -lmbedtls -lmbedx509 $(MBEDTLS_CRYPTO)
EX_BEARSSL_LIBS ?= -lbearssl
EX_CURL_CFLAGS ?= $(shell pkg-config --cflags libcurl 2>/dev/null)
EX_CURL_LIBS   ?= $(or $(shell pkg-config --libs libcurl 2>/dev/null),-lcurl)

CLI_SRC  = cli/commands.c cli/deliver.c cli/options.c cli/order.c cli/output.c cli/spool.c \
           cli/cache.c
NET_SRC  = transports/icbu_net_posix.c transports/icbu_x509_ip.c
CLI_DEPS = $(CLI_SRC) cli/cli.h transports/icbu_net.h $(NET_SRC) icbu_reflow.h cli/build.mk

# icbu-reflow over one TLS library.
# $(1) output, $(2) mbedtls|bearssl (the icbu_tls_*.c), $(3) MBEDTLS|BEARSSL (its CLI_TLS_
# and its flags), $(4) the hash back end (MBEDTLS, PSA, BEARSSL), $(5) compiler and its flags
define ex_cli
$(1): $(CLI_DEPS) transports/icbu_tls_$(2).c $(MBEDTLS_STAMP)
	@mkdir -p $$(@D)
	$(5) $(EX_ALLFLAGS) $$(EX_$(3)_CFLAGS) -DCLI_TLS_$(3) -DICBU_REFLOW_CRYPTO_$(4) -o $$@ \
	    $(CLI_SRC) $(NET_SRC) transports/icbu_tls_$(2).c $(EX_EXTRA_LDFLAGS) $$(EX_$(3)_LIBS)
endef
EX_ASAN := clang -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
EX_PROGS := $(BUILD)/icbu-reflow-mbedtls $(BUILD)/icbu-reflow-psa $(BUILD)/icbu-reflow-bearssl \
            $(BUILD)/icbu-reflow $(BUILD)/minimal $(BUILD)/layered-curl
$(eval $(call ex_cli,$(BUILD)/icbu-reflow-mbedtls,mbedtls,MBEDTLS,$(MBEDTLS_HASH),$(EX_CC)))
$(eval $(call ex_cli,$(BUILD)/icbu-reflow-psa,mbedtls,MBEDTLS,PSA,$(EX_CC)))
$(eval $(call ex_cli,$(BUILD)/icbu-reflow-bearssl,bearssl,BEARSSL,BEARSSL,$(EX_CC)))
$(eval $(call ex_cli,$(BUILD)/icbu-reflow,mbedtls,MBEDTLS,$(MBEDTLS_HASH),$(EX_CC)))
# The same under ASan+UBSan, for the integration tests in `make test`.
$(eval $(call ex_cli,$(BUILD)/asan/icbu-reflow-mbedtls,mbedtls,MBEDTLS,$(MBEDTLS_HASH),$(EX_ASAN)))
$(eval $(call ex_cli,$(BUILD)/asan/icbu-reflow-psa,mbedtls,MBEDTLS,PSA,$(EX_ASAN)))
$(eval $(call ex_cli,$(BUILD)/asan/icbu-reflow-bearssl,bearssl,BEARSSL,BEARSSL,$(EX_ASAN)))

# The examples: hashes from the chosen mbedTLS (PSA on 4.x), one compiler run each.
# $(1) output, $(2) the example's name, $(3) compiler and its flags, $(4) its own cflags, $(5) libs
define ex_example
$(1): examples/$(2).c icbu_reflow.h cli/build.mk $(MBEDTLS_STAMP)
	@mkdir -p $$(@D)
	$(3) $(EX_ALLFLAGS) $(EX_MBEDTLS_CFLAGS) $(4) -DICBU_REFLOW_CRYPTO_$(MBEDTLS_HASH) -o $$@ \
	    examples/$(2).c $(EX_EXTRA_LDFLAGS) $(MBEDTLS_LDFLAGS) $(MBEDTLS_CRYPTO) $(5)
endef
$(eval $(call ex_example,$(BUILD)/minimal,minimal,$(EX_CC),,))
$(eval $(call ex_example,$(BUILD)/layered-curl,layered_curl,$(EX_CC),$(EX_CURL_CFLAGS),$(EX_CURL_LIBS)))
$(eval $(call ex_example,$(BUILD)/asan/layered-curl,layered_curl,$(EX_ASAN),$(EX_CURL_CFLAGS),$(EX_CURL_LIBS)))

.PHONY: examples examples-asan
examples: $(EX_PROGS) $(if $(MBEDTLS_PREFIX),$(MBEDTLS_UNIT_BINS))
examples-asan: $(BUILD)/asan/icbu-reflow-mbedtls $(BUILD)/asan/icbu-reflow-psa \
               $(BUILD)/asan/icbu-reflow-bearssl $(BUILD)/asan/layered-curl

# `make test` also runs the CLI's reliability tests (retries, spool, flush, SIGKILL):
# tests/reliability.py against tools/top_gateway.py's seeded random faults (under 3 minutes).
# And tests/resume_check.py: what a TLS session may be resumed with (--session-cache).
EXTRA_SUITES += reliability="$(PYTHON) tests/reliability.py --bin $(BUILD)" \
                resume_check="$(PYTHON) tests/resume_check.py --bin $(BUILD)" \
                integration-asan="ASAN_OPTIONS=exitcode=86 UBSAN_OPTIONS=halt_on_error=1 $(PYTHON) tests/integration.py --bin $(BUILD)/asan"

# Including this file does not change the default goal.
.DEFAULT_GOAL := $(_ex_saved_default_goal)
