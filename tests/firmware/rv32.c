/* Startup and semihosting output of the RV32IMAC image (tools/firmware.py):
 * qemu-system-riscv32 -M virt -bios none -semihosting-config
 * enable=on,target=native. Entry and the semihosting sequence: rv32_start.S;
 * memory: rv32.ld. */
#include <stdint.h>
#include "fw_platform.h"

extern uint32_t __bss_start[], __bss_end[];
int main(void);
uint32_t fw_semihost(uint32_t op, const void *arg);
void fw_reset(void);
void fw_trap_report(uint32_t cause, uint32_t pc);

#define SYS_WRITE0 0x04u
#define SYS_EXIT   0x18u
#define ADP_Stopped_ApplicationExit  0x20026u
#define ADP_Stopped_RunTimeErrorUnknown 0x20023u

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

void fw_exit(int ok) {
    /* RV32 follows AArch32: the reason code itself is the argument. */
    fw_semihost(SYS_EXIT, (const void *)(uintptr_t)(ok ? ADP_Stopped_ApplicationExit
                                                       : ADP_Stopped_RunTimeErrorUnknown));
    for (;;) { }
}

static void hex32(char *d, uint32_t v) {
    int i;
    for (i = 7; i >= 0; i--, v >>= 4) d[i] = "0123456789abcdef"[v & 15u];
}
void fw_trap_report(uint32_t cause, uint32_t pc) {
    char line[] = "fw fault mcause=xxxxxxxx mepc=xxxxxxxx\n";
    hex32(line + 16, cause);
    hex32(line + 30, pc);
    fw_write(line, sizeof line - 1);
    fw_exit(0);
}

void fw_reset(void) {
    uint32_t *d;
    for (d = __bss_start; d < __bss_end; d++) *d = 0;   /* .data is loaded in place */
    fw_exit(main() == 0);
}
