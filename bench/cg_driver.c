/* bench/cg_driver.c - the small driver `make bench` runs under valgrind.
 *
 *   cg_<be> WHAT ORDER METHOD N
 *     WHAT    ours | bound | baseline | hand (mbedTLS build) | parse_ok | parse_err |
 *             cjson_ok | cjson_err (mbedTLS build) | heap
 *     ORDER   example | large        METHOD  hmac-sha256 | hmac | md5
 *
 * Under callgrind: every run does the same setup (both orders built, the case
 * signed once, its signed bytes rebuilt, and every measured function called
 * once, so first-call effects such as lazy binding fall in the setup), then
 * calls WHAT N times. Instructions per call = (Ir(N) - Ir(0)) / N, from two
 * runs with the same arguments but N.
 *
 * WHAT = heap, under memcheck: nothing but icbu_sign_body, N times for each
 * order and method, from static buffers: the process's heap summary must say
 * "0 allocs" (for mbedTLS, on heap_mbedtls, built without the baseline: the
 * libraries libcurl loads allocate at load time). No output; the exit status
 * is 0 when every call succeeded.
 *
 * The PSA build (-DICBU_REFLOW_CRYPTO_PSA) calls psa_crypto_init() once, first
 * thing: in both callgrind runs alike (so it cancels out of Ir(N) - Ir(0)), and
 * in the memcheck run's heap summary with everything else. */
#define _POSIX_C_SOURCE 200809L
#define ICBU_REFLOW_IMPLEMENTATION
#include "icbu_reflow.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "orders.h"
#include "bound.h"
#ifdef BENCH_BASELINE
#include "baseline.h"
#endif

#define BODY_CAP (1u << 20)
static example_order g_example;
static large_order g_large;
static char g_body[BODY_CAP];
static unsigned char g_msg[BODY_CAP];
static char g_resp[512];
static volatile unsigned long g_sink;

static int heap_only(const icbu_order *const orders[2], unsigned long n) {
    int o, m;
    unsigned long i;
    for (o = 0; o < 2; o++)
        for (m = 0; m < 3; m++) {
            icbu_config c;
            icbu_err e;
            size_t len;
            bench_config(&c, (icbu_sign_method)m);
            for (i = 0; i < n; i++)
                if (icbu_sign_body(&c, orders[o], g_body, BODY_CAP, &len, &e) != ICBU_OK) return 1;
        }
    return 0;
}

static void parse_ours(const char *text, size_t len) {
    icbu_outcome out;
    memcpy(g_resp, text, len);
    g_sink += (unsigned long)icbu_parse_response(g_resp, len, &out, NULL) + (unsigned long)out.kind;
}
#ifdef BENCH_BASELINE
static void parse_cjson(const char *text, size_t len) {
    baseline_outcome out;
    void *h = baseline_parse_response(text, len, &out);
    g_sink += (unsigned long)out.kind;
    baseline_parse_free(h);
}
#endif

int main(int argc, char **argv) {
    const icbu_order *orders[2];
    const char *what;
    int order, m;
    unsigned long n, i;
    icbu_config c;
    icbu_err e;
    size_t len;
    long msglen;
    char sign[65];
    unsigned char d[32];
    bench_bound b;
    const size_t ok_len = sizeof bench_resp_ok - 1, err_len = sizeof bench_resp_err - 1;

    if (argc != 5) return 64;
#ifdef ICBU_REFLOW_CRYPTO_PSA
    if (psa_crypto_init() != PSA_SUCCESS) return 3;
#endif
    what = argv[1];
    order = strcmp(argv[2], "large") == 0;
    for (m = 0; m < 3 && strcmp(argv[3], bench_method_names[m]) != 0; m++) {}
    n = strtoul(argv[4], NULL, 10);
    if (m == 3) return 64;

    example_order_build(&g_example);
    large_order_build(&g_large);
    orders[0] = &g_example.o;
    orders[1] = &g_large.base.o;
    if (strcmp(what, "heap") == 0) return heap_only(orders, n);

    /* setup, the same for every WHAT */
    bench_config(&c, (icbu_sign_method)m);
    if (icbu_sign_body(&c, orders[order], g_body, BODY_CAP, &len, &e) != ICBU_OK) return 2;
    msglen = bench_signed_bytes(g_body, len, BENCH_SECRET, m == ICBU_SIGN_MD5, g_msg, BODY_CAP, sign);
    if (msglen < 0 || bound_init(&b, (icbu_sign_method)m, g_msg, (size_t)msglen, BENCH_SECRET) != 0) return 2;
    g_sink += bound_run(&b, d);
    parse_ours(bench_resp_ok, ok_len);
    parse_ours(bench_resp_err, err_len);
#ifdef BENCH_BASELINE
    if (baseline_init(NULL) != 0) return 2;
    free(baseline_sign_body(orders[order], BENCH_APP_KEY, BENCH_SECRET, bench_method_names[m],
                            BENCH_TIMESTAMP, BASELINE_CURL, &len));
    free(baseline_sign_body(orders[order], BENCH_APP_KEY, BENCH_SECRET, bench_method_names[m],
                            BENCH_TIMESTAMP, BASELINE_HAND, &len));
    parse_cjson(bench_resp_ok, ok_len);
    parse_cjson(bench_resp_err, err_len);
#endif

    if (strcmp(what, "ours") == 0) {
        for (i = 0; i < n; i++) g_sink += (unsigned long)icbu_sign_body(&c, orders[order], g_body, BODY_CAP, &len, &e);
    } else if (strcmp(what, "bound") == 0) {
        for (i = 0; i < n; i++) g_sink += bound_run(&b, d);
    } else if (strcmp(what, "parse_ok") == 0) {
        for (i = 0; i < n; i++) parse_ours(bench_resp_ok, ok_len);
    } else if (strcmp(what, "parse_err") == 0) {
        for (i = 0; i < n; i++) parse_ours(bench_resp_err, err_len);
#ifdef BENCH_BASELINE
    } else if (strcmp(what, "baseline") == 0 || strcmp(what, "hand") == 0) {
        int enc = strcmp(what, "hand") == 0 ? BASELINE_HAND : BASELINE_CURL;
        for (i = 0; i < n; i++)
            free(baseline_sign_body(orders[order], BENCH_APP_KEY, BENCH_SECRET, bench_method_names[m],
                                    BENCH_TIMESTAMP, enc, &len));
    } else if (strcmp(what, "cjson_ok") == 0) {
        for (i = 0; i < n; i++) parse_cjson(bench_resp_ok, ok_len);
    } else if (strcmp(what, "cjson_err") == 0) {
        for (i = 0; i < n; i++) parse_cjson(bench_resp_err, err_len);
#endif
    } else {
        return 64;
    }
    bound_free(&b);
    return 0;
}
