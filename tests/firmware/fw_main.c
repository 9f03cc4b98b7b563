/* The firmware image's program (tools/firmware.py builds it for Cortex-M0+,
 * Cortex-M4F, RV32IMAC, ATmega2560 and, as its twin, the host), in the
 * configuration the library is compiled in:
 *   build and sign (ICBU_REFLOW_NO_EXCHANGE + NO_DECODER): signs the API
 *     document's example order (tests/example_order.h) with md5, hmac and
 *     hmac-sha256 as tests/example_order.h's example_config does (and
 *     hmac-sha256 once more with NULL for the icbu_err, for its stack),
 *     writes the order JSON and a few dates;
 *   sign only (the same, built with FW_SIGN_ONLY): the three bodies alone,
 *     no JSON and no dates: the image the check links, a firmware
 *     that only signs the order;
 *   full client (NO_DECODER): the same, then icbu_url_parse, icbu_exchange
 *     over the in-memory transport of fw_transport.c against three canned
 *     answers of the gateway (accepted, refused, platform error: fw_answers.h)
 *     and icbu_report against a busy gateway that accepts the second attempt;
 *   full client + decoder (nothing left out): the same, then icbu_decode_order
 *     of the order's own JSON, written and signed again;
 *   build and sign + decoder (NO_EXCHANGE alone; the AVR image, where the
 *     full client does not fit): build and sign, then the decoder as above.
 * Each outcome is checked here field for field against fw_answers.h; what the
 * library sent and what it made of each answer is printed, for the checker to
 * hold against the host twin and Python. On the MCUs it measures the peak
 * stack of every entry point it calls by painting the free stack, calling, and
 * scanning for the deepest word overwritten. It calls nothing else of the
 * library (no icbu_strerror: statuses are printed as numbers), so that the
 * linked image holds only what such a firmware holds.
 *
 * Output, one line each (the checker parses it):
 *   fw begin NAME
 *   body METHOD TEXT           the signed form body
 *   json TEXT                  icbu_order_json
 *   date HEX16 TEXT            icbu_date_from_unix(t) then icbu_date_format, "-" when unset
 *   request CASE head TEXT     what the library sent (full client): the head with
 *   request CASE body TEXT     CR and LF as \r and \n (and \\ for \), then the body
 *   outcome CASE FIELDS        the icbu_outcome (full client), FIELDS as name=value
 *   decoded json TEXT          icbu_order_json of the icbu_decode_order of json (decoder)
 *   decoded body TEXT          the decoded order, signed with md5 (decoder)
 *   stack ENTRY BYTES          painted peak (MCUs only); first "calibrate", a call
 *                              of FW_CAL_BYTES of locals (the checker's bound)
 *   fail WHAT STATUS           a call or a check that did not come out as it must
 *   fw end ok|fail */
#include <stdint.h>
#include <string.h>
#include "icbu_reflow.h"
#include "example_order.h"
#include "fw_platform.h"
#include "fw_out.h"
#ifndef ICBU_REFLOW_NO_EXCHANGE
#include "fw_answers.h"
#endif

#ifndef FW_NAME
#define FW_NAME "host"
#endif


static int failures;
static void fail(const char *what, icbu_status s) {
    out("fail "); out(what); out(" "); out_u32((uint32_t)s); out("\n");
    failures++;
}

static uint32_t peak __attribute__((unused));   /* the last MEASURE's (0 on the host) */

#ifdef FW_STACK_PAINT
/* Two patterns, neither a repeated byte (so no loop here becomes a memset
 * call, whose own frame would lie in the painted range): a call that happens
 * to leave one of them in its deepest word is still measured by the other. */
#define PAT_A 0x5afec0deu
#define PAT_B 0xc3a9617eu
/* Fills the stack from its bottom up to this function's own stack pointer
 * (a leaf: its frame, if any, lies above that and is left alone). */
__attribute__((noinline)) static void paint(uint32_t pat) {
    volatile uint32_t *p = __stack_bottom, *end = (volatile uint32_t *)(fw_sp() & ~(uintptr_t)3);
    while (p < end) *p++ = pat;
}
/* The lowest address whose word is no longer the pattern. */
__attribute__((noinline)) static uintptr_t deepest(uint32_t pat) {
    volatile uint32_t *p = __stack_bottom;
    while (p < (volatile uint32_t *)__stack_top && *p == pat) p++;
    return (uintptr_t)p;
}
/* The stack pointer does not move inside a function body after its
 * prologue (no alloca, no VLA here), so sp read here is the one at the call. */
#define MEASURE(call) do {                                                        \
        int k_;                                                                   \
        peak = 0;                                                                 \
        for (k_ = 0; k_ < 2; k_++) {                                              \
            uint32_t pat_ = k_ ? PAT_B : PAT_A;                                   \
            uintptr_t sp_, low_;                                                  \
            paint(pat_);                                                          \
            sp_ = fw_sp();                                                        \
            call;                                                                 \
            low_ = deepest(pat_);                                                 \
            if (low_ <= (uintptr_t)__stack_bottom) out("fail stack-overflow 0\n"); \
            if ((uint32_t)(sp_ - low_) > peak) peak = (uint32_t)(sp_ - low_);     \
        }                                                                         \
    } while (0)
static void report(const char *entry) {
    out("stack "); out(entry); out(" "); out_u32(peak); out("\n");
}
/* A call of known depth, for the checker to hold the painting to: FW_CAL_BYTES
 * of locals, every word written (volatile: no memset call, nothing elided).
 * Its painted peak is FW_CAL_BYTES plus the few bytes of the call and its
 * saved registers; a painting that loses depth reports less. */
#define FW_CAL_BYTES 512u
__attribute__((noinline)) static void calibrate(void) {
    volatile uint32_t a[FW_CAL_BYTES / 4u];
    unsigned i;
    for (i = 0; i < FW_CAL_BYTES / 4u; i++) a[i] = i;
}
static void measure_calibration(void) {
    MEASURE(calibrate());
    report("calibrate");
}
#else
static void measure_calibration(void) {}
#define MEASURE(call) do { call; } while (0)
static void report(const char *entry) { (void)entry; }
#endif

static example_order x;
/* What the program writes into: the largest body is under 2.75 kB. The AVR
 * image's 8 kB of SRAM also holds every string literal and the library's
 * tables (avr-gcc copies read-only data to RAM), so it gets just that. */
#if defined(__AVR__)
#define FW_BUF_BYTES 2816
#else
#define FW_BUF_BYTES 8192
#endif
static char buf[FW_BUF_BYTES];


#if defined(__AVR__)
static uint32_t fnv1a(const char *p, size_t n) {
    uint32_t h = 2166136261u;
    while (n--) h = (h ^ (unsigned char)*p++) * 16777619u;
    return h;
}
#endif

/* Build and sign: the three bodies. */
static void sign_bodies(void) {
    static const struct { icbu_sign_method m; const char *name, *entry; } methods[] = {
        { ICBU_SIGN_MD5, "md5", "icbu_sign_body/md5" },
        { ICBU_SIGN_HMAC, "hmac", "icbu_sign_body/hmac" },
        { ICBU_SIGN_HMAC_SHA256, "hmac-sha256", "icbu_sign_body/hmac-sha256" },
    };
    icbu_config c;
    icbu_err e;
    icbu_status st = ICBU_OK;
    size_t n = 0, need = 0;
    unsigned i;

    for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        example_config(&c, methods[i].m);
        st = icbu_sign_body(&c, &x.o, NULL, 0, &need, &e);
        if (st != ICBU_OK) { fail("sizing", st); continue; }
        MEASURE(st = icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e));
        if (st != ICBU_OK) { fail(methods[i].entry, st); continue; }
        if (n != need) fail("sizing-differs", ICBU_OK);
        out("body "); out(methods[i].name); out(" "); fw_write(buf, n); out("\n");
        report(methods[i].entry);
    }
    /* the last again (hmac-sha256) without an icbu_err: the same body, its own
     * peak (compared byte by byte here: a memcmp call would link one that the
     * library's object names but this image's library never calls) */
    {
#if defined(__AVR__)
        /* no room for a second buffer: the body again into buf, held to the
         * first's length and FNV-1a digest */
        char *again = buf;
        uint32_t first = fnv1a(buf, n);
#else
        static char again[sizeof buf];
#endif
        size_t m = 0, j = 0;
        MEASURE(st = icbu_sign_body(&c, &x.o, again, sizeof buf, &m, NULL));
#if defined(__AVR__)
        if (st == ICBU_OK && m == n && fnv1a(again, m) == first) j = n;
#else
        while (st == ICBU_OK && m == n && j < n && again[j] == buf[j]) j++;
#endif
        if (st != ICBU_OK) fail("icbu_sign_body/no-err", st);
        else if (m != n || j != n) fail("no-err-differs", ICBU_OK);
        else report("icbu_sign_body/no-err");
    }
}

#ifndef FW_SIGN_ONLY
/* Unix seconds for icbu_date_from_unix: the first is the config's timestamp
 * (2026-11-28 12:00:00 GMT+8); then the epoch, a leap day, the ends of the
 * range and just past them, and the ends of int64. */
static const int64_t dates[] = {
    INT64_C(1795838400), 0, -1, INT64_C(951753600), INT64_C(-62167248000), INT64_C(253402271999),
    INT64_C(-62167248001), INT64_C(253402272000), INT64_MIN, INT64_MAX,
};

/* The order's JSON and the dates (not in the sign-only image). */
static void write_json_and_dates(void) {
    icbu_config c;
    icbu_err e;
    icbu_status st = ICBU_OK;
    icbu_date d;
    char text[20];
    size_t n = 0;
    unsigned i;

    MEASURE(st = icbu_order_json(&x.o, buf, sizeof buf, &n, &e));
    if (st != ICBU_OK) fail("icbu_order_json", st);
    else { out("json "); fw_write(buf, n); out("\n"); report("icbu_order_json"); }

    for (i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        d = icbu_date_from_unix(dates[i]);
        st = icbu_date_format(&d, text);
        out("date "); out_hex64((uint64_t)dates[i]); out(" "); out(st == ICBU_OK ? text : "-"); out("\n");
    }
    MEASURE(d = icbu_date_from_unix(dates[0]));
    report("icbu_date_from_unix");
    example_config(&c, ICBU_SIGN_MD5);
    if (!d.set || d.year != c.timestamp.year || d.month != c.timestamp.month || d.day != c.timestamp.day ||
        d.hour != c.timestamp.hour || d.min != c.timestamp.min || d.sec != c.timestamp.sec)
        fail("icbu_date_from_unix-differs", ICBU_OK);
    MEASURE(st = icbu_date_format(&d, text));
    if (st != ICBU_OK) fail("icbu_date_format", st);
    report("icbu_date_format");
}
#endif

#ifndef ICBU_REFLOW_NO_EXCHANGE
static char arena[6144];               /* the request, then the answer */
static char sent[4096];                /* what the library sent, as the transport kept it */
static fw_link gw;

/* The request the library sent on the last connection: the head escaped
 * onto one line, then the body (the two are split at the blank line). */
static void print_request(const char *name) {
    size_t i, h = 0;
    for (i = 0; i + 3 < gw.sent_len && !h; i++)
        if (memcmp(gw.sent + i, "\r\n\r\n", 4) == 0) h = i + 4;
    out("request "); out(name); out(" head ");
    for (i = 0; i < h; i++) {
        char ch = gw.sent[i];
        if (ch == '\r') out("\\r");
        else if (ch == '\n') out("\\n");
        else if (ch == '\\') out("\\\\");
        else fw_write(&ch, 1);
    }
    out("\nrequest "); out(name); out(" body "); fw_write(gw.sent + h, gw.sent_len - h); out("\n");
}

static int same(icbu_str got, const char *want) {
    if (!want) return got.p == NULL;
    return got.p && got.n == strlen(want) && memcmp(got.p, want, got.n) == 0;
}

static void field(const char *name, icbu_str s) {
    out(" "); out(name); out("=");
    if (s.p) fw_write(s.p, s.n); else out("-");
}

/* Prints the outcome, and checks it against what the answer must give. */
static void outcome(const char *name, icbu_status st, const icbu_outcome *o, const fw_expect *w) {
    int ok = st == w->status && o->kind == w->kind && same(o->insure_id, w->insure_id) &&
             same(o->error_code, w->error_code) && same(o->error_msg, w->error_msg) &&
             o->code.set == w->code_set && (!w->code_set || o->code.v == w->code) &&
             same(o->msg, w->msg) && same(o->sub_code, w->sub_code) && same(o->sub_msg, w->sub_msg) &&
             same(o->request_id, w->request_id) && o->attempts == w->attempts && !gw.overflow;
    out("outcome "); out(name);
    out(" status="); out_u32((uint32_t)st);
    out(" kind="); out_u32((uint32_t)o->kind);
    field("insure_id", o->insure_id);
    field("error_code", o->error_code);
    field("error_msg", o->error_msg);
    out(" code="); if (o->code.set) out_hex64((uint64_t)o->code.v); else out("-");
    field("msg", o->msg);
    field("sub_code", o->sub_code);
    field("sub_msg", o->sub_msg);
    field("request_id", o->request_id);
    out(" attempts="); out_u32(o->attempts);
    out("\n");
    if (!ok) fail(name, st);
}

/* One exchange per canned answer on a fresh connection; the deepest of the
 * three is icbu_exchange's painted peak. */
static void exchange(const icbu_url *u, uint32_t *worst) {
    static const fw_answer *const answers[] = { &fw_accepted, &fw_refused, &fw_platform };
    static const fw_expect *const expect[] = { &fw_accepted_expect, &fw_refused_expect, &fw_platform_expect };
    static const char *const names[] = { "exchange/accepted", "exchange/refused", "exchange/platform" };
    icbu_transport t;
    icbu_config c;
    icbu_outcome o;
    icbu_err e;
    icbu_status st = ICBU_OK;
    unsigned i;
    example_config(&c, ICBU_SIGN_MD5);
    for (i = 0; i < 3; i++) {
        /* MEASURE may call twice: each call gets the answer on a new connection */
        fw_link_init(&gw, &answers[i], 1, sent, sizeof sent);
        fw_link_transport(&gw, &t);
        MEASURE((gw.next = 0, fw_link_connect(&gw),
                 st = icbu_exchange(&c, &x.o, u, &t, 10000, arena, sizeof arena, &o, &e)));
        print_request(names[i]);
        outcome(names[i], st, &o, expect[i]);
        report(names[i]);
        if (peak > *worst) *worst = peak;
    }
}

/* icbu_report: busy, then accepted on the second attempt. */
static void report_retried(const icbu_url *u) {
    static const fw_answer *const answers[] = { &fw_busy, &fw_accepted_chunked };
    icbu_transport t;
    icbu_retry r;
    icbu_config c;
    icbu_outcome o;
    icbu_err e;
    icbu_status st = ICBU_OK;
    example_config(&c, ICBU_SIGN_HMAC_SHA256);
    c.timestamp = icbu_d(2000, 1, 1, 0, 0, 0);     /* unix_now gives the one to sign */
    fw_link_init(&gw, answers, 2, sent, sizeof sent);
    fw_link_transport(&gw, &t);
    fw_link_retry(&gw, &r, 3, FW_RANDOM, FW_UNIX_NOW);
    MEASURE((gw.next = 0, gw.opens = gw.closes = gw.sleeps = gw.slept = 0,
             st = icbu_report(&c, &x.o, u, &t, &r, 60000, arena, sizeof arena, &o, &e)));
    print_request("report/retried");
    outcome("report/retried", st, &o, &fw_retried_expect);
    report("icbu_report");
    if (gw.opens != 2 || gw.closes != 2 || gw.sleeps != 1 || gw.slept != FW_RANDOM % 201u)
        fail("report/retried-connections", ICBU_OK);
}

static void client(void) {
    icbu_url u;
    icbu_status st;
    uint32_t worst = 0;
    MEASURE(st = icbu_url_parse(FW_URL, &u));
    if (st != ICBU_OK) { fail("icbu_url_parse", st); return; }
    report("icbu_url_parse");
    exchange(&u, &worst);
    peak = worst;
    report("icbu_exchange");
    report_retried(&u);
}
#endif

#ifndef ICBU_REFLOW_NO_DECODER
/* aligned as the decoder needs; on AVR what its 8 kB of SRAM leave (the
 * example order decodes into about 1 kB there: 16-bit pointers and size_t) */
#if defined(__AVR__)
#define FW_DECODED_BYTES 1280
#else
#define FW_DECODED_BYTES 8192
#endif
static union { char c[FW_DECODED_BYTES]; int64_t i; void *p; } decoded;

/* The order's own JSON, decoded, then written and signed again. */
static void decode(void) {
    icbu_config c;
    icbu_err e;
    icbu_status st = ICBU_OK;
    const icbu_order *o = NULL;
    size_t n = 0, used = 0, m = 0;
    if ((st = icbu_order_json(&x.o, buf, sizeof buf, &n, &e)) != ICBU_OK) { fail("decode-json", st); return; }
    MEASURE(st = icbu_decode_order(buf, n, decoded.c, sizeof decoded.c, &o, &used, &e));
    if (st != ICBU_OK) { fail("icbu_decode_order", st); return; }
    report("icbu_decode_order");
    /* buf keeps the JSON decoded; the decoded order's strings point into the arena */
    if ((st = icbu_order_json(o, buf, sizeof buf, &m, &e)) != ICBU_OK) { fail("decoded-json", st); return; }
    out("decoded json "); fw_write(buf, m); out("\n");
    example_config(&c, ICBU_SIGN_MD5);
    if ((st = icbu_sign_body(&c, o, buf, sizeof buf, &m, &e)) != ICBU_OK) { fail("decoded-body", st); return; }
    out("decoded body "); fw_write(buf, m); out("\n");
}
#endif

int main(void) {
    out("fw begin " FW_NAME "\n");
    example_order_build(&x);
    measure_calibration();
    sign_bodies();
#ifndef FW_SIGN_ONLY
    write_json_and_dates();
#endif
#ifndef ICBU_REFLOW_NO_EXCHANGE
    client();
#endif
#ifndef ICBU_REFLOW_NO_DECODER
    decode();
#endif
    out(failures ? "fw end fail\n" : "fw end ok\n");
    fw_exit(failures == 0);
}
