/* tests/path_max.c - error paths cut to a small ICBU_PATH_MAX (built by the Makefile
 * with -DICBU_PATH_MAX=8, 21, 38 and 41, with ASan+UBSan). A cut path is the
 * longest prefix of the full one that fits, holds no unclosed "[", and does
 * not end in '.' (cut_path below says it the plain way); the writer, which
 * builds the path from the inside out, and the reader, which builds it from
 * the outside in, must both give it, and never write past err.path: the form
 * body's own paths ("timestamp", "target_app_key") once did. Prints one line
 * per check, then "N passed, N failed". */
#define ICBU_REFLOW_IMPLEMENTATION
#ifndef ICBU_REFLOW_CRYPTO_MBEDTLS
#define ICBU_REFLOW_CRYPTO_MBEDTLS
#endif
#include "icbu_reflow.h"
#include <stdio.h>
#include <string.h>
#include "example_order.h"

/* The same cuts, written out for the sizes the Makefile builds. */
#if ICBU_PATH_MAX == 8
#define CUT_TIMESTAMP "timesta"
#define CUT_TARGET    "target_"
#define CUT_NESTED    "subject"
#define CUT_DEEP      "subject"
#elif ICBU_PATH_MAX == 21
#define CUT_TIMESTAMP "timestamp"
#define CUT_TARGET    "target_app_key"
#define CUT_NESTED    "subject_matter_info"     /* 19 bytes: no room for ".g", so no '.' */
#define CUT_DEEP      "subject_matter_info"
#elif ICBU_PATH_MAX == 38
#define CUT_TIMESTAMP "timestamp"
#define CUT_TARGET    "target_app_key"
#define CUT_NESTED    "subject_matter_info.goods_item_list"    /* not "...[0" */
#define CUT_DEEP      "subject_matter_info.goods_item_list"    /* not "...[1", read as index 1 */
#elif ICBU_PATH_MAX == 41
#define CUT_TIMESTAMP "timestamp"
#define CUT_TARGET    "target_app_key"
#define CUT_NESTED    "subject_matter_info.goods_item_list[0].i"
#define CUT_DEEP      "subject_matter_info.goods_item_list[12]"  /* not "...[12]." */
#else
#error "build with -DICBU_PATH_MAX=8, 21, 38 or 41"
#endif

#define FULL_NESTED "subject_matter_info.goods_item_list[0].item_url_list[1]"
#define FULL_DEEP   "subject_matter_info.goods_item_list[12].item_url_list[10]"

/* The longest prefix of full shorter than ICBU_PATH_MAX with as many ']' as
 * '[' that does not end in '.'. */
static void cut_path(const char *full, char *out) {
    size_t len = strlen(full), L, i;
    if (len > ICBU_PATH_MAX - 1) len = ICBU_PATH_MAX - 1;
    for (L = len; L > 0; L--) {
        int open = 0;
        for (i = 0; i < L; i++) open += full[i] == '[' ? 1 : full[i] == ']' ? -1 : 0;
        if (!open && full[L - 1] != '.') break;
    }
    memcpy(out, full, L);
    out[L] = 0;
}

static int passed, failed;
static void check(int ok, const char *what, const icbu_err *e) {
    if (ok) passed++; else failed++;
    printf("%s - PATH_MAX %d: %s (path \"%s\")\n", ok ? "ok" : "not ok", ICBU_PATH_MAX, what, e->path);
}

static void config(icbu_config *c) {
    memset(c, 0, sizeof *c);
    c->app_key = "k";
    c->app_secret = "s";
    c->sign_method = ICBU_SIGN_MD5;
    c->timestamp = icbu_d(2026, 11, 28, 12, 0, 0);
}

/* The path is the cut expected, both as written out above and by cut_path(full). */
static int path_is(const icbu_err *e, const char *want, const char *full) {
    char cut[sizeof e->path];
    cut_path(full, cut);
    return strcmp(e->path, want) == 0 && strcmp(e->path, cut) == 0;
}

int main(void) {
    static example_order x;
    static char buf[8192];
    icbu_config c;
    icbu_err e;
    size_t n;
    int i;
    const icbu_order *o;
    static unsigned char arena[8192];
    static const char json[] =
        "{\"subject_matter_info\":{\"goods_item_list\":[{\"item_url_list\":[\"a\",1]}]}}";
    /* item 12, URL 10: a lone low surrogate in the JSON, a bad byte in the structs */
    static const char json_deep[] =
        "{\"subject_matter_info\":{\"goods_item_list\":[{},{},{},{},{},{},{},{},{},{},{},{},"
        "{\"item_url_list\":[\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"\\udc00\"]}]}}";
    static icbu_goods goods[13];
    static icbu_str urls[11];

    example_order_build(&x);
    config(&c);
    c.timestamp.month = 13;
    check(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e) == ICBU_E_DATE &&
          path_is(&e, CUT_TIMESTAMP, "timestamp"), "an impossible timestamp", &e);
    config(&c);
    c.target_app_key = "\xff";
    check(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e) == ICBU_E_UTF8 &&
          path_is(&e, CUT_TARGET, "target_app_key"), "target_app_key not UTF-8", &e);
    config(&c);
    x.urls[1] = icbu_s("\xc0\x80");
    check(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e) == ICBU_E_UTF8 &&
          path_is(&e, CUT_NESTED, FULL_NESTED), "a URL in goods_item_list[0] not UTF-8 (writer)", &e);
    check(icbu_order_json(&x.o, buf, sizeof buf, &n, &e) == ICBU_E_UTF8 &&
          path_is(&e, CUT_NESTED, FULL_NESTED), "the same through icbu_order_json", &e);
    check(icbu_decode_order(json, sizeof json - 1, arena, sizeof arena, &o, &n, &e) == ICBU_E_TYPE &&
          path_is(&e, CUT_NESTED, FULL_NESTED), "a number in item_url_list (reader)", &e);

    example_order_build(&x);
    for (i = 0; i < 11; i++) urls[i] = icbu_s("x");
    urls[10] = icbu_s("\xff");
    goods[12].item_url_list.p = urls;
    goods[12].item_url_list.n = 11;
    x.subject.goods_item_list.p = goods;
    x.subject.goods_item_list.n = 13;
    check(icbu_order_json(&x.o, buf, sizeof buf, &n, &e) == ICBU_E_UTF8 &&
          path_is(&e, CUT_DEEP, FULL_DEEP), "goods_item_list[12].item_url_list[10] not UTF-8 (writer)", &e);
    check(icbu_decode_order(json_deep, sizeof json_deep - 1, arena, sizeof arena, &o, &n, &e) == ICBU_E_UTF8 &&
          path_is(&e, CUT_DEEP, FULL_DEEP), "a lone surrogate there (reader)", &e);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
