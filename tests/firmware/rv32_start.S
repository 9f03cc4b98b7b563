/* Entry, trap vector and semihosting call of the RV32IMAC image
 * (tools/firmware.py): qemu-system-riscv32 -M virt -bios none starts the
 * hart in machine mode at 0x80000000, where rv32.ld puts _start. */
    .section .text.start, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    la      sp, __stack_top
    la      t0, fw_trap
    csrw    mtvec, t0
    call    fw_reset
1:  j       1b

/* Any trap (a fault: nothing here enables interrupts): back to the top of
 * the stack, and report it from C. */
    .section .text.fw_trap, "ax"
    .balign 4
fw_trap:
    la      sp, __stack_top
    csrr    a0, mcause
    csrr    a1, mepc
    j       fw_trap_report

/* uint32_t fw_semihost(uint32_t op, const void *arg): the RISC-V semihosting
 * sequence, three uncompressed instructions within one 16-byte block so
 * that they never straddle a page. */
    .section .text.fw_semihost, "ax"
    .globl fw_semihost
    .balign 16
    .option push
    .option norvc
fw_semihost:
    slli    x0, x0, 0x1f
    ebreak
    srai    x0, x0, 7
    ret
    .option pop
