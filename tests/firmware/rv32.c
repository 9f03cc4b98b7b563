/* Startup and fault report of the RV32IMAC image (tools/firmware.py):
 * qemu-system-riscv32 -M virt -bios none -semihosting-config
 * enable=on,target=native. Entry and fw_semihost: rv32_start.S; output: semihost.c;
 * memory: rv32.ld. */
#include <stdint.h>
#include "fw_platform.h"

extern uint32_t __bss_start[], __bss_end[];
int main(void);
void fw_reset(void);
void fw_trap_report(uint32_t cause, uint32_t pc);

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
