/* A second TOP method, defined in this test only: its field lists and one
 * descriptor line are all it takes. The request is written, signed, decoded
 * back; its answer is parsed from each of its shapes and through a whole
 * exchange; and the order's own calls still work in the same program.
 * toy_body_<method>.txt goes to the directory given, for tests/check_toy.py
 * (Python's json, hashlib, hmac and urllib.parse) to verify. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#define ICBU_FIELDS_toy_item(X) \
    X(toy_item, STR,  sku,   none) \
    X(toy_item, NUM,  qty,   none) \
    X(toy_item, STR,  name_at_the_key_limit_of_the_reader_sixty_four_bytes_long_xxxxxx, none)   /* 64 bytes: the longest a name may be */
#define ICBU_FIELDS_toy_req(X) \
    X(toy_req,  STR,  ticket, none) \
    X(toy_req,  NUM,  count,  none) \
    X(toy_req,  OBJS, items,  toy_item) \
    X(toy_req,  DATE, at,     none) \
    X(toy_req,  STRS, tags,   none)
#define ICBU_FIELDS_toy_res(X) \
    X(toy_res,  BOOL, ok,     none) \
    X(toy_res,  STR,  code,   none) \
    X(toy_res,  OBJ,  echo,   toy_item) \
    X(toy_res,  OBJS, list,   toy_item)
/* A third method's request nests objects four deep, one more than the order:
 * toy_top > deep > mids[] > leaf / leaves[]. */
#define ICBU_FIELDS_toy_leaf(X) \
    X(toy_leaf, STR,  v,      none) \
    X(toy_leaf, STRS, w,      none)
#define ICBU_FIELDS_toy_mid(X) \
    X(toy_mid,  OBJ,  leaf,   toy_leaf) \
    X(toy_mid,  OBJS, leaves, toy_leaf)
#define ICBU_FIELDS_toy_deep(X) \
    X(toy_deep, NUM,  n,      none) \
    X(toy_deep, OBJS, mids,   toy_mid) \
    X(toy_deep, OBJ,  empty,  toy_leaf)
#define ICBU_FIELDS_toy_top(X) \
    X(toy_top,  OBJ,  deep,   toy_deep) \
    X(toy_top,  STR,  id,     none)
/* A fourth nests lists of objects 8 deep, the most a schema may (toy_l7 >
 * l[] > ... > toy_l0 > s[]): the longest field path there can be. */
#define ICBU_FIELDS_toy_l0(X) X(toy_l0, STRS, s, none)
#define ICBU_FIELDS_toy_l1(X) X(toy_l1, OBJS, l, toy_l0)
#define ICBU_FIELDS_toy_l2(X) X(toy_l2, OBJS, l, toy_l1)
#define ICBU_FIELDS_toy_l3(X) X(toy_l3, OBJS, l, toy_l2)
#define ICBU_FIELDS_toy_l4(X) X(toy_l4, OBJS, l, toy_l3)
#define ICBU_FIELDS_toy_l5(X) X(toy_l5, OBJS, l, toy_l4)
#define ICBU_FIELDS_toy_l6(X) X(toy_l6, OBJS, l, toy_l5)
#define ICBU_FIELDS_toy_l7(X) X(toy_l7, OBJS, l, toy_l6) X(toy_l7, STR, id, none)
#define ICBU_EXTRA_TYPES(X) X(toy_item) X(toy_req) X(toy_res) X(toy_leaf) X(toy_mid) X(toy_deep) X(toy_top) \
    X(toy_l0) X(toy_l1) X(toy_l2) X(toy_l3) X(toy_l4) X(toy_l5) X(toy_l6) X(toy_l7)
/* "a_toy_request" sorts before every system parameter, where the order's sorts third. */
#define ICBU_EXTRA_METHODS(X) \
    X(toy_ping, "taobao.toy.ping", a_toy_request, toy_req, ticket, taobao_toy_ping_response, toy_res) \
    X(toy_deep, "taobao.toy.deep", deep_request, toy_top, id, taobao_toy_deep_response, toy_res) \
    X(toy_lists, "taobao.toy.lists", lists_request, toy_l7, id, taobao_toy_lists_response, toy_l7)

#define ICBU_REFLOW_IMPLEMENTATION
#include "icbu_reflow.h"
#include "example_order.h"
#include "out_file.h"


static void toy_build(icbu_toy_req *q, icbu_toy_item items[2], icbu_str tags[2]) {
    memset(q, 0, sizeof *q);
    memset(items, 0, 2 * sizeof items[0]);
    items[0].sku = icbu_s("a"); items[0].qty = icbu_n(1);
    items[1].sku = icbu_s("b \"q\" \xE5\xBC\xA0"); items[1].qty = icbu_n(-2);
    tags[0] = icbu_s("x y"); tags[1] = icbu_s("&=+");
    q->ticket = icbu_s("T-1");
    q->count = icbu_n(3);
    q->items.p = items; q->items.n = 2;
    q->at = icbu_d(2026, 11, 28, 12, 0, 0);
    q->tags.p = tags; q->tags.n = 2;
}
#define TOY_JSON "{\"ticket\":\"T-1\",\"count\":3,\"items\":[{\"sku\":\"a\",\"qty\":1}," \
                 "{\"sku\":\"b \\\"q\\\" \xE5\xBC\xA0\",\"qty\":-2}],\"at\":\"2026-11-28 12:00:00\"," \
                 "\"tags\":[\"x y\",\"&=+\"]}"

static void test_descriptor(void **state) {
    const icbu_method *m = icbu_method_get(ICBU_METHOD_toy_ping), *o = icbu_method_get(ICBU_METHOD_order_callback);
    (void)state;
    assert_non_null(m);
    assert_string_equal(m->name, "taobao.toy.ping");
    assert_string_equal(m->param, "a_toy_request");
    assert_string_equal(m->key, "ticket");
    assert_string_equal(o->name, "alibaba.finance.insurance.icbu.insure.order.callback");
    assert_string_equal(o->param, "insured_order_reflow_request");
    assert_int_equal(ICBU_METHOD_COUNT, 4);
    assert_null(icbu_method_get(ICBU_METHOD_COUNT));
}

static void test_json_and_decode(void **state) {
    const icbu_method *m = icbu_method_get(ICBU_METHOD_toy_ping);
    icbu_toy_req q;
    icbu_toy_item items[2];
    icbu_str tags[2];
    char buf[512], again[512];
    union { unsigned char b[1024]; int64_t i; void *p; } arena;
    const void *dec = NULL;
    size_t n, need, n2, used;
    icbu_err e;
    (void)state;
    toy_build(&q, items, tags);
    assert_int_equal(icbu_request_json(m, &q, NULL, 0, &need, &e), ICBU_OK);
    assert_int_equal(icbu_request_json(m, &q, buf, sizeof buf, &n, &e), ICBU_OK);
    assert_int_equal(n, need);
    assert_int_equal(n, strlen(TOY_JSON));
    assert_memory_equal(buf, TOY_JSON, n);
    /* decoded back into structs of the toy's types, and written again: the same bytes */
    assert_int_equal(icbu_decode_request(m, buf, n, arena.b, sizeof arena.b, &dec, &used, &e), ICBU_OK);
    assert_int_equal(((const icbu_toy_req *)dec)->items.n, 2);
    assert_int_equal(((const icbu_toy_req *)dec)->items.p[1].qty.v, -2);
    assert_int_equal(icbu_request_json(m, dec, again, sizeof again, &n2, &e), ICBU_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(again, buf, n);
    {   /* a name of 64 bytes, the longest the reader matches (one more does not compile) */
        static const char j[] = "{\"items\":[{\"name_at_the_key_limit_of_the_reader_sixty_four_bytes_long_xxxxxx\":\"L\"}]}";
        assert_int_equal(icbu_decode_request(m, j, sizeof j - 1, arena.b, sizeof arena.b, &dec, &used, &e), ICBU_OK);
        assert_int_equal(((const icbu_toy_req *)dec)->items.p[0].name_at_the_key_limit_of_the_reader_sixty_four_bytes_long_xxxxxx.n, 1);
        assert_int_equal(icbu_request_json(m, dec, again, sizeof again, &n2, &e), ICBU_OK);
        assert_int_equal(n2, sizeof j - 1);
        assert_memory_equal(again, j, n2);
    }
    /* the toy's own field paths in errors */
    assert_int_equal(icbu_decode_request(m, "{\"items\":[{\"sku\":1}]}", 20, arena.b, sizeof arena.b,
                                         &dec, &used, &e), ICBU_E_TYPE);
    assert_string_equal(e.path, "items[0].sku");
    items[1].sku = icbu_s("\xFF");
    assert_int_equal(icbu_request_json(m, &q, buf, sizeof buf, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, "items[1].sku");
}

/* Four levels of objects, in lists and not, empty ones included: written in
 * the writer's one frame, read back, and an error's path from the deepest. */
#define TOY_DEEP_JSON "{\"deep\":{\"n\":7,\"mids\":[{\"leaf\":{\"v\":\"a\",\"w\":[\"x\",null]},\"leaves\":[]}," \
                      "{\"leaves\":[{\"v\":\"b\"},{\"w\":[\"y\",\"z\"]}]},{}],\"empty\":{}},\"id\":\"D-1\"}"
static void test_deep_request(void **state) {
    const icbu_method *m = icbu_method_get(ICBU_METHOD_toy_deep);
    icbu_toy_top top;
    icbu_toy_deep deep;
    icbu_toy_mid mids[3];
    icbu_toy_leaf leaf, leaves[2], empty;
    icbu_str w0[2], w1[2];
    char buf[512], again[512];
    union { unsigned char b[2048]; int64_t i; void *p; } arena;
    const void *dec = NULL;
    size_t n, n2, need, used;
    icbu_err e;
    (void)state;
    memset(&top, 0, sizeof top); memset(&deep, 0, sizeof deep); memset(mids, 0, sizeof mids);
    memset(&leaf, 0, sizeof leaf); memset(leaves, 0, sizeof leaves); memset(&empty, 0, sizeof empty);
    w0[0] = icbu_s("x"); w0[1] = icbu_sn(NULL, 0);
    w1[0] = icbu_s("y"); w1[1] = icbu_s("z");
    leaf.v = icbu_s("a"); leaf.w.p = w0; leaf.w.n = 2;
    leaves[0].v = icbu_s("b"); leaves[1].w.p = w1; leaves[1].w.n = 2;
    mids[0].leaf = &leaf; mids[0].leaves.p = leaves; mids[0].leaves.n = 0;   /* [] */
    mids[1].leaves.p = leaves; mids[1].leaves.n = 2;                          /* mids[2]: {} */
    deep.n = icbu_n(7); deep.mids.p = mids; deep.mids.n = 3; deep.empty = &empty;
    top.deep = &deep; top.id = icbu_s("D-1");
    assert_int_equal(icbu_request_json(m, &top, NULL, 0, &need, &e), ICBU_OK);
    assert_int_equal(icbu_request_json(m, &top, buf, sizeof buf, &n, &e), ICBU_OK);
    assert_int_equal(n, need);
    assert_int_equal(n, strlen(TOY_DEEP_JSON));
    assert_memory_equal(buf, TOY_DEEP_JSON, n);
    assert_int_equal(icbu_decode_request(m, buf, n, arena.b, sizeof arena.b, &dec, &used, &e), ICBU_OK);
    assert_int_equal(((const icbu_toy_top *)dec)->deep->mids.p[1].leaves.p[1].w.n, 2);
    assert_int_equal(icbu_request_json(m, dec, again, sizeof again, &n2, &e), ICBU_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(again, buf, n);
    /* a bad string at each depth: its path from the top */
    w1[1] = icbu_s("\xC3");
    assert_int_equal(icbu_request_json(m, &top, buf, sizeof buf, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, "deep.mids[1].leaves[1].w[1]");
    leaves[0].v = icbu_s("\xFF");
    assert_int_equal(icbu_request_json(m, &top, buf, sizeof buf, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, "deep.mids[1].leaves[0].v");
    leaf.v = icbu_s("\xED\xA0\x80");                   /* a surrogate */
    assert_int_equal(icbu_request_json(m, &top, buf, sizeof buf, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, "deep.mids[0].leaf.v");
    top.id = icbu_s("\xFF");                           /* after the deep part, at the top */
    leaf.v = icbu_s("a"); leaves[0].v = icbu_s("b"); w1[1] = icbu_s("z");
    assert_int_equal(icbu_request_json(m, &top, buf, sizeof buf, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, "id");
}

/* The longest path: lists of objects 8 deep, then a list of strings. An error
 * at the bottom names every step, the same from the writer, the decoder and
 * the answer's reader (which adds envelope and result). */
static void test_longest_path(void **state) {
    const icbu_method *m = icbu_method_get(ICBU_METHOD_toy_lists);
    static const char want[] = "l[0].l[0].l[0].l[0].l[0].l[0].l[0].s[1]";
    icbu_toy_l0 l0; icbu_toy_l1 l1; icbu_toy_l2 l2; icbu_toy_l3 l3;
    icbu_toy_l4 l4; icbu_toy_l5 l5; icbu_toy_l6 l6; icbu_toy_l7 l7;
    icbu_str s[2];
    char buf[512], json[512], answer[600];
    union { unsigned char b[2048]; int64_t i; void *p; } arena;
    const void *dec = NULL;
    icbu_outcome out;
    size_t n, used;
    icbu_err e;
    (void)state;
    memset(&l7, 0, sizeof l7);
    s[0] = icbu_s("ok"); s[1] = icbu_s("\xC0\xAF");                   /* overlong: not UTF-8 */
    l0.s.p = s; l0.s.n = 2;
    l1.l.p = &l0; l1.l.n = 1; l2.l.p = &l1; l2.l.n = 1; l3.l.p = &l2; l3.l.n = 1;
    l4.l.p = &l3; l4.l.n = 1; l5.l.p = &l4; l5.l.n = 1; l6.l.p = &l5; l6.l.n = 1;
    l7.l.p = &l6; l7.l.n = 1;
    assert_int_equal(icbu_request_json(m, &l7, buf, sizeof buf, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, want);
    /* the same JSON with a lone surrogate there */
    s[1] = icbu_s("x");
    assert_int_equal(icbu_request_json(m, &l7, json, sizeof json, &n, &e), ICBU_OK);
    json[n] = 0;
    assert_non_null(strstr(json, "[\"ok\",\"x\"]"));
    memcpy(strstr(json, "\"x\"") + 1, "\\uDC00", 6);
    memmove(strstr(json, "\\uDC00") + 6, strstr(json, "\\uDC00") + 1, strlen(strstr(json, "\\uDC00") + 1) + 1);
    assert_int_equal(icbu_decode_request(m, json, strlen(json), arena.b, sizeof arena.b, &dec, &used, &e),
                     ICBU_E_UTF8);
    assert_string_equal(e.path, want);
    snprintf(answer, sizeof answer, "{\"taobao_toy_lists_response\":{\"result\":%s}}", json);
    assert_int_equal(icbu_parse_answer(m, answer, strlen(answer), arena.b, sizeof arena.b, &dec, &out, &e),
                     ICBU_E_UTF8);
    assert_string_equal(e.path, "taobao_toy_lists_response.result.l[0].l[0].l[0].l[0].l[0].l[0].l[0].s[1]");
}

static void test_sign_request(void **state) {
    static const char *const names[] = { "hmac-sha256", "hmac", "md5" };
    const icbu_method *m = icbu_method_get(ICBU_METHOD_toy_ping);
    icbu_toy_req q;
    icbu_toy_item items[2];
    icbu_str tags[2];
    icbu_config c;
    char buf[2048], fname[64];
    size_t n, need;
    int k;
    (void)state;
    toy_build(&q, items, tags);
    for (k = 0; k < 3; k++) {
        example_config(&c, (icbu_sign_method)k);
        assert_int_equal(icbu_sign_request(&c, m, &q, NULL, 0, &need, NULL), ICBU_OK);
        assert_int_equal(icbu_sign_request(&c, m, &q, buf, sizeof buf, &n, NULL), ICBU_OK);
        assert_int_equal(n, need);
        assert_memory_equal(buf, "a_toy_request=%7B%22ticket%22%3A%22T-1%22", 41);   /* first: sorts first */
        buf[n] = 0;
        assert_non_null(strstr(buf, "&app_key=12345678&format=json&method=taobao.toy.ping&sign_method="));
        snprintf(fname, sizeof fname, "toy_body_%s.txt", names[k]);
        write_file(fname, buf, n);
    }
    /* no request: the system parameters alone */
    assert_int_equal(icbu_sign_request(&c, m, NULL, buf, sizeof buf, &n, NULL), ICBU_OK);
    assert_memory_equal(buf, "app_key=12345678&format=json&method=taobao.toy.ping&sign_method=md5&", 68);
}

#define TOY_OK "{\"taobao_toy_ping_response\":{\"result\":{\"ok\":true,\"code\":\"C\\u00e9\"," \
               "\"echo\":{\"sku\":\"z\",\"qty\":9},\"extra\":[1]},\"request_id\":\"r9\"}}"

static void test_parse_answer(void **state) {
    const icbu_method *m = icbu_method_get(ICBU_METHOD_toy_ping);
    union { unsigned char b[512]; int64_t i; void *p; } arena;
    char body[256];
    const void *res = NULL;
    const icbu_toy_res *r;
    icbu_outcome out;
    icbu_err e;
    size_t need, cap;
    (void)state;
    strcpy(body, TOY_OK);
    assert_int_equal(icbu_parse_answer(m, body, strlen(body), arena.b, sizeof arena.b, &res, &out, &e), ICBU_OK);
    r = (const icbu_toy_res *)res;
    assert_int_equal(out.kind, ICBU_ACCEPTED);
    assert_int_equal(out.request_id.n, 2);
    assert_memory_equal(out.request_id.p, "r9", 2);
    assert_true(r->ok.set && r->ok.v);
    assert_int_equal(r->code.n, 3);
    assert_memory_equal(r->code.p, "C\xC3\xA9", 3);
    assert_non_null(r->echo);
    assert_int_equal(r->echo->qty.v, 9);
    assert_null(out.insure_id.p);                       /* the order's fields stay empty */
    /* simplify=true: no envelope */
    strcpy(body, "{\"result\":{\"ok\":false},\"request_id\":\"r1\"}");
    assert_int_equal(icbu_parse_answer(m, body, strlen(body), arena.b, sizeof arena.b, &res, &out, &e), ICBU_OK);
    assert_int_equal(out.kind, ICBU_ACCEPTED);
    assert_false(((const icbu_toy_res *)res)->ok.v);
    /* the platform's error */
    strcpy(body, "{\"error_response\":{\"code\":25,\"msg\":\"Invalid signature\",\"request_id\":\"x\"}}");
    assert_int_equal(icbu_parse_answer(m, body, strlen(body), arena.b, sizeof arena.b, &res, &out, &e), ICBU_OK);
    assert_int_equal(out.kind, ICBU_PLATFORM_ERROR);
    assert_int_equal(out.code.v, 25);
    assert_null(res);
    /* the order's envelope is not the toy's: no result, not a TOP answer for this method */
    strcpy(body, "{\"alibaba_finance_insurance_icbu_insure_order_callback_response\":{\"result\":{\"success\":true}}}");
    assert_int_equal(icbu_parse_answer(m, body, strlen(body), arena.b, sizeof arena.b, &res, &out, &e),
                     ICBU_E_RESPONSE);
    /* nor is it when the answer is JSON without a result, or a result without success: found
       once the structs are laid out, yet the body is as it came (not a string unescaped) and
       the outcome is clean (no request_id half made) */
    {
        static const char *const shapeless[] = {
            "{\"taobao_toy_ping_response\":{\"request_id\":\"a\\\"b\\u0041\"}}",
            "{\"request_id\":\"r\\u0031\",\"x\":\"\\n\"}",
        };
        size_t i;
        for (i = 0; i < 2; i++) {
            strcpy(body, shapeless[i]);
            res = body;
            assert_int_equal(icbu_parse_answer(m, body, strlen(body), arena.b, sizeof arena.b, &res, &out, &e),
                             ICBU_E_RESPONSE);
            assert_string_equal(body, shapeless[i]);
            assert_null(res);
            assert_int_equal(out.kind, ICBU_NONE);
            assert_null(out.request_id.p); assert_int_equal(out.request_id.n, 0);
        }
        /* the order's: a result without success */
        strcpy(body, "{\"result\":{\"insure_id\":\"\\u0041\\t1\"},\"request_id\":\"\\\"r\\\"\"}");
        assert_int_equal(icbu_parse_answer(icbu_method_get(ICBU_METHOD_order_callback), body, strlen(body),
                                           arena.b, sizeof arena.b, &res, &out, &e), ICBU_E_RESPONSE);
        assert_string_equal(body, "{\"result\":{\"insure_id\":\"\\u0041\\t1\"},\"request_id\":\"\\\"r\\\"\"}");
        assert_null(res);
        assert_null(out.insure_id.p); assert_null(out.request_id.p);
    }
    /* an arena too small: the size needed, the same at every size */
    strcpy(body, TOY_OK);
    assert_int_equal(icbu_parse_answer(m, body, strlen(body), arena.b, 8, &res, &out, &e), ICBU_E_NOSPACE);
    need = e.need;
    assert_true(need > 8 && need <= sizeof arena.b);
    for (cap = 0; cap < need; cap++) {
        strcpy(body, TOY_OK);
        assert_int_equal(icbu_parse_answer(m, body, strlen(body), arena.b, cap, &res, &out, &e), ICBU_E_NOSPACE);
        assert_int_equal(e.need, need);
    }
    strcpy(body, TOY_OK);
    assert_int_equal(icbu_parse_answer(m, body, strlen(body), arena.b, need, &res, &out, &e), ICBU_OK);
    /* a failed call leaves the body as it came (TOY_OK has an escape, "C\u00e9"): a
       sizing call, then one with e.need bytes, on the same text, reads it right */
    strcpy(body, TOY_OK);
    assert_int_equal(icbu_parse_answer(m, body, strlen(body), NULL, 0, &res, &out, &e), ICBU_E_NOSPACE);
    assert_int_equal(e.need, need);
    assert_string_equal(body, TOY_OK);
    assert_int_equal(icbu_parse_answer(m, body, strlen(body), arena.b, need - 1, &res, &out, &e), ICBU_E_NOSPACE);
    assert_string_equal(body, TOY_OK);
    assert_int_equal(icbu_parse_answer(m, body, strlen(body), arena.b, e.need, &res, &out, &e), ICBU_OK);
    assert_memory_equal(((const icbu_toy_res *)res)->code.p, "C\xC3\xA9", 3);
    strcpy(body, "{\"taobao_toy_ping_response\":{\"result\":{\"code\":\"A\\\"B\",\"ok\":1}}}");
    assert_int_equal(icbu_parse_answer(m, body, strlen(body), arena.b, sizeof arena.b, &res, &out, &e), ICBU_E_TYPE);
    assert_string_equal(body, "{\"taobao_toy_ping_response\":{\"result\":{\"code\":\"A\\\"B\",\"ok\":1}}}");
}

/* A transport that takes the request and answers with a fixed response. */
typedef struct toy_io { char sent[4096]; size_t sent_n, pos; const char *in; size_t n; } toy_io;
static long io_send(void *ctx, const unsigned char *p, size_t n, uint32_t ms) {
    toy_io *x = (toy_io *)ctx;
    (void)ms;
    if (n > sizeof x->sent - x->sent_n) n = sizeof x->sent - x->sent_n;
    memcpy(x->sent + x->sent_n, p, n);
    x->sent_n += n;
    return (long)n;
}
static long io_recv(void *ctx, unsigned char *p, size_t n, uint32_t ms) {
    toy_io *x = (toy_io *)ctx;
    size_t k = x->n - x->pos;
    (void)ms;
    if (k > n) k = n;
    memcpy(p, x->in + x->pos, k);
    x->pos += k;
    return (long)k;
}
static int io_open(void *ctx, const icbu_url *u, uint32_t ms, icbu_stage *st) {
    (void)ctx; (void)u; (void)ms; (void)st;
    return 0;
}
static void io_close(void *ctx) { (void)ctx; }

static void test_exchange(void **state) {
    const icbu_method *m = icbu_method_get(ICBU_METHOD_toy_ping);
    icbu_toy_req q;
    icbu_toy_item items[2];
    icbu_str tags[2];
    icbu_config c;
    icbu_url u;
    icbu_transport t;
    icbu_outcome out;
    icbu_retry r;
    icbu_err e;
    toy_io x;
    const void *res = NULL;
    union { char b[4096]; int64_t i; void *p; } arena;
    char resp[512];
    (void)state;
    toy_build(&q, items, tags);
    example_config(&c, ICBU_SIGN_HMAC_SHA256);
    assert_int_equal(icbu_url_parse("http://127.0.0.1:9/router/rest", &u), ICBU_OK);
    snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n%s", (unsigned)strlen(TOY_OK), TOY_OK);
    memset(&x, 0, sizeof x);
    x.in = resp; x.n = strlen(resp);
    memset(&t, 0, sizeof t);
    t.ctx = &x; t.send = io_send; t.recv = io_recv; t.open = io_open; t.close = io_close;
    assert_int_equal(icbu_call_exchange(&c, m, &q, &res, &u, &t, 1000, arena.b, sizeof arena.b, &out, &e), ICBU_OK);
    assert_int_equal(out.kind, ICBU_ACCEPTED);
    assert_int_equal(((const icbu_toy_res *)res)->echo->qty.v, 9);
    assert_true((const char *)res >= arena.b && (const char *)res < arena.b + sizeof arena.b);
    x.sent[x.sent_n] = 0;
    assert_non_null(strstr(x.sent, "\r\n\r\na_toy_request=%7B%22ticket%22"));
    {   /* too small an arena: e.need is the whole arena's, the result's structs after the
           answer included (40 items: more than the reserve the arena keeps past the
           answer), so that a call with e.need bytes goes further: the reserve, the request,
           the answer, its structs */
        static char big[4096];
        size_t cap, calls, k, n;
        icbu_status st;
        n = (size_t)snprintf(big, sizeof big, "{\"taobao_toy_ping_response\":{\"result\":{\"ok\":true,\"list\":[");
        for (k = 0; k < 40; k++)
            n += (size_t)snprintf(big + n, sizeof big - n, "%s{\"sku\":\"s\",\"qty\":%u}", k ? "," : "", (unsigned)k);
        n += (size_t)snprintf(big + n, sizeof big - n, "]}}}");
        memmove(big + 64, big, n + 1);
        k = (size_t)snprintf(big, 64, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", (unsigned)n);
        memmove(big + k, big + 64, n + 1);
        x.in = big; x.n = strlen(big);
        for (cap = 1, calls = 0; ; calls++) {
            assert_true(calls < 5);
            x.pos = 0; x.sent_n = 0;
            st = icbu_call_exchange(&c, m, &q, &res, &u, &t, 1000, arena.b, cap, &out, &e);
            if (st == ICBU_OK) break;
            if (st != ICBU_E_NOSPACE && st != ICBU_E_HTTP_TOOBIG) fail_msg("cap %u: %s", (unsigned)cap, icbu_strerror(st));
            if (e.need <= cap) fail_msg("cap %u: %s, need %u", (unsigned)cap, icbu_strerror(st), (unsigned)e.need);
            cap = e.need;
        }
        assert_int_equal(((const icbu_toy_res *)res)->list.n, 40);
        assert_int_equal(((const icbu_toy_res *)res)->list.p[39].qty.v, 39);
        x.pos = 0; x.sent_n = 0;                     /* a byte less: the structs do not fit */
        assert_int_equal(icbu_call_exchange(&c, m, &q, &res, &u, &t, 1000, arena.b, cap - 1, &out, &e),
                         ICBU_E_NOSPACE);
        assert_int_equal(e.need, cap);
        x.in = resp; x.n = strlen(resp); x.pos = 0; x.sent_n = 0;
    }
    assert_non_null(strstr(x.sent, "&method=taobao.toy.ping&"));
    /* retries need the method's idempotency key, ticket */
    memset(&r, 0, sizeof r);
    r.attempts = 3;
    q.ticket = icbu_s(NULL);
    assert_int_equal(icbu_call_report(&c, m, &q, &res, &u, &t, &r, 1000, arena.b, sizeof arena.b, &out, &e),
                     ICBU_E_NO_BIZ_ID);
    q.ticket = icbu_s("T-2");
    x.pos = 0; x.sent_n = 0;
    assert_int_equal(icbu_call_report(&c, m, &q, &res, &u, &t, &r, 1000, arena.b, sizeof arena.b, &out, &e), ICBU_OK);
    assert_int_equal(out.attempts, 1);
    assert_true(((const icbu_toy_res *)res)->ok.v);
}

/* The order's calls in the same program are untouched by the second method. */
static void test_order_unchanged(void **state) {
    example_order o;
    icbu_config c;
    char buf[8192];
    size_t n;
    (void)state;
    example_order_build(&o);
    example_config(&c, ICBU_SIGN_MD5);
    assert_int_equal(icbu_sign_body(&c, &o.o, buf, sizeof buf, &n, NULL), ICBU_OK);
    assert_memory_equal(buf, "app_key=12345678&format=json&insured_order_reflow_request=%7B%22insured_alipay_account%22", 89);
    write_file("toy_order_body_md5.txt", buf, n);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_json_and_decode),
        cmocka_unit_test(test_deep_request),
        cmocka_unit_test(test_longest_path),
        cmocka_unit_test(test_sign_request),
        cmocka_unit_test(test_parse_answer),
        cmocka_unit_test(test_exchange),
        cmocka_unit_test(test_order_unchanged),
    };
    if (argc > 1) out_dir = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
