/* bench/baseline.h - the same job written the way an application usually
 * would: cJSON builds the order JSON, a hand-written percent-encoder (TOP's
 * form rule), qsort for the parameters, mbedTLS's md API for the signature.
 * Everything on the heap. See baseline.c. */
#ifndef BENCH_BASELINE_H
#define BENCH_BASELINE_H
#include <stddef.h>
#include "icbu_reflow.h"

/* The order as cJSON_PrintUnformatted writes it (free() the result). */
char *baseline_order_json(const icbu_order *o);

/* The whole signed form body, NUL-terminated (free() it); NULL on failure. */
char *baseline_sign_body(const icbu_order *o, const char *app_key, const char *secret,
                         const char *sign_method, const char *timestamp, size_t *len);

/* A gateway answer read with cJSON_Parse and lookups of the same fields as
 * icbu_parse_response. The strings point into the cJSON tree: valid until
 * baseline_parse_free(handle). kind: 1 accepted, 2 refused, 3 platform error,
 * 0 not a TOP answer. */
typedef struct baseline_outcome {
    int kind;
    const char *insure_id, *error_code, *error_msg;
    long long code;
    const char *msg, *sub_code, *sub_msg, *request_id;
} baseline_outcome;
void *baseline_parse_response(const char *body, size_t len, baseline_outcome *out);
void baseline_parse_free(void *handle);

#endif
