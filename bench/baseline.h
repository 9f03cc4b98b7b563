/* bench/baseline.h - the same job written the way an application usually
 * would: cJSON builds the order JSON, qsort sorts the parameters, mbedTLS's md
 * API signs, and curl_easy_escape (or a hand-written encoder with TOP's form
 * rule) percent-encodes.
 * Everything on the heap. See baseline.c. */
#ifndef BENCH_BASELINE_H
#define BENCH_BASELINE_H
#include <stddef.h>
#include "icbu_reflow.h"

/* The order as cJSON_PrintUnformatted writes it (free() the result). */
char *baseline_order_json(const icbu_order *o);

/* Once, before the first baseline_sign_body: libcurl's global setup, with
 * these allocation functions if h is not NULL. 0 on success. */
typedef struct baseline_heap {
    void *(*malloc_fn)(size_t);
    void (*free_fn)(void *);
    void *(*realloc_fn)(void *, size_t);
    char *(*strdup_fn)(const char *);
    void *(*calloc_fn)(size_t, size_t);
} baseline_heap;
int baseline_init(const baseline_heap *h);

/* The whole signed form body, NUL-terminated (free() it); NULL on failure.
 * enc: how values are percent-encoded (see baseline.c). */
enum { BASELINE_CURL = 0, BASELINE_HAND = 1 };
char *baseline_sign_body(const icbu_order *o, const char *app_key, const char *secret,
                         const char *sign_method, const char *timestamp, int enc, size_t *len);

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
