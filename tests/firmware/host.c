/* The host twin of the firmware images (tools/firmware.py): the same program,
 * tests/firmware/fw_main.c, with stdout for output. No stack painting. */
#include <stdio.h>
#include <stdlib.h>
#include "fw_platform.h"

void fw_write(const char *p, size_t n) { fwrite(p, 1, n, stdout); }
void fw_exit(int ok) {
    fflush(stdout);
    exit(ok ? 0 : 1);
}
