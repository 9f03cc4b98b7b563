/* A stand-in for mbedTLS 3.x's headers (Debian ships 2.28 only): just the
 * version and the plain MD5/SHA-256 calls icbu_reflow.h uses, with 3.x's
 * names and signatures, so that tools/compilers.sh can compile the 3.x branch. */
#ifndef ICBU_TEST_MBEDTLS3_VERSION_H
#define ICBU_TEST_MBEDTLS3_VERSION_H
#define MBEDTLS_VERSION_MAJOR  3
#define MBEDTLS_VERSION_NUMBER 0x03060000
#endif
