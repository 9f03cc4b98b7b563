/* Output and exit of the AVR image (tools/firmware.py): ATmega2560 on
 * qemu-system-avr -M mega2560, avr-libc's own startup (its crt copies .data
 * and clears .bss, then calls main). There is no semihosting: the program's
 * lines go out on USART0, which QEMU writes to a file (-serial file:OUT), and
 * fw_exit ends them with "fw exit 0" or "fw exit 1", the line the checker
 * waits for before it stops QEMU (which never exits by itself). The baud rate
 * is left alone: QEMU's USART sends at whatever rate. Stack bounds for the
 * painting: __stack_bottom and __stack_top, which tools/firmware.py defines
 * at the link (the end of .bss and .noinit, and one past RAMEND). */
#include <avr/interrupt.h>
#include <avr/io.h>
#include "fw_platform.h"

static void tx(char c) {
    while (!(UCSR0A & (1u << UDRE0))) { }
    UDR0 = (uint8_t)c;
}

void fw_write(const char *p, size_t n) {
    UCSR0B = 1u << TXEN0;                  /* the transmitter on (idempotent) */
    while (n--) tx(*p++);
}

void fw_exit(int ok) {
    fw_write(ok ? "fw exit 0\n" : "fw exit 1\n", 10);
    while (!(UCSR0A & (1u << TXC0))) { }   /* the last byte out of the shift register */
    cli();
    for (;;) { }
}
