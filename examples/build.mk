# examples/build.mk - the example programs; included by the top-level Makefile
# (paths are relative to the repository root, where make runs).
#
#   make examples                      all four programs, in build/
#   build/icbu-reflow-mbedtls          the CLI over mbedTLS (TLS and hashes)
#   build/icbu-reflow-bearssl          the CLI over BearSSL (TLS and hashes)
#   build/icbu-reflow                  the default CLI (mbedTLS)
#   build/minimal                      the README example
#
# Each program is one compiler run; the .c that defines
# ICBU_REFLOW_IMPLEMENTATION (the CLI, or minimal.c) compiles the library.
# Override EX_CFLAGS / EX_OPT (e.g. EX_OPT='-O0 -g -fsanitize=address,undefined'),
# or add EX_EXTRA_CFLAGS / EX_EXTRA_LDFLAGS.

_ex_saved_default_goal := $(.DEFAULT_GOAL)

EX_CC       ?= $(CC)
EX_OPT      ?= -O2 -g
EX_CFLAGS   ?= -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wpedantic \
               -Wconversion -Wshadow -Werror
EX_ALLFLAGS  = $(EX_CFLAGS) $(EX_OPT) $(EX_EXTRA_CFLAGS) -I.
EX_MBEDTLS_LIBS ?= -lmbedtls -lmbedx509 -lmbedcrypto
EX_BEARSSL_LIBS ?= -lbearssl

EX_NET_SRC  = examples/net_posix.c examples/x509_ip.c
EX_CLI_DEPS = examples/icbu_reflow_cli.c examples/net.h $(EX_NET_SRC) icbu_reflow.h \
              examples/build.mk

# icbu-reflow over one back end (TLS and hashes from the same library).
# $(1) output, $(2) mbedtls|bearssl, $(3) MBEDTLS|BEARSSL, $(4) compiler and extra flags
define ex_cli
$(1): $(EX_CLI_DEPS) examples/tls_$(2).c
	@mkdir -p $$(@D)
	$(4) $(EX_ALLFLAGS) -DCLI_TLS_$(3) -DICBU_REFLOW_CRYPTO_$(3) -o $$@ \
	    examples/icbu_reflow_cli.c $(EX_NET_SRC) examples/tls_$(2).c \
	    $(EX_EXTRA_LDFLAGS) $(EX_$(3)_LIBS)
endef
EX_ASAN := clang -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
$(eval $(call ex_cli,build/icbu-reflow-mbedtls,mbedtls,MBEDTLS,$(EX_CC)))
$(eval $(call ex_cli,build/icbu-reflow-bearssl,bearssl,BEARSSL,$(EX_CC)))
$(eval $(call ex_cli,build/icbu-reflow,mbedtls,MBEDTLS,$(EX_CC)))
# The same under ASan+UBSan, for the integration tests in `make test`.
$(eval $(call ex_cli,build/asan/icbu-reflow-mbedtls,mbedtls,MBEDTLS,$(EX_ASAN)))
$(eval $(call ex_cli,build/asan/icbu-reflow-bearssl,bearssl,BEARSSL,$(EX_ASAN)))

build/minimal: examples/minimal.c icbu_reflow.h examples/build.mk
	@mkdir -p $(@D)
	$(EX_CC) $(EX_ALLFLAGS) -DICBU_REFLOW_CRYPTO_MBEDTLS -o $@ examples/minimal.c \
	    $(EX_EXTRA_LDFLAGS) -lmbedcrypto

.PHONY: examples examples-asan
examples: build/icbu-reflow-mbedtls build/icbu-reflow-bearssl build/icbu-reflow build/minimal
examples-asan: build/asan/icbu-reflow-mbedtls build/asan/icbu-reflow-bearssl

# `make test` also runs the CLI's reliability tests (retries, spool, flush, SIGKILL):
# tests/reliability.py against tools/top_gateway.py's seeded random faults (under 3 minutes).
EXTRA_SUITES += reliability="$(PYTHON) tests/reliability.py --bin $(BUILD)" \
                integration-asan="ASAN_OPTIONS=exitcode=86 UBSAN_OPTIONS=halt_on_error=1 $(PYTHON) tests/integration.py --bin $(BUILD)/asan"

# Including this file does not change the default goal.
.DEFAULT_GOAL := $(_ex_saved_default_goal)
