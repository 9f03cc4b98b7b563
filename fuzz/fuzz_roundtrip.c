/* decode -> icbu_order_json -> decode -> icbu_order_json.
 * Checks: whenever the input decodes, the first encode succeeds (sizing
 * call, then the exact buffer), its output decodes again, and the second
 * encode is byte for byte the first. Buffers are exact-size heap blocks. */
#include "fuzz_common.h"

static const icbu_order *decode(const char *json, size_t n, void **arena) {
    const icbu_order *o = NULL;
    size_t need = 0;
    icbu_err e;
    if (icbu_decode_order(json, n, NULL, 0, &o, &need, &e) != ICBU_OK) return NULL;
    *arena = malloc(need);
    FUZZ_CHECK(*arena != NULL);
    FUZZ_CHECK(icbu_decode_order(json, n, *arena, need, &o, &need, &e) == ICBU_OK);
    return o;
}

static char *encode(const icbu_order *o, size_t *len) {
    icbu_err e;
    size_t need = 0, got = 0;
    char *buf;
    icbu_status st = icbu_order_json(o, NULL, 0, &need, &e);
    if (st != ICBU_OK) fprintf(stderr, "encode: %s at %s\n", icbu_strerror(st), e.path);
    FUZZ_CHECK(st == ICBU_OK);
    buf = (char *)malloc(need ? need : 1);
    FUZZ_CHECK(buf != NULL);
    st = icbu_order_json(o, buf, need, &got, &e);
    FUZZ_CHECK(st == ICBU_OK && got == need);
    if (need) {                               /* one byte short: NOSPACE, same need */
        st = icbu_order_json(o, buf, need - 1, &got, &e);
        FUZZ_CHECK(st == ICBU_E_NOSPACE && e.need == need);
        st = icbu_order_json(o, buf, need, &got, &e);
        FUZZ_CHECK(st == ICBU_OK && got == need);
    }
    *len = need;
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *json = fuzz_dup(data, size), *j1, *j2;
    void *a1 = NULL, *a2 = NULL;
    const icbu_order *o1, *o2;
    size_t n1, n2;
    o1 = decode(json, size, &a1);
    if (!o1) { free(json); return 0; }
    j1 = encode(o1, &n1);
    o2 = decode(j1, n1, &a2);
    if (!o2) fprintf(stderr, "re-decode failed on: %.*s\n", (int)n1, j1);
    FUZZ_CHECK(o2 != NULL);
    j2 = encode(o2, &n2);
    if (n1 != n2 || memcmp(j1, j2, n1) != 0)
        fprintf(stderr, "first:  %.*s\nsecond: %.*s\n", (int)n1, j1, (int)n2, j2);
    FUZZ_CHECK(n1 == n2 && memcmp(j1, j2, n1) == 0);
    free(j1); free(j2); free(a1); free(a2); free(json);
    return 0;
}
