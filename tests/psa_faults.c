/* The PSA back end when PSA fails: every psa_hash_* call a signature makes
 * fails in turn (link-time wrappers, -Wl,--wrap=psa_hash_setup,...), and
 * each time the call must return ICBU_E_CRYPTO with that psa_status_t in
 * err.detail, write no signature, and leave no hash operation active (every
 * setup is followed by a finish that succeeded or by an abort).
 * Built with ICBU_REFLOW_CRYPTO_PSA against any mbedTLS with PSA (2.28, 3.6,
 * 4.x). Last line of output: cmocka's summary. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#define ICBU_REFLOW_CRYPTO_PSA
#define ICBU_REFLOW_IMPLEMENTATION
#include "icbu_reflow.h"
#include "example_order.h"

psa_status_t __real_psa_hash_setup(psa_hash_operation_t *op, psa_algorithm_t alg);
psa_status_t __real_psa_hash_update(psa_hash_operation_t *op, const uint8_t *p, size_t n);
psa_status_t __real_psa_hash_finish(psa_hash_operation_t *op, uint8_t *h, size_t cap, size_t *n);
psa_status_t __real_psa_hash_abort(psa_hash_operation_t *op);
psa_status_t __wrap_psa_hash_setup(psa_hash_operation_t *op, psa_algorithm_t alg);
psa_status_t __wrap_psa_hash_update(psa_hash_operation_t *op, const uint8_t *p, size_t n);
psa_status_t __wrap_psa_hash_finish(psa_hash_operation_t *op, uint8_t *h, size_t cap, size_t *n);
psa_status_t __wrap_psa_hash_abort(psa_hash_operation_t *op);

/* The fault plan, and what the library did with its operations. */
static struct {
    unsigned calls;               /* setup/update/finish calls so far */
    unsigned fail_at;             /* the call that fails (1-based; 0: none) */
    psa_status_t fail_with;
    const void *active[8];        /* operations set up and not yet finished or aborted */
    unsigned nactive;
} fx;

static void op_on(const void *op) {
    unsigned i;
    for (i = 0; i < fx.nactive; i++) if (fx.active[i] == op) return;
    assert_true(fx.nactive < 8);
    fx.active[fx.nactive++] = op;
}
static void op_off(const void *op) {
    unsigned i;
    for (i = 0; i < fx.nactive; i++)
        if (fx.active[i] == op) { fx.active[i] = fx.active[--fx.nactive]; return; }
}
static int fails_now(void) { return ++fx.calls == fx.fail_at; }

psa_status_t __wrap_psa_hash_setup(psa_hash_operation_t *op, psa_algorithm_t alg) {
    op_on(op);                    /* after setup, success or not, it needs a finish or an abort */
    return fails_now() ? fx.fail_with : __real_psa_hash_setup(op, alg);
}
psa_status_t __wrap_psa_hash_update(psa_hash_operation_t *op, const uint8_t *p, size_t n) {
    return fails_now() ? fx.fail_with : __real_psa_hash_update(op, p, n);
}
psa_status_t __wrap_psa_hash_finish(psa_hash_operation_t *op, uint8_t *h, size_t cap, size_t *n) {
    psa_status_t s = fails_now() ? fx.fail_with : __real_psa_hash_finish(op, h, cap, n);
    if (s == PSA_SUCCESS) op_off(op);
    return s;
}
psa_status_t __wrap_psa_hash_abort(psa_hash_operation_t *op) {
    op_off(op);
    return __real_psa_hash_abort(op);
}

static void plan(unsigned fail_at, psa_status_t with) {
    memset(&fx, 0, sizeof fx);
    fx.fail_at = fail_at;
    fx.fail_with = with;
}

/* Status codes to inject, in turn: the hardware, the state (psa_crypto_init
 * not called, on an implementation that needs it), an algorithm not built in. */
static const psa_status_t codes[] = { PSA_ERROR_HARDWARE_FAILURE, PSA_ERROR_BAD_STATE,
                                      PSA_ERROR_NOT_SUPPORTED };
static const char long_secret[] = "a secret longer than the 64-byte HMAC block, so that the key "
                                  "is hashed first: that is two more operations";

/* icbu_sign_body, failing at every call in turn. */
static void body_faults(icbu_sign_method m, const char *secret) {
    example_order x;
    icbu_config c;
    static char buf[8192];
    size_t n = 0, k, total;
    icbu_err e;
    example_order_build(&x);
    memset(&c, 0, sizeof c);
    c.app_key = "12345678";
    c.app_secret = secret;
    c.sign_method = m;
    c.timestamp = icbu_d(2026, 11, 28, 12, 0, 0);
    plan(0, 0);
    assert_int_equal(icbu_sign_body(&c, &x.o, NULL, 0, &n, &e), ICBU_OK);
    assert_int_equal(fx.calls, 0);                     /* a sizing call never hashes */
    assert_int_equal(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e), ICBU_OK);
    total = fx.calls;
    assert_true(total >= 4);
    assert_int_equal(fx.nactive, 0);
    for (k = 1; k <= total; k++) {
        psa_status_t code = codes[k % 3];
        plan((unsigned)k, code);
        n = 12345;
        assert_int_equal(icbu_sign_body(&c, &x.o, buf, sizeof buf, &n, &e), ICBU_E_CRYPTO);
        assert_int_equal(e.status, ICBU_E_CRYPTO);
        assert_int_equal(e.detail, (long)code);
        assert_int_equal(n, 0);                        /* no body is claimed */
        assert_int_equal(fx.nactive, 0);               /* nothing left set up */
        assert_true(fx.calls >= k);
    }
}

/* icbu_sign_params, the same. */
static void params_faults(icbu_sign_method m, const char *secret) {
    icbu_param p[2];
    char hex[65];
    size_t k, total;
    icbu_err e;
    p[0].name = "method"; p[0].value = icbu_s("x.y");
    p[1].name = "v"; p[1].value = icbu_s("2.0");
    plan(0, 0);
    assert_int_equal(icbu_sign_params(secret, m, p, 2, hex, &e), ICBU_OK);
    assert_int_equal(strlen(hex), m == ICBU_SIGN_HMAC_SHA256 ? 64u : 32u);
    total = fx.calls;
    for (k = 1; k <= total; k++) {
        psa_status_t code = codes[(k + 1) % 3];
        plan((unsigned)k, code);
        memset(hex, 'X', sizeof hex);
        assert_int_equal(icbu_sign_params(secret, m, p, 2, hex, &e), ICBU_E_CRYPTO);
        assert_int_equal(e.detail, (long)code);
        assert_string_equal(hex, "");                  /* no digest of a failed back end */
        assert_int_equal(fx.nactive, 0);
    }
}

static void test_sign_body_faults(void **state) {
    (void)state;
    body_faults(ICBU_SIGN_MD5, "helloworld");
    body_faults(ICBU_SIGN_HMAC, "helloworld");
    body_faults(ICBU_SIGN_HMAC_SHA256, "helloworld");
    body_faults(ICBU_SIGN_HMAC, long_secret);
    body_faults(ICBU_SIGN_HMAC_SHA256, long_secret);
}

static void test_sign_params_faults(void **state) {
    (void)state;
    params_faults(ICBU_SIGN_MD5, "helloworld");
    params_faults(ICBU_SIGN_HMAC, "helloworld");
    params_faults(ICBU_SIGN_HMAC_SHA256, long_secret);
}

/* With no fault, the wrappers see exactly the calls the design promises:
 * one setup and one finish per hash, and the finish's abort after each. */
static void test_call_counts(void **state) {
    char hex[65];
    icbu_param p;
    (void)state;
    p.name = "k"; p.value = icbu_s("v");
    plan(0, 0);
    assert_int_equal(icbu_sign_params("s", ICBU_SIGN_MD5, &p, 1, hex, NULL), ICBU_OK);
    assert_string_equal(hex, "652A4F88C1FC308B5216E96B1626C1D7");   /* Python: md5(b"skvs") */
    assert_int_equal(fx.calls, 1 + 4 + 1);             /* setup, secret k v secret, finish */
    plan(0, 0);
    assert_int_equal(icbu_sign_params("s", ICBU_SIGN_HMAC, &p, 1, hex, NULL), ICBU_OK);
    assert_int_equal(fx.calls, (1 + 3 + 1) + (1 + 2 + 1));   /* inner: pad k v; outer: pad digest */
    assert_string_equal(hex, "010440C994ABF68347E67BC9FBD5E129");   /* Python: hmac md5, b"s", b"kv" */
    assert_int_equal(fx.nactive, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_counts),
        cmocka_unit_test(test_sign_body_faults),
        cmocka_unit_test(test_sign_params_faults),
    };
    if (psa_crypto_init() != PSA_SUCCESS) return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
