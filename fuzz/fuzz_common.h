/* Shared by the libFuzzer harnesses in fuzz/: the library built with the
 * custom hash hook, and a check that aborts with a message, so that a broken
 * property is a crash the fuzzer keeps. The hook is FNV-1a (64-bit), not a
 * digest: cheap, and it depends on every byte and their order but not on how
 * the stream was cut into updates, which is what fuzz_roundtrip checks. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ICBU_REFLOW_CRYPTO_CUSTOM
#define ICBU_REFLOW_IMPLEMENTATION
#include "icbu_reflow.h"

typedef struct fuzz_fnv { uint64_t h; unsigned len; } fuzz_fnv;   /* len: 16 or 32 */
int icbu_custom_hash_init(void *ctx, icbu_hash_alg alg) {
    fuzz_fnv *f = (fuzz_fnv *)ctx;
    f->h = 14695981039346656037ull;
    f->len = alg == ICBU_HASH_MD5 ? 16 : 32;
    return 0;
}
int icbu_custom_hash_update(void *ctx, const void *data, size_t n) {
    fuzz_fnv *f = (fuzz_fnv *)ctx;
    const unsigned char *p = (const unsigned char *)data;
    while (n--) f->h = (f->h ^ *p++) * 1099511628211ull;
    return 0;
}
int icbu_custom_hash_final(void *ctx, unsigned char *out) {
    fuzz_fnv *f = (fuzz_fnv *)ctx;
    unsigned i;
    for (i = 0; i < f->len; i++) out[i] = (unsigned char)(f->h >> (8 * (i % 8)) ^ i);
    return 0;
}

#define FUZZ_CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); abort(); } } while (0)

/* A string the library returned must lie inside [base, base + n]. */
static void fuzz_inside(icbu_str s, const char *base, size_t n) {
    if (!s.p) return;
    FUZZ_CHECK(s.p >= base && s.p <= base + n && s.n <= (size_t)(base + n - s.p));
}

/* An exact-size heap copy, so that ASan sees a read one byte past the end. */
static char *fuzz_dup(const uint8_t *data, size_t n) {
    char *p = (char *)malloc(n ? n : 1);
    FUZZ_CHECK(p != NULL);
    if (n) memcpy(p, data, n);
    return p;
}
#endif
