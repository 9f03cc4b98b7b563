/* ICBU_REFLOW_CRYPTO_CUSTOM in the tests: the three hooks, here over
 * BearSSL's hash functions, as a hardware hash engine would provide them. */
#include <bearssl.h>
#include "icbu_reflow.h"

typedef struct {
    icbu_hash_alg alg;
    union { br_md5_context md5; br_sha256_context sha; } u;
} custom_ctx;

typedef char custom_ctx_fits[sizeof(custom_ctx) <= 256 ? 1 : -1];

int icbu_custom_hash_init(void *ctx, icbu_hash_alg alg) {
    custom_ctx *c = (custom_ctx *)ctx;
    c->alg = alg;
    if (alg == ICBU_HASH_MD5) br_md5_init(&c->u.md5);
    else if (alg == ICBU_HASH_SHA256) br_sha256_init(&c->u.sha);
    else return -1;
    return 0;
}
int icbu_custom_hash_update(void *ctx, const void *data, size_t n) {
    custom_ctx *c = (custom_ctx *)ctx;
    if (c->alg == ICBU_HASH_MD5) br_md5_update(&c->u.md5, data, n);
    else br_sha256_update(&c->u.sha, data, n);
    return 0;
}
int icbu_custom_hash_final(void *ctx, unsigned char *out) {
    custom_ctx *c = (custom_ctx *)ctx;
    if (c->alg == ICBU_HASH_MD5) br_md5_out(&c->u.md5, out);
    else br_sha256_out(&c->u.sha, out);
    return 0;
}
