/* tests/residue.c - nothing derived from the secret is left in dead stack.
 *
 * Built with the mbedTLS back end (which wipes its own block function's
 * locals), and with the PSA back end over the same mbedTLS (2.28), at -O0 and
 * -O2, in the fast and the small writer, and linked with
 * -z now (lazy binding would save vector registers holding secret bytes on the
 * stack: the dynamic linker's doing, not ours), mbedTLS statically. Each case paints 64 KiB of
 * stack below main's frame, signs (icbu_sign_body: written, arena too short,
 * invalid UTF-8 in the order, date error; icbu_sign_params; icbu_exchange,
 * which keeps the signature's state in its arena's reserve: answered, send
 * failed, arena short; icbu_report: a reset after sending), then searches the
 * painted region, and the arena, for the secret, the HMAC key pads (key ^
 * 0x36, key ^ 0x5c), and for a key longer than a block H(key). One line per case, then
 * "N passed, N failed". BearSSL 0.6 keeps its last block in its dead frames
 * (the header says so), so this is not built for it.
 *
 * Reading the painted region reads below the stack pointer: plain C cannot say
 * that, so the search goes through a volatile pointer and the program is built
 * without sanitizers. */
#define ICBU_REFLOW_IMPLEMENTATION
#if !defined(ICBU_REFLOW_CRYPTO_MBEDTLS) && !defined(ICBU_REFLOW_CRYPTO_BEARSSL) && \
    !defined(ICBU_REFLOW_CRYPTO_PSA)
#define ICBU_REFLOW_CRYPTO_MBEDTLS
#endif
#include "icbu_reflow.h"
#include <mbedtls/md5.h>
#include <mbedtls/sha256.h>
#include <stdio.h>
#include <string.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define MD5_OF mbedtls_md5
#define SHA256_OF mbedtls_sha256
#else
#define MD5_OF mbedtls_md5_ret
#define SHA256_OF mbedtls_sha256_ret
#endif

#define SPAN 65536u
#define NEEDLE 12                            /* bytes that must not match */

static unsigned passed, failed;
static char arena[1 << 15];
static uintptr_t g_low;                      /* lowest byte of the painted region */

/* Returns where it painted: read after it returns, on purpose. */
__attribute__((noinline)) static uintptr_t paint(void) {
    volatile unsigned char big[SPAN];
    size_t i;
    for (i = 0; i < SPAN; i++) big[i] = 0xEE;
    return (uintptr_t)big;
}

static size_t count_in(const volatile unsigned char *low, size_t span, const unsigned char *needle) {
    size_t i, j, hits = 0;
    for (i = 0; i + NEEDLE <= span; i++) {
        for (j = 0; j < NEEDLE && low[i + j] == needle[j]; j++) {}
        hits += j == NEEDLE;
    }
    return hits;
}
/* In the painted stack, and in the arena. */
static size_t count(const unsigned char *needle) {
    return count_in((const volatile unsigned char *)g_low, SPAN, needle) +
           count_in((const volatile unsigned char *)arena, sizeof arena, needle);
}

enum { BODY_OK, BODY_NOSPACE, BODY_UTF8, BODY_DATE, PARAMS, EX_OK, EX_SEND, EX_NOSPACE, REPORT_RESET, CASES };
static const char *const case_names[CASES] = {
    "sign_body", "sign_body, arena short", "sign_body, order not UTF-8", "sign_body, bad timestamp", "sign_params",
    "exchange", "exchange, send fails", "exchange, arena short", "report, reset after sending"
};

/* A gateway that takes the request (or refuses the first byte of it) and
 * answers, or resets the connection. */
typedef struct peer { int what, done; } peer;
static long peer_send(void *ctx, const unsigned char *p, size_t n, uint32_t ms) {
    (void)p; (void)ms;
    return ((peer *)ctx)->what == EX_SEND ? -32 : (long)n;
}
static long peer_recv(void *ctx, unsigned char *p, size_t n, uint32_t ms) {
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 66\r\n\r\n"
        "{\"result\":{\"success\":true,\"insure_id\":\"111111\"},\"request_id\":\"r1\"}";
    peer *x = (peer *)ctx;
    (void)ms;
    if (x->what == REPORT_RESET) return -104;
    if (x->done || n < sizeof answer - 1) return 0;
    x->done = 1;
    memcpy(p, answer, sizeof answer - 1);
    return (long)sizeof answer - 1;
}
static int peer_open(void *ctx, const icbu_url *u, uint32_t ms, icbu_stage *stage) {
    (void)ctx; (void)u; (void)ms; (void)stage;
    return 0;
}
static void peer_close(void *ctx) { (void)ctx; }

__attribute__((noinline)) static icbu_status sign(int what, const char *secret, icbu_sign_method m) {
    icbu_order o;
    icbu_config c;
    icbu_err e;
    size_t n;
    memset(&o, 0, sizeof o);
    memset(&c, 0, sizeof c);
    o.external_biz_id = icbu_s("12345");
    o.memo = icbu_s(what == BODY_UTF8 ? "abc\xff" : "a \"memo\" \xe5\xbc\xa0 long enough to fill a block or two of the hash");
    c.app_key = "12345678";
    c.app_secret = secret;
    c.sign_method = m;
    c.timestamp = icbu_d(2026, 11, 29, 12, 0, what == BODY_DATE ? 60 : 0);
    if (what == PARAMS) {
        icbu_param p[2];
        char hex[65];
        p[0].name = "a"; p[0].value = icbu_s("b");
        p[1].name = "c"; p[1].value = icbu_s("d");
        return icbu_sign_params(secret, m, p, 2, hex, &e);
    }
    if (what >= EX_OK) {
        icbu_url u;
        icbu_transport t;
        icbu_outcome out;
        peer x;
        x.what = what; x.done = 0;
        memset(&t, 0, sizeof t);
        t.ctx = &x; t.send = peer_send; t.recv = peer_recv; t.open = peer_open; t.close = peer_close;
        if (icbu_url_parse("http://127.0.0.1:1/router/rest", &u) != ICBU_OK) return ICBU_E_URL;
        if (what == REPORT_RESET) return icbu_report(&c, &o, &u, &t, NULL, 5000, arena, sizeof arena, &out, &e);
        return icbu_exchange(&c, &o, &u, &t, 5000, arena, what == EX_NOSPACE ? ICBU__RESERVE + 64 : sizeof arena, &out, &e);
    }
    return icbu_sign_body(&c, &o, arena, what == BODY_NOSPACE ? 100 : sizeof arena, &n, &e);
}

int main(void) {
    static const char *const secrets[2] = {
        "helloworld-0123456789",
        "a secret longer than one hash block, which HMAC hashes first: 0123456789abcdef"
    };
    static const icbu_status want[CASES] = { ICBU_OK, ICBU_E_NOSPACE, ICBU_E_UTF8, ICBU_E_DATE, ICBU_OK,
                                             ICBU_OK, ICBU_E_SEND, ICBU_E_NOSPACE, ICBU_E_RECV };
    int s, w, m;
#ifdef ICBU_REFLOW_CRYPTO_PSA
    if (psa_crypto_init() != PSA_SUCCESS) return 1;
#endif
    for (s = 0; s < 2; s++)
        for (m = 0; m < 3; m++)
            for (w = 0; w < CASES; w++) {
                const char *secret = secrets[s];
                size_t kl = strlen(secret), i, hits;
                unsigned char key[64] = { 0 }, ipad[64], opad[64], hk[32];
                icbu_status st;
                if (kl > 64) {
                    if (m == ICBU_SIGN_HMAC_SHA256) SHA256_OF((const unsigned char *)secret, kl, hk, 0);
                    else MD5_OF((const unsigned char *)secret, kl, hk);
                    memcpy(key, hk, m == ICBU_SIGN_HMAC_SHA256 ? 32 : 16);
                } else {
                    memcpy(key, secret, kl);
                }
                for (i = 0; i < 64; i++) { ipad[i] = key[i] ^ 0x36; opad[i] = key[i] ^ 0x5c; }
                g_low = paint();
                st = sign(w, secret, (icbu_sign_method)m);
                hits = count((const unsigned char *)secret) + count((const unsigned char *)secret + kl - NEEDLE);
                if (m != ICBU_SIGN_MD5) hits += count(ipad) + count(opad) + (kl > 64 ? count(hk) : 0);
                printf("%s - %s, %s, %s key: %s, %lu copies in dead stack or the arena\n", st == want[w] && !hits ? "ok" : "not ok",
                       case_names[w], m == 0 ? "hmac-sha256" : m == 1 ? "hmac" : "md5", kl > 64 ? "long" : "short",
                       icbu_strerror(st), (unsigned long)hits);
                if (st == want[w] && !hits) passed++; else failed++;
            }
    printf("%u passed, %u failed\n", passed, failed);
    return failed != 0;
}
