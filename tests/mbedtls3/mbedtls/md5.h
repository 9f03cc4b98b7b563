/* mbedTLS 3.x's MD5 interface, as icbu_reflow.h uses it (see version.h). */
#ifndef ICBU_TEST_MBEDTLS3_MD5_H
#define ICBU_TEST_MBEDTLS3_MD5_H
#include <stddef.h>
#include <stdint.h>
typedef struct mbedtls_md5_context { uint32_t total[2], state[4]; unsigned char buffer[64]; } mbedtls_md5_context;
void mbedtls_md5_init(mbedtls_md5_context *ctx);
void mbedtls_md5_free(mbedtls_md5_context *ctx);
int mbedtls_md5_starts(mbedtls_md5_context *ctx);
int mbedtls_md5_update(mbedtls_md5_context *ctx, const unsigned char *input, size_t ilen);
int mbedtls_md5_finish(mbedtls_md5_context *ctx, unsigned char output[16]);
#endif
