/* The gateway's canned answers for the full-client firmware images
 * (tests/firmware/fw_main.c over the in-memory transport of fw_transport.c),
 * and what the library must make of each, field for field. One answer per
 * connection; fw_transport.c frames each as its framing says, so that the
 * HTTP reader meets a Content-Length, a chunked body and a body that ends
 * with the connection. Bodies in the gateway's own form (docs/protocol.md:
 * the method's wrapper, or error_response), with \u escapes where the
 * gateway writes them. */
#ifndef FW_ANSWERS_H
#define FW_ANSWERS_H
#include <stdint.h>
#include "icbu_reflow.h"
#include "fw_transport.h"

#define FW_URL     "https://gw.api.taobao.com/router/rest"
#define FW_WRAPPER "alibaba_finance_insurance_icbu_insure_order_callback_response"
/* What the retry callbacks answer (icbu_report, fw_link_retry): unix_now is the
 * seconds of example_config's timestamp, 2026-11-28 12:00:00 GMT+8, so every
 * attempt signs the body icbu_sign_body signs. */
#define FW_UNIX_NOW INT64_C(1795838400)
#define FW_RANDOM   0x9e3779b9u

/* What icbu_exchange or icbu_report must return: NULL is an absent string. */
typedef struct fw_expect {
    icbu_status status;
    icbu_kind kind;
    const char *insure_id, *error_code, *error_msg;
    int code_set;
    int64_t code;
    const char *msg, *sub_code, *sub_msg, *request_id;
    unsigned attempts;          /* icbu_report only */
} fw_expect;

/* icbu_exchange: accepted, with a Content-Length. */
static const fw_answer fw_accepted = {
    "HTTP/1.1 200 OK", "Content-Type: application/json;charset=UTF-8\r\nServer: Tengine\r\n",
    "{\"" FW_WRAPPER "\":{\"result\":{\"success\":true,\"insure_id\":\"INS2026112800017\"},"
    "\"request_id\":\"15rd2mz4vu8tk\"}}", FW_LENGTH };
static const fw_expect fw_accepted_expect = {
    ICBU_OK, ICBU_ACCEPTED, "INS2026112800017", NULL, NULL, 0, 0, NULL, NULL, NULL, "15rd2mz4vu8tk", 0 };

/* icbu_exchange: refused by the insurer, chunked, its message in \u escapes
 * (订单重复, "duplicate order"). */
static const fw_answer fw_refused = {
    "HTTP/1.1 200 OK", "Content-Type: application/json;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n",
    "{\"" FW_WRAPPER "\":{\"result\":{\"success\":false,\"error_code\":\"ORDER_DUPLICATED\","
    "\"error_msg\":\"\\u8ba2\\u5355\\u91cd\\u590d\"},\"request_id\":\"3x7dq0ajw2lw\"}}", FW_CHUNKED };
static const fw_expect fw_refused_expect = {
    ICBU_OK, ICBU_REFUSED, NULL, "ORDER_DUPLICATED", "\xe8\xae\xa2\xe5\x8d\x95\xe9\x87\x8d\xe5\xa4\x8d",
    0, 0, NULL, NULL, NULL, "3x7dq0ajw2lw", 0 };

/* icbu_exchange: the platform's error, the body ending with the connection. */
static const fw_answer fw_platform = {
    "HTTP/1.1 200 OK", "Content-Type: application/json;charset=UTF-8\r\nConnection: close\r\n",
    "{\"error_response\":{\"code\":25,\"msg\":\"Invalid signature\",\"sub_code\":\"isv.invalid-signature\","
    "\"sub_msg\":\"\\u7b7e\\u540d\\u65e0\\u6548\",\"request_id\":\"1c0x9n3kfy2q8\"}}", FW_CLOSE };
static const fw_expect fw_platform_expect = {
    ICBU_OK, ICBU_PLATFORM_ERROR, NULL, NULL, NULL, 1, 25, "Invalid signature", "isv.invalid-signature",
    "\xe7\xad\xbe\xe5\x90\x8d\xe6\x97\xa0\xe6\x95\x88", "1c0x9n3kfy2q8", 0 };

/* icbu_report: the gateway busy on the first attempt (a status another try
 * can mend), then accepted, chunked. */
static const fw_answer fw_busy = {
    "HTTP/1.1 503 Service Unavailable", "Content-Type: text/plain\r\nRetry-After: 1\r\n", "busy", FW_LENGTH };
static const fw_answer fw_accepted_chunked = {
    "HTTP/1.1 200 OK", "Content-Type: application/json;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n",
    "{\"" FW_WRAPPER "\":{\"result\":{\"success\":true,\"insure_id\":\"INS2026112800018\"},"
    "\"request_id\":\"0wq8xv1z7m3c\"}}", FW_CHUNKED };
static const fw_expect fw_retried_expect = {
    ICBU_OK, ICBU_ACCEPTED, "INS2026112800018", NULL, NULL, 0, 0, NULL, NULL, NULL, "0wq8xv1z7m3c", 2 };

#endif
