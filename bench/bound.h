/* bench/bound.h - the lower bound: the digest alone.
 *
 * bench_signed_bytes() rebuilds, from a signed body, the exact byte string TOP
 * signs: the parameters (sign left out) percent-decoded, checked to be in byte
 * order of their names, concatenated name + value; for md5 with the secret on
 * both sides. bound_run() then digests it with the back end's own API, in one
 * update: MD5 for md5; HMAC with the secret as key for hmac and hmac-sha256
 * (mbedTLS: mbedtls_md_hmac_starts/update/finish on a context set up once,
 * outside the measurement, since mbedtls_md_setup allocates; BearSSL:
 * br_hmac_key_init/init/update/out; the custom hook, bench/hash_openssl.c
 * over OpenSSL, and PSA Crypto (psa_hash_setup/update/finish, the calls
 * icbu_reflow makes; psa_crypto_init() done by the driver beforehand): RFC
 * 2104 over the hash's own functions, key ^ ipad and key ^ opad prepared
 * outside the measurement, both hashed every call as the others do). It is
 * what signing costs if building the JSON, sorting and form-encoding were free.
 *
 * Include after icbu_reflow.h with the implementation and its CRYPTO macro. */
#ifndef BENCH_BOUND_H
#define BENCH_BOUND_H

#if defined(ICBU_REFLOW_CRYPTO_MBEDTLS)
#include <mbedtls/md.h>
#include <mbedtls/md5.h>
#define BENCH_BACKEND "mbedTLS"
#elif defined(ICBU_REFLOW_CRYPTO_PSA)
#include <psa/crypto.h>
#define BENCH_BACKEND "PSA"          /* PSA Crypto, here mbedTLS's (libmbedcrypto) */
#elif defined(ICBU_REFLOW_CRYPTO_BEARSSL)
#include <bearssl.h>
#define BENCH_BACKEND "BearSSL"
#else
#define BENCH_BACKEND "OpenSSL"      /* the custom hook: bench/hash_openssl.c */
#endif

static int bench_hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Percent-decodes src[0..n) ('+' is a space) onto dst; returns bytes written, or -1. */
static long bench_unform(unsigned char *dst, const char *src, size_t n) {
    size_t i, k = 0;
    for (i = 0; i < n; i++) {
        if (src[i] == '+') dst[k++] = ' ';
        else if (src[i] == '%') {
            int hi, lo;
            if (i + 2 >= n) return -1;
            hi = bench_hexval((unsigned char)src[i + 1]);
            lo = bench_hexval((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            dst[k++] = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else dst[k++] = (unsigned char)src[i];
    }
    return (long)k;
}

/* The signed bytes of body (len n) into out (cap bytes), the body's sign into
 * sign[65]. md5_wrap: put the secret before and after. Returns the length,
 * or -1 (malformed, unsorted, or too long). */
static long bench_signed_bytes(const char *body, size_t n, const char *secret, int md5_wrap,
                               unsigned char *out, size_t cap, char sign[65]) {
    size_t i = 0, k = 0, sl = strlen(secret);
    const char *prev = NULL;
    size_t prevlen = 0;
    sign[0] = 0;
    if (md5_wrap) { if (sl > cap) return -1; memcpy(out, secret, sl); k = sl; }
    while (i < n) {
        size_t start = i, eq, end;
        while (i < n && body[i] != '&') i++;
        end = i++;
        for (eq = start; eq < end && body[eq] != '='; eq++) {}
        if (eq == end) return -1;
        if (eq - start == 4 && memcmp(body + start, "sign", 4) == 0) {
            if (end - eq - 1 > 64) return -1;
            memcpy(sign, body + eq + 1, end - eq - 1);
            sign[end - eq - 1] = 0;
            continue;
        }
        if (prev) {                                /* names in byte order */
            size_t m = prevlen < eq - start ? prevlen : eq - start;
            int c = memcmp(prev, body + start, m);
            if (c > 0 || (c == 0 && prevlen >= eq - start)) return -1;
        }
        prev = body + start; prevlen = eq - start;
        if (k + (end - start) > cap) return -1;
        memcpy(out + k, body + start, eq - start);  /* names need no decoding */
        k += eq - start;
        {
            long v = bench_unform(out + k, body + eq + 1, end - eq - 1);
            if (v < 0) return -1;
            k += (size_t)v;
        }
    }
    if (md5_wrap) { if (k + sl > cap) return -1; memcpy(out + k, secret, sl); k += sl; }
    return (long)k;
}

typedef struct bench_bound {
    icbu_sign_method m;
    const unsigned char *msg;
    size_t len;
    const char *key;
    size_t klen;
#if defined(ICBU_REFLOW_CRYPTO_MBEDTLS)
    mbedtls_md_context_t md;
#elif defined(ICBU_REFLOW_CRYPTO_CUSTOM) || defined(ICBU_REFLOW_CRYPTO_PSA)
    unsigned char ipad[64], opad[64];
#endif
} bench_bound;

static int bound_init(bench_bound *b, icbu_sign_method m, const unsigned char *msg, size_t len,
                      const char *key) {
    memset(b, 0, sizeof *b);
    b->m = m; b->msg = msg; b->len = len; b->key = key; b->klen = strlen(key);
#if defined(ICBU_REFLOW_CRYPTO_MBEDTLS)
    mbedtls_md_init(&b->md);
    if (m != ICBU_SIGN_MD5)
        return mbedtls_md_setup(&b->md, mbedtls_md_info_from_type(
                                    m == ICBU_SIGN_HMAC ? MBEDTLS_MD_MD5 : MBEDTLS_MD_SHA256), 1);
#elif defined(ICBU_REFLOW_CRYPTO_CUSTOM) || defined(ICBU_REFLOW_CRYPTO_PSA)
    {   /* keys longer than a block would be hashed first; the benchmark's is short */
        size_t i;
        if (b->klen > 64) return -1;
        for (i = 0; i < 64; i++) {
            unsigned char k = i < b->klen ? (unsigned char)key[i] : 0;
            b->ipad[i] = (unsigned char)(k ^ 0x36);
            b->opad[i] = (unsigned char)(k ^ 0x5c);
        }
    }
#endif
    return 0;
}

static void bound_free(bench_bound *b) {
#if defined(ICBU_REFLOW_CRYPTO_MBEDTLS)
    mbedtls_md_free(&b->md);
#else
    (void)b;
#endif
}

#if defined(ICBU_REFLOW_CRYPTO_PSA)
/* One PSA hash of pre[0..pn) then p[0..n) into out (dl bytes): dl, or 0 on a
 * PSA failure (the operation aborted), which the checks then report. */
static size_t bench_psa_hash(psa_algorithm_t a, const unsigned char *pre, size_t pn,
                             const unsigned char *p, size_t n, unsigned char *out, size_t dl) {
    psa_hash_operation_t op = PSA_HASH_OPERATION_INIT;
    size_t got = 0;
    if (psa_hash_setup(&op, a) != PSA_SUCCESS || (pn && psa_hash_update(&op, pre, pn) != PSA_SUCCESS) ||
        psa_hash_update(&op, p, n) != PSA_SUCCESS || psa_hash_finish(&op, out, dl, &got) != PSA_SUCCESS ||
        got != dl) {
        (void)psa_hash_abort(&op);
        return 0;
    }
    return dl;
}
#endif

/* The digest of the signed bytes; returns its length (16 or 32; 0 if PSA failed). */
static size_t bound_run(bench_bound *b, unsigned char out[32]) {
#if defined(ICBU_REFLOW_CRYPTO_MBEDTLS)
    if (b->m == ICBU_SIGN_MD5) {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
        mbedtls_md5(b->msg, b->len, out);
#else
        mbedtls_md5_ret(b->msg, b->len, out);
#endif
        return 16;
    }
    mbedtls_md_hmac_starts(&b->md, (const unsigned char *)b->key, b->klen);
    mbedtls_md_hmac_update(&b->md, b->msg, b->len);
    mbedtls_md_hmac_finish(&b->md, out);
    return b->m == ICBU_SIGN_HMAC ? 16 : 32;
#elif defined(ICBU_REFLOW_CRYPTO_CUSTOM)
    {
        ICBU_REFLOW_CUSTOM_CTX c;
        unsigned char in[32];
        icbu_hash_alg a = b->m == ICBU_SIGN_HMAC_SHA256 ? ICBU_HASH_SHA256 : ICBU_HASH_MD5;
        size_t dl = a == ICBU_HASH_SHA256 ? 32 : 16;
        if (b->m == ICBU_SIGN_MD5) {
            icbu_custom_hash_init(&c, a); icbu_custom_hash_update(&c, b->msg, b->len);
            icbu_custom_hash_final(&c, out);
            return dl;
        }
        icbu_custom_hash_init(&c, a); icbu_custom_hash_update(&c, b->ipad, 64);
        icbu_custom_hash_update(&c, b->msg, b->len); icbu_custom_hash_final(&c, in);
        icbu_custom_hash_init(&c, a); icbu_custom_hash_update(&c, b->opad, 64);
        icbu_custom_hash_update(&c, in, dl); icbu_custom_hash_final(&c, out);
        return dl;
    }
#elif defined(ICBU_REFLOW_CRYPTO_PSA)
    {
        psa_algorithm_t a = b->m == ICBU_SIGN_HMAC_SHA256 ? PSA_ALG_SHA_256 : PSA_ALG_MD5;
        size_t dl = b->m == ICBU_SIGN_HMAC_SHA256 ? 32 : 16;
        if (b->m == ICBU_SIGN_MD5)
            return bench_psa_hash(a, NULL, 0, b->msg, b->len, out, dl);
        {
            unsigned char in[32];
            size_t ok = bench_psa_hash(a, b->ipad, 64, b->msg, b->len, in, dl);
            if (ok) ok = bench_psa_hash(a, b->opad, 64, in, dl, out, dl);
            return ok;
        }
    }
#else
    if (b->m == ICBU_SIGN_MD5) {
        br_md5_context c;
        br_md5_init(&c);
        br_md5_update(&c, b->msg, b->len);
        br_md5_out(&c, out);
        return 16;
    } else {
        br_hmac_key_context kc;
        br_hmac_context hc;
        br_hmac_key_init(&kc, b->m == ICBU_SIGN_HMAC ? &br_md5_vtable : &br_sha256_vtable,
                         b->key, b->klen);
        br_hmac_init(&hc, &kc, 0);
        br_hmac_update(&hc, b->msg, b->len);
        return br_hmac_out(&hc, out);
    }
#endif
}

#endif
