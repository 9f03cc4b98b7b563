/* icbu_reflow.h - v0.1.0 - report insured cargo orders to Alibaba.com (ICBU)
 *                          through the TOP API, with zero heap allocation.
 *                          MIT licence: see the end of the file.
 *
 * WHAT IT DOES
 *   Builds the order of `alibaba.finance.insurance.icbu.insure.order.callback`
 *   from C structs, writes it as JSON inside a signed
 *   application/x-www-form-urlencoded body (md5, hmac or hmac-sha256), sends it
 *   through a transport you plug in, and parses the gateway's answer in place.
 *   Everything it produces lives in one byte buffer (the arena) that you own.
 *   It calls no malloc, no printf, no time(): you pass in the time.
 *
 * USE
 *   In exactly one C or C++ file:
 *       #define ICBU_REFLOW_CRYPTO_MBEDTLS      (or _PSA, _BEARSSL or _CUSTOM)
 *       #define ICBU_REFLOW_IMPLEMENTATION
 *       #include "icbu_reflow.h"
 *   Everywhere else just #include "icbu_reflow.h". (icbu_reflow.c is that one
 *   file, with the back end from the build: what CMake's icbu_reflow::icbu_reflow,
 *   `make install`, ESP-IDF, Zephyr, PlatformIO and Arduino compile. README.md,
 *   "Use it in your build", has the lines for each, and the link line for cc.)
 *
 *       icbu_order o;  icbu_config c;  icbu_err e;  char arena[2048];  size_t n;
 *       memset(&o, 0, sizeof o);  memset(&c, 0, sizeof c);   -- all absent
 *       o.external_biz_id = icbu_s("12345");
 *       o.amount          = icbu_n(10);
 *       c.app_key = "12345678";  c.app_secret = secret;  c.sign_method = ICBU_SIGN_HMAC_SHA256;
 *       c.timestamp = icbu_date_from_unix(unix_now);      -- GMT+8, no gmtime()
 *       if (icbu_sign_body(&c, &o, arena, sizeof arena, &n, &e) != ICBU_OK)
 *           ... icbu_strerror(e.status), e.path, e.need ...
 *
 * DATA FLOW (and the order of the implementation below, after the hash back
 * ends it starts with)
 *   model (dates, schema tables, methods, field paths, UTF-8) -> output sink
 *   (form encoder, hash stage) -> JSON writer (with its fast paths in one
 *   section) -> signer (HMAC) -> form body (the system parameters' table) ->
 *   HTTP/1.1 request and response reader -> JSON reader -> answer parser and
 *   exchange -> retries (icbu_report, icbu_fault_of) -> request decoder
 *   (icbu_decode_order), the reader's other use.
 *
 * THE MODEL
 *   One struct per API type, members named by their wire names:
 *       InsuredOrderReflowRequest  icbu_order      CustomerInfoForTop  icbu_customer
 *       AliId                      icbu_ali_id     OrderSubjectInfo    icbu_subject
 *       GoodsItemDTO               icbu_goods      ChannelTransferStreamInfo icbu_transfer
 *   Every field is optional; a zeroed struct has every field absent.
 *       String  icbu_str   {p, n}      absent: p == NULL   ("" is p != NULL, n == 0)
 *       Number  icbu_num   {v, set}    int64_t; absent: set == 0
 *       Boolean icbu_bool  {v, set}    absent: set == 0
 *       Date    icbu_date  {year..sec, set}  GMT+8 calendar time; absent: set == 0
 *       object  const T *              absent: NULL
 *       T[]     {p, n}                 absent: p == NULL   (p != NULL, n == 0 is [])
 *   The fields are declared once, in the ICBU_FIELDS_* lists below; the structs,
 *   the JSON writer, the JSON reader and the field paths in errors all follow
 *   from those lists. A new API field is one line there.
 *
 * THE METHOD
 *   The TOP method is data too: one line of ICBU_METHODS (name, request
 *   parameter, request type, idempotency key, answer envelope, result type)
 *   gives its answer's types, its descriptor (icbu_method_get) and the
 *   parameter the signer sends in its sorted place among the system
 *   parameters, which are a table. The calls that take a method
 *   (icbu_request_json, icbu_sign_request, icbu_parse_answer,
 *   icbu_call_exchange, icbu_call_report, icbu_decode_request) do the work;
 *   the order's calls (icbu_order_json, icbu_sign_body, ...) are those with
 *   the order's method. Another method is its field lists, ICBU_EXTRA_TYPES
 *   and a line of ICBU_EXTRA_METHODS, defined before including this header
 *   (tests/toy_method.c does it).
 *
 * ARENA AND SIZES
 *   Every function that writes takes (buf, cap) and reports the length in *len.
 *   buf == NULL with cap 0 is a sizing call: nothing is written, *len is the
 *   size needed (NULL with a cap is ICBU_E_ARG; no sizing call for
 *   icbu_http_read and the exchanges and reports, which need a real buffer).
 *   A buffer that is too small gives ICBU_E_NOSPACE with e->need set to the
 *   size needed, and not one byte is written at or past buf[cap]. A size of
 *   SIZE_MAX or more (64 KB where size_t is 16 bits, 4 GB where it is 32) is
 *   ICBU_E_NOSPACE with e->need = SIZE_MAX, for a sizing call too.
 *   buf may not overlap what the call reads (as memcpy's arguments may not):
 *   the order's structs and strings, the config's strings and secret; nor
 *   may icbu_sign_params' hex overlap its secret or values. The output is
 *   written while they are read: over them, it gives a wrong signature, or a
 *   crash on a pointer overwritten. An order icbu_decode_order laid out in an
 *   arena is signed or sent from another arena, not that one.
 *
 * CONFIGURATION (define before including)
 *   ICBU_REFLOW_IMPLEMENTATION   compile the implementation in this file
 *   ICBU_REFLOW_STATIC           make every function static to this file
 *   ICBU_REFLOW_CRYPTO_MBEDTLS   hashes from mbedTLS 2.28 or 3.x (tested: 2.28.3, 3.6.6;
 *                                 plain md5/sha256 contexts; link -lmbedcrypto). mbedTLS
 *                                 4.x has no such API: with it this is an #error, use _PSA.
 *   ICBU_REFLOW_CRYPTO_PSA       hashes through PSA Crypto (psa_hash_*; <psa/crypto.h>):
 *                                 mbedTLS 2.28 and 3.6 (-lmbedcrypto), mbedTLS 4.x
 *                                 (-ltfpsacrypto; tested: 2.28.3, 3.6.6, 4.0.0), or a
 *                                 platform's PSA (TF-M, Zephyr, nRF Connect). You
 *                                 call psa_crypto_init() once before signing; the
 *                                 library never does.
 *                                 A PSA failure is ICBU_E_CRYPTO, the psa_status_t
 *                                 in err.detail (-134: MD5 or SHA-256 not enabled)
 *   ICBU_REFLOW_CRYPTO_BEARSSL   hashes from BearSSL 0.6 (link -lbearssl)
 *   ICBU_REFLOW_BEARSSL_HEADER   how BearSSL is included (default <bearssl.h>;
 *                                 <bearssl/bearssl.h> on the ESP8266 and RP2040
 *                                 Arduino cores; implementation file only)
 *   ICBU_REFLOW_CRYPTO_CUSTOM    hashes from your three functions, icbu_custom_hash_*
 *                                 (declared below), over a context type you name in
 *                                 ICBU_REFLOW_CUSTOM_CTX (default: 256 aligned bytes)
 *                                 -- exactly one of the four, where the implementation is
 *   ICBU_REFLOW_NO_EXCHANGE      leave out transport, HTTP, the response parser, retries
 *   ICBU_REFLOW_NO_DECODER       leave out the JSON request decoder (icbu_decode_order,
 *                                 icbu_decode_request)
 *   ICBU_REFLOW_SMALL            the writer's compact paths only: a 64-byte hash stage
 *                                 and no unrolled or inlined copies (the default with
 *                                 -Os and with compilers other than GCC and clang;
 *                                 otherwise the stage is 256 bytes plus 48 of slack,
 *                                 about 240 bytes more stack, for fewer instructions
 *                                 outside the hash; implementation file only)
 *   ICBU_REFLOW_SHORT_STATUS     icbu_strerror returns the status's name ("ICBU_E_UTF8")
 *                                 rather than a sentence (implementation file only)
 *   ICBU_PATH_MAX      (96)      bytes of the field path kept in icbu_err, its NUL
 *                                 included. It sizes icbu_err: define it the same in
 *                                 every file that includes the header, or their
 *                                 icbu_err differ and a call writes past yours
 *   ICBU_JSON_MAX_DEPTH (32)     deepest JSON nesting the reader accepts, 4..63
 *                                 (else an #error; implementation file only)
 *   ICBU_EXTRA_TYPES, ICBU_EXTRA_METHODS
 *                                another method's types and its line (THE METHOD
 *                                 above): they declare its structs and its
 *                                 ICBU_METHOD_<id>, so define them the same in the
 *                                 implementation's file and in every file that uses them
 *   ICBU_REFLOW_NO_LIBC          the library's own byte loops for the five below
 *                                 that you leave undefined: no C library at all
 *                                 (implementation file only)
 *   ICBU_MEMCPY, ICBU_MEMMOVE, ICBU_MEMSET, ICBU_MEMCMP, ICBU_STRLEN
 *                                the only libc calls (string.h by default;
 *                                 implementation file only)
 *
 * ERRORS
 *   Every call returns an icbu_status; icbu_strerror() names it. The icbu_err
 *   you pass gets the status plus, where it applies, the field path
 *   ("subject_matter_info.goods_item_list[2].item_url_list[0]"), the byte
 *   offset of bad JSON, the size needed, or the transport's/HTTP's number.
 *   e may be NULL in every call (the status is still returned); a NULL where
 *   a call needs a pointer is ICBU_E_ARG, never a crash (icbu_wipe, which
 *   returns nothing, takes NULL with n == 0 alone).
 *   The library never prints, and never puts the secret anywhere: its own
 *   copies (signer context, HMAC key pads, hash stage, digest) are wiped on
 *   every path, errors included. The hash back end's own stack frames are its
 *   own: mbedTLS wipes them; BearSSL 0.6 does not, so with it and md5 signing
 *   the blocks that hold the secret stay in dead stack until overwritten
 *   (tests/residue.c checks mbedTLS builds for any copy).
 */
#ifndef ICBU_REFLOW_H
#define ICBU_REFLOW_H

#include <stddef.h>
#include <stdint.h>

#define ICBU_REFLOW_VERSION "0.1.0"

#ifdef ICBU_REFLOW_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define ICBUDEF static __attribute__((unused))   /* no warning for what this file does not call */
#else
#define ICBUDEF static
#endif
#else
#define ICBUDEF extern
#endif

#ifndef ICBU_PATH_MAX
#define ICBU_PATH_MAX 96
#endif
#ifndef ICBU_JSON_MAX_DEPTH
#define ICBU_JSON_MAX_DEPTH 32
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ status
 * X(name, text for a person, the icbu_err field that says more: need, path,
 * offset or detail; - for none). icbu_strerror() returns the text; the third
 * column is documentation (README's status table), not part of the string:
 *   need    NOSPACE: the exact size needed; HTTP_TOOBIG: at least this many bytes
 *   path    the field ("subject_matter_info.goods_item_list[2].item_url_list[0]"),
 *           or the system parameter ("timestamp", "app_key", ...)
 *   offset  the byte offset in the JSON text
 *   detail  the transport's return value (SEND, RECV, OPEN), the HTTP status
 *           (HTTP_STATUS), or the hash back end's code (CRYPTO) */
#define ICBU_STATUS_LIST(X)                                                          \
    X(ICBU_OK,                "ok",                                                            -) \
    X(ICBU_E_ARG,             "invalid argument: a NULL pointer, or a required setting missing", -) \
    X(ICBU_E_NOSPACE,         "buffer too small",                                              need) \
    X(ICBU_E_UTF8,            "text is not valid UTF-8",                                       path) \
    X(ICBU_E_DATE,            "not a real date and time, or not yyyy-MM-dd HH:mm:ss",          path) \
    X(ICBU_E_CRYPTO,          "the hash back end failed",                                      detail) \
    X(ICBU_E_URL,             "URL is not http(s)://host[:port][/path]",                       -) \
    X(ICBU_E_SEND,            "could not send to the gateway",                                 detail) \
    X(ICBU_E_RECV,            "could not receive from the gateway",                            detail) \
    X(ICBU_E_TIMEOUT,         "timed out",                                                     -) \
    X(ICBU_E_HTTP_SYNTAX,     "malformed HTTP status line or header",                          -) \
    X(ICBU_E_HTTP_FOLDED,     "obsolete folded HTTP header line",                              -) \
    X(ICBU_E_HTTP_FRAMING,    "conflicting or unsupported Content-Length/Transfer-Encoding",   -) \
    X(ICBU_E_HTTP_SIZE,       "bad or overflowing Content-Length or chunk size",               -) \
    X(ICBU_E_HTTP_TOOBIG,     "HTTP answer larger than the buffer",                            need) \
    X(ICBU_E_HTTP_TRUNCATED,  "connection closed before the end of the answer",                -) \
    X(ICBU_E_HTTP_STATUS,     "HTTP status is not 200",                                        detail) \
    X(ICBU_E_JSON,            "malformed JSON",                                                offset) \
    X(ICBU_E_DEPTH,           "JSON nested too deep",                                          offset) \
    X(ICBU_E_TRAILING,        "text after the JSON value",                                     offset) \
    X(ICBU_E_FIELD,           "unknown field",                                                 path) \
    X(ICBU_E_DUPLICATE,       "field given twice",                                             path) \
    X(ICBU_E_TYPE,            "wrong JSON type for the field",                                 path) \
    X(ICBU_E_NUMBER,          "number is not an integer within int64",                         path) \
    X(ICBU_E_RESPONSE,        "the answer is JSON but not a TOP answer",                       -) \
    X(ICBU_E_NO_BIZ_ID,       "retries need external_biz_id, the report's idempotency key",    -) \
    X(ICBU_E_OPEN,            "could not connect to the gateway",                              detail)

#define ICBU__ENUM(name, text, field) name,
typedef enum icbu_status { ICBU_STATUS_LIST(ICBU__ENUM) ICBU_STATUS_COUNT } icbu_status;

/* ------------------------------------------------------------ value types */
typedef struct icbu_str  { const char *p; size_t n; } icbu_str;         /* absent: p == NULL */
typedef struct icbu_num  { int64_t v; unsigned char set; } icbu_num;     /* absent: set == 0 */
typedef struct icbu_bool { unsigned char v, set; } icbu_bool;            /* absent: set == 0 */
typedef struct icbu_date {                                               /* GMT+8, absent: set == 0 */
    uint16_t year;                        /* 0..9999 */
    uint8_t  month, day, hour, min, sec;  /* 1..12, 1..31, 0..23, 0..59, 0..59 */
    uint8_t  set;
} icbu_date;
typedef struct icbu_str_list { const icbu_str *p; size_t n; } icbu_str_list;

/* ------------------------------------------------------------------ schema
 * X(struct, kind, wire_name, subtype). Kinds: STR NUM BOOL DATE, OBJ (pointer
 * to icbu_<subtype>), OBJS (icbu_<subtype>_list), STRS (icbu_str_list).
 * Field order is the API document's, and is the order of the JSON written. */
#define ICBU_FIELDS_ali_id(X) \
    X(ali_id, NUM,  ali_id,                  none)

#define ICBU_FIELDS_customer(X) \
    X(customer, STR,  birthday,                none) \
    X(customer, STR,  license_no,              none) \
    X(customer, STR,  license_valid_time_util, none) \
    X(customer, STR,  address,                 none) \
    X(customer, STR,  gender,                  none) \
    X(customer, STR,  alipay_account_id,       none) \
    X(customer, STR,  ali_id,                  none) \
    X(customer, STR,  license_valid_time_from, none) \
    X(customer, STR,  license_type,            none) \
    X(customer, STR,  phone,                   none) \
    X(customer, OBJ,  customer_id,             ali_id) \
    X(customer, STR,  name,                    none) \
    X(customer, STR,  email,                   none)

#define ICBU_FIELDS_goods(X) \
    X(goods, STR,  item_type,                  none) \
    X(goods, NUM,  item_quantity,              none) \
    X(goods, STR,  item_currency,              none) \
    X(goods, STR,  item_code,                  none) \
    X(goods, STR,  item_price,                 none) \
    X(goods, STR,  item_desc,                  none) \
    X(goods, STRS, item_url_list,              none)

#define ICBU_FIELDS_subject(X) \
    X(subject, STR,  order_id,                 none) \
    X(subject, STR,  seller_alipay_account,    none) \
    X(subject, STR,  seller_login_id,          none) \
    X(subject, STR,  buyer_id,                 none) \
    X(subject, STR,  buyer_login_id,           none) \
    X(subject, NUM,  order_amount,             none) \
    X(subject, STR,  seller_id,                none) \
    X(subject, DATE, order_time,               none) \
    X(subject, OBJS, goods_item_list,          goods) \
    X(subject, STR,  order_title,              none) \
    X(subject, STR,  platform_name,            none) \
    X(subject, STR,  order_category,           none) \
    X(subject, STR,  buyer_alipay_account,     none)

#define ICBU_FIELDS_transfer(X) \
    X(transfer, STR, fund_stream,              none)

#define ICBU_FIELDS_order(X) \
    X(order, STR,  insured_alipay_account,     none) \
    X(order, DATE, insure_time,                none) \
    X(order, NUM,  amount,                     none) \
    X(order, STR,  external_biz_id,            none) \
    X(order, OBJ,  insured,                    customer) \
    X(order, STR,  open_id,                    none) \
    X(order, STR,  applicant_alipay_account,   none) \
    X(order, STR,  premium_rate,               none) \
    X(order, STR,  memo,                       none) \
    X(order, STR,  echo,                       none) \
    X(order, STR,  precision_premium,          none) \
    X(order, OBJ,  subject_matter_info,        subject) \
    X(order, OBJ,  applicant,                  customer) \
    X(order, BOOL, major_order,                none) \
    X(order, STR,  institution,                none) \
    X(order, NUM,  insure_period,              none) \
    X(order, NUM,  premium,                    none) \
    X(order, DATE, expire_time,                none) \
    X(order, STR,  currency,                   none) \
    X(order, STR,  currency_rate,              none) \
    X(order, OBJ,  transfer_stream_info,       transfer)

/* The gateway's answer, read by the same reader (unknown fields skipped). */
#define ICBU_FIELDS_insure_result(X) \
    X(insure_result, BOOL, success,            none) \
    X(insure_result, STR,  insure_id,          none) \
    X(insure_result, STR,  error_code,         none) \
    X(insure_result, STR,  error_msg,          none)

#define ICBU_FIELDS_error_response(X) \
    X(error_response, NUM, code,               none) \
    X(error_response, STR, msg,                none) \
    X(error_response, STR, sub_code,           none) \
    X(error_response, STR, sub_msg,            none) \
    X(error_response, STR, request_id,         none)

/* Every type, dependencies first: the order's, yours (ICBU_EXTRA_TYPES, see
 * METHODS below), then the answers'. */
#define ICBU_ORDER_TYPES(X) \
    X(ali_id) X(customer) X(goods) X(subject) X(transfer) X(order)
#ifndef ICBU_EXTRA_TYPES
#define ICBU_EXTRA_TYPES(X)
#endif
#define ICBU_RESPONSE_TYPES(X) \
    X(insure_result) X(error_response)

/* ----------------------------------------------------------------- methods
 * One line per TOP method:
 *   X(id, method name, request parameter, request type, idempotency key,
 *     answer envelope, result type)
 * The idempotency key is a String field of the request that makes a repeated
 * report harmless (retries need it); empty for none. From the line come the
 * answer's types (icbu_<id>_envelope, icbu_<id>_answer), a descriptor
 * (icbu_method_get(ICBU_METHOD_<id>)) and the parameter the signer sends.
 * Another method is its ICBU_FIELDS_* lists, its types in ICBU_EXTRA_TYPES(X)
 * and its line in ICBU_EXTRA_METHODS(X), all defined before this header.
 * Limits, checked as it compiles: 32 fields a type; 63 types in all (the
 * order's, yours, and two for each method's answer: the 64th id stands for
 * none); 8 KB of a part's field names and descriptors (the requests', or the
 * answers'); objects nested 8 deep in a request, and no type that holds
 * itself. */
#define ICBU_METHODS(X) \
    X(order_callback, "alibaba.finance.insurance.icbu.insure.order.callback", \
      insured_order_reflow_request, order, external_biz_id, \
      alibaba_finance_insurance_icbu_insure_order_callback_response, insure_result)
#ifndef ICBU_EXTRA_METHODS
#define ICBU_EXTRA_METHODS(X)
#endif
#define ICBU_ALL_METHODS(X) ICBU_METHODS(X) ICBU_EXTRA_METHODS(X)

/* A method's answer: {envelope: {result, request_id}}, or {error_response},
 * or, with simplify=true, {result, request_id}. */
#define ICBU__ENVELOPE_FIELDS(X, id, res) \
    X(id##_envelope, OBJ, result, res) X(id##_envelope, STR, request_id, none)
#define ICBU__ANSWER_FIELDS(X, id, env, res) \
    X(id##_answer, OBJ, env, id##_envelope) X(id##_answer, OBJ, error_response, error_response) \
    X(id##_answer, OBJ, result, res) X(id##_answer, STR, request_id, none)

#define ICBU__CT_STR(s)  icbu_str
#define ICBU__CT_NUM(s)  icbu_num
#define ICBU__CT_BOOL(s) icbu_bool
#define ICBU__CT_DATE(s) icbu_date
#define ICBU__CT_OBJ(s)  const struct icbu_##s *
#define ICBU__CT_OBJS(s) icbu_##s##_list
#define ICBU__CT_STRS(s) icbu_str_list
#define ICBU__MEMBER(st, kind, name, sub) ICBU__CT_##kind(sub) name;
#define ICBU__STRUCT(t) \
    typedef struct icbu_##t icbu_##t; \
    typedef struct icbu_##t##_list { const struct icbu_##t *p; size_t n; } icbu_##t##_list; \
    struct icbu_##t { ICBU_FIELDS_##t(ICBU__MEMBER) };
#define ICBU__MSTRUCTS(id, name, param, req, key, env, res) \
    typedef struct icbu_##id##_envelope icbu_##id##_envelope; \
    struct icbu_##id##_envelope { ICBU__ENVELOPE_FIELDS(ICBU__MEMBER, id, res) }; \
    typedef struct icbu_##id##_answer icbu_##id##_answer; \
    struct icbu_##id##_answer { ICBU__ANSWER_FIELDS(ICBU__MEMBER, id, env, res) };
ICBU_ORDER_TYPES(ICBU__STRUCT)
ICBU_EXTRA_TYPES(ICBU__STRUCT)
ICBU_RESPONSE_TYPES(ICBU__STRUCT)
ICBU_ALL_METHODS(ICBU__MSTRUCTS)
typedef icbu_order_callback_envelope icbu_envelope;    /* their names before methods were data */
typedef icbu_order_callback_answer icbu_response;

/* A method, as the calls below take it: icbu_method_get(ICBU_METHOD_<id>). */
#define ICBU__MID(id, name, param, req, key, env, res) ICBU_METHOD_##id,
typedef enum icbu_method_id { ICBU_ALL_METHODS(ICBU__MID) ICBU_METHOD_COUNT } icbu_method_id;
typedef struct icbu_method {
    const char *name;             /* "alibaba.finance.insurance.icbu.insure.order.callback" */
    const char *param;            /* its request parameter: "insured_order_reflow_request" */
    const char *key;              /* the request's idempotency key field, or "" */
    unsigned char request, answer, result;   /* the library's schema types */
} icbu_method;

/* --------------------------------------------------------------- settings */
typedef enum icbu_sign_method {
    ICBU_SIGN_HMAC_SHA256 = 0,  /* "hmac-sha256" (the zero value: the default) */
    ICBU_SIGN_HMAC,             /* "hmac": HMAC-MD5 */
    ICBU_SIGN_MD5               /* "md5": MD5(secret + params + secret) */
} icbu_sign_method;

typedef struct icbu_config {
    const char *app_key;          /* required */
    const char *app_secret;       /* required (not ""); read, never copied out, never printed */
    icbu_sign_method sign_method;
    icbu_date   timestamp;        /* required: now, GMT+8 (icbu_date_from_unix) */
    const char *session;          /* optional: NULL or "" leaves it out */
    const char *partner_id;       /* optional */
    const char *target_app_key;   /* optional */
    int         simplify;         /* nonzero sends simplify=true */
} icbu_config;

typedef struct icbu_err {
    icbu_status status;
    size_t need;                  /* ICBU_E_NOSPACE: bytes needed; ICBU_E_HTTP_TOOBIG: at least */
    size_t offset;                /* JSON errors: byte offset in the input */
    long   detail;                /* transport return value, HTTP status, or the hash
                                     back end's code (a psa_status_t with PSA) */
    char   path[ICBU_PATH_MAX];   /* field path, "" when none applies */
} icbu_err;

/* ------------------------------------------------------------------ the API */
/* The status's text (its name with ICBU_REFLOW_SHORT_STATUS); "unknown status"
 * for a value not in the list. Never NULL. */
ICBUDEF const char *icbu_strerror(icbu_status s);
/* Present values: a String (p NULL gives absent, whatever n), a Number, a
 * Boolean (v nonzero is true), a Date. icbu_d checks nothing (a value too wide
 * for its field is clamped): a date that is not real is ICBU_E_DATE, with its
 * path, where it is written. */
ICBUDEF icbu_str  icbu_s(const char *nul_terminated);    /* NULL gives absent */
ICBUDEF icbu_str  icbu_sn(const char *p, size_t n);
ICBUDEF icbu_num  icbu_n(int64_t v);
ICBUDEF icbu_bool icbu_b(int v);
ICBUDEF icbu_date icbu_d(unsigned year, unsigned month, unsigned day,
                         unsigned hour, unsigned min, unsigned sec);
/* Unix seconds -> GMT+8 calendar time. Out of years 0..9999 gives set == 0. */
ICBUDEF icbu_date icbu_date_from_unix(int64_t unix_seconds);
/* Writes "yyyy-MM-dd HH:mm:ss" and a NUL into out[20]; ICBU_E_DATE if invalid. */
ICBUDEF icbu_status icbu_date_format(const icbu_date *d, char out[20]);
/* "yyyy-MM-dd HH:mm:ss" (exactly those n == 19 bytes) into *d, as it stands
 * (GMT+8 on the wire); ICBU_E_DATE if it is not that, or not a real date and time. */
ICBUDEF icbu_status icbu_date_parse(const char *s, size_t n, icbu_date *d);
/* The sign methods' names as sent ("hmac-sha256", "hmac", "md5"; NULL for
 * another value), and back from a name of n bytes (ICBU_E_ARG for another). */
ICBUDEF const char *icbu_sign_method_name(icbu_sign_method m);
ICBUDEF icbu_status icbu_sign_method_parse(const char *name, size_t n, icbu_sign_method *m);
/* Zeroes n bytes at p with stores the compiler may not drop: for secrets,
 * keys and whatever held them. */
ICBUDEF void icbu_wipe(void *p, size_t n);
/* The length (1..4) of the UTF-8 sequence at p, of at most n bytes, or 0 when
 * it is not one (RFC 3629: no overlong forms, surrogates or code points past
 * U+10FFFF). */
ICBUDEF size_t icbu_utf8_len(const char *p, size_t n);

/* The order as JSON text (no NUL); o NULL is ICBU_E_ARG. buf == NULL: sizing call. */
ICBUDEF icbu_status icbu_order_json(const icbu_order *o, char *buf, size_t cap,
                                    size_t *len, icbu_err *e);
#ifndef ICBU_REFLOW_NO_EXCHANGE
/* p[0..n) as a JSON string, quotes included (no NUL), escaped as the writer
 * escapes the request's strings (p NULL with n 0 is ""); ICBU_E_UTF8 when p
 * is not UTF-8. For programs that pass the gateway's answers on as JSON (so
 * it goes with the answer parser: not with ICBU_REFLOW_NO_EXCHANGE).
 * buf == NULL: sizing call. */
ICBUDEF icbu_status icbu_json_string(const char *p, size_t n, char *buf, size_t cap,
                                     size_t *len, icbu_err *e);
#endif

/* The whole signed form body (no NUL): the system parameters of c, then
 * insured_order_reflow_request, all sorted by name, then sign. o == NULL sends
 * no order parameter. buf == NULL: sizing call (the secret is not touched). */
ICBUDEF icbu_status icbu_sign_body(const icbu_config *c, const icbu_order *o,
                                   char *buf, size_t cap, size_t *len, icbu_err *e);

/* The signature alone, over name/value pairs you supply (any API): sorted
 * here, blank values (NULL, "", whitespace) skipped as TOP skips them. A
 * NULL or repeated name, or no secret (NULL or ""), is ICBU_E_ARG. hex gets
 * 32 or 64 uppercase digits and a NUL, or "" when the back end fails. */
typedef struct icbu_param { const char *name; icbu_str value; } icbu_param;
ICBUDEF icbu_status icbu_sign_params(const char *secret, icbu_sign_method m,
                                     const icbu_param *params, size_t count,
                                     char hex[65], icbu_err *e);

/* Any method of ICBU_METHODS (and yours, ICBU_EXTRA_METHODS): the calls above
 * and below that name the order are these, with the order's method. */
ICBUDEF const icbu_method *icbu_method_get(icbu_method_id id);   /* NULL: no such method */
/* m's request (a struct of its request type; neither may be NULL) as JSON text.
 * buf == NULL: sizing call. */
ICBUDEF icbu_status icbu_request_json(const icbu_method *m, const void *req, char *buf,
                                      size_t cap, size_t *len, icbu_err *e);
/* 1 when req carries m's idempotency key (its key field, a String, not blank):
 * what retries need, since a repeated report is then harmless. 0 otherwise,
 * and for a method without one. */
ICBUDEF int icbu_has_key(const icbu_method *m, const void *req);
/* The signed form body of a call of m; req == NULL sends no request parameter. */
ICBUDEF icbu_status icbu_sign_request(const icbu_config *c, const icbu_method *m, const void *req,
                                      char *buf, size_t cap, size_t *len, icbu_err *e);

/* Hash back end: the two hashes it is asked for, whichever back end is chosen. */
typedef enum icbu_hash_alg { ICBU_HASH_MD5 = 0, ICBU_HASH_SHA256 = 1 } icbu_hash_alg;
#ifdef ICBU_REFLOW_CRYPTO_CUSTOM
/* With ICBU_REFLOW_CRYPTO_CUSTOM you write these three: ctx points at an
 * ICBU_REFLOW_CUSTOM_CTX (the type you name; default 256 bytes aligned for
 * int64_t and pointers). Return 0 on success, or a nonzero code of yours:
 * ICBU_E_CRYPTO reports it in err.detail. */
int icbu_custom_hash_init(void *ctx, icbu_hash_alg alg);
int icbu_custom_hash_update(void *ctx, const void *data, size_t n);
int icbu_custom_hash_final(void *ctx, unsigned char *out);  /* 16 or 32 bytes */
#endif

#ifndef ICBU_REFLOW_NO_EXCHANGE
/* ------------------------------------------------------ transport and HTTP
 * The transport is yours: you connect (TCP, TLS) before icbu_exchange and close
 * after. The library writes and reads HTTP/1.1 over it.
 *   send/recv: move up to n bytes, waiting at most timeout_ms. Return the count
 *   moved (> 0; partial is fine), 0 when the peer closed, or a negative value
 *   on error (ICBU_IO_TIMEOUT for a timeout; any other negative, e.g. -errno,
 *   is reported in err.detail).
 *   now_ms: a monotonic millisecond clock (it may wrap); NULL disables the
 *   deadline: timeout_ms then bounds each send and recv call alone. With a
 *   clock, timeout_ms is at most 0x7FFFFFFF (24.8 days): more is ICBU_E_ARG,
 *   not "no limit". */
#define ICBU_IO_TIMEOUT  (-2)
#define ICBU_IO_NO_RETRY (-1000)   /* open: at or below this, trying again cannot help */
typedef enum icbu_stage {
    ICBU_STAGE_NONE = 0, ICBU_STAGE_CONNECT, ICBU_STAGE_TLS, ICBU_STAGE_SEND,
    ICBU_STAGE_RECEIVE, ICBU_STAGE_HTTP, ICBU_STAGE_PARSE
} icbu_stage;
typedef struct icbu_url {
    int      https;              /* 1 for https:// */
    icbu_str host;               /* without brackets for [IPv6] */
    uint16_t port;               /* 80 / 443 unless given */
    icbu_str path;               /* "/router/rest" (with any ?query); "/" if none */
} icbu_url;
/* Your I/O. Zero it before filling it in (= {0}): a field left unset, such
 * as keep_alive, and any field a later version adds, are then off. */
typedef struct icbu_transport {
    void *ctx;
    long (*send)(void *ctx, const unsigned char *p, size_t n, uint32_t timeout_ms);
    long (*recv)(void *ctx, unsigned char *p, size_t n, uint32_t timeout_ms);
    uint32_t (*now_ms)(void *ctx);
    /* Only the reports (icbu_report, icbu_call_report) use these, to connect
     * for every attempt.
     * open: 0 when connected afresh, 1 when it reuses the connection a former
     * exchange left open (keep_alive only); else a negative detail, with *stage
     * set to ICBU_STAGE_CONNECT or ICBU_STAGE_TLS, and at most ICBU_IO_NO_RETRY
     * when another try cannot succeed (certificate rejected, unknown host, bad
     * CA file). open cleans up its own failures. close drops the connection
     * (a TLS transport may keep its session, to resume it on the next open). */
    int  (*open)(void *ctx, const icbu_url *u, uint32_t timeout_ms, icbu_stage *stage);
    void (*close)(void *ctx);
    /* Nonzero: the transport keeps connections. Requests then say Connection:
     * keep-alive, and icbu_report leaves a connection that can carry another
     * request open (out->reusable) instead of closing it: the next open reuses
     * it, and you call close when you are done. 0: Connection: close. */
    int keep_alive;
} icbu_transport;
/* url (NUL-terminated) into u, whose strings point into it: http:// or
 * https:// (any case), a host or [IPv6], an optional port 1..65535, and the
 * path with any ?query (a #fragment is dropped). ICBU_E_URL for anything else
 * (userinfo, a space or control anywhere); ICBU_E_ARG for a NULL. */
ICBUDEF icbu_status icbu_url_parse(const char *url, icbu_url *u);

/* Request line and headers for a body of body_len bytes (POST, Host,
 * Content-Type, Content-Length, User-Agent, Connection: close, blank line).
 * icbu_exchange writes Connection: keep-alive instead for a keep_alive transport.
 * A u filled in by hand is ICBU_E_URL (here, and in icbu_exchange and icbu_report
 * before anything is sent) when its host is empty, its port 0, or its host or
 * path has a space, a control or DEL, as icbu_url_parse would refuse. A body_len past
 * INT64_MAX (SIZE_MAX, a length gone negative) is ICBU_E_ARG. */
ICBUDEF icbu_status icbu_http_head(const icbu_url *u, size_t body_len, char *buf,
                                   size_t cap, size_t *len, icbu_err *e);

/* Reads one HTTP/1.1 response from t into buf (cap bytes, not a sizing call)
 * until deadline_ms (an absolute now_ms value; without now_ms, the timeout of
 * each recv call), after any interim 1xx ones (dropped, counted against cap).
 * The body is decoded in place: *body points into buf. A status other than
 * 200 gives ICBU_E_HTTP_STATUS with e->detail; an answer past cap,
 * ICBU_E_HTTP_TOOBIG with at least the bytes needed in e->need. */
ICBUDEF icbu_status icbu_http_read(const icbu_transport *t, uint32_t deadline_ms,
                                   char *buf, size_t cap, icbu_str *body, icbu_err *e);

/* --------------------------------------------------------------- outcome */
typedef enum icbu_kind {
    ICBU_NONE = 0,
    ICBU_ACCEPTED,           /* success = true: insure_id */
    ICBU_REFUSED,            /* success = false: error_code, error_msg */
    ICBU_PLATFORM_ERROR,     /* error_response: code, msg, sub_code, sub_msg */
    ICBU_TRANSPORT_ERROR     /* stage, status, detail */
} icbu_kind;
typedef struct icbu_outcome {
    icbu_kind   kind;
    icbu_str    insure_id, error_code, error_msg;     /* accepted / refused */
    icbu_num    code;                                 /* platform error */
    icbu_str    msg, sub_code, sub_msg;
    icbu_str    request_id;
    icbu_stage  stage;                                /* transport error */
    icbu_status status;
    long        detail;
    unsigned    attempts;                             /* icbu_report: tries made */
    unsigned    reconnects;                           /* icbu_report: a reused connection
                                                         found dead, reopened, the request
                                                         sent again (not an attempt) */
    int         reusable;                             /* the connection can carry another
                                                         request (keep_alive transports):
                                                         icbu_report left it open */
} icbu_outcome;
ICBUDEF const char *icbu_stage_name(icbu_stage s);   /* "connect", "tls", ...; "unknown" */

/* Parses a response body in place (strings are unescaped inside body). The
 * icbu_str fields of out point into body. Returns ICBU_OK when the body is a
 * TOP answer (out->kind ACCEPTED, REFUSED or PLATFORM_ERROR). One pass: when
 * it fails, body may be left partly unescaped (icbu_parse_answer checks
 * first, and leaves a body it refuses as it came). */
ICBUDEF icbu_status icbu_parse_response(char *body, size_t len, icbu_outcome *out,
                                        icbu_err *e);

/* m's answer, parsed in place; its structs are laid out in arena (cap bytes,
 * ICBU_E_NOSPACE with err.need when short). body is checked before a byte of
 * it is changed: when the call fails, it is as it came, to be parsed again
 * with a larger arena (arena NULL, cap 0: a sizing call, which answers
 * ICBU_E_NOSPACE and err.need). The structs go at 8-byte boundaries, and
 * err.need counts this arena's padding (none for a sizing call's): pass one
 * aligned to 8, or allow 7 bytes more. ICBU_OK with out->kind PLATFORM_ERROR,
 * or ACCEPTED and *result (result may be NULL) at the method's result struct
 * (with the order's insure_result: ACCEPTED or REFUSED by its success). */
ICBUDEF icbu_status icbu_parse_answer(const icbu_method *m, char *body, size_t len, void *arena,
                                      size_t cap, const void **result, icbu_outcome *out,
                                      icbu_err *e);

/* The whole exchange on a connected transport: sign, POST, read, parse.
 * The arena holds the request and then the response; out's strings point
 * into it. It keeps a reserve at its end (a few hundred bytes: the
 * signature's state, its hash stage of 64 or 304 bytes and the hash context,
 * then the answer's structs); err.need counts it (an arena smaller than the
 * reserve: err.need is the reserve, at least what is needed). So cap is the
 * arena's real size: one that runs past the end of memory (SIZE_MAX as "no
 * limit") is ICBU_E_ARG. Returns ICBU_OK with out->kind ACCEPTED, REFUSED or
 * PLATFORM_ERROR, or the failure: with out->kind ICBU_TRANSPORT_ERROR and
 * out->stage set once sending began; before that (bad arguments, an order or
 * config that does not sign, an arena too small) out->kind is ICBU_NONE. */
ICBUDEF icbu_status icbu_exchange(const icbu_config *c, const icbu_order *o,
                                  const icbu_url *u, const icbu_transport *t,
                                  uint32_t timeout_ms, char *arena, size_t cap,
                                  icbu_outcome *out, icbu_err *e);

/* ------------------------------------------------------------- retries
 * icbu_report: icbu_exchange with retries. Each attempt opens the transport,
 * signs again with a fresh timestamp (unix_now), sends, and closes (unless a
 * keep_alive transport keeps the connection). Only what can succeed on a
 * second try is retried (icbu_retryable): connect and TLS failures (but an
 * open at or below ICBU_IO_NO_RETRY), send and receive failures, timeouts,
 * HTTP 408, 429 and 5xx, platform codes 7, 8, 10 and 15 (not with an isv.*
 * sub-code) and isp.* sub-codes. A failure to receive after the request was
 * sent is retried too: the gateway may have taken the first, and
 * external_biz_id makes the report idempotent, so retries refuse to start
 * without it (ICBU_E_NO_BIZ_ID). Before retry k (k = 0, 1, ...): sleep a
 * random 0..min(max, base*2^k) ms (full jitter), never past the overall
 * deadline (timeout_ms, by now_ms). */
typedef struct icbu_retry {
    unsigned attempts;                     /* tries in all; 0 and 1 mean one (so does r NULL) */
    uint32_t backoff_ms;                   /* base, default 200 */
    uint32_t backoff_max_ms;               /* cap, default 5000 */
    void    *ctx;
    void    (*sleep_ms)(void *ctx, uint32_t ms);   /* NULL: no pause */
    uint32_t (*random)(void *ctx);         /* any 32-bit value; NULL: no jitter */
    int64_t (*unix_now)(void *ctx);        /* NULL: keep c->timestamp */
} icbu_retry;
/* 1 when another try can mend the failure in o (the list above); 0 for an
 * accepted or refused report, a failure before sending, or o NULL. */
ICBUDEF int icbu_retryable(const icbu_outcome *o);
/* Whose a failure is (next to icbu_retryable, which says whether to try again):
 *   NONE      no failure: accepted
 *   ORDER     the request itself: it does not sign (err.path names its field),
 *             it lacks the idempotency key retries need, it was refused
 *             (business), or the platform refused its content (codes 40, 41,
 *             43, 47, or an isv.* sub-code with another code): another try will
 *             fail the same way
 *   SETTINGS  the sender's settings, the same for every request: a system
 *             parameter that does not sign (err.path "app_key", "timestamp"...),
 *             bad arguments or URL, an arena too small for the request (err.need),
 *             the hash back end; the platform's codes 9, 11, 12 and 21-34
 *             (signature, app key, session, timestamp, version...); HTTP 4xx but
 *             408 and 429; a transport open that says ICBU_IO_NO_RETRY
 *             (certificate, unknown host, CA file)
 *   NETWORK   the way there, or the platform: connect, TLS, send, receive and
 *             timeouts, HTTP 408, 429 and 5xx, an answer that is not a TOP one
 *             or is larger than the arena (HTTP_TOOBIG, not retried; err.need),
 *             the platform's codes 7, 8, 10, 15, 50 and any other, and every
 *             platform error with an isp.* sub-code, whatever its code (as
 *             icbu_retryable retries it)
 * o: the outcome (kind NONE when nothing was sent); e: the error, for a
 * failure before sending (may be NULL otherwise). */
typedef enum icbu_fault {
    ICBU_FAULT_NONE = 0, ICBU_FAULT_ORDER, ICBU_FAULT_SETTINGS, ICBU_FAULT_NETWORK
} icbu_fault;
ICBUDEF icbu_fault icbu_fault_of(const icbu_outcome *o, const icbu_err *e);
/* icbu_exchange's arguments, and r (NULL: one attempt); t needs open and
 * close. Returns and fills out as icbu_exchange does, for the last attempt
 * (out->attempts, out->reconnects: how many there were). */
ICBUDEF icbu_status icbu_report(const icbu_config *c, const icbu_order *o, const icbu_url *u,
                                const icbu_transport *t, const icbu_retry *r, uint32_t timeout_ms,
                                char *arena, size_t cap, icbu_outcome *out, icbu_err *e);
/* icbu_exchange and icbu_report for any method: the answer's structs are laid
 * out in what the arena has left after the answer; *result at the result, NULL
 * without one (a failed call, a platform error), whatever it held before
 * (result may be NULL for the order's method alone, whose outcome says it all). */
ICBUDEF icbu_status icbu_call_exchange(const icbu_config *c, const icbu_method *m, const void *req,
                                       const void **result, const icbu_url *u,
                                       const icbu_transport *t, uint32_t timeout_ms, char *arena,
                                       size_t cap, icbu_outcome *out, icbu_err *e);
ICBUDEF icbu_status icbu_call_report(const icbu_config *c, const icbu_method *m, const void *req,
                                     const void **result, const icbu_url *u,
                                     const icbu_transport *t, const icbu_retry *r,
                                     uint32_t timeout_ms, char *arena, size_t cap,
                                     icbu_outcome *out, icbu_err *e);
#endif /* ICBU_REFLOW_NO_EXCHANGE */

#ifndef ICBU_REFLOW_NO_DECODER
/* JSON text of insured_order_reflow_request -> structs. The structs and the
 * unescaped strings are laid out in arena; *out points at the order inside it.
 * Unknown or duplicate fields, wrong types, bad Dates and Numbers, invalid
 * UTF-8 and trailing text are errors with the field path (or the offset).
 * *used gets the arena bytes used (or needed). arena == NULL: sizing call
 * (ICBU_OK, *out NULL; a need of SIZE_MAX or more, which a 16-bit size_t
 * can see, is ICBU_E_NOSPACE with err.need SIZE_MAX). The structs go at
 * 8-byte boundaries (they hold int64_t and pointers), and a sizing call counts
 * from an aligned arena: pass one aligned to 8 bytes, or it may need up to 7
 * bytes more. */
ICBUDEF icbu_status icbu_decode_order(const char *json, size_t len, void *arena,
                                      size_t cap, const icbu_order **out, size_t *used,
                                      icbu_err *e);
/* The same for any method's request: *out at a struct of its request type. */
ICBUDEF icbu_status icbu_decode_request(const icbu_method *m, const char *json, size_t len,
                                        void *arena, size_t cap, const void **out, size_t *used,
                                        icbu_err *e);
#endif

#ifdef __cplusplus
}
#endif
#endif /* ICBU_REFLOW_H */

/* ======================================================================== *
 *                             IMPLEMENTATION                               *
 * ======================================================================== */
#if defined(ICBU_REFLOW_IMPLEMENTATION) && !defined(ICBU_REFLOW_IMPLEMENTED)
#define ICBU_REFLOW_IMPLEMENTED

#if (defined(ICBU_REFLOW_CRYPTO_MBEDTLS) + defined(ICBU_REFLOW_CRYPTO_PSA) + \
     defined(ICBU_REFLOW_CRYPTO_BEARSSL) + defined(ICBU_REFLOW_CRYPTO_CUSTOM)) != 1
#error "icbu_reflow: define exactly one of ICBU_REFLOW_CRYPTO_MBEDTLS, ICBU_REFLOW_CRYPTO_PSA, ICBU_REFLOW_CRYPTO_BEARSSL or ICBU_REFLOW_CRYPTO_CUSTOM before the implementation"
#endif
#ifndef ICBU_REFLOW_BEARSSL_HEADER
#define ICBU_REFLOW_BEARSSL_HEADER <bearssl.h>
#endif

/* The five libc calls: the caller's, else the C library's, else (with
 * ICBU_REFLOW_NO_LIBC) the library's own byte loops further down. */
#ifdef ICBU_REFLOW_NO_LIBC
#define ICBU__OWN(libc, own) own
#else
#define ICBU__OWN(libc, own) libc
#if !defined(ICBU_MEMCPY) || !defined(ICBU_MEMMOVE) || !defined(ICBU_MEMSET) || \
    !defined(ICBU_MEMCMP) || !defined(ICBU_STRLEN)
#include <string.h>
#endif
#endif
#ifndef ICBU_MEMCPY
#define ICBU_MEMCPY(d, s, n) ICBU__OWN(memcpy, icbu__own_cpy)(d, s, n)
#endif
#ifndef ICBU_MEMMOVE
#define ICBU_MEMMOVE(d, s, n) ICBU__OWN(memmove, icbu__own_move)(d, s, n)
#endif
#ifndef ICBU_MEMSET
#define ICBU_MEMSET(d, c, n) ICBU__OWN(memset, icbu__own_set)(d, c, n)
#endif
#ifndef ICBU_MEMCMP
#define ICBU_MEMCMP(a, b, n) ICBU__OWN(memcmp, icbu__own_cmp)(a, b, n)
#endif
#ifndef ICBU_STRLEN
#define ICBU_STRLEN(p) ICBU__OWN(strlen, icbu__own_len)(p)
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifdef ICBU_REFLOW_NO_LIBC
/* ICBU_REFLOW_NO_LIBC: the five as byte loops, a few bytes of code each in
 * place of the C library's word-at-a-time ones (newlib-nano's take 0.7 KB on
 * Cortex-M4F), for a firmware with no C library or one that would link them
 * for this library alone. Slower per byte; the library moves a few KB per
 * request. The stores (and strlen's loads) are volatile so that no compiler
 * turns a loop back into a call of the function it stands for. */
#if defined(__GNUC__) || defined(__clang__)   /* not every build calls all five; a call is smaller */
#define ICBU__OWN_FN __attribute__((unused, noinline))
#else
#define ICBU__OWN_FN
#endif
ICBU__OWN_FN static void icbu__own_cpy(void *d, const void *s, size_t n) {
    volatile unsigned char *to = (volatile unsigned char *)d;
    const unsigned char *from = (const unsigned char *)s;
    while (n--) *to++ = *from++;
}
ICBU__OWN_FN static void icbu__own_move(void *d, const void *s, size_t n) {
    volatile unsigned char *to = (volatile unsigned char *)d;
    const unsigned char *from = (const unsigned char *)s;
    if ((uintptr_t)to <= (uintptr_t)from) icbu__own_cpy(d, s, n);   /* forward is safe */
    else while (n--) to[n] = from[n];                               /* backward */
}
ICBU__OWN_FN static void icbu__own_set(void *d, int c, size_t n) {
    volatile unsigned char *to = (volatile unsigned char *)d;
    while (n--) *to++ = (unsigned char)c;
}
ICBU__OWN_FN static int icbu__own_cmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (; n; n--, x++, y++)
        if (*x != *y) return *x - *y;
    return 0;
}
ICBU__OWN_FN static size_t icbu__own_len(const char *p) {
    const volatile char *q = p;
    while (*q) q++;
    return (size_t)(q - p);
}
#endif

/* ------------------------------------------------------- hash back ends
 * Three operations over one context; HMAC is built on them further down.
 * Each returns 0 or the back end's own nonzero code, which ICBU_E_CRYPTO
 * reports in err.detail. */
#if defined(ICBU_REFLOW_CRYPTO_MBEDTLS)
#include <mbedtls/version.h>
#if !defined(MBEDTLS_VERSION_NUMBER) || MBEDTLS_VERSION_NUMBER >= 0x04000000
/* 4.x made MD5 and SHA-256 private; its <mbedtls/md5.h> is gone, and one
 * found further down the include path would be another version's. */
#error "icbu_reflow: ICBU_REFLOW_CRYPTO_MBEDTLS needs mbedTLS 2.28 or 3.x; mbedTLS 4.x has no public MD5/SHA-256 API: use ICBU_REFLOW_CRYPTO_PSA (and link -ltfpsacrypto)"
#else
#include <mbedtls/md5.h>
#include <mbedtls/sha256.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define ICBU__MD5(op) mbedtls_md5_##op
#define ICBU__SHA(op) mbedtls_sha256_##op
#else
#define ICBU__MD5(op) mbedtls_md5_##op##_ret
#define ICBU__SHA(op) mbedtls_sha256_##op##_ret
#endif
typedef union icbu__hctx { mbedtls_md5_context md5; mbedtls_sha256_context sha; } icbu__hctx;
static int icbu__hinit(icbu__hctx *c, icbu_hash_alg a) {
    if (a == ICBU_HASH_MD5) { mbedtls_md5_init(&c->md5); return ICBU__MD5(starts)(&c->md5); }
    mbedtls_sha256_init(&c->sha);
    return ICBU__SHA(starts)(&c->sha, 0);
}
static int icbu__hupdate(icbu__hctx *c, icbu_hash_alg a, const void *p, size_t n) {
    if (a == ICBU_HASH_MD5) return ICBU__MD5(update)(&c->md5, (const unsigned char *)p, n);
    return ICBU__SHA(update)(&c->sha, (const unsigned char *)p, n);
}
static int icbu__hfinal(icbu__hctx *c, icbu_hash_alg a, unsigned char *out) {
    int rc;
    if (a == ICBU_HASH_MD5) { rc = ICBU__MD5(finish)(&c->md5, out); mbedtls_md5_free(&c->md5); }
    else { rc = ICBU__SHA(finish)(&c->sha, out); mbedtls_sha256_free(&c->sha); }
    return rc;
}
#endif /* mbedTLS 2.28 or 3.x */
#elif defined(ICBU_REFLOW_CRYPTO_PSA)
/* PSA Crypto: psa_hash_* on an operation held in the signer. The
 * application calls psa_crypto_init() first, as PSA requires; an
 * implementation that needs it and did not get it answers
 * PSA_ERROR_BAD_STATE, which is ICBU_E_CRYPTO with that status in err.detail.
 * An operation is aborted after every finish and every failed setup, so none
 * is left active on any path; the signer then wipes it with the rest. */
#include <psa/crypto.h>
typedef psa_hash_operation_t icbu__hctx;
static int icbu__hinit(icbu__hctx *c, icbu_hash_alg a) {
    psa_status_t s;
    /* All-bits-zero: an initial state the PSA API defines, as
     * psa_hash_operation_init() is; copying that one's struct made compilers
     * emit plain memset and memcpy calls, not the routed ICBU_MEMSET. */
    ICBU_MEMSET(c, 0, sizeof *c);
    s = psa_hash_setup(c, a == ICBU_HASH_MD5 ? PSA_ALG_MD5 : PSA_ALG_SHA_256);
    if (s != PSA_SUCCESS) (void)psa_hash_abort(c);
    return (int)s;
}
static int icbu__hupdate(icbu__hctx *c, icbu_hash_alg a, const void *p, size_t n) {
    (void)a;
    return (int)psa_hash_update(c, (const uint8_t *)p, n);
}
static int icbu__hfinal(icbu__hctx *c, icbu_hash_alg a, unsigned char *out) {
    size_t n = 0;
    psa_status_t s = psa_hash_finish(c, out, a == ICBU_HASH_MD5 ? 16u : 32u, &n);
    psa_status_t s2 = psa_hash_abort(c);      /* after a finish that succeeded: a no-op */
    return (int)(s != PSA_SUCCESS ? s : s2);
}
#elif defined(ICBU_REFLOW_CRYPTO_BEARSSL)
#include ICBU_REFLOW_BEARSSL_HEADER
typedef union icbu__hctx { br_md5_context md5; br_sha256_context sha; } icbu__hctx;
static int icbu__hinit(icbu__hctx *c, icbu_hash_alg a) {
    if (a == ICBU_HASH_MD5) br_md5_init(&c->md5); else br_sha256_init(&c->sha);
    return 0;
}
static int icbu__hupdate(icbu__hctx *c, icbu_hash_alg a, const void *p, size_t n) {
    if (a == ICBU_HASH_MD5) br_md5_update(&c->md5, p, n); else br_sha256_update(&c->sha, p, n);
    return 0;
}
static int icbu__hfinal(icbu__hctx *c, icbu_hash_alg a, unsigned char *out) {
    if (a == ICBU_HASH_MD5) br_md5_out(&c->md5, out); else br_sha256_out(&c->sha, out);
    return 0;
}
#else /* ICBU_REFLOW_CRYPTO_CUSTOM */
#ifndef ICBU_REFLOW_CUSTOM_CTX
typedef union icbu__custom_ctx { unsigned char b[256]; uint64_t align_; void *palign_; } icbu__custom_ctx;
#define ICBU_REFLOW_CUSTOM_CTX icbu__custom_ctx
#endif
typedef ICBU_REFLOW_CUSTOM_CTX icbu__hctx;
static int icbu__hinit(icbu__hctx *c, icbu_hash_alg a) { return icbu_custom_hash_init(c, a); }
static int icbu__hupdate(icbu__hctx *c, icbu_hash_alg a, const void *p, size_t n) {
    (void)a; return icbu_custom_hash_update(c, p, n);
}
static int icbu__hfinal(icbu__hctx *c, icbu_hash_alg a, unsigned char *out) {
    (void)a; return icbu_custom_hash_final(c, out);
}
#endif

/* --------------------------------------------------------------- basics */
static const char icbu__hexd[] = "0123456789ABCDEF";
/* JSON's two-character escapes: \ then icbu__esc_name[i] stands for
 * icbu__esc_char[i] (the writer never escapes '/'; the reader accepts it). */
static const char icbu__esc_name[] = "\"\\/bfnrt", icbu__esc_char[] = "\"\\/\b\f\n\r\t";
static size_t icbu__esc_find(const char *set, unsigned c) {      /* 8: not in set */
    size_t i = 0;
    while (i < 8 && (unsigned char)set[i] != c) i++;
    return i;
}

#if !defined(ICBU_REFLOW_NO_EXCHANGE) || !defined(ICBU_REFLOW_NO_DECODER)
static int icbu__lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
static int icbu__hexv(int c) {               /* a hex digit's value, or -1 */
    c = icbu__lower(c);
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}
#endif

/* A store the compiler may not drop: for secrets, pads and hash contexts. */
ICBUDEF void icbu_wipe(void *p, size_t n) {
#if defined(__GNUC__) || defined(__clang__)
    if (n) ICBU_MEMSET(p, 0, n);     /* (NULL, 0) wipes nothing: memset's p may not be NULL */
    __asm__ __volatile__("" : : "r"(p) : "memory");      /* the stores are not dead */
#else
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--) *v++ = 0;
#endif
}

/* NOINLINE keeps a bulky frame out of its callers. Unless the build is small
 * (ICBU_REFLOW_SMALL, or -Os), HOT inlines the few tiny writers, whose
 * constant sizes then compile to plain moves, COLD keeps their rare paths
 * out of line, and FAST turns on the writer's unrolled paths (each has a
 * general path that gives the same bytes, which is all a small build keeps).
 * OWNFRAME: out of line only in a small build, where stack counts more.
 * ALWAYS: inlined wherever it is called (one body, two ways to call it). */
#if defined(__GNUC__) || defined(__clang__)
#define ICBU__NOINLINE __attribute__((noinline))
#define ICBU__ALWAYS __attribute__((always_inline)) inline
#if !defined(__OPTIMIZE_SIZE__) && !defined(ICBU_REFLOW_SMALL)
#define ICBU__HOT __attribute__((always_inline)) inline
#define ICBU__COLD __attribute__((noinline))
#define ICBU__FAST 1
#define ICBU__OWNFRAME
#endif
#else
#define ICBU__NOINLINE
#define ICBU__ALWAYS
#endif
#ifndef ICBU__HOT
#define ICBU__HOT
#define ICBU__COLD
#define ICBU__FAST 0
#define ICBU__OWNFRAME ICBU__NOINLINE
#endif
/* The fast paths, each on in a fast build: see "fast paths" in the JSON
 * writer, where they are, with the reference path each must match. */
#ifndef ICBU__FAST_BLOCKS
#define ICBU__FAST_BLOCKS ICBU__FAST      /* a 256-byte hash stage, and slack */
#endif
#ifndef ICBU__FAST_RUNS
#define ICBU__FAST_RUNS ICBU__FAST        /* plain text four bytes at a time */
#endif
#ifndef ICBU__FAST_CJK
#define ICBU__FAST_CJK ICBU__FAST         /* 3-byte UTF-8 encoded without more checks */
#endif
#ifndef ICBU__FAST_KEYS
#define ICBU__FAST_KEYS ICBU__FAST        /* a member's start in one go */
#endif

/* The status, kept in e unless e has one already (or is NULL: a signature
 * without the caller's error keeps nothing of it). */
static icbu_status icbu__fail(icbu_err *e, icbu_status s) {
    if (!e) return s;
    if (e->status == ICBU_OK) e->status = s;
    return e->status;
}

/* An API function's clean error (a local one if e is NULL); the signing
 * calls and the exchanges clear theirs on their own. */
#define ICBU__ERR_INIT(e, local) \
    do { if (!(e)) (e) = &(local); ICBU_MEMSET((e), 0, sizeof *(e)); } while (0)

/* The texts are one array, not a table of pointers: it has a section of its
 * own, which the linker drops with icbu_strerror (literals behind pointers
 * share one section with every other string of the file and always stay).
 * ICBU_REFLOW_SHORT_STATUS keeps the names alone ("ICBU_E_UTF8"). */
#ifdef ICBU_REFLOW_SHORT_STATUS
#define ICBU__TEXT(name, text, field) #name "\0"
#else
#define ICBU__TEXT(name, text, field) text "\0"
#endif
/* The text number i of t, texts ended by NULs, the last one's for every i
 * from count on (texts in one array keep their own section: see above). */
static const char *icbu__nth(const char *t, unsigned i, unsigned count) {
    for (i = i < count ? i : count; i; i--)
        while (*t++ != '\0') {}
    return t;
}
ICBUDEF const char *icbu_strerror(icbu_status s) {
    static const char t[] = ICBU_STATUS_LIST(ICBU__TEXT) "unknown status";
    return icbu__nth(t, (unsigned)s, (unsigned)ICBU_STATUS_COUNT);
}
#undef ICBU__TEXT

ICBUDEF icbu_str icbu_sn(const char *p, size_t n) { icbu_str s; s.p = p; s.n = p ? n : 0; return s; }
ICBUDEF icbu_str icbu_s(const char *p) { return icbu_sn(p, p ? ICBU_STRLEN(p) : 0); }
ICBUDEF icbu_num icbu_n(int64_t v) { icbu_num x; x.v = v; x.set = 1; return x; }
ICBUDEF icbu_bool icbu_b(int v) { icbu_bool x; x.v = (unsigned char)(v != 0); x.set = 1; return x; }

/* ------------------------------------------------------------ model: dates
 * Proleptic Gregorian, GMT+8, years 0..9999. */
static unsigned icbu__mdays(unsigned y, unsigned m) {
    /* a year divisible by 100 is a leap year when divisible by 400, so by 16 */
    unsigned leap = m == 2 && !(y & (y % 100u ? 3u : 15u));
    return 28u + (unsigned)(0x3BBEECCu >> (2u * m) & 3u) + leap;   /* 2 bits a month: its days - 28 */
}
static int icbu__date_ok(const icbu_date *d) {
    return d->set && d->year <= 9999 && d->month - 1u < 12u &&
           d->day - 1u < icbu__mdays(d->year, d->month) && d->hour < 24 && d->min < 60 && d->sec < 60;
}
ICBUDEF icbu_date icbu_d(unsigned year, unsigned month, unsigned day, unsigned hour,
                         unsigned min, unsigned sec) {
    icbu_date d;
    d.year = (uint16_t)(year > 65535u ? 65535u : year);
    d.month = (uint8_t)(month > 255u ? 255u : month);
    d.day = (uint8_t)(day > 255u ? 255u : day);
    d.hour = (uint8_t)(hour > 255u ? 255u : hour);
    d.min = (uint8_t)(min > 255u ? 255u : min);
    d.sec = (uint8_t)(sec > 255u ? 255u : sec);
    d.set = 1;
    return d;
}
ICBUDEF icbu_date icbu_date_from_unix(int64_t t) {
    /* 0000-01-01 00:00:00 and 9999-12-31 23:59:59 GMT+8, in Unix seconds */
    const int64_t lo = -62167219200 - 8 * 3600, hi = 253402300799 - 8 * 3600;
    uint64_t u;
    uint32_t days, secs;
    unsigned y, m, n;                      /* y <= 9999: 16 bits are enough */
    icbu_date d;
    d.year = 0; d.month = d.day = d.hour = d.min = d.sec = 0; d.set = 0;
    if (t < lo || t > hi) return d;
    /* Seconds since 0000-01-01 00:00 local, below 2^39: days and seconds in
     * 32 bits, with no 64-bit division (86400 = 128 * 675). */
    u = (uint64_t)(t - lo);
    days = (uint32_t)(u >> 7) / 675u;
    secs = (uint32_t)u - days * 86400u;
    /* whole 400-year eras (146097 days each, the first from 0000-01-01),
     * then a year and a month at a time: at most 399 and 11 steps */
    y = (unsigned)(days / 146097u) * 400u;
    days %= 146097u;
    for (; days >= (n = 337u + icbu__mdays(y, 2)); y++) days -= n;   /* 365 or 366 */
    for (m = 1; days >= (n = icbu__mdays(y, m)); m++) days -= n;
    d.year = (uint16_t)y; d.month = (uint8_t)m; d.day = (uint8_t)(days + 1u);
    d.hour = (uint8_t)(secs / 3600u); d.min = (uint8_t)(secs / 60u % 60u); d.sec = (uint8_t)(secs % 60u);
    d.set = 1;
    return d;
}
/* "yyyy-MM-dd HH:mm:ss" after the year: each separator, then where its field
 * is in an icbu_date; 0 at the end. */
static const unsigned char icbu__date_fields[11] = {
    '-', offsetof(icbu_date, month), '-', offsetof(icbu_date, day), ' ', offsetof(icbu_date, hour),
    ':', offsetof(icbu_date, min), ':', offsetof(icbu_date, sec), 0 };
/* Two digits of v < 100, without a division (none in hardware on Cortex-M0+):
 * v * 205 >> 11 is v / 10 for every v up to 1028. Returns the end; one copy,
 * called seven times (inlined, each copy costs more than the call). */
ICBU__NOINLINE static char *icbu__dec2(char *p, uint32_t v) {
    uint32_t t = (v * 205u) >> 11;
    p[0] = (char)('0' + t);
    p[1] = (char)('0' + (v - 10u * t));
    return p + 2;
}
ICBUDEF icbu_status icbu_date_format(const icbu_date *d, char out[20]) {
    const unsigned char *q;
    uint32_t hi;
    if (!d || !out) return ICBU_E_ARG;
    if (!icbu__date_ok(d)) { out[0] = 0; return ICBU_E_DATE; }
    hi = ((uint32_t)d->year * 5243u) >> 19;                 /* year / 100, for years up to 43698 */
    out = icbu__dec2(icbu__dec2(out, hi), d->year - 100u * hi);
    for (q = icbu__date_fields; *q; q += 2) {
        *out++ = (char)q[0];
        out = icbu__dec2(out, ((const unsigned char *)d)[q[1]]);
    }
    *out = 0;
    return ICBU_OK;
}

/* The value of n decimal digits at s, or -1 if one is not a digit. */
static long icbu__decimal(const char *s, size_t n) {
    long v = 0;
    for (; n; n--, s++) {
        if (*s < '0' || *s > '9') return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}
ICBUDEF icbu_status icbu_date_parse(const char *s, size_t n, icbu_date *d) {
    const unsigned char *q;
    long v;
    if (!s || !d) return ICBU_E_ARG;
    d->set = 0;
    if (n != 19 || (v = icbu__decimal(s, 4)) < 0) return ICBU_E_DATE;
    d->year = (uint16_t)v;                          /* 4 and 2 digits need no clamping */
    for (q = icbu__date_fields, s += 4; *q; q += 2, s += 3) {
        if (*s != (char)q[0] || (v = icbu__decimal(s + 1, 2)) < 0) return ICBU_E_DATE;
        ((unsigned char *)d)[q[1]] = (unsigned char)v;
    }
    d->set = 1;
    if (icbu__date_ok(d)) return ICBU_OK;
    d->set = 0;
    return ICBU_E_DATE;
}

/* ------------------------------------------------- model: schema tables */
/* Schema tables, generated from the ICBU_FIELDS_* lists and ICBU_METHODS:
 * the request types (the order's and yours) always, the answers' with the
 * exchange. Each part is one object of its own (the answers' is reached from
 * the reader alone, so an image that only signs leaves it out): its field
 * names, then one table of all its fields, type after type, in the same
 * order. */
enum { ICBU__K_STR, ICBU__K_NUM, ICBU__K_BOOL, ICBU__K_DATE, ICBU__K_OBJ, ICBU__K_OBJS, ICBU__K_STRS };
#define ICBU__TYID(t) ICBU__TY_##t,
#define ICBU__MTYID(id, name, param, req, key, env, res) ICBU__TY_##id##_envelope, ICBU__TY_##id##_answer,
enum { ICBU_ORDER_TYPES(ICBU__TYID) ICBU_EXTRA_TYPES(ICBU__TYID) ICBU_RESPONSE_TYPES(ICBU__TYID)
       ICBU_ALL_METHODS(ICBU__MTYID) ICBU__TY_none };

/* A field's descriptor, two halves of 16 bits: how far before it its name
 * is (in the same part object: found with no base address to load) and its
 * kind; its member's offset in the struct and its subtype (a type id, for
 * OBJ and OBJS). ICBU__FIT refuses to compile a schema that does not fit. */
typedef struct icbu__field {
    unsigned short nk;            /* bits 0-12: the name's distance back; 13-15: kind */
    unsigned short os;            /* bits 0-9: offsetof the member; 10-15: subtype */
} icbu__field;
#define ICBU__FIT(v, bits, hi) ((unsigned short)((size_t)(v) | (size_t)(hi) << (bits) | \
    0 * sizeof(char[(size_t)(v) < (1u << (bits)) && (size_t)(hi) < (1u << (16 - (bits))) ? 1 : -1])))
#define ICBU__FKIND(f) ((unsigned)(f)->nk >> 13)
#define ICBU__FSUB(f) ((unsigned)(f)->os >> 10)
#define ICBU__FOFF(f) ((size_t)((f)->os & 0x3FFu))
#define ICBU__FDIST(f) ((size_t)((f)->nk & 0x1FFFu))
#define ICBU__FNAME(f) ((const char *)(f) - ICBU__FDIST(f))
/* Its name's length, from where the next one starts: right after this one's
 * NUL (a part's table ends with a descriptor whose name is past them all). */
#define ICBU__FLEN(f) (sizeof(icbu__field) - 1 + ICBU__FDIST(f) - ICBU__FDIST((f) + 1))
typedef struct icbu__type { const icbu__field *f; unsigned char n; unsigned short size; } icbu__type;

/* A part's field indices: ICBU__FI_<type>__<name> in its table, and
 * ICBU__F0_<type> where a type's fields start; a type's field count,
 * ICBU__N_<type>. */
#define ICBU__FIDX(st, kind, name, sub) ICBU__FI_##st##__##name,
#define ICBU__FIDXS(t) ICBU__F0_##t, ICBU__F0B_##t = ICBU__F0_##t - 1, ICBU_FIELDS_##t(ICBU__FIDX)
#define ICBU__MFIDXS(id, name, param, req, key, env, res) \
    ICBU__F0_##id##_envelope, ICBU__F0B_##id##_envelope = ICBU__F0_##id##_envelope - 1, \
    ICBU__ENVELOPE_FIELDS(ICBU__FIDX, id, res) \
    ICBU__F0_##id##_answer, ICBU__F0B_##id##_answer = ICBU__F0_##id##_answer - 1, \
    ICBU__ANSWER_FIELDS(ICBU__FIDX, id, env, res)
#define ICBU__COUNT1(st, kind, name, sub) + 1
#define ICBU__COUNT(t) enum { ICBU__N_##t = 0 ICBU_FIELDS_##t(ICBU__COUNT1) };
#define ICBU__MCOUNT(id, name, param, req, key, env, res) \
    enum { ICBU__N_##id##_envelope = 0 ICBU__ENVELOPE_FIELDS(ICBU__COUNT1, id, res) }; \
    enum { ICBU__N_##id##_answer = 0 ICBU__ANSWER_FIELDS(ICBU__COUNT1, id, env, res) };
/* A part's names (char <type>__<name>[]), their values, and its fields'. */
#define ICBU__NAME(st, kind, name, sub) char st##__##name[sizeof #name];
#define ICBU__NAMES(t) ICBU_FIELDS_##t(ICBU__NAME)
#define ICBU__MNAMES(id, name, param, req, key, env, res) \
    ICBU__ENVELOPE_FIELDS(ICBU__NAME, id, res) ICBU__ANSWER_FIELDS(ICBU__NAME, id, env, res)
#define ICBU__NAMEV(st, kind, name, sub) #name,
#define ICBU__NAMEVS(t) ICBU_FIELDS_##t(ICBU__NAMEV)
#define ICBU__MNAMEVS(id, name, param, req, key, env, res) \
    ICBU__ENVELOPE_FIELDS(ICBU__NAMEV, id, res) ICBU__ANSWER_FIELDS(ICBU__NAMEV, id, env, res)
#define ICBU__DESCIN(part, st, kind, name, sub) \
    { ICBU__FIT(offsetof(struct part, f) + ICBU__FI_##st##__##name * sizeof(icbu__field) - \
                offsetof(struct part, st##__##name), 13, ICBU__K_##kind), \
      ICBU__FIT(offsetof(struct icbu_##st, name), 10, ICBU__TY_##sub) },
#define ICBU__ENDV(part, nf) \
    { ICBU__FIT(offsetof(struct part, f) + nf * sizeof(icbu__field) - offsetof(struct part, names_end_), 13, 0), 0 }
#define ICBU__TTAB1(part, t) { part.f + ICBU__F0_##t, ICBU__N_##t, (unsigned short)sizeof(struct icbu_##t) },

/* The requests' part. The writer copies names of up to 32 bytes as 32,
 * reading at most 31 bytes past a name's end (names_end_ covers the last;
 * see the fast paths). */
enum { ICBU_ORDER_TYPES(ICBU__FIDXS) ICBU_EXTRA_TYPES(ICBU__FIDXS) ICBU__NF_requests };
ICBU_ORDER_TYPES(ICBU__COUNT)
ICBU_EXTRA_TYPES(ICBU__COUNT)
struct icbu__requests {
    ICBU_ORDER_TYPES(ICBU__NAMES)
    ICBU_EXTRA_TYPES(ICBU__NAMES)
    char names_end_[1 + 31 * ICBU__FAST_KEYS]; /* the fast keys read up to 31 bytes past a name */
    icbu__field f[ICBU__NF_requests + 1];
};
#define ICBU__DESC(st, kind, name, sub) ICBU__DESCIN(icbu__requests, st, kind, name, sub)
#define ICBU__DESCS(t) ICBU_FIELDS_##t(ICBU__DESC)
static const struct icbu__requests icbu__request_schema = {
    ICBU_ORDER_TYPES(ICBU__NAMEVS)
    ICBU_EXTRA_TYPES(ICBU__NAMEVS)
    "",
    { ICBU_ORDER_TYPES(ICBU__DESCS) ICBU_EXTRA_TYPES(ICBU__DESCS) ICBU__ENDV(icbu__requests, ICBU__NF_requests) }
};
#define ICBU__TTAB(t) ICBU__TTAB1(icbu__request_schema, t)
static const icbu__type icbu__types[] = {
    ICBU_ORDER_TYPES(ICBU__TTAB)
    ICBU_EXTRA_TYPES(ICBU__TTAB)
};
#define ICBU__NREQ (sizeof icbu__types / sizeof icbu__types[0])

#ifndef ICBU_REFLOW_NO_EXCHANGE
/* The answers' part: types ICBU__NREQ and on. */
enum { ICBU_RESPONSE_TYPES(ICBU__FIDXS) ICBU_ALL_METHODS(ICBU__MFIDXS) ICBU__NF_answers };
ICBU_RESPONSE_TYPES(ICBU__COUNT)
ICBU_ALL_METHODS(ICBU__MCOUNT)
struct icbu__answers {
    ICBU_RESPONSE_TYPES(ICBU__NAMES)
    ICBU_ALL_METHODS(ICBU__MNAMES)
    char names_end_[1];
    icbu__field f[ICBU__NF_answers + 1];
};
#define ICBU__ADESC(st, kind, name, sub) ICBU__DESCIN(icbu__answers, st, kind, name, sub)
#define ICBU__ADESCS(t) ICBU_FIELDS_##t(ICBU__ADESC)
#define ICBU__MADESCS(id, name, param, req, key, env, res) \
    ICBU__ENVELOPE_FIELDS(ICBU__ADESC, id, res) ICBU__ANSWER_FIELDS(ICBU__ADESC, id, env, res)
static const struct icbu__answers icbu__answer_schema = {
    ICBU_RESPONSE_TYPES(ICBU__NAMEVS)
    ICBU_ALL_METHODS(ICBU__MNAMEVS)
    "",
    { ICBU_RESPONSE_TYPES(ICBU__ADESCS) ICBU_ALL_METHODS(ICBU__MADESCS) ICBU__ENDV(icbu__answers, ICBU__NF_answers) }
};
#define ICBU__ATTAB(t) ICBU__TTAB1(icbu__answer_schema, t)
#define ICBU__MTTAB(id, name, param, req, key, env, res) \
    ICBU__ATTAB(id##_envelope) ICBU__ATTAB(id##_answer)
static const icbu__type icbu__answer_types[] = {
    ICBU_RESPONSE_TYPES(ICBU__ATTAB)
    ICBU_ALL_METHODS(ICBU__MTTAB)
};
/* Type ty, of either part (for the reader). */
ICBU__NOINLINE static const icbu__type *icbu__type_of(unsigned ty) {
    return ty < ICBU__NREQ ? &icbu__types[ty] : &icbu__answer_types[ty - ICBU__NREQ];
}
#define ICBU__TYPE(ty) icbu__type_of(ty)
#else
#define ICBU__TYPE(ty) (&icbu__types[ty])
#endif
/* The reader marks the fields it has seen in 32 bits. */
#define ICBU__MAX32(t) typedef char icbu__max32_##t[ICBU__N_##t <= 32 ? 1 : -1];
ICBU_ORDER_TYPES(ICBU__MAX32)
ICBU_EXTRA_TYPES(ICBU__MAX32)
/* It matches a key against the names in a buffer of ICBU__KEY_MAX bytes, so
 * no name, nor an answer's envelope, may be longer (or it could never match). */
#define ICBU__KEY_MAX 64
#define ICBU__LONG1(st, kind, name, sub) | (sizeof #name > ICBU__KEY_MAX + 1)
#define ICBU__KEYFIT(t) typedef char icbu__names_at_most_64_##t[(0 ICBU_FIELDS_##t(ICBU__LONG1)) ? -1 : 1];
#define ICBU__MKEYFIT(id, name, param, req, key, env, res) \
    typedef char icbu__envelope_at_most_64_##id[sizeof #env > ICBU__KEY_MAX + 1 ? -1 : 1];
ICBU_ORDER_TYPES(ICBU__KEYFIT)
ICBU_EXTRA_TYPES(ICBU__KEYFIT)
ICBU_RESPONSE_TYPES(ICBU__KEYFIT)
ICBU_ALL_METHODS(ICBU__MKEYFIT)
/* How deep each request type nests objects (the order 3: order >
 * subject_matter_info > goods_item_list[]), as (1 << depth) - 1, so that OR
 * takes the deepest: icbu__wd_<type>, from its OBJ and OBJS fields' types,
 * which come before it (a type cannot hold itself). The writer keeps one level
 * per object in one frame, ICBU__WDEPTH of them, the deepest type's depth (8
 * at most). */
#define ICBU__WD1(st, kind, name, sub) | icbu__wd_##sub
#define ICBU__WD(t) icbu__wd_##t = (0 ICBU_FIELDS_##t(ICBU__WD1)) << 1 | 1,
#define ICBU__WDALL(t) | icbu__wd_##t
enum { icbu__wd_none = 0, ICBU_ORDER_TYPES(ICBU__WD) ICBU_EXTRA_TYPES(ICBU__WD)
       ICBU__WDMASK = 0 ICBU_ORDER_TYPES(ICBU__WDALL) ICBU_EXTRA_TYPES(ICBU__WDALL) };
#define ICBU__WDBIT(n) (ICBU__WDMASK >> (n) & 1)
enum { ICBU__WDEPTH = ICBU__WDBIT(0) + ICBU__WDBIT(1) + ICBU__WDBIT(2) + ICBU__WDBIT(3) +
                      ICBU__WDBIT(4) + ICBU__WDBIT(5) + ICBU__WDBIT(6) + ICBU__WDBIT(7) };
typedef char icbu__wdepth_at_most_8[ICBU__WDMASK < 256 ? 1 : -1];

/* The methods' descriptors. */
#define ICBU__MDESC(id, name, param, req, key, env, res) \
    { name, #param, #key, ICBU__TY_##req, ICBU__TY_##id##_answer, ICBU__TY_##res },
static const icbu_method icbu__methods[] = { ICBU_ALL_METHODS(ICBU__MDESC) };
ICBUDEF const icbu_method *icbu_method_get(icbu_method_id id) {
    return (unsigned)id < (unsigned)ICBU_METHOD_COUNT ? &icbu__methods[id] : NULL;
}
#define ICBU__ORDER_METHOD (&icbu__methods[ICBU_METHOD_order_callback])

/* --------------------------------------------------- model: field paths */
/* The path of the field that failed, for error messages: "name", "[idx]" or
 * both per level (ICBU__NOIDX: none). A path longer than ICBU_PATH_MAX is cut
 * to a prefix of the whole: a name may be cut short, an [idx] never, and it
 * never ends in '.'. */
#define ICBU__NOIDX ((size_t)-1)
/* One segment into out (at most cap bytes); returns its length. *cut: 1 if
 * it was cut (a name cut short, or no room for [idx]). */
static size_t icbu__path_seg(char *out, size_t cap, const char *name, size_t len, size_t idx, int *cut) {
    size_t k = 0, j, digits = 1, v;
    for (j = 0; name && j < len && k < cap; j++) out[k++] = name[j];
    *cut = name && j < len;
    if (idx != ICBU__NOIDX && !*cut) {
        for (v = idx; v >= 10; v /= 10) digits++;
        if (digits + 2 > cap - k) { *cut = 1; return k; }
        out[k] = '[';
        for (j = digits; j; j--, idx /= 10) out[k + j] = (char)('0' + idx % 10);
        k += digits + 1;
        out[k++] = ']';
    }
    return k;
}
/* The writer keeps no path: as an error unwinds, each level puts its
 * segment in front of what e->path holds (the innermost part is cut first). */
ICBU__NOINLINE static void icbu__path_prepend(icbu_err *e, const char *name, size_t len, size_t idx) {
    char seg[ICBU_PATH_MAX];          /* this level, '.', what e->path holds: built here, */
    const char *p;                    /* not moved in place (no memmove without the exchange) */
    int cut;
    size_t k, j;
    if (!e) return;
    p = e->path;
    k = icbu__path_seg(seg, sizeof seg - 1, name, len, idx, &cut);
    if (*p && !cut) {
        seg[k++] = '.';                           /* seg[sizeof seg - 1] at most */
        while (*p && k < sizeof seg - 1) seg[k++] = *p++;
        if (*p) {                                 /* the inner part, cut: */
            for (j = k; j && seg[j - 1] != ']'; j--)        /* not inside [idx] */
                if (seg[j - 1] == '[') { k = j - 1; break; }
            while (k && seg[k - 1] == '.') k--;             /* not after a '.' */
        }
    }
    ICBU_MEMCPY(e->path, seg, k);
    e->path[k] = 0;
}
/* A new error's path: one name (e->path is still empty). */
static ICBU__ALWAYS void icbu__path_set(icbu_err *e, const char *name) {
    icbu__path_prepend(e, name, ICBU_STRLEN(name), ICBU__NOIDX);
}
#if !defined(ICBU_REFLOW_NO_EXCHANGE) || !defined(ICBU_REFLOW_NO_DECODER)
/* The reader keeps the path as it descends: a segment per object field, and
 * one more per list for its element's index. A request type d objects deep
 * takes 2d at most (its lists of objects, then a list of strings), an answer
 * 2 more (envelope, result): 2 * ICBU__WDEPTH + 2 (8 for the order). */
#define ICBU__PATH_DEPTH (2 * ICBU__WDEPTH + 2)
typedef struct icbu__path {
    const char *name[ICBU__PATH_DEPTH];
    unsigned char len[ICBU__PATH_DEPTH];
    size_t idx[ICBU__PATH_DEPTH];
    int depth;
} icbu__path;
static void icbu__path_push(icbu__path *p, const char *name, size_t len, size_t idx) {
    if (p->depth < ICBU__PATH_DEPTH) {
        p->name[p->depth] = name;
        p->len[p->depth] = (unsigned char)(len > 255 ? 255 : len);
        p->idx[p->depth] = idx;
    }
    p->depth++;
}
static void icbu__path_render(const icbu__path *p, icbu_err *e) {
    size_t k = 0, cap = sizeof e->path - 1;
    int i, cut = 0;
    for (i = 0; i < p->depth && i < ICBU__PATH_DEPTH && !cut; i++) {
        if (i && p->name[i]) {
            if (k + 1 >= cap) break;                    /* cut: no room for '.' and more */
            e->path[k++] = '.';
        }
        k += icbu__path_seg(e->path + k, cap - k, p->name[i], p->len[i], p->idx[i], &cut);
    }
    e->path[k] = 0;
}
#endif

/* --------------------------------------------------------- model: UTF-8 */
/* Strict UTF-8 (RFC 3629): the length of the sequence at p, or 0 if invalid
 * (overlong, surrogate, above U+10FFFF, truncated, stray continuation). */
static size_t icbu__utf8(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    if (c < 0x80) return 1;
    if (c < 0xC2 || c > 0xF4) return 0;
    if (n < 2 || (p[1] & 0xC0) != 0x80) return 0;
    if (c < 0xE0) return 2;
    if (n < 3 || (p[2] & 0xC0) != 0x80) return 0;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F)) return 0;
    if (c < 0xF0) return 3;
    if (n < 4 || (p[3] & 0xC0) != 0x80) return 0;
    if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F)) return 0;
    return 4;
}

ICBUDEF size_t icbu_utf8_len(const char *p, size_t n) {
    return p && n ? icbu__utf8((const unsigned char *)p, n) : 0;
}

static int icbu__utf8_ok(const char *p, size_t n) {
    size_t i = 0, k;
    while (i < n) {
        if (!(k = icbu__utf8((const unsigned char *)p + i, n - i))) return 0;
        i += k;
    }
    return 1;
}

/* ---------------------------------------------------------------- output
 * One sink for JSON, form and signature: bytes are counted always, copied
 * (or percent-encoded) while they fit, and hashed raw when a signer is set. */
typedef struct icbu__signer {
    icbu__hctx h;
    const char *secret;           /* md5: appended after the parameters; hmac: the key
                                     block is made from it again for the outer hash */
    size_t secret_len;
    icbu_sign_method m;
    icbu_hash_alg alg;
    int rc;                       /* the back end's first failure code, or 0 */
} icbu__signer;

/* The stage hands the back end whole blocks (64 bytes, four in a fast build,
 * for fewer calls); a fast build gives it slack too, so that short pieces
 * are copied in without checking where the block ends. */
#define ICBU__BLOCK (64 << (2 * ICBU__FAST_BLOCKS))
#define ICBU__SLACK (48 * (ICBU__FAST_BLOCKS | ICBU__FAST_KEYS))
typedef struct icbu__out {
    char *buf;
    size_t cap, len;              /* len keeps counting past cap: the size needed */
    icbu__signer *sg;             /* hash form values, raw */
    int form;                     /* in a form value: written percent-encoded */
    size_t staged;                /* < ICBU__BLOCK between writes */
    unsigned char stage[ICBU__BLOCK + ICBU__SLACK];   /* hash input, gathered into blocks */
} icbu__out;

/* Keeps the back end's first failure code. */
static void icbu__sg_check(icbu__signer *sg, int rc) {
    if (rc != 0 && sg->rc == 0) sg->rc = rc;
}
static void icbu__sg_update(icbu__signer *sg, const void *p, size_t n) {
    if (n) icbu__sg_check(sg, icbu__hupdate(&sg->h, sg->alg, p, n));
}

static void icbu__out_init(icbu__out *o, char *buf, size_t cap) {
    o->buf = buf; o->cap = cap; o->len = 0; o->sg = NULL; o->form = 0; o->staged = 0;
}

/* Bytes into buf as they are, while they fit. The count saturates at
 * SIZE_MAX, which no buffer holds: an order whose strings are referred to
 * many times writes more than SIZE_MAX bytes (64 KB where size_t is 16 bits,
 * as on AVR; 4 GB with 32), and a count wrapped below cap would write the
 * rest over the start and call it done. (Every other count is added where it
 * fits in cap, so cannot wrap.) */
static ICBU__HOT void icbu__bytes(icbu__out *o, const char *p, size_t n) {
    if (o->buf && o->len <= o->cap && n <= o->cap - o->len) ICBU_MEMCPY(o->buf + o->len, p, n);
    o->len += n;
    if (o->len < n) o->len = (size_t)-1;
}
#define ICBU__LIT(o, lit) icbu__bytes(o, lit, sizeof(lit) - 1)

/* Bytes into the hash in whole blocks: the stage gathers them, and a full
 * block goes to the back end. A fast build copies a piece that fits in the
 * stage and its slack at once, and hashes a longer one's whole blocks from
 * where they are (icbu__hash_fill); a small build fills the stage a block at
 * a time, which is all it keeps. */
static ICBU__ALWAYS void icbu__flush(icbu__out *o) {
    if (o->sg && o->staged) icbu__sg_update(o->sg, o->stage, o->staged);
    o->staged = 0;
}
ICBU__COLD static void icbu__hash_fill(icbu__out *o, const char *p, size_t n) {
    size_t k = ICBU__BLOCK - o->staged;
    ICBU_MEMCPY(o->stage + o->staged, p, k);
    icbu__sg_update(o->sg, o->stage, ICBU__BLOCK);
    p += k; n -= k;
    k = n - n % ICBU__BLOCK;
    icbu__sg_update(o->sg, p, k);
    ICBU_MEMCPY(o->stage, p + k, n - k);
    o->staged = n - k;
}
/* A full block goes to the back end; what ran into the slack moves down. */
ICBU__COLD static void icbu__spill(icbu__out *o) {
    icbu__sg_update(o->sg, o->stage, ICBU__BLOCK);
    if (ICBU__SLACK != 0) ICBU_MEMCPY(o->stage, o->stage + ICBU__BLOCK, ICBU__SLACK);
    o->staged -= ICBU__BLOCK;
}
static ICBU__HOT void icbu__hash(icbu__out *o, const char *p, size_t n) {
    size_t k;
    if (!o->sg) return;
    if (ICBU__FAST_BLOCKS) {
        if (n > sizeof o->stage - o->staged) { icbu__hash_fill(o, p, n); return; }
        ICBU_MEMCPY(o->stage + o->staged, p, n);
        o->staged += n;
        if (o->staged >= ICBU__BLOCK) icbu__spill(o);
        return;
    }
    while (n >= (k = ICBU__BLOCK - o->staged)) {
        ICBU_MEMCPY(o->stage + o->staged, p, k);
        icbu__sg_update(o->sg, o->stage, ICBU__BLOCK);
        o->staged = 0; p += k; n -= k;
    }
    ICBU_MEMCPY(o->stage + o->staged, p, n);
    o->staged += n;
}

/* application/x-www-form-urlencoded: A-Z a-z 0-9 - _ . * as they are, space
 * as '+', every other byte as %XX. ICBU__IS_PLAIN is the set: the bytes that
 * pass unchanged through both JSON strings and the form (so not space). */
#define ICBU__IS_PLAIN(c) (((c) >= '0' && (c) <= '9') || ((c) >= 'A' && (c) <= 'Z') || \
                           ((c) >= 'a' && (c) <= 'z') || (c) == '-' || (c) == '_' ||   \
                           (c) == '.' || (c) == '*')
#if ICBU__FAST_RUNS
/* Fast builds look it up: a table made from the set with each plain byte at
 * its own index and every other entry differing from its index (0, and 1 at
 * 0). Bytes from 0x80 on are looked up at c & 0x7F, which never matches. */
#define ICBU__P1(c) (char)(ICBU__IS_PLAIN(c) ? (c) : (c) == 0)
#define ICBU__P8(c) ICBU__P1(c), ICBU__P1(c + 1), ICBU__P1(c + 2), ICBU__P1(c + 3), \
                    ICBU__P1(c + 4), ICBU__P1(c + 5), ICBU__P1(c + 6), ICBU__P1(c + 7)
#define ICBU__P32(c) ICBU__P8(c), ICBU__P8(c + 8), ICBU__P8(c + 16), ICBU__P8(c + 24)
static const char icbu__plain[128] = { ICBU__P32(0), ICBU__P32(32), ICBU__P32(64), ICBU__P32(96) };
#undef ICBU__P32
#undef ICBU__P8
#undef ICBU__P1
#define ICBU__PLAIN(c) ((unsigned)(unsigned char)icbu__plain[(c) & 0x7F] == (c))
#else
/* Small builds compare: a few instructions instead of a 128-byte table. */
static int icbu__is_plain(unsigned c) { return ICBU__IS_PLAIN(c); }
#define ICBU__PLAIN(c) icbu__is_plain(c)
#endif
static ICBU__HOT char *icbu__pct(char *d, unsigned c) {
    d[0] = '%'; d[1] = icbu__hexd[c >> 4]; d[2] = icbu__hexd[c & 15];
    return d + 3;
}
static char *icbu__form1(char *d, unsigned c) {
    if (ICBU__PLAIN(c)) *d++ = (char)c;
    else if (c == ' ') *d++ = '+';
    else d = icbu__pct(d, c);
    return d;
}
static size_t icbu__form(char *d, const unsigned char *p, size_t n) {
    char *start = d;
    size_t i;
    for (i = 0; i < n; i++) d = icbu__form1(d, p[i]);
    return (size_t)(d - start);
}

/* Text: in a form value, hashed raw and written percent-encoded; else as is. */
static void icbu__put(icbu__out *o, const char *p, size_t n) {
    size_t i;
    char t[3];
    if (!o->form) { icbu__bytes(o, p, n); return; }
    icbu__hash(o, p, n);
    if (o->buf && o->len <= o->cap && n <= (o->cap - o->len) / 3) {    /* room for the worst case */
        o->len += icbu__form(o->buf + o->len, (const unsigned char *)p, n);
        return;
    }
    for (i = 0; i < n; i++)                        /* near the end, or measuring: byte by byte */
        icbu__bytes(o, t, icbu__form(t, (const unsigned char *)p + i, 1));
}

/* A token whose encoded form is known (JSON punctuation, keys, numbers):
 * raw into the hash, enc (raw's form encoding) into buf. A fast build writes
 * enc as it is, with no per-byte encoding; a small build encodes raw, which
 * gives the same bytes, and so keeps no encoded twin of a literal token.
 * ICBU__TOKEN(raw, enc) is a literal token's arguments for icbu__token. */
static ICBU__HOT void icbu__tok(icbu__out *o, const char *raw, size_t rn, const char *enc, size_t en) {
#if ICBU__FAST
    if (!o->form) { icbu__bytes(o, raw, rn); return; }
    icbu__hash(o, raw, rn);
    icbu__bytes(o, enc, en);
#else
    (void)enc; (void)en;
    icbu__put(o, raw, rn);
#endif
}
#if ICBU__FAST
#define ICBU__TOKEN(raw, enc) raw, sizeof(raw) - 1, enc, sizeof(enc) - 1
#define ICBU__TOKEN_END(raw, enc, rk, ek) (raw) + (rk), sizeof(raw) - 1 - (rk), (enc) + (ek), sizeof(enc) - 1 - (ek)
#define ICBU__TOKEN_PARAMS const char *raw, size_t rn, const char *enc, size_t en
#define ICBU__TOKEN_ARGS raw, rn, enc, en
#define icbu__token icbu__tok
#else
#define ICBU__TOKEN(raw, enc) raw, sizeof(raw) - 1
#define ICBU__TOKEN_END(raw, enc, rk, ek) (raw) + (rk), sizeof(raw) - 1 - (rk)
#define ICBU__TOKEN_PARAMS const char *raw, size_t rn
#define ICBU__TOKEN_ARGS raw, rn
#define icbu__token icbu__put
#endif
#define ICBU__TOK(o, raw, enc) icbu__token(o, ICBU__TOKEN(raw, enc))

/* ----------------------------------------------------------- JSON writer */
typedef struct icbu__w {
    icbu__out *o;
    icbu_err *e;
    int q;                        /* a string's closing quote is pending */
} icbu__w;

/* Punctuation, after a pending closing quote. */
ICBU__COLD static void icbu__wtok(icbu__w *w, ICBU__TOKEN_PARAMS) {
    if (w->q) { ICBU__TOK(w->o, "\"", "%22"); w->q = 0; }
    icbu__token(w->o, ICBU__TOKEN_ARGS);
}
#define ICBU__WTOK(w, raw, enc) icbu__wtok(w, ICBU__TOKEN(raw, enc))
/* A literal token's end: raw past its first rk bytes, enc past its first ek
 * ("}" of "{}", "%7D" of "%7B%7D"). */
#define ICBU__WTOK_END(w, raw, enc, rk, ek) icbu__wtok(w, ICBU__TOKEN_END(raw, enc, rk, ek))

/* ======================================================== fast paths
 * The one place where speed buys code. Each fast path gives exactly the
 * bytes of its reference path, which is all a small build (ICBU_REFLOW_SMALL,
 * -Os, or a compiler other than GCC and clang) has; tests build both and
 * compare (the unit tests' "small" back end, fuzz_roundtrip). Each is kept
 * because it pays: make bench turns each off alone and measures what it saves
 * (docs/bench.md, "Fast paths").
 *   ICBU__FAST_BLOCKS  the hash stage: 256-byte blocks (and 48 bytes of slack)
 *                      instead of 64, for fewer back-end calls; a piece that
 *                      fits copied in at once, a longer one's whole blocks
 *                      hashed from where they are
 *                      (reference: icbu__hash's block loop)
 *   ICBU__FAST_RUNS    a run of plain text, four bytes at a time
 *                      (reference: icbu__esc's character loop)
 *   ICBU__FAST_CJK     a 3-byte UTF-8 sequence whose lead byte needs no more
 *                      checks, encoded at once
 *                      (reference: icbu__utf8, then icbu__form1 per byte)
 *   ICBU__FAST_KEYS    a member's start written in one go into the stage's
 *                      slack and the arena, the name as two 16-byte words
 *                      (reference: icbu__key's tokens)
 * HOT/COLD (always inline the few tiny writers, keep their rare paths out of
 * line) go with them: they are on in exactly the same builds. */

/* A run of plain bytes: four at a time while there are four, then one by one. */
static ICBU__HOT void icbu__fast_run(const unsigned char **pp, const unsigned char *end, char **dd) {
    const unsigned char *p = *pp;
    char *d = *dd;
    while (end - p >= 4 && ICBU__PLAIN(p[0]) && ICBU__PLAIN(p[1]) && ICBU__PLAIN(p[2]) &&
           ICBU__PLAIN(p[3])) {
        ICBU_MEMCPY(d, p, 4); d += 4; p += 4;
    }
    while (p < end && ICBU__PLAIN(*p)) *d++ = (char)*p++;
    *pp = p; *dd = d;
}

/* In a form value, a 3-byte sequence with a lead of E1..EC or EE..EF (CJK among
 * them): two continuation bytes make it valid UTF-8, with no overlong form or
 * surrogate possible. 1 if it was one (then written as three %XX). */
static ICBU__HOT int icbu__fast_cjk(const unsigned char **pp, const unsigned char *end, char **dd) {
    const unsigned char *p = *pp;
    if (p[0] < 0xE1 || p[0] > 0xEF || p[0] == 0xED || end - p < 3 ||
        (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
        return 0;
    *dd = icbu__pct(icbu__pct(icbu__pct(*dd, p[0]), p[1]), p[2]);
    *pp = p + 3;
    return 1;
}

/* The names are read as two 16-byte words: from any name's first byte, 32
 * bytes stay inside icbu__request_schema, since names_end_[32] follows them. */
typedef char icbu__names_read_in_bounds[!ICBU__FAST_KEYS ||
                                        offsetof(struct icbu__requests, names_end_) + 32 <= sizeof(struct icbu__requests) ? 1 : -1];

/* A member's start, [pending quote] {" or ," then name": and, for a string,
 * its opening quote, straight into the stage's slack (at most 38 bytes) and
 * the arena, when the order is written as a form value (a signer is set) with
 * room for the worst case. 1 if it was written. */
static int icbu__fast_key(icbu__w *w, int first, const icbu__field *f) {
    icbu__out *o = w->o;
    const char *name = ICBU__FNAME(f);
    size_t n = ICBU__FLEN(f), q = (size_t)w->q, str = ICBU__FKIND(f) == ICBU__K_STR;
    unsigned char *r;
    char *d, *start;
    if (!o->sg || n > 32 || o->len > o->cap || 50 > o->cap - o->len) return 0;
    r = o->stage + o->staged;
    d = start = o->buf + o->len;
    r[0] = '"'; r += q;
    r[0] = first ? '{' : ','; r[1] = '"';
    ICBU_MEMCPY(r + 2, name, 16); ICBU_MEMCPY(r + 18, name + 16, 16);
    r += n + 2;
    r[0] = '"'; r[1] = ':'; r[2] = '"';
    o->staged = (size_t)(r + 2 + str - o->stage);
    if (o->staged >= ICBU__BLOCK) icbu__spill(o);
    ICBU_MEMCPY(d, "%22", 3); d += 3 * q;
    ICBU_MEMCPY(d, first ? "%7B%22" : "%2C%22", 6);
    ICBU_MEMCPY(d + 6, name, 16); ICBU_MEMCPY(d + 22, name + 16, 16);
    d += n + 6;
    ICBU_MEMCPY(d, "%22%3A%22", 9);
    o->len += (size_t)(d + 6 + 3 * str - start);
    w->q = 0;
    return 1;
}
/* ================================================= end of the fast paths */


/* A byte that JSON escapes (a control character, " or \\) at p: the raw
 * text before it (from run) and its escape to the hash, the escape (encoded
 * in a form value) into d. Returns the new end of d. */
ICBU__COLD static char *icbu__jesc(icbu__out *o, const unsigned char *run, const unsigned char *p,
                                   char *d, int form) {
    unsigned c = *p;
    char esc[6];
    size_t k = 2, i = icbu__esc_find(icbu__esc_char, c);
    esc[0] = '\\';
    if (i < 8) {
        esc[1] = icbu__esc_name[i];
    } else {
        esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
        esc[4] = icbu__hexd[c >> 4]; esc[5] = icbu__hexd[c & 15]; k = 6;
    }
    icbu__hash(o, (const char *)run, (size_t)(p - run));
    icbu__hash(o, esc, k);
    if (form) return d + icbu__form(d, (const unsigned char *)esc, k);
    ICBU_MEMCPY(d, esc, k);
    return d + k;
}

/* The JSON string content of p[0..n) into d, in one pass: escaped, then
 * percent-encoded in a form value; the escaped (raw) text goes to the hash.
 * d has room for 8 bytes per input byte (\u001F is %5Cu001F). Returns the
 * bytes written, or (size_t)-1 at invalid UTF-8. */
#define ICBU__ESC_MAX 8
static ICBU__HOT size_t icbu__esc(icbu__out *o, const unsigned char *p, size_t n, char *d) {
    const unsigned char *end = p + n, *run = p;
    char *start = d;
    int form = o->form;               /* a local: stores through d may alias *o */
    for (;;) {
        unsigned c;
        size_t k = 1;
        if (ICBU__FAST_RUNS) icbu__fast_run(&p, end, &d);
        if (p == end) break;
        c = *p;
        if (c >= 0x80) {                          /* UTF-8: checked, then copied or encoded */
            if (ICBU__FAST_CJK && form && icbu__fast_cjk(&p, end, &d)) continue;
            if (!(k = icbu__utf8(p, (size_t)(end - p)))) return (size_t)-1;
        } else if (c < 0x20 || c == '"' || c == '\\') {
            d = icbu__jesc(o, run, p, d, form);
            run = ++p;
            continue;
        }
        for (; k; k--, p++) {                     /* a character, as it is or encoded */
            if (form) d = icbu__form1(d, *p);
            else *d++ = (char)*p;
        }
    }
    icbu__hash(o, (const char *)run, (size_t)(p - run));
    return (size_t)(d - start);
}

/* Near the arena's end, or measuring: a character at a time, through t. */
ICBU__COLD static size_t icbu__esc_each(icbu__out *o, const unsigned char *p, size_t n) {
    size_t k, r = 0;
    char t[12];                   /* one character: 4 bytes as %XX, or %5Cu00XX */
    for (; n && r != (size_t)-1; p += k, n -= k) {
        k = *p < 0x80 ? 1 : icbu__utf8(p, n);
        if (!k) k = 1;                             /* icbu__esc reports it */
        r = icbu__esc(o, p, k, t);
        if (r != (size_t)-1) icbu__bytes(o, t, r);
    }
    return r;
}

static icbu_status icbu__wstr(icbu__w *w, const icbu_str *s) {
    icbu__out *o = w->o;
    const unsigned char *p = (const unsigned char *)s->p;
    size_t n = s->n, r;
    if (o->buf && o->len <= o->cap && n <= (o->cap - o->len) / ICBU__ESC_MAX) {
        r = icbu__esc(o, p, n, o->buf + o->len);
        if (r != (size_t)-1) o->len += r;
    } else {
        r = icbu__esc_each(o, p, n);
    }
    if (r == (size_t)-1) return icbu__fail(w->e, ICBU_E_UTF8);
    w->q = 1;
    return ICBU_OK;
}

/* Decimal digits of u, after a '-' when neg, at the end of t[21]; returns
 * where they start. A 64-bit division is a library call on a 32-bit MCU, so
 * u is divided by 10 in 32-bit steps: the high word, then the low word's two
 * halves, each after the remainder before it ((r << 16 | half) / 10 fits). */
static char *icbu__digits(char *t, uint64_t u, int neg) {
    uint32_t hi = (uint32_t)(u >> 32), lo = (uint32_t)u, x, y;
    char *p = t + 21;
    do {
        x = (hi % 10u) << 16 | lo >> 16;
        y = (x % 10u) << 16 | (lo & 0xFFFFu);
        hi /= 10u;
        lo = (x / 10u) << 16 | y / 10u;
        *--p = (char)('0' + y % 10u);
    } while (hi | lo);
    if (neg) *--p = '-';
    return p;
}

/* "yyyy-MM-dd HH:mm:ss" (d[0..19)), which the form encodes as
 * yyyy-MM-dd+HH%3Amm%3Ass and JSON has as it is. A fast build puts the
 * encoded form together with copies, a few instructions instead of a loop
 * over 19 bytes; everything else has icbu__put, which gives the same bytes. */
static void icbu__tdate(icbu__out *o, const char *d) {
    char enc[23];
    if (!ICBU__FAST) { icbu__put(o, d, 19); return; }
    ICBU_MEMCPY(enc, d, 10); enc[10] = '+';
    ICBU_MEMCPY(enc + 11, d + 11, 2); ICBU_MEMCPY(enc + 13, "%3A", 3);
    ICBU_MEMCPY(enc + 16, d + 14, 2); ICBU_MEMCPY(enc + 18, "%3A", 3);
    ICBU_MEMCPY(enc + 21, d + 17, 2);
    icbu__tok(o, d, 19, enc, 23);
}

/* These two have their own frames, not one in every level of the object recursion. */
ICBU__NOINLINE static void icbu__wnum(icbu__out *o, int64_t v) {
    char t[21];
    const char *p = icbu__digits(t, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, v < 0);
    icbu__tok(o, p, (size_t)(t + 21 - p), p, (size_t)(t + 21 - p));   /* digits encode as themselves */
}
ICBU__NOINLINE static icbu_status icbu__wdate(icbu__w *w, const icbu_date *v) {
    char d[20];
    if (icbu_date_format(v, d) != ICBU_OK) return icbu__fail(w->e, ICBU_E_DATE);
    ICBU__TOK(w->o, "\"", "%22");
    icbu__tdate(w->o, d);
    w->q = 1;
    return ICBU_OK;
}

/* A member's start: [pending quote] {" or ," then name": and, for a string,
 * its opening quote, as tokens (the reference path of icbu__fast_key). */
ICBU__OWNFRAME static void icbu__key(icbu__w *w, int first, const icbu__field *f) {
    icbu__out *o = w->o;
    const char *name = ICBU__FNAME(f);
    size_t n = ICBU__FLEN(f), str = ICBU__FKIND(f) == ICBU__K_STR;
    if (ICBU__FAST_KEYS && icbu__fast_key(w, first, f)) return;
    if (first) ICBU__WTOK(w, "{\"", "%7B%22");
    else ICBU__WTOK(w, ",\"", "%2C%22");
    icbu__tok(o, name, n, name, n);
    if (str) ICBU__TOK(o, "\":\"", "%22%3A%22");
    else ICBU__TOK(o, "\":", "%22%3A");
}

/* Where each kind keeps its "set" byte (NUM, BOOL, DATE); 0: a pointer at
 * the member's start, NULL when absent (STR, OBJ and the lists). */
static const unsigned char icbu__set_at[] = {
    0, offsetof(icbu_num, set), offsetof(icbu_bool, set), offsetof(icbu_date, set), 0, 0, 0 };
typedef char icbu__set_at_kinds[sizeof icbu__set_at == ICBU__K_STRS + 1 &&
                                offsetof(icbu_str, p) == 0 && offsetof(icbu_str_list, p) == 0 ? 1 : -1];
static int icbu__absent(const icbu__field *f, const unsigned char *p) {
    unsigned at = icbu__set_at[ICBU__FKIND(f)];
    return at ? !p[at] : *(const void *const *)(const void *)p == NULL;
}

/* A STRS field's strings as a JSON array (null for an absent one); *k: the
 * element that failed (for the path), or ICBU__NOIDX. */
static icbu_status icbu__wstrs(icbu__w *w, const icbu_str_list *l, size_t *k) {
    ICBU__WTOK(w, "[", "%5B");
    for (*k = 0; *k < l->n; ++*k) {
        const icbu_str *s = &l->p[*k];
        if (*k) ICBU__WTOK(w, ",", "%2C");
        if (!s->p) {
            ICBU__TOK(w->o, "null", "null");
            continue;
        }
        ICBU__TOK(w->o, "\"", "%22");
        if (icbu__wstr(w, s) != ICBU_OK) return ICBU_E_UTF8;
    }
    *k = ICBU__NOIDX;
    ICBU__WTOK(w, "]", "%5D");
    return ICBU_OK;
}

/* The writer's place in one object of the request: the object, its type,
 * the field it is at and whether it has written one yet; in an OBJS field's
 * list, which element of how many (else ICBU__NOIDX and 0). */
typedef struct icbu__wlevel {
    const unsigned char *base;
    size_t k, n;
    unsigned char ty, i, first;
} icbu__wlevel;

/* Level l starts an object: at base, of type ty. */
static void icbu__wstart(icbu__wlevel *l, unsigned ty, const unsigned char *base) {
    l->base = base;
    l->ty = (unsigned char)ty;
    l->i = 0;
    l->first = 1;
}

/* Level l's object has all its fields: its closing brace, then the next
 * element of its list, or back up a level, to the field that holds it.
 * The level to go on at, or NULL after the top level's object (lv). Out of
 * line in a fast build (COLD), where icbu__wobj's loop then keeps more in
 * registers; inlined in a small one, where that is smaller. */
ICBU__COLD static icbu__wlevel *icbu__wclose(icbu__w *w, icbu__wlevel *l, const icbu__wlevel *lv) {
    ICBU__WTOK_END(w, "{}", "%7B%7D", 1u - l->first, 3u - 3u * l->first);   /* {} or } */
    if (++l->k < l->n) {
        ICBU__WTOK(w, ",", "%2C");
        icbu__wstart(l, l->ty, l->base + icbu__types[l->ty].size);
        return l;
    }
    if (l->n) ICBU__WTOK(w, "]", "%5D");
    if (l == lv) return NULL;
    (--l)->i++;
    return l;
}

/* The path of level l's field, which failed (k: its STRS element, or
 * ICBU__NOIDX): each level's field, from l up to the top one, lv. (COLD:
 * as icbu__wclose.) */
ICBU__COLD static void icbu__wpath(icbu_err *e, const icbu__wlevel *lv, const icbu__wlevel *l, size_t k) {
    for (;;) {
        const icbu__field *f = &icbu__types[l->ty].f[l->i];
        icbu__path_prepend(e, ICBU__FNAME(f), ICBU__FLEN(f), k);
        if (l == lv) return;
        k = l->k;                                  /* this object's element in the level above */
        l--;
    }
}

/* The request's object at base, of type ty: each present field as a member.
 * An OBJ or OBJS field's objects are written a level down, in this frame
 * (lv: no recursion, so the deepest hash call is under one writer frame, not
 * one per object). On failure, the path of the field from the top. */
static icbu_status icbu__wobj(icbu__w *w, unsigned ty, const unsigned char *base) {
    icbu__wlevel lv[ICBU__WDEPTH], *l = lv;
    const unsigned char *sub = base;  /* an object to start at l: of type ty, n in a list */
    size_t k = ICBU__NOIDX, n = 0;    /* k: a STRS field's element that failed */
    icbu_status st = ICBU_OK;
    for (;;) {
        const icbu__type *t;
        const icbu__field *f;
        const unsigned char *p;
        const icbu_str_list *a;
        if (sub) {
            l->k = n ? 0 : ICBU__NOIDX;
            l->n = n;
            icbu__wstart(l, ty, sub);
            sub = NULL;
        }
        t = &icbu__types[l->ty];
        if (l->i == t->n) {                        /* the object's end */
            if ((l = icbu__wclose(w, l, lv)) == NULL) return ICBU_OK;
            continue;
        }
        f = &t->f[l->i];
        p = l->base + ICBU__FOFF(f);
        a = (const icbu_str_list *)(const void *)p;
        if (icbu__absent(f, p)) {
            l->i++;
            continue;
        }
        icbu__key(w, l->first, f);
        l->first = 0;
        n = 0;
        switch (ICBU__FKIND(f)) {
        case ICBU__K_STR: st = icbu__wstr(w, (const icbu_str *)(const void *)p); break;
        case ICBU__K_NUM: icbu__wnum(w->o, ((const icbu_num *)(const void *)p)->v); break;
        case ICBU__K_BOOL:
            if (((const icbu_bool *)(const void *)p)->v) ICBU__TOK(w->o, "true", "true");
            else ICBU__TOK(w->o, "false", "false");
            break;
        case ICBU__K_DATE: st = icbu__wdate(w, (const icbu_date *)(const void *)p); break;
        case ICBU__K_STRS: st = icbu__wstrs(w, a, &k); break;
        case ICBU__K_OBJ: sub = *(const unsigned char *const *)(const void *)p; break;
        default:                                   /* OBJS: its elements, a level down */
            ICBU__WTOK(w, "[", "%5B");
            if ((n = a->n) != 0) sub = (const unsigned char *)(const void *)a->p;
            else ICBU__WTOK(w, "]", "%5D");
            break;
        }
        if (st != ICBU_OK) {
            icbu__wpath(w->e, lv, l, k);
            return st;
        }
        if (!sub) {
            l->i++;
            continue;
        }
        ty = ICBU__FSUB(f);                        /* its object, a level down */
        l++;
    }
}

/* A request of schema type ty, as JSON, into o. */
static icbu_status icbu__write(icbu__out *o, unsigned ty, const void *req, icbu_err *e) {
    icbu__w w;
    w.o = o; w.e = e; w.q = 0;
    return icbu__wobj(&w, ty, (const unsigned char *)req);
}

/* The length; ICBU_E_NOSPACE past cap, or at SIZE_MAX (a count that
 * saturated: no buffer holds it, so a sizing call fails too; a cap of
 * SIZE_MAX is no real buffer's). */
static icbu_status icbu__finish_len(icbu__out *o, size_t *len, icbu_err *e) {
    if (len) *len = o->len;
    if (o->len > (o->buf ? o->cap : (size_t)-2)) {
        if (e) e->need = o->len;
        return icbu__fail(e, ICBU_E_NOSPACE);
    }
    return ICBU_OK;
}

static icbu_status icbu__request_json(const icbu_method *m, const void *req, char *buf, size_t cap,
                                      size_t *len, icbu_err *e) {
    icbu__out o;
    icbu_status st;
    if (len) *len = 0;
    if (!m || !req || (!buf && cap)) return icbu__fail(e, ICBU_E_ARG);
    icbu__out_init(&o, buf, cap);
    st = icbu__write(&o, m->request, req, e);
    if (st != ICBU_OK) return st;
    return icbu__finish_len(&o, len, e);
}

ICBUDEF icbu_status icbu_request_json(const icbu_method *m, const void *req, char *buf, size_t cap,
                                      size_t *len, icbu_err *e) {
    icbu_err local;
    ICBU__ERR_INIT(e, local);
    return icbu__request_json(m, req, buf, cap, len, e);
}

ICBUDEF icbu_status icbu_order_json(const icbu_order *ord, char *buf, size_t cap,
                                    size_t *len, icbu_err *e) {
    icbu_err local;
    ICBU__ERR_INIT(e, local);
    return icbu__request_json(ICBU__ORDER_METHOD, ord, buf, cap, len, e);
}

#ifndef ICBU_REFLOW_NO_EXCHANGE
ICBUDEF icbu_status icbu_json_string(const char *p, size_t n, char *buf, size_t cap,
                                     size_t *len, icbu_err *e) {
    icbu_err local;
    icbu__out o;
    icbu__w w;
    icbu_status st;
    icbu_str v;
    ICBU__ERR_INIT(e, local);
    if (len) *len = 0;
    if ((!p && n) || (!buf && cap)) return icbu__fail(e, ICBU_E_ARG);
    icbu__out_init(&o, buf, cap);
    w.o = &o; w.e = e; w.q = 0;
    v.p = p ? p : ""; v.n = n;        /* NULL, 0 is "": not NULL + 0, undefined in C */
    ICBU__LIT(&o, "\"");
    if ((st = icbu__wstr(&w, &v)) != ICBU_OK) return st;
    ICBU__LIT(&o, "\"");
    return icbu__finish_len(&o, len, e);
}
#endif

/* ------------------------------------------------------------ signature
 * md5: MD5(secret + params + secret). hmac, hmac-sha256: RFC 2104 over the
 * hash, key pads computed once per signature and wiped after. */
static const char *const icbu__sm_names[] = { "hmac-sha256", "hmac", "md5" };
ICBUDEF const char *icbu_sign_method_name(icbu_sign_method m) {
    return (unsigned)m <= (unsigned)ICBU_SIGN_MD5 ? icbu__sm_names[m] : NULL;
}
ICBUDEF icbu_status icbu_sign_method_parse(const char *name, size_t n, icbu_sign_method *m) {
    unsigned i;
    if (!name || !m) return ICBU_E_ARG;
    for (i = 0; i <= (unsigned)ICBU_SIGN_MD5; i++)
        if (ICBU_STRLEN(icbu__sm_names[i]) == n && ICBU_MEMCMP(icbu__sm_names[i], name, n) == 0) {
            *m = (icbu_sign_method)i;
            return ICBU_OK;
        }
    return ICBU_E_ARG;
}

/* HMAC's key block, key ^ x (x: 0x36 inner, 0x5c outer), into pad (64
 * bytes: the caller's scratch, so the signer keeps no pad of its own). A key
 * longer than a block is hashed first, with the signer's context. */
static void icbu__sg_pad(icbu__signer *sg, unsigned char *pad, unsigned x) {
    size_t i;
    ICBU_MEMSET(pad, 0, 64);
    if (sg->secret_len > 64) {                   /* long keys are hashed first */
        icbu__sg_check(sg, icbu__hinit(&sg->h, sg->alg));
        icbu__sg_update(sg, sg->secret, sg->secret_len);
        icbu__sg_check(sg, icbu__hfinal(&sg->h, sg->alg, pad));
    } else {
        ICBU_MEMCPY(pad, sg->secret, sg->secret_len);
    }
    for (i = 0; i < 64; i++) pad[i] = (unsigned char)(pad[i] ^ x);
}

/* Starts a hash of the signature: md5's with the secret, hmac's with the
 * key block key ^ x (made in scratch, 64 bytes, and wiped there). */
static void icbu__sg_start(icbu__signer *sg, unsigned char *scratch, unsigned x) {
    if (sg->m != ICBU_SIGN_MD5) icbu__sg_pad(sg, scratch, x);
    icbu__sg_check(sg, icbu__hinit(&sg->h, sg->alg));
    if (sg->m == ICBU_SIGN_MD5) {
        icbu__sg_update(sg, sg->secret, sg->secret_len);
        return;
    }
    icbu__sg_update(sg, scratch, 64);
    icbu_wipe(scratch, 64);
}

/* Starts the signature: md5 hashes the secret first; hmac and hmac-sha256
 * the inner key block, made in scratch (64 bytes) and wiped there. */
static ICBU__ALWAYS void icbu__sg_begin(icbu__signer *sg, const char *secret, icbu_sign_method m,
                           unsigned char *scratch) {
    sg->secret = secret; sg->secret_len = ICBU_STRLEN(secret); sg->m = m; sg->rc = 0;
    sg->alg = m == ICBU_SIGN_HMAC_SHA256 ? ICBU_HASH_SHA256 : ICBU_HASH_MD5;
    icbu__sg_start(sg, scratch, 0x36);
}

/* Finishes the digest into hex (uppercase, 32 or 64 digits, no NUL) and
 * wipes it all; the outer key block of hmac is made again in scratch (64
 * bytes, which may be hex itself), then wiped. Returns the back end's first
 * failure code over the whole signature (0: hex holds it; else hex is not
 * written, since d may not be). */
static int icbu__sg_end(icbu__signer *sg, unsigned char *scratch, char *hex, size_t *hexlen) {
    unsigned char d[32];
    size_t dl = sg->alg == ICBU_HASH_MD5 ? 16 : 32, i;
    int rc;
    if (sg->m == ICBU_SIGN_MD5) icbu__sg_update(sg, sg->secret, sg->secret_len);
    icbu__sg_check(sg, icbu__hfinal(&sg->h, sg->alg, d));
    if (sg->m != ICBU_SIGN_MD5 && !sg->rc) {          /* no outer hash of a failed inner one */
        icbu__sg_start(sg, scratch, 0x5c);
        icbu__sg_update(sg, d, dl);
        icbu__sg_check(sg, icbu__hfinal(&sg->h, sg->alg, d));
    }
    rc = sg->rc;
    for (i = 0; i < dl && !rc; i++) { hex[2 * i] = icbu__hexd[d[i] >> 4]; hex[2 * i + 1] = icbu__hexd[d[i] & 15]; }
    *hexlen = 2 * dl;
    icbu_wipe(d, sizeof d);
    icbu_wipe(sg, sizeof *sg);
    return rc;
}

/* ICBU_E_CRYPTO, with the back end's code in e->detail. */
static icbu_status icbu__crypto_fail(icbu_err *e, int rc) {
    if (e) e->detail = rc;
    return icbu__fail(e, ICBU_E_CRYPTO);
}

/* TOP leaves out empty and whitespace-only values: not sent, not signed. */
static int icbu__blank(const char *p, size_t n) {
    size_t i;
    if (!p) return 1;
    for (i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r' && p[i] != '\f' && p[i] != '\v')
            return 0;
    return 1;
}
static size_t icbu__strlen(const char *p) { return p ? ICBU_STRLEN(p) : 0; }
static int icbu__cmp(const char *a, const char *b) {         /* strcmp, by unsigned bytes */
    while (*a && *a == *b) { a++; b++; }
    return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

ICBUDEF icbu_status icbu_sign_params(const char *secret, icbu_sign_method m,
                                     const icbu_param *params, size_t count,
                                     char hex[65], icbu_err *e) {
    icbu_err local;
    icbu__signer sg;
    const char *prev = NULL;
    size_t i, done, hl;
    int rc;
    ICBU__ERR_INIT(e, local);
    if (!secret || !*secret || !hex || (count && !params) || (unsigned)m > (unsigned)ICBU_SIGN_MD5)
        return icbu__fail(e, ICBU_E_ARG);              /* "" is no secret: it signs with none */
    for (i = 0; i < count; i++) if (!params[i].name) return icbu__fail(e, ICBU_E_ARG);
    for (i = 0; i < count; i++)                    /* a name given twice is ambiguous */
        for (done = i + 1; done < count; done++)
            if (icbu__cmp(params[i].name, params[done].name) == 0) return icbu__fail(e, ICBU_E_ARG);
    icbu__sg_begin(&sg, secret, m, (unsigned char *)hex);       /* hex: the scratch */
    /* Selection by name, in byte order: no scratch array, O(count^2). */
    for (done = 0; done < count; done++) {
        const icbu_param *best = NULL;
        for (i = 0; i < count; i++)
            if ((!prev || icbu__cmp(params[i].name, prev) > 0) &&
                (!best || icbu__cmp(params[i].name, best->name) < 0))
                best = &params[i];
        if (!best) break;
        prev = best->name;
        if (icbu__blank(best->value.p, best->value.n)) continue;
        icbu__sg_update(&sg, best->name, icbu__strlen(best->name));
        icbu__sg_update(&sg, best->value.p, best->value.n);
    }
    rc = icbu__sg_end(&sg, (unsigned char *)hex, hex, &hl);
    hex[rc ? 0 : hl] = 0;                        /* no digest of a failed back end */
    return rc ? icbu__crypto_fail(e, rc) : ICBU_OK;
}

/* ------------------------------------------------------------ form body
 * The system parameters, sorted by name, and where each value comes from;
 * the method's own parameter (its JSON request) goes in its sorted place
 * among them. Each value is hashed raw and written percent-encoded in the
 * same pass; sign comes last. */
#define ICBU__SYSPARAMS(X)                                        \
    X(app_key,        1, c->app_key)                              \
    X(format,         0, "json")                                  \
    X(method,         0, m->name)                                 \
    X(partner_id,     1, c->partner_id)                           \
    X(session,        1, c->session)                              \
    X(sign_method,    0, icbu__sm_names[c->sign_method])          \
    X(simplify,       0, c->simplify ? "true" : NULL)             \
    X(target_app_key, 1, c->target_app_key)                       \
    X(timestamp,      0, ts)                                      \
    X(v,              0, "2.0")
/* Per parameter: its name, whether the value is the caller's text (checked
 * as UTF-8), and the value (NULL: not set), read with c, m and ts in scope.
 * The names are one struct of char arrays, each found by its offset: a table
 * of pointers to them would cost 4 bytes a name. */
#define ICBU__SYSID(name, user, value) ICBU__S_##name,
enum { ICBU__SYSPARAMS(ICBU__SYSID) ICBU__NSYS };
#define ICBU__SYSTEXT(name, user, value) char name[sizeof #name];
typedef struct icbu__systext { ICBU__SYSPARAMS(ICBU__SYSTEXT) } icbu__systext;
#define ICBU__SYSINIT(name, user, value) #name,
static const icbu__systext icbu__sysparams = { ICBU__SYSPARAMS(ICBU__SYSINIT) };
#define ICBU__SYSOFF(name, user, value) (unsigned char)offsetof(icbu__systext, name),
static const unsigned char icbu__sysoff[] = { ICBU__SYSPARAMS(ICBU__SYSOFF) };
typedef char icbu__systext_fits[sizeof(icbu__systext) <= 255 ? 1 : -1];
#define ICBU__SYSUSER(name, user, value) | (user << ICBU__S_##name)
#define ICBU__SYSVALUE(name, user, value) case ICBU__S_##name: return value;

/* The name of system parameter i. */
static const char *icbu__sysname(size_t i) {
    return (const char *)&icbu__sysparams + icbu__sysoff[i];
}
/* The value of system parameter i (NULL: not set). Its own function: inlined,
 * GCC -Os copies the code after the switch into its cases. */
ICBU__NOINLINE static const char *icbu__sysvalue(size_t i, const icbu_config *c, const icbu_method *m,
                                                 const char *ts) {
    switch (i) {
    ICBU__SYSPARAMS(ICBU__SYSVALUE)
    default: return NULL;
    }
}

/* "name=" into o ('&' first unless first), the name into the hash; what
 * follows is a form value until icbu__value_end. */
static void icbu__value_start(icbu__out *o, int first, const char *name) {
    size_t n = ICBU_STRLEN(name);
    if (!first) ICBU__LIT(o, "&");
    icbu__bytes(o, name, n);
    ICBU__LIT(o, "=");
    icbu__hash(o, name, n);
    o->form = 1;
}
#define icbu__value_end(o) ((o)->form = 0)

/* A system parameter, name=value ('&' first unless *first), unless its value
 * is blank; the caller's text must be UTF-8 (else ICBU_E_UTF8, path = its name).
 * Its own frame: not on top of the request's. */
ICBU__NOINLINE static icbu_status icbu__sysparam_put(icbu__out *o, int *first, size_t i,
                                                     const icbu_config *c, const icbu_method *m,
                                                     const char *ts, icbu_err *e) {
    int user = (0 ICBU__SYSPARAMS(ICBU__SYSUSER)) >> i & 1;
    const char *v = icbu__sysvalue(i, c, m, ts), *name = icbu__sysname(i);
    size_t vn = icbu__strlen(v);
    if (icbu__blank(v, vn)) return ICBU_OK;
    if (user && !icbu__utf8_ok(v, vn)) {
        icbu__path_set(e, name);
        return icbu__fail(e, ICBU_E_UTF8);
    }
    icbu__value_start(o, *first, name);
    if (i == ICBU__S_timestamp) icbu__tdate(o, v);
    else if (user) icbu__put(o, v, vn);
    else icbu__tok(o, v, vn, v, vn);
    icbu__value_end(o);
    *first = 0;
    return ICBU_OK;
}

/* A signature's working state: the signer, the sink with its hash stage,
 * and the timestamp's text. In the frame of a call that signs; an exchange
 * keeps it in its arena's reserve instead (see icbu__reserve). */
typedef struct icbu__signing {
    icbu__out o;                  /* first: its fields at short offsets */
    char ts[20];
    icbu__signer sg;
} icbu__signing;

/* The signature, its state at w, with the timestamp when (NULL: the
 * config's): the body of both ways to sign (icbu__sign_body below, and an
 * exchange's icbu__sign_in). */
static ICBU__ALWAYS icbu_status icbu__sign_with(icbu__signing *w, const icbu_config *c, const icbu_date *when,
                                                const icbu_method *m, const void *req, char *buf,
                                                size_t cap, size_t *len, icbu_err *e) {
    icbu__signer *sg = &w->sg;
    icbu__out *o = &w->o;
    size_t i, hl;
    int first = 1, rc, pending = req != NULL;
    icbu_status st = ICBU_OK;
    if (e) ICBU_MEMSET(e, 0, sizeof *e);  /* a clean error; or none: NULL is passed down */
    if (len) *len = 0;
    if (!c || !m || (!buf && cap) || (unsigned)c->sign_method > (unsigned)ICBU_SIGN_MD5 ||
        icbu__blank(c->app_key, icbu__strlen(c->app_key)) || (buf && (!c->app_secret || !*c->app_secret)))
        return icbu__fail(e, ICBU_E_ARG);                /* "" is no secret: it signs with none */
    if (icbu_date_format(when ? when : &c->timestamp, w->ts) != ICBU_OK) {
        icbu__path_set(e, icbu__sysparams.timestamp);
        return icbu__fail(e, ICBU_E_DATE);
    }
    icbu__out_init(o, buf, cap);
    if (buf) { icbu__sg_begin(sg, c->app_secret, c->sign_method, o->stage); o->sg = sg; }   /* the stage is empty */
    for (i = 0; st == ICBU_OK && (i < ICBU__NSYS || pending);) {
        if (pending && (i == ICBU__NSYS || icbu__cmp(m->param, icbu__sysname(i)) < 0)) {
            icbu__value_start(o, first, m->param);                   /* the request, in its place */
            st = icbu__write(o, m->request, req, e);
            icbu__value_end(o);
            first = pending = 0;
        } else {
            st = icbu__sysparam_put(o, &first, i++, c, m, w->ts, e);
        }
    }
    icbu__flush(o);
    o->sg = NULL;
    /* the stage is free now: it takes the hex digest */
    if (!buf) {
        hl = c->sign_method == ICBU_SIGN_HMAC_SHA256 ? 64 : 32;
    } else {
        rc = icbu__sg_end(sg, o->stage, (char *)o->stage, &hl);
        if (rc && st == ICBU_OK) st = icbu__crypto_fail(e, rc);
    }
    if (st == ICBU_OK) {
        ICBU__LIT(o, "&sign=");
        icbu__bytes(o, (const char *)o->stage, hl);
    }
    icbu_wipe(o->stage, sizeof o->stage);
    return st != ICBU_OK ? st : icbu__finish_len(o, len, e);
}

/* A signature with its state in this frame: one frame with the signature's
 * own locals, as deep as one that keeps no state apart. */
ICBU__NOINLINE static icbu_status icbu__sign_body(const icbu_config *c, const icbu_method *m, const void *req,
                                                 char *buf, size_t cap, size_t *len, icbu_err *e) {
    icbu__signing w;
    return icbu__sign_with(&w, c, NULL, m, req, buf, cap, len, e);
}

/* The request's idempotency key (m->key, a String field), or an absent one. */
static icbu_str icbu__key_of(const icbu_method *m, const void *req) {
    const icbu__type *t = &icbu__types[m->request];
    size_t n = ICBU_STRLEN(m->key);
    unsigned i;
    for (i = 0; req && n && i < t->n; i++)
        if (ICBU__FKIND(&t->f[i]) == ICBU__K_STR && ICBU__FLEN(&t->f[i]) == n && ICBU_MEMCMP(ICBU__FNAME(&t->f[i]), m->key, n) == 0)
            return *(const icbu_str *)(const void *)((const unsigned char *)req + ICBU__FOFF(&t->f[i]));
    return icbu_sn(NULL, 0);
}
ICBUDEF int icbu_has_key(const icbu_method *m, const void *req) {
    icbu_str k;
    if (!m) return 0;
    k = icbu__key_of(m, req);
    return !icbu__blank(k.p, k.n);
}

/* One tail call: no frame of its own under icbu__sign_body's, and no local
 * icbu_err for a call without one (the signature keeps no error then). */
ICBUDEF icbu_status icbu_sign_request(const icbu_config *c, const icbu_method *m, const void *req,
                                      char *buf, size_t cap, size_t *len, icbu_err *e) {
    return icbu__sign_body(c, m, req, buf, cap, len, e);
}

ICBUDEF icbu_status icbu_sign_body(const icbu_config *c, const icbu_order *ord,
                                   char *buf, size_t cap, size_t *len, icbu_err *e) {
    return icbu_sign_request(c, ICBU__ORDER_METHOD, ord, buf, cap, len, e);
}

#ifndef ICBU_REFLOW_NO_EXCHANGE
/* ------------------------------------------------------------------ HTTP */

static int icbu__ieq(const char *a, size_t n, const char *lit) {   /* case-insensitive, lit lowercase */
    size_t i;
    for (i = 0; i < n; i++) if (!lit[i] || icbu__lower((unsigned char)a[i]) != lit[i]) return 0;
    return lit[n] == 0;
}

/* Whether a byte of p[0..n) would end the request line or a header: a space,
 * a control or DEL (no URL may hold one). */
static int icbu__url_ctl(const char *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if ((unsigned char)p[i] <= 0x20 || p[i] == 0x7f) return 1;
    return 0;
}

ICBUDEF icbu_status icbu_url_parse(const char *url, icbu_url *u) {
    const char *p, *h;
    if (!url || !u) return ICBU_E_ARG;
    ICBU_MEMSET(u, 0, sizeof *u);
    if (icbu__url_ctl(url, ICBU_STRLEN(url))) return ICBU_E_URL;   /* no spaces or controls anywhere */
    if (icbu__ieq(url, 7, "http://")) { p = url + 7; u->port = 80; }
    else if (icbu__ieq(url, 8, "https://")) { p = url + 8; u->port = 443; u->https = 1; }
    else return ICBU_E_URL;
    if (*p == '[') {                                    /* [IPv6] */
        h = ++p;
        while (*p && *p != ']') {
            if (!((*p >= '0' && *p <= '9') || (icbu__lower(*p) >= 'a' && icbu__lower(*p) <= 'f') ||
                  *p == ':' || *p == '.')) return ICBU_E_URL;
            p++;
        }
        if (*p != ']') return ICBU_E_URL;
        u->host = icbu_sn(h, (size_t)(p - h));
        p++;
    } else {
        h = p;
        while (*p && *p != ':' && *p != '/' && *p != '?' && *p != '#') {
            if (*p == '@' || *p == '[' || *p == ']' || *p == '\\') return ICBU_E_URL;  /* no userinfo */
            p++;
        }
        u->host = icbu_sn(h, (size_t)(p - h));
    }
    if (!u->host.n) return ICBU_E_URL;
    if (*p == ':') {
        unsigned long port = 0;
        if (!(*++p >= '0' && *p <= '9')) return ICBU_E_URL;
        while (*p >= '0' && *p <= '9') {
            port = port * 10 + (unsigned long)(*p++ - '0');
            if (port > 65535) return ICBU_E_URL;
        }
        if (!port) return ICBU_E_URL;
        u->port = (uint16_t)port;
    }
    if (*p && *p != '/' && *p != '?' && *p != '#') return ICBU_E_URL;
    h = p;
    while (*p && *p != '#') p++;                        /* the fragment is not sent */
    u->path = h == p ? icbu_sn("/", 1) : icbu_sn(h, (size_t)(p - h));
    return ICBU_OK;
}

/* A URL as the request head takes it, which may have been filled in by hand
 * rather than by icbu_url_parse: a host, a port (0 is no server's), and no
 * byte in the host or the path that ends a line or a token (a host read with
 * fgets keeps its "\n"). */
static icbu_status icbu__url_check(const icbu_url *u) {
    if (!u || !u->host.p || !u->path.p) return ICBU_E_ARG;
    return !u->host.n || !u->port || icbu__url_ctl(u->host.p, u->host.n) ||
                   icbu__url_ctl(u->path.p, u->path.n)
               ? ICBU_E_URL : ICBU_OK;
}

static icbu_status icbu__http_head(const icbu_url *u, size_t body_len, int keep, char *buf,
                                   size_t cap, size_t *len, icbu_err *e) {
    icbu__out o;
    size_t i;
    int v6;
    icbu_status st = icbu__url_check(u);
    if (len) *len = 0;
    /* a length past INT64_MAX (SIZE_MAX, a length gone negative) is no body's:
     * written as the int64_t it becomes, it was "Content-Length: -1" */
    if (st != ICBU_OK || (!buf && cap) || (uint64_t)body_len >> 63)
        return icbu__fail(e, st != ICBU_OK ? st : ICBU_E_ARG);
    icbu__out_init(&o, buf, cap);
    for (v6 = 0, i = 0; i < u->host.n; i++) v6 |= u->host.p[i] == ':';   /* IPv6 literal */
    ICBU__LIT(&o, "POST ");
    if (!u->path.n || u->path.p[0] != '/') ICBU__LIT(&o, "/");
    icbu__bytes(&o, u->path.p, u->path.n);
    ICBU__LIT(&o, " HTTP/1.1\r\nHost: ");
    /* "[]", not "[" and "]": the JSON writer has those two, and a literal that
     * two functions share would keep this one's texts in an image that only signs */
    if (v6) icbu__bytes(&o, "[]", 1);
    icbu__bytes(&o, u->host.p, u->host.n);
    if (v6) icbu__bytes(&o, &"[]"[1], 1);
    if (u->port != (u->https ? 443 : 80)) { ICBU__LIT(&o, ":"); icbu__wnum(&o, u->port); }
    ICBU__LIT(&o, "\r\nContent-Type: application/x-www-form-urlencoded;charset=UTF-8\r\n"
                   "Content-Length: ");
    icbu__wnum(&o, (int64_t)body_len);     /* outside a form value: the digits as they are */
    ICBU__LIT(&o, "\r\nUser-Agent: icbu_reflow/" ICBU_REFLOW_VERSION "\r\nConnection: ");
    icbu__bytes(&o, keep ? "keep-alive\r\n\r\n" : "close\r\n\r\n", keep ? 14 : 9);
    return icbu__finish_len(&o, len, e);
}

ICBUDEF icbu_status icbu_http_head(const icbu_url *u, size_t body_len, char *buf, size_t cap,
                                   size_t *len, icbu_err *e) {
    icbu_err local;
    ICBU__ERR_INIT(e, local);
    return icbu__http_head(u, body_len, 0, buf, cap, len, e);
}

/* Response reader. The buffer fills from the transport; the head is parsed
 * where it lies and the body is decoded in place right after it. */
typedef struct icbu__rd {
    const icbu_transport *t;
    uint32_t deadline;
    char *buf;
    size_t cap, n;
    icbu_err *e;
} icbu__rd;

/* now_ms wraps: a deadline more than ICBU__MS_MAX ahead reads as past, so a
 * longer timeout is refused (nonzero) rather than taken as already over.
 * Without a clock, the deadline is timeout_ms itself, per transport call. */
#define ICBU__MS_MAX 0x7FFFFFFFu
static int icbu__deadline(const icbu_transport *t, uint32_t timeout_ms, uint32_t *deadline) {
    if (!t->now_ms) { *deadline = timeout_ms; return 0; }
    if (timeout_ms > ICBU__MS_MAX) return 1;
    *deadline = t->now_ms(t->ctx) + timeout_ms;
    return 0;
}

/* The time left before the deadline (without a clock: deadline is per call). */
static icbu_status icbu__left(const icbu_transport *t, uint32_t deadline, uint32_t *ms) {
    uint32_t now;
    if (!t->now_ms) { *ms = deadline; return ICBU_OK; }
    now = t->now_ms(t->ctx);
    if (deadline - now == 0 || deadline - now > ICBU__MS_MAX) return ICBU_E_TIMEOUT;
    *ms = deadline - now;
    return ICBU_OK;
}

/* e->need = a + b bytes, saturated rather than wrapped. */
static void icbu__need_sum(icbu_err *e, size_t a, size_t b) {
    e->need = a > (size_t)-1 - b ? (size_t)-1 : a + b;
}

/* ICBU_E_HTTP_TOOBIG with e->need = at least a + b bytes (saturated). */
static icbu_status icbu__toobig(icbu_err *e, size_t a, size_t b) {
    icbu__need_sum(e, a, b);
    return icbu__fail(e, ICBU_E_HTTP_TOOBIG);
}

/* 1: more bytes arrived; 0: the peer closed; -1: failed (e is set). */
static int icbu__fill(icbu__rd *r) {
    uint32_t ms;
    long k;
    if (r->n >= r->cap) { icbu__toobig(r->e, r->cap, 1); return -1; }
    if (icbu__left(r->t, r->deadline, &ms) != ICBU_OK) { icbu__fail(r->e, ICBU_E_TIMEOUT); return -1; }
    k = r->t->recv(r->t->ctx, (unsigned char *)r->buf + r->n, r->cap - r->n, ms);
    if (k == 0) return 0;
    if (k < 0 || (unsigned long)k > r->cap - r->n) {
        r->e->detail = k;
        icbu__fail(r->e, k == ICBU_IO_TIMEOUT ? ICBU_E_TIMEOUT : ICBU_E_RECV);
        return -1;
    }
    r->n += (size_t)k;
    return 1;
}

/* Makes bytes [*rd, *rd + count) available, moving unread bytes down to w
 * (the end of the decoded body) to make room. */
static icbu_status icbu__need(icbu__rd *r, size_t *rd, size_t w, size_t count) {
    while (r->n - *rd < count) {
        int k;
        if (*rd > w) {
            ICBU_MEMMOVE(r->buf + w, r->buf + *rd, r->n - *rd);
            r->n -= *rd - w;
            *rd = w;
        }
        if (count > r->cap - w) return icbu__toobig(r->e, w, count);
        k = icbu__fill(r);
        if (k < 0) return r->e->status;
        if (k == 0) return icbu__fail(r->e, ICBU_E_HTTP_TRUNCATED);
    }
    return ICBU_OK;
}

/* Finds the CRLF ending the line at *rd (reading more if needed). A bare CR,
 * LF or NUL is malformed as soon as it arrives: each read asks for one byte
 * more than there is. *eol is the index of the CR. */
static icbu_status icbu__line(icbu__rd *r, size_t *rd, size_t w, size_t *eol) {
    size_t s = 0;
    for (;;) {
        icbu_status st;
        for (; *rd + s < r->n; s++) {
            char c = r->buf[*rd + s];
            if (c == '\r') {
                if (*rd + s + 1 >= r->n) break;
                if (r->buf[*rd + s + 1] != '\n') return icbu__fail(r->e, ICBU_E_HTTP_SYNTAX);
                *eol = *rd + s;
                return ICBU_OK;
            }
            if (c == '\n' || c == 0) return icbu__fail(r->e, ICBU_E_HTTP_SYNTAX);
        }
        st = icbu__need(r, rd, w, r->n - *rd + 1);
        if (st != ICBU_OK) return st;
    }
}

static int icbu__tchar(unsigned char c) {   /* RFC 9110 token */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' ||
           c == '+' || c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~';
}

/* A decimal (Content-Length) or hex (chunk size) number; 0 on overflow or
 * when there is no digit. */
static int icbu__size(const char *p, size_t n, unsigned base, size_t *v, size_t *used) {
    size_t i = 0, x = 0;
    for (; i < n; i++) {
        int h = icbu__hexv((unsigned char)p[i]);
        size_t d = (size_t)h;
        if (h < 0 || d >= base) break;
        if (x > ((size_t)-1 - d) / base) return 0;
        x = x * base + d;
    }
    *v = x; *used = i;
    return i > 0;
}

/* The head, up to the empty line, into r->buf; *hend: where the body starts.
 * Lines end in CRLF: a bare CR or LF (or a NUL) is malformed as soon as it
 * arrives. */
static icbu_status icbu__head_in(icbu__rd *r, size_t *hend) {
    size_t scan = 0;
    for (;;) {
        int got;
        for (; scan < r->n; scan++) {
            char c = r->buf[scan];
            if ((scan && r->buf[scan - 1] == '\r') != (c == '\n') || c == 0)
                return icbu__fail(r->e, ICBU_E_HTTP_SYNTAX);
            if (c == '\n' && scan >= 3 && r->buf[scan - 2] == '\n') {    /* CRLF CRLF */
                *hend = scan + 1;
                return ICBU_OK;
            }
        }
        got = icbu__fill(r);
        if (got < 0) return r->e->status;
        if (got == 0) return icbu__fail(r->e, ICBU_E_HTTP_TRUNCATED);
    }
}

/* How the body is framed, from the status line and the header fields; and
 * whether the server keeps the connection (HTTP/1.1 without Connection: close). */
typedef struct icbu__framing { size_t cl; int has_cl, chunked, close; } icbu__framing;

/* The status line, HTTP/1.x SP 3DIGIT [SP reason], ending at eol: its status
 * (an HTTP/1.0 answer closes the connection after it). */
static icbu_status icbu__status_line(const char *b, size_t eol, int *status, icbu__framing *fr,
                                     icbu_err *e) {
    if (eol < 12 || ICBU_MEMCMP(b, "HTTP/1.", 7) != 0 || b[7] < '0' || b[7] > '9' ||
        b[8] != ' ' || b[9] < '1' || b[9] > '5' || b[10] < '0' || b[10] > '9' ||
        b[11] < '0' || b[11] > '9' || (eol > 12 && b[12] != ' '))
        return icbu__fail(e, ICBU_E_HTTP_SYNTAX);
    *status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
    fr->close = b[7] == '0';
    return ICBU_OK;
}

/* Whether a Connection value (a comma-separated list of tokens) holds close. */
static int icbu__says_close(const char *v, size_t n) {
    size_t i = 0, s, t;
    while (i < n) {
        for (s = i; s < n && (v[s] == ' ' || v[s] == '\t' || v[s] == ','); s++) {}
        for (i = s; i < n && v[i] != ','; i++) {}
        for (t = i; t > s && (v[t - 1] == ' ' || v[t - 1] == '\t'); t--) {}
        if (icbu__ieq(v + s, t - s, "close")) return 1;
    }
    return 0;
}

/* The name of a field line in b[pos..eol), a token followed by ":"; *nl: its
 * length. A line that begins with a space or tab folds the one before it. */
static icbu_status icbu__field_name(const char *b, size_t pos, size_t eol, size_t *nl, icbu_err *e) {
    size_t n;
    if (b[pos] == ' ' || b[pos] == '\t') return icbu__fail(e, ICBU_E_HTTP_FOLDED);
    for (n = 0; pos + n < eol && icbu__tchar((unsigned char)b[pos + n]); n++) {}
    if (!n || pos + n >= eol || b[pos + n] != ':') return icbu__fail(e, ICBU_E_HTTP_SYNTAX);
    *nl = n;
    return ICBU_OK;
}

/* One header field, name ":" OWS value OWS, in b[pos..eol): Content-Length and
 * Transfer-Encoding go into fr; the others are skipped. */
static icbu_status icbu__header_field(const char *b, size_t pos, size_t eol, icbu__framing *fr,
                                      icbu_err *e) {
    size_t nl, vs, ve;
    if (icbu__field_name(b, pos, eol, &nl, e) != ICBU_OK) return e->status;
    for (vs = pos + nl + 1; vs < eol && (b[vs] == ' ' || b[vs] == '\t'); vs++) {}
    for (ve = eol; ve > vs && (b[ve - 1] == ' ' || b[ve - 1] == '\t'); ve--) {}
    if (icbu__ieq(b + pos, nl, "content-length")) {
        size_t v, used;
        if (!icbu__size(b + vs, ve - vs, 10, &v, &used) || used != ve - vs)
            return icbu__fail(e, ICBU_E_HTTP_SIZE);
        if (fr->has_cl && v != fr->cl) return icbu__fail(e, ICBU_E_HTTP_FRAMING);
        fr->has_cl = 1;
        fr->cl = v;
    } else if (icbu__ieq(b + pos, nl, "transfer-encoding")) {
        if (fr->chunked || !icbu__ieq(b + vs, ve - vs, "chunked")) return icbu__fail(e, ICBU_E_HTTP_FRAMING);
        fr->chunked = 1;
    } else if (icbu__ieq(b + pos, nl, "connection") && icbu__says_close(b + vs, ve - vs)) {
        fr->close = 1;
    }
    return ICBU_OK;
}

/* The body of Content-Length cl bytes, right after the head. *w: its end. */
static icbu_status icbu__body_length(icbu__rd *r, size_t hend, size_t cl, size_t *w) {
    size_t rd = hend;
    icbu_status st;
    if (cl > r->cap - hend) return icbu__toobig(r->e, hend, cl);
    if ((st = icbu__need(r, &rd, hend, cl)) != ICBU_OK) return st;
    *w = hend + cl;
    return ICBU_OK;
}

/* A chunked body, decoded in place from hend on (extensions skipped), then
 * the trailer fields, which count against the arena as header fields do and
 * must be field lines as they are (their values are not used).
 * *w: the end of the decoded body; *end: of what was read of the message. */
static icbu_status icbu__body_chunked(icbu__rd *r, size_t hend, size_t *w, size_t *end) {
    char *b = r->buf;
    size_t rd = hend, eol, k, nl, trailers = 0;
    icbu_status st;
    *w = hend;
    for (;;) {
        size_t size, used;
        if (icbu__line(r, &rd, *w, &eol) != ICBU_OK) return r->e->status;
        if (!icbu__size(b + rd, eol - rd, 16, &size, &used)) return icbu__fail(r->e, ICBU_E_HTTP_SIZE);
        for (k = rd + used; k < eol && (b[k] == ' ' || b[k] == '\t'); k++) {}
        if (k < eol && b[k] != ';') return icbu__fail(r->e, ICBU_E_HTTP_SIZE);   /* else: extension */
        rd = eol + 2;
        if (size == 0) break;
        if (size > r->cap - *w || r->cap - *w - size < 2) return icbu__toobig(r->e, *w + 2, size);
        if ((st = icbu__need(r, &rd, *w, size + 2)) != ICBU_OK) return st;
        if (b[rd + size] != '\r' || b[rd + size + 1] != '\n') return icbu__fail(r->e, ICBU_E_HTTP_SIZE);
        ICBU_MEMMOVE(b + *w, b + rd, size);
        *w += size;
        rd += size + 2;
    }
    for (;;) {                                          /* trailer fields, then CRLF */
        if (icbu__line(r, &rd, *w, &eol) != ICBU_OK) return r->e->status;
        if (eol == rd) { *end = eol + 2; return ICBU_OK; }
        if (icbu__field_name(b, rd, eol, &nl, r->e) != ICBU_OK) return r->e->status;
        trailers += eol + 2 - rd;
        if (trailers > r->cap - *w) return icbu__toobig(r->e, *w, trailers);
        rd = eol + 2;
    }
}

/* A body that ends when the peer closes. *w: its end. */
static icbu_status icbu__body_close(icbu__rd *r, size_t *w) {
    int got;
    while ((got = icbu__fill(r)) > 0) {}
    if (got < 0) return r->e->status;
    *w = r->n;
    return ICBU_OK;
}

/* What the reader gives the exchange: the body, the bytes that arrived, and
 * whether the connection can carry another request (a framed answer read to
 * its last byte and no further, from a server that keeps the connection). */
typedef struct icbu__reply { icbu_str body; size_t got; int reusable; } icbu__reply;

/* A head, up to the empty line at hend, into r->buf from its start: the status
 * line, then the fields (framing into fr, which starts cleared). */
static icbu_status icbu__head(icbu__rd *r, size_t *hend, icbu__framing *fr, int *status) {
    size_t pos = 0, eol = 0;
    icbu_status st;
    ICBU_MEMSET(fr, 0, sizeof *fr);
    if ((st = icbu__head_in(r, hend)) != ICBU_OK || (st = icbu__line(r, &pos, 0, &eol)) != ICBU_OK ||
        (st = icbu__status_line(r->buf, eol, status, fr, r->e)) != ICBU_OK)
        return st;
    for (pos = eol + 2; pos + 2 < *hend; pos = eol + 2)
        if ((st = icbu__line(r, &pos, 0, &eol)) != ICBU_OK ||
            (st = icbu__header_field(r->buf, pos, eol, fr, r->e)) != ICBU_OK)
            return st;
    return ICBU_OK;
}

/* The body as the head frames it; *w: the body's end, *end: the message's
 * (0: read to close). */
static icbu_status icbu__message(icbu__rd *r, size_t hend, const icbu__framing *fr, int status, size_t *w,
                                 size_t *end) {
    if (fr->chunked && fr->has_cl) return icbu__fail(r->e, ICBU_E_HTTP_FRAMING);
    if (status != 200) { r->e->detail = status; return icbu__fail(r->e, ICBU_E_HTTP_STATUS); }
    if (fr->has_cl) {
        *end = hend + fr->cl;
        return icbu__body_length(r, hend, fr->cl, w);
    }
    return fr->chunked ? icbu__body_chunked(r, hend, w, end) : icbu__body_close(r, w);
}

/* The answer: interim (1xx) heads first, each dropped once read but counted
 * against the arena as if it were kept (101 is not one: this client never
 * asks to switch protocols); then the final head and its body. */
static icbu_status icbu__http_read(const icbu_transport *t, uint32_t deadline_ms, char *buf,
                                   size_t cap, icbu__reply *rp, icbu_err *e) {
    icbu__rd r;
    icbu__framing fr;
    size_t hend = 0, w = 0, end = 0, dropped = 0;
    int status = 0;
    icbu_status st;
    ICBU_MEMSET(rp, 0, sizeof *rp);
    if (!t || !t->recv || !buf || !cap) return icbu__fail(e, ICBU_E_ARG);
    r.t = t; r.deadline = deadline_ms; r.buf = buf; r.cap = cap; r.n = 0; r.e = e;
    while ((st = icbu__head(&r, &hend, &fr, &status)) == ICBU_OK && status / 100 == 1 && status != 101) {
        ICBU_MEMMOVE(buf, buf + hend, r.n - hend);
        r.n -= hend;
        r.cap -= hend;
        dropped += hend;
    }
    if (st == ICBU_OK && (st = icbu__message(&r, hend, &fr, status, &w, &end)) == ICBU_OK) {
        rp->body = icbu_sn(buf + hend, w - hend);
        rp->reusable = !fr.close && end != 0 && end == r.n;
    }
    if (st == ICBU_E_HTTP_TOOBIG) icbu__toobig(e, e->need, dropped);
    rp->got = r.n + dropped;
    return st;
}

ICBUDEF icbu_status icbu_http_read(const icbu_transport *t, uint32_t deadline_ms, char *buf,
                                   size_t cap, icbu_str *body, icbu_err *e) {
    icbu_err local;
    icbu__reply rp;
    icbu_status st;
    ICBU__ERR_INIT(e, local);
    if (!body) return icbu__fail(e, ICBU_E_ARG);
    st = icbu__http_read(t, deadline_ms, buf, cap, &rp, e);
    *body = rp.body;
    return st;
}

static icbu_status icbu__send_all(const icbu_transport *t, uint32_t deadline, const char *p,
                                  size_t n, icbu_err *e) {
    while (n) {
        uint32_t ms;
        long k;
        if (icbu__left(t, deadline, &ms) != ICBU_OK) return icbu__fail(e, ICBU_E_TIMEOUT);
        k = t->send(t->ctx, (const unsigned char *)p, n, ms);
        if (k <= 0 || (unsigned long)k > n) {
            e->detail = k;
            return icbu__fail(e, k == ICBU_IO_TIMEOUT ? ICBU_E_TIMEOUT : ICBU_E_SEND);
        }
        p += k;
        n -= (size_t)k;
    }
    return ICBU_OK;
}
#endif /* ICBU_REFLOW_NO_EXCHANGE */

#if !defined(ICBU_REFLOW_NO_EXCHANGE) || !defined(ICBU_REFLOW_NO_DECODER)
/* ----------------------------------------------------------- JSON reader
 * One reader for the gateway's answer (in place, unknown fields skipped) and
 * for orders (copied into the arena, everything checked), driven by the same
 * schema tables as the writer. */
#if ICBU_JSON_MAX_DEPTH > 63 || ICBU_JSON_MAX_DEPTH < 4
#error "ICBU_JSON_MAX_DEPTH must be within 4..63"
#endif
#define ICBU__ALIGN 8
typedef struct icbu__jr {
    const char *s;
    size_t n, i;
    char *inplace;               /* the input, writable: strings unescape into it */
    unsigned char *a;            /* arena for structs (and strings when not in place) */
    size_t cap, used;            /* used keeps counting past cap: the size needed */
    int nospace, strict, depth;
    int quiet;                   /* a look-ahead pass: errors are not recorded */
    int check;                   /* a checking pass: strings in place are read, not unescaped */
    icbu_err *e;
    icbu__path path;
    char key[ICBU__KEY_MAX];     /* the key being matched (one level at a time) */
} icbu__jr;

static icbu_status icbu__jfail(icbu__jr *r, icbu_status s) {
    if (r->quiet) return s;
    if (r->e->status == ICBU_OK) { r->e->offset = r->i; icbu__path_render(&r->path, r->e); }
    return icbu__fail(r->e, s);
}
static void icbu__jws(icbu__jr *r) {
    while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' || r->s[r->i] == '\r'))
        r->i++;
}
static int icbu__jpeek(const icbu__jr *r) { return r->i < r->n ? (unsigned char)r->s[r->i] : -1; }

static unsigned char *icbu__alloc(icbu__jr *r, size_t size) {
    size_t pad = (size_t)(ICBU__ALIGN - ((uintptr_t)r->a + r->used) % ICBU__ALIGN) % ICBU__ALIGN;
    unsigned char *p = NULL;
    if (!r->nospace && r->a && r->used + pad <= r->cap && size <= r->cap - r->used - pad) {
        p = r->a + r->used + pad;
        ICBU_MEMSET(p, 0, size);
    } else {
        r->nospace = 1;
    }
    /* saturated: size may be SIZE_MAX itself (an array past it), and pad + size wrap */
    r->used = r->used > (size_t)-1 - pad || size > (size_t)-1 - pad - r->used ? (size_t)-1
                                                                               : r->used + pad + size;
    return p;
}

static long icbu__hex4(const icbu__jr *r, size_t at) {     /* \uXXXX at r->s[at]; -1 if not */
    long v = 0;
    size_t k;
    if (at + 6 > r->n || r->s[at] != '\\' || r->s[at + 1] != 'u') return -1;
    for (k = 2; k < 6; k++) {
        int d = icbu__hexv((unsigned char)r->s[at + k]);
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The string at r->i (on its quote), unescaped into dst while it fits (dst
 * NULL: only measured). *len gets the unescaped length. */
static icbu_status icbu__jstr(icbu__jr *r, char *dst, size_t dcap, size_t *len) {
    size_t k = 0;
    r->i++;
    for (;;) {
        unsigned char c, u[4];
        const unsigned char *from = u;    /* the m bytes written: u, or the text itself */
        size_t m = 1, j;
        if (r->i >= r->n) return icbu__jfail(r, ICBU_E_JSON);
        c = (unsigned char)r->s[r->i];
        if (c == '"') { r->i++; *len = k; return ICBU_OK; }
        if (c < 0x20) return icbu__jfail(r, ICBU_E_JSON);
        if (c == '\\') {
            long cp;
            if (r->i + 1 >= r->n) return icbu__jfail(r, ICBU_E_JSON);
            j = icbu__esc_find(icbu__esc_name, (unsigned char)r->s[r->i + 1]);
            if (j < 8) {
                u[0] = (unsigned char)icbu__esc_char[j];
            } else if (r->s[r->i + 1] == 'u') {
                if ((cp = icbu__hex4(r, r->i)) < 0) return icbu__jfail(r, ICBU_E_JSON);
                if (cp >= 0xDC00 && cp <= 0xDFFF) return icbu__jfail(r, ICBU_E_UTF8);  /* lone low */
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    long lo = icbu__hex4(r, r->i + 6);
                    if (lo < 0xDC00 || lo > 0xDFFF) return icbu__jfail(r, ICBU_E_UTF8); /* lone high */
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    r->i += 6;
                }
                if (cp < 0x80) u[0] = (unsigned char)cp;
                else if (cp < 0x800) { u[0] = (unsigned char)(0xC0 | cp >> 6); m = 2; }
                else if (cp < 0x10000) { u[0] = (unsigned char)(0xE0 | cp >> 12); m = 3; }
                else { u[0] = (unsigned char)(0xF0 | cp >> 18); m = 4; }
                for (j = 1; j < m; j++) u[j] = (unsigned char)(0x80 | ((cp >> (6 * (m - 1 - j))) & 0x3F));
                r->i += 4;
            } else {
                return icbu__jfail(r, ICBU_E_JSON);
            }
            r->i += 2;
        } else {
            from = (const unsigned char *)r->s + r->i;
            if (c >= 0x80 && !(m = icbu__utf8(from, r->n - r->i))) return icbu__jfail(r, ICBU_E_UTF8);
            r->i += m;
        }
        /* in place, dst + k is at or before from: each byte is read before it is overwritten */
        for (j = 0; j < m; j++, k++) if (dst && k < dcap) dst[k] = (char)from[j];
    }
}

/* A string value: in place, or copied to the arena. */
static icbu_status icbu__jstrval(icbu__jr *r, icbu_str *out) {
    char *dst = NULL;
    size_t dcap = 0, len;
    icbu_status st;
    if (r->inplace) {            /* in place, until the arena runs out (the call fails then) */
        if (!r->nospace && !r->check) { dst = r->inplace + r->i + 1; dcap = r->n - r->i - 1; }
    }
    else if (!r->nospace && r->a) { dst = (char *)r->a + r->used; dcap = r->cap - r->used; }
    if ((st = icbu__jstr(r, dst, dcap, &len)) != ICBU_OK) return st;
    if (!r->inplace) {
        if (len > dcap || !dst) { r->nospace = 1; dst = NULL; }
        r->used = r->used + len < r->used ? (size_t)-1 : r->used + len;
    }
    if (out) { out->p = dst; out->n = len; }
    return ICBU_OK;
}

/* A JSON number. *v is set when it is an integer within int64; *isint
 * tells. Bad grammar is ICBU_E_JSON. */
static icbu_status icbu__jnum(icbu__jr *r, int64_t *v, int *isint) {
    int neg = 0;
    uint64_t x = 0;
    unsigned last;
    *isint = 1;
    if (icbu__jpeek(r) == '-') { neg = 1; r->i++; }
    last = neg ? 8 : 7;                      /* the last digit of 2^63 and of 2^63 - 1 */
    if (r->i >= r->n || r->s[r->i] < '0' || r->s[r->i] > '9') return icbu__jfail(r, ICBU_E_JSON);
    if (r->s[r->i] == '0') {
        r->i++;
        if (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') return icbu__jfail(r, ICBU_E_JSON);
    }
    while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') {
        unsigned d = (unsigned)(r->s[r->i++] - '0');
        /* x * 10 + d past 2^63 (or 2^63 - 1): compared with constants, no division */
        if (x > ((uint64_t)1 << 63) / 10 || (x == ((uint64_t)1 << 63) / 10 && d > last)) *isint = 0;
        else x = x * 10 + d;
    }
    if (icbu__jpeek(r) == '.') {
        *isint = 0;
        r->i++;
        if (r->i >= r->n || r->s[r->i] < '0' || r->s[r->i] > '9') return icbu__jfail(r, ICBU_E_JSON);
        while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') r->i++;
    }
    if (icbu__jpeek(r) == 'e' || icbu__jpeek(r) == 'E') {
        *isint = 0;
        r->i++;
        if (icbu__jpeek(r) == '+' || icbu__jpeek(r) == '-') r->i++;
        if (r->i >= r->n || r->s[r->i] < '0' || r->s[r->i] > '9') return icbu__jfail(r, ICBU_E_JSON);
        while (r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9') r->i++;
    }
    if (*isint) *v = neg ? (int64_t)(0 - x) : (int64_t)x;
    return ICBU_OK;
}

static int icbu__jlit(icbu__jr *r, const char *lit, size_t n) {
    if (r->n - r->i < n || ICBU_MEMCMP(r->s + r->i, lit, n) != 0) return 0;
    r->i += n;
    return 1;
}

/* Skips one value of any type, checking it; nesting is counted on top of
 * r->depth with one bit per level. */
static icbu_status icbu__jskip(icbu__jr *r) {
    uint64_t objs = 0;
    int d = 0, c, isint;
    size_t len;
    int64_t v;
    icbu_status st;
    for (;;) {
        icbu__jws(r);
        c = icbu__jpeek(r);
        if (c == '{' || c == '[') {
            if (r->depth + d >= ICBU_JSON_MAX_DEPTH) return icbu__jfail(r, ICBU_E_DEPTH);
            if (c == '{') objs |= (uint64_t)1 << d; else objs &= ~((uint64_t)1 << d);
            d++;
            r->i++;
            icbu__jws(r);
            if (icbu__jpeek(r) == (c == '{' ? '}' : ']')) { r->i++; d--; }
            else if (c == '{') {
                if (icbu__jpeek(r) != '"') return icbu__jfail(r, ICBU_E_JSON);
                if ((st = icbu__jstr(r, NULL, 0, &len)) != ICBU_OK) return st;
                icbu__jws(r);
                if (icbu__jpeek(r) != ':') return icbu__jfail(r, ICBU_E_JSON);
                r->i++;
                continue;
            } else {
                continue;
            }
        } else if (c == '"') {
            if ((st = icbu__jstr(r, NULL, 0, &len)) != ICBU_OK) return st;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            if ((st = icbu__jnum(r, &v, &isint)) != ICBU_OK) return st;
        } else if (!icbu__jlit(r, "true", 4) && !icbu__jlit(r, "false", 5) && !icbu__jlit(r, "null", 4)) {
            return icbu__jfail(r, ICBU_E_JSON);
        }
        /* after a value: close levels, or go on after a comma */
        for (;;) {
            int obj;
            if (d == 0) return ICBU_OK;
            obj = (int)((objs >> (d - 1)) & 1);
            icbu__jws(r);
            c = icbu__jpeek(r);
            if (c == (obj ? '}' : ']')) { r->i++; d--; continue; }
            if (c != ',') return icbu__jfail(r, ICBU_E_JSON);
            r->i++;
            if (obj) {
                icbu__jws(r);
                if (icbu__jpeek(r) != '"') return icbu__jfail(r, ICBU_E_JSON);
                if ((st = icbu__jstr(r, NULL, 0, &len)) != ICBU_OK) return st;
                icbu__jws(r);
                if (icbu__jpeek(r) != ':') return icbu__jfail(r, ICBU_E_JSON);
                r->i++;
            }
            break;
        }
    }
}

static icbu_status icbu__jobj(icbu__jr *r, unsigned ty, unsigned char *base);

/* A value of the wrong type: ICBU_E_TYPE if it is JSON at all, else the
 * syntax error found in it. */
static icbu_status icbu__jtype(icbu__jr *r) {
    size_t at = r->i;
    icbu_status st = icbu__jskip(r);
    if (st != ICBU_OK) return st;
    r->i = at;
    return icbu__jfail(r, ICBU_E_TYPE);
}

/* The elements of the array at r->i (on its '['), counted quietly: a bad
 * element is reported later by the real pass, with its index in the path. */
static size_t icbu__jcount(icbu__jr *r) {
    size_t count = 0, at = r->i;
    r->quiet = 1;
    r->i++;
    icbu__jws(r);
    if (icbu__jpeek(r) != ']')
        for (;;) {
            count++;
            if (icbu__jskip(r) != ICBU_OK) break;
            icbu__jws(r);
            if (icbu__jpeek(r) != ',') break;
            r->i++;
        }
    r->quiet = 0;
    r->i = at;
    return count;
}

/* One element of an OBJS or STRS array into el (NULL: measuring only). */
static icbu_status icbu__jelement(icbu__jr *r, const icbu__field *f, unsigned char *el) {
    int c = icbu__jpeek(r);
    if (ICBU__FKIND(f) == ICBU__K_STRS) {
        if (c == 'n' && icbu__jlit(r, "null", 4)) return ICBU_OK;
        if (c != '"') return icbu__jtype(r);
        return icbu__jstrval(r, (icbu_str *)(void *)el);
    }
    if (c != '{') return icbu__jtype(r);
    return icbu__jobj(r, ICBU__FSUB(f), el);
}

/* An array field (on its '['): counted, laid out in the arena, then read
 * element by element; p gets the {p, n} (NULL: measuring only). */
static icbu_status icbu__jarray(icbu__jr *r, const icbu__field *f, unsigned char *p) {
    size_t count, k, size = ICBU__FKIND(f) == ICBU__K_STRS ? sizeof(icbu_str) : ICBU__TYPE(ICBU__FSUB(f))->size;
    unsigned char *arr;
    icbu_status st;
    int c;
    if (r->depth >= ICBU_JSON_MAX_DEPTH) return icbu__jfail(r, ICBU_E_DEPTH);
    r->depth++;
    count = icbu__jcount(r);
    r->i++;
    /* past SIZE_MAX (2,000 goods where size_t is 16 bits): counted as SIZE_MAX,
     * so that err.need says so (it said 0) */
    arr = icbu__alloc(r, count > ((size_t)-1) / size ? (size_t)-1 : count * size);
    icbu__path_push(&r->path, NULL, 0, 0);
    for (k = 0; ; k++) {
        icbu__jws(r);
        if (k == 0 && icbu__jpeek(r) == ']') break;
        if (k >= count) return icbu__jfail(r, ICBU_E_JSON);
        if (r->path.depth <= ICBU__PATH_DEPTH) r->path.idx[r->path.depth - 1] = k;
        if (icbu__jpeek(r) == ']') return icbu__jfail(r, ICBU_E_JSON);           /* [x,] */
        if ((st = icbu__jelement(r, f, arr ? arr + k * size : NULL)) != ICBU_OK) return st;
        icbu__jws(r);
        c = icbu__jpeek(r);
        if (c == ']') break;
        if (c != ',') return icbu__jfail(r, ICBU_E_JSON);
        r->i++;
    }
    r->i++;
    r->path.depth--;
    r->depth--;
    if (p) { icbu_str_list *l = (icbu_str_list *)(void *)p; l->p = (const icbu_str *)(void *)arr; l->n = count; }
    return ICBU_OK;
}

/* One field's value, by its kind. p is where it goes (NULL: measuring only). */
static icbu_status icbu__jval(icbu__jr *r, const icbu__field *f, unsigned char *p) {
    int c = icbu__jpeek(r), isint;
    int64_t v = 0;
    icbu_status st;
    if (c == 'n' && icbu__jlit(r, "null", 4)) return ICBU_OK;        /* null: absent */
    switch (ICBU__FKIND(f)) {
    case ICBU__K_STR:
        if (c != '"') return icbu__jtype(r);
        return icbu__jstrval(r, (icbu_str *)(void *)p);
    case ICBU__K_NUM: {
        size_t at = r->i;
        if (c != '-' && !(c >= '0' && c <= '9')) return icbu__jtype(r);
        if ((st = icbu__jnum(r, &v, &isint)) != ICBU_OK) return st;
        if (!isint) { r->i = at; return icbu__jfail(r, ICBU_E_NUMBER); }
        /* field by field: assigned from icbu_n(v), it is a plain memcpy call at
         * -O0 on Cortex-M0+ (as every copy of an icbu_num there, see below) */
        if (p) { icbu_num *x = (icbu_num *)(void *)p; x->v = v; x->set = 1; }
        return ICBU_OK;
    }
    case ICBU__K_BOOL:
        if (icbu__jlit(r, "true", 4)) v = 1;
        else if (!icbu__jlit(r, "false", 5)) return icbu__jtype(r);
        if (p) *(icbu_bool *)(void *)p = icbu_b((int)v);
        return ICBU_OK;
    case ICBU__K_DATE: {
        char t[20];
        size_t at = r->i, len;
        icbu_date d;
        if (c != '"') return icbu__jtype(r);
        if ((st = icbu__jstr(r, t, sizeof t, &len)) != ICBU_OK) return st;
        if (icbu_date_parse(t, len, &d) != ICBU_OK) { r->i = at; return icbu__jfail(r, ICBU_E_DATE); }
        if (p) ICBU_MEMCPY(p, &d, sizeof d);     /* assigned: plain memcpy on M0+, RV32 */
        return ICBU_OK;
    }
    case ICBU__K_OBJ: {
        unsigned char *o;
        if (c != '{') return icbu__jtype(r);
        o = icbu__alloc(r, ICBU__TYPE(ICBU__FSUB(f))->size);
        if ((st = icbu__jobj(r, ICBU__FSUB(f), o)) != ICBU_OK) return st;
        if (p) *(const unsigned char **)(void *)p = o;
        return ICBU_OK;
    }
    default:                          /* OBJS, STRS */
        if (c != '[') return icbu__jtype(r);
        return icbu__jarray(r, f, p);
    }
}

/* An object of schema type ty into base (NULL: measuring only). */
static icbu_status icbu__jobj(icbu__jr *r, unsigned ty, unsigned char *base) {
    const icbu__type *t = ICBU__TYPE(ty);
    uint32_t seen = 0;
    icbu_status st;
    if (++r->depth > ICBU_JSON_MAX_DEPTH) return icbu__jfail(r, ICBU_E_DEPTH);
    r->i++;
    icbu__jws(r);
    if (icbu__jpeek(r) == '}') { r->i++; r->depth--; return ICBU_OK; }
    for (;;) {
        const icbu__field *f = NULL;
        size_t kl, at, j;
        int c;
        icbu__jws(r);
        if (icbu__jpeek(r) != '"') return icbu__jfail(r, ICBU_E_JSON);
        at = r->i;
        if ((st = icbu__jstr(r, r->key, sizeof r->key, &kl)) != ICBU_OK) return st;
        for (j = 0; j < t->n && kl <= sizeof r->key; j++)
            if (ICBU__FLEN(&t->f[j]) == kl && ICBU_MEMCMP(ICBU__FNAME(&t->f[j]), r->key, kl) == 0) { f = &t->f[j]; break; }
        icbu__jws(r);
        if (icbu__jpeek(r) != ':') return icbu__jfail(r, ICBU_E_JSON);
        r->i++;
        icbu__jws(r);
        if (!f || (seen >> j & 1)) {
            if (!f && !r->strict) {
                if ((st = icbu__jskip(r)) != ICBU_OK) return st;
            } else {
                icbu__path_push(&r->path, f ? ICBU__FNAME(f) : r->key, kl > sizeof r->key ? sizeof r->key : kl, ICBU__NOIDX);
                r->i = at;
                return icbu__jfail(r, f ? ICBU_E_DUPLICATE : ICBU_E_FIELD);
            }
        } else {
            seen |= (uint32_t)1 << j;
            icbu__path_push(&r->path, ICBU__FNAME(f), ICBU__FLEN(f), ICBU__NOIDX);
            if ((st = icbu__jval(r, f, base ? base + ICBU__FOFF(f) : NULL)) != ICBU_OK) return st;
            r->path.depth--;
        }
        icbu__jws(r);
        c = icbu__jpeek(r);
        if (c == '}') break;
        if (c != ',') return icbu__jfail(r, ICBU_E_JSON);
        r->i++;
    }
    r->i++;
    r->depth--;
    return ICBU_OK;
}

/* The whole text is one object of type ty, and nothing after it. *out is
 * where its struct is laid out (NULL when nowhere), set on every path: a
 * caller reads it only after ICBU_OK, which the compiler cannot tell from an
 * error's return (gcc's -Wmaybe-uninitialized once the caller inlines this). */
static icbu_status icbu__jroot(icbu__jr *r, unsigned ty, unsigned char **out) {
    icbu_status st;
    *out = NULL;
    icbu__jws(r);
    if (icbu__jpeek(r) != '{') return icbu__jtype(r);
    *out = icbu__alloc(r, ICBU__TYPE(ty)->size);
    if ((st = icbu__jobj(r, ty, *out)) != ICBU_OK) return st;
    icbu__jws(r);
    if (r->i < r->n) return icbu__jfail(r, ICBU_E_TRAILING);
    return ICBU_OK;
}

static void icbu__jinit(icbu__jr *r, const char *s, size_t n, icbu_err *e) {
    ICBU_MEMSET(r, 0, sizeof *r);
    r->s = s; r->n = n; r->e = e;
}
#endif /* reader */

#ifndef ICBU_REFLOW_NO_EXCHANGE
/* -------------------------------------------------------------- outcome */
ICBUDEF const char *icbu_stage_name(icbu_stage s) {
    static const char t[] = "none\0connect\0tls\0send\0receive\0http\0parse\0unknown";
    return icbu__nth(t, (unsigned)s, (unsigned)ICBU_STAGE_PARSE + 1u);
}

/* The most a method's answer takes when its result is flat (Strings, Numbers,
 * Booleans, Dates): each object at most once per parent. */
#define ICBU__ANSWER_MEM(id, name, param, req, key, env, res) \
    unsigned char id[sizeof(icbu_##id##_answer) + sizeof(icbu_##id##_envelope) + \
                     2 * sizeof(icbu_##res) + sizeof(icbu_error_response) + 5 * ICBU__ALIGN];
typedef union icbu__answer_mem { ICBU_ALL_METHODS(ICBU__ANSWER_MEM) int64_t i; void *p; } icbu__answer_mem;

/* A result of type insure_result (the order's): success decides ACCEPTED or
 * REFUSED, and its strings are copied into the outcome. */
static icbu_status icbu__insure_outcome(const unsigned char *res, icbu_outcome *out, icbu_err *e) {
    const icbu_insure_result *ir = (const icbu_insure_result *)(const void *)res;
    if (!ir->success.set) return icbu__fail(e, ICBU_E_RESPONSE);
    out->kind = ir->success.v ? ICBU_ACCEPTED : ICBU_REFUSED;
    out->insure_id = ir->insure_id;
    out->error_code = ir->error_code;
    out->error_msg = ir->error_msg;
    return ICBU_OK;
}

/* m's answer in body, parsed in place (its strings point into body), its
 * structs laid out in arena. PLATFORM_ERROR from error_response; else the
 * result (in the envelope, or at the root with simplify=true): ACCEPTED with
 * *result pointing at it, refined for an insure_result. The answer type's
 * fields are, in order: envelope, error_response, result, request_id.
 * check: nothing is unescaped (body stays as it came, out's strings are not
 * set): the whole answer is checked, its shape too, and the need counted. */
static icbu_status icbu__parse_answer(const icbu_method *m, char *body, size_t len, void *arena,
                                      size_t cap, int check, const void **result, icbu_outcome *out,
                                      icbu_err *e) {
    const icbu__field *f = ICBU__TYPE(m->answer)->f, *g = ICBU__TYPE(ICBU__FSUB(&f[0]))->f;
    icbu__jr r;
    unsigned char *root;
    const unsigned char *env, *res;
    const icbu_error_response *er;
    icbu_status st;
    ICBU_MEMSET(out, 0, sizeof *out);
    if (result) *result = NULL;
    icbu__jinit(&r, body, len, e);
    r.inplace = body;
    r.check = check;
    r.a = (unsigned char *)arena;
    r.cap = cap;
    if ((st = icbu__jroot(&r, m->answer, &root)) != ICBU_OK) return st;
    if (r.nospace) { e->need = r.used; return icbu__fail(e, ICBU_E_NOSPACE); }
    env = *(const unsigned char *const *)(const void *)(root + ICBU__FOFF(&f[0]));
    er = *(const icbu_error_response *const *)(const void *)(root + ICBU__FOFF(&f[1]));
    if (er) {
        out->kind = ICBU_PLATFORM_ERROR;
        /* through ICBU_MEMCPY: these members are 8-byte aligned on both sides,
         * and arm-none-eabi-gcc copies such a struct for Cortex-M0+ (Thumb-1:
         * inline only when 4-byte aligned) with a plain memcpy call, at every
         * level (as it did the reader's icbu_num and icbu_date above) */
        ICBU_MEMCPY(&out->code, &er->code, sizeof out->code);
        ICBU_MEMCPY(&out->msg, &er->msg, sizeof out->msg);
        ICBU_MEMCPY(&out->sub_code, &er->sub_code, sizeof out->sub_code);
        ICBU_MEMCPY(&out->sub_msg, &er->sub_msg, sizeof out->sub_msg);
        ICBU_MEMCPY(&out->request_id, &er->request_id, sizeof out->request_id);
        return ICBU_OK;
    }
    if (!env) {                                        /* simplify=true has no envelope */
        env = root;
        g = f + 2;
    }
    res = *(const unsigned char *const *)(const void *)(env + ICBU__FOFF(&g[0]));
    out->request_id = *(const icbu_str *)(const void *)(env + ICBU__FOFF(&g[1]));
    if (!res) return icbu__fail(e, ICBU_E_RESPONSE);
    if (result) *result = res;
    if (m->result == ICBU__TY_insure_result) return icbu__insure_outcome(res, out, e);
    out->kind = ICBU_ACCEPTED;
    return ICBU_OK;
}

ICBUDEF icbu_status icbu_parse_answer(const icbu_method *m, char *body, size_t len, void *arena,
                                      size_t cap, const void **result, icbu_outcome *out, icbu_err *e) {
    icbu_err local;
    icbu_status st;
    ICBU__ERR_INIT(e, local);
    if (!m || !out || (!body && len) || (!arena && cap)) return icbu__fail(e, ICBU_E_ARG);
    /* first a checking pass: nothing is written into body, and e->need is what
     * this arena needs; so that a body stays as it came when the arena is short
     * (a sizing call, or a second call with err.need bytes parses the same text)
     * or the answer is bad, its JSON or its shape (no result: ICBU_E_RESPONSE,
     * found only once the structs are laid out). Then in place, which cannot
     * fail where the check passed. */
    st = icbu__parse_answer(m, body, len, arena, cap, 1, result, out, e);
    if (st != ICBU_OK) {               /* its strings were not set: none is left half made */
        ICBU_MEMSET(out, 0, sizeof *out);
        if (result) *result = NULL;
        return st;
    }
    ICBU_MEMSET(e, 0, sizeof *e);
    return icbu__parse_answer(m, body, len, arena, cap, 0, result, out, e);
}

/* The order's answer: its structs fit in a small stack arena. */
static icbu_status icbu__parse_response(char *body, size_t len, icbu_outcome *out, icbu_err *e) {
    icbu__answer_mem mem;
    if (!out || (!body && len)) return icbu__fail(e, ICBU_E_ARG);
    return icbu__parse_answer(ICBU__ORDER_METHOD, body, len, &mem, sizeof mem, 0, NULL, out, e);
}

ICBUDEF icbu_status icbu_parse_response(char *body, size_t len, icbu_outcome *out, icbu_err *e) {
    icbu_err local;
    ICBU__ERR_INIT(e, local);
    return icbu__parse_response(body, len, out, e);
}

/* The stage of a failure once the request is sent (a timeout before that is "send"). */
static icbu_stage icbu__stage_of(icbu_status s) {
    switch (s) {
    case ICBU_E_RECV: case ICBU_E_TIMEOUT: case ICBU_E_HTTP_TRUNCATED: return ICBU_STAGE_RECEIVE;
    case ICBU_E_HTTP_SYNTAX: case ICBU_E_HTTP_FOLDED: case ICBU_E_HTTP_FRAMING: case ICBU_E_HTTP_SIZE:
    case ICBU_E_HTTP_TOOBIG: case ICBU_E_HTTP_STATUS: return ICBU_STAGE_HTTP;
    default: return ICBU_STAGE_PARSE;
    }
}

/* A transport failure as the outcome (the tries made so far are kept); returns st. */
static icbu_status icbu__outcome_fail(icbu_outcome *out, icbu_stage stage, icbu_status st, long detail) {
    unsigned attempts = out->attempts;
    ICBU_MEMSET(out, 0, sizeof *out);
    out->kind = ICBU_TRANSPORT_ERROR;
    out->stage = stage;
    out->status = st;
    out->detail = detail;
    out->attempts = attempts;
    return st;
}

/* One call of the four (icbu_exchange, icbu_report and their icbu_call_
 * twins), its arguments in one place: what it sends, where its result goes,
 * the way there, and (a report) its retries. */
typedef struct icbu__call {
    const icbu_method *m;
    const void *req;
    const void **result;          /* NULL: parse in the arena's reserve (a flat result) */
    const icbu_url *u;
    const icbu_transport *t;
    const icbu_retry *r;          /* icbu_report's (may be NULL) */
    uint32_t timeout_ms;          /* an exchange's: the call's, or what a report's try has left */
    char *arena;
    size_t cap;
    icbu_outcome *out;
    const icbu_date *when;        /* icbu_report's timestamp of this attempt; NULL: c's */
} icbu__call;

/* What an exchange keeps at its arena's end (the reserve, past the request
 * and the response): the signature's state while it signs, then a flat
 * answer's structs while it parses. So neither is on the stack under the
 * frames of the writer, the hash and the reader. */
typedef union icbu__reserve { icbu__signing s; icbu__answer_mem a; } icbu__reserve;
/* Its alignment: the structs' 8 bytes, or more when its type asks for it (a
 * custom hash context for an engine that wants 16 or 32). C99 has no alignof:
 * the offset after a char says it. Both are powers of two. */
typedef struct icbu__reserve_at { char c; icbu__reserve r; } icbu__reserve_at;
#define ICBU__RESERVE_ALIGN (offsetof(icbu__reserve_at, r) > ICBU__ALIGN ? offsetof(icbu__reserve_at, r) : ICBU__ALIGN)
#define ICBU__RESERVE (sizeof(icbu__reserve) + ICBU__RESERVE_ALIGN - 1)   /* with its alignment */

/* The reserve, aligned, at the end of the call's arena, or NULL when the
 * arena is smaller; *room: the bytes before it. */
static icbu__reserve *icbu__reserve_of(const icbu__call *k, size_t *room) {
    uintptr_t end;
    *room = 0;
    if (k->cap < ICBU__RESERVE) return NULL;
    end = ((uintptr_t)(k->arena + k->cap) - sizeof(icbu__reserve)) & ~(uintptr_t)(ICBU__RESERVE_ALIGN - 1);
    *room = (size_t)(end - (uintptr_t)k->arena);
    return (icbu__reserve *)end;
}

/* The call's request signed into its arena's first cap bytes, the state at
 * w (its reserve): a second copy of the signature's code (about 500 bytes, in
 * the images that exchange), so that neither way to sign pays for the other
 * with a frame more. */
ICBU__NOINLINE static icbu_status icbu__sign_in(icbu__signing *w, const icbu_config *c, const icbu__call *k,
                                               size_t cap, size_t *len, icbu_err *e) {
    return icbu__sign_with(w, c, k->when, k->m, k->req, k->arena, cap, len, e);
}

/* The answer in body, read into arena: parsed where the call says (a flat
 * answer in the reserve, a result after the answer: when its structs do not
 * fit, e->need counts the arena up to the answer's end as well). */
ICBU__NOINLINE static icbu_status icbu__parse_call(const icbu__call *k, icbu_str body, icbu__reserve *res,
                                                   icbu_err *e) {
    char *b = (char *)(uintptr_t)body.p;
    size_t end = (size_t)(b - k->arena) + body.n;
    icbu_status st;
    if (!k->result) return icbu__parse_answer(k->m, b, body.n, &res->a, sizeof res->a, 0, NULL, k->out, e);
    st = icbu__parse_answer(k->m, b, body.n, k->arena + end, k->cap - end, 0, k->result, k->out, e);
    if (st == ICBU_E_NOSPACE) icbu__need_sum(e, end, e->need);
    return st;
}

/* One exchange on a connected transport: the request (body, then head after
 * it) in the arena, sent; the answer read over it and parsed. *dead (when
 * dead is not NULL): the connection was gone before any byte of an answer
 * (the send failed, or the peer closed or reset it with nothing read). Not
 * dead: a transport that claims more bytes than it was given (its failure
 * stands; by its own word something came) or a timeout. */
static icbu_status icbu__exchange(const icbu_config *c, const icbu__call *k, icbu_err *e, int *dead) {
    const icbu_url *u = k->u;
    const icbu_transport *t = k->t;
    char *arena = k->arena;
    icbu_outcome *out = k->out;
    icbu__reserve *res;
    icbu__reply rp;
    size_t blen, hlen, cap;
    uint32_t deadline;
    icbu_status st;
    if (!out || !u || !t || !t->send || !t->recv || !arena || icbu__deadline(t, k->timeout_ms, &deadline))
        return icbu__fail(e, ICBU_E_ARG);
    ICBU_MEMSET(out, 0, sizeof *out);
    if ((st = icbu__url_check(u)) != ICBU_OK) return icbu__fail(e, st);   /* before the head's sizing */
    if ((res = icbu__reserve_of(k, &cap)) == NULL) {      /* not even the reserve: at least that */
        e->need = ICBU__RESERVE;
        return icbu__fail(e, ICBU_E_NOSPACE);
    }
    st = icbu__sign_in(&res->s, c, k, cap, &blen, e);
    if (st == ICBU_OK) st = icbu__http_head(u, blen, t->keep_alive, arena + blen, cap - blen, &hlen, e);
    if (st == ICBU_E_NOSPACE) {
        icbu__http_head(u, blen, t->keep_alive, NULL, 0, &hlen, e);
        /* saturated: blen is SIZE_MAX for a body past it (64 KB where size_t is 16 bits) */
        e->need = blen + hlen + ICBU__RESERVE;
        if (e->need < blen) e->need = (size_t)-1;
    }
    if (st != ICBU_OK) return st;
    if ((st = icbu__send_all(t, deadline, arena + blen, hlen, e)) != ICBU_OK ||
        (st = icbu__send_all(t, deadline, arena, blen, e)) != ICBU_OK) {
        if (dead) *dead = st == ICBU_E_SEND && e->detail <= 0;
        return icbu__outcome_fail(out, ICBU_STAGE_SEND, st, e->detail);
    }
    st = icbu__http_read(t, deadline, arena, cap, &rp, e);
    if (st == ICBU_E_HTTP_TOOBIG) icbu__toobig(e, e->need, ICBU__RESERVE);   /* the arena's need */
    if (dead) *dead = rp.got == 0 && (st == ICBU_E_HTTP_TRUNCATED || (st == ICBU_E_RECV && e->detail < 0));
    if (st == ICBU_OK) st = icbu__parse_call(k, rp.body, res, e);   /* clears out */
    out->reusable = t->keep_alive && rp.reusable;
    if (st != ICBU_OK) return icbu__outcome_fail(out, icbu__stage_of(st), st, e->detail);
    return ICBU_OK;
}

/* ---------------------------------------------------------------- retries */
ICBUDEF int icbu_retryable(const icbu_outcome *o) {
    if (!o) return 0;
    if (o->kind == ICBU_PLATFORM_ERROR) {
        const char *sc = o->sub_code.p;
        if (sc && o->sub_code.n >= 4 && ICBU_MEMCMP(sc, "isp.", 4) == 0) return 1;
        if (sc && o->sub_code.n >= 4 && ICBU_MEMCMP(sc, "isv.", 4) == 0) return 0;
        return o->code.set && (o->code.v == 7 || o->code.v == 8 || o->code.v == 10 || o->code.v == 15);
    }
    if (o->kind != ICBU_TRANSPORT_ERROR) return 0;
    switch (o->stage) {
    case ICBU_STAGE_CONNECT: case ICBU_STAGE_TLS:
        return !(o->status == ICBU_E_OPEN && o->detail <= ICBU_IO_NO_RETRY);
    case ICBU_STAGE_SEND: case ICBU_STAGE_RECEIVE:
        return 1;
    case ICBU_STAGE_HTTP:
        return o->status == ICBU_E_HTTP_STATUS &&
               (o->detail == 408 || o->detail == 429 || (o->detail >= 500 && o->detail <= 599));
    default:
        return 0;
    }
}

/* Is path a system parameter's name (an error in the settings, not the request)? */
static int icbu__is_sysparam(const char *path) {
    size_t i;
    for (i = 0; i < ICBU__NSYS; i++)
        if (icbu__cmp(path, icbu__sysname(i)) == 0) return 1;
    return 0;
}

ICBUDEF icbu_fault icbu_fault_of(const icbu_outcome *o, const icbu_err *e) {
    icbu_kind kind = o ? o->kind : ICBU_NONE;
    if (kind == ICBU_ACCEPTED) return ICBU_FAULT_NONE;
    if (kind == ICBU_REFUSED) return ICBU_FAULT_ORDER;
    if (kind == ICBU_PLATFORM_ERROR) {
        int64_t c = o->code.set ? o->code.v : -1;
        const char *sc = o->sub_code.p;
        if (sc && o->sub_code.n >= 4 && ICBU_MEMCMP(sc, "isp.", 4) == 0) return ICBU_FAULT_NETWORK;
        if (c == 9 || c == 11 || c == 12 || (c >= 21 && c <= 34)) return ICBU_FAULT_SETTINGS;
        if ((sc && o->sub_code.n >= 4 && ICBU_MEMCMP(sc, "isv.", 4) == 0) ||
            c == 40 || c == 41 || c == 43 || c == 47) return ICBU_FAULT_ORDER;
        return ICBU_FAULT_NETWORK;
    }
    if (kind == ICBU_TRANSPORT_ERROR) {
        if (o->status == ICBU_E_OPEN && o->detail <= ICBU_IO_NO_RETRY) return ICBU_FAULT_SETTINGS;
        if (o->status == ICBU_E_HTTP_STATUS && o->detail >= 400 && o->detail <= 499 &&
            o->detail != 408 && o->detail != 429) return ICBU_FAULT_SETTINGS;
        return ICBU_FAULT_NETWORK;
    }
    /* nothing was sent: the failure of signing, or of the arguments */
    if (!e || e->status == ICBU_OK) return ICBU_FAULT_NONE;
    if (e->status == ICBU_E_NO_BIZ_ID) return ICBU_FAULT_ORDER;
    if (e->path[0] && !icbu__is_sysparam(e->path)) return ICBU_FAULT_ORDER;
    return ICBU_FAULT_SETTINGS;
}

/* Before try k (k >= 1): a random pause of 0..min(cap, base * 2^(k-1)) ms
 * (full jitter), slept through r. Nonzero when the deadline leaves no room. */
static int icbu__backoff(const icbu_transport *t, const icbu_retry *r, uint32_t deadline, unsigned k) {
    uint32_t base = r->backoff_ms ? r->backoff_ms : 200, cap = r->backoff_max_ms ? r->backoff_max_ms : 5000;
    uint32_t span = base, sleep, left;
    unsigned j;
    for (j = 1; j < k && span < cap; j++) span = span > cap / 2 ? cap : span * 2;
    if (span > cap) span = cap;
    sleep = !r->random ? span : span == 0xFFFFFFFFu ? r->random(r->ctx) : r->random(r->ctx) % (span + 1);
    if (icbu__left(t, deadline, &left) != ICBU_OK || (t->now_ms && sleep >= left)) return 1;
    if (r->sleep_ms && sleep) r->sleep_ms(r->ctx, sleep);
    return 0;
}

/* One attempt: open the transport (or reuse the connection it kept),
 * exchange, and close unless the connection can be kept (out->reusable). A
 * reused connection found gone before any byte of an answer is closed and
 * opened afresh, and the request sent once more (counted in *reconnects, not
 * as an attempt, once the new connection is there to send it on); only a
 * request with its idempotency key is sent twice.
 * *over: the open took all the time there was. */
static icbu_status icbu__attempt(const icbu_config *c, icbu__call *k, uint32_t deadline,
                                 uint32_t left, icbu_err *e, unsigned *reconnects, int *over) {
    const icbu_transport *t = k->t;
    icbu_outcome *out = k->out;
    icbu_status st = ICBU_OK;
    int tries, again = 1;
    for (tries = 0; again && tries < 2; tries++) {
        icbu_stage stage = ICBU_STAGE_CONNECT;
        int dead = 0, rc;
        ICBU_MEMSET(e, 0, sizeof *e);
        rc = t->open(t->ctx, k->u, left, &stage);
        if (rc < 0) {
            e->detail = rc;
            return icbu__outcome_fail(out, stage == ICBU_STAGE_TLS ? ICBU_STAGE_TLS : ICBU_STAGE_CONNECT,
                                      icbu__fail(e, ICBU_E_OPEN), rc);
        }
        if (icbu__left(t, deadline, &left) != ICBU_OK) {            /* open took it all */
            t->close(t->ctx);
            *over = 1;
            return icbu__outcome_fail(out, ICBU_STAGE_SEND, icbu__fail(e, ICBU_E_TIMEOUT), 0);
        }
        k->timeout_ms = left;
        *reconnects += (unsigned)tries;                             /* reopened, and sent again */
        st = icbu__exchange(c, k, e, &dead);
        again = !tries && rc == 1 && dead && icbu_has_key(k->m, k->req);
        /* kept: a connection that can carry another request, or one nothing was sent on
         * (which can, too: out->reusable says it is open, as the manual has it) */
        out->reusable = !again && (out->reusable || (t->keep_alive && out->kind == ICBU_NONE));
        if (!out->reusable) t->close(t->ctx);
        if (again && icbu__left(t, deadline, &left) != ICBU_OK) break;   /* no time to reopen */
    }
    return st;
}

/* Tries until one succeeds, fails in a way another try cannot mend, or the
 * tries or the time run out: each opens the transport (or reuses its kept
 * connection), signs afresh, sends, and closes unless it keeps the connection. */
ICBU__NOINLINE static icbu_status icbu__report(const icbu_config *c, icbu__call *k, icbu_err *e) {
    const icbu_retry *r = k->r;
    const icbu_transport *t = k->t;
    icbu_outcome *out = k->out;
    icbu_date now;
    unsigned attempts = r && r->attempts > 1 ? r->attempts : 1, n, reconnects = 0;
    uint32_t deadline, left;
    icbu_status st = ICBU_OK;
    int over = 0;
    /* all that an exchange would refuse for itself too, checked before a connection is opened for it */
    if (!c || !out || !k->u || !t || !t->open || !t->close || !t->send || !t->recv || !k->arena ||
        icbu__deadline(t, k->timeout_ms, &deadline))
        return icbu__fail(e, ICBU_E_ARG);                 /* out is clean (icbu__call_ok) */
    if ((st = icbu__url_check(k->u)) != ICBU_OK) return icbu__fail(e, st);   /* nothing to open */
    if (attempts > 1 && !icbu_has_key(k->m, k->req)) return icbu__fail(e, ICBU_E_NO_BIZ_ID);
    for (n = 0; n < attempts && !over; n++) {
        if (n && icbu__backoff(t, r, deadline, n)) break;
        if (icbu__left(t, deadline, &left) != ICBU_OK) {
            if (!n) st = icbu__outcome_fail(out, ICBU_STAGE_CONNECT, icbu__fail(e, ICBU_E_TIMEOUT), 0);
            break;
        }
        if (r && r->unix_now) {   /* assigned from the call, the date is copied at -O0: memcpy on M0+ */
            icbu_date d = icbu_date_from_unix(r->unix_now(r->ctx));
            ICBU_MEMCPY(&now, &d, sizeof now);
            k->when = &now;                    /* signed with, in place of c's */
        }
        out->attempts = n + 1;
        st = icbu__attempt(c, k, deadline, left, e, &reconnects, &over);
        out->attempts = n + 1;
        out->reconnects = reconnects;
        if (st != ICBU_OK && out->kind != ICBU_TRANSPORT_ERROR) return st;   /* the request itself */
        if (!icbu_retryable(out)) break;
    }
    return st;
}

/* A call's start: a clean error, a clean outcome (kind NONE however the call
 * fails before sending, its arguments included), no result until one is
 * parsed (as icbu_parse_answer leaves it when it fails), a method and
 * result it can take (a result may be left out, NULL, for the order's method
 * alone, whose outcome says it all), and an arena that ends in memory: a cap
 * past its end ("no limit") would put the reserve, down from arena + cap,
 * round below the arena. */
static icbu_status icbu__call_ok(const icbu__call *k, icbu_err *e) {
    ICBU_MEMSET(e, 0, sizeof *e);
    if (k->out) ICBU_MEMSET(k->out, 0, sizeof *k->out);
    if (k->result) *k->result = NULL;
    if (!k->m || (!k->result && k->m != ICBU__ORDER_METHOD) || (uintptr_t)k->arena + k->cap < k->cap)
        return icbu__fail(e, ICBU_E_ARG);
    return ICBU_OK;
}
/* The two kinds of call, with an error to fill; and each without the
 * caller's, with a local one in a frame of its own (an exchange reads back
 * what it keeps there, where a signature keeps nothing): a call that passes
 * one does not carry 112 unused bytes under the deepest frames. Apart, so
 * that an exchange's stack is not a report's. */
static icbu_status icbu__run_exchange(const icbu_config *c, const icbu__call *k, icbu_err *e) {
    icbu_status st = icbu__call_ok(k, e);
    return st != ICBU_OK ? st : icbu__exchange(c, k, e, NULL);
}
static icbu_status icbu__run_report(const icbu_config *c, icbu__call *k, icbu_err *e) {
    icbu_status st = icbu__call_ok(k, e);
    return st != ICBU_OK ? st : icbu__report(c, k, e);
}
ICBU__NOINLINE static icbu_status icbu__local_exchange(const icbu_config *c, const icbu__call *k) {
    icbu_err local;
    return icbu__run_exchange(c, k, &local);
}
ICBU__NOINLINE static icbu_status icbu__local_report(const icbu_config *c, icbu__call *k) {
    icbu_err local;
    return icbu__run_report(c, k, &local);
}

/* Each of the four puts its arguments in its call k and runs it as its kind
 * (exchange or report): with the caller's error, or with one of its own. */
#define ICBU__RUN(k, kind) ((k).u = u, (k).t = t, (k).timeout_ms = timeout_ms, (k).arena = arena, \
                            (k).cap = cap, (k).out = out, (k).when = NULL, \
                            e ? icbu__run_##kind(c, &(k), e) : icbu__local_##kind(c, &(k)))

ICBUDEF icbu_status icbu_exchange(const icbu_config *c, const icbu_order *o, const icbu_url *u,
                                  const icbu_transport *t, uint32_t timeout_ms, char *arena,
                                  size_t cap, icbu_outcome *out, icbu_err *e) {
    icbu__call k;
    k.m = ICBU__ORDER_METHOD; k.req = o; k.result = NULL; k.r = NULL;
    return ICBU__RUN(k, exchange);
}

ICBUDEF icbu_status icbu_call_exchange(const icbu_config *c, const icbu_method *m, const void *req,
                                       const void **result, const icbu_url *u,
                                       const icbu_transport *t, uint32_t timeout_ms, char *arena,
                                       size_t cap, icbu_outcome *out, icbu_err *e) {
    icbu__call k;
    k.m = m; k.req = req; k.result = result; k.r = NULL;
    return ICBU__RUN(k, exchange);
}

ICBUDEF icbu_status icbu_report(const icbu_config *c, const icbu_order *o, const icbu_url *u,
                                const icbu_transport *t, const icbu_retry *r, uint32_t timeout_ms,
                                char *arena, size_t cap, icbu_outcome *out, icbu_err *e) {
    icbu__call k;
    k.m = ICBU__ORDER_METHOD; k.req = o; k.result = NULL; k.r = r;
    return ICBU__RUN(k, report);
}

ICBUDEF icbu_status icbu_call_report(const icbu_config *c, const icbu_method *m, const void *req,
                                     const void **result, const icbu_url *u,
                                     const icbu_transport *t, const icbu_retry *r,
                                     uint32_t timeout_ms, char *arena, size_t cap,
                                     icbu_outcome *out, icbu_err *e) {
    icbu__call k;
    k.m = m; k.req = req; k.result = result; k.r = r;
    return ICBU__RUN(k, report);
}
#undef ICBU__RUN
#endif /* ICBU_REFLOW_NO_EXCHANGE */

#ifndef ICBU_REFLOW_NO_DECODER
/* --------------------------------------------------------- request decoder */
ICBUDEF icbu_status icbu_decode_request(const icbu_method *m, const char *json, size_t len,
                                        void *arena, size_t cap, const void **out, size_t *used,
                                        icbu_err *e) {
    icbu_err local;
    icbu__jr r;
    unsigned char *o;
    icbu_status st;
    ICBU__ERR_INIT(e, local);
    if (out) *out = NULL;
    if (used) *used = 0;
    if (!m || !out || (!json && len) || (!arena && cap)) return icbu__fail(e, ICBU_E_ARG);
    icbu__jinit(&r, json, len, e);
    r.a = (unsigned char *)arena;
    r.cap = cap;
    r.strict = 1;
    st = icbu__jroot(&r, m->request, &o);
    if (used) *used = r.used;
    if (st != ICBU_OK) return st;
    /* a need of SIZE_MAX (saturated: 64 KB where size_t is 16 bits) fits no
     * arena: a sizing call fails too */
    if ((r.nospace && arena) || r.used == (size_t)-1) { e->need = r.used; return icbu__fail(e, ICBU_E_NOSPACE); }
    *out = o;
    return ICBU_OK;
}

ICBUDEF icbu_status icbu_decode_order(const char *json, size_t len, void *arena, size_t cap,
                                      const icbu_order **out, size_t *used, icbu_err *e) {
    const void *p = NULL;
    icbu_status st = icbu_decode_request(ICBU__ORDER_METHOD, json, len, arena, cap, out ? &p : NULL,
                                         used, e);
    if (out) *out = (const icbu_order *)p;
    return st;
}
#endif

#ifdef __cplusplus
}
#endif
#endif /* ICBU_REFLOW_IMPLEMENTATION */

/*
 * LICENCE (MIT)
 * Copyright (c) 2026 the icbu_reflow authors
 * Permission is hereby granted, free of charge, to any person obtaining a copy
 * of this software and associated documentation files (the "Software"), to deal
 * in the Software without restriction, including without limitation the rights
 * to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 * copies of the Software, and to permit persons to whom the Software is
 * furnished to do so, subject to the following conditions: the above copyright
 * notice and this permission notice shall be included in all copies or
 * substantial portions of the Software. THE SOFTWARE IS PROVIDED "AS IS",
 * WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.
 */
