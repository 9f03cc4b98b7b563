/* tests/depth_max.c - ICBU_JSON_MAX_DEPTH at its smallest useful values (built
 * by the Makefile with -DICBU_JSON_MAX_DEPTH=5 and 6, with ASan+UBSan). The
 * limit is the deepest nesting read, counted the same for objects and arrays,
 * for the schema's own fields and for values skipped: the deepest order
 * (order > subject_matter_info > goods_item_list[] > item > item_url_list[])
 * is 5 levels. Prints one line per check, then "N passed, N failed". */
#define ICBU_REFLOW_IMPLEMENTATION
#define ICBU_REFLOW_CRYPTO_MBEDTLS
#include "icbu_reflow.h"
#include <stdio.h>
#include <string.h>

static int passed, failed;
static void check(int ok, const char *what, icbu_status st) {
    if (ok) passed++; else failed++;
    printf("%s - JSON_MAX_DEPTH %d: %s (%s)\n", ok ? "ok" : "not ok", ICBU_JSON_MAX_DEPTH, what, icbu_strerror(st));
}

/* n levels of JSON: the order's own deepest path, then arrays of an unknown
 * answer field. */
int main(void) {
    static unsigned char arena[8192];
    static const char order5[] =
        "{\"subject_matter_info\":{\"goods_item_list\":[{\"item_url_list\":[\"a\"]}]}}";
    char resp[256];
    const icbu_order *o;
    icbu_outcome out;
    size_t n;
    int i, level;
    icbu_status st;

    st = icbu_decode_order(order5, sizeof order5 - 1, arena, sizeof arena, &o, &n, NULL);
    check(st == (ICBU_JSON_MAX_DEPTH >= 5 ? ICBU_OK : ICBU_E_DEPTH), "the deepest order, 5 levels", st);
    for (level = ICBU_JSON_MAX_DEPTH; level <= ICBU_JSON_MAX_DEPTH + 1; level++) {
        /* {"x":[[...]], "result":...}: the object is level 1, the arrays 2..level */
        strcpy(resp, "{\"x\":");
        for (i = 1; i < level; i++) strcat(resp, "[");
        for (i = 1; i < level; i++) strcat(resp, "]");
        strcat(resp, ",\"result\":{\"success\":true}}");
        st = icbu_parse_response(resp, strlen(resp), &out, NULL);
        check(st == (level <= ICBU_JSON_MAX_DEPTH ? ICBU_OK : ICBU_E_DEPTH),
              level <= ICBU_JSON_MAX_DEPTH ? "an unknown field nested to the limit" : "one level more", st);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
