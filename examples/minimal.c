/* minimal.c - the API document's example order, built in C, signed and printed.
 * cc -std=c99 -I. -DICBU_REFLOW_CRYPTO_MBEDTLS examples/minimal.c -lmbedcrypto
 * (mbedTLS 4.x: -DICBU_REFLOW_CRYPTO_PSA ... -ltfpsacrypto) */
#define ICBU_REFLOW_IMPLEMENTATION
#include "icbu_reflow.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define S icbu_s
#define ZHANG_SAN "\xE5\xBC\xA0\xE4\xB8\x89"   /* 张三 */

int main(void)
{
    const char *secret = getenv("ICBU_REFLOW_APP_SECRET");   /* never in the source */
    icbu_ali_id id = { .ali_id = icbu_n(3664297069) };
    icbu_customer insured = { .birthday = S("20221001"), .license_no = S("111111111111111111"),
        .license_valid_time_util = S("20251001"), .address = S("xxx road"), .gender = S("male"),
        .alipay_account_id = S("11111"), .ali_id = S("3664297069"),
        .license_valid_time_from = S("20200101"), .license_type = S("PASSPORT"),
        .phone = S("11111111111"), .customer_id = &id, .name = S(ZHANG_SAN),
        .email = S("baocgs01lastname@yougen.site") };
    icbu_customer applicant = insured;           /* the same person, but for: */
    icbu_str urls[] = { S("xxx"), S("sss") };
    icbu_goods goods = { .item_type = S("xxx"), .item_quantity = icbu_n(11),
        .item_currency = S("USD"), .item_code = S("123"), .item_price = S("123"),
        .item_desc = S("xxx"), .item_url_list = { urls, 2 } };
    icbu_subject subject = { .order_id = S("2344555"), .seller_alipay_account = S("222222"),
        .seller_login_id = S("22ss"), .buyer_id = S("222"), .buyer_login_id = S("22dd"),
        .order_amount = icbu_n(10), .seller_id = S("2222"),
        .order_time = icbu_d(2022, 10, 1, 0, 0, 0), .goods_item_list = { &goods, 1 },
        .order_title = S("xxx"), .platform_name = S("Alibaba"), .order_category = S("xxx"),
        .buyer_alipay_account = S("xxxx") };
    icbu_transfer transfer = { .fund_stream = S("xxx") };
    icbu_order o = { .insured_alipay_account = S("12344"),
        .insure_time = icbu_d(2022, 10, 11, 0, 0, 0), .amount = icbu_n(10),
        .external_biz_id = S("12345"), .insured = &insured, .open_id = S("icbu_cargo_insurance"),
        .applicant_alipay_account = S("1111"), .premium_rate = S("0.1"), .memo = S("xxx"),
        .echo = S("xxx"), .precision_premium = S("0.2"), .subject_matter_info = &subject,
        .applicant = &applicant, .major_order = icbu_b(1), .institution = S("DAJIA"),
        .insure_period = icbu_n(1), .premium = icbu_n(1),
        .expire_time = icbu_d(2022, 2, 10, 0, 0, 0), .currency = S("USD"),
        .currency_rate = S("7.2"), .transfer_stream_info = &transfer };
    icbu_config c = { .app_key = "12345678", .app_secret = secret,
        .sign_method = ICBU_SIGN_HMAC_SHA256,
        .timestamp = icbu_date_from_unix((int64_t)time(NULL)) };
    static char body[8192];
    size_t n;
    icbu_err e;

    applicant.license_valid_time_util = S("20221001");
    applicant.address = S("xxx");
    applicant.license_valid_time_from = S("20201001");
    applicant.license_type = S("ID card");
    if (secret == NULL || secret[0] == '\0') {           /* unset, or set empty */
        fputs("set ICBU_REFLOW_APP_SECRET\n", stderr);
        return 64;
    }
#ifdef ICBU_REFLOW_CRYPTO_PSA
    if (psa_crypto_init() != PSA_SUCCESS) {       /* PSA: the application's, once */
        fputs("PSA crypto initialisation failed\n", stderr);
        return 1;
    }
#endif
    if (icbu_sign_body(&c, &o, body, sizeof body, &n, &e) != ICBU_OK) {
        fprintf(stderr, "%s %s (need %lu)\n", icbu_strerror(e.status), e.path,
                (unsigned long)e.need);
        return 1;
    }
    printf("%.*s\n", (int)n, body);
    return 0;
}
