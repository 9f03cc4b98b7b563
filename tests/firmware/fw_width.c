/* Checks of what the integer widths change: the library on a target whose
 * int and size_t are 16 bits (AVR: avr-gcc -mmcu=atmega2560) must compute
 * the same values as on a 32- or 64-bit one, or refuse with a clear error
 * where a length no longer fits in size_t; never a wrapped length.
 *   int fw_width_checks(void (*say)(const char *line))
 * says one "ok NAME" or "FAIL NAME ..." line per check and returns the number
 * of failures. It calls the library's API alone (any hash back end: a check
 * that signs holds no digest against a fixed value) and needs no C library
 * beyond what the library itself calls; each check's buffers are small
 * (under 2 KB) for an MCU with 8 KB of RAM. The checks that exchange or
 * decode are left out with ICBU_REFLOW_NO_EXCHANGE / ICBU_REFLOW_NO_DECODER.
 * The decoder's two checks take 6 KB of JSON in their frame: where size_t is
 * 16 bits they are in an image built with FW_WIDTH_BIG alone, which has
 * them and nothing else (with 8 KB of RAM, it is built without the exchange).
 *
 * The long outputs are made from one short string, referred to many times by
 * an item_url_list: its n elements all point at it. The JSON's length for n
 * elements is measured at n = 1 and 2 (short enough for any size_t), and the
 * length for n follows in 32 bits; where it passes SIZE_MAX, the library must
 * say ICBU_E_NOSPACE with err.need = SIZE_MAX (saturated). */
#include <stddef.h>
#include <stdint.h>
#include "icbu_reflow.h"

#if defined(FW_WIDTH_BIG) && defined(ICBU_REFLOW_NO_DECODER)
#error "FW_WIDTH_BIG is the decoder's checks alone: build it with the decoder"
#endif

typedef void (*fw_say)(const char *line);

/* "ok name" or "FAIL name why v", with v in decimal (no printf). */
static int fw_w_report(fw_say say, const char *name, int ok, const char *why, uint32_t v) {
    char line[128], d[10];
    size_t k = 0, n = 0;
    const char *s = ok ? "ok " : "FAIL ";
    while (*s && k < 90) line[k++] = *s++;
    while (*name && k < 90) line[k++] = *name++;
    if (!ok) {
        line[k++] = ' ';
        while (*why && k < 80) line[k++] = *why++;
        line[k++] = ' ';
        do { d[n++] = (char)('0' + v % 10u); v /= 10u; } while (v);
        while (n) line[k++] = d[--n];
    }
    line[k] = 0;
    say(line);
    return !ok;
}

/* Whether a length of `want` bytes (32 bits) is past SIZE_MAX; what it must
 * read as in size_t (saturated). */
static int fw_w_past(uint32_t want) {
#if SIZE_MAX < 0xFFFFFFFFu
    return want > SIZE_MAX;
#else
    (void)want;
    return 0;
#endif
}

#ifndef FW_WIDTH_BIG
static size_t fw_w_sat(uint32_t want) { return fw_w_past(want) ? (size_t)-1 : (size_t)want; }

static int fw_w_same(const char *a, const char *b, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) if (a[i] != b[i] || !b[i]) return 0;
    return b[n] == 0;
}

/* The order of the long outputs: one goods item whose item_url_list has n
 * elements, each the same string of 192 control characters (\u0001 in JSON,
 * %5Cu0001 in the form: 6 and 8 bytes each). */
#define FW_W_URLS 64
typedef struct fw_w_big {
    icbu_order o;
    icbu_subject subject;
    icbu_goods goods;
    icbu_str urls[FW_W_URLS];
    char text[192];
} fw_w_big;

static void fw_w_big_build(fw_w_big *b, size_t n) {
    unsigned char *p = (unsigned char *)b;
    size_t i;
    for (i = 0; i < sizeof *b; i++) p[i] = 0;
    for (i = 0; i < sizeof b->text; i++) b->text[i] = 1;
    for (i = 0; i < FW_W_URLS; i++) b->urls[i] = icbu_sn(b->text, sizeof b->text);
    b->o.external_biz_id = icbu_s("12345");
    b->o.subject_matter_info = &b->subject;
    b->subject.goods_item_list.p = &b->goods;
    b->subject.goods_item_list.n = 1;
    b->goods.item_url_list.p = b->urls;
    b->goods.item_url_list.n = n;
}

static icbu_config fw_w_config(void) {
    icbu_config c;
    unsigned char *p = (unsigned char *)&c;
    size_t i;
    for (i = 0; i < sizeof c; i++) p[i] = 0;
    c.app_key = "12345678";
    c.app_secret = "helloworld";
    c.timestamp = icbu_d(2024, 1, 2, 3, 4, 5);
    return c;
}

/* The length of the big order's output (JSON, or the signed body) for n
 * elements, in 32 bits, from the lengths at n = 1 and 2; 0 if those fail. */
static uint32_t fw_w_len(fw_w_big *b, int signed_body, size_t n) {
    icbu_config c = fw_w_config();
    size_t l1 = 0, l2 = 0;
    icbu_status s1, s2;
    fw_w_big_build(b, 1);
    s1 = signed_body ? icbu_sign_body(&c, &b->o, NULL, 0, &l1, NULL) : icbu_order_json(&b->o, NULL, 0, &l1, NULL);
    fw_w_big_build(b, 2);
    s2 = signed_body ? icbu_sign_body(&c, &b->o, NULL, 0, &l2, NULL) : icbu_order_json(&b->o, NULL, 0, &l2, NULL);
    fw_w_big_build(b, n);
    if (s1 != ICBU_OK || s2 != ICBU_OK || l2 <= l1) return 0;
    return (uint32_t)l1 + (uint32_t)(n - 1) * (uint32_t)(l2 - l1);
}

/* The elements that make the output pass 65536 bytes by less than one
 * element, so that a length wrapped at 16 bits is shorter than one element. */
static size_t fw_w_just_past(fw_w_big *b, int signed_body, uint32_t *total) {
    uint32_t l1 = fw_w_len(b, signed_body, 1), d = fw_w_len(b, signed_body, 2) - l1;
    size_t n = (size_t)((65536u - l1) / d + 2u);
    *total = fw_w_len(b, signed_body, n);
    return n;
}

/* A sizing call past SIZE_MAX is ICBU_E_NOSPACE with need SIZE_MAX, never
 * ICBU_OK with the length wrapped; within size_t, ICBU_OK and the length. */
static int fw_w_sizing(fw_say say, const char *name, int signed_body) {
    fw_w_big b;
    icbu_config c = fw_w_config();
    icbu_err e;
    uint32_t want = fw_w_len(&b, signed_body, FW_W_URLS);
    size_t len = 0;
    icbu_status st = signed_body ? icbu_sign_body(&c, &b.o, NULL, 0, &len, &e)
                                 : icbu_order_json(&b.o, NULL, 0, &len, &e);
    if (!want) return fw_w_report(say, name, 0, "short sizing failed", 0);
    if (fw_w_past(want)) {
        if (st != ICBU_E_NOSPACE) return fw_w_report(say, name, 0, "past SIZE_MAX: status", (uint32_t)st);
        return fw_w_report(say, name, e.need == (size_t)-1, "past SIZE_MAX: need", (uint32_t)e.need);
    }
    if (st != ICBU_OK) return fw_w_report(say, name, 0, "status", (uint32_t)st);
    return fw_w_report(say, name, len == (size_t)want, "len", (uint32_t)len);
}
static int fw_w_json_sizing(fw_say say) { return fw_w_sizing(say, "json_sizing_past_size_max", 0); }
static int fw_w_body_sizing(fw_say say) { return fw_w_sizing(say, "body_sizing_past_size_max", 1); }

/* Into a buffer of 1.6 KB, an output of 64 KB and a little more is
 * ICBU_E_NOSPACE with its need (saturated), never ICBU_OK with the output's
 * last bytes written over its first (a length wrapped below cap). */
static int fw_w_buffer(fw_say say, const char *name, int signed_body) {
    fw_w_big b;
    icbu_config c = fw_w_config();
    icbu_err e;
    uint32_t want;
    size_t n = fw_w_just_past(&b, signed_body, &want), len = 0;
    char buf[1600];
    icbu_status st;
    if (n > FW_W_URLS || want <= sizeof buf) return fw_w_report(say, name, 0, "setup", (uint32_t)n);
    st = signed_body ? icbu_sign_body(&c, &b.o, buf, sizeof buf, &len, &e)
                     : icbu_order_json(&b.o, buf, sizeof buf, &len, &e);
    if (st != ICBU_E_NOSPACE) return fw_w_report(say, name, 0, "status", (uint32_t)st);
    return fw_w_report(say, name, e.need == fw_w_sat(want), "need", (uint32_t)e.need);
}
static int fw_w_json_buffer(fw_say say) { return fw_w_buffer(say, "json_buffer_past_64k", 0); }
static int fw_w_body_buffer(fw_say say) { return fw_w_buffer(say, "body_buffer_past_64k", 1); }

/* int64 extremes written exactly, digit for digit (32-bit steps). */
static int fw_w_int64(fw_say say) {
    icbu_order o;
    unsigned char *p = (unsigned char *)&o;
    char buf[96];
    size_t i, len = 0;
    static const char want[] = "{\"amount\":-9223372036854775808,\"insure_period\":65536,"
                               "\"premium\":9223372036854775807}";
    for (i = 0; i < sizeof o; i++) p[i] = 0;
    o.amount = icbu_n(INT64_MIN);
    o.insure_period = icbu_n(65536);
    o.premium = icbu_n(INT64_MAX);
    if (icbu_order_json(&o, buf, sizeof buf, &len, NULL) != ICBU_OK)
        return fw_w_report(say, "int64_written", 0, "status", 0);
    return fw_w_report(say, "int64_written", fw_w_same(buf, want, len), "len", (uint32_t)len);
}

/* Unix seconds to GMT+8 and back to text: 32-bit day and second arithmetic. */
static int fw_w_dates(fw_say say) {
    static const struct { int64_t t; const char *s; } v[] = {
        { 0, "1970-01-01 08:00:00" },
        { -1, "1970-01-01 07:59:59" },
        { 951782400, "2000-02-29 08:00:00" },
        { 2147483647, "2038-01-19 11:14:07" },
        { INT64_C(4294967296), "2106-02-07 14:28:16" },
        { INT64_C(-62167248000), "0000-01-01 00:00:00" },
        { INT64_C(253402271999), "9999-12-31 23:59:59" },
    };
    char out[20];
    unsigned i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        icbu_date d = icbu_date_from_unix(v[i].t);
        if (icbu_date_format(&d, out) != ICBU_OK || !fw_w_same(out, v[i].s, 19))
            return fw_w_report(say, "dates_from_unix", 0, "case", i);
    }
    return fw_w_report(say, "dates_from_unix", 1, "", 0);
}

#endif /* FW_WIDTH_BIG */

#if !defined(ICBU_REFLOW_NO_DECODER) && (SIZE_MAX > 0xFFFFu || defined(FW_WIDTH_BIG))
/* k empty goods, 6 KB of JSON (in this frame: see FW_WIDTH_BIG above) decoded: their
 * structs (33 bytes each on AVR) pass 64 KB where size_t is 16 bits, from
 * k = 1984 with the order's and subject's, from 1986 in the array alone.
 * A sizing call then says ICBU_E_NOSPACE with err.need SIZE_MAX (not
 * ICBU_OK with a need cut, nor err.need 0); elsewhere ICBU_OK, all counted. */
#define FW_W_GOODS 1986
static int fw_w_decode1(fw_say say, const char *name, unsigned k) {
    static const char head[] = "{\"subject_matter_info\":{\"goods_item_list\":[";
    char js[sizeof head - 1 + 3 * FW_W_GOODS + 2];
    const icbu_order *o;
    icbu_err e;
    size_t n = 0, used = 0;
    unsigned i;
    uint32_t least = (uint32_t)k * (uint32_t)sizeof(icbu_goods) + (uint32_t)sizeof(icbu_order) +
                     (uint32_t)sizeof(icbu_subject);
    icbu_status st;
    for (i = 0; head[i]; i++) js[n++] = head[i];
    for (i = 0; i < k; i++) { js[n++] = '{'; js[n++] = '}'; js[n++] = i + 1 < k ? ',' : ']'; }
    js[n++] = '}'; js[n++] = '}';
    st = icbu_decode_order(js, n, NULL, 0, &o, &used, &e);
    if (fw_w_past(least)) {
        if (st != ICBU_E_NOSPACE) return fw_w_report(say, name, 0, "status", (uint32_t)st);
        return fw_w_report(say, name, e.need == (size_t)-1 && used == (size_t)-1, "need", (uint32_t)e.need);
    }
    if (st != ICBU_OK) return fw_w_report(say, name, 0, "status", (uint32_t)st);
    return fw_w_report(say, name, used >= (size_t)least, "used", (uint32_t)used);
}
static int fw_w_decode_many(fw_say say) {
    return fw_w_decode1(say, "decode_need_past_64k", 1984) +
           fw_w_decode1(say, "decode_array_past_64k", FW_W_GOODS);
}
#endif

#if !defined(ICBU_REFLOW_NO_EXCHANGE) && !defined(FW_WIDTH_BIG)
/* A platform error's code past 16 and 32 bits, exactly. */
static int fw_w_code(fw_say say) {
    char body[] = "{\"error_response\":{\"code\":4294967296123,\"msg\":\"m\",\"sub_code\":\"isv.x\"}}";
    icbu_outcome o;
    if (icbu_parse_response(body, sizeof body - 1, &o, NULL) != ICBU_OK || o.kind != ICBU_PLATFORM_ERROR)
        return fw_w_report(say, "platform_code_int64", 0, "kind", (uint32_t)o.kind);
    return fw_w_report(say, "platform_code_int64", o.code.set && o.code.v == INT64_C(4294967296123) &&
                       icbu_fault_of(&o, NULL) == ICBU_FAULT_ORDER, "low bits", (uint32_t)o.code.v);
}

/* The in-memory transport of the checks below: answers a canned text, takes
 * whatever is sent, and a clock the sleeps move. */
typedef struct fw_w_io {
    const char *answer;
    size_t n, at;
    uint32_t now, slept[4];
    unsigned sleeps, opens;
} fw_w_io;
static long fw_w_send(void *ctx, const unsigned char *p, size_t n, uint32_t ms) {
    (void)ctx; (void)p; (void)ms;
    return (long)n;
}
static long fw_w_recv(void *ctx, unsigned char *p, size_t n, uint32_t ms) {
    fw_w_io *io = (fw_w_io *)ctx;
    size_t k = 0;
    (void)ms;
    while (k < n && io->at < io->n) p[k++] = (unsigned char)io->answer[io->at++];
    return (long)k;
}
static uint32_t fw_w_now(void *ctx) { return ((fw_w_io *)ctx)->now; }
static int fw_w_open(void *ctx, const icbu_url *u, uint32_t ms, icbu_stage *stage) {
    (void)u; (void)ms;
    ((fw_w_io *)ctx)->opens++;
    *stage = ICBU_STAGE_CONNECT;
    return -111;
}
static void fw_w_close(void *ctx) { (void)ctx; }
static void fw_w_sleep(void *ctx, uint32_t ms) {
    fw_w_io *io = (fw_w_io *)ctx;
    if (io->sleeps < 4) io->slept[io->sleeps] = ms;
    io->sleeps++;
    io->now += ms;
}
static uint32_t fw_w_random(void *ctx) { (void)ctx; return 0xFFFFFFFFu; }
static icbu_transport fw_w_transport(fw_w_io *io, const char *answer, size_t n) {
    icbu_transport t;
    unsigned char *p = (unsigned char *)&t, *q = (unsigned char *)io;
    size_t i;
    for (i = 0; i < sizeof t; i++) p[i] = 0;
    for (i = 0; i < sizeof *io; i++) q[i] = 0;
    io->answer = answer; io->n = n;
    t.ctx = io; t.send = fw_w_send; t.recv = fw_w_recv; t.now_ms = fw_w_now;
    t.open = fw_w_open; t.close = fw_w_close;
    return t;
}

/* Content-Length past 16 bits: an error that says so (larger than the buffer,
 * or past size_t), never a length cut to 16 bits. */
static int fw_w_content_length(fw_say say) {
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n{}";
    fw_w_io io;
    icbu_transport t = fw_w_transport(&io, answer, sizeof answer - 1);
    icbu_err e;
    icbu_str body;
    char buf[256];
    icbu_status st = icbu_http_read(&t, 1000, buf, sizeof buf, &body, &e);
    if (st == ICBU_E_HTTP_SIZE) return fw_w_report(say, "content_length_70000", (size_t)-1 < 70000u, "HTTP_SIZE", 0);
    if (st != ICBU_E_HTTP_TOOBIG) return fw_w_report(say, "content_length_70000", 0, "status", (uint32_t)st);
    return fw_w_report(say, "content_length_70000", e.need == fw_w_sat(70000u + (sizeof answer - 3)),
                       "need", (uint32_t)e.need);
}

/* An exchange whose signed body passes SIZE_MAX: ICBU_E_NOSPACE before
 * anything is sent, its need saturated (body + head + reserve), not wrapped. */
static int fw_w_exchange_need(fw_say say) {
    fw_w_big b;
    icbu_config c = fw_w_config();
    icbu_url u;
    fw_w_io io;
    icbu_transport t = fw_w_transport(&io, "", 0);
    icbu_outcome out;
    icbu_err e;
    char arena[1600];
    uint32_t want;
    icbu_status st;
    (void)fw_w_just_past(&b, 1, &want);
    if (icbu_url_parse("http://gw.example/router/rest", &u) != ICBU_OK)
        return fw_w_report(say, "exchange_need_past_64k", 0, "url", 0);
    st = icbu_exchange(&c, &b.o, &u, &t, 1000, arena, sizeof arena, &out, &e);
    if (st != ICBU_E_NOSPACE || out.kind != ICBU_NONE)
        return fw_w_report(say, "exchange_need_past_64k", 0, "status", (uint32_t)st);
    /* the body, the head (over 100 bytes) and the reserve: more than the body */
    return fw_w_report(say, "exchange_need_past_64k", e.need >= fw_w_sat(want + 100u) &&
                       (e.need == (size_t)-1 || e.need > fw_w_sat(want)), "need", (uint32_t)e.need);
}

/* Full jitter from a random 0xFFFFFFFF over spans of 100000, 200000 and
 * 400000 ms: 32-bit remainders, the exact pauses. */
static int fw_w_backoff(fw_say say) {
    fw_w_big b;
    icbu_config c = fw_w_config();
    icbu_url u;
    fw_w_io io;
    icbu_transport t = fw_w_transport(&io, "", 0);
    icbu_retry r;
    icbu_outcome out;
    char arena[1600];
    unsigned char *p = (unsigned char *)&r;
    size_t i;
    fw_w_big_build(&b, 1);
    for (i = 0; i < sizeof r; i++) p[i] = 0;
    r.attempts = 4; r.backoff_ms = 100000u; r.backoff_max_ms = 3000000u;
    r.ctx = &io; r.sleep_ms = fw_w_sleep; r.random = fw_w_random;
    (void)icbu_url_parse("http://gw.example/router/rest", &u);
    (void)icbu_report(&c, &b.o, &u, &t, &r, 0x7FFFFFFFu, arena, sizeof arena, &out, NULL);
    return fw_w_report(say, "backoff_32bit", io.opens == 4 && io.sleeps == 3 && io.slept[0] == 24346u &&
                       io.slept[1] == 145821u && io.slept[2] == 156558u && out.attempts == 4,
                       "slept[1]", io.slept[1]);
}
#endif

#ifdef FW_WIDTH_BIG
int fw_width_checks(fw_say say) { return fw_w_decode_many(say); }
#else
int fw_width_checks(fw_say say) {
    int fails = 0;
    fails += fw_w_int64(say);
    fails += fw_w_dates(say);
    fails += fw_w_json_sizing(say);
    fails += fw_w_body_sizing(say);
    fails += fw_w_json_buffer(say);
    fails += fw_w_body_buffer(say);
#if !defined(ICBU_REFLOW_NO_DECODER) && (SIZE_MAX > 0xFFFFu || defined(FW_WIDTH_BIG))
    fails += fw_w_decode_many(say);
#endif
#ifndef ICBU_REFLOW_NO_EXCHANGE
    fails += fw_w_code(say);
    fails += fw_w_content_length(say);
    fails += fw_w_exchange_need(say);
    fails += fw_w_backoff(say);
#endif
    return fails;
}
#endif
