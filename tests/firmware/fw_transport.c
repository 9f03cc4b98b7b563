/* The in-memory transport of the full-client firmware images: see
 * fw_transport.h. */
#include <string.h>
#include "fw_transport.h"

void fw_link_init(fw_link *l, const fw_answer *const *answers, unsigned n, char *sent, size_t cap) {
    memset(l, 0, sizeof *l);
    l->answers = answers;
    l->n_answers = n;
    l->sent = sent;
    l->sent_cap = cap;
}

/* Appends n bytes of p to l->in; 0 when they do not fit. */
static int put(fw_link *l, const char *p, size_t n) {
    if (n > sizeof l->in - l->in_len) return 0;
    memcpy(l->in + l->in_len, p, n);
    l->in_len += n;
    return 1;
}

static int put_str(fw_link *l, const char *s) { return put(l, s, strlen(s)); }

/* v in base 10 or 16, no leading zeros. */
static int put_num(fw_link *l, size_t v, unsigned base) {
    char d[20];
    unsigned n = 0;
    do { d[n++] = "0123456789abcdef"[v % base]; v /= base; } while (v);
    while (n)
        if (!put(l, &d[--n], 1)) return 0;
    return 1;
}

int fw_link_connect(fw_link *l) {
    const fw_answer *a;
    size_t len, at, k;
    int ok;
    l->in_len = l->in_pos = l->sent_len = 0;
    if (l->next >= l->n_answers) return -1;
    a = l->answers[l->next++];
    len = strlen(a->body);
    ok = put_str(l, a->status) && put_str(l, "\r\n") && put_str(l, a->headers);
    if (a->framing == FW_LENGTH)
        ok = ok && put_str(l, "Content-Length: ") && put_num(l, len, 10) && put_str(l, "\r\n");
    ok = ok && put_str(l, "\r\n");
    if (a->framing != FW_CHUNKED) return ok && put(l, a->body, len) ? 0 : -1;
    for (at = 0; ok && at < len; at += k) {
        k = len - at < FW_CHUNK_SIZE ? len - at : FW_CHUNK_SIZE;
        ok = put_num(l, k, 16) && put_str(l, "\r\n") && put(l, a->body + at, k) && put_str(l, "\r\n");
    }
    return ok && put_str(l, "0\r\n\r\n") ? 0 : -1;
}

static long link_send(void *ctx, const unsigned char *p, size_t n, uint32_t timeout_ms) {
    fw_link *l = (fw_link *)ctx;
    (void)timeout_ms;
    if (n > FW_SEND_MAX) n = FW_SEND_MAX;
    if (n > l->sent_cap - l->sent_len) {
        l->overflow++;
        return -5;
    }
    memcpy(l->sent + l->sent_len, p, n);
    l->sent_len += n;
    return (long)n;
}

static long link_recv(void *ctx, unsigned char *p, size_t n, uint32_t timeout_ms) {
    fw_link *l = (fw_link *)ctx;
    size_t left = l->in_len - l->in_pos;
    (void)timeout_ms;
    if (n > FW_RECV_CHUNK) n = FW_RECV_CHUNK;
    if (n > left) n = left;                 /* 0: the gateway closed */
    memcpy(p, l->in + l->in_pos, n);
    l->in_pos += n;
    return (long)n;
}

static uint32_t link_now(void *ctx) { return ((fw_link *)ctx)->clock++; }

static int link_open(void *ctx, const icbu_url *u, uint32_t timeout_ms, icbu_stage *stage) {
    fw_link *l = (fw_link *)ctx;
    (void)u; (void)timeout_ms;
    l->opens++;
    if (fw_link_connect(l) == 0) return 0;
    *stage = ICBU_STAGE_CONNECT;
    return -111;                            /* no answer left: connection refused */
}

static void link_close(void *ctx) { ((fw_link *)ctx)->closes++; }

void fw_link_transport(fw_link *l, icbu_transport *t) {
    memset(t, 0, sizeof *t);
    t->ctx = l;
    t->send = link_send;
    t->recv = link_recv;
    t->now_ms = link_now;
    t->open = link_open;
    t->close = link_close;
}

static void retry_sleep(void *ctx, uint32_t ms) {
    fw_link *l = (fw_link *)ctx;
    l->sleeps++;
    l->slept += ms;
}
static uint32_t retry_random(void *ctx) { return ((fw_link *)ctx)->random; }
static int64_t retry_now(void *ctx) { return ((fw_link *)ctx)->unix_now; }

void fw_link_retry(fw_link *l, icbu_retry *r, unsigned attempts, uint32_t random, int64_t unix_now) {
    memset(r, 0, sizeof *r);
    l->random = random;
    l->unix_now = unix_now;
    r->attempts = attempts;
    r->ctx = l;
    r->sleep_ms = retry_sleep;
    r->random = retry_random;
    r->unix_now = retry_now;
}
