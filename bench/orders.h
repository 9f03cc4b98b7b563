/* bench/orders.h - the two orders the benchmark signs, built in C.
 *
 *   example   the API document's example order (tests/example_order.h)
 *   large     the same order with 60 goods items, each with 10 item URLs and
 *             a long Chinese description (about 290 CJK characters, ~900 bytes
 *             of UTF-8, with a quoted model number), ~110 KB of JSON.
 *
 * bench/bench_py.py builds the same large order in Python (large_order()); the
 * two generators must stay in step (bench-check compares the JSON bytes).
 * The orders avoid '~' and '*' (urllib's quote_plus keeps '~' and encodes
 * '*'; TOP's rule is the opposite) and control characters (cJSON and Python
 * write \u00xx in lowercase hex, icbu_reflow in uppercase): with those left
 * out, icbu_reflow, cJSON and Python's json write the same bytes.
 * Include after icbu_reflow.h and <stdio.h>, <string.h>. */
#ifndef BENCH_ORDERS_H
#define BENCH_ORDERS_H

#include "example_order.h"

#define LARGE_GOODS 60
#define LARGE_URLS  10
#define LARGE_DESC_MAX 1200
#define LARGE_URL_MAX  128

/* "This lot is a set of stainless-steel cookware exported to Europe: wok, pot,
 * steamer and lids, food-grade material, strictly inspected, packed against
 * damp and shock, fit for long container transport by sea." */
#define LARGE_CJK_TEXT \
    "本批货物为出口欧洲市场的不锈钢厨具套装，含炒锅、汤锅、蒸笼及配套锅盖，" \
    "采用食品级材料制造，经严格质量检验并做防潮防震包装，适合海运集装箱长途运输。"

typedef struct large_order {
    example_order base;                      /* every field but the goods */
    icbu_goods goods[LARGE_GOODS];
    icbu_str urls[LARGE_GOODS][LARGE_URLS];
    char desc[LARGE_GOODS][LARGE_DESC_MAX];
    char url[LARGE_GOODS][LARGE_URLS][LARGE_URL_MAX];
    char code[LARGE_GOODS][16];
    char price[LARGE_GOODS][16];
} large_order;

/* Goods item i (0-based):
 *   item_type "cookware", item_quantity (7i mod 50)+1, item_currency "USD",
 *   item_code "KT-<1000+i>", item_price "<(37i mod 900)+100>.<13i mod 100, 2 digits>",
 *   item_desc "第<i+1>项：" + 4 x LARGE_CJK_TEXT + " 型号\"KT-<1000+i>\"，数量<qty>箱",
 *   item_url_list[j] "https://www.alibaba.com/product-detail/Stainless-Steel-Cookware-Set_
 *                     <1600000000+10i+j>.html?spm=a2700.details.0.0.<j>&lang=zh_CN" */
static void large_order_build(large_order *x) {
    int i, j, k, n;
    example_order_build(&x->base);
    for (i = 0; i < LARGE_GOODS; i++) {
        icbu_goods *g = &x->goods[i];
        int qty = (7 * i) % 50 + 1;
        memset(g, 0, sizeof *g);
        n = snprintf(x->desc[i], LARGE_DESC_MAX, "第%d项：", i + 1);
        for (k = 0; k < 4; k++)
            n += snprintf(x->desc[i] + n, (size_t)(LARGE_DESC_MAX - n), "%s", LARGE_CJK_TEXT);
        snprintf(x->desc[i] + n, (size_t)(LARGE_DESC_MAX - n), " 型号\"KT-%d\"，数量%d箱", 1000 + i, qty);
        snprintf(x->code[i], sizeof x->code[i], "KT-%d", 1000 + i);
        snprintf(x->price[i], sizeof x->price[i], "%d.%02d", (37 * i) % 900 + 100, (13 * i) % 100);
        for (j = 0; j < LARGE_URLS; j++) {
            snprintf(x->url[i][j], LARGE_URL_MAX,
                     "https://www.alibaba.com/product-detail/Stainless-Steel-Cookware-Set_%ld.html"
                     "?spm=a2700.details.0.0.%d&lang=zh_CN", 1600000000L + 10L * i + j, j);
            x->urls[i][j] = icbu_s(x->url[i][j]);
        }
        g->item_type = icbu_s("cookware");
        g->item_quantity = icbu_n(qty);
        g->item_currency = icbu_s("USD");
        g->item_code = icbu_s(x->code[i]);
        g->item_price = icbu_s(x->price[i]);
        g->item_desc = icbu_s(x->desc[i]);
        g->item_url_list.p = x->urls[i];
        g->item_url_list.n = LARGE_URLS;
    }
    x->base.subject.goods_item_list.p = x->goods;
    x->base.subject.goods_item_list.n = LARGE_GOODS;
}

/* The request every benchmark signs: the same key, secret and timestamp in C,
 * in the baseline and in Python. */
#define BENCH_APP_KEY   "12345678"
#define BENCH_SECRET    "helloworld"
#define BENCH_TIMESTAMP "2026-01-01 12:00:00"
static const char *const bench_method_names[3] = { "hmac-sha256", "hmac", "md5" };

static void bench_config(icbu_config *c, icbu_sign_method m) {
    memset(c, 0, sizeof *c);
    c->app_key = BENCH_APP_KEY;
    c->app_secret = BENCH_SECRET;
    c->sign_method = m;
    c->timestamp = icbu_d(2026, 1, 1, 12, 0, 0);
}

/* Response bodies: the two examples of docs/protocol.md ("Responses"), verbatim. */
static const char bench_resp_ok[] =
    "{\"alibaba_finance_insurance_icbu_insure_order_callback_response\":{\"result\":"
    "{\"success\":true,\"insure_id\":\"111111\",\"error_code\":\"...\",\"error_msg\":\"...\"},"
    "\"request_id\":\"...\"}}";
static const char bench_resp_err[] =
    "{\"error_response\":{\"code\":25,\"msg\":\"Invalid signature\",\"sub_code\":\"...\","
    "\"sub_msg\":\"...\",\"request_id\":\"...\"}}";

#endif
