/* Startup and semihosting for the Cortex-M images (tools/firmware.py):
 * Cortex-M4F on qemu-system-arm -M mps2-an386, Cortex-M0+ on -M mps2-an385,
 * both -semihosting-config enable=on,target=native. QEMU has no Cortex-M0+
 * board with the RAM these images need, so the ARMv6-M image runs on AN385's
 * Cortex-M3: ARMv6-M is a subset of ARMv7-M, and with CCR.UNALIGN_TRP set an
 * unaligned word or halfword access faults there as it does on an M0+.
 * The vector table's first two words are the initial stack pointer and the
 * reset handler (VTOR = 0 at reset); everything else is a fault, reported and
 * ended through semihosting (semihost.c). Memory: cortex_m.ld. */
#include <stdint.h>
#include "fw_platform.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
int main(void);

/* Semihosting (semihost.c): BKPT 0xAB with the operation in r0 and its argument in r1. */
uint32_t fw_semihost(uint32_t op, const void *arg) {
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void fw_fault(void) {
    fw_write("fw fault\n", 9);
    fw_exit(0);
}

void fw_reset(void);
void fw_reset(void) {
    uint32_t *s = __data_load, *d = __data_start;
    while (d < __data_end) *d++ = *s++;
    for (d = __bss_start; d < __bss_end; d++) *d = 0;
#if defined(__ARM_FP)
    /* CPACR: full access to CP10 and CP11, the FPU (-mfloat-abi=hard) */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
#endif
#if defined(__ARM_ARCH_6M__)
    /* CCR.UNALIGN_TRP: unaligned accesses fault, as ARMv6-M's always do */
    *(volatile uint32_t *)0xE000ED14u |= 1u << 3;
#endif
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    fw_exit(main() == 0);
}

typedef void (*fw_vector)(void);
__attribute__((section(".vectors"), used)) static const fw_vector fw_vectors[16] = {
    (fw_vector)(uintptr_t)__stack_top,          /* initial SP */
    fw_reset,                                   /* Reset */
    fw_fault, fw_fault, fw_fault, fw_fault, fw_fault,  /* NMI, HardFault, MemManage, BusFault, UsageFault */
    0, 0, 0, 0,
    fw_fault, fw_fault, 0, fw_fault, fw_fault,  /* SVCall, DebugMonitor, -, PendSV, SysTick */
};
