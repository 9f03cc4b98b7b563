/* tests/path_max.c - error paths cut to a small ICBU_PATH_MAX (built twice by the Makefile:
 * -DICBU_PATH_MAX=8 and =21, with ASan+UBSan). Every path is a prefix of the
 * full one, never ends in '.', and is never written past err.path: the form
 * body's own paths ("timestamp", "target_app_key") once were. Prints one
 * line per check, then "N passed, N failed". */
#define ICBU_REFLOW_IMPLEMENTATION
#ifndef ICBU_REFLOW_CRYPTO_MBEDTLS
#define ICBU_REFLOW_CRYPTO_MBEDTLS
#endif
#include "icbu_reflow.h"
#include <stdio.h>
#include <string.h>
#include "example_order.h"

#if ICBU_PATH_MAX == 8
#define CUT_TIMESTAMP "timesta"
#define CUT_TARGET    "target_"
#define CUT_NESTED    "subject"
#elif ICBU_PATH_MAX == 21
#define CUT_TIMESTAMP "timestamp"
#define CUT_TARGET    "target_app_key"
#define CUT_NESTED    "subject_matter_info"     /* 19 bytes: no room for ".g", so no '.' */
#else
#error "build with -DICBU_PATH_MAX=8 or 21"
#endif

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

int main(void) {
    static example_order x;
    static char buf[8192];
    icbu_config c;
    icbu_err e;
    size_t n;
    const icbu_order *o;
    static unsigned char arena[4096];
    static const char json[] =
        "{\"subject_matter_info\":{\"goods_item_list\":[{\"item_url_list\":[\"a\",1]}]}}";

    example_order_build(&x);
    config(&c);
    c.timestamp.month = 13;
    check(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e) == ICBU_E_DATE &&
          strcmp(e.path, CUT_TIMESTAMP) == 0, "an impossible timestamp", &e);
    config(&c);
    c.target_app_key = "\xff";
    check(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e) == ICBU_E_UTF8 &&
          strcmp(e.path, CUT_TARGET) == 0, "target_app_key not UTF-8", &e);
    config(&c);
    x.urls[1] = icbu_s("\xc0\x80");
    check(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e) == ICBU_E_UTF8 &&
          strcmp(e.path, CUT_NESTED) == 0, "a URL in goods_item_list[0] not UTF-8 (writer)", &e);
    check(icbu_order_json(&x.o, buf, sizeof buf, &n, &e) == ICBU_E_UTF8 &&
          strcmp(e.path, CUT_NESTED) == 0, "the same through icbu_order_json", &e);
    check(icbu_decode_order(json, sizeof json - 1, arena, sizeof arena, &o, &n, &e) == ICBU_E_TYPE &&
          strcmp(e.path, CUT_NESTED) == 0, "a number in item_url_list (reader)", &e);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
