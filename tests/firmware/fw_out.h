/* The images' printing (tests/firmware/fw_main.c, fw_reader.c): text, a
 * 32-bit number in decimal and a 64-bit one in 16 hex digits, over the
 * machine's fw_write (fw_platform.h). No printf, and shifts only for 64 bits:
 * no 64-bit division in the harness either. */
#ifndef FW_OUT_H
#define FW_OUT_H
#include <stdint.h>
#include <string.h>
#include "fw_platform.h"

static inline void out(const char *s) { fw_write(s, strlen(s)); }
static inline void out_u32(uint32_t v) {
    char d[10];
    unsigned n = 0;
    do { d[n++] = (char)('0' + v % 10u); v /= 10u; } while (v);
    while (n) fw_write(&d[--n], 1);
}
static inline void out_hex64(uint64_t v) {
    char d[16];
    int i;
    for (i = 15; i >= 0; i--, v >>= 4) d[i] = "0123456789abcdef"[v & 15u];
    fw_write(d, 16);
}
#endif
