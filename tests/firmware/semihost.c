/* Output and exit of the MCU images through semihosting (tools/firmware.py),
 * shared by cortex_m.c and rv32.c: each gives fw_semihost(), the trap with
 * the operation and its argument (Cortex-M: BKPT 0xAB; RV32: the
 * ebreak sequence of rv32_start.S). */
#include <stdint.h>
#include "fw_platform.h"

#define SYS_WRITE0 0x04u
#define SYS_EXIT   0x18u
#define ADP_Stopped_ApplicationExit     0x20026u
#define ADP_Stopped_RunTimeErrorUnknown 0x20023u

/* SYS_WRITE0 takes a NUL-terminated string: p is sent 64 bytes at a time. */
void fw_write(const char *p, size_t n) {
    char chunk[65];
    while (n) {
        size_t k = n < 64 ? n : 64, i;
        for (i = 0; i < k; i++) chunk[i] = p[i];
        chunk[k] = 0;
        fw_semihost(SYS_WRITE0, chunk);
        p += k;
        n -= k;
    }
}

/* SYS_EXIT with the reason code itself as the argument (the AArch32 form, which
 * RV32 follows); QEMU exits 0 for ApplicationExit and 1 for any other reason. */
void fw_exit(int ok) {
    fw_semihost(SYS_EXIT, (const void *)(uintptr_t)(ok ? ADP_Stopped_ApplicationExit
                                                       : ADP_Stopped_RunTimeErrorUnknown));
    for (;;) { }
}
