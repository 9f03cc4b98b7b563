/* icbu_parse_response on a writable, exact-size heap copy of the input.
 * Checks: the status is the one in the icbu_err; on success the kind is one
 * of the three answers and every string points inside the body; on a JSON
 * error the offset is inside the input; the path is NUL-terminated. Then
 * icbu_parse_answer on another copy: the same status and kind, and when it
 * fails the copy is byte for byte the input (its promise: parse it again). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *body = fuzz_dup(data, size);
    icbu_outcome out;
    icbu_err e;
    icbu_status st = icbu_parse_response(body, size, &out, &e);
    FUZZ_CHECK(st == e.status);
    FUZZ_CHECK(memchr(e.path, 0, sizeof e.path) != NULL);
    if (st == ICBU_OK) {
        FUZZ_CHECK(out.kind == ICBU_ACCEPTED || out.kind == ICBU_REFUSED || out.kind == ICBU_PLATFORM_ERROR);
        fuzz_inside(out.insure_id, body, size);
        fuzz_inside(out.error_code, body, size);
        fuzz_inside(out.error_msg, body, size);
        fuzz_inside(out.msg, body, size);
        fuzz_inside(out.sub_code, body, size);
        fuzz_inside(out.sub_msg, body, size);
        fuzz_inside(out.request_id, body, size);
    } else {
        FUZZ_CHECK(out.kind == ICBU_NONE);
        if (st == ICBU_E_JSON || st == ICBU_E_DEPTH || st == ICBU_E_TRAILING) FUZZ_CHECK(e.offset <= size);
    }
    {
        static union { unsigned char b[1024]; int64_t i; void *p; } arena;
        char *again = fuzz_dup(data, size);
        const void *res = NULL;
        icbu_outcome o2;
        icbu_err e2;
        icbu_status st2 = icbu_parse_answer(icbu_method_get(ICBU_METHOD_order_callback), again, size,
                                            arena.b, sizeof arena.b, &res, &o2, &e2);
        FUZZ_CHECK(st2 == e2.status);
        FUZZ_CHECK(st2 == st);
        FUZZ_CHECK(o2.kind == out.kind);
        if (st2 != ICBU_OK) FUZZ_CHECK(!size || memcmp(again, data, size) == 0);
        free(again);
    }
    free(body);
    return 0;
}
