/* Unit tests of the exchange: URL, request head, HTTP response reader over a
 * scripted transport, response parser, the whole exchange, and the order
 * decoder. Built once per hash back end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#if defined(ICBU_REFLOW_CRYPTO_CUSTOM) && (defined(__GNUC__) || defined(__clang__))
/* A hash engine whose context must sit on a 32-byte boundary (DMA, cache
 * lines): more than the 8 bytes the arena's structs need. tests/custom_hash.c
 * uses 256 bytes of it, as of the default context. */
typedef union test_hash_ctx { unsigned char b[256]; } __attribute__((aligned(32))) test_hash_ctx;
#define ICBU_REFLOW_CUSTOM_CTX test_hash_ctx
#endif
#define ICBU_REFLOW_IMPLEMENTATION
#include "icbu_reflow.h"
#include "example_order.h"

/* ------------------------------------------------------ scripted transport
 * recv hands out `in` in pieces of at most `step` bytes; then `end` (0 =
 * orderly close, negative = error). send collects into `sent`. */
typedef struct script {
    const char *in;
    size_t n, pos, step;
    long end;
    char sent[16384];
    size_t sent_n, send_step;
    long send_fail_after;        /* >= 0: fail once that many bytes were sent */
    long send_err;               /* what send then returns (0: -104, ECONNRESET) */
    uint32_t clock, tick;        /* now_ms advances by tick per call */
} script;

static long s_recv(void *ctx, unsigned char *p, size_t n, uint32_t ms) {
    script *s = (script *)ctx;
    size_t k = s->n - s->pos;
    (void)ms;
    if (!k) return s->end;
    if (k > s->step) k = s->step;
    if (k > n) k = n;
    memcpy(p, s->in + s->pos, k);
    s->pos += k;
    return (long)k;
}
static long s_send(void *ctx, const unsigned char *p, size_t n, uint32_t ms) {
    script *s = (script *)ctx;
    (void)ms;
    if (s->send_fail_after >= 0 && s->sent_n >= (size_t)s->send_fail_after) return s->send_err ? s->send_err : -104;
    if (s->send_step && n > s->send_step) n = s->send_step;
    if (n > sizeof s->sent - s->sent_n) n = sizeof s->sent - s->sent_n;
    memcpy(s->sent + s->sent_n, p, n);
    s->sent_n += n;
    return (long)n;
}
static long s_liar(void *ctx, unsigned char *p, size_t n, uint32_t ms) { (void)ctx; (void)p; (void)ms; return (long)n + 1; }
static long s_send_liar(void *ctx, const unsigned char *p, size_t n, uint32_t ms) { (void)ctx; (void)p; (void)ms; return (long)n + 1; }
static uint32_t s_now(void *ctx) { script *s = (script *)ctx; return s->clock += s->tick; }

static void script_init(script *s, icbu_transport *t, const char *in, size_t step) {
    memset(s, 0, sizeof *s);
    s->in = in; s->n = strlen(in); s->step = step; s->send_fail_after = -1;
    memset(t, 0, sizeof *t);                      /* keep_alive and any later field: 0 */
    t->ctx = s; t->send = s_send; t->recv = s_recv; t->now_ms = NULL;
}

static icbu_status http_read_str(const char *in, size_t step, char *buf, size_t cap, icbu_str *body, icbu_err *e) {
    script s;
    icbu_transport t;
    script_init(&s, &t, in, step);
    return icbu_http_read(&t, 1000, buf, cap, body, e);
}

#define OKBODY "{\"alibaba_finance_insurance_icbu_insure_order_callback_response\":{\"result\":{\"success\":true,\"insure_id\":\"111111\"},\"request_id\":\"r1\"}}"

/* -------------------------------------------------------------------- URL */
static void test_url(void **state) {
    icbu_url u;
    (void)state;
    assert_int_equal(icbu_url_parse("https://gw.api.taobao.com/router/rest", &u), ICBU_OK);
    assert_int_equal(u.https, 1); assert_int_equal(u.port, 443);
    assert_int_equal(u.host.n, 17); assert_memory_equal(u.host.p, "gw.api.taobao.com", 17);
    assert_int_equal(u.path.n, 12); assert_memory_equal(u.path.p, "/router/rest", 12);
    assert_int_equal(icbu_url_parse("HTTP://127.0.0.1:8080", &u), ICBU_OK);
    assert_int_equal(u.https, 0); assert_int_equal(u.port, 8080);
    assert_int_equal(u.path.n, 1); assert_memory_equal(u.path.p, "/", 1);
    assert_int_equal(icbu_url_parse("http://[::1]:81/a?b=c#frag", &u), ICBU_OK);
    assert_int_equal(u.host.n, 3); assert_memory_equal(u.host.p, "::1", 3);
    assert_int_equal(u.path.n, 6); assert_memory_equal(u.path.p, "/a?b=c", 6);
    assert_int_equal(icbu_url_parse("ftp://x/", &u), ICBU_E_URL);
    assert_int_equal(icbu_url_parse("http://", &u), ICBU_E_URL);
    assert_int_equal(icbu_url_parse("http://user@host/", &u), ICBU_E_URL);
    assert_int_equal(icbu_url_parse("http://host:0/", &u), ICBU_E_URL);
    assert_int_equal(icbu_url_parse("http://host:65536/", &u), ICBU_E_URL);
    assert_int_equal(icbu_url_parse("http://host:/", &u), ICBU_E_URL);
    assert_int_equal(icbu_url_parse("http://ho st/", &u), ICBU_E_URL);
    assert_int_equal(icbu_url_parse("http://host/a\r\nX: y", &u), ICBU_E_URL);
    assert_int_equal(icbu_url_parse("http://[::1/", &u), ICBU_E_URL);
    assert_int_equal(icbu_url_parse(NULL, &u), ICBU_E_ARG);
}

static void test_http_head(void **state) {
    icbu_url u;
    char buf[512];
    size_t n, need, cap;
    icbu_err e;
    const char *want = "POST /router/rest HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n"
                       "Content-Type: application/x-www-form-urlencoded;charset=UTF-8\r\n"
                       "Content-Length: 1234\r\nUser-Agent: icbu_reflow/" ICBU_REFLOW_VERSION "\r\n"
                       "Connection: close\r\n\r\n";
    (void)state;
    assert_int_equal(icbu_url_parse("https://127.0.0.1:8443/router/rest", &u), ICBU_OK);
    assert_int_equal(icbu_http_head(&u, 1234, NULL, 0, &need, NULL), ICBU_OK);
    assert_int_equal(need, strlen(want));
    assert_int_equal(icbu_http_head(&u, 1234, buf, sizeof buf, &n, NULL), ICBU_OK);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(buf, want, n);
    for (cap = 0; cap < need; cap++) {
        memset(buf, 0x5A, sizeof buf);
        assert_int_equal(icbu_http_head(&u, 1234, buf, cap, &n, &e), ICBU_E_NOSPACE);
        assert_int_equal(e.need, need);
        assert_int_equal((unsigned char)buf[cap], 0x5A);
    }
    assert_int_equal(icbu_url_parse("http://gw.api.taobao.com/router/rest", &u), ICBU_OK);
    assert_int_equal(icbu_http_head(&u, 0, buf, sizeof buf, &n, NULL), ICBU_OK);
    assert_memory_equal(buf, "POST /router/rest HTTP/1.1\r\nHost: gw.api.taobao.com\r\n", 53);
    /* the largest body length there can be, and one past it (SIZE_MAX, a length
       gone negative on 64 bits): not a negative Content-Length */
    assert_int_equal(icbu_http_head(&u, (size_t)(SIZE_MAX > INT64_MAX ? INT64_MAX : SIZE_MAX), buf, sizeof buf, &n, NULL), ICBU_OK);
    buf[n] = 0;
    assert_non_null(strstr(buf, SIZE_MAX > INT64_MAX ? "\r\nContent-Length: 9223372036854775807\r\n" : "\r\nContent-Length: 4294967295\r\n"));
    if (SIZE_MAX > INT64_MAX) {
        assert_int_equal(icbu_http_head(&u, (size_t)-1, buf, sizeof buf, &n, &e), ICBU_E_ARG);
        assert_int_equal(n, 0);
        assert_int_equal(icbu_http_head(&u, (size_t)INT64_MAX + 1, NULL, 0, &n, &e), ICBU_E_ARG);
    }
    assert_int_equal(icbu_url_parse("http://[::1]:81?x", &u), ICBU_OK);
    assert_int_equal(icbu_http_head(&u, 0, buf, sizeof buf, &n, NULL), ICBU_OK);
    assert_memory_equal(buf, "POST /?x HTTP/1.1\r\nHost: [::1]:81\r\n", 35);
    {   /* a URL filled in by hand is held to what icbu_url_parse accepts: no byte of the
           host or path may end a line or a token of the request (a host read with fgets
           keeps its "\n"), and a host is not empty; an empty path is "/" */
        static const char *const hosts[] = { "gw.api.taobao.com\n", "gw\r\nX-Evil: 1", "gw api", "gw\x7f", "" };
        static const char *const paths[] = { "/router/rest\r\nX-Evil: 1", "/a b", "/\t", "/\x01" };
        icbu_url h;
        size_t i;
        for (i = 0; i < sizeof hosts / sizeof hosts[0] + sizeof paths / sizeof paths[0]; i++) {
            assert_int_equal(icbu_url_parse("http://gw.api.taobao.com/router/rest", &h), ICBU_OK);
            if (i < sizeof hosts / sizeof hosts[0]) h.host = icbu_s(hosts[i]);
            else h.path = icbu_s(paths[i - sizeof hosts / sizeof hosts[0]]);
            memset(buf, 0x5A, sizeof buf);
            if (icbu_http_head(&h, 10, buf, sizeof buf, &n, &e) != ICBU_E_URL) fail_msg("case %u", (unsigned)i);
            assert_int_equal(e.status, ICBU_E_URL);
            assert_int_equal(n, 0);
            assert_int_equal(icbu_http_head(&h, 10, NULL, 0, &n, &e), ICBU_E_URL);  /* sizing too */
        }
        /* port 0, which icbu_url_parse refuses: no server listens there ("Host: gw:0") */
        assert_int_equal(icbu_url_parse("http://gw.api.taobao.com/router/rest", &h), ICBU_OK);
        h.port = 0;
        assert_int_equal(icbu_http_head(&h, 10, buf, sizeof buf, &n, &e), ICBU_E_URL);
        assert_int_equal(icbu_http_head(&h, 10, NULL, 0, &n, &e), ICBU_E_URL);
        assert_int_equal(icbu_url_parse("http://gw.api.taobao.com/router/rest", &h), ICBU_OK);
        h.path = icbu_sn("/x", 0);
        assert_int_equal(icbu_http_head(&h, 0, buf, sizeof buf, &n, &e), ICBU_OK);
        assert_memory_equal(buf, "POST / HTTP/1.1\r\n", 17);
    }
}

/* --------------------------------------------------------- HTTP responses */
static void test_http_content_length(void **state) {
    char buf[1024];
    icbu_str b;
    icbu_err e;
    size_t step;
    (void)state;
    for (step = 1; step <= 64; step *= 2) {
        assert_int_equal(http_read_str("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-LENGTH:  5 \r\n\r\nhelloEXTRA",
                                       step, buf, sizeof buf, &b, &e), ICBU_OK);
        assert_int_equal(b.n, 5);
        assert_memory_equal(b.p, "hello", 5);
    }
    assert_int_equal(http_read_str("HTTP/1.0 200\r\nContent-Length: 0\r\n\r\n", 3, buf, sizeof buf, &b, &e), ICBU_OK);
    assert_int_equal(b.n, 0);
    /* the same length twice is fine, two different ones are not */
    assert_int_equal(http_read_str("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", 7, buf, sizeof buf, &b, &e), ICBU_OK);
    assert_int_equal(http_read_str("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!", 7, buf, sizeof buf, &b, &e), ICBU_E_HTTP_FRAMING);
}

/* A peer that sends trailer fields without end: recv answers forever. */
/* head, then line (a trailer field when NULL) again and again */
typedef struct endless { const char *head, *line; size_t pos, hn; unsigned long served; } endless;
static long e_recv(void *ctx, unsigned char *p, size_t n, uint32_t ms) {
    endless *x = (endless *)ctx;
    const char *line = x->line ? x->line : "X-Trailer: 0123456789abcdef0123456789abcdef\r\n";
    size_t k = 0, ln = strlen(line);
    (void)ms;
    if (++x->served > 100000) return -1;              /* the reader never stopped: fail loudly */
    while (k < n && x->pos < x->hn) p[k++] = (unsigned char)x->head[x->pos++];
    while (k < n) { p[k] = (unsigned char)line[(x->pos - x->hn) % ln]; x->pos++; k++; }
    return (long)k;
}
/* Trailer fields count against the arena as header fields do: HTTP_TOOBIG. */
static void test_http_trailers_bounded(void **state) {
    char buf[512];
    icbu_str b;
    icbu_err e;
    endless x;
    icbu_transport t;
    (void)state;
    memset(&x, 0, sizeof x);
    x.head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n";
    x.hn = strlen(x.head);
    memset(&t, 0, sizeof t);
    t.ctx = &x; t.recv = e_recv;                    /* no clock: nothing else would stop it */
    assert_int_equal(icbu_http_read(&t, 1000, buf, sizeof buf, &b, &e), ICBU_E_HTTP_TOOBIG);
    assert_true(x.served < 100);
    assert_true(e.need > sizeof buf);
    assert_null(b.p);
}

static void expect_http(const char *in, size_t cap, icbu_status want);

/* Interim (1xx) answers before the final one are read and dropped (RFC 9110
 * 15.2), counted against the arena; 101 is not one of them. */
static void test_http_interim(void **state) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    static const char hints[] = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n";
    char buf[1024], in[512];
    icbu_str b;
    icbu_err e;
    size_t step;
    endless x;
    icbu_transport t;
    icbu__reply rp;
    (void)state;
    snprintf(in, sizeof in, "%s%sHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", cont, hints);
    for (step = 1; step <= 128; step++) {
        assert_int_equal(http_read_str(in, step, buf, sizeof buf, &b, &e), ICBU_OK);
        assert_int_equal(b.n, 2);
        assert_memory_equal(b.p, "{}", 2);
    }
    snprintf(in, sizeof in, "%sHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", hints);
    assert_int_equal(http_read_str(in, 7, buf, sizeof buf, &b, &e), ICBU_OK);
    assert_int_equal(b.n, 2);
    {   /* framed after an interim answer: the connection stays reusable; what arrived counts it */
        script s;
        script_init(&s, &t, in, 7);
        assert_int_equal(icbu__http_read(&t, 1000, buf, sizeof buf, &rp, &e), ICBU_OK);
        assert_int_equal(rp.reusable, 1);
        script_init(&s, &t, cont, 7);
        assert_int_equal(icbu__http_read(&t, 1000, buf, sizeof buf, &rp, &e), ICBU_E_HTTP_TRUNCATED);
        assert_int_equal(rp.got, strlen(cont));
    }
    /* the need counts the dropped heads: exact with Content-Length */
    snprintf(in, sizeof in, "%sHTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n", cont);
    assert_int_equal(http_read_str(in, 64, buf, 200, &b, &e), ICBU_E_HTTP_TOOBIG);
    assert_int_equal(e.need, strlen(in) + 300);
    /* the interim heads are checked as heads; a 101 is a status like any other */
    expect_http("HTTP/1.1 100 Continue\r\nX-A 1\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/1.1 100 Continue\r\n\nHTTP/1.1 200 OK\r\n\r\n{}", 512, ICBU_E_HTTP_SYNTAX);
    assert_int_equal(http_read_str("HTTP/1.1 101 Switching Protocols\r\n\r\nHTTP/1.1 200 OK\r\n\r\n{}", 5, buf,
                                   sizeof buf, &b, &e), ICBU_E_HTTP_STATUS);
    assert_int_equal(e.detail, 101);
    /* 100 Continue without end, and no clock: the arena bounds it */
    memset(&x, 0, sizeof x);
    x.head = ""; x.line = cont;
    memset(&t, 0, sizeof t);
    t.ctx = &x; t.recv = e_recv;
    assert_int_equal(icbu_http_read(&t, 1000, buf, 512, &b, &e), ICBU_E_HTTP_TOOBIG);
    assert_true(x.served < 100);
    assert_true(e.need > 512);
}

static void test_http_chunked(void **state) {
    char buf[1024];
    icbu_str b;
    icbu_err e;
    size_t step;
    const char *in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
                     "5;name=value\r\nhello\r\n1\r\n \r\nA \r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n";
    (void)state;
    for (step = 1; step <= 128; step++) {
        assert_int_equal(http_read_str(in, step, buf, sizeof buf, &b, &e), ICBU_OK);
        assert_int_equal(b.n, 16);
        assert_memory_equal(b.p, "hello 0123456789", 16);
    }
    /* the smallest arena that holds it: the head plus the undecoded chunks in flight */
    assert_int_equal(http_read_str(in, 1, buf, 90, &b, &e), ICBU_OK);
    assert_int_equal(http_read_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 4, buf, sizeof buf, &b, &e), ICBU_OK);
    assert_int_equal(b.n, 0);
}

static void test_http_close_delimited(void **state) {
    char buf[1024];
    icbu_str b;
    icbu_err e;
    (void)state;
    assert_int_equal(http_read_str("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n" OKBODY, 10, buf, sizeof buf, &b, &e), ICBU_OK);
    assert_int_equal(b.n, strlen(OKBODY));
    assert_memory_equal(b.p, OKBODY, b.n);
}

static void expect_http(const char *in, size_t cap, icbu_status want) {
    char *buf = (char *)malloc(cap + 64);
    icbu_str b;
    icbu_err e;
    size_t step, k;
    assert_non_null(buf);
    for (step = 1; step <= 37; step += 9) {
        memset(buf, 0x3C, cap + 64);
        assert_int_equal(http_read_str(in, step, buf, cap, &b, &e), want);
        assert_int_equal(e.status, want);
        assert_null(b.p);
        for (k = cap; k < cap + 64; k++) assert_int_equal((unsigned char)buf[k], 0x3C);
    }
    free(buf);
}

static void test_http_refusals(void **state) {
    char buf[256];
    icbu_str b;
    icbu_err e;
    (void)state;
    expect_http("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 512, ICBU_E_HTTP_FRAMING);
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 512, ICBU_E_HTTP_FRAMING);
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 512, ICBU_E_HTTP_FRAMING);
    expect_http("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", 512, ICBU_E_HTTP_SIZE);
    expect_http("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 512, ICBU_E_HTTP_SIZE);
    expect_http("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", 512, ICBU_E_HTTP_SIZE);
    expect_http("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999999\r\n\r\n", 512, ICBU_E_HTTP_SIZE);
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n", 512, ICBU_E_HTTP_SIZE);
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 512, ICBU_E_HTTP_SIZE);
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 512, ICBU_E_HTTP_SIZE);
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffff\r\nabc", 512, ICBU_E_HTTP_TOOBIG);
    expect_http("HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n", 512, ICBU_E_HTTP_FOLDED);
    expect_http("HTTP/1.1 200 OK\r\nX-A: 1\r\n\tfolded\r\n\r\n", 512, ICBU_E_HTTP_FOLDED);
    /* trailer lines are field lines too: name ":" value, not folded */
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nHTTP/1.1 200 OK\r\n\r\n", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n: v\r\n\r\n", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: 1\r\n more\r\n\r\n", 512, ICBU_E_HTTP_FOLDED);
    expect_http("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc", 512, ICBU_E_HTTP_TOOBIG);
    expect_http("HTTP/1.1 200 OK\r\nX-Big: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n", 64, ICBU_E_HTTP_TOOBIG);
    expect_http("HTTP/1.1 200 OK\r\n\r\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64, ICBU_E_HTTP_TOOBIG);
    expect_http("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 512, ICBU_E_HTTP_TRUNCATED);
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 512, ICBU_E_HTTP_TRUNCATED);
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n", 512, ICBU_E_HTTP_TRUNCATED);
    expect_http("HTTP/1.1 200 OK\r\nContent-", 512, ICBU_E_HTTP_TRUNCATED);
    expect_http("", 512, ICBU_E_HTTP_TRUNCATED);
    expect_http("HTTP/1.1 200 OK\r\nX-A 1\r\n\r\n", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/1.1 200 OK\r\n: 1\r\n\r\n", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/1.1 200 OK\r\nX-A\n: 1\r\n\r\n", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/2 200 OK\r\n\r\n", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/1.1 20 OK\r\n\r\n", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("SSH-2.0-OpenSSH\r\n\r\n", 512, ICBU_E_HTTP_SYNTAX);
    /* lines end in CRLF: a bare LF or CR in the head is malformed, not a head still to come */
    expect_http("HTTP/1.1 200 OK\nContent-Length: 2\n\n{}", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/1.1 200 OK\r\nContent-Length: 2\n\n{}", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/1.1 200 OK\r\n\n", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/1.1 200 OK\r\r\n\r\n", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\r\n", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("\n", 512, ICBU_E_HTTP_SYNTAX);
    /* and in a chunk's size line or a trailer, even as the last byte before the peer closes */
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\n", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\n", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\n", 512, ICBU_E_HTTP_SYNTAX);
    expect_http("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\r", 512, ICBU_E_HTTP_SYNTAX);
    /* statuses other than 200 are reported */
    assert_int_equal(http_read_str("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 5, buf, sizeof buf, &b, &e), ICBU_E_HTTP_STATUS);
    assert_int_equal(e.detail, 503);
    assert_int_equal(http_read_str("HTTP/1.1 404 Not Found\r\n\r\n", 5, buf, sizeof buf, &b, &e), ICBU_E_HTTP_STATUS);
    assert_int_equal(e.detail, 404);
}

static void test_http_transport_errors(void **state) {
    script s;
    icbu_transport t;
    char buf[256];
    icbu_str b;
    icbu_err e;
    (void)state;
    script_init(&s, &t, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 4);
    s.end = -104;                                          /* ECONNRESET */
    assert_int_equal(icbu_http_read(&t, 1000, buf, sizeof buf, &b, &e), ICBU_E_RECV);
    assert_int_equal(e.detail, -104);
    script_init(&s, &t, "HTTP/1.1 200 OK\r\n", 4);
    s.end = ICBU_IO_TIMEOUT;
    assert_int_equal(icbu_http_read(&t, 1000, buf, sizeof buf, &b, &e), ICBU_E_TIMEOUT);
    {   /* a NUL in the head (the script hands out bytes past it) */
        static const char nul[] = "HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n";
        script_init(&s, &t, nul, 4);
        s.n = sizeof nul - 1;
        assert_int_equal(icbu_http_read(&t, 1000, buf, sizeof buf, &b, &e), ICBU_E_HTTP_SYNTAX);
    }
    /* a bare LF is refused when it arrives, not after waiting for a CRLF CRLF that never comes */
    script_init(&s, &t, "HTTP/1.1 200 OK\nContent-Length: 2\n\n{}", 4);
    s.end = ICBU_IO_TIMEOUT;
    assert_int_equal(icbu_http_read(&t, 1000, buf, sizeof buf, &b, &e), ICBU_E_HTTP_SYNTAX);
    assert_true(s.pos < s.n);
    /* the deadline, by the clock callback */
    script_init(&s, &t, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcdefghij", 1);
    t.now_ms = s_now; s.tick = 10;
    assert_int_equal(icbu_http_read(&t, 200, buf, sizeof buf, &b, &e), ICBU_E_TIMEOUT);
    script_init(&s, &t, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcdefghij", 64);
    t.now_ms = s_now; s.tick = 10;
    assert_int_equal(icbu_http_read(&t, 200, buf, sizeof buf, &b, &e), ICBU_OK);
    assert_int_equal(icbu_http_read(NULL, 200, buf, sizeof buf, &b, &e), ICBU_E_ARG);
    /* a transport that claims more bytes than it was asked for is not believed */
    script_init(&s, &t, "HTTP/1.1 200 OK\r\n\r\n", 64);
    t.recv = s_liar;
    assert_int_equal(icbu_http_read(&t, 1000, buf, 16, &b, &e), ICBU_E_RECV);
    assert_int_equal(e.detail, 17);
}

/* HTTP_TOOBIG's e.need: the size needed when Content-Length says it, else at
 * least what the arena lacked (never past what would do), saturated rather
 * than wrapped. */
static void test_http_need(void **state) {
    char buf[1024], in[256];
    icbu_str b;
    icbu_err e;
    size_t cap, smallest = 0;
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    const char *chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5;name=value\r\nhello\r\n1\r\n \r\nA \r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n";
    (void)state;
    assert_int_equal(http_read_str(head, 64, buf, 512, &b, &e), ICBU_E_HTTP_TOOBIG);
    assert_int_equal(e.need, strlen(head) + 1000);
    /* a head that fills the arena: one byte more at least */
    assert_int_equal(http_read_str("HTTP/1.1 200 OK\r\nX-Big: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
                                   64, buf, 64, &b, &e), ICBU_E_HTTP_TOOBIG);
    assert_int_equal(e.need, 65);
    /* sizes at the top of size_t: need saturates */
    snprintf(in, sizeof in, "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\n\r\n", (unsigned long long)(size_t)-1);
    assert_int_equal(http_read_str(in, 64, buf, 512, &b, &e), ICBU_E_HTTP_TOOBIG);
    assert_true(e.need == (size_t)-1);
    snprintf(in, sizeof in, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%llx\r\nabc",
             (unsigned long long)(size_t)-1);
    assert_int_equal(http_read_str(in, 64, buf, 512, &b, &e), ICBU_E_HTTP_TOOBIG);
    assert_true(e.need == (size_t)-1);
    /* chunked, at every arena size: below the smallest that works, TOOBIG with
     * cap < need <= that smallest size */
    for (cap = 1; cap < sizeof buf && !smallest; cap++)
        if (http_read_str(chunked, 1, buf, cap, &b, &e) == ICBU_OK) smallest = cap;
    assert_int_equal(smallest, 79);        /* head 47, body 16, the longest line after it 16 */
    for (cap = 1; cap < smallest; cap++) {
        assert_int_equal(http_read_str(chunked, 1, buf, cap, &b, &e), ICBU_E_HTTP_TOOBIG);
        assert_true(e.need > cap && e.need <= smallest);
    }
}

/* --------------------------------------------------------- response parser */
static void parse(const char *json, icbu_status want, icbu_outcome *o, icbu_err *e, char *copy) {
    icbu_status st;
    strcpy(copy, json);
    st = icbu_parse_response(copy, strlen(copy), o, e);
    if (st != want) fail_msg("%s: got %s, want %s", json, icbu_strerror(st), icbu_strerror(want));
}
#define SEQ(s, lit) do { assert_int_equal((s).n, strlen(lit)); assert_memory_equal((s).p, lit, (s).n); } while (0)

static void test_response_parser(void **state) {
    char buf[2048];
    icbu_outcome o;
    icbu_err e;
    (void)state;
    parse(OKBODY, ICBU_OK, &o, &e, buf);
    assert_int_equal(o.kind, ICBU_ACCEPTED); SEQ(o.insure_id, "111111"); SEQ(o.request_id, "r1");
    assert_null(o.error_code.p);
    /* simplify=true: no wrapper; unknown fields and nested values skipped */
    parse(" {\"x\":{\"y\":[1,2.5e3,{\"z\":null}],\"w\":\"\\u00e9\"},\"result\":{\"success\":true,\"insure_id\":\"A\\\"\\u4e2d\\ud83d\\ude00\",\"more\":[]},\"request_id\":\"q\"} ",
          ICBU_OK, &o, &e, buf);
    assert_int_equal(o.kind, ICBU_ACCEPTED);
    SEQ(o.insure_id, "A\"\xe4\xb8\xad\xf0\x9f\x98\x80"); SEQ(o.request_id, "q");
    parse("{\"alibaba_finance_insurance_icbu_insure_order_callback_response\":{\"result\":{\"success\":false,\"error_code\":\"SYSTEM_ERROR\",\"error_msg\":\"\\u7cfb\\u7edf\"},\"request_id\":\"r2\"}}",
          ICBU_OK, &o, &e, buf);
    assert_int_equal(o.kind, ICBU_REFUSED); SEQ(o.error_code, "SYSTEM_ERROR"); SEQ(o.error_msg, "\xe7\xb3\xbb\xe7\xbb\x9f");
    SEQ(o.request_id, "r2");
    parse("{\"error_response\":{\"code\":25,\"msg\":\"Invalid signature\",\"sub_code\":\"isv.invalid-signature\",\"sub_msg\":\"\\u975e\\u6cd5\",\"request_id\":\"r3\"}}",
          ICBU_OK, &o, &e, buf);
    assert_int_equal(o.kind, ICBU_PLATFORM_ERROR); assert_int_equal(o.code.set, 1); assert_int_equal(o.code.v, 25);
    SEQ(o.msg, "Invalid signature"); SEQ(o.sub_code, "isv.invalid-signature"); SEQ(o.sub_msg, "\xe9\x9d\x9e\xe6\xb3\x95");
    SEQ(o.request_id, "r3");
    parse("{\"error_response\":{\"code\":7,\"msg\":\"App Call Limited\"}}", ICBU_OK, &o, &e, buf);
    assert_int_equal(o.kind, ICBU_PLATFORM_ERROR); assert_int_equal(o.code.v, 7); assert_null(o.sub_code.p);
    /* malformed: the offset is reported */
    parse("{\"alibaba_finance_insurance_icbu_insure_order_callback_response\":{\"result\":{\"success\":tru", ICBU_E_JSON, &o, &e, buf);
    assert_int_equal(e.offset, 86);                      /* python json: "char 86" */
    parse("{\"result\":{\"success\":true},}", ICBU_E_JSON, &o, &e, buf);
    assert_int_equal(e.offset, 27);
    parse("<html>502</html>", ICBU_E_JSON, &o, &e, buf);
    assert_int_equal(e.offset, 0);
    parse("", ICBU_E_JSON, &o, &e, buf);
    parse("{\"result\":{\"success\":true}} x", ICBU_E_TRAILING, &o, &e, buf);
    assert_int_equal(e.offset, 28);
    parse("{\"result\":{\"success\":\"yes\"}}", ICBU_E_TYPE, &o, &e, buf);
    assert_string_equal(e.path, "result.success");
    parse("{\"result\":{\"insure_id\":\"1\"}}", ICBU_E_RESPONSE, &o, &e, buf);
    parse("{\"request_id\":\"1\"}", ICBU_E_RESPONSE, &o, &e, buf);
    parse("{\"result\":{\"success\":true,\"success\":false}}", ICBU_E_DUPLICATE, &o, &e, buf);
    assert_string_equal(e.path, "result.success");
    parse("{\"result\":{\"success\":true,\"insure_id\":\"\\ud800\"}}", ICBU_E_UTF8, &o, &e, buf);
    parse("{\"result\":{\"success\":true,\"insure_id\":\"\xff\"}}", ICBU_E_UTF8, &o, &e, buf);
    parse("{\"result\":{\"success\":true,\"insure_id\":\"a\x01\"}}", ICBU_E_JSON, &o, &e, buf);
    parse("{\"error_response\":{\"code\":2.5}}", ICBU_E_NUMBER, &o, &e, buf);
    parse("{\"error_response\":{\"code\":99999999999999999999}}", ICBU_E_NUMBER, &o, &e, buf);
}

static void test_response_depth(void **state) {
    char buf[400];
    icbu_outcome o;
    icbu_err e;
    int i;
    (void)state;
    /* nesting up to the bound is skipped, past it refused */
    strcpy(buf, "{\"x\":");
    for (i = 0; i < ICBU_JSON_MAX_DEPTH - 1; i++) strcat(buf, "[");
    for (i = 0; i < ICBU_JSON_MAX_DEPTH - 1; i++) strcat(buf, "]");
    strcat(buf, ",\"result\":{\"success\":true}}");
    assert_int_equal(icbu_parse_response(buf, strlen(buf), &o, &e), ICBU_OK);
    strcpy(buf, "{\"x\":");
    for (i = 0; i < ICBU_JSON_MAX_DEPTH; i++) strcat(buf, "[");
    for (i = 0; i < ICBU_JSON_MAX_DEPTH; i++) strcat(buf, "]");
    strcat(buf, "}");
    assert_int_equal(icbu_parse_response(buf, strlen(buf), &o, &e), ICBU_E_DEPTH);
    strcpy(buf, "{\"x\":");
    memset(buf + 5, '[', 300); buf[305] = 0;
    assert_int_equal(icbu_parse_response(buf, strlen(buf), &o, &e), ICBU_E_DEPTH);
    memset(buf, '[', 300); buf[300] = 0;
    assert_int_equal(icbu_parse_response(buf, strlen(buf), &o, &e), ICBU_E_DEPTH);
    strcpy(buf, "[[]]");
    assert_int_equal(icbu_parse_response(buf, strlen(buf), &o, &e), ICBU_E_TYPE);   /* not an object */
    strcpy(buf, "\"<html>\"");
    assert_int_equal(icbu_parse_response(buf, strlen(buf), &o, &e), ICBU_E_TYPE);
    strcpy(buf, "{\"a\":");
    memset(buf + 5, '{', 200); buf[205] = 0;
    assert_int_equal(icbu_parse_response(buf, strlen(buf), &o, &e), ICBU_E_JSON);
}

/* ---------------------------------------------------------------- exchange */
static int contains(const char *hay, size_t n, const char *needle) {
    size_t k = strlen(needle), i;
    for (i = 0; i + k <= n; i++) if (memcmp(hay + i, needle, k) == 0) return 1;
    return 0;
}

static void exchange_config(icbu_config *c) {
    memset(c, 0, sizeof *c);
    c->app_key = "12345678"; c->app_secret = "helloworld"; c->sign_method = ICBU_SIGN_HMAC_SHA256;
    c->timestamp = icbu_d(2026, 11, 28, 12, 0, 0);
}

static void test_exchange(void **state) {
    example_order x;
    icbu_config c;
    icbu_url u;
    script s;
    icbu_transport t;
    icbu_outcome o;
    icbu_err e;
    static char arena[8192];
    char body[4096];
    size_t blen;
    (void)state;
    example_order_build(&x);
    exchange_config(&c);
    assert_int_equal(icbu_url_parse("http://127.0.0.1:8080/router/rest", &u), ICBU_OK);
    script_init(&s, &t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 132\r\n\r\n" OKBODY, 7);
    s.send_step = 100;
    assert_int_equal(strlen(OKBODY), 132);
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, sizeof arena, &o, &e), ICBU_OK);
    assert_int_equal(o.kind, ICBU_ACCEPTED);
    SEQ(o.insure_id, "111111");
    /* what was sent: the head, then exactly the signed body */
    assert_int_equal(icbu_sign_body(&c, &x.o, body, sizeof body, &blen, NULL), ICBU_OK);
    assert_true(s.sent_n > blen);
    assert_memory_equal(s.sent, "POST /router/rest HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n", 50);
    assert_memory_equal(s.sent + s.sent_n - blen, body, blen);
    assert_false(contains(s.sent, s.sent_n, "helloworld"));          /* never the secret */
    {   /* nor in the arena, where the signature's state was kept: not the secret, not its key blocks */
        char pad[2][11] = { "", "" };
        int j;
        for (j = 0; j < 10; j++) {                            /* no byte of either is 0 */
            pad[0][j] = (char)("helloworld"[j] ^ 0x36);
            pad[1][j] = (char)("helloworld"[j] ^ 0x5c);
        }
        icbu__call k;
        const icbu__reserve *res;
        const unsigned char *sg;
        size_t room, i, nz = 0;
        assert_false(contains(arena, sizeof arena, "helloworld"));
        assert_false(contains(arena, sizeof arena, pad[0]));
        assert_false(contains(arena, sizeof arena, pad[1]));
        /* the signer (its hash context had the key block in it) is wiped where it was kept */
        k.arena = arena; k.cap = sizeof arena;
        res = icbu__reserve_of(&k, &room);
        assert_non_null(res);
        assert_true(room + sizeof *res <= sizeof arena && room + ICBU__RESERVE >= sizeof arena);
        sg = (const unsigned char *)&res->s.sg;
        for (i = 0; i < sizeof res->s.sg; i++) nz += sg[i] != 0;
        assert_int_equal(nz, 0);
    }
    /* failures name their stage */
    script_init(&s, &t, "HTTP/1.1 500 Oops\r\n\r\n", 64);
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, sizeof arena, &o, &e), ICBU_E_HTTP_STATUS);
    assert_int_equal(o.kind, ICBU_TRANSPORT_ERROR); assert_int_equal(o.stage, ICBU_STAGE_HTTP);
    assert_int_equal(o.detail, 500);
    assert_string_equal(icbu_stage_name(o.stage), "http");
    script_init(&s, &t, "", 64);
    s.send_fail_after = 10;
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, sizeof arena, &o, &e), ICBU_E_SEND);
    assert_int_equal(o.stage, ICBU_STAGE_SEND); assert_int_equal(o.detail, -104);
    /* a timeout while sending is "send": nothing was asked of the gateway yet */
    script_init(&s, &t, "", 64);
    s.send_fail_after = 10; s.send_err = ICBU_IO_TIMEOUT;
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, sizeof arena, &o, &e), ICBU_E_TIMEOUT);
    assert_int_equal(o.stage, ICBU_STAGE_SEND);
    assert_string_equal(icbu_stage_name(o.stage), "send");
    {   /* every stage's name, and one for a value that is none */
        static const char *const names[] = { "none", "connect", "tls", "send", "receive", "http", "parse" };
        int k;
        for (k = 0; k <= (int)ICBU_STAGE_PARSE; k++) assert_string_equal(icbu_stage_name((icbu_stage)k), names[k]);
        assert_string_equal(icbu_stage_name((icbu_stage)(ICBU_STAGE_PARSE + 1)), "unknown");
        assert_string_equal(icbu_stage_name((icbu_stage)-1), "unknown");
    }
    script_init(&s, &t, "HTTP/1.1 200 OK\r\n\r\n" OKBODY, 64);
    s.send_step = 100;
    t.now_ms = s_now; s.tick = 400;                        /* the deadline passes mid-send */
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 1000, arena, sizeof arena, &o, &e), ICBU_E_TIMEOUT);
    assert_int_equal(o.stage, ICBU_STAGE_SEND);
    assert_int_equal(s.pos, 0);
    /* a transport that claims to have sent more than it was given is not believed */
    script_init(&s, &t, "", 64);
    t.send = s_send_liar;
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, sizeof arena, &o, &e), ICBU_E_SEND);
    assert_int_equal(o.stage, ICBU_STAGE_SEND);
    assert_true(o.detail > 0);
    /* while receiving, it is "receive" */
    script_init(&s, &t, "HTTP/1.1 200 OK\r\n", 64);
    s.end = ICBU_IO_TIMEOUT;
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, sizeof arena, &o, &e), ICBU_E_TIMEOUT);
    assert_int_equal(o.stage, ICBU_STAGE_RECEIVE);
    /* with a clock, a timeout beyond 2^31 - 1 ms is refused, not taken as already past */
    script_init(&s, &t, "HTTP/1.1 200 OK\r\n\r\n" OKBODY, 64);
    t.now_ms = s_now; s.tick = 1;
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 0x80000000u, arena, sizeof arena, &o, &e), ICBU_E_ARG);
    assert_int_equal(s.sent_n, 0);
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 0x7FFFFFFFu, arena, sizeof arena, &o, &e), ICBU_OK);
    assert_int_equal(o.kind, ICBU_ACCEPTED);
    script_init(&s, &t, "HTTP/1.1 200 OK\r\n\r\n{\"result\":", 64);
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, sizeof arena, &o, &e), ICBU_E_JSON);
    assert_int_equal(o.stage, ICBU_STAGE_PARSE);
    script_init(&s, &t, "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{", 64);
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, sizeof arena, &o, &e), ICBU_E_HTTP_TRUNCATED);
    assert_int_equal(o.stage, ICBU_STAGE_RECEIVE);
    /* an arena too small for the request: the size needed, the request's and the reserve's */
    script_init(&s, &t, "", 64);
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, 1000, &o, &e), ICBU_E_NOSPACE);
    assert_true(e.need > blen + ICBU__RESERVE);
    assert_int_equal(s.sent_n, 0);
    {
        size_t need = e.need;
        assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, need, &o, &e), ICBU_E_HTTP_TRUNCATED);
        script_init(&s, &t, "", 64);                 /* one byte less: at most the reserve's alignment fits */
        assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, need - ICBU__RESERVE_ALIGN, &o, &e), ICBU_E_NOSPACE);
        assert_int_equal(e.need, need);
    }
    /* one that cannot hold even the reserve: at least that, then the rest, as above */
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, 100, &o, &e), ICBU_E_NOSPACE);
    assert_int_equal(e.need, ICBU__RESERVE);
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, e.need, &o, &e), ICBU_E_NOSPACE);
    assert_true(e.need > blen + ICBU__RESERVE);
    assert_int_equal(s.sent_n, 0);
    {   /* e.need is the whole arena's: an answer larger than the arena (TOOBIG) counts
           the reserve at its end too, so that a call with e.need bytes reads it */
        static char answer[8192];
        size_t cap, need, n;
        int calls;
        icbu_status st;
        /* OKBODY with 5000 spaces of JSON whitespace in it: larger than the request */
        n = (size_t)snprintf(answer, sizeof answer, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n{%5000s%s",
                             (unsigned)(strlen(OKBODY) + 5000), "", &OKBODY[1]);
        assert_true(n < sizeof answer);
        for (cap = 1, calls = 0; ; cap = need, calls++) {
            assert_true(calls < 4);
            script_init(&s, &t, answer, 512);
            st = icbu_exchange(&c, &x.o, &u, &t, 5000, arena, cap, &o, &e);
            if (st == ICBU_OK) break;
            if (st != ICBU_E_NOSPACE && st != ICBU_E_HTTP_TOOBIG) fail_msg("cap %u: %s", (unsigned)cap, icbu_strerror(st));
            need = e.need;
            if (need <= cap) fail_msg("cap %u: %s, need %u", (unsigned)cap, icbu_strerror(st), (unsigned)need);
        }
        assert_int_equal(o.kind, ICBU_ACCEPTED);
        assert_true(cap >= n);
        /* the answer's own size, Content-Length known: the same need from every smaller arena that sends */
        script_init(&s, &t, answer, 512);
        assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, cap - 64, &o, &e), ICBU_E_HTTP_TOOBIG);
        assert_int_equal(e.need, cap);
    }
}

/* The reserve at the arena's end holds the hash context: it is placed as
 * its type requires, whatever the arena's own alignment, and is counted with
 * that alignment's slack. */
static void test_reserve_aligned(void **state) {
    typedef struct { char c; icbu__reserve r; } probe;
    static char big[8192 + 64];
    static char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 132\r\n\r\n" OKBODY;
    size_t align = offsetof(probe, r), off, room;
    example_order x;
    icbu_config c;
    icbu_url u;
    script s;
    icbu_transport t;
    icbu_outcome o;
    icbu_err e;
    icbu__call k;
    (void)state;
#if defined(ICBU_REFLOW_CRYPTO_CUSTOM) && (defined(__GNUC__) || defined(__clang__))
    assert_int_equal(align, 32);                        /* the case this is about */
#endif
    example_order_build(&x);
    exchange_config(&c);
    assert_int_equal(icbu_url_parse("http://127.0.0.1:1/router/rest", &u), ICBU_OK);
    for (off = 0; off < 64; off++) {
        const icbu__reserve *res;
        k.arena = big + off; k.cap = 8192 - off % 8;
        res = icbu__reserve_of(&k, &room);
        assert_non_null(res);
        assert_int_equal((uintptr_t)res % align, 0);
        assert_true(room + sizeof *res <= k.cap && room + ICBU__RESERVE >= k.cap);
        script_init(&s, &t, answer, 64);                 /* UBSan: no misaligned access either */
        assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, k.arena, k.cap, &o, &e), ICBU_OK);
        assert_int_equal(o.kind, ICBU_ACCEPTED);
    }
}

/* ----------------------------------------------------------- order decoder */
static const icbu_order *decode(const char *json, icbu_status want, icbu_err *e, void *arena, size_t cap) {
    const icbu_order *o = NULL;
    size_t used;
    assert_int_equal(icbu_decode_order(json, strlen(json), arena, cap, &o, &used, e), want);
    return o;
}

static void test_decode_example_roundtrip(void **state) {
    example_order x;
    static char json[4096], again[4096];
    static uint64_t arena[1024];
    size_t n, n2, need, used, cap;
    const icbu_order *o;
    icbu_err e;
    (void)state;
    example_order_build(&x);
    assert_int_equal(icbu_order_json(&x.o, json, sizeof json, &n, NULL), ICBU_OK);
    assert_int_equal(icbu_decode_order(json, n, NULL, 0, &o, &need, &e), ICBU_OK);     /* sizing */
    assert_null(o);
    assert_int_equal(icbu_decode_order(json, n, arena, sizeof arena, &o, &used, &e), ICBU_OK);
    assert_int_equal(used, need);
    assert_non_null(o);
    assert_int_equal(o->insured->customer_id->ali_id.v, INT64_C(3664297069));
    assert_int_equal(o->subject_matter_info->goods_item_list.n, 1);
    assert_int_equal(o->subject_matter_info->goods_item_list.p[0].item_url_list.n, 2);
    assert_int_equal(o->insure_time.year, 2022);
    assert_int_equal(icbu_order_json(o, again, sizeof again, &n2, NULL), ICBU_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(again, json, n);
    /* every arena size short of the need: NOSPACE, the same need, guard intact */
    for (cap = 0; cap < need; cap += 1) {
        unsigned char *g = (unsigned char *)arena;
        size_t k;
        memset(arena, 0xC3, sizeof arena);
        assert_int_equal(icbu_decode_order(json, n, arena, cap, &o, &used, &e), ICBU_E_NOSPACE);
        assert_int_equal(e.need, need);
        for (k = cap; k < need + 64; k++) assert_int_equal(g[k], 0xC3);
    }
}

static void test_decode_values(void **state) {
    static uint64_t arena[512];
    const icbu_order *o;
    icbu_err e;
    (void)state;
    o = decode("{\"amount\":-9223372036854775808,\"premium\":9223372036854775807,\"insure_period\":0,"
               "\"memo\":\"\",\"echo\":\"a\\u0000b\\n\\/\",\"major_order\":false,\"currency\":null,"
               "\"subject_matter_info\":{\"goods_item_list\":[],\"order_time\":\"2024-02-29 23:59:59\"},"
               "\"applicant\":{\"customer_id\":{}}}", ICBU_OK, &e, arena, sizeof arena);
    assert_int_equal(o->amount.v, INT64_MIN); assert_int_equal(o->premium.v, INT64_MAX);
    assert_int_equal(o->insure_period.set, 1); assert_int_equal(o->insure_period.v, 0);
    assert_non_null(o->memo.p); assert_int_equal(o->memo.n, 0);
    assert_int_equal(o->echo.n, 5); assert_memory_equal(o->echo.p, "a\0b\n/", 5);
    assert_int_equal(o->major_order.set, 1); assert_int_equal(o->major_order.v, 0);
    assert_null(o->currency.p); assert_null(o->institution.p);
    assert_non_null(o->subject_matter_info->goods_item_list.p);
    assert_int_equal(o->subject_matter_info->goods_item_list.n, 0);
    assert_int_equal(o->subject_matter_info->order_time.day, 29);
    assert_int_equal(o->applicant->customer_id->ali_id.set, 0);
}

static void expect_decode(const char *json, icbu_status want, const char *path) {
    static uint64_t arena[512];
    icbu_err e;
    decode(json, want, &e, arena, sizeof arena);
    assert_int_equal(e.status, want);
    if (path) assert_string_equal(e.path, path);
}

static void test_decode_errors(void **state) {
    (void)state;
    expect_decode("{\"insured\":{\"license_valid_time_until\":\"20251001\"}}", ICBU_E_FIELD, "insured.license_valid_time_until");
    expect_decode("{\"bogus\":1}", ICBU_E_FIELD, "bogus");
    expect_decode("{\"subject_matter_info\":{\"goods_item_list\":[{},{},{\"item_url_list\":[\"a\",1]}]}}", ICBU_E_TYPE,
                  "subject_matter_info.goods_item_list[2].item_url_list[1]");
    expect_decode("{\"subject_matter_info\":{\"goods_item_list\":[{},{},{\"item_url_list\":[\"\\udc00\"]}]}}", ICBU_E_UTF8,
                  "subject_matter_info.goods_item_list[2].item_url_list[0]");
    expect_decode("{\"subject_matter_info\":{\"goods_item_list\":[{},{},{\"item_url_list\":[\"ok\",\"\xc0\x80\"]}]}}", ICBU_E_UTF8,
                  "subject_matter_info.goods_item_list[2].item_url_list[1]");
    expect_decode("{\"subject_matter_info\":{\"goods_item_list\":[{\"item_desc\":\"\\ud83d\"}]}}", ICBU_E_UTF8,
                  "subject_matter_info.goods_item_list[0].item_desc");
    expect_decode("{\"subject_matter_info\":{\"goods_item_list\":[{\"item_quantity\":1.5}]}}", ICBU_E_NUMBER,
                  "subject_matter_info.goods_item_list[0].item_quantity");
    expect_decode("{\"amount\":1e3}", ICBU_E_NUMBER, "amount");
    expect_decode("{\"amount\":9223372036854775808}", ICBU_E_NUMBER, "amount");
    expect_decode("{\"amount\":-9223372036854775809}", ICBU_E_NUMBER, "amount");
    expect_decode("{\"amount\":\"10\"}", ICBU_E_TYPE, "amount");
    expect_decode("{\"amount\":01}", ICBU_E_JSON, "amount");
    expect_decode("{\"amount\":-}", ICBU_E_JSON, "amount");
    expect_decode("{\"insure_time\":\"2022-10-11\"}", ICBU_E_DATE, "insure_time");
    expect_decode("{\"insure_time\":\"2022-10-11T00:00:00\"}", ICBU_E_DATE, "insure_time");
    expect_decode("{\"insure_time\":\"2022-02-30 00:00:00\"}", ICBU_E_DATE, "insure_time");
    expect_decode("{\"insure_time\":\"2022-10-11 24:00:00\"}", ICBU_E_DATE, "insure_time");
    expect_decode("{\"insure_time\":1665417600}", ICBU_E_TYPE, "insure_time");
    expect_decode("{\"major_order\":1}", ICBU_E_TYPE, "major_order");
    expect_decode("{\"insured\":[]}", ICBU_E_TYPE, "insured");
    expect_decode("{\"subject_matter_info\":{\"goods_item_list\":{}}}", ICBU_E_TYPE, "subject_matter_info.goods_item_list");
    expect_decode("{\"subject_matter_info\":{\"goods_item_list\":[null]}}", ICBU_E_TYPE, "subject_matter_info.goods_item_list[0]");
    expect_decode("{\"memo\":\"a\",\"memo\":\"b\"}", ICBU_E_DUPLICATE, "memo");
    expect_decode("{\"insured\":{\"name\":\"a\",\"name\":\"b\"}}", ICBU_E_DUPLICATE, "insured.name");
    expect_decode("{\"memo\":\"\xe4\xb8\"}", ICBU_E_UTF8, "memo");
    expect_decode("{\"memo\":\"x\"} {}", ICBU_E_TRAILING, NULL);
    expect_decode("{\"memo\":\"x\"},", ICBU_E_TRAILING, NULL);
    expect_decode("{\"memo\":\"x\",}", ICBU_E_JSON, NULL);
    expect_decode("{\"memo\" \"x\"}", ICBU_E_JSON, NULL);
    expect_decode("{\"memo\":\"x\"", ICBU_E_JSON, NULL);
    expect_decode("{\"subject_matter_info\":{\"goods_item_list\":[{},]}}", ICBU_E_JSON, NULL);
    expect_decode("[]", ICBU_E_TYPE, "");
    expect_decode("", ICBU_E_JSON, "");
    /* a root of another JSON type is TYPE; one that is not JSON, JSON */
    expect_decode("\"x\"", ICBU_E_TYPE, "");
    expect_decode(" 1 ", ICBU_E_TYPE, "");
    expect_decode("null", ICBU_E_TYPE, "");
    expect_decode("true", ICBU_E_TYPE, "");
    expect_decode("tru", ICBU_E_JSON, "");
    expect_decode("x", ICBU_E_JSON, "");
    {   /* nesting past ICBU_JSON_MAX_DEPTH, in a value of the wrong type */
        char deep[256];
        int i;
        strcpy(deep, "{\"amount\":");
        for (i = 0; i < ICBU_JSON_MAX_DEPTH + 8; i++) strcat(deep, "[");
        expect_decode(deep, ICBU_E_DEPTH, "amount");
    }
    expect_decode("{\"memo\":\"\\x\"}", ICBU_E_JSON, "memo");
    expect_decode("{\"memo\":\"\\u12\"}", ICBU_E_JSON, "memo");
}

static void test_decode_offsets(void **state) {
    static uint64_t arena[256];
    icbu_err e;
    (void)state;
    decode("{\"memo\":\"x\", \"oops\":1}", ICBU_E_FIELD, &e, arena, sizeof arena);
    assert_int_equal(e.offset, 13);
    decode("{\"amount\":1.5}", ICBU_E_NUMBER, &e, arena, sizeof arena);
    assert_int_equal(e.offset, 10);
    decode("{\"memo\":\"x\"}  ]", ICBU_E_TRAILING, &e, arena, sizeof arena);
    assert_int_equal(e.offset, 14);
    /* JSON errors: where the text stops being JSON */
    decode("{\"memo\":\"x\"", ICBU_E_JSON, &e, arena, sizeof arena);              /* cut short: at the end */
    assert_int_equal(e.offset, 11);
    decode("{\"memo\":\"a\\qb\"}", ICBU_E_JSON, &e, arena, sizeof arena);         /* bad escape */
    assert_int_equal(e.offset, 10);
    decode("{\"memo\":\"a\tb\"}", ICBU_E_JSON, &e, arena, sizeof arena);          /* control character */
    assert_int_equal(e.offset, 10);
    decode("{\"memo\":[1,]}", ICBU_E_JSON, &e, arena, sizeof arena);                /* at the ']' */
    assert_int_equal(e.offset, 11);
}


/* ----------------------------------------------------------------- retries */
typedef struct multi {
    script s;                     /* the current attempt */
    const char *answers[8];       /* per attempt; NULL: open fails */
    int opens, closes, sleeps;
    uint32_t slept[8];
    int64_t unix;
    char bodies[8][64];           /* the timestamp each attempt signed */
    uint32_t clock, open_ms;
} multi;

static long m_recv(void *ctx, unsigned char *p, size_t n, uint32_t ms) { return s_recv(&((multi *)ctx)->s, p, n, ms); }
static long m_send(void *ctx, const unsigned char *p, size_t n, uint32_t ms) { return s_send(&((multi *)ctx)->s, p, n, ms); }
static uint32_t m_now(void *ctx) { return ((multi *)ctx)->clock += 1; }
static int m_open(void *ctx, const icbu_url *u, uint32_t ms, icbu_stage *stage) {
    multi *m = (multi *)ctx;
    const char *a = m->answers[m->opens];
    (void)u; (void)ms;
    m->opens++;
    m->clock += m->open_ms;
    if (!a) { *stage = ICBU_STAGE_CONNECT; return -111; }
    if (strcmp(a, "bad certificate") == 0) { *stage = ICBU_STAGE_TLS; return ICBU_IO_NO_RETRY - 1; }
    memset(&m->s, 0, sizeof m->s);
    m->s.in = a; m->s.n = strlen(a); m->s.step = 50; m->s.send_fail_after = -1;
    return 0;
}
static void m_close(void *ctx) {
    multi *m = (multi *)ctx;
    const char *ts = NULL;
    size_t i;
    for (i = 0; i + 10 < m->s.sent_n; i++) if (memcmp(m->s.sent + i, "timestamp=", 10) == 0) { ts = m->s.sent + i; break; }
    if (ts && m->closes < 8) memcpy(m->bodies[m->closes], ts, 33);
    m->closes++;
}
static void m_sleep(void *ctx, uint32_t ms) { multi *m = (multi *)ctx; if (m->sleeps < 8) m->slept[m->sleeps] = ms; m->sleeps++; m->clock += ms; }
static uint32_t m_random(void *ctx) { (void)ctx; return 0xFFFFFFFFu; }
static int64_t m_unix(void *ctx) { return ((multi *)ctx)->unix += 61; }

static void multi_init(multi *m, icbu_transport *t, icbu_retry *r) {
    memset(m, 0, sizeof *m);
    m->unix = 1764302400;                         /* 2025-11-28 12:00:00 GMT+8 */
    memset(t, 0, sizeof *t);
    t->ctx = m; t->send = m_send; t->recv = m_recv; t->now_ms = m_now; t->open = m_open; t->close = m_close;
    memset(r, 0, sizeof *r);
    r->attempts = 4; r->backoff_ms = 100; r->backoff_max_ms = 250; r->ctx = m;
    r->sleep_ms = m_sleep; r->random = m_random; r->unix_now = m_unix;
}

#define HTTP200(body) "HTTP/1.1 200 OK\r\n\r\n" body

/* A URL filled in by hand that the head cannot carry: ICBU_E_URL, nothing sent,
 * nothing opened, before the arena's size is looked at (no need that a call
 * with it would not meet); a settings fault. */
static void test_hand_made_url(void **state) {
    example_order x;
    icbu_config c;
    icbu_url u;
    script s;
    icbu_transport t;
    icbu_retry r;
    icbu_outcome o;
    icbu_err e;
    static multi m;
    static char arena[8192];
    (void)state;
    example_order_build(&x);
    exchange_config(&c);
    assert_int_equal(icbu_url_parse("http://127.0.0.1:1/router/rest", &u), ICBU_OK);
    u.host = icbu_s("127.0.0.1\n");
    script_init(&s, &t, HTTP200(OKBODY), 64);
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, sizeof arena, &o, &e), ICBU_E_URL);
    assert_int_equal(o.kind, ICBU_NONE); assert_int_equal(s.sent_n, 0);
    assert_int_equal(icbu_fault_of(&o, &e), ICBU_FAULT_SETTINGS);
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, 1000, &o, &e), ICBU_E_URL);
    assert_int_equal(e.status, ICBU_E_URL); assert_int_equal(s.sent_n, 0);
    multi_init(&m, &t, &r);
    m.answers[0] = HTTP200(OKBODY);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 5000, arena, sizeof arena, &o, &e), ICBU_E_URL);
    assert_int_equal(o.kind, ICBU_NONE); assert_int_equal(o.attempts, 0); assert_int_equal(m.opens, 0);
    /* port 0, which icbu_url_parse refuses: no connect that cannot succeed, retried */
    assert_int_equal(icbu_url_parse("http://127.0.0.1:1/router/rest", &u), ICBU_OK);
    u.port = 0;
    script_init(&s, &t, HTTP200(OKBODY), 64);
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, sizeof arena, &o, &e), ICBU_E_URL);
    assert_int_equal(o.kind, ICBU_NONE); assert_int_equal(s.sent_n, 0);
    multi_init(&m, &t, &r);
    m.answers[0] = HTTP200(OKBODY);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 5000, arena, sizeof arena, &o, &e), ICBU_E_URL);
    assert_int_equal(o.kind, ICBU_NONE); assert_int_equal(o.attempts, 0); assert_int_equal(m.opens, 0);
}

/* The four calls without an icbu_err (e == NULL): each runs with one of its
 * own and says the same; and what they take as a call. */
static void test_calls_without_err(void **state) {
    example_order x;
    icbu_config c;
    icbu_url u;
    icbu_transport t;
    icbu_retry r;
    icbu_outcome o;
    icbu_err e;
    static multi m;
    static script s;
    static char arena[8192];
    const icbu_method *om = icbu_method_get(ICBU_METHOD_order_callback);
    const void *res = NULL;
    (void)state;
    example_order_build(&x);
    exchange_config(&c);
    assert_int_equal(icbu_url_parse("http://127.0.0.1:1/router/rest", &u), ICBU_OK);
    script_init(&s, &t, HTTP200(OKBODY), 64);
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, sizeof arena, &o, NULL), ICBU_OK);
    assert_int_equal(o.kind, ICBU_ACCEPTED);
    SEQ(o.insure_id, "111111");
    script_init(&s, &t, HTTP200(OKBODY), 64);
    assert_int_equal(icbu_call_exchange(&c, om, &x.o, &res, &u, &t, 5000, arena, sizeof arena, &o, NULL), ICBU_OK);
    assert_int_equal(o.kind, ICBU_ACCEPTED);
    assert_non_null(res);
    /* the order's method may leave its result out: the outcome says it all */
    script_init(&s, &t, HTTP200(OKBODY), 64);
    assert_int_equal(icbu_call_exchange(&c, om, &x.o, NULL, &u, &t, 5000, arena, sizeof arena, &o, NULL), ICBU_OK);
    assert_int_equal(o.kind, ICBU_ACCEPTED);
    /* failures: the status alone, nothing sent, nothing written past the arena */
    script_init(&s, &t, "", 64);
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 5000, arena, 100, &o, NULL), ICBU_E_NOSPACE);
    assert_int_equal(s.sent_n, 0);
    assert_int_equal(icbu_call_exchange(&c, NULL, &x.o, &res, &u, &t, 5000, arena, sizeof arena, &o, NULL), ICBU_E_ARG);
    assert_int_equal(icbu_exchange(&c, &x.o, NULL, &t, 5000, arena, sizeof arena, &o, NULL), ICBU_E_ARG);
    assert_int_equal(icbu_call_exchange(&c, NULL, &x.o, &res, &u, &t, 5000, arena, sizeof arena, &o, &e), ICBU_E_ARG);
    assert_int_equal(e.status, ICBU_E_ARG);
    multi_init(&m, &t, &r);
    m.answers[0] = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n";
    m.answers[1] = HTTP200(OKBODY);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, NULL), ICBU_OK);
    assert_int_equal(o.kind, ICBU_ACCEPTED);
    assert_int_equal(o.attempts, 2);
    multi_init(&m, &t, &r);
    m.answers[0] = HTTP200(OKBODY);
    assert_int_equal(icbu_call_report(&c, om, &x.o, &res, &u, &t, &r, 60000, arena, sizeof arena, &o, NULL), ICBU_OK);
    assert_int_equal(o.kind, ICBU_ACCEPTED);
    x.o.external_biz_id = icbu_s(NULL);                  /* retries need the idempotency key */
    multi_init(&m, &t, &r);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, NULL), ICBU_E_NO_BIZ_ID);
    assert_int_equal(m.opens, 0);
    assert_int_equal(icbu_call_report(&c, NULL, &x.o, &res, &u, &t, &r, 60000, arena, sizeof arena, &o, NULL), ICBU_E_ARG);
}

/* A call of a method with its result that fails leaves *result NULL, as
 * icbu_parse_answer does, whatever it held (an earlier call's result, in an
 * arena since overwritten): before sending, while sending or receiving, on
 * an HTTP status, on an answer that does not parse, and for its arguments. */
static void test_failed_call_clears_result(void **state) {
    example_order x;
    icbu_config c;
    icbu_url u;
    script s;
    icbu_transport t;
    icbu_retry r;
    icbu_outcome o;
    icbu_err e;
    static multi m;
    static char arena[8192];
    const icbu_method *om = icbu_method_get(ICBU_METHOD_order_callback);
    const void *res;
    int i;
    (void)state;
    example_order_build(&x);
    exchange_config(&c);
    assert_int_equal(icbu_url_parse("http://127.0.0.1:1/router/rest", &u), ICBU_OK);
    for (i = 0; i < 7; i++) {
        icbu_status st, want;
        size_t cap = sizeof arena;
        script_init(&s, &t, i == 2 ? "HTTP/1.1 503 Busy\r\n\r\n" : i == 3 ? HTTP200("{\"result\":") : "", 64);
        if (i == 1) s.send_fail_after = 0;
        if (i == 4) cap = 100;
        res = arena;                                   /* left from an earlier call */
        switch (i) {
        case 5: st = icbu_call_exchange(&c, om, &x.o, &res, NULL, &t, 5000, arena, cap, &o, &e); want = ICBU_E_ARG; break;
        case 6:
            multi_init(&m, &t, &r);
            m.answers[0] = "HTTP/1.1 503 Busy\r\n\r\n"; m.answers[1] = NULL;
            r.attempts = 2;
            st = icbu_call_report(&c, om, &x.o, &res, &u, &t, &r, 60000, arena, cap, &o, &e);
            want = ICBU_E_OPEN;
            break;
        default:
            st = icbu_call_exchange(&c, om, &x.o, &res, &u, &t, 5000, arena, cap, &o, &e);
            want = i == 0 ? ICBU_E_HTTP_TRUNCATED : i == 1 ? ICBU_E_SEND : i == 2 ? ICBU_E_HTTP_STATUS
                 : i == 3 ? ICBU_E_JSON : ICBU_E_NOSPACE;
            break;
        }
        if (st != want) fail_msg("case %d: %s", i, icbu_strerror(st));
        if (res) fail_msg("case %d: *result left as it was", i);
    }
}

/* A call refused for its arguments sent nothing: its outcome says so (kind
 * NONE), whatever the struct held before, and icbu_fault_of then reads the
 * error, not a stale outcome. Each of the four calls, each kind of refusal. */
static void test_bad_arguments_clear_outcome(void **state) {
    example_order x;
    icbu_config c;
    icbu_url u;
    icbu_transport t, no_recv;
    icbu_retry r;
    icbu_outcome o;
    icbu_err e;
    static multi m;
    static char arena[8192];
    const icbu_method *om = icbu_method_get(ICBU_METHOD_order_callback);
    const void *res = NULL;
    int i;
    (void)state;
    example_order_build(&x);
    exchange_config(&c);
    assert_int_equal(icbu_url_parse("http://127.0.0.1:1/router/rest", &u), ICBU_OK);
    multi_init(&m, &t, &r);
    no_recv = t;
    no_recv.recv = NULL;
    for (i = 0; i < 14; i++) {
        icbu_status st = ICBU_OK;
        memset(&o, 0, sizeof o);
        o.kind = ICBU_ACCEPTED;                 /* left from an earlier order */
        o.attempts = 3;
        switch (i) {
        case 0: st = icbu_exchange(&c, &x.o, &u, &t, 5000, NULL, sizeof arena, &o, &e); break;
        case 1: st = icbu_exchange(&c, &x.o, &u, &t, 0x80000000u, arena, sizeof arena, &o, &e); break;
        case 2: st = icbu_exchange(&c, &x.o, &u, &no_recv, 5000, arena, sizeof arena, &o, &e); break;
        case 3: st = icbu_exchange(&c, &x.o, NULL, &t, 5000, arena, sizeof arena, &o, &e); break;
        case 4: st = icbu_call_exchange(&c, NULL, &x.o, &res, &u, &t, 5000, arena, sizeof arena, &o, &e); break;
        case 5: st = icbu_call_exchange(&c, om, &x.o, &res, &u, &t, 5000, NULL, 0, &o, &e); break;
        case 6: st = icbu_report(&c, &x.o, &u, &t, &r, 0x80000000u, arena, sizeof arena, &o, &e); break;
        case 7: st = icbu_report(&c, &x.o, NULL, &t, &r, 5000, arena, sizeof arena, &o, &e); break;
        case 8: st = icbu_call_report(&c, NULL, &x.o, &res, &u, &t, &r, 5000, arena, sizeof arena, &o, &e); break;
        /* refused before it connects, not after: nothing to open a connection for */
        case 9: st = icbu_report(&c, &x.o, &u, &t, &r, 5000, NULL, sizeof arena, &o, &e); break;
        case 10: st = icbu_report(&c, &x.o, &u, &no_recv, &r, 5000, arena, sizeof arena, &o, &e); break;
        /* a cap past the end of memory ("no limit"): the reserve at arena + cap would
           wrap round to below the arena (ASan: a write before it) */
        case 11: st = icbu_exchange(&c, &x.o, &u, &t, 5000, arena, (size_t)-1, &o, &e); break;
        case 12: st = icbu_call_report(&c, om, &x.o, &res, &u, &t, &r, 5000, arena, (size_t)-1, &o, &e); break;
        default: st = icbu_call_report(&c, om, &x.o, &res, &u, &t, &r, 0x80000000u, arena, sizeof arena, &o, NULL); break;
        }
        assert_int_equal(st, ICBU_E_ARG);
        assert_int_equal(o.kind, ICBU_NONE);
        assert_int_equal(o.attempts, 0);
        if (i < 13) assert_int_equal(icbu_fault_of(&o, &e), ICBU_FAULT_SETTINGS);
    }
    assert_int_equal(m.opens, 0);
}

static void test_report_retries(void **state) {
    example_order x;
    icbu_config c;
    icbu_url u;
    icbu_transport t;
    icbu_retry r;
    icbu_outcome o;
    icbu_err e;
    static multi m;
    static char arena[8192];
    (void)state;
    example_order_build(&x);
    exchange_config(&c);
    assert_int_equal(icbu_url_parse("http://127.0.0.1:1/router/rest", &u), ICBU_OK);
    /* connect refused, 503, isp.* error, then accepted */
    multi_init(&m, &t, &r);
    m.answers[0] = NULL;
    m.answers[1] = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n";
    m.answers[2] = HTTP200("{\"error_response\":{\"code\":15,\"msg\":\"Remote service error\",\"sub_code\":\"isp.remote-connection-error\"}}");
    m.answers[3] = HTTP200(OKBODY);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
    assert_int_equal(o.kind, ICBU_ACCEPTED);
    assert_int_equal(o.attempts, 4);
    assert_int_equal(m.opens, 4); assert_int_equal(m.closes, 3);
    assert_int_equal(m.sleeps, 3);                            /* 0..100, 0..200, 0..250: the jitter's top here */
    assert_int_equal(m.slept[0], 0xFFFFFFFFu % 101); assert_int_equal(m.slept[1], 0xFFFFFFFFu % 201);
    assert_int_equal(m.slept[2], 0xFFFFFFFFu % 251);
    /* each attempt signed afresh (the clock moves 61 s per call; attempt 1 never connected) */
    assert_memory_equal(m.bodies[0], "timestamp=2025-11-28+12%3A02%3A02", 33);
    assert_memory_equal(m.bodies[1], "timestamp=2025-11-28+12%3A03%3A03", 33);
    assert_memory_equal(m.bodies[2], "timestamp=2025-11-28+12%3A04%3A04", 33);
    /* never retried: bad signature, isv.*, 40/41/43, a business refusal, a bad answer */
    {
        static const char *const final_[] = {
            HTTP200("{\"error_response\":{\"code\":25,\"msg\":\"Invalid signature\"}}"),
            HTTP200("{\"error_response\":{\"code\":15,\"sub_code\":\"isv.invalid-parameter\"}}"),
            HTTP200("{\"error_response\":{\"code\":41,\"msg\":\"Invalid arguments\"}}"),
            HTTP200("{\"error_response\":{\"code\":43}}"),
            HTTP200("{\"result\":{\"success\":false,\"error_code\":\"E\"}}"),
            HTTP200("{\"result\":{\"success\":tru"),
            "HTTP/1.1 404 Not Found\r\n\r\n",
            "HTTP/1.1 200 OK\nContent-Length: 2\n\n{}",        /* bare LF: malformed, not "receive" */
        };
        size_t i;
        for (i = 0; i < sizeof final_ / sizeof final_[0]; i++) {
            multi_init(&m, &t, &r);
            m.answers[0] = final_[i]; m.answers[1] = HTTP200(OKBODY);
            icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e);
            assert_int_equal(o.attempts, 1);
            assert_int_equal(m.opens, 1);
        }
    }
    /* retried: code 7, 8, 10, HTTP 408 (RFC 9110 15.5.9: the client may repeat
     * the request) and 429, a reset after the request went out */
    {
        static const char *const again[] = {
            HTTP200("{\"error_response\":{\"code\":7,\"msg\":\"App Call Limited\"}}"),
            HTTP200("{\"error_response\":{\"code\":8}}"),
            HTTP200("{\"error_response\":{\"code\":10}}"),
            "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            "HTTP/1.1 429 Too Many\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n{\"res",
        };
        size_t i;
        for (i = 0; i < sizeof again / sizeof again[0]; i++) {
            multi_init(&m, &t, &r);
            m.answers[0] = again[i]; m.answers[1] = HTTP200(OKBODY);
            assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
            assert_int_equal(o.kind, ICBU_ACCEPTED);
            assert_int_equal(o.attempts, 2);
        }
    }
    /* all attempts fail: the last error, and how many */
    multi_init(&m, &t, &r);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_E_OPEN);
    assert_int_equal(o.kind, ICBU_TRANSPORT_ERROR); assert_int_equal(o.stage, ICBU_STAGE_CONNECT);
    assert_int_equal(o.detail, -111); assert_int_equal(o.attempts, 4);
    /* the overall deadline cuts the backoff short */
    multi_init(&m, &t, &r);
    r.backoff_ms = 1000; r.backoff_max_ms = 100000;
    icbu_report(&c, &x.o, &u, &t, &r, 1500, arena, sizeof arena, &o, &e);
    assert_true(o.attempts < 4);
    /* a transport that says another try cannot help is not retried */
    multi_init(&m, &t, &r);
    m.answers[0] = "bad certificate"; m.answers[1] = HTTP200(OKBODY);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_E_OPEN);
    assert_int_equal(o.stage, ICBU_STAGE_TLS); assert_int_equal(o.attempts, 1); assert_int_equal(m.opens, 1);
    /* the time open takes counts against the deadline */
    multi_init(&m, &t, &r);
    m.open_ms = 2000;
    m.answers[0] = HTTP200(OKBODY);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 1500, arena, sizeof arena, &o, &e), ICBU_E_TIMEOUT);
    assert_int_equal(o.kind, ICBU_TRANSPORT_ERROR); assert_int_equal(m.closes, 1); assert_int_equal(m.s.sent_n, 0);
    /* with a clock, a timeout beyond 2^31 - 1 ms is refused up front */
    multi_init(&m, &t, &r);
    m.answers[0] = HTTP200(OKBODY);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 0xFFFFFFFFu, arena, sizeof arena, &o, &e), ICBU_E_ARG);
    assert_int_equal(m.opens, 0);
    /* retries without the idempotency key are refused up front */
    multi_init(&m, &t, &r);
    x.o.external_biz_id = icbu_s(" ");
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_E_NO_BIZ_ID);
    assert_int_equal(m.opens, 0);
    r.attempts = 1;
    m.answers[0] = HTTP200(OKBODY);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
}

/* ------------------------------------------------------------- keep-alive
 * A server with one connection at a time. Each request (its head starts a
 * send) takes the next answer; "EOF" closes the connection with nothing
 * sent back, "RESET" resets it, "TIMEOUT" has recv time out, "SENDFAIL" makes
 * the request's send fail.
 * open reuses a live connection (returns 1) or makes a new one. */
typedef struct kconn {
    script s;
    const char *answers[8];
    int req, conns, closes, alive, send_fail;
    int lie_send, lie_recv;       /* request number (from 1) on which send/recv claim n + 1 bytes */
    int open_fail;                /* connection number (from 1) whose open fails */
    uint32_t clock, close_ms;     /* now_ms (when set); what a close takes */
    char heads[8][256];
    char bodies[8][64];           /* each request's timestamp=... */
} kconn;
static long k_send(void *ctx, const unsigned char *p, size_t n, uint32_t ms) {
    kconn *k = (kconn *)ctx;
    if (n >= 5 && memcmp(p, "POST ", 5) == 0 && k->req < 8) {
        const char *a = k->answers[k->req];
        size_t h = n < 255 ? n : 255;
        memcpy(k->heads[k->req], p, h);
        k->heads[k->req][h] = 0;
        k->req++;
        memset(&k->s, 0, sizeof k->s);
        k->s.send_fail_after = -1;
        k->send_fail = a && strcmp(a, "SENDFAIL") == 0;
        k->s.end = a && strcmp(a, "RESET") == 0 ? -104 : a && strcmp(a, "TIMEOUT") == 0 ? ICBU_IO_TIMEOUT : 0;
        k->s.in = !a || strcmp(a, "EOF") == 0 || k->s.end || k->send_fail ? "" : a;
        k->s.n = strlen(k->s.in); k->s.step = 40;
    } else if (k->req && k->req <= 8) {
        const char *ts = NULL;
        size_t i;
        for (i = 0; i + 33 <= n; i++) if (memcmp(p + i, "timestamp=", 10) == 0) { ts = (const char *)p + i; break; }
        if (ts) memcpy(k->bodies[k->req - 1], ts, 33);
    }
    (void)ms;
    if (k->lie_send && k->req == k->lie_send) return (long)n + 1;
    return k->send_fail ? -32 : (long)n;
}
static long k_recv(void *ctx, unsigned char *p, size_t n, uint32_t ms) {
    kconn *k = (kconn *)ctx;
    long r;
    if (k->lie_recv && k->req == k->lie_recv) return (long)n + 1;
    r = s_recv(&k->s, p, n, ms);
    if (r == 0) k->alive = 0;       /* the server closed */
    return r;
}
static int k_open(void *ctx, const icbu_url *u, uint32_t ms, icbu_stage *stage) {
    kconn *k = (kconn *)ctx;
    (void)u; (void)ms;
    if (k->alive == 1) return 1;
    if (k->open_fail && k->conns + 1 == k->open_fail) { *stage = ICBU_STAGE_CONNECT; return -111; }
    k->alive = 1;
    k->conns++;
    return 0;
}
static void k_close(void *ctx) { kconn *k = (kconn *)ctx; k->alive = 0; k->closes++; k->clock += k->close_ms; }
static uint32_t k_now(void *ctx) { return ((kconn *)ctx)->clock; }
static void kconn_init(kconn *k, icbu_transport *t, icbu_retry *r, int keep) {
    memset(k, 0, sizeof *k);
    memset(t, 0, sizeof *t);
    t->ctx = k; t->send = k_send; t->recv = k_recv; t->open = k_open; t->close = k_close;
    t->keep_alive = keep;
    memset(r, 0, sizeof *r);
    r->attempts = 3; r->backoff_ms = 1; r->backoff_max_ms = 1;
}

static void test_keep_alive(void **state) {
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 132\r\n\r\n" OKBODY;
    static kconn k;
    static char arena[8192];
    example_order x;
    icbu_config c;
    icbu_url u;
    icbu_transport t;
    icbu_retry r;
    icbu_outcome o;
    icbu_err e;
    (void)state;
    assert_int_equal(strlen(OKBODY), 132);
    example_order_build(&x);
    exchange_config(&c);
    assert_int_equal(icbu_url_parse("http://127.0.0.1:1/router/rest", &u), ICBU_OK);
    /* two orders over one connection; the request says keep-alive */
    kconn_init(&k, &t, &r, 1);
    k.answers[0] = ok; k.answers[1] = ok;
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
    assert_int_equal(o.kind, ICBU_ACCEPTED); assert_int_equal(o.reusable, 1);
    assert_int_equal(k.conns, 1); assert_int_equal(k.closes, 0);
    assert_non_null(strstr(k.heads[0], "\r\nConnection: keep-alive\r\n\r\n"));
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
    assert_int_equal(o.kind, ICBU_ACCEPTED); assert_int_equal(o.attempts, 1); assert_int_equal(o.reconnects, 0);
    assert_int_equal(k.conns, 1); assert_int_equal(k.req, 2);
    /* the kept connection died before any answer (closed, reset, or the send fails):
       reopened once, the same signed request sent again, not counted as an attempt */
    {
        static const char *const dead[] = { "EOF", "RESET", "SENDFAIL" };
        size_t i;
        for (i = 0; i < 3; i++) {
            kconn_init(&k, &t, &r, 1);
            k.answers[0] = ok; k.answers[1] = dead[i]; k.answers[2] = ok;
            assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
            assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
            assert_int_equal(o.kind, ICBU_ACCEPTED);
            assert_int_equal(o.attempts, 1); assert_int_equal(o.reconnects, 1);
            assert_int_equal(k.conns, 2); assert_int_equal(k.req, 3); assert_int_equal(k.closes, 1);
            if (i < 2) assert_memory_equal(k.bodies[1], k.bodies[2], 33);   /* SENDFAIL: no body went */
        }
    }
    /* a transport claiming more bytes than asked, on the kept connection: refused, and not
       taken for a dead connection (bytes came, by its own word): an attempt's failure */
    {
        int recv_side;
        for (recv_side = 0; recv_side < 2; recv_side++) {
            kconn_init(&k, &t, &r, 1);
            k.answers[0] = ok; k.answers[1] = ok; k.answers[2] = ok;
            assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
            if (recv_side) k.lie_recv = 2; else k.lie_send = 2;
            r.attempts = 1;
            assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e),
                             recv_side ? ICBU_E_RECV : ICBU_E_SEND);
            assert_int_equal(o.kind, ICBU_TRANSPORT_ERROR);
            assert_int_equal(o.stage, recv_side ? ICBU_STAGE_RECEIVE : ICBU_STAGE_SEND);
            assert_true(o.detail > 0);
            assert_int_equal(o.attempts, 1); assert_int_equal(o.reconnects, 0);
            assert_int_equal(k.req, 2); assert_int_equal(k.conns, 1); assert_int_equal(k.closes, 1);
        }
    }
    /* the kept connection is dead and the new one cannot be opened: nothing reopened,
       nothing sent again, so no reconnect; the open's failure is the outcome */
    kconn_init(&k, &t, &r, 1);
    r.attempts = 1;
    k.answers[0] = ok; k.answers[1] = "EOF"; k.open_fail = 2;
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_E_OPEN);
    assert_int_equal(o.kind, ICBU_TRANSPORT_ERROR); assert_int_equal(o.stage, ICBU_STAGE_CONNECT);
    assert_int_equal(o.detail, -111); assert_int_equal(e.detail, -111);
    assert_int_equal(o.attempts, 1); assert_int_equal(o.reconnects, 0);
    assert_int_equal(k.req, 2); assert_int_equal(k.closes, 1);
    /* once only: a fresh connection that dies too is an attempt's failure, then retried */
    kconn_init(&k, &t, &r, 1);
    k.answers[0] = ok; k.answers[1] = "EOF"; k.answers[2] = "EOF"; k.answers[3] = ok;
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
    assert_int_equal(o.attempts, 2); assert_int_equal(o.reconnects, 1); assert_int_equal(k.req, 4);
    /* an answer begun, then cut: not a dead connection (the server had it): retried, not resent */
    kconn_init(&k, &t, &r, 1);
    k.answers[0] = ok; k.answers[1] = "HTTP/1.1 200 OK\r\nContent-Le"; k.answers[2] = ok;
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
    assert_int_equal(o.attempts, 2); assert_int_equal(o.reconnects, 0);
    /* the same for bytes that are not the final answer's: an interim 100 then EOF, and a
       body cut short; and for a recv that times out (no sign the connection was gone):
       each an attempt's failure, never a resend, and with one attempt the request went once */
    {
        static const char *const cut[] = {
            "HTTP/1.1 100 Continue\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 132\r\n\r\n{\"alibaba",
            "TIMEOUT",
        };
        static const icbu_status want[] = { ICBU_E_HTTP_TRUNCATED, ICBU_E_HTTP_TRUNCATED, ICBU_E_TIMEOUT };
        size_t i;
        for (i = 0; i < sizeof cut / sizeof cut[0]; i++) {
            kconn_init(&k, &t, &r, 1);
            k.answers[0] = ok; k.answers[1] = cut[i]; k.answers[2] = ok;
            assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
            r.attempts = 1;
            assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), want[i]);
            assert_int_equal(o.kind, ICBU_TRANSPORT_ERROR); assert_int_equal(o.stage, ICBU_STAGE_RECEIVE);
            assert_int_equal(o.attempts, 1); assert_int_equal(o.reconnects, 0); assert_int_equal(o.reusable, 0);
            assert_int_equal(k.req, 2); assert_int_equal(k.conns, 1); assert_int_equal(k.closes, 1);
        }
    }
    /* without the idempotency key, one attempt and no resend */
    kconn_init(&k, &t, &r, 1);
    r.attempts = 1;
    k.answers[0] = ok; k.answers[1] = "EOF"; k.answers[2] = ok;
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
    x.o.external_biz_id = icbu_sn(NULL, 0);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_E_HTTP_TRUNCATED);
    assert_int_equal(o.kind, ICBU_TRANSPORT_ERROR); assert_int_equal(o.reconnects, 0); assert_int_equal(k.req, 2);
    x.o.external_biz_id = icbu_s("12345");
    /* which answers leave the connection reusable */
    {
        static const struct { const char *answer; int reusable; } cases[] = {
            { "HTTP/1.1 200 OK\r\nContent-Length: 132\r\n\r\n" OKBODY, 1 },
            { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n84\r\n" OKBODY "\r\n0\r\n\r\n", 1 },
            { "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 132\r\n\r\n" OKBODY, 0 },
            { "HTTP/1.1 200 OK\r\nconnection:close\r\nTransfer-Encoding: chunked\r\n\r\n84\r\n" OKBODY "\r\n0\r\n\r\n", 0 },
            { "HTTP/1.0 200 OK\r\nContent-Length: 132\r\n\r\n" OKBODY, 0 },
            { "HTTP/1.1 200 OK\r\n\r\n" OKBODY, 0 },                           /* read to close */
            { "HTTP/1.1 200 OK\r\nContent-Length: 132\r\n\r\n" OKBODY "HTTP", 0 },  /* more than the answer */
            { "HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 132\r\n\r\n" OKBODY, 1 },
        };
        size_t i;
        for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            kconn_init(&k, &t, &r, 1);
            k.answers[0] = cases[i].answer;
            assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
            assert_int_equal(o.kind, ICBU_ACCEPTED);
            if (o.reusable != cases[i].reusable) fail_msg("case %u: reusable %d", (unsigned)i, o.reusable);
            assert_int_equal(k.closes, !cases[i].reusable);
        }
    }
    {   /* an order that does not sign sends nothing: the connection it opened stays open,
           and out.reusable says so (the caller's cue that it is open); the next order takes it */
        icbu_str memo = x.o.memo;
        kconn_init(&k, &t, &r, 1);
        k.answers[0] = ok;
        x.o.memo = icbu_s("\xff");
        assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_E_UTF8);
        assert_int_equal(o.kind, ICBU_NONE); assert_int_equal(o.attempts, 1);
        assert_int_equal(icbu_fault_of(&o, &e), ICBU_FAULT_ORDER);
        assert_int_equal(k.alive, 1); assert_int_equal(k.closes, 0); assert_int_equal(k.req, 0);
        assert_int_equal(o.reusable, 1);
        x.o.memo = memo;
        assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
        assert_int_equal(k.conns, 1); assert_int_equal(o.reusable, 1);
        /* without keep_alive, closed as always, and not reusable */
        kconn_init(&k, &t, &r, 0);
        x.o.memo = icbu_s("\xff");
        assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_E_UTF8);
        assert_int_equal(k.closes, 1); assert_int_equal(o.reusable, 0);
        x.o.memo = memo;
    }
    /* a 503 is retried on a new connection (its body is not read) */
    kconn_init(&k, &t, &r, 1);
    k.answers[0] = "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"; k.answers[1] = ok;
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
    assert_int_equal(o.attempts, 2); assert_int_equal(k.conns, 2); assert_int_equal(k.closes, 1);
    /* keep_alive off: Connection: close, and closed after every answer */
    kconn_init(&k, &t, &r, 0);
    k.answers[0] = ok; k.answers[1] = ok;
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
    assert_int_equal(o.reusable, 0); assert_int_equal(k.conns, 2); assert_int_equal(k.closes, 2);
    assert_non_null(strstr(k.heads[0], "\r\nConnection: close\r\n\r\n"));
    /* icbu_exchange says whether the caller may reuse its connection */
    kconn_init(&k, &t, &r, 1);
    k.answers[0] = ok;
    assert_int_equal(icbu_exchange(&c, &x.o, &u, &t, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
    assert_int_equal(o.reusable, 1); assert_int_equal(k.closes, 0);
    /* the kept connection is dead and closing it took the time that was left:
       no reopen, so no reconnect counted */
    kconn_init(&k, &t, &r, 1);
    t.now_ms = k_now; k.clock = 1000;
    k.answers[0] = ok; k.answers[1] = "EOF"; k.answers[2] = ok;
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_OK);
    k.close_ms = 100000;
    assert_int_equal(icbu_report(&c, &x.o, &u, &t, &r, 60000, arena, sizeof arena, &o, &e), ICBU_E_HTTP_TRUNCATED);
    assert_int_equal(o.kind, ICBU_TRANSPORT_ERROR);
    assert_int_equal(o.reconnects, 0); assert_int_equal(k.conns, 1); assert_int_equal(k.req, 2);
}

/* Whose a failure is: the order's, the settings' or the network's. */
static icbu_outcome platform(long code, const char *sub) {
    icbu_outcome o;
    memset(&o, 0, sizeof o);
    o.kind = ICBU_PLATFORM_ERROR;
    o.code = icbu_n(code);
    o.sub_code = icbu_s(sub);
    return o;
}
static icbu_outcome transport(icbu_status st, long detail) {
    icbu_outcome o;
    memset(&o, 0, sizeof o);
    o.kind = ICBU_TRANSPORT_ERROR;
    o.stage = ICBU_STAGE_RECEIVE;
    o.status = st;
    o.detail = detail;
    return o;
}
static void test_fault_of(void **state) {
    static const long settings[] = { 9, 11, 12, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34 };
    static const long network[] = { 7, 8, 10, 15, 50, 99 };
    static const long order[] = { 40, 41, 43, 47 };
    icbu_outcome o;
    icbu_err e;
    example_order x;
    icbu_config c;
    char buf[64];
    size_t i, n;
    (void)state;
    memset(&o, 0, sizeof o);
    o.kind = ICBU_ACCEPTED;
    assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_NONE);
    o.kind = ICBU_REFUSED;
    assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_ORDER);
    for (i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        o = platform(settings[i], NULL);
        assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_SETTINGS);
        o = platform(settings[i], "isp.remote-connection-error");    /* the platform's, as retried */
        assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_NETWORK);
        o = platform(settings[i], "isv.invalid-signature");          /* the caller's: the code says which */
        assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_SETTINGS);
    }
    for (i = 0; i < sizeof network / sizeof network[0]; i++) {
        o = platform(network[i], NULL);
        assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_NETWORK);
    }
    for (i = 0; i < sizeof order / sizeof order[0]; i++) {
        o = platform(order[i], NULL);
        assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_ORDER);
        o = platform(order[i], "isp.service-error");                /* the platform's own fault */
        assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_NETWORK);
    }
    o = platform(15, "isv.invalid-parameter");
    assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_ORDER);
    o = transport(ICBU_E_OPEN, ICBU_IO_NO_RETRY);
    assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_SETTINGS);
    o = transport(ICBU_E_OPEN, -111);
    assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_NETWORK);
    o = transport(ICBU_E_HTTP_STATUS, 404);
    assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_SETTINGS);
    o = transport(ICBU_E_HTTP_STATUS, 429);
    assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_NETWORK);
    o = transport(ICBU_E_HTTP_STATUS, 503);
    assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_NETWORK);
    o = transport(ICBU_E_RECV, -104);
    assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_NETWORK);
    o = transport(ICBU_E_JSON, 0);
    assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_NETWORK);
    /* failures before sending, from icbu_sign_body itself */
    memset(&o, 0, sizeof o);
    example_order_build(&x);
    memset(&c, 0, sizeof c);
    c.app_key = "12345678"; c.app_secret = "s"; c.timestamp = icbu_d(2026, 11, 28, 12, 0, 0);
    assert_int_equal(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e), ICBU_E_NOSPACE);
    assert_int_equal(icbu_fault_of(&o, &e), ICBU_FAULT_SETTINGS);
    c.session = "\xFF";
    assert_int_equal(icbu_sign_body(&c, &x.o, NULL, 0, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, "session");
    assert_int_equal(icbu_fault_of(&o, &e), ICBU_FAULT_SETTINGS);
    c.session = NULL;
    c.timestamp.month = 13;
    assert_int_equal(icbu_sign_body(&c, &x.o, NULL, 0, &n, &e), ICBU_E_DATE);
    assert_int_equal(icbu_fault_of(&o, &e), ICBU_FAULT_SETTINGS);
    c.timestamp.month = 11;
    x.o.memo = icbu_s("\xC0\xAF");
    assert_int_equal(icbu_sign_body(&c, &x.o, NULL, 0, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, "memo");
    assert_int_equal(icbu_fault_of(&o, &e), ICBU_FAULT_ORDER);
    e.status = ICBU_E_NO_BIZ_ID; e.path[0] = 0;
    assert_int_equal(icbu_fault_of(&o, &e), ICBU_FAULT_ORDER);
    assert_int_equal(icbu_fault_of(&o, NULL), ICBU_FAULT_NONE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_http_head),
        cmocka_unit_test(test_http_content_length),
        cmocka_unit_test(test_http_chunked),
        cmocka_unit_test(test_http_interim),
        cmocka_unit_test(test_http_trailers_bounded),
        cmocka_unit_test(test_http_close_delimited),
        cmocka_unit_test(test_http_refusals),
        cmocka_unit_test(test_http_transport_errors),
        cmocka_unit_test(test_http_need),
        cmocka_unit_test(test_response_parser),
        cmocka_unit_test(test_response_depth),
        cmocka_unit_test(test_exchange),
        cmocka_unit_test(test_reserve_aligned),
        cmocka_unit_test(test_fault_of),
        cmocka_unit_test(test_report_retries),
        cmocka_unit_test(test_hand_made_url),
        cmocka_unit_test(test_calls_without_err),
        cmocka_unit_test(test_bad_arguments_clear_outcome),
        cmocka_unit_test(test_failed_call_clears_result),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_decode_example_roundtrip),
        cmocka_unit_test(test_decode_values),
        cmocka_unit_test(test_decode_errors),
        cmocka_unit_test(test_decode_offsets),
    };
#ifdef ICBU_REFLOW_CRYPTO_PSA
    if (psa_crypto_init() != PSA_SUCCESS) return 1;   /* the application's part, not the library's */
#endif
    return cmocka_run_group_tests(tests, NULL, NULL);
}
