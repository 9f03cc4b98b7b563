/* mbedTLS 3.x's SHA-256 interface, as icbu_reflow.h uses it (see version.h). */
#ifndef ICBU_TEST_MBEDTLS3_SHA256_H
#define ICBU_TEST_MBEDTLS3_SHA256_H
#include <stddef.h>
#include <stdint.h>
typedef struct mbedtls_sha256_context { unsigned char buffer[64]; uint32_t total[2], state[8]; int is224; } mbedtls_sha256_context;
void mbedtls_sha256_init(mbedtls_sha256_context *ctx);
void mbedtls_sha256_free(mbedtls_sha256_context *ctx);
int mbedtls_sha256_starts(mbedtls_sha256_context *ctx, int is224);
int mbedtls_sha256_update(mbedtls_sha256_context *ctx, const unsigned char *input, size_t ilen);
int mbedtls_sha256_finish(mbedtls_sha256_context *ctx, unsigned char *output);
#endif
