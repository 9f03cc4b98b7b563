/* Shared by the libFuzzer harnesses in fuzz/: the library built with the
 * custom hash hook (the harnesses never sign, so the hooks are stubs), and a
 * check that aborts with a message, so that a broken property is a crash the
 * fuzzer keeps. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ICBU_REFLOW_CRYPTO_CUSTOM
#define ICBU_REFLOW_IMPLEMENTATION
#include "icbu_reflow.h"

int icbu_custom_hash_init(void *ctx, icbu_hash_alg alg) { (void)ctx; (void)alg; return 0; }
int icbu_custom_hash_update(void *ctx, const void *data, size_t n) { (void)ctx; (void)data; (void)n; return 0; }
int icbu_custom_hash_final(void *ctx, unsigned char *out) { (void)ctx; memset(out, 0, 32); return 0; }

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
