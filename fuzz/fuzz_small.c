/* The library once more, as a small build (ICBU_REFLOW_SMALL: 64-byte stage,
 * general paths only) with every function static, for fuzz_roundtrip to
 * compare with the fast build that fuzz_common.h compiles. The hash hooks
 * are fuzz_common.h's. */
#define ICBU_REFLOW_SMALL
#define ICBU_REFLOW_STATIC
#define ICBU_REFLOW_CRYPTO_CUSTOM
#define ICBU_REFLOW_IMPLEMENTATION
#include "icbu_reflow.h"

icbu_status fuzz_small_sign_body(const icbu_config *c, const icbu_order *o, char *buf, size_t cap,
                                 size_t *len, icbu_err *e);
icbu_status fuzz_small_sign_body(const icbu_config *c, const icbu_order *o, char *buf, size_t cap,
                                 size_t *len, icbu_err *e) {
    return icbu_sign_body(c, o, buf, cap, len, e);
}
