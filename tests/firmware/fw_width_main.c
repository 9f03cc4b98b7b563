/* The program of the width images (tools/firmware.py): the checks of
 * tests/firmware/fw_width.c, one "ok NAME" or "FAIL NAME ..." line each,
 * between "fw begin NAME" and "fw end ok|fail". Built for the ATmega2560
 * (16-bit int and size_t) and, as its twin, the host. */
#include <string.h>
#include "fw_platform.h"

#ifndef FW_NAME
#define FW_NAME "host"
#endif

int fw_width_checks(void (*say)(const char *line));

static void say(const char *line) {
    fw_write(line, strlen(line));
    fw_write("\n", 1);
}

int main(void) {
    int fails;
    say("fw begin " FW_NAME);
    fails = fw_width_checks(say);
    say(fails ? "fw end fail" : "fw end ok");
    fw_exit(fails == 0);
}
