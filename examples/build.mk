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

build/icbu-reflow-mbedtls: $(EX_CLI_DEPS) examples/tls_mbedtls.c
	@mkdir -p $(@D)
	$(EX_CC) $(EX_ALLFLAGS) -DCLI_TLS_MBEDTLS -DICBU_REFLOW_CRYPTO_MBEDTLS -o $@ \
	    examples/icbu_reflow_cli.c $(EX_NET_SRC) examples/tls_mbedtls.c \
	    $(EX_EXTRA_LDFLAGS) $(EX_MBEDTLS_LIBS)

build/icbu-reflow-bearssl: $(EX_CLI_DEPS) examples/tls_bearssl.c
	@mkdir -p $(@D)
	$(EX_CC) $(EX_ALLFLAGS) -DCLI_TLS_BEARSSL -DICBU_REFLOW_CRYPTO_BEARSSL -o $@ \
	    examples/icbu_reflow_cli.c $(EX_NET_SRC) examples/tls_bearssl.c \
	    $(EX_EXTRA_LDFLAGS) $(EX_BEARSSL_LIBS)

build/icbu-reflow: $(EX_CLI_DEPS) examples/tls_mbedtls.c
	@mkdir -p $(@D)
	$(EX_CC) $(EX_ALLFLAGS) -DCLI_TLS_MBEDTLS -DICBU_REFLOW_CRYPTO_MBEDTLS -o $@ \
	    examples/icbu_reflow_cli.c $(EX_NET_SRC) examples/tls_mbedtls.c \
	    $(EX_EXTRA_LDFLAGS) $(EX_MBEDTLS_LIBS)

build/minimal: examples/minimal.c icbu_reflow.h examples/build.mk
	@mkdir -p $(@D)
	$(EX_CC) $(EX_ALLFLAGS) -DICBU_REFLOW_CRYPTO_MBEDTLS -o $@ examples/minimal.c \
	    $(EX_EXTRA_LDFLAGS) -lmbedcrypto

.PHONY: examples
examples: build/icbu-reflow-mbedtls build/icbu-reflow-bearssl build/icbu-reflow build/minimal

# `make test` also runs the CLI's reliability tests (retries, spool, flush, SIGKILL):
# tests/reliability.py against tools/top_gateway.py's seeded random faults (under 3 minutes).
EXTRA_SUITES += reliability="$(PYTHON) tests/reliability.py --bin $(BUILD)"

# Including this file does not change the default goal.
.DEFAULT_GOAL := $(_ex_saved_default_goal)
