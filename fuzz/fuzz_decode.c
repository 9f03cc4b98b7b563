/* icbu_decode_order: a sizing call first, then the exact arena, then
 * arenas one byte and half too small.
 * Checks: the sizing call and the real call agree (status, offset, path, and
 * the size used); an arena of need - 1 bytes (exact-size heap block, so ASan
 * sees a write past it) gives ICBU_E_NOSPACE with e.need == need; a failing
 * input fails the same way whatever the arena. */
#include "fuzz_common.h"

static void *arena_of(size_t n) {
    void *p = malloc(n ? n : 1);       /* malloc is 8-aligned, as the API asks */
    FUZZ_CHECK(p != NULL);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *json = fuzz_dup(data, size);
    const icbu_order *o = NULL;
    icbu_err e0, e1, e2;
    size_t need = 0, used = 0;
    icbu_status s0, s1, s2;
    void *a;

    s0 = icbu_decode_order(json, size, NULL, 0, &o, &need, &e0);
    FUZZ_CHECK(s0 == e0.status);
    if (s0 != ICBU_OK) {
        /* the same failure with room to spare */
        a = arena_of(65536);
        s1 = icbu_decode_order(json, size, a, 65536, &o, &used, &e1);
        FUZZ_CHECK(s1 == s0 && e1.offset == e0.offset && strcmp(e1.path, e0.path) == 0);
        FUZZ_CHECK(o == NULL);
        free(a);
        free(json);
        return 0;
    }
    FUZZ_CHECK(need > 0);
    a = arena_of(need);
    s1 = icbu_decode_order(json, size, a, need, &o, &used, &e1);
    FUZZ_CHECK(s1 == ICBU_OK && e1.status == ICBU_OK);
    FUZZ_CHECK(used == need);
    FUZZ_CHECK(o != NULL && (const char *)o >= (const char *)a && (const char *)o < (const char *)a + need);
    free(a);

    a = arena_of(need - 1);
    s2 = icbu_decode_order(json, size, a, need - 1, &o, &used, &e2);
    FUZZ_CHECK(s2 == ICBU_E_NOSPACE && e2.status == ICBU_E_NOSPACE);
    FUZZ_CHECK(e2.need == need);
    FUZZ_CHECK(o == NULL);
    free(a);

    a = arena_of(need / 2);
    s2 = icbu_decode_order(json, size, a, need / 2, &o, &used, &e2);
    FUZZ_CHECK(s2 == ICBU_E_NOSPACE && e2.need == need);
    free(a);
    free(json);
    return 0;
}
