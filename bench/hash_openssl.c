/* bench/hash_openssl.c - ICBU_REFLOW_CRYPTO_CUSTOM for the benchmark: the
 * three hooks over OpenSSL's libcrypto MD5 and SHA-256, the code Python's
 * hashlib and hmac run. On x86-64 with the SHA extensions (SHA-NI) OpenSSL
 * hashes SHA-256 about four times as fast as mbedTLS 2.28's portable C; a
 * microcontroller's hash engine plugs in the same way.
 *
 * The low-level functions (MD5_Init, SHA256_Init, ...) are deprecated in
 * OpenSSL 3 in favour of EVP, whose contexts come from the heap
 * (EVP_MD_CTX_new); these keep their state in the library's own context and
 * run the same block functions. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/md5.h>
#include <openssl/sha.h>
#include "icbu_reflow.h"

typedef struct {
    icbu_hash_alg alg;
    union { MD5_CTX md5; SHA256_CTX sha; } u;
} openssl_ctx;

typedef char openssl_ctx_fits[sizeof(openssl_ctx) <= 256 ? 1 : -1];

/* OpenSSL returns 1 on success; the hooks return 0. */
int icbu_custom_hash_init(void *ctx, icbu_hash_alg alg) {
    openssl_ctx *c = (openssl_ctx *)ctx;
    c->alg = alg;
    if (alg == ICBU_HASH_MD5) return MD5_Init(&c->u.md5) == 1 ? 0 : -1;
    if (alg == ICBU_HASH_SHA256) return SHA256_Init(&c->u.sha) == 1 ? 0 : -1;
    return -1;
}
int icbu_custom_hash_update(void *ctx, const void *data, size_t n) {
    openssl_ctx *c = (openssl_ctx *)ctx;
    if (c->alg == ICBU_HASH_MD5) return MD5_Update(&c->u.md5, data, n) == 1 ? 0 : -1;
    return SHA256_Update(&c->u.sha, data, n) == 1 ? 0 : -1;
}
int icbu_custom_hash_final(void *ctx, unsigned char *out) {
    openssl_ctx *c = (openssl_ctx *)ctx;
    if (c->alg == ICBU_HASH_MD5) return MD5_Final(out, &c->u.md5) == 1 ? 0 : -1;
    return SHA256_Final(out, &c->u.sha) == 1 ? 0 : -1;
}
