/* layered_curl.c - the layered API with an HTTP client you already have (libcurl):
 * icbu_sign_body() writes the POST body, libcurl sends it, icbu_parse_response()
 * reads the answer in place.
 *
 *   cc -std=c99 -I. -DICBU_REFLOW_CRYPTO_MBEDTLS examples/layered_curl.c -lmbedcrypto -lcurl
 *   ICBU_REFLOW_APP_KEY=... ICBU_REFLOW_APP_SECRET=... ./a.out URL EXTERNAL_BIZ_ID
 *
 * Prints one line: "accepted INSURE_ID", "refused CODE: MESSAGE", "platform error
 * CODE: MESSAGE" or "failed: WHY"; exits 0, 1, 2 or 3 likewise. */
#define ICBU_REFLOW_IMPLEMENTATION
#include "icbu_reflow.h"
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct answer { char buf[65536]; size_t n; };      /* the gateway's answers are small */

static size_t on_data(char *p, size_t size, size_t count, void *ctx)
{
    struct answer *a = (struct answer *)ctx;
    size_t n = size * count;
    if (n > sizeof a->buf - a->n)
        return 0;                                     /* too large: curl stops with an error */
    memcpy(a->buf + a->n, p, n);
    a->n += n;
    return n;
}

/* POSTs body to url; the answer's body in a. 0, or -1 after a message. */
static int post(const char *url, const char *body, size_t len, struct answer *a)
{
    CURL *curl = curl_easy_init();
    struct curl_slist *head = curl_slist_append(NULL,
        "Content-Type: application/x-www-form-urlencoded;charset=UTF-8");
    long status = 0;
    CURLcode rc = curl == NULL || head == NULL ? CURLE_OUT_OF_MEMORY : CURLE_OK;
    if (rc == CURLE_OK) {
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, head);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
        rc = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(head);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK || status != 200)
        printf("failed: %s\n", rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP status is not 200");
    return rc == CURLE_OK && status == 200 ? 0 : -1;
}

/* One of the answer's strings (they point into the answer: no NUL), with a
 * control character shown as '?': a C0 control or DEL, or a C1 control in
 * UTF-8 (C2 80..C2 9F, such as CSI and NEL). The gateway's text cannot start
 * a line of its own or drive the terminal. */
static void put_text(const icbu_str *s)
{
    size_t i;
    for (i = 0; s->p != NULL && i < s->n; i++) {
        unsigned char c = (unsigned char)s->p[i];
        unsigned char d = i + 1 < s->n ? (unsigned char)s->p[i + 1] : 0;
        if (c == 0xC2 && d >= 0x80 && d <= 0x9F) {
            putchar('?');                           /* a C1 control: 2 bytes */
            i++;
        } else
            putchar(c < 0x20 || c == 0x7F ? '?' : (int)c);
    }
}

/* The outcome, printed: the exit status. */
static int print_outcome(const icbu_outcome *out)
{
    int rc = 2;
    switch (out->kind) {
    case ICBU_ACCEPTED:
        fputs("accepted ", stdout);
        put_text(&out->insure_id);
        rc = 0;
        break;
    case ICBU_REFUSED:
        fputs("refused ", stdout);
        put_text(&out->error_code);
        fputs(": ", stdout);
        put_text(&out->error_msg);
        rc = 1;
        break;
    default:
        printf("platform error %lld: ", (long long)out->code.v);
        put_text(&out->msg);
        break;
    }
    putchar('\n');
    return rc;
}

int main(int argc, char **argv)
{
    static char body[8192];
    static struct answer a;
    icbu_order o;
    icbu_config c;
    icbu_outcome out;
    icbu_err e;
    size_t n;
    int rc = 3;

    if (argc != 3 || !getenv("ICBU_REFLOW_APP_KEY") || !getenv("ICBU_REFLOW_APP_SECRET") ||
        getenv("ICBU_REFLOW_APP_SECRET")[0] == '\0') {            /* unset, or set empty */
        fputs("usage: ICBU_REFLOW_APP_KEY=... ICBU_REFLOW_APP_SECRET=... layered-curl URL "
              "EXTERNAL_BIZ_ID\n", stderr);
        return 64;
    }
    memset(&o, 0, sizeof o);                                  /* every field absent, then: */
    o.external_biz_id = icbu_s(argv[2]);
    o.amount = icbu_n(10);
    o.currency = icbu_s("USD");
    memset(&c, 0, sizeof c);
    c.app_key = getenv("ICBU_REFLOW_APP_KEY");
    c.app_secret = getenv("ICBU_REFLOW_APP_SECRET");
    c.sign_method = ICBU_SIGN_HMAC_SHA256;
    c.timestamp = icbu_date_from_unix((int64_t)time(NULL));
#ifdef ICBU_REFLOW_CRYPTO_PSA
    if (psa_crypto_init() != PSA_SUCCESS)                     /* PSA: the application's, once */
        return 3;
#endif
    if (icbu_sign_body(&c, &o, body, sizeof body, &n, &e) != ICBU_OK) {     /* 1. the body */
        printf("failed: %s %s\n", icbu_strerror(e.status), e.path);
        return 3;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (post(argv[1], body, n, &a) == 0) {                                    /* 2. POST it */
        if (icbu_parse_response(a.buf, a.n, &out, &e) == ICBU_OK)             /* 3. the answer */
            rc = print_outcome(&out);
        else
            printf("failed: %s\n", icbu_strerror(e.status));
    }
    curl_global_cleanup();
    return rc;
}
