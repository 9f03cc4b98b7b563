# tools/mbedtls.mk - which mbedTLS the build uses (included by the top-level Makefile).
#
#   make ... MBEDTLS_PREFIX=DIR   the mbedTLS installed under DIR (DIR/include, DIR/lib: the
#                                 layout `cmake --install` gives for 3.6 and 4.x) instead of
#                                 the system's (Debian's 2.28)
#
# Sets, for every rule that compiles against mbedTLS:
#   MBEDTLS_CFLAGS    -I for DIR/include (empty for the system's)
#   MBEDTLS_LDFLAGS   -L and an rpath for DIR/lib (empty for the system's)
#   MBEDTLS_CRYPTO    -ltfpsacrypto (4.x, TF-PSA-Crypto) or -lmbedcrypto
#   MBEDTLS_MAJOR     2, 3 or 4, read from <mbedtls/version.h>
#   MBEDTLS_HASH      the hash back end over it: MBEDTLS (2.28, 3.x) or PSA (4.x, which has
#                     no public MD5/SHA-256 API)
#   MBEDTLS_STAMP     a file whose content is the prefix: a rule that depends on it is
#                     rebuilt when MBEDTLS_PREFIX changes
MBEDTLS_PREFIX ?=
ifneq ($(MBEDTLS_PREFIX),)
override MBEDTLS_PREFIX := $(abspath $(MBEDTLS_PREFIX))
ifeq ($(wildcard $(MBEDTLS_PREFIX)/include/mbedtls/version.h),)
$(error MBEDTLS_PREFIX=$(MBEDTLS_PREFIX) has no include/mbedtls/version.h)
endif
MBEDTLS_CFLAGS  := -I$(MBEDTLS_PREFIX)/include
MBEDTLS_LDFLAGS := -L$(MBEDTLS_PREFIX)/lib -Wl,-rpath,$(MBEDTLS_PREFIX)/lib
MBEDTLS_CRYPTO  := $(if $(wildcard $(MBEDTLS_PREFIX)/lib/libtfpsacrypto.*),-ltfpsacrypto,-lmbedcrypto)
else
MBEDTLS_CFLAGS  :=
MBEDTLS_LDFLAGS :=
MBEDTLS_CRYPTO  := -lmbedcrypto
endif
MBEDTLS_MAJOR := $(patsubst ICBU_MAJOR=%,%,$(filter ICBU_MAJOR=%,$(shell echo \
    'ICBU_MAJOR=MBEDTLS_VERSION_MAJOR' | $(CC) -E -P $(MBEDTLS_CFLAGS) -include mbedtls/version.h \
    -x c - 2>/dev/null)))
MBEDTLS_HASH := $(if $(filter 4 5 6 7 8 9,$(MBEDTLS_MAJOR)),PSA,MBEDTLS)

MBEDTLS_STAMP := $(BUILD)/mbedtls-prefix.txt
$(shell mkdir -p $(BUILD) && { printf '%s\n' '$(MBEDTLS_PREFIX)' | cmp -s - $(MBEDTLS_STAMP) || \
    printf '%s\n' '$(MBEDTLS_PREFIX)' > $(MBEDTLS_STAMP); })
