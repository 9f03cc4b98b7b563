/* What tests/firmware/fw_main.c needs from the machine it runs on: an output
 * channel, an exit, and (on the MCUs) the stack's bounds and pointer for the
 * painted-stack measurement. Written for tools/firmware.py:
 *   semihost.c                      fw_write, fw_exit on both MCUs
 *   cortex_m.c + cortex_m.ld        Cortex-M4F on qemu-system-arm -M mps2-an386, Cortex-M0+
 *                                   (ARMv6-M) on -M mps2-an385, semihosting
 *   rv32.c + rv32_start.S + rv32.ld RV32IMAC, qemu-system-riscv32 -M virt, semihosting
 *   avr.c                           ATmega2560, qemu-system-avr -M mega2560, USART0 (no
 *                                   semihosting), avr-libc's startup and linker script
 *   host.c                          the host twin: stdout, exit() */
#ifndef FW_PLATFORM_H
#define FW_PLATFORM_H
#include <stddef.h>
#include <stdint.h>

void fw_write(const char *p, size_t n);
void fw_exit(int ok) __attribute__((noreturn));

#if defined(__arm__) || defined(__riscv)
#define FW_STACK_PAINT 1
/* The semihosting trap (cortex_m.c, rv32_start.S); semihost.c uses it. */
uint32_t fw_semihost(uint32_t op, const void *arg);
extern uint32_t __stack_bottom[], __stack_top[];   /* from the linker script */
static inline uintptr_t fw_sp(void) {
    uintptr_t sp;
#if defined(__arm__)
    __asm__ volatile("mov %0, sp" : "=r"(sp));
#else
    __asm__ volatile("mv %0, sp" : "=r"(sp));
#endif
    return sp;
}
#endif

#if defined(__AVR__)
#include <avr/io.h>
#define FW_STACK_PAINT 1
/* Defined at the link (tools/firmware.py): the end of .bss/.noinit (avr-libc's
 * __heap_start; nothing here uses the heap) and one past RAMEND. */
extern uint32_t __stack_bottom[], __stack_top[];
static inline uintptr_t fw_sp(void) { return (uintptr_t)SP; }
#endif

#endif
