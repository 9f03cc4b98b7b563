/* tests/consumer/main.c - a program that uses icbu_reflow the way a project that
 * brings it in through its build system does: it includes "icbu_reflow.h", defines
 * nothing, and links whatever the build system gives (tests/build_systems.py builds it
 * through add_subdirectory, FetchContent, find_package, pkg-config and a plain cc line).
 *
 *   consumer md5|hmac|hmac-sha256     prints the API document's example order, signed
 *                                     with the secret in ICBU_REFLOW_APP_SECRET at
 *                                     2026-11-28 12:00:00, as one line */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "icbu_reflow.h"
#include "example_order.h"
#ifdef ICBU_REFLOW_CRYPTO_PSA        /* the build system's definition, not ours */
#include <psa/crypto.h>
#endif

int main(int argc, char **argv) {
    static char body[8192];
    example_order x;
    icbu_config c;
    icbu_err e;
    size_t n;
    memset(&c, 0, sizeof c);
    if (argc != 2 || !getenv("ICBU_REFLOW_APP_SECRET")) {
        fputs("usage: ICBU_REFLOW_APP_SECRET=... consumer md5|hmac|hmac-sha256\n", stderr);
        return 64;
    }
    c.sign_method = strcmp(argv[1], "md5") == 0 ? ICBU_SIGN_MD5 :
                    strcmp(argv[1], "hmac") == 0 ? ICBU_SIGN_HMAC : ICBU_SIGN_HMAC_SHA256;
    c.app_key = "12345678";
    c.app_secret = getenv("ICBU_REFLOW_APP_SECRET");
    c.timestamp = icbu_d(2026, 11, 28, 12, 0, 0);
    example_order_build(&x);
#ifdef ICBU_REFLOW_CRYPTO_PSA
    if (psa_crypto_init() != PSA_SUCCESS) return 1;   /* PSA: the application's, once */
#endif
    if (icbu_sign_body(&c, &x.o, body, sizeof body, &n, &e) != ICBU_OK) {
        fprintf(stderr, "consumer: %s %s\n", icbu_strerror(e.status), e.path);
        return 1;
    }
    printf("%.*s\n", (int)n, body);
    return 0;
}
