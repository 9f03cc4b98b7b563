# icbu_reflow — build, test and demo.
#   make test    everything CI runs; last line: "N passed, N failed"
#   make demo    the API document's example order, signed and sent to a local gateway
# Needs Debian's build-essential and python3; the rest is installed by `make deps`
# (as root) or named with the exact apt-get command to run.

CC      ?= cc
PYTHON  ?= python3
# Debian's python3, for python3-yaml and python3-kconfiglib (tests/manifests.py)
SYS_PYTHON ?= /usr/bin/python3
BUILD   ?= build
WARN    := -std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Werror
include tools/mbedtls.mk
TFLAGS  := -std=c99 -g -O1 -Wall -Wextra -I. -I$(BUILD) -Itests $(MBEDTLS_CFLAGS)
# Unit tests run once per back end. "small": the mbedTLS back end with ICBU_REFLOW_SMALL,
# the writer's compact paths (what -Os builds get). On mbedTLS 4.x (MBEDTLS_PREFIX), which
# has only PSA, there is no "mbedtls" and "small" is over PSA. "custom": the custom hash hook,
# with ICBU_REFLOW_NO_LIBC (the library's own five string.h loops).
MBEDTLS_BACKENDS := $(if $(filter PSA,$(MBEDTLS_HASH)),psa small,mbedtls psa small)
BACKENDS := $(MBEDTLS_BACKENDS) bearssl custom
LIBS_mbedtls := $(MBEDTLS_LDFLAGS) $(MBEDTLS_CRYPTO)
LIBS_psa     := $(MBEDTLS_LDFLAGS) $(MBEDTLS_CRYPTO)
LIBS_small   := $(MBEDTLS_LDFLAGS) $(MBEDTLS_CRYPTO)
LIBS_bearssl := -lbearssl
LIBS_custom  := -lbearssl
DEF_mbedtls  := -DICBU_REFLOW_CRYPTO_MBEDTLS
DEF_psa      := -DICBU_REFLOW_CRYPTO_PSA
DEF_bearssl  := -DICBU_REFLOW_CRYPTO_BEARSSL
DEF_custom   := -DICBU_REFLOW_CRYPTO_CUSTOM -DICBU_REFLOW_NO_LIBC
DEF_small    := -DICBU_REFLOW_CRYPTO_$(MBEDTLS_HASH) -DICBU_REFLOW_SMALL
SRC_custom   := tests/custom_hash.c
PSA_WRAP     := -Wl,--wrap=psa_hash_setup,--wrap=psa_hash_update,--wrap=psa_hash_finish,--wrap=psa_hash_abort

PACKAGES := libmbedtls-dev libbearssl-dev libcmocka-dev openssl clang libclang-rt-14-dev valgrind cmake patch xz-utils \
            pkgconf python3-yaml python3-kconfiglib \
            ca-certificates libcjson-dev 'libcurl4-openssl-dev|libcurl4-gnutls-dev' libssl-dev gcc-arm-none-eabi libnewlib-arm-none-eabi \
            gcc-riscv64-unknown-elf qemu-system-arm qemu-system-misc picolibc-riscv64-unknown-elf picolibc-arm-none-eabi \
            gcc-avr avr-libc

.PHONY: all deps test unit demo clean examples arena install
all: examples unit

deps:
	@tools/deps.sh $(PACKAGES)

$(BUILD)/.dir:
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/vectors.h: tests/gen_vectors.py tests/vectors/sign-vectors.json | $(BUILD)/.dir
	$(PYTHON) tests/gen_vectors.py tests/vectors/sign-vectors.json > $@
$(BUILD)/dates.h: tests/gen_dates.py | $(BUILD)/.dir
	$(PYTHON) tests/gen_dates.py > $@

GEN := $(BUILD)/vectors.h $(BUILD)/dates.h
TEST_PROGS := test_core test_exchange

# Unit tests, once per back end: plain (also run under valgrind) and with ASan+UBSan (clang).
define unit_rules
$(BUILD)/$(1)_$(2): tests/$(1).c icbu_reflow.h tests/example_order.h tests/out_file.h $(GEN) $(SRC_$(2)) $(MBEDTLS_STAMP)
	$(CC) $(TFLAGS) $(DEF_$(2)) -o $$@ tests/$(1).c $(SRC_$(2)) -lcmocka $(LIBS_$(2))
$(BUILD)/asan/$(1)_$(2): tests/$(1).c icbu_reflow.h tests/example_order.h tests/out_file.h $(GEN) $(SRC_$(2)) $(MBEDTLS_STAMP)
	@mkdir -p $(BUILD)/asan
	clang $(TFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all $(DEF_$(2)) -o $$@ tests/$(1).c $(SRC_$(2)) -lcmocka $(LIBS_$(2))
endef
$(foreach t,$(TEST_PROGS),$(foreach b,$(BACKENDS),$(eval $(call unit_rules,$(t),$(b)))))

# The PSA back end when every psa_hash_* call fails in turn (link-time wrappers).
$(BUILD)/psa_faults: tests/psa_faults.c icbu_reflow.h tests/example_order.h $(MBEDTLS_STAMP)
	$(CC) $(TFLAGS) -o $@ tests/psa_faults.c -lcmocka $(PSA_WRAP) $(LIBS_psa)
$(BUILD)/asan/psa_faults: tests/psa_faults.c icbu_reflow.h tests/example_order.h $(MBEDTLS_STAMP)
	@mkdir -p $(BUILD)/asan
	clang $(TFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all -o $@ tests/psa_faults.c \
	    -lcmocka $(PSA_WRAP) $(LIBS_psa)

# Error paths cut to a small ICBU_PATH_MAX, with ASan+UBSan.
PATH_MAX_BINS := $(foreach m,8 21 38 41,$(BUILD)/asan/path_max_$(m))
$(BUILD)/asan/path_max_%: tests/path_max.c icbu_reflow.h tests/example_order.h
	@mkdir -p $(BUILD)/asan
	clang $(TFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all -DICBU_PATH_MAX=$* \
	    -DICBU_REFLOW_CRYPTO_MBEDTLS -o $@ tests/path_max.c -lmbedcrypto

# icbu_strerror's texts, full and short (ICBU_REFLOW_SHORT_STATUS), with ASan+UBSan.
STATUS_TEXT_BINS := $(BUILD)/asan/status_text_full $(BUILD)/asan/status_text_short
$(BUILD)/asan/status_text_%: tests/status_text.c icbu_reflow.h
	@mkdir -p $(BUILD)/asan
	clang $(TFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all \
	    $(if $(filter short,$*),-DICBU_REFLOW_SHORT_STATUS) -o $@ tests/status_text.c -lmbedcrypto

# ICBU_JSON_MAX_DEPTH at its smallest useful values, with ASan+UBSan.
DEPTH_MAX_BINS := $(foreach m,5 6,$(BUILD)/asan/depth_max_$(m))
$(BUILD)/asan/depth_max_%: tests/depth_max.c icbu_reflow.h
	@mkdir -p $(BUILD)/asan
	clang $(TFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all -DICBU_JSON_MAX_DEPTH=$* \
	    -o $@ tests/depth_max.c -lmbedcrypto

# No secret left in dead stack (mbedTLS; -Os is the small writer): see tests/residue.c.
# The same with the PSA back end (Debian's mbedTLS 2.28 underneath).
RESIDUE_BINS := $(foreach o,O0 O2 Os,$(BUILD)/residue_$(o)) $(foreach o,O0 O2 Os,$(BUILD)/residue_psa_$(o))
$(BUILD)/residue_psa_%: tests/residue.c icbu_reflow.h | $(BUILD)/.dir
	$(CC) -std=c99 -$* -g -Wall -Wextra -I. -DICBU_REFLOW_CRYPTO_PSA -o $@ tests/residue.c \
	    -Wl,-z,now -Wl,-Bstatic -lmbedcrypto -Wl,-Bdynamic
$(BUILD)/residue_%: tests/residue.c icbu_reflow.h | $(BUILD)/.dir
	$(CC) -std=c99 -$* -g -Wall -Wextra -I. -DICBU_REFLOW_CRYPTO_MBEDTLS -o $@ tests/residue.c \
	    -Wl,-z,now -Wl,-Bstatic -lmbedcrypto -Wl,-Bdynamic

# A second TOP method, defined in the test only (tests/toy_method.c; its bodies: tests/check_toy.py).
$(BUILD)/toy_method: tests/toy_method.c icbu_reflow.h tests/example_order.h tests/out_file.h $(MBEDTLS_STAMP)
	$(CC) $(TFLAGS) -DICBU_REFLOW_CRYPTO_$(MBEDTLS_HASH) -o $@ tests/toy_method.c -lcmocka $(LIBS_mbedtls)
$(BUILD)/asan/toy_method: tests/toy_method.c icbu_reflow.h tests/example_order.h tests/out_file.h $(MBEDTLS_STAMP)
	@mkdir -p $(BUILD)/asan
	clang $(TFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all -DICBU_REFLOW_CRYPTO_$(MBEDTLS_HASH) \
	    -o $@ tests/toy_method.c -lcmocka $(LIBS_mbedtls)

UNIT_BINS := $(foreach t,$(TEST_PROGS),$(foreach b,$(BACKENDS),$(BUILD)/$(t)_$(b))) $(BUILD)/psa_faults \
             $(BUILD)/toy_method
ASAN_BINS := $(foreach t,$(TEST_PROGS),$(foreach b,$(BACKENDS),$(BUILD)/asan/$(t)_$(b))) $(BUILD)/asan/psa_faults \
             $(BUILD)/asan/toy_method
# The unit tests over the chosen mbedTLS (what `make examples MBEDTLS_PREFIX=DIR` also builds).
MBEDTLS_UNIT_BINS := $(foreach t,$(TEST_PROGS),$(foreach b,$(MBEDTLS_BACKENDS),$(BUILD)/$(t)_$(b))) \
                     $(BUILD)/psa_faults
unit: $(UNIT_BINS) $(ASAN_BINS) $(PATH_MAX_BINS) $(DEPTH_MAX_BINS) $(STATUS_TEXT_BINS) $(RESIDUE_BINS)

# README's memory table: `make arena` prints it.
$(BUILD)/arena-sizes: tools/arena_sizes.c icbu_reflow.h tests/example_order.h | $(BUILD)/.dir
	$(CC) -std=c99 -O2 -I. -Itests -o $@ tools/arena_sizes.c -lmbedcrypto
arena: $(BUILD)/arena-sizes
	@$(BUILD)/arena-sizes

# The demo needs mbedTLS (the CLI's TLS and hashes), openssl (the gateway's throw-away
# certificates) and python3 (the gateway), and builds only the one program it runs.
DEMO_PACKAGES := libmbedtls-dev openssl ca-certificates
demo:
	@tools/deps.sh $(DEMO_PACKAGES)
	@$(MAKE) --no-print-directory $(BUILD)/icbu-reflow
	@tools/demo.sh

# `make install PREFIX=DIR` (default /usr/local; DESTDIR works too), without CMake: the
# header, libicbu_reflow.a (icbu_reflow.c compiled once) and icbu_reflow.pc, as
# `cmake --install` lays them out. ICBU_REFLOW_CRYPTO=mbedtls (default), psa, bearssl or custom.
PREFIX             ?= /usr/local
ICBU_REFLOW_CRYPTO ?= mbedtls
INSTALL_OUT  := $(BUILD)/install-$(ICBU_REFLOW_CRYPTO)
INSTALL_DEF  := -DICBU_REFLOW_CRYPTO_$(shell echo $(ICBU_REFLOW_CRYPTO) | tr a-z A-Z)
INSTALL_LIBS_mbedtls := $(MBEDTLS_LDFLAGS) $(MBEDTLS_CRYPTO)
INSTALL_LIBS_psa     := $(MBEDTLS_LDFLAGS) $(MBEDTLS_CRYPTO)
INSTALL_LIBS_bearssl := -lbearssl
INSTALL_LIBS_custom  :=
$(INSTALL_OUT)/libicbu_reflow.a: icbu_reflow.c icbu_reflow.h $(MBEDTLS_STAMP)
	@case "$(ICBU_REFLOW_CRYPTO)" in mbedtls|psa|bearssl|custom) ;; \
	    *) echo "ICBU_REFLOW_CRYPTO=$(ICBU_REFLOW_CRYPTO): use mbedtls, psa, bearssl or custom"; exit 1 ;; esac
	@mkdir -p $(@D)
	$(CC) -std=c99 -O2 -fPIC $(WARN) $(if $(filter mbedtls psa,$(ICBU_REFLOW_CRYPTO)),$(MBEDTLS_CFLAGS)) \
	    $(INSTALL_DEF) -c icbu_reflow.c -o $(@D)/icbu_reflow.o
	rm -f $@ && ar rcs $@ $(@D)/icbu_reflow.o
$(INSTALL_OUT)/icbu_reflow.pc: cmake/icbu_reflow.pc.in icbu_reflow.h Makefile
	@mkdir -p $(@D)
	@sed -e 's|@CMAKE_INSTALL_PREFIX@|$(abspath $(PREFIX))|' \
	    -e 's|@ICBU_REFLOW_PC_INCLUDEDIR@|$${prefix}/include|' \
	    -e 's|@ICBU_REFLOW_PC_LIBDIR@|$${prefix}/lib|' \
	    -e 's|@ICBU_REFLOW_CRYPTO@|$(ICBU_REFLOW_CRYPTO)|' \
	    -e 's|@PROJECT_VERSION@|'"$$(sed -n 's/^#define ICBU_REFLOW_VERSION "\(.*\)"/\1/p' icbu_reflow.h)"'|' \
	    -e 's|@ICBU_REFLOW_PC_CFLAGS@|$(strip $(INSTALL_DEF) $(if $(filter mbedtls psa,$(ICBU_REFLOW_CRYPTO)),$(MBEDTLS_CFLAGS)))|' \
	    -e 's|@ICBU_REFLOW_BACKEND_LIBS@|$(strip $(INSTALL_LIBS_$(ICBU_REFLOW_CRYPTO)))|' \
	    -e 's|written by CMake (or `make install`)|written by `make install`|' $< > $@
.PHONY: install $(INSTALL_OUT)/icbu_reflow.pc
install: $(INSTALL_OUT)/libicbu_reflow.a $(INSTALL_OUT)/icbu_reflow.pc
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 icbu_reflow.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(INSTALL_OUT)/libicbu_reflow.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(INSTALL_OUT)/icbu_reflow.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/

include cli/build.mk
include bench/bench.mk
include tools/firmware.mk
include fuzz/fuzz.mk
include tools/docs.mk

VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
# test_core_<back end> writes its example bodies into $(BUILD)/bodies/<back end>.
bodies_of = $(BUILD)/bodies/$(lastword $(subst _, ,$(notdir $(1))))
SUITES = $(foreach b,$(UNIT_BINS),$(notdir $(b))="$(b) $(call bodies_of,$(b))") \
         $(foreach b,$(ASAN_BINS),asan/$(notdir $(b))="$(b) $(call bodies_of,$(b))") \
         $(foreach b,$(filter %_mbedtls %_psa %_bearssl %/psa_faults %/toy_method,$(UNIT_BINS)),valgrind/$(notdir $(b))="$(VALGRIND) $(b) $(call bodies_of,$(b))") \
         $(foreach b,$(PATH_MAX_BINS),asan/$(notdir $(b))="$(b)") \
         $(foreach b,$(DEPTH_MAX_BINS),asan/$(notdir $(b))="$(b)") \
         $(foreach b,$(STATUS_TEXT_BINS),asan/$(notdir $(b))="$(b)") \
         $(foreach b,$(RESIDUE_BINS),$(notdir $(b))="$(b)") \
         check_body="$(PYTHON) tests/check_examples.py $(foreach b,$(BACKENDS),$(BUILD)/bodies/$(b))" \
         check_toy="$(PYTHON) tests/check_toy.py $(BUILD)/bodies/method" \
         readme="$(PYTHON) tools/check_readme.py" \
         schema="$(PYTHON) tests/check_schema.py --build $(BUILD)" \
         funclen="$(PYTHON) tools/funclen.py" \
         bench_check="$(PYTHON) bench/bench_run.py check --dir $(BUILD)/bench" \
         integration="$(PYTHON) tests/integration.py --bin $(BUILD)" \
         keepalive="$(PYTHON) tests/keepalive.py --bin $(BUILD)" \
         tls_check="$(PYTHON) tests/tls_check.py --bin $(BUILD)" \
         build_systems="$(PYTHON) tests/build_systems.py"

# mbedTLS 3.6 and 4.x from source archives (tests/compat.py): `make test` runs it when the
# archives are there, and says what it skipped when they are not.
THIRDPARTY      ?= ../shared/thirdparty
MBEDTLS36_SRC   ?= $(lastword $(sort $(wildcard $(THIRDPARTY)/mbedtls-3.6.*.tar.xz)))
MBEDTLS4_SRC    ?= $(lastword $(sort $(wildcard $(THIRDPARTY)/mbedtls-4.*.tar.xz)))
MBEDTLS36_PATCH ?= $(wildcard $(dir $(MBEDTLS36_SRC))mbedtls-3.6.6-pr10674-tls12-rsa-pss.patch)
COMPAT_CMD = $(PYTHON) tests/compat.py --src36 "$(MBEDTLS36_SRC)" --src4 "$(MBEDTLS4_SRC)" \
             --patch36 "$(MBEDTLS36_PATCH)" --cache $(BUILD)/compat --main-bodies $(BUILD)/bodies/mbedtls
COMPAT_SKIP = test-compat: skipped, no mbedTLS source archives in $(THIRDPARTY) (give them with \
              MBEDTLS36_SRC=.../mbedtls-3.6.x.tar.xz MBEDTLS4_SRC=.../mbedtls-4.x.tar.xz)
.PHONY: test-compat
test-compat:
	@$(if $(MBEDTLS36_SRC)$(MBEDTLS4_SRC),$(COMPAT_CMD),echo "$(COMPAT_SKIP)")

test: deps
	@$(MAKE) --no-print-directory unit examples examples-asan $(BUILD)/arena-sizes $(BENCH_BINS)
	@rm -rf $(BUILD)/bodies && mkdir -p $(foreach b,$(BACKENDS) method,$(BUILD)/bodies/$(b))
	@$(if $(MBEDTLS36_SRC)$(MBEDTLS4_SRC),,echo "$(COMPAT_SKIP)")
	@$(PYTHON) tests/run_suites.py $(SUITES) $(EXTRA_SUITES) \
	    $(if $(MBEDTLS36_SRC)$(MBEDTLS4_SRC),compat='$(COMPAT_CMD)') \
	    manifests="$(SYS_PYTHON) tests/manifests.py"

clean:
	rm -rf $(BUILD)
