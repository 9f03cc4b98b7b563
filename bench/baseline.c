/* bench/baseline.c - the benchmark's baseline: the signed TOP body written
 * the way an application usually would.
 *
 *   1. cJSON builds the order object field by field (the API document's key
 *      order) and cJSON_PrintUnformatted writes it.
 *   2. The parameters go in an array, sorted with qsort(strcmp).
 *   3. The string to sign (name + value ..., raw) is concatenated in a malloc'd
 *      buffer and signed with mbedTLS's md API (mbedtls_md_setup, then
 *      mbedtls_md_hmac_* for hmac / hmac-sha256, mbedtls_md_* for md5 with the
 *      secret on both sides); uppercase hex.
 *   4. Each value is percent-encoded into a malloc'd body, by one of:
 *      BASELINE_CURL  curl_easy_escape, as the issue names it (RFC 3986: keeps
 *                     A-Z a-z 0-9 - . _ ~, every other byte %XX; so space is
 *                     %20, '*' is %2A and '~' is kept where TOP's own rule
 *                     writes '+', '*' and %7E). The body differs from ours in
 *                     those bytes only; it decodes to the same parameters, so
 *                     the gateway reads the same order and the same sign.
 *      BASELINE_HAND  a hand-written encoder with TOP's rule (A-Z a-z 0-9 - _
 *                     . * kept, space '+', every other byte %XX uppercase):
 *                     the body is ours byte for byte. Faster than curl's.
 *
 * Reads the same icbu_order structs as the library, as plain data: the
 * strings are NUL-terminated in both benchmark orders. */
#define _POSIX_C_SOURCE 200809L
#include "baseline.h"
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <mbedtls/md.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ JSON */
static void add_str(cJSON *obj, const char *name, icbu_str s) {
    if (s.p) cJSON_AddStringToObject(obj, name, s.p);
}
static void add_num(cJSON *obj, const char *name, icbu_num n) {
    if (n.set) cJSON_AddNumberToObject(obj, name, (double)n.v);
}
static void add_date(cJSON *obj, const char *name, icbu_date d) {
    char t[32];
    if (!d.set) return;
    snprintf(t, sizeof t, "%04u-%02u-%02u %02u:%02u:%02u", (unsigned)d.year, (unsigned)d.month,
             (unsigned)d.day, (unsigned)d.hour, (unsigned)d.min, (unsigned)d.sec);
    cJSON_AddStringToObject(obj, name, t);
}

static cJSON *customer_json(const icbu_customer *c) {
    cJSON *o = cJSON_CreateObject();
    add_str(o, "birthday", c->birthday);
    add_str(o, "license_no", c->license_no);
    add_str(o, "license_valid_time_util", c->license_valid_time_util);
    add_str(o, "address", c->address);
    add_str(o, "gender", c->gender);
    add_str(o, "alipay_account_id", c->alipay_account_id);
    add_str(o, "ali_id", c->ali_id);
    add_str(o, "license_valid_time_from", c->license_valid_time_from);
    add_str(o, "license_type", c->license_type);
    add_str(o, "phone", c->phone);
    if (c->customer_id) {
        cJSON *id = cJSON_AddObjectToObject(o, "customer_id");
        add_num(id, "ali_id", c->customer_id->ali_id);
    }
    add_str(o, "name", c->name);
    add_str(o, "email", c->email);
    return o;
}

static cJSON *goods_json(const icbu_goods *g) {
    cJSON *o = cJSON_CreateObject();
    size_t i;
    add_str(o, "item_type", g->item_type);
    add_num(o, "item_quantity", g->item_quantity);
    add_str(o, "item_currency", g->item_currency);
    add_str(o, "item_code", g->item_code);
    add_str(o, "item_price", g->item_price);
    add_str(o, "item_desc", g->item_desc);
    if (g->item_url_list.p) {
        cJSON *a = cJSON_AddArrayToObject(o, "item_url_list");
        for (i = 0; i < g->item_url_list.n; i++)
            cJSON_AddItemToArray(a, cJSON_CreateString(g->item_url_list.p[i].p));
    }
    return o;
}

static cJSON *subject_json(const icbu_subject *s) {
    cJSON *o = cJSON_CreateObject();
    size_t i;
    add_str(o, "order_id", s->order_id);
    add_str(o, "seller_alipay_account", s->seller_alipay_account);
    add_str(o, "seller_login_id", s->seller_login_id);
    add_str(o, "buyer_id", s->buyer_id);
    add_str(o, "buyer_login_id", s->buyer_login_id);
    add_num(o, "order_amount", s->order_amount);
    add_str(o, "seller_id", s->seller_id);
    add_date(o, "order_time", s->order_time);
    if (s->goods_item_list.p) {
        cJSON *a = cJSON_AddArrayToObject(o, "goods_item_list");
        for (i = 0; i < s->goods_item_list.n; i++)
            cJSON_AddItemToArray(a, goods_json(&s->goods_item_list.p[i]));
    }
    add_str(o, "order_title", s->order_title);
    add_str(o, "platform_name", s->platform_name);
    add_str(o, "order_category", s->order_category);
    add_str(o, "buyer_alipay_account", s->buyer_alipay_account);
    return o;
}

static cJSON *order_json(const icbu_order *r) {
    cJSON *o = cJSON_CreateObject();
    add_str(o, "insured_alipay_account", r->insured_alipay_account);
    add_date(o, "insure_time", r->insure_time);
    add_num(o, "amount", r->amount);
    add_str(o, "external_biz_id", r->external_biz_id);
    if (r->insured) cJSON_AddItemToObject(o, "insured", customer_json(r->insured));
    add_str(o, "open_id", r->open_id);
    add_str(o, "applicant_alipay_account", r->applicant_alipay_account);
    add_str(o, "premium_rate", r->premium_rate);
    add_str(o, "memo", r->memo);
    add_str(o, "echo", r->echo);
    add_str(o, "precision_premium", r->precision_premium);
    if (r->subject_matter_info)
        cJSON_AddItemToObject(o, "subject_matter_info", subject_json(r->subject_matter_info));
    if (r->applicant) cJSON_AddItemToObject(o, "applicant", customer_json(r->applicant));
    if (r->major_order.set) cJSON_AddBoolToObject(o, "major_order", r->major_order.v);
    add_str(o, "institution", r->institution);
    add_num(o, "insure_period", r->insure_period);
    add_num(o, "premium", r->premium);
    add_date(o, "expire_time", r->expire_time);
    add_str(o, "currency", r->currency);
    add_str(o, "currency_rate", r->currency_rate);
    if (r->transfer_stream_info) {
        cJSON *t = cJSON_AddObjectToObject(o, "transfer_stream_info");
        add_str(t, "fund_stream", r->transfer_stream_info->fund_stream);
    }
    return o;
}

char *baseline_order_json(const icbu_order *o) {
    cJSON *root = order_json(o);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

/* ------------------------------------------------------------ parameters */
typedef struct param { const char *name, *value; } param;

static int param_cmp(const void *a, const void *b) {
    return strcmp(((const param *)a)->name, ((const param *)b)->name);
}

static size_t form_encode(char *out, const char *in) {
    static const char hex[] = "0123456789ABCDEF";
    char *d = out;
    for (; *in; in++) {
        unsigned char c = (unsigned char)*in;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '*') {
            *d++ = (char)c;
        } else if (c == ' ') {
            *d++ = '+';
        } else {
            *d++ = '%'; *d++ = hex[c >> 4]; *d++ = hex[c & 15];
        }
    }
    return (size_t)(d - out);
}

static int sign_params(const param *p, size_t n, const char *secret, const char *method,
                       char hex_out[65]) {
    static const char hex[] = "0123456789ABCDEF";
    int is_md5 = strcmp(method, "md5") == 0, is_sha = strcmp(method, "hmac-sha256") == 0;
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(is_sha ? MBEDTLS_MD_SHA256 : MBEDTLS_MD_MD5);
    mbedtls_md_context_t md;
    unsigned char digest[32];
    size_t total = 0, i, dl = mbedtls_md_get_size(info), k = 0, slen = strlen(secret);
    char *concat;
    int rc;
    for (i = 0; i < n; i++) total += strlen(p[i].name) + strlen(p[i].value);
    concat = malloc(total + 1);
    if (!concat) return -1;
    for (i = 0; i < n; i++) {
        size_t a = strlen(p[i].name), b = strlen(p[i].value);
        memcpy(concat + k, p[i].name, a); k += a;
        memcpy(concat + k, p[i].value, b); k += b;
    }
    mbedtls_md_init(&md);
    rc = mbedtls_md_setup(&md, info, !is_md5);
    if (rc == 0 && is_md5) {
        rc = mbedtls_md_starts(&md);
        if (rc == 0) rc = mbedtls_md_update(&md, (const unsigned char *)secret, slen);
        if (rc == 0) rc = mbedtls_md_update(&md, (const unsigned char *)concat, total);
        if (rc == 0) rc = mbedtls_md_update(&md, (const unsigned char *)secret, slen);
        if (rc == 0) rc = mbedtls_md_finish(&md, digest);
    } else if (rc == 0) {
        rc = mbedtls_md_hmac_starts(&md, (const unsigned char *)secret, slen);
        if (rc == 0) rc = mbedtls_md_hmac_update(&md, (const unsigned char *)concat, total);
        if (rc == 0) rc = mbedtls_md_hmac_finish(&md, digest);
    }
    mbedtls_md_free(&md);
    free(concat);
    for (i = 0; i < dl; i++) { hex_out[2 * i] = hex[digest[i] >> 4]; hex_out[2 * i + 1] = hex[digest[i] & 15]; }
    hex_out[2 * dl] = 0;
    return rc;
}

int baseline_init(const baseline_heap *h) {
    if (h) return curl_global_init_mem(CURL_GLOBAL_NOTHING, h->malloc_fn, h->free_fn, h->realloc_fn,
                                       h->strdup_fn, h->calloc_fn) == CURLE_OK ? 0 : -1;
    return curl_global_init(CURL_GLOBAL_NOTHING) == CURLE_OK ? 0 : -1;
}

char *baseline_sign_body(const icbu_order *o, const char *app_key, const char *secret,
                         const char *sign_method, const char *timestamp, int enc, size_t *len) {
    param p[8];
    char *esc[8] = { NULL };
    size_t n = 0, i, cap = 0, k = 0;
    char sign[65], *json, *body = NULL;
    json = baseline_order_json(o);
    if (!json) return NULL;
    p[n].name = "app_key"; p[n++].value = app_key;
    p[n].name = "format"; p[n++].value = "json";
    p[n].name = "method"; p[n++].value = "alibaba.finance.insurance.icbu.insure.order.callback";
    p[n].name = "sign_method"; p[n++].value = sign_method;
    p[n].name = "timestamp"; p[n++].value = timestamp;
    p[n].name = "v"; p[n++].value = "2.0";
    p[n].name = "insured_order_reflow_request"; p[n++].value = json;
    qsort(p, n, sizeof p[0], param_cmp);
    if (sign_params(p, n, secret, sign_method, sign) != 0) goto out;
    if (enc == BASELINE_CURL) {
        for (i = 0; i < n; i++) {
            if (!(esc[i] = curl_easy_escape(NULL, p[i].value, 0))) goto out;
            cap += strlen(p[i].name) + 2 + strlen(esc[i]);
        }
    } else {
        for (i = 0; i < n; i++) cap += strlen(p[i].name) + 2 + 3 * strlen(p[i].value);
    }
    cap += sizeof "sign=" + 64 + 1;
    body = malloc(cap);
    if (!body) goto out;
    for (i = 0; i < n; i++) {
        size_t a = strlen(p[i].name);
        memcpy(body + k, p[i].name, a); k += a;
        body[k++] = '=';
        if (enc == BASELINE_CURL) {
            a = strlen(esc[i]);
            memcpy(body + k, esc[i], a); k += a;
        } else {
            k += form_encode(body + k, p[i].value);
        }
        body[k++] = '&';
    }
    memcpy(body + k, "sign=", 5); k += 5;
    memcpy(body + k, sign, strlen(sign)); k += strlen(sign);
    body[k] = 0;
    if (len) *len = k;
out:
    for (i = 0; i < n; i++) curl_free(esc[i]);
    free(json);
    return body;
}

/* -------------------------------------------------------------- response */
static const char *get_str(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

void *baseline_parse_response(const char *body, size_t len, baseline_outcome *out) {
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *env, *res, *er, *v;
    memset(out, 0, sizeof *out);
    if (!root) return NULL;
    if ((er = cJSON_GetObjectItemCaseSensitive(root, "error_response")) != NULL && cJSON_IsObject(er)) {
        out->kind = 3;
        v = cJSON_GetObjectItemCaseSensitive(er, "code");
        if (cJSON_IsNumber(v)) out->code = (long long)v->valuedouble;
        out->msg = get_str(er, "msg");
        out->sub_code = get_str(er, "sub_code");
        out->sub_msg = get_str(er, "sub_msg");
        out->request_id = get_str(er, "request_id");
        return root;
    }
    env = cJSON_GetObjectItemCaseSensitive(root, "alibaba_finance_insurance_icbu_insure_order_callback_response");
    res = cJSON_GetObjectItemCaseSensitive(env ? env : root, "result");
    v = cJSON_GetObjectItemCaseSensitive(res, "success");
    if (!cJSON_IsBool(v)) return root;
    out->kind = cJSON_IsTrue(v) ? 1 : 2;
    out->insure_id = get_str(res, "insure_id");
    out->error_code = get_str(res, "error_code");
    out->error_msg = get_str(res, "error_msg");
    out->request_id = get_str(env ? env : root, "request_id");
    return root;
}

void baseline_parse_free(void *handle) { cJSON_Delete((cJSON *)handle); }
