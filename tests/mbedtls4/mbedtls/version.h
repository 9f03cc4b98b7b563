/* A stand-in for mbedTLS 4.x's <mbedtls/version.h>, for tools/compilers.sh:
 * only the version, so that the check that ICBU_REFLOW_CRYPTO_MBEDTLS stops
 * with its #error on 4.x runs where no 4.x is installed (make test-compat
 * repeats it against the real 4.0 headers). */
#ifndef ICBU_TEST_MBEDTLS4_VERSION_H
#define ICBU_TEST_MBEDTLS4_VERSION_H
#define MBEDTLS_VERSION_MAJOR  4
#define MBEDTLS_VERSION_MINOR  0
#define MBEDTLS_VERSION_PATCH  0
#define MBEDTLS_VERSION_NUMBER 0x04000000
#define MBEDTLS_VERSION_STRING "4.0.0"
#endif
