/* The firmware image's program (tools/firmware.py builds it for Cortex-M4F,
 * RV32IMAC and, as its twin, the host): signs the API document's example
 * order (tests/example_order.h) with md5, hmac and hmac-sha256 as
 * tests/example_order.h's example_config does, writes the order JSON and a few dates,
 * and on the MCUs measures the peak stack of every entry point it calls by
 * painting the free stack, calling, and scanning for the deepest word
 * overwritten. It calls only what a build-and-sign firmware calls, and
 * nothing else of the library (no icbu_strerror: statuses are printed as
 * numbers), so that the linked image holds only that.
 *
 * Output, one line each (the checker parses it):
 *   fw begin NAME
 *   body METHOD TEXT           the signed form body
 *   json TEXT                  icbu_order_json
 *   date HEX16 TEXT            icbu_date_from_unix(t) then icbu_date_format, "-" when unset
 *   stack ENTRY BYTES          painted peak (MCUs only)
 *   fail WHAT STATUS           a call that did not return ICBU_OK
 *   fw end ok|fail */
#include <stdint.h>
#include <string.h>
#include "icbu_reflow.h"
#include "example_order.h"
#include "fw_platform.h"

#ifndef FW_NAME
#define FW_NAME "host"
#endif

static void out(const char *s) { fw_write(s, strlen(s)); }
static void out_u32(uint32_t v) {
    char d[10];
    unsigned n = 0;
    do { d[n++] = (char)('0' + v % 10u); v /= 10u; } while (v);
    while (n) fw_write(&d[--n], 1);
}
static void out_hex64(uint64_t v) {            /* shifts only: no 64-bit division in the harness */
    char d[16];
    int i;
    for (i = 15; i >= 0; i--, v >>= 4) d[i] = "0123456789abcdef"[v & 15u];
    fw_write(d, 16);
}

static int failures;
static void fail(const char *what, icbu_status s) {
    out("fail "); out(what); out(" "); out_u32((uint32_t)s); out("\n");
    failures++;
}

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
static uint32_t peak;
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
#else
#define MEASURE(call) do { call; } while (0)
static void report(const char *entry) { (void)entry; }
#endif

static example_order x;
static char buf[8192];

/* Unix seconds for icbu_date_from_unix: the first is the config's timestamp
 * (2026-11-28 12:00:00 GMT+8); then the epoch, a leap day, the ends of the
 * range and just past them, and the ends of int64. */
static const int64_t dates[] = {
    INT64_C(1795838400), 0, -1, INT64_C(951753600), INT64_C(-62167248000), INT64_C(253402271999),
    INT64_C(-62167248001), INT64_C(253402272000), INT64_MIN, INT64_MAX,
};

int main(void) {
    static const struct { icbu_sign_method m; const char *name, *entry; } methods[] = {
        { ICBU_SIGN_MD5, "md5", "icbu_sign_body/md5" },
        { ICBU_SIGN_HMAC, "hmac", "icbu_sign_body/hmac" },
        { ICBU_SIGN_HMAC_SHA256, "hmac-sha256", "icbu_sign_body/hmac-sha256" },
    };
    icbu_config c;
    icbu_err e;
    icbu_status st = ICBU_OK;
    icbu_date d;
    char text[20];
    size_t n = 0, need = 0;
    unsigned i;

    out("fw begin " FW_NAME "\n");
    example_order_build(&x);
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

    out(failures ? "fw end fail\n" : "fw end ok\n");
    fw_exit(failures == 0);
}
