/* The HTTP reader and the answer parser alone (tools/firmware.py's reader
 * images): where the full client does not fit (ATmega2560: its 8 kB of SRAM),
 * what icbu_exchange does with an answer still runs there. icbu_url_parse of
 * the gateway's URL and of ports at the edges of 16 bits; then each canned
 * answer of fw_answers.h over the in-memory transport (fw_transport.c) through
 * icbu_http_read and icbu_parse_response; then answers whose Content-Length or
 * chunk size is at or past what a 16-bit size_t holds (65535), or a 32-bit one,
 * for the checker to hold to SIZE_MAX: past it, ICBU_E_HTTP_SIZE; up to it, too
 * big for the buffer with err.need saturated at SIZE_MAX. Nothing is sent; the
 * twin is the same program on the host.
 *
 * Output, one line each:
 *   fw begin NAME
 *   sizemax HEX16                  SIZE_MAX
 *   url CASE STATUS PORT           icbu_url_parse (PORT 0 when it fails)
 *   read CASE STATUS DETAIL NEED LEN   icbu_http_read: NEED (err.need) in 16 hex
 *                                  digits, LEN the body's
 *   answer CASE FIELDS             icbu_parse_response's outcome, as fw_main.c's
 *                                  outcome lines (status first; no attempts)
 *   fw end ok */
#include <stdint.h>
#include <string.h>
#include "icbu_reflow.h"
#include "fw_platform.h"
#include "fw_out.h"
#include "fw_answers.h"

#ifndef FW_NAME
#define FW_NAME "host"
#endif

static void field(const char *name, icbu_str s) {
    out(" "); out(name); out("=");
    if (s.p) fw_write(s.p, s.n); else out("-");
}

static char buf[1024];                  /* the answer; an edge case's is past it */
static char sent[16];                   /* nothing is sent */
static fw_link gw;

static void url(const char *name, const char *u) {
    icbu_url x;
    icbu_status st = icbu_url_parse(u, &x);
    out("url "); out(name); out(" "); out_u32((uint32_t)st); out(" ");
    out_u32(st == ICBU_OK ? x.port : 0u); out("\n");
}

static void answer(const char *name, const fw_answer *a) {
    const fw_answer *as[1];
    icbu_transport t;
    icbu_str body;
    icbu_outcome o;
    icbu_err e;
    icbu_status st;
    as[0] = a;
    memset(&e, 0, sizeof e);
    body.p = NULL; body.n = 0;
    fw_link_init(&gw, as, 1, sent, sizeof sent);
    fw_link_transport(&gw, &t);
    if (fw_link_connect(&gw) != 0) { out("fail connect 0\n"); return; }
    st = icbu_http_read(&t, 100000u, buf, sizeof buf, &body, &e);
    out("read "); out(name); out(" "); out_u32((uint32_t)st); out(" "); out_u32((uint32_t)e.detail);
    out(" "); out_hex64((uint64_t)e.need); out(" "); out_u32(st == ICBU_OK ? (uint32_t)body.n : 0u); out("\n");
    if (st != ICBU_OK) return;
    memset(&o, 0, sizeof o);
    st = icbu_parse_response(buf + (body.p - buf), body.n, &o, &e);   /* body is in buf */
    out("answer "); out(name);
    out(" status="); out_u32((uint32_t)st);
    out(" kind="); out_u32((uint32_t)o.kind);
    field("insure_id", o.insure_id);
    field("error_code", o.error_code);
    field("error_msg", o.error_msg);
    out(" code="); if (o.code.set) out_hex64((uint64_t)o.code.v); else out("-");
    field("msg", o.msg);
    field("sub_code", o.sub_code);
    field("sub_msg", o.sub_msg);
    field("request_id", o.request_id);
    out("\n");
}

/* Heads only, read to the close: the size is all that matters. */
#define FW_CL(v) { "HTTP/1.1 200 OK", "Content-Length: " #v "\r\n", "", FW_CLOSE }
#define FW_CHUNK(v) { "HTTP/1.1 200 OK", "Transfer-Encoding: chunked\r\n", #v "\r\nab", FW_CLOSE }
static const fw_answer cl_65535 = FW_CL(65535), cl_65536 = FW_CL(65536), cl_2p32 = FW_CL(4294967296),
                       ch_ffff = FW_CHUNK(ffff), ch_10000 = FW_CHUNK(10000), ch_2p32 = FW_CHUNK(100000000);

int main(void) {
    out("fw begin " FW_NAME "\n");
    out("sizemax "); out_hex64((uint64_t)SIZE_MAX); out("\n");
    url("gateway", FW_URL);
    url("port-65535", "http://gw.api.taobao.com:65535/router/rest");
    url("port-65536", "http://gw.api.taobao.com:65536/router/rest");
    url("port-2^32+80", "http://gw.api.taobao.com:4294967376/router/rest");
    answer("accepted", &fw_accepted);
    answer("refused", &fw_refused);
    answer("platform", &fw_platform);
    answer("busy", &fw_busy);
    answer("chunked", &fw_accepted_chunked);
    answer("cl-65535", &cl_65535);
    answer("cl-65536", &cl_65536);
    answer("cl-2^32", &cl_2p32);
    answer("chunk-ffff", &ch_ffff);
    answer("chunk-10000", &ch_10000);
    answer("chunk-100000000", &ch_2p32);
    out("fw end ok\n");
    fw_exit(1);
}
