/* decode -> icbu_order_json -> decode -> icbu_order_json, and the form body.
 * Checks: whenever the input decodes, the first encode succeeds (sizing
 * call, then the exact buffer), its output decodes again, and the second
 * encode is byte for byte the first. The decoded order is then signed (the
 * method picked by the input's length) by this fast build and by the small
 * build in fuzz_small.c: both bodies are byte for byte the same, the order's
 * parameter percent-decodes to the first encode, the sign is what TOP's rule
 * gives over the body's own parameters (rebuilt here, with fuzz_common.h's
 * hash), and arenas 1, 50 and half the size short give ICBU_E_NOSPACE with
 * the same need from both builds. Then the raw input, any bytes at all, is
 * the order's memo (an empty order's, when the input does not decode): both
 * builds give the same body, or both ICBU_E_UTF8 at path "memo". Buffers are
 * exact-size heap blocks. */
#include "fuzz_common.h"

icbu_status fuzz_small_sign_body(const icbu_config *c, const icbu_order *o, char *buf, size_t cap,
                                 size_t *len, icbu_err *e);

static const icbu_order *decode(const char *json, size_t n, void **arena) {
    const icbu_order *o = NULL;
    size_t need = 0;
    icbu_err e;
    if (icbu_decode_order(json, n, NULL, 0, &o, &need, &e) != ICBU_OK) return NULL;
    *arena = malloc(need);
    FUZZ_CHECK(*arena != NULL);
    FUZZ_CHECK(icbu_decode_order(json, n, *arena, need, &o, &need, &e) == ICBU_OK);
    return o;
}

static char *encode(const icbu_order *o, size_t *len) {
    icbu_err e;
    size_t need = 0, got = 0;
    char *buf;
    icbu_status st = icbu_order_json(o, NULL, 0, &need, &e);
    if (st != ICBU_OK) fprintf(stderr, "encode: %s at %s\n", icbu_strerror(st), e.path);
    FUZZ_CHECK(st == ICBU_OK);
    buf = (char *)malloc(need ? need : 1);
    FUZZ_CHECK(buf != NULL);
    st = icbu_order_json(o, buf, need, &got, &e);
    FUZZ_CHECK(st == ICBU_OK && got == need);
    if (need) {                               /* one byte short: NOSPACE, same need */
        st = icbu_order_json(o, buf, need - 1, &got, &e);
        FUZZ_CHECK(st == ICBU_E_NOSPACE && e.need == need);
        st = icbu_order_json(o, buf, need, &got, &e);
        FUZZ_CHECK(st == ICBU_OK && got == need);
    }
    *len = need;
    return buf;
}

static int hexval(int c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* value (n bytes, form-encoded) decoded into out; returns the length. */
static size_t unform(const char *v, size_t n, char *out) {
    size_t i, k = 0;
    for (i = 0; i < n; i++) {
        if (v[i] == '+') { out[k++] = ' '; continue; }
        if (v[i] != '%') { out[k++] = v[i]; continue; }
        FUZZ_CHECK(i + 2 < n && hexval(v[i + 1]) >= 0 && hexval(v[i + 2]) >= 0);
        out[k++] = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
        i += 2;
    }
    return k;
}

static void digest(icbu_hash_alg alg, const void *a, size_t an, const void *b, size_t bn,
                   const void *c, size_t cn, unsigned char out[32]) {
    fuzz_fnv f;
    icbu_custom_hash_init(&f, alg);
    icbu_custom_hash_update(&f, a, an);
    icbu_custom_hash_update(&f, b, bn);
    icbu_custom_hash_update(&f, c, cn);
    icbu_custom_hash_final(&f, out);
}

/* The body's parameters in byte order of their names, the order's value
 * equal to json, and sign = TOP's rule over name + value pairs. */
static void check_body(const char *body, size_t n, const char *json, size_t jn,
                       icbu_sign_method m, const char *secret) {
    char *msg = (char *)malloc(n + 1), *val = (char *)malloc(n + 1), hex[65], sign[65];
    const char *prev = NULL;
    size_t i = 0, mn = 0, prevlen = 0, sl = strlen(secret), dl, k;
    unsigned char pad[64], d[32], d2[32];
    icbu_hash_alg alg = m == ICBU_SIGN_HMAC_SHA256 ? ICBU_HASH_SHA256 : ICBU_HASH_MD5;
    int seen_order = 0, seen_sign = 0;
    FUZZ_CHECK(msg && val);
    while (i < n) {
        size_t start = i, eq, end, vn;
        while (i < n && body[i] != '&') i++;
        end = i++;
        for (eq = start; eq < end && body[eq] != '='; eq++) {}
        FUZZ_CHECK(eq < end);
        if (eq - start == 4 && memcmp(body + start, "sign", 4) == 0) {
            FUZZ_CHECK(end == n && !seen_sign && end - eq - 1 <= 64);
            memcpy(sign, body + eq + 1, end - eq - 1);
            sign[end - eq - 1] = 0;
            seen_sign = 1;
            continue;
        }
        if (prev) {
            size_t c = prevlen < eq - start ? prevlen : eq - start;
            int r = memcmp(prev, body + start, c);
            FUZZ_CHECK(r < 0 || (r == 0 && prevlen < eq - start));
        }
        prev = body + start; prevlen = eq - start;
        vn = unform(body + eq + 1, end - eq - 1, val);
        if (eq - start == 28 && memcmp(body + start, "insured_order_reflow_request", 28) == 0) {
            FUZZ_CHECK(vn == jn && memcmp(val, json, jn) == 0);
            seen_order = 1;
        }
        memcpy(msg + mn, body + start, eq - start); mn += eq - start;
        memcpy(msg + mn, val, vn); mn += vn;
    }
    FUZZ_CHECK(seen_order && seen_sign);
    dl = alg == ICBU_HASH_MD5 ? 16 : 32;
    if (m == ICBU_SIGN_MD5) {
        digest(alg, secret, sl, msg, mn, secret, sl, d);
    } else {                                           /* RFC 2104, secret <= 64 bytes */
        memset(pad, 0, sizeof pad);
        memcpy(pad, secret, sl);
        for (k = 0; k < 64; k++) pad[k] ^= 0x36;
        digest(alg, pad, 64, msg, mn, "", 0, d2);
        for (k = 0; k < 64; k++) pad[k] ^= 0x36 ^ 0x5c;
        digest(alg, pad, 64, d2, dl, "", 0, d);
    }
    for (k = 0; k < dl; k++) snprintf(hex + 2 * k, 3, "%02X", d[k]);
    FUZZ_CHECK(strlen(sign) == 2 * dl && memcmp(sign, hex, 2 * dl) == 0);
    free(msg); free(val);
}

static void sign_both(const icbu_order *o, const char *json, size_t jn, icbu_sign_method m) {
    icbu_config c;
    icbu_err e;
    size_t need = 0, need2 = 0, got = 0, got2 = 0, i;
    char *b1, *b2;
    memset(&c, 0, sizeof c);
    c.app_key = "k3y";
    c.app_secret = "s3cret";
    c.session = "sess";
    c.sign_method = m;
    c.timestamp = icbu_d(2026, 11, 28, 9, 5, 7);
    FUZZ_CHECK(icbu_sign_body(&c, o, NULL, 0, &need, &e) == ICBU_OK);
    FUZZ_CHECK(fuzz_small_sign_body(&c, o, NULL, 0, &need2, &e) == ICBU_OK && need2 == need);
    b1 = (char *)malloc(need);
    b2 = (char *)malloc(need);
    FUZZ_CHECK(b1 && b2);
    FUZZ_CHECK(icbu_sign_body(&c, o, b1, need, &got, &e) == ICBU_OK && got == need);
    FUZZ_CHECK(fuzz_small_sign_body(&c, o, b2, need, &got2, &e) == ICBU_OK && got2 == need);
    FUZZ_CHECK(memcmp(b1, b2, need) == 0);
    check_body(b1, need, json, jn, m, c.app_secret);
    free(b1); free(b2);
    for (i = 0; i < 3; i++) {                      /* short arenas: exact-size blocks */
        size_t cap = i == 0 ? need - 1 : i == 1 ? (need > 50 ? need - 50 : 0) : need / 2;
        char *b = (char *)malloc(cap ? cap : 1);
        FUZZ_CHECK(b != NULL);
        FUZZ_CHECK(icbu_sign_body(&c, o, b, cap, &got, &e) == ICBU_E_NOSPACE && e.need == need);
        FUZZ_CHECK(fuzz_small_sign_body(&c, o, b, cap, &got, &e) == ICBU_E_NOSPACE && e.need == need);
        free(b);
    }
}

/* o with memo = any bytes: the fast and the small build agree on status,
 * path and, when it signs, every byte of the body. */
static void memo_both(const icbu_order *o, const char *memo, size_t n) {
    icbu_order x = *o;
    icbu_config c;
    icbu_err e1, e2;
    size_t need = 0, need2 = 0, got = 0, got2 = 0;
    icbu_status s1, s2;
    char *b1, *b2;
    x.memo = icbu_sn(memo, n);
    memset(&c, 0, sizeof c);
    c.app_key = "k3y";
    c.app_secret = "s3cret";
    c.timestamp = icbu_d(2026, 11, 28, 9, 5, 7);
    s1 = icbu_sign_body(&c, &x, NULL, 0, &need, &e1);
    s2 = fuzz_small_sign_body(&c, &x, NULL, 0, &need2, &e2);
    FUZZ_CHECK(s1 == s2 && strcmp(e1.path, e2.path) == 0);
    if (s1 != ICBU_OK) {              /* the rest was decoded, so valid: only memo can fail */
        FUZZ_CHECK(s1 == ICBU_E_UTF8 && strcmp(e1.path, "memo") == 0);
        return;
    }
    FUZZ_CHECK(need == need2);
    b1 = (char *)malloc(need);
    b2 = (char *)malloc(need);
    FUZZ_CHECK(b1 && b2);
    FUZZ_CHECK(icbu_sign_body(&c, &x, b1, need, &got, &e1) == ICBU_OK && got == need);
    FUZZ_CHECK(fuzz_small_sign_body(&c, &x, b2, need, &got2, &e2) == ICBU_OK && got2 == need);
    FUZZ_CHECK(memcmp(b1, b2, need) == 0);
    free(b1); free(b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *json = fuzz_dup(data, size), *j1, *j2;
    void *a1 = NULL, *a2 = NULL;
    const icbu_order *o1, *o2;
    size_t n1, n2;
    o1 = decode(json, size, &a1);
    if (!o1) {                        /* not an order: the bytes are a memo on an empty one */
        icbu_order empty;
        memset(&empty, 0, sizeof empty);
        memo_both(&empty, json, size);
        free(json);
        return 0;
    }
    j1 = encode(o1, &n1);
    o2 = decode(j1, n1, &a2);
    if (!o2) fprintf(stderr, "re-decode failed on: %.*s\n", (int)n1, j1);
    FUZZ_CHECK(o2 != NULL);
    j2 = encode(o2, &n2);
    if (n1 != n2 || memcmp(j1, j2, n1) != 0)
        fprintf(stderr, "first:  %.*s\nsecond: %.*s\n", (int)n1, j1, (int)n2, j2);
    FUZZ_CHECK(n1 == n2 && memcmp(j1, j2, n1) == 0);
    sign_both(o1, j1, n1, (icbu_sign_method)(size % 3));
    memo_both(o1, json, size);
    free(j1); free(j2); free(a1); free(a2); free(json);
    return 0;
}
