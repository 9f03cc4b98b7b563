/* Unit tests of the core: model, JSON writer, form body, signing, dates.
 * Built once per hash back end (see the Makefile). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define ICBU_REFLOW_IMPLEMENTATION
#include "icbu_reflow.h"
#include "example_order.h"
#include "vectors.h"
#include "dates.h"
#include "out_file.h"

#define GUARD 64

/* -------------------------------------------------------------- signing */
static void test_published_vectors(void **state) {
    size_t i, k;
    (void)state;
    for (i = 0; i < sizeof tvecs / sizeof tvecs[0]; i++) {
        icbu_param p[16];
        char hex[65];
        icbu_err e;
        for (k = 0; k < tvecs[i].n; k++) { p[k].name = tvecs[i].kv[k][0]; p[k].value = icbu_s(tvecs[i].kv[k][1]); }
        assert_int_equal(icbu_sign_params(tvecs[i].secret, tvecs[i].m, p, tvecs[i].n, hex, &e), ICBU_OK);
        assert_string_equal(hex, tvecs[i].sign);
    }
}

static void hmac_case(const char *key, const char *msg, size_t msglen, icbu_sign_method m, const char *want) {
    icbu_param p;
    char hex[65];
    p.name = "";
    p.value = icbu_sn(msg, msglen);
    assert_int_equal(icbu_sign_params(key, m, &p, 1, hex, NULL), ICBU_OK);
    assert_memory_equal(hex, want, strlen(want));      /* RFC 4231 case 5 is truncated */
}
static void fill(char *b, int c, size_t n) { memset(b, c, n); b[n] = 0; }

static void test_rfc2202_hmac_md5(void **state) {
    char k[140], d[60], k25[26];
    int i;
    (void)state;
    for (i = 0; i < 25; i++) k25[i] = (char)(i + 1);
    k25[25] = 0;
    fill(k, 0x0b, 16); hmac_case(k, "Hi There", 8, ICBU_SIGN_HMAC, "9294727A3638BB1C13F48EF8158BFC9D");
    hmac_case("Jefe", "what do ya want for nothing?", 28, ICBU_SIGN_HMAC, "750C783E6AB0B503EAA86E310A5DB738");
    fill(k, 0xaa, 16); fill(d, 0xdd, 50); hmac_case(k, d, 50, ICBU_SIGN_HMAC, "56BE34521D144C88DBB8C733F0E8B3F6");
    fill(d, 0xcd, 50); hmac_case(k25, d, 50, ICBU_SIGN_HMAC, "697EAF0ACA3A3AEA3A75164746FFAA79");
    fill(k, 0x0c, 16); hmac_case(k, "Test With Truncation", 20, ICBU_SIGN_HMAC, "56461EF2342EDC00F9BAB995690EFD4C");
    fill(k, 0xaa, 80);
    hmac_case(k, "Test Using Larger Than Block-Size Key - Hash Key First", 54, ICBU_SIGN_HMAC,
              "6B1AB7FE4BD7BF8F0B62E6CE61B9D0CD");
    hmac_case(k, "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data", 73,
              ICBU_SIGN_HMAC, "6F630FAD67CDA0EE1FB1F562DB3AA53E");
}

/* Keys of exactly one block (used as they are) and one byte more (hashed
 * first); the expected values are Python's hmac over "a1b2". */
static void test_hmac_key_block_edges(void **state) {
    char k[70];
    (void)state;
    fill(k, 'k', 64);
    hmac_case(k, "a1b2", 4, ICBU_SIGN_HMAC, "7D2F7E40CD94414B43C3E4D80E229C60");
    hmac_case(k, "a1b2", 4, ICBU_SIGN_HMAC_SHA256, "72E4AE9E682D205B1CBF909811B33D3448FF51DDBB2D44AB0E639C06409E5DB8");
    fill(k, 'k', 65);
    hmac_case(k, "a1b2", 4, ICBU_SIGN_HMAC, "E3896B7DD0DC40285A6757FA3F3E8ABE");
    hmac_case(k, "a1b2", 4, ICBU_SIGN_HMAC_SHA256, "E49008659CCCC591AAE744CA96C64C2352E4AD73A4E6EBC721D5A9E6604B8221");
}

static void test_rfc4231_hmac_sha256(void **state) {
    char k[140], d[60], k25[26];
    const char *long_msg = "This is a test using a larger than block-size key and a larger than block-size data. "
                           "The key needs to be hashed before being used by the HMAC algorithm.";
    int i;
    (void)state;
    for (i = 0; i < 25; i++) k25[i] = (char)(i + 1);
    k25[25] = 0;
    fill(k, 0x0b, 20);
    hmac_case(k, "Hi There", 8, ICBU_SIGN_HMAC_SHA256, "B0344C61D8DB38535CA8AFCEAF0BF12B881DC200C9833DA726E9376C2E32CFF7");
    hmac_case("Jefe", "what do ya want for nothing?", 28, ICBU_SIGN_HMAC_SHA256,
              "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843");
    fill(k, 0xaa, 20); fill(d, 0xdd, 50);
    hmac_case(k, d, 50, ICBU_SIGN_HMAC_SHA256, "773EA91E36800E46854DB8EBD09181A72959098B3EF8C122D9635514CED565FE");
    fill(d, 0xcd, 50);
    hmac_case(k25, d, 50, ICBU_SIGN_HMAC_SHA256, "82558A389A443C0EA4CC819899F2083A85F0FAA3E578F8077A2E3FF46729665B");
    fill(k, 0x0c, 20);
    hmac_case(k, "Test With Truncation", 20, ICBU_SIGN_HMAC_SHA256, "A3B6167473100EE06E0C796C2955552B");
    fill(k, 0xaa, 131);
    hmac_case(k, "Test Using Larger Than Block-Size Key - Hash Key First", 54, ICBU_SIGN_HMAC_SHA256,
              "60E431591EE0B67F0D8A26AACBF5B77F8E0BC6213728C5140546040F0EE37F54");
    hmac_case(k, long_msg, strlen(long_msg), ICBU_SIGN_HMAC_SHA256,
              "9B09FFA71B942FCB27635FBCD5B0E944BFDC63644F0713938A7F51535C3A35E2");
}

static void test_sign_params_rules(void **state) {
    icbu_param p[3];
    char a[65], b[65];
    icbu_err e;
    (void)state;
    /* order of the array does not matter; blank values are not signed */
    p[0].name = "b"; p[0].value = icbu_s("2");
    p[1].name = "a"; p[1].value = icbu_s("1");
    p[2].name = "c"; p[2].value = icbu_s(" \t");
    assert_int_equal(icbu_sign_params("s", ICBU_SIGN_MD5, p, 3, a, NULL), ICBU_OK);
    assert_int_equal(icbu_sign_params("s", ICBU_SIGN_MD5, p, 2, b, NULL), ICBU_OK);
    assert_string_equal(a, b);
    /* md5("s" + "a1b2" + "s"), computed with python hashlib */
    assert_string_equal(a, "5EE29085AF57D942F21F1C5BA3C2A90A");
    p[2].name = "a";
    assert_int_equal(icbu_sign_params("s", ICBU_SIGN_MD5, p, 3, a, &e), ICBU_E_ARG);
    assert_int_equal(e.status, ICBU_E_ARG);
    assert_int_equal(icbu_sign_params(NULL, ICBU_SIGN_MD5, p, 1, a, &e), ICBU_E_ARG);
    /* "" is no secret either, as for icbu_sign_body: it signed with none */
    assert_int_equal(icbu_sign_params("", ICBU_SIGN_HMAC_SHA256, p, 1, a, &e), ICBU_E_ARG);
    assert_int_equal(icbu_sign_params("", ICBU_SIGN_MD5, p, 1, a, &e), ICBU_E_ARG);
    assert_int_equal(icbu_sign_params("s", (icbu_sign_method)7, p, 1, a, &e), ICBU_E_ARG);
}

/* ---------------------------------------------------------- example order */
static const char example_json[] =
    "{\"insured_alipay_account\":\"12344\",\"insure_time\":\"2022-10-11 00:00:00\",\"amount\":10"
    ",\"external_biz_id\":\"12345\",\"insured\":{\"birthday\":\"20221001\",\"license_no\":\"1111"
    "11111111111111\",\"license_valid_time_util\":\"20251001\",\"address\":\"xxx road\",\"gender"
    "\":\"male\",\"alipay_account_id\":\"11111\",\"ali_id\":\"3664297069\",\"license_valid_time_"
    "from\":\"20200101\",\"license_type\":\"PASSPORT\",\"phone\":\"11111111111\",\"customer_id\""
    ":{\"ali_id\":3664297069},\"name\":\"\345\274\240\344\270\211\",\"email\":\"baocgs01lastname"
    "@yougen.site\"},\"open_id\":\"icbu_cargo_insurance\",\"applicant_alipay_account\":\"1111\","
    "\"premium_rate\":\"0.1\",\"memo\":\"xxx\",\"echo\":\"xxx\",\"precision_premium\":\"0.2\",\""
    "subject_matter_info\":{\"order_id\":\"2344555\",\"seller_alipay_account\":\"222222\",\"sell"
    "er_login_id\":\"22ss\",\"buyer_id\":\"222\",\"buyer_login_id\":\"22dd\",\"order_amount\":10"
    ",\"seller_id\":\"2222\",\"order_time\":\"2022-10-01 00:00:00\",\"goods_item_list\":[{\"item"
    "_type\":\"xxx\",\"item_quantity\":11,\"item_currency\":\"USD\",\"item_code\":\"123\",\"item"
    "_price\":\"123\",\"item_desc\":\"xxx\",\"item_url_list\":[\"xxx\",\"sss\"]}],\"order_title\""
    ":\"xxx\",\"platform_name\":\"Alibaba\",\"order_category\":\"xxx\",\"buyer_alipay_account\":"
    "\"xxxx\"},\"applicant\":{\"birthday\":\"20221001\",\"license_no\":\"111111111111111111\",\""
    "license_valid_time_util\":\"20221001\",\"address\":\"xxx\",\"gender\":\"male\",\"alipay_acc"
    "ount_id\":\"11111\",\"ali_id\":\"3664297069\",\"license_valid_time_from\":\"20201001\",\"li"
    "cense_type\":\"ID card\",\"phone\":\"11111111111\",\"customer_id\":{\"ali_id\":3664297069},"
    "\"name\":\"\345\274\240\344\270\211\",\"email\":\"baocgs01lastname@yougen.site\"},\"major_o"
    "rder\":true,\"institution\":\"DAJIA\",\"insure_period\":1,\"premium\":1,\"expire_time\":\"2"
    "022-02-10 00:00:00\",\"currency\":\"USD\",\"currency_rate\":\"7.2\",\"transfer_stream_info\""
    ":{\"fund_stream\":\"xxx\"}}";

/* icbu_json_string: exact escapes, sizing, every short buffer, bad input. */
static void test_json_string(void **state) {
    static const char in[] = "a\"\\/\b\f\n\r\t\x01\x1f\x7f \xe5\xbc\xa0";
    static const char want[] = "\"a\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001F\x7f \xe5\xbc\xa0\"";
    char buf[64];
    size_t n = 99, need, cap;
    icbu_err e;
    (void)state;
    assert_int_equal(icbu_json_string(in, sizeof in - 1, NULL, 0, &need, &e), ICBU_OK);
    assert_int_equal(need, sizeof want - 1);
    assert_int_equal(icbu_json_string(in, sizeof in - 1, buf, sizeof buf, &n, &e), ICBU_OK);
    assert_int_equal(n, sizeof want - 1);
    assert_memory_equal(buf, want, n);
    for (cap = 0; cap < need; cap++) {
        memset(buf, '#', sizeof buf);
        assert_int_equal(icbu_json_string(in, sizeof in - 1, buf, cap, &n, &e), ICBU_E_NOSPACE);
        assert_int_equal(e.need, need);
        assert_int_equal(buf[cap], '#');
    }
    assert_int_equal(icbu_json_string("", 0, buf, sizeof buf, &n, &e), ICBU_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(buf, "\"\"", 2);
    assert_int_equal(icbu_json_string("x\xff", 2, buf, sizeof buf, &n, &e), ICBU_E_UTF8);
    assert_int_equal(icbu_json_string("\xed\xa0\x80", 3, buf, sizeof buf, &n, &e), ICBU_E_UTF8);
    memset(buf, 0, sizeof buf);
    assert_int_equal(icbu_json_string(NULL, 0, buf, sizeof buf, &n, &e), ICBU_OK);   /* UBSan: no NULL + 0 */
    assert_int_equal(n, 2);
    assert_memory_equal(buf, "\"\"", 2);
    assert_int_equal(icbu_json_string(NULL, 1, buf, sizeof buf, &n, &e), ICBU_E_ARG);
    assert_int_equal(icbu_json_string("x", 1, NULL, 4, &n, &e), ICBU_E_ARG);
    assert_int_equal(icbu_json_string("x", 1, buf, sizeof buf, &n, NULL), ICBU_OK);
}

static void test_example_order_json(void **state) {
    example_order x;
    char buf[4096];
    size_t n, need;
    icbu_err e;
    (void)state;
    example_order_build(&x);
    assert_int_equal(icbu_order_json(&x.o, NULL, 0, &need, &e), ICBU_OK);     /* sizing call */
    assert_int_equal(need, strlen(example_json));
    assert_int_equal(icbu_order_json(&x.o, buf, sizeof buf, &n, &e), ICBU_OK);
    assert_int_equal(n, need);
    assert_memory_equal(buf, example_json, n);
    write_file("example_order.json", buf, n);
}

/* The signed body of the example order under each method, for
 * tests/check_body.py (python hashlib/hmac/urllib.parse) to verify. */
static void test_example_order_body(void **state) {
    static const char *const names[] = { "hmac-sha256", "hmac", "md5" };
    example_order x;
    icbu_config c;
    char buf[8192], fname[64];
    size_t n, need;
    int m;
    (void)state;
    example_order_build(&x);
    for (m = 0; m < 3; m++) {
        example_config(&c, (icbu_sign_method)m);
        assert_int_equal(icbu_sign_body(&c, &x.o, NULL, 0, &need, NULL), ICBU_OK);
        assert_int_equal(icbu_sign_body(&c, &x.o, buf, sizeof buf - 1, &n, NULL), ICBU_OK);
        assert_int_equal(n, need);
        buf[n] = 0;
        assert_memory_equal(buf, "app_key=12345678&format=json&insured_order_reflow_request=%7B%22insured_alipay_account%22", 89);
        assert_non_null(strstr(buf, "&method=alibaba.finance.insurance.icbu.insure.order.callback&sign_method="));
        snprintf(fname, sizeof fname, "example_body_%s.txt", names[m]);
        write_file(fname, buf, n);
    }
    /* optional parameters, when set, are sent in their sorted places */
    example_config(&c, ICBU_SIGN_MD5);
    c.session = "sess"; c.partner_id = "p1"; c.simplify = 1; c.target_app_key = "t9";
    assert_int_equal(icbu_sign_body(&c, NULL, buf, sizeof buf - 1, &n, NULL), ICBU_OK);
    buf[n] = 0;
    {
        const char *want = "app_key=12345678&format=json&method=alibaba.finance.insurance.icbu.insure.order.callback"
                           "&partner_id=p1&session=sess&sign_method=md5&simplify=true&target_app_key=t9"
                           "&timestamp=2026-11-28+12%3A00%3A00&v=2.0&sign=";
        assert_memory_equal(buf, want, strlen(want));
        assert_int_equal(n, strlen(want) + 32);
    }
    assert_int_equal(icbu_sign_body(&c, &x.o, buf, sizeof buf - 1, &n, NULL), ICBU_OK);
    write_file("options_body_md5.txt", buf, n);
    /* blank optional parameters are neither sent nor signed */
    c.session = ""; c.partner_id = "  "; c.simplify = 0; c.target_app_key = NULL;
    assert_int_equal(icbu_sign_body(&c, NULL, buf, sizeof buf - 1, &n, NULL), ICBU_OK);
    buf[n] = 0;
    assert_null(strstr(buf, "session"));
    assert_null(strstr(buf, "partner_id"));
    assert_null(strstr(buf, "simplify"));
}

static void test_sign_body_bad_config(void **state) {
    example_order x;
    icbu_config c;
    icbu_err e;
    char buf[4096];
    size_t n;
    (void)state;
    example_order_build(&x);
    example_config(&c, ICBU_SIGN_HMAC);
    c.app_key = NULL;
    assert_int_equal(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e), ICBU_E_ARG);
    example_config(&c, ICBU_SIGN_HMAC);
    c.app_secret = NULL;
    assert_int_equal(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e), ICBU_E_ARG);
    c.app_secret = "";                      /* no secret either, as the CLI has it */
    assert_int_equal(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e), ICBU_E_ARG);
    assert_int_equal(icbu_sign_body(&c, &x.o, NULL, 0, &n, &e), ICBU_OK);   /* a sizing call needs none */
    example_config(&c, ICBU_SIGN_HMAC);
    c.sign_method = (icbu_sign_method)3;
    assert_int_equal(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e), ICBU_E_ARG);
    example_config(&c, ICBU_SIGN_HMAC);
    c.timestamp.set = 0;
    assert_int_equal(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e), ICBU_E_DATE);
    assert_string_equal(e.path, "timestamp");
    example_config(&c, ICBU_SIGN_HMAC);
    c.timestamp.month = 13;
    assert_int_equal(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e), ICBU_E_DATE);
    assert_int_equal(icbu_sign_body(NULL, &x.o, buf, sizeof buf, &n, &e), ICBU_E_ARG);
    example_config(&c, ICBU_SIGN_HMAC);
    assert_int_equal(icbu_sign_body(&c, &x.o, NULL, 5, &n, &e), ICBU_E_ARG);
    /* system parameters are UTF-8 too; the error names the parameter */
    c.session = "tok\xff";
    assert_int_equal(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, "session");
    example_config(&c, ICBU_SIGN_HMAC);
    c.app_key = "\xc0\x80";
    assert_int_equal(icbu_sign_body(&c, &x.o, NULL, 0, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, "app_key");
    example_config(&c, ICBU_SIGN_HMAC);
    c.partner_id = "p\xed\xa0\x80";                                /* a surrogate */
    assert_int_equal(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, "partner_id");
}

/* ------------------------------------------------------- escaping, UTF-8 */
static void json_of_memo(const char *s, size_t n, char *out, size_t cap, icbu_status want) {
    icbu_order o;
    size_t len = 0;
    icbu_err e;
    memset(&o, 0, sizeof o);
    o.memo = icbu_sn(s, n);
    assert_int_equal(icbu_order_json(&o, out, cap - 1, &len, &e), want);
    if (want == ICBU_OK) out[len] = 0;
    else assert_string_equal(e.path, "memo");
}

/* The same memo signed: the status (and path) must match; on success the body
 * carries the order's JSON percent-encoded by TOP's rule, done here by hand. */
static void form_of_memo(const char *s, size_t n, icbu_status want) {
    static const char hex[] = "0123456789ABCDEF";
    icbu_order o;
    icbu_config c;
    icbu_err e;
    size_t len = 0, k, i;
    char body[2048], json[512], enc[1600];
    memset(&o, 0, sizeof o);
    o.memo = icbu_sn(s, n);
    example_config(&c, ICBU_SIGN_MD5);
    assert_int_equal(icbu_sign_body(&c, &o, body, sizeof body - 1, &len, &e), want);
    if (want != ICBU_OK) { assert_string_equal(e.path, "memo"); return; }
    body[len] = 0;
    assert_int_equal(icbu_order_json(&o, json, sizeof json - 1, &len, &e), ICBU_OK);
    k = (size_t)snprintf(enc, sizeof enc, "insured_order_reflow_request=");
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)json[i];
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '*') {
            enc[k++] = (char)ch;
        } else if (ch == ' ') {
            enc[k++] = '+';
        } else {
            enc[k++] = '%'; enc[k++] = hex[ch >> 4]; enc[k++] = hex[ch & 15];
        }
    }
    enc[k] = 0;
    if (!strstr(body, enc)) fail_msg("body lacks %s", enc);
}

/* One memo both ways: as JSON and signed, with the same status. */
static void memo_both(const char *s, size_t n, icbu_status want) {
    char out[64];
    json_of_memo(s, n, out, sizeof out, want);
    form_of_memo(s, n, want);
}

/* 3-byte characters at the edges of what needs no check beyond the lead byte
 * (E1..EC, EE, EF) and next to it (E0, ED), in JSON and in a signed body. */
static void test_utf8_three_bytes(void **state) {
    static const char *const good[] = {
        "\xe0\xa0\x80", "\xe1\x80\x80", "\xe4\xb8\xad\xe6\x96\x87", "\xec\xbf\xbf",
        "\xed\x80\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf", "a\xe9\xbf\xbfz"
    };
    static const char *const bad[] = {
        "\xe1\x80", "\xe1\x80\x41", "\xef\x41\x80", "\xe9\xc0\x80", "\xe9\x80\xc0",
        "\xe4\xb8\xad\xe4", "\xe4\xb8\xad\xe4\xb8", "\xed\xa0\x80", "\xe0\x9f\xbf"
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) memo_both(good[i], strlen(good[i]), ICBU_OK);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) memo_both(bad[i], strlen(bad[i]), ICBU_E_UTF8);
    /* cut inside a character, with its next byte in memory: nothing past n is read */
    memo_both("\xe4\xb8\xad", 2, ICBU_E_UTF8);
    memo_both("a\xe4\xb8\xad", 3, ICBU_E_UTF8);
}

static void test_escaping(void **state) {
    char out[256], in[2], want[32];
    unsigned c;
    (void)state;
    for (c = 0; c < 0x20; c++) {
        in[0] = (char)c;
        json_of_memo(in, 1, out, sizeof out, ICBU_OK);
        switch (c) {
        case '\b': strcpy(want, "{\"memo\":\"\\b\"}"); break;
        case '\f': strcpy(want, "{\"memo\":\"\\f\"}"); break;
        case '\n': strcpy(want, "{\"memo\":\"\\n\"}"); break;
        case '\r': strcpy(want, "{\"memo\":\"\\r\"}"); break;
        case '\t': strcpy(want, "{\"memo\":\"\\t\"}"); break;
        default: snprintf(want, sizeof want, "{\"memo\":\"\\u00%02X\"}", c);
        }
        assert_string_equal(out, want);
    }
    json_of_memo("a\"b\\c/d\x7f", 8, out, sizeof out, ICBU_OK);
    assert_string_equal(out, "{\"memo\":\"a\\\"b\\\\c/d\x7f\"}");
    /* CJK, a 4-byte emoji and U+2028 go out as raw UTF-8 */
    json_of_memo("\xe4\xb8\xad\xf0\x9f\x98\x80\xe2\x80\xa8", 10, out, sizeof out, ICBU_OK);
    assert_string_equal(out, "{\"memo\":\"\xe4\xb8\xad\xf0\x9f\x98\x80\xe2\x80\xa8\"}");
    json_of_memo("", 0, out, sizeof out, ICBU_OK);                 /* "" is present */
    assert_string_equal(out, "{\"memo\":\"\"}");
    json_of_memo("\xf4\x8f\xbf\xbf\xef\xbf\xbf\xc2\x80", 9, out, sizeof out, ICBU_OK);  /* edges */
    assert_string_equal(out, "{\"memo\":\"\xf4\x8f\xbf\xbf\xef\xbf\xbf\xc2\x80\"}");
}

static void test_invalid_utf8(void **state) {
    static const char *const bad[] = {
        "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", /* overlong */
        "\xed\xa0\x80", "\xed\xbf\xbf", "\xed\xb0\x80",                                           /* surrogates */
        "\xe4\xb8", "\xc3", "\xf0\x9f\x98", "a\xe4",                                              /* truncated */
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf7\xbf\xbf\xbf", "\xfe", "\xff",               /* > U+10FFFF */
        "\x80", "\xbf", "\xe4\x41\x80", "\xc3\x28"                                                /* stray/bad cont. */
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) memo_both(bad[i], strlen(bad[i]), ICBU_E_UTF8);
}

static void test_utf8_error_path(void **state) {
    icbu_order o;
    icbu_subject s;
    icbu_goods g[3];
    icbu_str urls[2];
    icbu_err e;
    size_t n;
    char buf[1024];
    icbu_config c;
    (void)state;
    memset(&o, 0, sizeof o); memset(&s, 0, sizeof s); memset(g, 0, sizeof g);
    urls[0] = icbu_s("ok\xff"); urls[1] = icbu_s("fine");
    g[2].item_url_list.p = urls; g[2].item_url_list.n = 2;
    s.goods_item_list.p = g; s.goods_item_list.n = 3;
    o.subject_matter_info = &s;
    assert_int_equal(icbu_order_json(&o, buf, sizeof buf, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, "subject_matter_info.goods_item_list[2].item_url_list[0]");
    example_config(&c, ICBU_SIGN_HMAC_SHA256);
    assert_int_equal(icbu_sign_body(&c, &o, buf, sizeof buf, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, "subject_matter_info.goods_item_list[2].item_url_list[0]");
    /* without an icbu_err: the same status, from an array's element as from a field */
    assert_int_equal(icbu_sign_body(&c, &o, buf, sizeof buf, &n, NULL), ICBU_E_UTF8);
    c.app_key = "k\xff";
    assert_int_equal(icbu_sign_body(&c, &o, buf, sizeof buf, &n, NULL), ICBU_E_UTF8);
    assert_int_equal(icbu_sign_body(&c, &o, buf, sizeof buf, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, "app_key");
    example_config(&c, ICBU_SIGN_HMAC_SHA256);
    urls[0] = icbu_s("ok");
    g[1].item_desc = icbu_s("\xed\xa0\x80");
    assert_int_equal(icbu_order_json(&o, buf, sizeof buf, &n, &e), ICBU_E_UTF8);
    assert_string_equal(e.path, "subject_matter_info.goods_item_list[1].item_desc");
    g[1].item_desc = icbu_s("x");
    s.order_time = icbu_d(2023, 2, 29, 0, 0, 0);                  /* not a leap year */
    assert_int_equal(icbu_order_json(&o, buf, sizeof buf, &n, &e), ICBU_E_DATE);
    assert_string_equal(e.path, "subject_matter_info.order_time");
    s.order_time = icbu_d(2023, 13, 1, 0, 0, 0);                  /* month 13 */
    assert_int_equal(icbu_order_json(&o, buf, sizeof buf, &n, &e), ICBU_E_DATE);
    assert_string_equal(e.path, "subject_matter_info.order_time");
    s.order_time = icbu_d(2023, 1, 1, 24, 0, 0);                  /* 24:00 */
    assert_int_equal(icbu_sign_body(&c, &o, buf, sizeof buf, &n, &e), ICBU_E_DATE);
    assert_string_equal(e.path, "subject_matter_info.order_time");
    assert_int_equal(icbu_sign_body(&c, &o, buf, sizeof buf, &n, NULL), ICBU_E_DATE);
    c.timestamp.set = 0;
    assert_int_equal(icbu_sign_body(&c, &o, buf, sizeof buf, &n, NULL), ICBU_E_DATE);
    c.app_key = NULL;
    assert_int_equal(icbu_sign_body(&c, &o, buf, sizeof buf, &n, NULL), ICBU_E_ARG);
}

/* ---------------------------------------------------------- arena limits */
typedef struct build { const icbu_config *c; const icbu_order *o; } build;
static icbu_status build_body(const build *b, char *buf, size_t cap, size_t *len, icbu_err *e) {
    return icbu_sign_body(b->c, b->o, buf, cap, len, e);
}
static icbu_status build_json(const build *b, char *buf, size_t cap, size_t *len, icbu_err *e) {
    return icbu_order_json(b->o, buf, cap, len, e);
}

/* Every size short of the need: NOSPACE, the same need, a guard region
 * after the buffer untouched; the need itself: OK. */
static void exhaust(icbu_status (*f)(const build *, char *, size_t, size_t *, icbu_err *),
                    const build *b) {
    size_t need, cap, n, k;
    unsigned char *mem;
    assert_int_equal(f(b, NULL, 0, &need, NULL), ICBU_OK);
    mem = (unsigned char *)malloc(need + GUARD);
    assert_non_null(mem);
    for (cap = 0; cap < need; cap++) {
        icbu_err e;
        memset(mem, 0xA5, need + GUARD);
        assert_int_equal(f(b, (char *)mem, cap, &n, &e), ICBU_E_NOSPACE);
        assert_int_equal(e.status, ICBU_E_NOSPACE);
        assert_int_equal(e.need, need);
        for (k = cap; k < need + GUARD; k++) assert_int_equal(mem[k], 0xA5);
        assert_int_equal(f(b, (char *)mem, cap, &n, NULL), ICBU_E_NOSPACE);    /* without an icbu_err too */
        assert_int_equal(n, need);
        for (k = cap; k < need + GUARD; k++) assert_int_equal(mem[k], 0xA5);
    }
    assert_int_equal(f(b, (char *)mem, need, &n, NULL), ICBU_OK);
    assert_int_equal(n, need);
    free(mem);
}

static void test_arena_exhaustion(void **state) {
    example_order x;
    icbu_config c;
    build b;
    int m;
    (void)state;
    example_order_build(&x);
    b.c = &c;
    b.o = &x.o;
    for (m = 0; m < 3; m++) {
        example_config(&c, (icbu_sign_method)m);
        exhaust(build_body, &b);
    }
    exhaust(build_json, &b);
}

/* ------------------------------------------------------------------ dates */
static void test_gmt8_dates(void **state) {
    size_t i;
    char s[20];
    (void)state;
    for (i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        icbu_date d = icbu_date_from_unix(dates[i].t);
        assert_int_equal(d.set, 1);
        assert_int_equal(icbu_date_format(&d, s), ICBU_OK);
        if (strcmp(s, dates[i].s) != 0) fail_msg("%lld: got %s want %s", (long long)dates[i].t, s, dates[i].s);
    }
    for (i = 0; i < 2; i++) assert_int_equal(icbu_date_from_unix(dates_out[i]).set, 0);
    assert_int_equal(icbu_date_from_unix(INT64_MIN).set, 0);
    assert_int_equal(icbu_date_from_unix(INT64_MAX).set, 0);
}

/* Every year 0..9999, and every value of each other field, against snprintf. */
static void test_date_digits(void **state) {
    char s[20], want[32];
    unsigned y;
    (void)state;
    for (y = 0; y <= 9999; y++) {
        unsigned day = y % 31 + 1, month = day > 28 ? 1 : y % 12 + 1;   /* January has 31 */
        icbu_date d = icbu_d(y, month, day, y % 24, y % 60, (y / 60) % 60);
        assert_int_equal(icbu_date_format(&d, s), ICBU_OK);
        snprintf(want, sizeof want, "%04u-%02u-%02u %02u:%02u:%02u", y, month, day,
                 y % 24, y % 60, (y / 60) % 60);
        if (strcmp(s, want) != 0) fail_msg("got %s want %s", s, want);
    }
}

static void test_date_validation(void **state) {
    char s[20];
    icbu_date d;
    (void)state;
    d = icbu_d(2024, 2, 29, 23, 59, 59); assert_int_equal(icbu_date_format(&d, s), ICBU_OK);
    assert_string_equal(s, "2024-02-29 23:59:59");
    d = icbu_d(1900, 2, 29, 0, 0, 0); assert_int_equal(icbu_date_format(&d, s), ICBU_E_DATE);
    d = icbu_d(2000, 2, 29, 0, 0, 0); assert_int_equal(icbu_date_format(&d, s), ICBU_OK);
    d = icbu_d(2023, 4, 31, 0, 0, 0); assert_int_equal(icbu_date_format(&d, s), ICBU_E_DATE);
    d = icbu_d(2023, 0, 1, 0, 0, 0); assert_int_equal(icbu_date_format(&d, s), ICBU_E_DATE);
    d = icbu_d(2023, 1, 0, 0, 0, 0); assert_int_equal(icbu_date_format(&d, s), ICBU_E_DATE);
    d = icbu_d(2023, 1, 1, 24, 0, 0); assert_int_equal(icbu_date_format(&d, s), ICBU_E_DATE);
    d = icbu_d(2023, 1, 1, 0, 60, 0); assert_int_equal(icbu_date_format(&d, s), ICBU_E_DATE);
    d = icbu_d(2023, 1, 1, 0, 0, 60); assert_int_equal(icbu_date_format(&d, s), ICBU_E_DATE);
    d = icbu_d(10000, 1, 1, 0, 0, 0); assert_int_equal(icbu_date_format(&d, s), ICBU_E_DATE);
    d = icbu_d(0, 1, 1, 0, 0, 0); assert_int_equal(icbu_date_format(&d, s), ICBU_OK);
    assert_string_equal(s, "0000-01-01 00:00:00");
}

/* ----------------------------------------------------- numbers, absence */
/* Every Number is written exactly (printf is the reference): both ends of
 * int64, and each side of every power of ten and of two, where the writer's
 * digits carry from the high word into the low one. */
static void test_numbers_exact(void **state) {
    icbu_order o;
    char buf[64], want[64];
    size_t n;
    int64_t p = 1;
    int k, d;
    (void)state;
    for (k = 0; k < 64; k++) {
        int64_t base[4];
        base[0] = k < 19 ? p : INT64_MAX;                /* 10^k */
        base[1] = k < 63 ? (int64_t)((uint64_t)1 << k) : INT64_MAX;   /* 2^k */
        base[2] = -base[0];
        base[3] = -base[1];
        for (d = -2; d <= 2; d++) {
            int j;
            for (j = 0; j < 4; j++) {
                int64_t v = base[j];
                if ((d > 0 && v > INT64_MAX - d) || (d < 0 && v < INT64_MIN - d)) continue;
                v += d;
                memset(&o, 0, sizeof o);
                o.amount = icbu_n(v);
                assert_int_equal(icbu_order_json(&o, buf, sizeof buf - 1, &n, NULL), ICBU_OK);
                buf[n] = 0;
                snprintf(want, sizeof want, "{\"amount\":%lld}", (long long)v);
                assert_string_equal(buf, want);
            }
        }
        if (k < 18) p *= 10;
    }
    memset(&o, 0, sizeof o);
    o.amount = icbu_n(INT64_MIN);
    assert_int_equal(icbu_order_json(&o, buf, sizeof buf - 1, &n, NULL), ICBU_OK);
    buf[n] = 0;
    assert_string_equal(buf, "{\"amount\":-9223372036854775808}");
}

/* The digits helper over the whole uint64 range (Content-Length takes a
 * size_t, wider than int64's magnitude): each end, both sides of 2^32, where
 * the high word runs out, and of the largest powers of ten. */
static void test_digits_uint64(void **state) {
    static const struct { uint64_t u; int neg; const char *s; } v[] = {
        { 0, 0, "0" },
        { 9, 0, "9" },
        { 1, 1, "-1" },
        { UINT64_C(4294967295), 0, "4294967295" },
        { UINT64_C(4294967296), 0, "4294967296" },
        { UINT64_C(42949672960), 0, "42949672960" },
        { UINT64_C(999999999999999999), 0, "999999999999999999" },
        { UINT64_C(1000000000000000000), 0, "1000000000000000000" },
        { UINT64_C(9223372036854775807), 0, "9223372036854775807" },
        { UINT64_C(9223372036854775808), 1, "-9223372036854775808" },
        { UINT64_C(9999999999999999999), 0, "9999999999999999999" },
        { UINT64_C(10000000000000000000), 0, "10000000000000000000" },
        { UINT64_C(18446744073709551615), 0, "18446744073709551615" },
    };
    char t[21];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        const char *p = icbu__digits(t, v[i].u, v[i].neg);
        assert_int_equal((size_t)(t + 21 - p), strlen(v[i].s));
        assert_memory_equal(p, v[i].s, strlen(v[i].s));
    }
}

/* Year 0 (a leap year, proleptic Gregorian): its first days and its leap day,
 * where the date arithmetic counts from one era early. Python's datetime has no
 * year 0, so these are by hand: 0000-01-01 00:00:00 GMT+8 is -62167248000. */
static void test_year_zero(void **state) {
    static const struct { int64_t t; const char *s; } v[] = {
        { INT64_C(-62167248000), "0000-01-01 00:00:00" },
        { INT64_C(-62167248000) + 86399, "0000-01-01 23:59:59" },
        { INT64_C(-62167248000) + 31 * 86400, "0000-02-01 00:00:00" },
        { INT64_C(-62167248000) + 59 * 86400, "0000-02-29 00:00:00" },
        { INT64_C(-62167248000) + 60 * 86400 - 1, "0000-02-29 23:59:59" },
        { INT64_C(-62167248000) + 60 * 86400, "0000-03-01 00:00:00" },
        { INT64_C(-62167248000) + 366 * 86400, "0001-01-01 00:00:00" },
    };
    char out[20];
    size_t i;
    icbu_date d;
    (void)state;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        d = icbu_date_from_unix(v[i].t);
        assert_int_equal(icbu_date_format(&d, out), ICBU_OK);
        assert_string_equal(out, v[i].s);
    }
    d = icbu_date_from_unix(INT64_C(-62167248000) - 1);
    assert_int_equal(d.set, 0);
    d = icbu_date_from_unix(INT64_MIN);
    assert_int_equal(d.set, 0);
    d = icbu_date_from_unix(INT64_MAX);
    assert_int_equal(d.set, 0);
}

static void test_int64_extremes_and_absence(void **state) {
    static const int64_t vals[] = { INT64_MIN, INT64_MAX, 0, -1, INT64_C(3664297069) };
    static const char *const txt[] = { "-9223372036854775808", "9223372036854775807", "0", "-1", "3664297069" };
    icbu_order o;
    icbu_customer cu;
    icbu_ali_id a;
    icbu_subject s;
    icbu_goods g;
    char buf[1024], want[1024];
    size_t n, i;
    (void)state;
    for (i = 0; i < 5; i++) {
        const char *t = txt[i];
        memset(&o, 0, sizeof o); memset(&cu, 0, sizeof cu); memset(&a, 0, sizeof a);
        memset(&s, 0, sizeof s); memset(&g, 0, sizeof g);
        o.amount = icbu_n(vals[i]); o.insure_period = icbu_n(vals[i]); o.premium = icbu_n(vals[i]);
        s.order_amount = icbu_n(vals[i]); g.item_quantity = icbu_n(vals[i]); a.ali_id = icbu_n(vals[i]);
        cu.customer_id = &a; o.insured = &cu; o.subject_matter_info = &s;
        s.goods_item_list.p = &g; s.goods_item_list.n = 1;
        assert_int_equal(icbu_order_json(&o, buf, sizeof buf - 1, &n, NULL), ICBU_OK);
        buf[n] = 0;
        snprintf(want, sizeof want,
                 "{\"amount\":%s,\"insured\":{\"customer_id\":{\"ali_id\":%s}},\"subject_matter_info\":"
                 "{\"order_amount\":%s,\"goods_item_list\":[{\"item_quantity\":%s}]},\"insure_period\":%s,"
                 "\"premium\":%s}", t, t, t, t, t, t);
        assert_string_equal(buf, want);
    }
    /* absent everywhere: an empty object; absent vs false, vs "", vs [] */
    memset(&o, 0, sizeof o);
    assert_int_equal(icbu_order_json(&o, buf, sizeof buf - 1, &n, NULL), ICBU_OK);
    buf[n] = 0;
    assert_string_equal(buf, "{}");
    o.major_order = icbu_b(0);
    o.memo = icbu_s("");
    memset(&s, 0, sizeof s);
    s.goods_item_list.p = &g; s.goods_item_list.n = 0;
    o.subject_matter_info = &s;
    assert_int_equal(icbu_order_json(&o, buf, sizeof buf - 1, &n, NULL), ICBU_OK);
    buf[n] = 0;
    assert_string_equal(buf, "{\"memo\":\"\",\"subject_matter_info\":{\"goods_item_list\":[]},\"major_order\":false}");
}

/* What the header exports for programs around it (the CLI used to copy these). */
static void test_exports(void **state) {
    icbu_date d;
    icbu_sign_method m;
    char secret[16] = "0123456789abcde";
    size_t i;
    (void)state;
    assert_int_equal(icbu_date_parse("2024-02-29 23:59:58", 19, &d), ICBU_OK);
    assert_true(d.set && d.year == 2024 && d.month == 2 && d.day == 29 && d.hour == 23 && d.min == 59 && d.sec == 58);
    assert_int_equal(icbu_date_parse("2023-02-29 00:00:00", 19, &d), ICBU_E_DATE);     /* not a leap year */
    assert_int_equal(d.set, 0);
    assert_int_equal(icbu_date_parse("2024-1-01 00:00:00", 18, &d), ICBU_E_DATE);
    assert_int_equal(icbu_date_parse("2024/01/01 00:00:00", 19, &d), ICBU_E_DATE);
    assert_int_equal(icbu_date_parse("2024-01-01T00:00:00", 19, &d), ICBU_E_DATE);
    assert_int_equal(icbu_date_parse("2024-01-01 24:00:00", 19, &d), ICBU_E_DATE);
    assert_int_equal(icbu_date_parse("2024-01-01 00:00:0x", 19, &d), ICBU_E_DATE);
    assert_int_equal(icbu_date_parse("2024-01-01 00:00:00 ", 20, &d), ICBU_E_DATE);
    assert_int_equal(icbu_date_parse(NULL, 19, &d), ICBU_E_ARG);
    assert_string_equal(icbu_sign_method_name(ICBU_SIGN_HMAC_SHA256), "hmac-sha256");
    assert_string_equal(icbu_sign_method_name(ICBU_SIGN_HMAC), "hmac");
    assert_string_equal(icbu_sign_method_name(ICBU_SIGN_MD5), "md5");
    assert_null(icbu_sign_method_name((icbu_sign_method)3));
    assert_int_equal(icbu_sign_method_parse("hmac", 4, &m), ICBU_OK);
    assert_int_equal(m, ICBU_SIGN_HMAC);
    assert_int_equal(icbu_sign_method_parse("hmac-sha256", 11, &m), ICBU_OK);
    assert_int_equal(m, ICBU_SIGN_HMAC_SHA256);
    assert_int_equal(icbu_sign_method_parse("md5", 3, &m), ICBU_OK);
    assert_int_equal(m, ICBU_SIGN_MD5);
    assert_int_equal(icbu_sign_method_parse("hmac-sha2", 9, &m), ICBU_E_ARG);
    assert_int_equal(icbu_sign_method_parse("HMAC", 4, &m), ICBU_E_ARG);
    assert_int_equal(icbu_sign_method_parse("md5x", 3, &m), ICBU_OK);     /* n bytes of it */
    icbu_wipe(secret, sizeof secret);
    for (i = 0; i < sizeof secret; i++) assert_int_equal(secret[i], 0);
    assert_int_equal(icbu_utf8_len("a", 1), 1);
    assert_int_equal(icbu_utf8_len("\xC3\xA9", 2), 2);
    assert_int_equal(icbu_utf8_len("\xE5\xBC\xA0", 3), 3);
    assert_int_equal(icbu_utf8_len("\xF0\x9F\x98\x80", 4), 4);
    assert_int_equal(icbu_utf8_len("\xE5\xBC", 2), 0);              /* cut short */
    assert_int_equal(icbu_utf8_len("\xC0\xAF", 2), 0);              /* overlong */
    assert_int_equal(icbu_utf8_len("\xED\xA0\x80", 3), 0);          /* surrogate */
    assert_int_equal(icbu_utf8_len("\xF4\x90\x80\x80", 4), 0);      /* past U+10FFFF */
    assert_int_equal(icbu_utf8_len("\x80", 1), 0);
    assert_int_equal(icbu_utf8_len("a", 0), 0);
}

/* ICBU_REFLOW_NO_LIBC (the custom back end's builds): the library's own five
 * against the C library's, on the cases a byte loop gets wrong: nothing to
 * do, overlap either way, the sign of a difference, bytes above 0x7f. */
#ifdef ICBU_REFLOW_NO_LIBC
static void test_own_libc(void **state) {
    (void)state;
    {
        unsigned char a[16], b[16];
        size_t i;
        for (i = 0; i < sizeof a; i++) a[i] = b[i] = (unsigned char)(i * 17u);
        icbu__own_move(a + 3, a, 10); memmove(b + 3, b, 10);        /* forward overlap */
        assert_memory_equal(a, b, sizeof a);
        icbu__own_move(a, a + 5, 11); memmove(b, b + 5, 11);        /* backward overlap */
        assert_memory_equal(a, b, sizeof a);
        icbu__own_move(a, a, 16);
        assert_memory_equal(a, b, sizeof a);
        icbu__own_cpy(a + 1, "xyz", 3); memcpy(b + 1, "xyz", 3);
        icbu__own_cpy(a, "q", 0);
        assert_memory_equal(a, b, sizeof a);
        icbu__own_set(a + 2, 0x1A5, 7); memset(b + 2, 0x1A5, 7);     /* the low byte, 0xA5 */
        icbu__own_set(a, 0, 0);
        assert_memory_equal(a, b, sizeof a);
        assert_int_equal(icbu__own_cmp("abc", "abd", 3), 'c' - 'd');
        assert_int_equal(icbu__own_cmp("\xff", "\x01", 1), 0xff - 0x01);   /* unsigned bytes */
        assert_int_equal(icbu__own_cmp("abc", "abd", 2), 0);
        assert_int_equal(icbu__own_cmp("x", "y", 0), 0);
        assert_int_equal(icbu__own_len(""), 0);
        assert_int_equal(icbu__own_len("timestamp"), 9);
    }
}
#endif

static void test_misc_api(void **state) {
    int s;
    icbu_str x = icbu_s(NULL);
    (void)state;
    assert_null(x.p);
    for (s = 0; s < ICBU_STATUS_COUNT; s++) assert_true(strlen(icbu_strerror((icbu_status)s)) > 1);
    assert_string_equal(icbu_strerror((icbu_status)999), "unknown status");
    assert_int_equal(icbu_order_json(NULL, NULL, 0, NULL, NULL), ICBU_E_ARG);
    icbu_wipe(NULL, 0);                  /* nothing to wipe (UBSan: not memset's NULL) */
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_vectors),
        cmocka_unit_test(test_rfc2202_hmac_md5),
        cmocka_unit_test(test_hmac_key_block_edges),
        cmocka_unit_test(test_rfc4231_hmac_sha256),
        cmocka_unit_test(test_sign_params_rules),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_example_order_json),
        cmocka_unit_test(test_example_order_body),
        cmocka_unit_test(test_sign_body_bad_config),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_utf8_three_bytes),
        cmocka_unit_test(test_utf8_error_path),
        cmocka_unit_test(test_arena_exhaustion),
        cmocka_unit_test(test_gmt8_dates),
        cmocka_unit_test(test_date_digits),
        cmocka_unit_test(test_date_validation),
        cmocka_unit_test(test_numbers_exact),
        cmocka_unit_test(test_digits_uint64),
        cmocka_unit_test(test_year_zero),
        cmocka_unit_test(test_int64_extremes_and_absence),
        cmocka_unit_test(test_exports),
        cmocka_unit_test(test_misc_api),
#ifdef ICBU_REFLOW_NO_LIBC
        cmocka_unit_test(test_own_libc),
#endif
    };
    if (argc > 1) out_dir = argv[1];
#ifdef ICBU_REFLOW_CRYPTO_PSA
    if (psa_crypto_init() != PSA_SUCCESS) return 1;   /* the application's part, not the library's */
#endif
    return cmocka_run_group_tests(tests, NULL, NULL);
}
