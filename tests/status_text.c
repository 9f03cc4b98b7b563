/* tests/status_text.c - icbu_strerror's texts, walked from one array: built by
 * the Makefile as it is and with -DICBU_REFLOW_SHORT_STATUS (the names alone),
 * with ASan+UBSan. Every status is checked exactly, in both builds, against
 * the status list itself (so a walk that is one string off fails), and a
 * status out of range is "unknown status". Prints one line per check, then
 * "N passed, N failed". */
#define ICBU_REFLOW_IMPLEMENTATION
#define ICBU_REFLOW_CRYPTO_MBEDTLS
#include "icbu_reflow.h"
#include <stdio.h>
#include <string.h>

#ifdef ICBU_REFLOW_SHORT_STATUS
#define WANT(name, text, field) #name,
#define BUILD_NAME "short"
#else
#define WANT(name, text, field) text,
#define BUILD_NAME "full"
#endif
static const char *const want[] = { ICBU_STATUS_LIST(WANT) };

int main(void) {
    int passed = 0, failed = 0;
    unsigned s;
    for (s = 0; s <= (unsigned)ICBU_STATUS_COUNT + 1; s++) {
        const char *w = s < (unsigned)ICBU_STATUS_COUNT ? want[s] : "unknown status";
        const char *got = icbu_strerror((icbu_status)s);
        int ok = got != NULL && strcmp(got, w) == 0;
        if (ok) passed++; else failed++;
        printf("%s - %s texts: status %u is \"%s\"%s%s\n", ok ? "ok" : "not ok", BUILD_NAME, s, w,
               ok ? "" : ", got ", ok ? "" : (got ? got : "NULL"));
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
