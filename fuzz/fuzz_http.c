/* icbu_http_read over a memory transport.
 * Input: [cap_hi cap_lo] [flags] [k piece bytes] [the bytes the peer sends]
 *   cap   = 1 + (cap_hi << 8 | cap_lo) % 8192: the arena, heap-allocated to
 *           the byte so that ASan sees any write past it;
 *   flags = k (low 4 bits: 0..15 piece bytes); bit 4: give the transport a
 *           clock (each call advances it 1 ms, deadline 200 ms); bit 5: close
 *           with an error instead of 0 at the end of the input;
 *   piece bytes, used in turn: 255 is a timeout (ICBU_IO_TIMEOUT) once, 254
 *   a -5 error, anything else hands out up to b + 1 bytes. With no piece
 *   bytes every recv gets as much as it asks for.
 * Checks: recv is only asked for bytes inside the arena; on success the body
 * lies inside the arena; the status is the one recorded in the icbu_err; a
 * good body then goes through icbu_parse_response in place. */
#include "fuzz_common.h"

typedef struct mem_tr {
    const uint8_t *p;
    size_t n, at;
    const uint8_t *piece;
    size_t npiece, next;
    int err_at_end;
    uint32_t clock;
    const char *buf;
    size_t cap;
} mem_tr;

static long tr_recv(void *ctx, unsigned char *p, size_t n, uint32_t timeout_ms) {
    mem_tr *t = (mem_tr *)ctx;
    size_t k = n;
    (void)timeout_ms;
    FUZZ_CHECK(n > 0);
    FUZZ_CHECK((const char *)p >= t->buf && n <= t->cap && (size_t)((const char *)p - t->buf) <= t->cap - n);
    if (t->npiece) {
        uint8_t b = t->piece[t->next++ % t->npiece];
        if (b == 255) return ICBU_IO_TIMEOUT;
        if (b == 254) return -5;
        if (k > (size_t)b + 1) k = (size_t)b + 1;
    }
    if (t->at >= t->n) return t->err_at_end ? -104 : 0;
    if (k > t->n - t->at) k = t->n - t->at;
    memcpy(p, t->p + t->at, k);
    t->at += k;
    return (long)k;
}
static long tr_send(void *ctx, const unsigned char *p, size_t n, uint32_t timeout_ms) {
    (void)ctx; (void)p; (void)timeout_ms;
    return (long)n;
}
static uint32_t tr_now(void *ctx) { return ((mem_tr *)ctx)->clock++; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mem_tr m;
    icbu_transport t;
    icbu_err e;
    icbu_str body;
    icbu_status st;
    size_t cap, k;
    char *buf;
    if (size < 3) return 0;
    cap = 1 + (((size_t)data[0] << 8 | data[1]) % 8192);
    k = data[2] & 15;
    if (size < 3 + k) return 0;
    memset(&m, 0, sizeof m);
    m.piece = data + 3;
    m.npiece = k;
    m.p = data + 3 + k;
    m.n = size - 3 - k;
    m.err_at_end = (data[2] >> 5) & 1;
    buf = (char *)malloc(cap);
    FUZZ_CHECK(buf != NULL);
    m.buf = buf;
    m.cap = cap;
    memset(&t, 0, sizeof t);
    t.ctx = &m;
    t.recv = tr_recv;
    t.send = tr_send;
    t.now_ms = (data[2] & 16) ? tr_now : NULL;
    st = icbu_http_read(&t, 200, buf, cap, &body, &e);
    FUZZ_CHECK(st == e.status);
    FUZZ_CHECK(st < ICBU_STATUS_COUNT);
    if (st == ICBU_OK) {
        icbu_outcome out;
        icbu_err pe;
        icbu_status ps;
        FUZZ_CHECK(body.p != NULL);
        fuzz_inside(body, buf, cap);
        ps = icbu_parse_response((char *)(uintptr_t)body.p, body.n, &out, &pe);
        FUZZ_CHECK(ps == pe.status);
        if (ps == ICBU_OK) {
            FUZZ_CHECK(out.kind == ICBU_ACCEPTED || out.kind == ICBU_REFUSED || out.kind == ICBU_PLATFORM_ERROR);
            fuzz_inside(out.insure_id, body.p, body.n);
            fuzz_inside(out.request_id, body.p, body.n);
            fuzz_inside(out.msg, body.p, body.n);
        }
    } else {
        FUZZ_CHECK(body.p == NULL || st != ICBU_OK);
        if (st == ICBU_E_HTTP_STATUS) FUZZ_CHECK(e.detail >= 100 && e.detail <= 599);
    }
    free(buf);
    return 0;
}
