/* Prints the arena bytes the API document's example order needs at each
 * stage; README's memory table is this program's output (`make arena`). */
#define ICBU_REFLOW_CRYPTO_MBEDTLS
#define ICBU_REFLOW_IMPLEMENTATION
#include "icbu_reflow.h"
#include <stdio.h>
#include <string.h>
#include "example_order.h"

int main(void) {
    static const char *const names[] = { "hmac-sha256", "hmac", "md5" };
    example_order x;
    icbu_config c;
    icbu_url u;
    const icbu_order *o;
    static char js[4096];
    size_t body, head, json, dec;
    int m;
    example_order_build(&x);
    memset(&c, 0, sizeof c);
    c.app_key = "12345678";
    c.timestamp = icbu_d(2026, 1, 1, 0, 0, 0);
    icbu_url_parse("https://gw.api.taobao.com/router/rest", &u);
    icbu_order_json(&x.o, js, sizeof js, &json, NULL);
    icbu_decode_order(js, json, NULL, 0, &o, &dec, NULL);
    printf("| what (example order, %u-bit) | bytes |\n|---|---:|\n", (unsigned)(sizeof(void *) * 8));
    printf("| order JSON (icbu_order_json) | %lu |\n", (unsigned long)json);
    for (m = 0; m < 3; m++) {
        c.sign_method = (icbu_sign_method)m;
        icbu_sign_body(&c, &x.o, NULL, 0, &body, NULL);
        icbu_http_head(&u, body, NULL, 0, &head, NULL);
        printf("| signed body, %s (icbu_sign_body) | %lu |\n", names[m], (unsigned long)body);
        printf("| body + HTTP head + the exchange's reserve, %s (icbu_exchange's request) | %lu |\n", names[m],
               (unsigned long)(body + head + ICBU__RESERVE));
    }
    printf("| the exchange's reserve, of the above (its state: the signature's, then the answer's structs) | %lu |\n",
           (unsigned long)ICBU__RESERVE);
    printf("| decoded order structs + strings (icbu_decode_order) | %lu |\n", (unsigned long)dec);
    return 0;
}
