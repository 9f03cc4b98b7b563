/* The API document's Java sample order, field for field, in C structs.
 * item_url_list: the sample's "{xxx,sss}" is the schema's String[] ["xxx","sss"]. */
typedef struct example_order {
    icbu_order o;
    icbu_customer insured, applicant;
    icbu_ali_id insured_id, applicant_id;
    icbu_subject subject;
    icbu_goods goods[1];
    icbu_str urls[2];
    icbu_transfer transfer;
} example_order;

static void example_order_build(example_order *x) {
    memset(x, 0, sizeof *x);
    x->o.insured_alipay_account = icbu_s("12344");
    x->o.insure_time = icbu_d(2022, 10, 11, 0, 0, 0);
    x->o.amount = icbu_n(10);
    x->o.external_biz_id = icbu_s("12345");
    x->insured.birthday = icbu_s("20221001");
    x->insured.license_no = icbu_s("111111111111111111");
    x->insured.license_valid_time_util = icbu_s("20251001");
    x->insured.address = icbu_s("xxx road");
    x->insured.gender = icbu_s("male");
    x->insured.alipay_account_id = icbu_s("11111");
    x->insured.ali_id = icbu_s("3664297069");
    x->insured.license_valid_time_from = icbu_s("20200101");
    x->insured.license_type = icbu_s("PASSPORT");
    x->insured.phone = icbu_s("11111111111");
    x->insured_id.ali_id = icbu_n(INT64_C(3664297069));
    x->insured.customer_id = &x->insured_id;
    x->insured.name = icbu_s("\xe5\xbc\xa0\xe4\xb8\x89");              /* 张三 */
    x->insured.email = icbu_s("baocgs01lastname@yougen.site");
    x->o.insured = &x->insured;
    x->o.open_id = icbu_s("icbu_cargo_insurance");
    x->o.applicant_alipay_account = icbu_s("1111");
    x->o.premium_rate = icbu_s("0.1");
    x->o.memo = icbu_s("xxx");
    x->o.echo = icbu_s("xxx");
    x->o.precision_premium = icbu_s("0.2");
    x->subject.order_id = icbu_s("2344555");
    x->subject.seller_alipay_account = icbu_s("222222");
    x->subject.seller_login_id = icbu_s("22ss");
    x->subject.buyer_id = icbu_s("222");
    x->subject.buyer_login_id = icbu_s("22dd");
    x->subject.order_amount = icbu_n(10);
    x->subject.seller_id = icbu_s("2222");
    x->subject.order_time = icbu_d(2022, 10, 1, 0, 0, 0);
    x->goods[0].item_type = icbu_s("xxx");
    x->goods[0].item_quantity = icbu_n(11);
    x->goods[0].item_currency = icbu_s("USD");
    x->goods[0].item_code = icbu_s("123");
    x->goods[0].item_price = icbu_s("123");
    x->goods[0].item_desc = icbu_s("xxx");
    x->urls[0] = icbu_s("xxx");
    x->urls[1] = icbu_s("sss");
    x->goods[0].item_url_list.p = x->urls;
    x->goods[0].item_url_list.n = 2;
    x->subject.goods_item_list.p = x->goods;
    x->subject.goods_item_list.n = 1;
    x->subject.order_title = icbu_s("xxx");
    x->subject.platform_name = icbu_s("Alibaba");
    x->subject.order_category = icbu_s("xxx");
    x->subject.buyer_alipay_account = icbu_s("xxxx");
    x->o.subject_matter_info = &x->subject;
    x->applicant.birthday = icbu_s("20221001");
    x->applicant.license_no = icbu_s("111111111111111111");
    x->applicant.license_valid_time_util = icbu_s("20221001");
    x->applicant.address = icbu_s("xxx");
    x->applicant.gender = icbu_s("male");
    x->applicant.alipay_account_id = icbu_s("11111");
    x->applicant.ali_id = icbu_s("3664297069");
    x->applicant.license_valid_time_from = icbu_s("20201001");
    x->applicant.license_type = icbu_s("ID card");
    x->applicant.phone = icbu_s("11111111111");
    x->applicant_id.ali_id = icbu_n(INT64_C(3664297069));
    x->applicant.customer_id = &x->applicant_id;
    x->applicant.name = icbu_s("\xe5\xbc\xa0\xe4\xb8\x89");
    x->applicant.email = icbu_s("baocgs01lastname@yougen.site");
    x->o.applicant = &x->applicant;
    x->o.major_order = icbu_b(1);
    x->o.institution = icbu_s("DAJIA");
    x->o.insure_period = icbu_n(1);
    x->o.premium = icbu_n(1);
    x->o.expire_time = icbu_d(2022, 2, 10, 0, 0, 0);
    x->o.currency = icbu_s("USD");
    x->o.currency_rate = icbu_s("7.2");
    x->transfer.fund_stream = icbu_s("xxx");
    x->o.transfer_stream_info = &x->transfer;
}

/* The tests' settings: app key 12345678, secret "helloworld", the timestamp
 * 2026-11-28 12:00:00 (GMT+8), sign method m; everything else absent (the
 * Makefile passes the same secret to tests/check_body.py). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static void example_config(icbu_config *c, icbu_sign_method m) {
    memset(c, 0, sizeof *c);
    c->app_key = "12345678";
    c->app_secret = "helloworld";
    c->sign_method = m;
    c->timestamp = icbu_d(2026, 11, 28, 12, 0, 0);
}
