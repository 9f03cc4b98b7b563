/* bench/bench.c - timing, memory and correctness driver for `make bench` and
 * `make bench-check`. Built once per hash back end (-DICBU_REFLOW_CRYPTO_MBEDTLS,
 * _PSA, _BEARSSL, or _CUSTOM with hash_openssl.c; -O2); the mbedTLS build also
 * has the cJSON baseline (-DBENCH_BASELINE, baseline.c) and the response
 * parsers. The PSA build calls psa_crypto_init() once, first thing in main(),
 * as an application must: never inside what is timed or counted.
 *
 *   bench_<be> check DIR   correctness checks, one line each ("ok - ..." or
 *                          "not ok - ..."), then "N passed, N failed"; writes
 *                          DIR/<be>_<order>_<method>.body and DIR/<order>.json
 *                          for bench_py.py --check
 *   bench_<be> time [S]    prints "ns <what> <case> <value>" lines: the median
 *                          over S samples (default 1001) of the time per call
 *   bench_<be> mem         prints "arena|heap_calls|heap_bytes|stack <what> <case> <value>"
 *
 * Timing: CLOCK_MONOTONIC. Each function is warmed up (>= 30 ms and >= 20
 * calls), then timed in S samples; a sample times a batch of B back-to-back
 * calls (B >= 1, chosen so a batch lasts >= 20 us, which keeps the clock's own
 * cost under 0.5%) and records time/B. The functions of one case are sampled
 * in turn (ours, bound, baseline, hand, ours, ...) so that drift hits them alike.
 *
 * Heap: malloc, calloc, realloc, free, posix_memalign and aligned_alloc are
 * wrapped at link time (-Wl,--wrap=...; mbedTLS (also for PSA) and BearSSL
 * are linked statically so their calls are wrapped too) and counted while the
 * measured call runs. cJSON and libcurl are shared libraries: for the baseline's count
 * they get the counting functions through cJSON_InitHooks and
 * curl_global_init_mem (mem mode only).
 *
 * Stack: the call runs on a thread whose stack (256 KiB, pthread_attr_setstack)
 * was painted with a pattern; the high-water mark is the distance from the
 * stack pointer just before the call down to the deepest byte that no longer
 * holds the pattern. Done with two patterns (0xA5, 0x5A); the larger is kept. */
#define _POSIX_C_SOURCE 200809L
#define ICBU_REFLOW_IMPLEMENTATION
#include "icbu_reflow.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "orders.h"
#include "bound.h"
#ifdef BENCH_BASELINE
#include "baseline.h"
#include <cjson/cJSON.h>
#endif

/* ----------------------------------------------------------------- heap */
static int g_count_heap;
static unsigned long g_heap_calls, g_heap_bytes;
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
int __wrap_posix_memalign(void **p, size_t a, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
static void heap_note(size_t n) { if (g_count_heap) { g_heap_calls++; g_heap_bytes += n; } }
void *__wrap_malloc(size_t n) { heap_note(n); return __real_malloc(n); }
void *__wrap_calloc(size_t k, size_t n) { heap_note(k * n); return __real_calloc(k, n); }
void *__wrap_realloc(void *p, size_t n) { heap_note(n); return __real_realloc(p, n); }
void __wrap_free(void *p) { if (p && g_count_heap) g_heap_calls++; __real_free(p); }
int __wrap_posix_memalign(void **p, size_t a, size_t n) { heap_note(n); return __real_posix_memalign(p, a, n); }
void *__wrap_aligned_alloc(size_t a, size_t n) { heap_note(n); return __real_aligned_alloc(a, n); }

/* ---------------------------------------------------------------- cases */
#define BODY_CAP (1u << 20)
static const char *const order_names[2] = { "example", "large" };
static example_order g_example;
static large_order g_large;
static const icbu_order *g_orders[2];
static volatile unsigned long g_sink;

typedef struct bcase {
    int order;
    icbu_sign_method m;
    icbu_config c;
    char *body;                 /* BODY_CAP bytes: what icbu_sign_body writes */
    size_t len;
    unsigned char *msg;         /* the signed bytes, rebuilt from the body */
    long msglen;
    char sign[65];
    bench_bound bound;
    char name[64];              /* "<order>/<backend>/<method>" */
} bcase;

static void orders_init(void) {
    example_order_build(&g_example);
    large_order_build(&g_large);
    g_orders[0] = &g_example.o;
    g_orders[1] = &g_large.base.o;
}

static int case_init(bcase *bc, int order, icbu_sign_method m) {
    icbu_err e;
    memset(bc, 0, sizeof *bc);
    bc->order = order; bc->m = m;
    bench_config(&bc->c, m);
    snprintf(bc->name, sizeof bc->name, "%s/%s/%s", order_names[order], BENCH_BACKEND, bench_method_names[m]);
    bc->body = malloc(BODY_CAP);
    bc->msg = malloc(BODY_CAP);
    if (!bc->body || !bc->msg) return -1;
    if (icbu_sign_body(&bc->c, g_orders[order], bc->body, BODY_CAP, &bc->len, &e) != ICBU_OK) return -1;
    bc->msglen = bench_signed_bytes(bc->body, bc->len, BENCH_SECRET, m == ICBU_SIGN_MD5, bc->msg,
                                    BODY_CAP, bc->sign);
    if (bc->msglen < 0) return -1;
    return bound_init(&bc->bound, m, bc->msg, (size_t)bc->msglen, BENCH_SECRET);
}

static void case_free(bcase *bc) {
    bound_free(&bc->bound);
    free(bc->body);
    free(bc->msg);
}

/* The measured calls. */
static void run_ours(void *p) {
    bcase *bc = p;
    size_t n;
    icbu_err e;
    g_sink += (unsigned long)icbu_sign_body(&bc->c, g_orders[bc->order], bc->body, BODY_CAP, &n, &e) + n;
}
static void run_bound(void *p) {
    bcase *bc = p;
    unsigned char d[32];
    g_sink += bound_run(&bc->bound, d) + d[0];
}
#ifdef BENCH_BASELINE
static void run_baseline_with(const bcase *bc, int enc) {
    size_t n = 0;
    char *b = baseline_sign_body(g_orders[bc->order], BENCH_APP_KEY, BENCH_SECRET,
                                 bench_method_names[bc->m], BENCH_TIMESTAMP, enc, &n);
    g_sink += n + (b ? (unsigned char)b[0] : 0u);
    free(b);
}
static void run_baseline(void *p) { run_baseline_with(p, BASELINE_CURL); }
static void run_baseline_hand(void *p) { run_baseline_with(p, BASELINE_HAND); }
#endif

#ifdef BENCH_BASELINE            /* responses: measured in the mbedTLS build only */
typedef struct presp { const char *text; size_t len; char buf[512]; } presp;
static void run_parse_ours(void *p) {
    presp *r = p;
    icbu_outcome out;
    icbu_err e;
    memcpy(r->buf, r->text, r->len);            /* in place: parse a fresh copy each time */
    g_sink += (unsigned long)icbu_parse_response(r->buf, r->len, &out, &e) + (unsigned long)out.kind;
}
static void run_parse_cjson(void *p) {
    presp *r = p;
    baseline_outcome out;
    void *h = baseline_parse_response(r->text, r->len, &out);
    g_sink += (unsigned long)out.kind;
    baseline_parse_free(h);
}
#endif

/* --------------------------------------------------------------- timing */
typedef void (*bench_fn)(void *);
typedef struct titem {
    const char *what;
    bench_fn fn;
    void *ctx;
    unsigned batch;
    double *s;
} titem;

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}
static int dcmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void measure(titem *it, int k, unsigned samples, const char *casename) {
    int i;
    unsigned s, b;
    for (i = 0; i < k; i++) {                   /* warm up and pick the batch */
        double t0 = now_ns(), t;
        unsigned long calls = 0;
        do { it[i].fn(it[i].ctx); calls++; t = now_ns() - t0; } while (t < 30e6 || calls < 20);
        t /= (double)calls;
        it[i].batch = t >= 20e3 ? 1u : (unsigned)(20e3 / t) + 1u;
        it[i].s = malloc(samples * sizeof(double));
    }
    for (s = 0; s < samples; s++)
        for (i = 0; i < k; i++) {
            double t0 = now_ns();
            for (b = 0; b < it[i].batch; b++) it[i].fn(it[i].ctx);
            it[i].s[s] = (now_ns() - t0) / it[i].batch;
        }
    for (i = 0; i < k; i++) {
        qsort(it[i].s, samples, sizeof(double), dcmp);
        printf("ns %s %s %.1f\n", it[i].what, casename, it[i].s[samples / 2]);
        printf("batch %s %s %u\n", it[i].what, casename, it[i].batch);
        free(it[i].s);
    }
    fflush(stdout);
}

static int mode_time(unsigned samples) {
    int order, m;
    bcase bc;
    for (order = 0; order < 2; order++)
        for (m = 0; m < 3; m++) {
            titem it[4];
            int k = 0;
            if (case_init(&bc, order, (icbu_sign_method)m) != 0) { fprintf(stderr, "setup failed\n"); return 1; }
            it[k].what = "ours"; it[k].fn = run_ours; it[k++].ctx = &bc;
            it[k].what = "bound"; it[k].fn = run_bound; it[k++].ctx = &bc;
#ifdef BENCH_BASELINE
            it[k].what = "baseline"; it[k].fn = run_baseline; it[k++].ctx = &bc;
            it[k].what = "hand"; it[k].fn = run_baseline_hand; it[k++].ctx = &bc;
#endif
            measure(it, k, samples, bc.name);
            case_free(&bc);
        }
#ifdef BENCH_BASELINE
    {
        static presp r[2];
        titem it[2];
        int i;
        r[0].text = bench_resp_ok; r[0].len = sizeof bench_resp_ok - 1;
        r[1].text = bench_resp_err; r[1].len = sizeof bench_resp_err - 1;
        for (i = 0; i < 2; i++) {
            it[0].what = "ours"; it[0].fn = run_parse_ours; it[0].ctx = &r[i];
            it[1].what = "baseline"; it[1].fn = run_parse_cjson; it[1].ctx = &r[i];
            measure(it, 2, samples, i ? "response/error" : "response/accepted");
        }
    }
#endif
    return 0;
}

/* ---------------------------------------------------------------- stack */
#define STACK_SIZE (256u * 1024u)
typedef struct sjob { bench_fn fn; void *ctx; uintptr_t sp; } sjob;

__attribute__((noinline)) static void stack_probe(sjob *j) {
    uintptr_t sp;
#if defined(__x86_64__)
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
    __asm__ volatile("mov %0, sp" : "=r"(sp));
#else
    sp = (uintptr_t)__builtin_frame_address(0);
#endif
    j->sp = sp;
    j->fn(j->ctx);
}
static void *stack_thread(void *p) { stack_probe(p); return NULL; }

/* Bytes of stack fn(ctx) used below its caller's stack pointer; 0 on failure. */
static size_t stack_high_water(bench_fn fn, void *ctx) {
    static const unsigned char pats[2] = { 0xA5, 0x5A };
    size_t best = 0, i;
    int k;
    for (k = 0; k < 2; k++) {
        void *stk = NULL;
        pthread_attr_t a;
        pthread_t th;
        sjob j;
        if (posix_memalign(&stk, 4096, STACK_SIZE) != 0) return 0;
        memset(stk, pats[k], STACK_SIZE);
        j.fn = fn; j.ctx = ctx; j.sp = 0;
        pthread_attr_init(&a);
        if (pthread_attr_setstack(&a, stk, STACK_SIZE) != 0 || pthread_create(&th, &a, stack_thread, &j) != 0) {
            free(stk);
            return 0;
        }
        pthread_join(th, NULL);
        pthread_attr_destroy(&a);
        for (i = 0; i < STACK_SIZE && ((unsigned char *)stk)[i] == pats[k]; i++) {}
        if (i > 0 && j.sp > (uintptr_t)stk + i && j.sp - ((uintptr_t)stk + i) > best)
            best = j.sp - ((uintptr_t)stk + i);
        free(stk);
    }
    return best;
}

/* ----------------------------------------------------------------- memory */
#ifdef BENCH_BASELINE
static void *count_malloc(size_t n) { return malloc(n); }   /* wrapped: counted */
static void count_free(void *p) { free(p); }
static void *count_realloc(void *p, size_t n) { return realloc(p, n); }
static void *count_calloc(size_t k, size_t n) { return calloc(k, n); }
static char *count_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
#endif

static void heap_of(bench_fn fn, void *ctx, unsigned long *calls, unsigned long *bytes) {
    fn(ctx);                                      /* warm: first-call effects out */
    g_heap_calls = g_heap_bytes = 0;
    g_count_heap = 1;
    fn(ctx);
    g_count_heap = 0;
    *calls = g_heap_calls; *bytes = g_heap_bytes;
}

static int mode_mem(void) {
    int order, m;
    bcase bc;
    unsigned long calls, bytes;
    size_t arena;
    icbu_err e;
#ifdef BENCH_BASELINE
    cJSON_Hooks hooks;
    hooks.malloc_fn = count_malloc;
    hooks.free_fn = count_free;
    cJSON_InitHooks(&hooks);
#endif
    for (order = 0; order < 2; order++)
        for (m = 0; m < 3; m++) {
            if (case_init(&bc, order, (icbu_sign_method)m) != 0) { fprintf(stderr, "setup failed\n"); return 1; }
            if (icbu_sign_body(&bc.c, g_orders[order], NULL, 0, &arena, &e) != ICBU_OK) return 1;
            printf("arena ours %s %lu\n", bc.name, (unsigned long)arena);
            heap_of(run_ours, &bc, &calls, &bytes);
            printf("heap_calls ours %s %lu\nheap_bytes ours %s %lu\n", bc.name, calls, bc.name, bytes);
            printf("stack ours %s %lu\n", bc.name, (unsigned long)stack_high_water(run_ours, &bc));
#ifdef BENCH_BASELINE
            heap_of(run_baseline, &bc, &calls, &bytes);
            printf("heap_calls baseline %s %lu\nheap_bytes baseline %s %lu\n", bc.name, calls, bc.name, bytes);
            printf("stack baseline %s %lu\n", bc.name, (unsigned long)stack_high_water(run_baseline, &bc));
#endif
            case_free(&bc);
        }
#ifdef BENCH_BASELINE
    {
        static presp r[2];
        int i;
        r[0].text = bench_resp_ok; r[0].len = sizeof bench_resp_ok - 1;
        r[1].text = bench_resp_err; r[1].len = sizeof bench_resp_err - 1;
        for (i = 0; i < 2; i++) {
            const char *nm = i ? "response/error" : "response/accepted";
            heap_of(run_parse_ours, &r[i], &calls, &bytes);
            printf("heap_calls ours %s %lu\nheap_bytes ours %s %lu\n", nm, calls, nm, bytes);
            printf("stack ours %s %lu\n", nm, (unsigned long)stack_high_water(run_parse_ours, &r[i]));
            heap_of(run_parse_cjson, &r[i], &calls, &bytes);
            printf("heap_calls baseline %s %lu\nheap_bytes baseline %s %lu\n", nm, calls, nm, bytes);
            printf("stack baseline %s %lu\n", nm, (unsigned long)stack_high_water(run_parse_cjson, &r[i]));
        }
    }
#endif
    return 0;
}

/* ----------------------------------------------------------------- checks */
static void bench_hex(const unsigned char *d, size_t n, char *hex) {
    static const char h[] = "0123456789ABCDEF";
    size_t i;
    for (i = 0; i < n; i++) { hex[2 * i] = h[d[i] >> 4]; hex[2 * i + 1] = h[d[i] & 15]; }
    hex[2 * n] = 0;
}

static unsigned g_pass, g_fail;
static void check(int ok, const char *fmt, const char *a, const char *b) {
    printf("%s - ", ok ? "ok" : "not ok");
    printf(fmt, a, b);
    printf("\n");
    if (ok) g_pass++; else g_fail++;
}

static int write_file(const char *dir, const char *name, const char *p, size_t n) {
    char path[512];
    FILE *f;
    int ok;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!(f = fopen(path, "wb"))) return 0;
    ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

#ifdef BENCH_BASELINE
static int str_eq(icbu_str a, const char *b) {
    if (!a.p || !b) return !a.p && !b;
    return strlen(b) == a.n && memcmp(a.p, b, a.n) == 0;
}

/* The bytes where TOP's form rule, curl_easy_escape and JSON's escaping part ways,
 * which the two benchmark orders do not have: every printable ASCII byte ('*'
 * kept and '~' as %7E by TOP, the other way round by curl; space; '+'; '"' and
 * '\\'), the five short JSON escapes, and 2-, 3- and 4-byte UTF-8. Put in the
 * example order's memo and signed three ways (checks only, not timed). */
static const char edge_memo[] =
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
    "\t\n\r\b\f" "\xc3\xa9" "\xe5\xbc\xa0" "\xf0\x9f\x98\x80";
/* "memo":"..." as the body carries it, from Python: urllib.parse.quote_plus(
 * json.dumps(memo, ensure_ascii=False), safe='*').replace('~', '%7E'). */
static const char edge_memo_form[] =
    "%22memo%22%3A%22"
    "+%21%5C%22%23%24%25%26%27%28%29*%2B%2C-.%2F0123456789%3A%3B%3C%3D%3E%3F%40"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ%5B%5C%5C%5D%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D%7E"
    "%5Ct%5Cn%5Cr%5Cb%5Cf%C3%A9%E5%BC%A0%F0%9F%98%80"
    "%22";

static int has_text(const char *p, size_t n, const char *t) {
    size_t k = strlen(t), i;
    for (i = 0; i + k <= n; i++)
        if (memcmp(p + i, t, k) == 0) return 1;
    return 0;
}

/* cJSON writes the same JSON bytes as icbu_order_json; js gets them (BODY_CAP). */
static size_t check_json(const icbu_order *o, const char *label, char *js) {
    size_t n = 0;
    char *cj = baseline_order_json(o);
    icbu_status st = icbu_order_json(o, js, BODY_CAP, &n, NULL);
    check(st == ICBU_OK && cj && strlen(cj) == n && memcmp(cj, js, n) == 0,
          "%s: cJSON_PrintUnformatted == icbu_order_json%s", label, "");
    free(cj);
    return n;
}

/* The two baselines against our signed body (ours, its signed bytes msg and
 * its sign): curl_easy_escape's body decodes to the same parameters, with the
 * same sign, and is not ours byte for byte (curl writes a space as %20, and
 * both orders have one); the hand-written encoder's body is ours, byte for byte. */
static void check_baselines(const icbu_order *o, int m, const char *label, const char *ours, size_t on,
                            const unsigned char *msg, long msglen, const char *sign) {
    size_t bn = 0, hn = 0;
    char *b = baseline_sign_body(o, BENCH_APP_KEY, BENCH_SECRET, bench_method_names[m],
                                 BENCH_TIMESTAMP, BASELINE_CURL, &bn);
    char *h = baseline_sign_body(o, BENCH_APP_KEY, BENCH_SECRET, bench_method_names[m],
                                 BENCH_TIMESTAMP, BASELINE_HAND, &hn);
    unsigned char *bmsg = malloc(BODY_CAP);
    char bsign[65];
    long bl = b && bmsg ? bench_signed_bytes(b, bn, BENCH_SECRET, m == ICBU_SIGN_MD5, bmsg, BODY_CAP, bsign) : -1;
    check(bl >= 0 && strcmp(bsign, sign) == 0, "%s: baseline's sign == ours%s", label, "");
    check(msglen >= 0 && bl == msglen && memcmp(bmsg, msg, (size_t)bl) == 0,
          "%s: baseline's body (curl_easy_escape) decodes to ours%s", label, "");
    check(b && (bn != on || memcmp(b, ours, bn) != 0),
          "%s: and is not ours byte for byte (curl writes a space as %%20)%s", label, "");
    check(h && hn == on && memcmp(h, ours, hn) == 0,
          "%s: hand-encoded baseline's body == ours, byte for byte%s", label, "");
    free(bmsg);
    free(h);
    free(b);
}

static void check_edge(void) {
    example_order x;
    static char js[BODY_CAP];
    int m;
    example_order_build(&x);
    x.o.memo = icbu_s(edge_memo);
    check_json(&x.o, "edge memo", js);
    for (m = 0; m < 3; m++) {
        icbu_config c;
        size_t on = 0;
        char *ours = malloc(BODY_CAP), sign[65], label[64];
        unsigned char *msg = malloc(BODY_CAP);
        long ol = -1;
        snprintf(label, sizeof label, "edge memo/%s", bench_method_names[m]);
        bench_config(&c, (icbu_sign_method)m);
        if (ours && msg && icbu_sign_body(&c, &x.o, ours, BODY_CAP, &on, NULL) == ICBU_OK)
            ol = bench_signed_bytes(ours, on, BENCH_SECRET, m == ICBU_SIGN_MD5, msg, BODY_CAP, sign);
        check(ol > 0 && has_text(ours, on, edge_memo_form),
              "%s: our body carries it encoded by TOP's rule%s", label, "");
        if (ol > 0) check_baselines(&x.o, m, label, ours, on, msg, ol, sign);
        free(ours); free(msg);
    }
}
#endif

static int mode_check(const char *dir) {
    int order, m;
    bcase bc;
    char fname[128];
    for (order = 0; order < 2; order++) {
#ifdef BENCH_BASELINE
        {
            static char js[BODY_CAP];
            size_t n;
            snprintf(fname, sizeof fname, "%s order", order_names[order]);
            n = check_json(g_orders[order], fname, js);
            snprintf(fname, sizeof fname, "%s.json", order_names[order]);
            check(write_file(dir, fname, js, n), "%s written%s", fname, "");
        }
#endif
        for (m = 0; m < 3; m++) {
            unsigned char d[32];
            char hex[65];
            size_t sized = 0, dl;
            icbu_err e;
            int init = case_init(&bc, order, (icbu_sign_method)m);
            check(init == 0, "%s: signed, and the signed bytes rebuilt from the body%s", bc.name, "");
            if (init != 0) continue;
            check(icbu_sign_body(&bc.c, g_orders[order], NULL, 0, &sized, &e) == ICBU_OK && sized == bc.len,
                  "%s: sizing call == written length%s", bc.name, "");
            dl = bound_run(&bc.bound, d);
            bench_hex(d, dl, hex);
            check(strlen(bc.sign) == 2 * dl && strcmp(hex, bc.sign) == 0,
                  "%s: sign == the back end's own digest of the signed bytes (%s)", bc.name, hex);
            {
                unsigned long calls, bytes;
                heap_of(run_ours, &bc, &calls, &bytes);
                check(calls == 0 && bytes == 0, "%s: no heap call in icbu_sign_body%s", bc.name, "");
            }
            {
                size_t st = stack_high_water(run_ours, &bc);
                check(st > 0 && st < STACK_SIZE / 2, "%s: stack high-water measured%s", bc.name, "");
            }
#ifdef BENCH_BASELINE
            check_baselines(g_orders[order], m, bc.name, bc.body, bc.len, bc.msg, bc.msglen, bc.sign);
#endif
            snprintf(fname, sizeof fname, "%s_%s_%s.body", BENCH_BACKEND, order_names[order], bench_method_names[m]);
            check(write_file(dir, fname, bc.body, bc.len), "%s written%s", fname, "");
            case_free(&bc);
        }
    }
#ifdef BENCH_BASELINE
    check_edge();
    {   /* the two parsers read the same fields */
        char buf[512];
        icbu_outcome o;
        baseline_outcome b;
        void *h;
        size_t n = sizeof bench_resp_ok - 1;
        memcpy(buf, bench_resp_ok, n);
        h = baseline_parse_response(bench_resp_ok, n, &b);
        check(icbu_parse_response(buf, n, &o, NULL) == ICBU_OK && o.kind == ICBU_ACCEPTED && b.kind == 1 &&
              str_eq(o.insure_id, b.insure_id) && str_eq(o.error_code, b.error_code) &&
              str_eq(o.error_msg, b.error_msg) && str_eq(o.request_id, b.request_id) &&
              str_eq(o.insure_id, "111111"),
              "response/accepted: icbu_parse_response == cJSON%s%s", "", "");
        check(memcmp(buf, bench_resp_ok, n) == 0, "response/accepted: body unchanged by the in-place parse%s%s", "", "");
        baseline_parse_free(h);
        n = sizeof bench_resp_err - 1;
        memcpy(buf, bench_resp_err, n);
        h = baseline_parse_response(bench_resp_err, n, &b);
        check(icbu_parse_response(buf, n, &o, NULL) == ICBU_OK && o.kind == ICBU_PLATFORM_ERROR && b.kind == 3 &&
              o.code.set && o.code.v == 25 && b.code == 25 && str_eq(o.msg, b.msg) &&
              str_eq(o.sub_code, b.sub_code) && str_eq(o.sub_msg, b.sub_msg) &&
              str_eq(o.request_id, b.request_id) && str_eq(o.msg, "Invalid signature"),
              "response/error: icbu_parse_response == cJSON%s%s", "", "");
        baseline_parse_free(h);
    }
#endif
    printf("%u passed, %u failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}

int main(int argc, char **argv) {
#ifdef ICBU_REFLOW_CRYPTO_PSA
    {   /* once, before anything is signed, timed or counted */
        psa_status_t ps = psa_crypto_init();
        if (argc >= 3 && strcmp(argv[1], "check") == 0)
            check(ps == PSA_SUCCESS, "psa_crypto_init() == PSA_SUCCESS, once at start%s%s", "", "");
        if (ps != PSA_SUCCESS) {
            fprintf(stderr, "psa_crypto_init failed: %d\n", (int)ps);
            if (argc >= 3 && strcmp(argv[1], "check") == 0) printf("%u passed, %u failed\n", g_pass, g_fail);
            return 1;
        }
    }
#endif
    orders_init();
#ifdef BENCH_BASELINE
    {   /* in mem mode libcurl allocates through the counting functions */
        baseline_heap h;
        h.malloc_fn = count_malloc; h.free_fn = count_free; h.realloc_fn = count_realloc;
        h.strdup_fn = count_strdup; h.calloc_fn = count_calloc;
        if (baseline_init(argc >= 2 && strcmp(argv[1], "mem") == 0 ? &h : NULL) != 0) {
            fprintf(stderr, "curl_global_init failed\n");
            return 1;
        }
    }
#endif
    if (argc >= 3 && strcmp(argv[1], "check") == 0) return mode_check(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "time") == 0)
        return mode_time(argc >= 3 ? (unsigned)strtoul(argv[2], NULL, 10) : 1001u);
    if (argc >= 2 && strcmp(argv[1], "mem") == 0) return mode_mem();
    fprintf(stderr, "usage: %s check DIR | time [SAMPLES] | mem\n", argv[0]);
    return 64;
}
