#!/usr/bin/env python3
"""The library in real firmware images, run on emulated MCUs (`make test-firmware`).

Builds linked images of tests/firmware/fw_main.c (startup code, linker scripts,
semihosting and an in-memory transport of tests/firmware/, no vendor SDK), runs
them on QEMU, checks what they print, and measures them. Targets:

  m0p   Cortex-M0+ (ARMv6-M), newlib-nano, qemu-system-arm -M mps2-an385 (its
        Cortex-M3 runs ARMv6-M code; the startup makes unaligned accesses fault)
  m4f   Cortex-M4F, newlib-nano, qemu-system-arm -M mps2-an386
  rv32  RV32IMAC, picolibc, qemu-system-riscv32 -M virt
  avr   ATmega2560 (8-bit AVR: int, size_t and pointers of 16 bits), avr-libc,
        qemu-system-avr -M mega2560; no semihosting: the program prints on USART0
        into a file and ends with "fw exit 0|1", on which QEMU is stopped. Its 8 kB
        of SRAM also hold every read-only table and string (avr-gcc copies
        .rodata into RAM), so the program writes into 2.75 kB and decodes into
        1.25 kB there (fw_main.c); the sign configurations and "decode" (below)
        run there, not the full client: its buffers (a 6 kB arena, 4 kB of sent
        bytes, a 2 kB answer) do not fit

and, for each, the library compiled in the configurations of docs/size.md:

  signonly  sign only (ICBU_REFLOW_NO_EXCHANGE + ICBU_REFLOW_NO_DECODER, the
          program built with FW_SIGN_ONLY): the program signs the API document's
          example order (tests/example_order.h) with md5, hmac and hmac-sha256, and
          does nothing else: the image the issue's check links
  nolibc  sign only without a C library (the same, with ICBU_REFLOW_NO_LIBC: the
          library's own five string.h loops)
  sign    build and sign (the same configuration): the same, then writes the
          order's JSON and a few dates
  client  full client (ICBU_REFLOW_NO_DECODER): the same, then icbu_url_parse,
          icbu_exchange over an in-memory transport (tests/firmware/fw_transport.c)
          against the gateway's canned answers (tests/firmware/fw_answers.h:
          accepted with a Content-Length, refused and chunked, a platform error
          that ends with the connection) and icbu_report against a busy gateway
          (503) that accepts, chunked, on the second attempt
  full    full client + decoder (nothing left out): the same, then
          icbu_decode_order of the order's own JSON, written and signed again
  decode  build and sign + decoder (ICBU_REFLOW_NO_EXCHANGE alone; AVR only, not
          a row of docs/size.md): build and sign, then the decoder as in full

and, apart from those, the reader image avr-reader (tests/firmware/fw_reader.c,
not measured): icbu_url_parse, then icbu_http_read and icbu_parse_response of
the full client's canned answers over the in-memory transport, and of sizes at
the edges of a 16-bit and a 32-bit size_t, checked against what each case must
give, against SIZE_MAX (ICBU_E_HTTP_SIZE past it; ICBU_E_HTTP_TOOBIG with
err.need saturated up to it) and against its host twin: what icbu_exchange does
with an answer, on the target where the full client does not fit; and the width
images avr-width and avr-width-big (tests/firmware/fw_width_main.c: the checks
of tests/firmware/fw_width.c, the decoder's alone in the second), each check
"ok", and together every check their host twin runs.

with the small custom hash of tests/firmware/fw_hash.c (ICBU_REFLOW_CRYPTO_CUSTOM),
and some with mbedTLS's md5.c, sha256.c and platform_util.c (BACKEND_SRC/mbedtls,
tests/firmware/mbedtls_config.h) for the stack with mbedTLS: IMAGES below.
Every image is -Os, -ffunction-sections -fdata-sections, --gc-sections.
Checked, for each image:
  - it runs to its end (semihosting exit 0, "fw end ok"): the program has checked
    each outcome field for field against fw_answers.h;
  - each body is byte for byte the host twin's (the same program built for the
    host with the same configuration and hash back end), and tests/check_body.py
    verifies its signature, parameters and order;
  - the order JSON and the dates are the twin's, and the JSON is
    tests/data/example_order.json;
  - full client: what the library sent on each connection is a POST of
    /router/rest to the gateway's host with the body's Content-Length, and the
    body is the one icbu_sign_body signed (md5 for icbu_exchange, hmac-sha256 for
    icbu_report); each outcome line is the twin's;
  - decoder: the decoded order writes the same JSON and signs the same body;
  - the painted peak stack of every entry point it calls was measured, and the
    painting finds the depth of a call of 512 bytes of locals (fw_main.c's
    calibrate: 512 to 576 bytes).
Measured, for each image, from the linker's map: the library's flash (every
input section of the library object: text, read-only data, data), each libgcc
and libc archive member the library needs (the closure of the library
object's undefined symbols over the members linked in, with the symbols that
pull each in; checked against the members the map says the library object
pulled in), the hash back end, the whole image; and the painted peaks.
Written to BUILD/firmware-measured.json, the one source of the linked figures
of docs/size.md (tools/size.py) and of the painted ones of docs/stack.md
(tools/stack.py); tools/firmware.mk rebuilds it when a source changes.

A separate check: the undefined symbols of the library object alone for
Cortex-M0+, Cortex-M4F, RV32IMC and ATmega2560, in each configuration (NO_EXCHANGE and
NO_DECODER, each alone, both, neither) at -Os and -O2. A 64-bit division helper
(__aeabi_ldivmod, __aeabi_uldivmod, __divdi3, __udivdi3, __moddi3, __umoddi3)
is printed as a "note - " line with the functions that call it; with
FIRMWARE_STRICT_DIV=1 it is a failure.

    python3 tools/firmware.py                 check, and write BUILD/firmware-measured.json
                                              (`make test-firmware`)
    python3 tools/firmware.py --json FILE     the measurements to FILE instead
    python3 tools/firmware.py --page PAGE [--json FILE]
                                              no build: rewrite PAGE's firmware-table block
                                              (docs/firmware.md) from the measurements
                                              (`make docs-firmware`)

Prints "ok - ...", "not ok - ..." and "note - ..." lines and, last,
"N passed, N failed"; exit status 1 when any failed.

Environment: BUILD (build), ARM_CC (arm-none-eabi-gcc), RISCV_CC
(riscv64-unknown-elf-gcc), AVR_CC (avr-gcc), HOST_CC (gcc), BACKEND_SRC
(BUILD/backend-src), QEMU_ARM (qemu-system-arm), QEMU_RISCV32
(qemu-system-riscv32), QEMU_AVR (qemu-system-avr), FIRMWARE_JOBS
(the number of processors), FIRMWARE_STRICT_DIV (unset), HDR_DIR (where
icbu_reflow.h and icbu_reflow.c are; the repository). The nm, size and objdump
of each cross toolchain are its gcc's name with gcc replaced (ARM_NM, RISCV_NM,
AVR_NM, ... override). Python 3 standard library only.
"""
import argparse
import bisect
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import readme_block  # noqa: E402  tools/readme_block.py
import check_body  # noqa: E402  tests/check_body.py

FW = os.path.join(ROOT, "tests", "firmware")
# Where icbu_reflow.h and icbu_reflow.c are (a mutated copy, to test this script)
SRC = os.path.abspath(os.environ.get("HDR_DIR", ROOT))
BUILD = os.path.abspath(os.environ.get("BUILD", os.path.join(ROOT, "build")))
OUT = os.path.join(BUILD, "firmware")
MEASURED = os.path.join(BUILD, "firmware-measured.json")
BACKEND_SRC = os.path.abspath(os.environ.get("BACKEND_SRC", os.path.join(BUILD, "backend-src")))
ARM_CC = os.environ.get("ARM_CC", "arm-none-eabi-gcc")
RISCV_CC = os.environ.get("RISCV_CC", "riscv64-unknown-elf-gcc")
AVR_CC = os.environ.get("AVR_CC", "avr-gcc")
HOST_CC = os.environ.get("HOST_CC", "gcc")
QEMU_ARM = os.environ.get("QEMU_ARM", "qemu-system-arm")
QEMU_RISCV32 = os.environ.get("QEMU_RISCV32", "qemu-system-riscv32")
QEMU_AVR = os.environ.get("QEMU_AVR", "qemu-system-avr")
JOBS = int(os.environ.get("FIRMWARE_JOBS") or os.cpu_count() or 2)
STRICT_DIV = os.environ.get("FIRMWARE_STRICT_DIV", "") not in ("", "0")
QEMU_TIMEOUT = 60

SECRET = "helloworld"
METHODS = ("md5", "hmac", "hmac-sha256")
TIMESTAMP = "2026-11-28 12:00:00"
STACK_SIZE = 0x4000                       # tests/firmware/*.ld
CAL_BYTES, CAL_SLACK = 512, 64            # fw_main.c's calibrate(): its locals; call and saved registers
DIV64 = ("__aeabi_ldivmod", "__aeabi_uldivmod", "__divdi3", "__udivdi3", "__moddi3", "__umoddi3")
MBEDTLS_FILES = ("md5.c", "sha256.c", "platform_util.c")

# The configurations (docs/size.md's rows): defines, the harness's own sources,
# and the entry points whose painted peak the program reports (ENTRY/CASE: one
# case of ENTRY; ENTRY alone: the deepest of its cases, or its only call).
SIGN_ENTRIES = ["icbu_sign_body/md5", "icbu_sign_body/hmac", "icbu_sign_body/hmac-sha256",
                "icbu_sign_body/no-err", "icbu_order_json", "icbu_date_from_unix", "icbu_date_format"]
CLIENT_ENTRIES = ["icbu_url_parse", "exchange/accepted", "exchange/refused", "exchange/platform",
                  "icbu_exchange", "icbu_report"]
# "program": defines of the program alone (tests/firmware/fw_main.c), not of the library.
CONFIGS = {
    "signonly": {"label": "sign only", "defines": ["ICBU_REFLOW_NO_EXCHANGE", "ICBU_REFLOW_NO_DECODER"],
                 "program": ["FW_SIGN_ONLY"], "harness": [], "entries": SIGN_ENTRIES[:4]},
    "nolibc": {"label": "sign only, no libc",
               "defines": ["ICBU_REFLOW_NO_EXCHANGE", "ICBU_REFLOW_NO_DECODER", "ICBU_REFLOW_NO_LIBC"],
               "program": ["FW_SIGN_ONLY"], "harness": [], "entries": SIGN_ENTRIES[:4]},
    "sign": {"label": "build and sign", "defines": ["ICBU_REFLOW_NO_EXCHANGE", "ICBU_REFLOW_NO_DECODER"],
             "harness": [], "entries": SIGN_ENTRIES},
    "client": {"label": "full client", "defines": ["ICBU_REFLOW_NO_DECODER"],
               "harness": ["fw_transport.c"], "entries": SIGN_ENTRIES + CLIENT_ENTRIES},
    "full": {"label": "full client + decoder", "defines": [],
             "harness": ["fw_transport.c"], "entries": SIGN_ENTRIES + CLIENT_ENTRIES + ["icbu_decode_order"]},
    # not a row of docs/size.md: the decoder where the full client does not fit (AVR)
    "decode": {"label": "build and sign + decoder", "defines": ["ICBU_REFLOW_NO_EXCHANGE"],
               "harness": [], "entries": SIGN_ENTRIES + ["icbu_decode_order"]},
}
# What the full client's connections must carry (tests/firmware/fw_answers.h):
# the case, the body icbu_sign_body signed that it must send, and the main
# fields of its outcome line (kind: 1 accepted, 2 refused, 3 platform error;
# code in 16 hex digits), checked here as well as by the program itself.
CASES = [
    ("exchange/accepted", "md5", {"status": "0", "kind": "1", "insure_id": "INS2026112800017",
                                  "request_id": "15rd2mz4vu8tk", "attempts": "0"}),
    ("exchange/refused", "md5", {"status": "0", "kind": "2", "insure_id": "-", "error_code": "ORDER_DUPLICATED",
                                 "request_id": "3x7dq0ajw2lw"}),
    ("exchange/platform", "md5", {"status": "0", "kind": "3", "code": "%016x" % 25,
                                  "sub_code": "isv.invalid-signature", "request_id": "1c0x9n3kfy2q8"}),
    ("report/retried", "hmac-sha256", {"status": "0", "kind": "1", "insure_id": "INS2026112800018",
                                       "request_id": "0wq8xv1z7m3c", "attempts": "2"}),
]
GATEWAY_HOST, GATEWAY_PATH = "gw.api.taobao.com", "/router/rest"

M4F = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
M0P = ["-mcpu=cortex-m0plus", "-mthumb"]
RV32IMAC = ["-march=rv32imac", "-mabi=ilp32"]
RV32IMC = ["-march=rv32imc", "-mabi=ilp32"]
AVR = ["-mmcu=atmega2560"]
COMMON = ["-std=gnu99", "-Os", "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra"]


def binutil(cc, name, env):
    if os.environ.get(env):
        return os.environ[env]
    return cc[:-3] + name if cc.endswith("gcc") else name


ARCHES = {
    "m0p": {
        "label": "Cortex-M0+", "cc": ARM_CC, "flags": M0P + ["--specs=nano.specs"],
        "libc": "newlib-nano", "sources": ["cortex_m.c", "semihost.c"], "ld": "cortex_m.ld",
        "link": [],
        "qemu": [QEMU_ARM, "-M", "mps2-an385"],
        "nm": binutil(ARM_CC, "nm", "ARM_NM"), "size": binutil(ARM_CC, "size", "ARM_SIZE"),
    },
    "m4f": {
        "label": "Cortex-M4F", "cc": ARM_CC, "flags": M4F + ["--specs=nano.specs"],
        "libc": "newlib-nano", "sources": ["cortex_m.c", "semihost.c"], "ld": "cortex_m.ld",
        "link": [],
        "qemu": [QEMU_ARM, "-M", "mps2-an386", "-cpu", "cortex-m4"],
        "nm": binutil(ARM_CC, "nm", "ARM_NM"), "size": binutil(ARM_CC, "size", "ARM_SIZE"),
    },
    "rv32": {
        "label": "RV32IMAC", "cc": RISCV_CC, "flags": RV32IMAC + ["--specs=picolibc.specs"],
        "libc": "picolibc", "sources": ["rv32.c", "rv32_start.S", "semihost.c"], "ld": "rv32.ld",
        "link": ["-Wl,--no-warn-rwx-segments"],
        "qemu": [QEMU_RISCV32, "-M", "virt", "-bios", "none"],
        "nm": binutil(RISCV_CC, "nm", "RISCV_NM"), "size": binutil(RISCV_CC, "size", "RISCV_SIZE"),
    },
    # avr-libc's startup and linker script; avr.ld only adds the stack's bounds.
    # "serial": the output is USART0's, not semihosting's (run_serial).
    "avr": {
        "label": "ATmega2560", "cc": AVR_CC, "flags": AVR,
        "libc": "avr-libc", "sources": ["avr.c"], "ld": "avr.ld", "startfiles": True,
        "link": [], "serial": True,
        "qemu": [QEMU_AVR, "-M", "mega2560"],
        "nm": binutil(AVR_CC, "nm", "AVR_NM"), "size": binutil(AVR_CC, "size", "AVR_SIZE"),
    },
}

# (name, target, configuration, hash): every configuration on every target with
# the custom hash (docs/size.md); mbedTLS where docs/stack.md needs it (Cortex-M4F,
# build and sign and everything) and for build and sign on RV32; on AVR the sign
# configurations and the decoder without the client (the full client's buffers do
# not fit in its 8 kB of SRAM).
IMAGES = [("%s-%s-%s" % (a, c, h), a, c, h) for a, c, h in (
    ("m0p", "signonly", "custom"), ("m4f", "signonly", "custom"), ("rv32", "signonly", "custom"),
    ("m0p", "nolibc", "custom"), ("m4f", "nolibc", "custom"), ("rv32", "nolibc", "custom"),
    ("m0p", "sign", "custom"), ("m0p", "client", "custom"), ("m0p", "full", "custom"),
    ("m4f", "sign", "custom"), ("m4f", "sign", "mbedtls"), ("m4f", "client", "custom"),
    ("m4f", "full", "custom"), ("m4f", "full", "mbedtls"),
    ("rv32", "sign", "custom"), ("rv32", "sign", "mbedtls"), ("rv32", "client", "custom"),
    ("rv32", "full", "custom"),
    ("avr", "signonly", "custom"), ("avr", "nolibc", "custom"), ("avr", "sign", "custom"),
    ("avr", "sign", "mbedtls"), ("avr", "decode", "custom"))]
TWINS = sorted({(c, h) for _, _, c, h in IMAGES})

# The reader image (tests/firmware/fw_reader.c): icbu_url_parse, icbu_http_read and
# icbu_parse_response on ATmega2560, where the full client does not fit; its twin
# is the same program on the host. Not measured: it is no configuration's image.
READER, READER_ARCH, READER_TWIN = "avr-reader", "avr", "host-reader"
READER_DEFS = ["-DICBU_REFLOW_CRYPTO_CUSTOM", "-DICBU_REFLOW_NO_DECODER"]
# The width images (tests/firmware/fw_width_main.c over fw_width.c's checks), AVR and
# host: everything but the decoder's checks, which take 6 kB of JSON, then those alone
# (FW_WIDTH_BIG, without the exchange, for the AVR's 8 kB of RAM).
WIDTH_SRCS = ["fw_width_main.c", "fw_width.c", "fw_hash.c"]
WIDTH_DEFS = ["-DICBU_REFLOW_CRYPTO_CUSTOM"]
WIDTH_BIG_DEFS = WIDTH_DEFS + ["-DFW_WIDTH_BIG", "-DICBU_REFLOW_NO_EXCHANGE"]
# the programs apart from the configurations' images: name, its host twin, its
# sources in tests/firmware/ (and icbu_reflow.c), its defines
EXTRAS = [(READER, READER_TWIN, ["fw_reader.c", "fw_transport.c", "fw_hash.c"], READER_DEFS),
          ("avr-width", "host-width", WIDTH_SRCS, WIDTH_DEFS),
          ("avr-width-big", "host-width-big", WIDTH_SRCS, WIDTH_BIG_DEFS)]
# its canned answers: the full client's case whose outcome each must give (attempts aside)
READER_ANSWERS = [("accepted", "exchange/accepted"), ("refused", "exchange/refused"),
                  ("platform", "exchange/platform"), ("chunked", "report/retried")]
# sizes at the edges of a 16-bit and a 32-bit size_t: (case, framing, value); the
# head before a Content-Length body, or before a chunk's data
READER_EDGES = [("cl-65535", "cl", 65535), ("cl-65536", "cl", 65536), ("cl-2^32", "cl", 1 << 32),
                ("chunk-ffff", "chunk", 0xffff), ("chunk-10000", "chunk", 0x10000),
                ("chunk-100000000", "chunk", 1 << 32)]


def qemu_args(elf, out):
    """No display, no default devices; the semihosting console into the file out."""
    return ["-display", "none", "-nodefaults", "-chardev", "file,id=fwout,path=" + out.replace(",", ",,"),
            "-semihosting-config", "enable=on,target=native,chardev=fwout", "-kernel", elf]


def serial_args(elf, out):
    """AVR: the image as the flash, USART0 into the file out, no monitor."""
    return ["-bios", elf, "-display", "none", "-serial", "file:" + out, "-monitor", "none"]


def run_qemu(cmd, out):
    """(returncode, what the program printed, QEMU's own stdout and stderr)."""
    rc, so, se = run(cmd, QEMU_TIMEOUT)
    try:
        with open(out, "rb") as f:
            printed = f.read()
    except OSError:
        printed = b""
    return rc, printed, so + se


EXIT_LINE = re.compile(rb"(?:^|\n)fw exit ([01])\n")


def run_serial(cmd, out):
    """run_qemu for a machine without semihosting (AVR), whose QEMU never exits by
    itself: QEMU is stopped once the program has printed its "fw exit 0|1" line
    (tests/firmware/avr.c's fw_exit), whose digit is the exit status; stopped
    at QEMU_TIMEOUT without it, or when QEMU ends first (a fault), is a failure."""
    try:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as ex:
        return 127, b"", str(ex).encode()
    t0, rc, printed, why = time.time(), None, b"", b""
    while True:
        try:
            with open(out, "rb") as f:
                printed = f.read()
        except OSError:
            printed = b""
        m = EXIT_LINE.search(printed)
        if m:
            rc = int(m.group(1))
            break
        if p.poll() is not None:
            rc, why = p.returncode or 1, b"\nQEMU ended before the program's fw exit line"
            break
        if time.time() - t0 > QEMU_TIMEOUT:
            rc, why = 124, b"\ntimed out after %d s without the program's fw exit line" % QEMU_TIMEOUT
            break
        time.sleep(0.02)
    if p.poll() is None:
        p.kill()
    so, se = p.communicate()
    return rc, printed, so + se + why


def hash_spec(kind):
    if kind == "custom":
        return {"label": "small custom hash (tests/firmware/fw_hash.c)",
                "defs": ["-DICBU_REFLOW_CRYPTO_CUSTOM"], "inc": [],
                "sources": [os.path.join(FW, "fw_hash.c")]}
    lib = os.path.join(BACKEND_SRC, "mbedtls", "library")
    return {"label": "mbedTLS %s md5.c, sha256.c, platform_util.c" % mbedtls_version(),
            "defs": ["-DICBU_REFLOW_CRYPTO_MBEDTLS", '-DMBEDTLS_CONFIG_FILE="mbedtls_config.h"'],
            "inc": ["-I" + os.path.join(BACKEND_SRC, "mbedtls", "include"), "-I" + FW],
            "sources": [os.path.join(lib, f) for f in MBEDTLS_FILES]}


DIV_TARGETS = [("Cortex-M0+", ARM_CC, M0P, binutil(ARM_CC, "nm", "ARM_NM"), binutil(ARM_CC, "objdump", "ARM_OBJDUMP")),
               ("Cortex-M4F", ARM_CC, M4F, binutil(ARM_CC, "nm", "ARM_NM"), binutil(ARM_CC, "objdump", "ARM_OBJDUMP")),
               ("RV32IMC", RISCV_CC, RV32IMC + ["-ffreestanding"], binutil(RISCV_CC, "nm", "RISCV_NM"),
                binutil(RISCV_CC, "objdump", "RISCV_OBJDUMP")),
               ("ATmega2560", AVR_CC, AVR, binutil(AVR_CC, "nm", "AVR_NM"), binutil(AVR_CC, "objdump", "AVR_OBJDUMP"))]
DIV_CONFIGS = [("build and sign", ["ICBU_REFLOW_NO_EXCHANGE", "ICBU_REFLOW_NO_DECODER"]),
               ("full client", ["ICBU_REFLOW_NO_DECODER"]),
               ("NO_EXCHANGE alone", ["ICBU_REFLOW_NO_EXCHANGE"]),
               ("nothing left out", [])]
# The freestanding RV32 toolchain has no string.h: the five routed to the builtins.
MEM_BUILTINS = ["-DICBU_MEMCPY(d,s,n)=__builtin_memcpy(d,s,n)", "-DICBU_MEMMOVE(d,s,n)=__builtin_memmove(d,s,n)",
                "-DICBU_MEMSET(d,c,n)=__builtin_memset(d,c,n)", "-DICBU_MEMCMP(a,b,n)=__builtin_memcmp(a,b,n)",
                "-DICBU_STRLEN(p)=__builtin_strlen(p)"]


# ---------------------------------------------------------------- reporting
class Report:
    def __init__(self):
        self.passed = self.failed = 0

    def ok(self, cond, name, detail=""):
        print(("ok - " if cond else "not ok - ") + name + ("" if cond or not detail else ": " + detail))
        sys.stdout.flush()
        if cond:
            self.passed += 1
        else:
            self.failed += 1
        return cond

    @staticmethod
    def note(text):
        print("note - " + text)
        sys.stdout.flush()


def run(cmd, timeout=300, cwd=None):
    """(returncode, stdout, stderr) of cmd, never raising."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, cwd=cwd)
    except FileNotFoundError as ex:
        return 127, b"", str(ex).encode()
    except subprocess.TimeoutExpired as ex:
        return 124, ex.stdout or b"", (ex.stderr or b"") + b"\ntimed out after %d s" % timeout
    return p.returncode, p.stdout, p.stderr


def text(b):
    return b.decode("utf-8", "replace")


def tail(b, n=15, width=240):
    """The last n lines of b, each cut at width characters (a body is a few kB)."""
    return "\n    ".join(l if len(l) <= width else l[:width] + "…" for l in text(b).strip().splitlines()[-n:])


def version(cmd):
    rc, out, _ = run([cmd, "--version"])
    if rc != 0:
        return "?"
    m = re.search(r"(\d+\.\d+\.\d+)", text(out).splitlines()[0])
    return m.group(1) if m else text(out).splitlines()[0]


def mbedtls_version():
    try:
        with open(os.path.join(BACKEND_SRC, "mbedtls", "include", "mbedtls", "version.h")) as f:
            m = re.search(r'#define MBEDTLS_VERSION_STRING\s+"([^"]+)"', f.read())
        return m.group(1) if m else "?"
    except OSError:
        return "?"


def header_id():
    path = os.path.join(SRC, "icbu_reflow.h")
    with open(path, "rb") as f:
        data = f.read()
    m = re.search(rb'#define ICBU_REFLOW_VERSION "([^"]+)"', data)
    return "icbu_reflow.h %s (sha256 %s…)" % (m.group(1).decode() if m else "?",
                                               hashlib.sha256(data).hexdigest()[:12])


# ---------------------------------------------------------------- build
def config_defs(config):
    return ["-D" + d for d in CONFIGS[config]["defines"]]


def program_defs(config):
    return ["-D" + d for d in CONFIGS[config].get("program", [])]


def exchanges(config):
    """Does the configuration's program run the exchange (the full client's cases)?"""
    return "ICBU_REFLOW_NO_EXCHANGE" not in CONFIGS[config]["defines"]


def decodes(config):
    """Does its program decode the order's JSON (the library has the decoder)?"""
    return "ICBU_REFLOW_NO_DECODER" not in CONFIGS[config]["defines"]


def writes_json(config):
    """Does its program write the order's JSON and the dates (all but sign only)?"""
    return "FW_SIGN_ONLY" not in CONFIGS[config].get("program", [])


def image_jobs(name, arch, config, hsh):
    """The compile commands of one image: [(cmd, object)], and its object roles."""
    a, h = ARCHES[arch], hash_spec(hsh)
    d = os.path.join(OUT, name)
    base = [a["cc"]] + a["flags"] + COMMON
    jobs, roles = [], {}

    def obj(src, role, extra):
        o = os.path.join(d, os.path.splitext(os.path.basename(src))[0] + ".o")
        # the entry's CSR instructions (mtvec, mcause, mepc): Zicsr for the assembler only,
        # the link keeps -march=rv32imac (its multilib)
        zicsr = ["-march=rv32imac_zicsr"] if src.endswith(".S") and arch == "rv32" else []
        jobs.append((base + zicsr + extra + ["-c", src, "-o", o], o))
        roles[o] = role

    lib = h["defs"] + config_defs(config) + h["inc"] + ["-I" + SRC]
    harness = lib + ["-I" + os.path.join(ROOT, "tests"), "-I" + FW]
    obj(os.path.join(SRC, "icbu_reflow.c"), "library", lib)
    obj(os.path.join(FW, "fw_main.c"), "harness", harness + program_defs(config) + ['-DFW_NAME="%s"' % name])
    for s in CONFIGS[config]["harness"]:
        obj(os.path.join(FW, s), "harness", harness)
    for s in h["sources"]:
        obj(s, "hash", h["defs"] + h["inc"] + ["-I" + SRC])
    for s in a["sources"]:
        obj(os.path.join(FW, s), "startup", ["-I" + FW])
    return jobs, roles


def link_cmd(name, arch, objs):
    a = ARCHES[arch]
    d = os.path.join(OUT, name)
    elf = os.path.join(d, name + ".elf")
    # with the C library's startup (AVR), the script is an input that adds to its default one
    script = [os.path.join(FW, a["ld"])] if a.get("startfiles") else ["-nostartfiles", "-T", os.path.join(FW, a["ld"])]
    return [a["cc"]] + a["flags"] + ["-Os", "-Wl,--gc-sections"] + script + \
        ["-Wl,-Map=" + os.path.join(d, name + ".map")] + a["link"] + ["-o", elf] + objs, elf


def twin_name(config, hsh):
    return "host-%s-%s" % (config, hsh)


def twin_cmd(config, hsh):
    h = hash_spec(hsh)
    exe = os.path.join(OUT, twin_name(config, hsh))
    return [HOST_CC, "-std=gnu99", "-O1", "-Wall", "-Wextra"] + h["defs"] + config_defs(config) + \
        program_defs(config) + h["inc"] + \
        ["-I" + SRC, "-I" + os.path.join(ROOT, "tests"), "-I" + FW, "-o", exe,
         os.path.join(FW, "fw_main.c"), os.path.join(FW, "host.c"), os.path.join(SRC, "icbu_reflow.c")] + \
        [os.path.join(FW, s) for s in CONFIGS[config]["harness"]] + h["sources"], exe


def extra_jobs(name, twin_unit, sources, defs):
    """An extra program's AVR compile commands [(cmd, object)] and its twin's command."""
    a = ARCHES[READER_ARCH]
    d = os.path.join(OUT, name)
    inc = ["-I" + SRC, "-I" + os.path.join(ROOT, "tests"), "-I" + FW]
    srcs = [os.path.join(FW, x) for x in sources] + [os.path.join(SRC, "icbu_reflow.c")]
    jobs = []
    for src in srcs + [os.path.join(FW, x) for x in a["sources"]]:
        o = os.path.join(d, os.path.splitext(os.path.basename(src))[0] + ".o")
        jobs.append(([a["cc"]] + a["flags"] + COMMON + defs + inc + ['-DFW_NAME="%s"' % name] +
                     ["-c", src, "-o", o], o))
    exe = os.path.join(OUT, twin_unit)
    twin = [HOST_CC, "-std=gnu99", "-O1", "-Wall", "-Wextra"] + defs + inc + \
        ["-o", exe, os.path.join(FW, "host.c")] + srcs
    return jobs, twin, exe


def check_width(rep, failed_units, outputs):
    """The width images and their twins: each ran once to its end with every check
    "ok", and the AVR's two ran every check the host's full one did."""
    names = {}
    for name, twin_unit, _, _ in EXTRAS[1:]:
        for unit in (twin_unit, name):
            if not rep.ok(unit not in failed_units, "%s: built and linked" % unit, failed_units.get(unit, "")):
                continue
            rc, printed, err = outputs[unit]
            lines = [l for l in text(printed).replace("\r\n", "\n").split("\n") if l]
            body = [l for l in lines if not l.startswith("fw ")]
            bad = [l for l in body if not re.match(r"^ok \S+$", l)]
            begin = "fw begin " + (unit if unit == name else "host")
            if rep.ok(rc == 0 and [l for l in lines if l.startswith("fw begin ")] == [begin] and
                      "fw end ok" in lines and body and not bad,
                      "%s: tests/firmware/fw_width.c's %d checks ran, every one ok" % (unit, len(body)),
                      "exit %d; %s\n    %s" % (rc, "; ".join(bad), tail(printed + err))):
                names[unit] = {l[3:] for l in body}
    avr = names.get("avr-width", set()) | names.get("avr-width-big", set())
    if "host-width" in names and "avr-width" in names and "avr-width-big" in names:
        rep.ok(avr == names["host-width"], "avr-width, avr-width-big: every check of host-width (%d) ran on the "
               "ATmega2560" % len(names["host-width"]),
               "missing %s, more %s" % (sorted(names["host-width"] - avr), sorted(avr - names["host-width"])))


def status_numbers():
    """{name: number} of icbu_status, in the order of the header's X-macro list."""
    with open(os.path.join(SRC, "icbu_reflow.h"), encoding="utf-8") as f:
        names = re.findall(r"^\s*X\((ICBU_\w+),", f.read(), re.M)
    return {n: i for i, n in enumerate(names)}


def check_reader(rep, failed_units, outputs):
    """The reader image and its twin: each ran once to its end; the gateway's URL and
    ports at 16 bits; each canned answer's outcome what its case must give; the
    status of the HTTP reader (and err.need, saturated) at sizes past SIZE_MAX or
    up to it, from the SIZE_MAX each prints; the two print the same but for those."""
    st = status_numbers()
    parsed = {}
    for unit in (READER_TWIN, READER):
        if not rep.ok(unit not in failed_units, "%s: built and linked" % unit, failed_units.get(unit, "")):
            continue
        rc, printed, err = outputs[unit]
        lines = text(printed).replace("\r\n", "\n").split("\n")
        begins = [l for l in lines if l.startswith("fw begin ")]
        fails = [l for l in lines if l.startswith("fail ")]
        if not rep.ok(rc == 0 and len(begins) == 1 and "fw end ok" in lines and not fails,
                      "%s: ran to its end" % unit, "exit %d, began %d times, %s\n    %s" % (
                          rc, len(begins), fails, tail(printed + err))):
            continue
        r = {"url": {}, "read": {}, "answer": {}, "sizemax": None}
        for l in lines:
            kind, _, rest = l.partition(" ")
            if kind == "sizemax":
                r["sizemax"] = int(rest, 16)
            elif kind in ("url", "read", "answer"):
                case, _, v = rest.partition(" ")
                r[kind][case] = v
        parsed[unit] = r
        bad = []
        for case, want in (("gateway", "0 443"), ("port-65535", "0 65535")):
            if r["url"].get(case) != want:
                bad.append("%s: %r, not %r" % (case, r["url"].get(case), want))
        for case in ("port-65536", "port-2^32+80"):
            if r["url"].get(case, "0").split(" ")[0] == "0":
                bad.append("%s: %r, not refused" % (case, r["url"].get(case)))
        rep.ok(not bad, "%s: icbu_url_parse: the gateway, port 65535, not 65536 nor 2^32 + 80" % unit, "; ".join(bad))
        for case, full in READER_ANSWERS:
            want = dict(next(w for c, _, w in CASES if c == full))
            want.pop("attempts", None)
            fields = dict(f.partition("=")[::2] for f in r["answer"].get(case, "").split(" ") if "=" in f)
            wrong = ["%s=%s (not %s)" % (k, fields.get(k), v) for k, v in want.items() if fields.get(k) != v]
            rep.ok(r["read"].get(case, "").split(" ")[:1] == ["0"] and case in r["answer"] and not wrong,
                   "%s %s: icbu_http_read and icbu_parse_response give %s's outcome" % (unit, case, full),
                   "; ".join(wrong) or "read %r" % r["read"].get(case))
        rep.ok(r["read"].get("busy", "").split(" ")[:2] == [str(st["ICBU_E_HTTP_STATUS"]), "503"],
               "%s busy: icbu_http_read gives ICBU_E_HTTP_STATUS, detail 503" % unit, repr(r["read"].get("busy")))
        smax = r["sizemax"] or 0
        for case, how, v in READER_EDGES:
            head = len("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % v) if how == "cl" else \
                len("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + 2   # + the chunk's CRLF
            if v > smax:
                want, says = "%d 0 %016x 0" % (st["ICBU_E_HTTP_SIZE"], 0), "ICBU_E_HTTP_SIZE"
            else:
                need = min(head + v, smax)
                want, says = "%d 0 %016x 0" % (st["ICBU_E_HTTP_TOOBIG"], need), "ICBU_E_HTTP_TOOBIG, need %d" % need
            rep.ok(r["read"].get(case) == want, "%s %s (SIZE_MAX %#x): icbu_http_read gives %s" % (
                unit, case, smax, says), "got %r (status detail need len), not %r" % (r["read"].get(case), want))
    if len(parsed) == 2:
        edges = {c for c, _, _ in READER_EDGES}
        diff = ["%s %s" % (k, c) for k in ("url", "read", "answer")
                for c in set(parsed[READER][k]) | set(parsed[READER_TWIN][k])
                if c not in edges and parsed[READER][k].get(c) != parsed[READER_TWIN][k].get(c)]
        rep.ok(not diff, "%s: every url, read and answer line (the size edges aside) the twin's" % READER,
               ", ".join(sorted(diff)))


def div_jobs():
    jobs = []
    d = os.path.join(OUT, "div64")
    for tlabel, cc, flags, nm, objdump in DIV_TARGETS:
        for clabel, defs in DIV_CONFIGS:
            for opt in ("-Os", "-O2"):
                tag = re.sub(r"\W+", "_", "%s_%s_%s" % (tlabel, clabel, opt)).strip("_")
                o = os.path.join(d, tag + ".o")
                cmd = [cc] + flags + ["-std=gnu99", "-DNDEBUG", opt, "-ffunction-sections",
                                      "-DICBU_REFLOW_CRYPTO_CUSTOM", "-I" + SRC] + \
                    ["-D" + x for x in defs] + (MEM_BUILTINS if "-ffreestanding" in flags else []) + \
                    ["-c", os.path.join(SRC, "icbu_reflow.c"), "-o", o]
                jobs.append({"target": tlabel, "config": clabel, "opt": opt, "cmd": cmd, "obj": o,
                             "nm": nm, "objdump": objdump})
    return jobs


# ---------------------------------------------------------------- map and symbols
HEX = re.compile(r"^0x[0-9a-fA-F]+$")
MEMBER = re.compile(r"^(.*\.a)\((.*)\)$")
FLASH_SECTIONS = {".text", ".rodata", ".ARM.extab", ".ARM.exidx", ".data"}
RAM_SECTIONS = {".data", ".bss", ".noinit"}       # static RAM; on AVR .data holds the read-only data too


def parse_map(path):
    """Input sections of the memory map: [(output section, input section, size, file)],
    each size the bytes that section adds at its address (see own_bytes)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    try:
        start = lines.index("Linker script and memory map")
    except ValueError:
        return []
    out, outsec, pending = [], None, None
    for line in lines[start + 1:]:
        if not line.strip():
            continue
        f = line.split()
        if line[0] not in " \t":
            outsec = f[0] if f[0].startswith(".") else None
            pending = None
            continue
        if pending is not None:
            if len(f) >= 2 and HEX.match(f[0]) and HEX.match(f[1]):
                out.append((outsec, pending, int(f[0], 16), int(f[1], 16), " ".join(f[2:])))
            pending = None
            continue
        if f[0] == "*fill*":
            if len(f) >= 3 and HEX.match(f[2]):
                out.append((outsec, "*fill*", int(f[1], 16), int(f[2], 16), ""))
            continue
        if line.startswith(" ") and not line.startswith("  ") and (f[0].startswith(".") or f[0] == "COMMON"):
            if len(f) == 1:
                pending = f[0]
            elif len(f) >= 3 and HEX.match(f[1]) and HEX.match(f[2]):
                out.append((outsec, f[0], int(f[1], 16), int(f[2], 16), " ".join(f[3:])))
    return own_bytes(out)


def own_bytes(entries):
    """[(output section, input section, size, file)] from [(..., address, size, file)]:
    each size cut to the bytes that section alone holds. Merged string sections
    (.rodata.*.str1.1) overlap in the map: ld may list one with the size of what it
    merged into, running over the sections after it, or two at one address, so the
    map's sizes add up to more than the image holds. A section here ends where the
    next one at a higher address starts, and a byte already counted (the first
    section at an address, in map order) is not counted again."""
    starts = {}
    for outsec, insec, addr, size, fname in entries:
        starts.setdefault(outsec, set()).add(addr)
    nxt = {o: sorted(a) for o, a in starts.items()}
    order = sorted(range(len(entries)), key=lambda i: (entries[i][2], i))
    own, reach = [0] * len(entries), {}
    for i in order:
        outsec, insec, addr, size, fname = entries[i]
        later = [a for a in nxt[outsec][bisect.bisect_right(nxt[outsec], addr):][:1]]
        end = min([addr + size] + later)
        start = max(addr, reach.get(outsec, addr))
        own[i] = max(0, end - start)
        reach[outsec] = max(reach.get(outsec, addr), end)
    return [(e[0], e[1], own[i], e[4]) for i, e in enumerate(entries)]


def pulled_in(path):
    """{(archive, member): the file whose reference pulled it in}, from the map's "Archive
    member included to satisfy reference by file (symbol)": the linker's own word,
    independent of the nm closure below (which names every member a file needs, where
    the map names only the first file to need it)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    out, member = {}, None
    for line in lines[1:] if lines and lines[0].startswith("Archive member included") else []:
        if not line.strip():
            continue
        if line[0] not in " \t":
            m = re.match(r"^(.*\.a)\((.*?)\)\s*(.*)$", line)
            if not m:
                break                                  # the map's next part
            member, rest = (m.group(1), m.group(2)), m.group(3)
        else:
            rest = line.strip()
        if member is not None and rest:
            out[member] = re.sub(r"\s*\([^()]*\)$", "", rest)
            member = None
    return out


_archive_cache = {}


def archive_symbols(nm, archive):
    """{member: (defined globals, undefined)} of an archive (nm -A)."""
    key = (nm, archive)
    if key not in _archive_cache:
        rc, out, _ = run([nm, "-A", "-g", archive])
        members = {}
        for line in text(out).splitlines():
            m = re.match(r"^(.*?\.a):([^:]+):\s*[0-9a-fA-F]*\s+(\w)\s+(\S+)$", line)
            if not m:
                continue
            defs, undef = members.setdefault(m.group(2), (set(), set()))
            (undef if m.group(3) == "U" else defs).add(m.group(4))
        _archive_cache[key] = members
    return _archive_cache[key]


def undefined(nm, obj):
    rc, out, _ = run([nm, "-u", obj])
    return {l.split()[-1] for l in text(out).splitlines() if l.strip()}


ROLES = ("library", "hash", "harness", "startup")


def measure(arch, roles, mapfile, elf):
    """Flash of the library, its helpers, the hash back end and the image."""
    a = ARCHES[arch]
    entries = parse_map(mapfile)
    lib_obj = [o for o, r in roles.items() if r == "library"][0]
    by_file = {}
    members = {}                                  # (archive, member) -> bytes in flash
    for outsec, insec, size, fname in entries:
        if outsec not in FLASH_SECTIONS or insec == "*fill*":
            continue
        by_file.setdefault(fname, []).append((outsec, insec, size))
        m = MEMBER.match(fname)
        if m:
            members[(m.group(1), m.group(2))] = members.get((m.group(1), m.group(2)), 0) + size
    for outsec, insec, size, fname in entries:       # members linked with nothing in flash
        m = MEMBER.match(fname)
        if m and (m.group(1), m.group(2)) not in members:
            members[(m.group(1), m.group(2))] = 0
    # who defines what, among the members linked in
    defs, undefs = {}, {}
    for (archive, member) in members:
        syms = archive_symbols(a["nm"], archive).get(member, (set(), set()))
        undefs[(archive, member)] = syms[1]
        for s in syms[0]:
            defs.setdefault(s, (archive, member))

    def closure(objs):
        """{member: the symbols by which these objects (or members they need) pull it in}"""
        seen, todo = {}, []
        for o in objs:
            todo.extend(undefined(a["nm"], o))
        while todo:
            s = todo.pop()
            m = defs.get(s)
            if m is None:
                continue
            if m not in seen:
                seen[m] = set()
                todo.extend(undefs[m])
            seen[m].add(s)
        return seen

    need = {r: closure([o for o, rr in roles.items() if rr == r]) for r in ROLES}
    lib = {"text": 0, "rodata": 0, "data": 0}
    lib_sections = []
    for outsec, insec, size in by_file.get(lib_obj, []):
        # AVR: read-only data is in .data (copied to RAM), counted as what it is
        kind = "text" if outsec == ".text" else \
            "data" if outsec == ".data" and not insec.startswith(".rodata") else "rodata"
        lib[kind] += size
        lib_sections.append((insec, size, kind))
    hash_bytes = sum(size for o, r in roles.items() if r == "hash" for _, _, size in by_file.get(o, []))
    helpers = []
    for (archive, member), size in sorted(members.items(), key=lambda kv: (-kv[1], kv[0][1])):
        who = [r for r in ROLES if (archive, member) in need[r]]
        syms = sorted(s for s in archive_symbols(a["nm"], archive).get(member, (set(), set()))[0]
                      if not s.startswith("$"))
        helpers.append({"archive": os.path.basename(archive), "member": member, "bytes": size,
                        "symbols": syms, "needed_by": who,
                        "library_wants": sorted(need["library"].get((archive, member), ()))})
    lib_helpers = sum(h["bytes"] for h in helpers if "library" in h["needed_by"])
    rc, out, _ = run([a["size"], "-A", elf])
    flash = ram = 0
    for line in text(out).splitlines():
        f = line.split()
        if len(f) >= 2 and f[0] in FLASH_SECTIONS and f[1].isdigit():
            flash += int(f[1])
        if len(f) >= 2 and f[0] in RAM_SECTIONS and f[1].isdigit():
            ram += int(f[1])
    lib_sections.sort(key=lambda x: (-x[1], x[0]))
    # cross-check: the sized icbu_ symbols of the library in the image (nm -S); string
    # literals and other anonymous read-only data have none, so this is at most the above
    hooks = ("icbu_custom_hash_init", "icbu_custom_hash_update", "icbu_custom_hash_final")
    rc, out, _ = run([a["nm"], "-S", "--defined-only", elf])
    named = 0
    for line in text(out).splitlines():
        f = line.split()
        if len(f) == 4 and f[3].startswith("icbu_") and f[3] not in hooks and f[2] in "tTrRdD":
            named += int(f[1], 16)
    calls = sorted(s for o, r in roles.items() if r == "harness" for s in undefined(a["nm"], o)
                   if s.startswith("icbu_") and s not in hooks and not s.startswith("icbu_custom_"))
    return {"icbu_symbols": named, "library": lib, "library_total": sum(lib.values()), "helpers": helpers,
            "library_helpers": lib_helpers, "library_plus_helpers": sum(lib.values()) + lib_helpers,
            "hash": hash_bytes, "image_flash": flash, "image_ram": ram, "library_sections": lib_sections,
            "calls": calls}


def div_helpers(nm, objdump, obj):
    """{64-bit division helper: {functions calling it}} of an object compiled with
    -ffunction-sections (each function's relocations name its section)."""
    found = undefined(nm, obj) & set(DIV64)
    helpers = {}
    if found:
        rc, out, _ = run([objdump, "-r", obj])
        sec = None
        for line in text(out).splitlines():
            m = re.match(r"^RELOCATION RECORDS FOR \[(.*)\]:", line)
            if m:
                sec = re.sub(r"^\.text\.", "", re.sub(r"^\.rela?", "", m.group(1)))
                continue
            f = line.split()
            if len(f) >= 3 and f[-1] in found:
                helpers.setdefault(f[-1], set()).add(sec)
        for h in found:
            helpers.setdefault(h, {"?"})
    return helpers


# ---------------------------------------------------------------- output of the program
def unescape_head(s):
    """tests/firmware/fw_main.c's print_request: \\r, \\n and \\\\ back to bytes."""
    return re.sub(r"\\(.)", lambda m: {"r": "\r", "n": "\n"}.get(m.group(1), m.group(1)), s)


def parse_output(out):
    r = {"bodies": {}, "json": None, "dates": [], "stack": {}, "fails": [], "begin": None, "end": None,
         "requests": {}, "outcomes": {}, "decoded": {}, "begins": 0}
    for line in out.replace("\r\n", "\n").split("\n"):   # QEMU's console may end lines with CR LF
        kind, _, rest = line.partition(" ")
        if kind == "body":
            m, _, body = rest.partition(" ")
            r["bodies"][m] = body
        elif kind == "json":
            r["json"] = rest
        elif kind == "date":
            t, _, s = rest.partition(" ")
            r["dates"].append((t, s))
        elif kind == "stack":
            e, _, n = rest.partition(" ")
            r["stack"][e] = int(n) if n.isdigit() else None
        elif kind == "request":
            case, _, rest = rest.partition(" ")
            part, _, t = rest.partition(" ")
            r["requests"].setdefault(case, {})[part] = unescape_head(t) if part == "head" else t
        elif kind == "outcome":
            case, _, fields = rest.partition(" ")
            r["outcomes"][case] = fields
        elif kind == "decoded":
            part, _, t = rest.partition(" ")
            r["decoded"][part] = t
        elif kind == "fail":
            r["fails"].append(rest)
        elif line.startswith("fw begin "):
            r["begin"] = line[9:]
            r["begins"] += 1
        elif line.startswith("fw end "):
            r["end"] = line[7:]
        elif line.startswith("fw fault"):
            r["fails"].append(line)
    return r


def expected_dates(hexes):
    """What icbu_date_from_unix + icbu_date_format must give (GMT+8, years 0..9999)."""
    out = []
    for h in hexes:
        t = int(h, 16)
        if t >= 1 << 63:
            t -= 1 << 64
        local = t + 8 * 3600
        days, secs = divmod(local, 86400)
        # days since 1970-01-01 -> civil date (proleptic Gregorian), years 0..9999 only
        z = days + 719468
        era = z // 146097
        doe = z - era * 146097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
        y = yoe + era * 400
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        d = doy - (153 * mp + 2) // 5 + 1
        m = mp + 3 if mp < 10 else mp - 9
        y += m <= 2
        if 0 <= y <= 9999:
            out.append("%04d-%02d-%02d %02d:%02d:%02d" % (y, m, d, secs // 3600, secs // 60 % 60, secs % 60))
        else:
            out.append("-")
    return out


def request_problems(req, body_want):
    """What is wrong with a request the library sent: [] when it is a POST of the
    gateway's path to its host, with the body's length, and the body is body_want."""
    bad = []
    head, body = req.get("head", ""), req.get("body")
    lines = head.split("\r\n")
    if not head.endswith("\r\n\r\n"):
        bad.append("the head does not end with an empty line")
    if lines[0] != "POST %s HTTP/1.1" % GATEWAY_PATH:
        bad.append("request line %r" % lines[0])
    fields = {}
    for l in lines[1:]:
        if l:
            k, _, v = l.partition(":")
            fields.setdefault(k.strip().lower(), []).append(v.strip())
    if fields.get("host") != [GATEWAY_HOST]:
        bad.append("Host %r" % fields.get("host"))
    if body is None or fields.get("content-length") != [str(len(body.encode("utf-8")))]:
        bad.append("Content-Length %r for a body of %s bytes" % (
            fields.get("content-length"), "no" if body is None else len(body.encode("utf-8"))))
    if body != body_want:
        bad.append("the body is not the one icbu_sign_body signed")
    return bad


# ---------------------------------------------------------------- the page
def render(m):
    """docs/firmware.md's block: the images and the 64-bit division check; the
    library's flash is docs/size.md's, the painted stack docs/stack.md's."""
    imgs, v = m["images"], m["versions"]
    L = ["", "### The images", ""]
    L.append("| image | target | C library | configuration | hash back end | hash back end (bytes) "
             "| whole image (bytes) |")
    L.append("|---|---|---|---|---|---:|---:|")
    for name, arch, config, hsh in IMAGES:
        im = imgs[name]
        L.append("| %s | %s | %s | %s | %s | %d | %d |" % (
            name, im["target"], im["libc"], im["config_label"], "custom" if hsh == "custom" else "mbedTLS",
            im["size"]["hash"], im["size"]["image_flash"]))
    L.append("")
    L.append("What each program calls of the library (the `icbu_` symbols its own objects leave "
             "undefined), by configuration:")
    L.append("")
    for c in CONFIGS:
        calls = next(imgs[n]["size"]["calls"] for n, _, cc, _ in IMAGES if cc == c)
        L.append("- %s: %s." % (CONFIGS[c]["label"], ", ".join("`%s`" % s for s in calls)))
    L.append("")
    L.append("Whole image: every flash section of the ELF (`size -A`: code, read-only data, the initial "
             "values of data), startup code, this test program and the in-memory transport included. "
             "The library's own flash and the libgcc/libc helpers it pulls in, itemized, by configuration "
             "and target: [size.md](size.md#linked-images); the painted stack of the Cortex-M4F images "
             "next to the static figures: [stack.md](stack.md#painted-and-static-cortex-m4f--os).")
    L += render_avr(imgs)
    L.append("")
    L.append("### 64-bit division helpers in the library object")
    L.append("")
    div = m["div64"]
    found = [d for d in div if d["helpers"]]
    L.append("The implementation alone (`icbu_reflow.c`, custom back end), %d objects: %s × %s × -Os, -O2. "
             % (len(div), ", ".join(t[0] for t in DIV_TARGETS), ", ".join(c[0] for c in DIV_CONFIGS)) +
             ("None references %s." % ", ".join("`%s`" % h for h in DIV64) if not found else
              "%d reference one (below)." % len(found)))
    if found:
        L.append("")
        L.append("| target | configuration | opt | helpers | called from |")
        L.append("|---|---|---|---|---|")
        for d in found:
            L.append("| %s | %s | %s | %s | %s |" % (
                d["target"], d["config"], d["opt"], ", ".join("`%s`" % h for h in sorted(d["helpers"])),
                ", ".join("`%s`" % f for f in sorted({f for fs in d["helpers"].values() for f in fs}))))
    L.append("")
    L.append("Images: `-Os -ffunction-sections -fdata-sections`, linked with `--gc-sections`; Cortex-M0+ is "
             "`%s` and Cortex-M4F `%s`, both with `--specs=nano.specs` (newlib-nano); RV32IMAC is `%s` with "
             "`--specs=picolibc.specs`; ATmega2560 is `%s` with avr-libc. Hash back ends: %s; %s, with "
             "`tests/firmware/mbedtls_config.h` (MD5 and SHA-256 only). Toolchains: `arm-none-eabi-gcc` %s, "
             "`riscv64-unknown-elf-gcc` %s, `avr-gcc` %s, QEMU %s." % (
                 " ".join(M0P), " ".join(M4F), " ".join(RV32IMAC), " ".join(AVR), m["hashes"]["custom"],
                 m["hashes"]["mbedtls"], v["arm"], v["riscv"], v.get("avr", "?"), v["qemu"]))
    L.append("")
    L.append("Measured on %s by `tools/firmware.py`; `make docs-firmware` rewrites this block. "
             "`make test-firmware` builds, runs and checks the same images without comparing with this page."
             % m["header"])
    return "\n".join(L) + "\n"


def render_avr(imgs):
    """The AVR images' own figures: docs/size.md and docs/stack.md are about the
    32-bit targets and leave them out."""
    avr = [(n, imgs[n]) for n, a, _, _ in IMAGES if a == "avr" and n in imgs]
    if not avr:
        return []
    L = ["", "### ATmega2560: 16-bit int and size_t", "",
         "The sign configurations and the decoder on an 8-bit AVR (`int`, `size_t` and pointers of 16 bits, "
         "`long` of 32) under `qemu-system-avr -M mega2560`: every body byte for byte the host twin's and "
         "verified by `tests/check_body.py`, the JSON and the dates the host's and Python's, the decoded "
         "order's JSON and body the twin's (build and sign + decoder: `ICBU_REFLOW_NO_EXCHANGE` alone, "
         "an AVR image only). The full client's answers also run there, through `icbu_http_read` and "
         "`icbu_parse_response` (`tests/firmware/fw_reader.c`, not measured), with Content-Length and chunk "
         "sizes past 65535: `ICBU_E_HTTP_SIZE`, as on the host past `SIZE_MAX`; and the checks of "
         "`tests/firmware/fw_width.c` (`avr-width`, `avr-width-big`), every one ok. avr-gcc keeps read-only "
         "data in RAM (classic AVR cannot read flash with an ordinary load; avr-libc's startup copies it), "
         "so the library's tables take SRAM as well as flash: the column \"read-only (RAM)\". The full client "
         "does not run there: its buffers in the test program (a 6 kB arena, 4 kB kept of what was sent, a "
         "2 kB answer) and the read-only data of the library and of the canned answers exceed the 8 kB "
         "of SRAM.", "",
         "| image | configuration | hash back end | library code | read-only (RAM) | helpers | library + "
         "helpers | whole image, flash | whole image, static RAM | painted `icbu_sign_body` (deepest) "
         "| painted `icbu_decode_order` |",
         "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, im in avr:
        sz, st = im["size"], im["stack"]
        sign = [v for e, v in st.items() if e.startswith("icbu_sign_body/") and isinstance(v, int)]
        dec = st.get("icbu_decode_order")
        L.append("| %s | %s | %s | %d | %d | %d | %d | %d | %s | %s | %s |" % (
            name, im["config_label"], "custom" if im["hash"] == "custom" else "mbedTLS",
            sz["library"]["text"], sz["library"]["rodata"] + sz["library"]["data"], sz["library_helpers"],
            sz["library_plus_helpers"], sz["image_flash"], sz.get("image_ram", "?"),
            max(sign) if sign else "?", dec if isinstance(dec, int) else "-"))
    # the helpers of the image whose library needs the most of them (the decoder's)
    most = max(avr, key=lambda kv: kv[1]["size"]["library_helpers"])
    lib_h = [h for h in most[1]["size"]["helpers"] if "library" in h["needed_by"]]
    L.append("")
    L.append("Helpers the library pulls in there (%s): %s. Static RAM: `.data` (read-only data included) "
             "and `.bss`, the program's buffers (2.75 kB to write into, 1.25 kB to decode into) and the example "
             "order included; the stack is the rest of the 8 kB. "
             "Painted: the peak of one call, as for the other targets." % (
                 most[0], ", ".join("`%s` (%s, %d B)" % (h["member"], ", ".join(h["library_wants"][:3]) or "-",
                                                           h["bytes"]) for h in lib_h)))
    return L


def load(path):
    """The measurements of the last run (BUILD/firmware-measured.json): the dict, or
    None with a message on stderr."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as ex:
        sys.stderr.write("firmware.py: cannot read %s (`make test-firmware` writes it): %s\n" % (path, ex))
        return None


def stale(m):
    """Why the measurements cannot be published, or None."""
    if m.get("header_sha256") != header_sha256():
        return "they were taken on another icbu_reflow.h (%s); `make test-firmware` measures again" % m.get("header")
    if m.get("failed"):
        return "%d check(s) of their run failed (`make test-firmware` says which)" % m["failed"]
    missing = [n for n, _, _, _ in IMAGES if n not in m.get("images", {})]
    if missing:
        return "no image %s in them" % ", ".join(missing)
    return None


def header_sha256():
    with open(os.path.join(SRC, "icbu_reflow.h"), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ---------------------------------------------------------------- main
def check_twins(rep, failed_units, outputs):
    """The host twins ran, and agree across hash back ends: {(config, hash): output}."""
    twin_out = {}
    for config, hsh in TWINS:
        unit = twin_name(config, hsh)
        if not rep.ok(unit not in failed_units, "%s: host twin built" % unit, failed_units.get(unit, "")):
            continue
        rc, out, err = outputs[unit]
        r = parse_output(text(out))
        cases = {c for c, _, _ in CASES} if exchanges(config) else set()
        if rep.ok(rc == 0 and r["end"] == "ok" and not r["fails"] and set(r["bodies"]) == set(METHODS) and
                  set(r["outcomes"]) == cases and set(r["requests"]) == cases,
                  "%s: host twin ran to its end" % unit, "exit %d, %s %s" % (rc, r["fails"], tail(out + err))):
            twin_out[(config, hsh)] = r
    for config in CONFIGS:
        pair = [twin_out.get((config, h)) for h in ("custom", "mbedtls")]
        if None not in pair:
            keys = ("bodies", "json", "outcomes", "requests", "decoded")
            rep.ok(all(pair[0][k] == pair[1][k] for k in keys),
                   "host twins, %s: the custom hash and mbedTLS give the same output" % CONFIGS[config]["label"])
    return twin_out


def check_image(rep, name, arch, config, hsh, im, out, twin, want_json):
    """Every check of one image that ran; returns its parsed output."""
    rc, printed, err = out
    r = parse_output(text(printed))
    # once: an AVR that jumps to 0 (a smashed return address; it has no fault) starts again
    rep.ok(rc == 0 and r["begin"] == name and r["begins"] == 1 and r["end"] == "ok" and not r["fails"],
           "%s: ran on %s to its end" % (name, " ".join(im["qemu_cmd"][:3])),
           "exit %d, began %d times, fails %s\n    %s" % (rc, r["begins"], r["fails"], tail(printed + err)))
    expected = json.loads(want_json)
    for m in METHODS:
        body = r["bodies"].get(m)
        if body is None:
            rep.ok(False, "%s %s: body printed" % (name, m))
            continue
        if twin is not None:
            rep.ok(body == twin["bodies"].get(m), "%s %s: body byte for byte the host twin's" % (name, m),
                   "differs from %s" % twin_name(config, hsh))
        res, params = check_body.check_body(body, SECRET, expected)
        bad = [(n, d) for ok, n, d in res if not ok]
        if params.get("sign_method") != m:
            bad.append(("sign_method", repr(params.get("sign_method"))))
        if params.get("timestamp") != TIMESTAMP:
            bad.append(("timestamp", repr(params.get("timestamp"))))
        rep.ok(not bad, "%s %s: tests/check_body.py verifies signature, parameters and order (%d checks)"
               % (name, m, len(res) + 2), "; ".join("%s: %s" % b for b in bad))
    if writes_json(config):
        rep.ok(r["json"] == want_json and (twin is None or r["json"] == twin["json"]),
               "%s: icbu_order_json is tests/data/example_order.json, byte for byte, and the twin's" % name,
               repr((r["json"] or "")[:80]))
        dates = [s for _, s in r["dates"]]
        rep.ok(bool(dates) and dates == expected_dates([t for t, _ in r["dates"]]) and
               (twin is None or r["dates"] == twin["dates"]),
               "%s: icbu_date_from_unix and icbu_date_format give %d dates as Python and the twin do"
               % (name, len(dates)), repr(r["dates"]))
    else:
        rep.ok(r["json"] is None and not r["dates"], "%s: signs only (no JSON, no dates printed)" % name)
    if exchanges(config):
        for case, method, want in CASES:
            req = r["requests"].get(case)
            bad = request_problems(req, r["bodies"].get(method)) if req else ["nothing printed"]
            if req and twin is not None and req != twin["requests"].get(case):
                bad.append("not the twin's")
            rep.ok(not bad, "%s %s: sent POST %s to %s, Content-Length right, the %s body icbu_sign_body signed, "
                   "as the twin" % (name, case, GATEWAY_PATH, GATEWAY_HOST, method), "; ".join(bad))
            got = r["outcomes"].get(case)
            fields = dict(f.partition("=")[::2] for f in (got or "").split(" ") if "=" in f)
            wrong = ["%s=%s (not %s)" % (k, fields.get(k), v) for k, v in want.items() if fields.get(k) != v]
            rep.ok(got is not None and not wrong and (twin is None or got == twin["outcomes"].get(case)),
                   "%s %s: outcome %s, the twin's" % (name, case, " ".join("%s=%s" % kv for kv in want.items())),
                   "; ".join(wrong) or repr(got))
    if decodes(config):
        d = r["decoded"]
        rep.ok(d.get("json") == want_json and d.get("body") == r["bodies"].get("md5") and
               (twin is None or d == twin["decoded"]),
               "%s: icbu_decode_order of the order's JSON writes that JSON again and signs the md5 body" % name,
               repr(d)[:200])
    entries = CONFIGS[config]["entries"]
    st = r["stack"]
    good = [e for e in entries if isinstance(st.get(e), int) and 0 < st[e] < STACK_SIZE]
    rep.ok(len(good) == len(entries), "%s: painted stack of %d entry points: %s" % (
        name, len(entries), ", ".join("%s %s" % (e, st.get(e)) for e in entries)),
        "missing or out of range: %s" % [e for e in entries if e not in good])
    # the painting itself, held to a call of known depth: one that loses depth (a wrong
    # stack pointer, a pattern found too high, a unit other than bytes) reports less
    cal = st.get("calibrate")
    rep.ok(isinstance(cal, int) and CAL_BYTES <= cal <= CAL_BYTES + CAL_SLACK,
           "%s: painting finds a call of %d bytes of locals: %s" % (name, CAL_BYTES, cal),
           "expected %d to %d" % (CAL_BYTES, CAL_BYTES + CAL_SLACK))
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", metavar="FILE", default=MEASURED,
                    help="where the measurements go (default %(default)s)")
    ap.add_argument("--page", metavar="PAGE", help="no build: rewrite PAGE's firmware-table block from FILE")
    args = ap.parse_args()
    if args.page:
        m = load(args.json)
        why = "no measurements" if m is None else stale(m)
        if why:
            sys.stderr.write("firmware.py: not writing %s: %s\n" % (args.page, why))
            return 1
        return 0 if readme_block.sync(args.page, "firmware-table", render(m), True, "firmware.py") else 1

    t0 = time.time()
    rep = Report()
    try:
        os.remove(args.json)                  # never a stale file after a run that stops early
    except OSError:
        pass

    # tools
    need = [ARM_CC, RISCV_CC, AVR_CC, HOST_CC, QEMU_ARM, QEMU_RISCV32, QEMU_AVR]
    missing = [t for t in need if not shutil.which(t)]
    if missing:
        rep.ok(False, "tools present", "missing %s (`make deps` installs them)" % ", ".join(missing))
        print("%d passed, %d failed" % (rep.passed, rep.failed))
        return 1
    if not all(os.path.exists(p) for p in hash_spec("mbedtls")["sources"]):
        rep.ok(False, "mbedTLS sources in %s" % BACKEND_SRC, "run `make backend-src`")
        print("%d passed, %d failed" % (rep.passed, rep.failed))
        return 1

    # 1. compile everything in parallel: images' objects, host twins, the division check
    shutil.rmtree(OUT, ignore_errors=True)
    images = {}
    compile_jobs = []
    for name, arch, config, hsh in IMAGES:
        os.makedirs(os.path.join(OUT, name))
        jobs, roles = image_jobs(name, arch, config, hsh)
        images[name] = {"jobs": jobs, "roles": roles}
        compile_jobs += [(name, cmd) for cmd, _ in jobs]
    twins = {}
    for config, hsh in TWINS:
        cmd, exe = twin_cmd(config, hsh)
        twins[(config, hsh)] = exe
        compile_jobs.append((twin_name(config, hsh), cmd))
    extras = {}
    for name, twin_unit, sources, defs in EXTRAS:
        extras[name] = extra_jobs(name, twin_unit, sources, defs)
        os.makedirs(os.path.join(OUT, name))
        compile_jobs += [(name, cmd) for cmd, _ in extras[name][0]] + [(twin_unit, extras[name][1])]
    div = div_jobs()
    os.makedirs(os.path.join(OUT, "div64"))
    compile_jobs += [("div64:" + d["obj"], d["cmd"]) for d in div]

    failed_units = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=JOBS) as ex:
        futs = {ex.submit(run, cmd): (unit, cmd) for unit, cmd in compile_jobs}
        for fut in concurrent.futures.as_completed(futs):
            unit, cmd = futs[fut]
            rc, out, err = fut.result()
            if rc != 0:
                failed_units.setdefault(unit, "%s\n    %s" % (" ".join(cmd), tail(out + err)))

        # 2. link the images once their objects are there
        links = {}
        for name, arch, config, hsh in IMAGES:
            if name in failed_units:
                continue
            cmd, elf = link_cmd(name, arch, [o for _, o in images[name]["jobs"]])
            images[name]["elf"] = elf
            links[ex.submit(run, cmd)] = (name, cmd)
        extra_elf = {}
        for name, _, _, _ in EXTRAS:
            if name not in failed_units:
                cmd, extra_elf[name] = link_cmd(name, READER_ARCH, [o for _, o in extras[name][0]])
                links[ex.submit(run, cmd)] = (name, cmd)
        for fut in concurrent.futures.as_completed(links):
            name, cmd = links[fut]
            rc, out, err = fut.result()
            if rc != 0:
                failed_units[name] = "%s\n    %s" % (" ".join(cmd), tail(out + err))

        # 3. run: QEMU and the host twins
        runs = {}
        for name, arch, config, hsh in IMAGES:
            if name not in failed_units:
                printed = os.path.join(OUT, name, name + ".out")
                serial = ARCHES[arch].get("serial")
                cmd = ARCHES[arch]["qemu"] + (serial_args if serial else qemu_args)(images[name]["elf"], printed)
                images[name]["qemu_cmd"] = cmd
                runs[ex.submit(run_serial if serial else run_qemu, cmd, printed)] = name
        for key, exe in twins.items():
            if twin_name(*key) not in failed_units:
                runs[ex.submit(run, [exe], 60)] = twin_name(*key)
        for name, twin_unit, _, _ in EXTRAS:
            if name not in failed_units:
                printed = os.path.join(OUT, name, name + ".out")
                runs[ex.submit(run_serial, ARCHES[READER_ARCH]["qemu"] + serial_args(extra_elf[name], printed),
                               printed)] = name
            if twin_unit not in failed_units:
                runs[ex.submit(run, [extras[name][2]], 60)] = twin_unit
        outputs = {}
        for fut in concurrent.futures.as_completed(runs):
            outputs[runs[fut]] = fut.result()

    with open(os.path.join(ROOT, "tests", "data", "example_order.json"), encoding="utf-8") as f:
        want_json = json.dumps(json.load(f), ensure_ascii=False, separators=(",", ":"))
    twin_out = check_twins(rep, failed_units, outputs)
    check_reader(rep, failed_units, outputs)
    check_width(rep, failed_units, outputs)

    results = {}
    for name, arch, config, hsh in IMAGES:
        im = images[name]
        failed_before = rep.failed
        tag = "%s (%s, %s, %s)" % (name, ARCHES[arch]["label"], ARCHES[arch]["libc"], CONFIGS[config]["label"])
        if not rep.ok(name not in failed_units, "%s: built and linked" % tag, failed_units.get(name, "")):
            continue
        r = check_image(rep, name, arch, config, hsh, im, outputs[name], twin_out.get((config, hsh)), want_json)
        size = measure(arch, im["roles"], os.path.join(OUT, name, name + ".map"), im["elf"])
        lib_h = [h for h in size["helpers"] if "library" in h["needed_by"]]
        rep.ok(size["library"]["text"] > 0, "%s: measured: library %d (text %d, rodata %d, data %d) + helpers %d "
               "(%s) = %d bytes; hash %d; image %d" % (
                   name, size["library_total"], size["library"]["text"], size["library"]["rodata"],
                   size["library"]["data"], size["library_helpers"],
                   ", ".join("%s %d" % ("/".join(h["library_wants"][:2]) or h["member"], h["bytes"]) for h in lib_h),
                   size["library_plus_helpers"], size["hash"], size["image_flash"]),
               "no library section in the map")
        # every member the linker says the library pulled in, and that takes flash, is counted
        lib_obj = [o for o, r in im["roles"].items() if r == "library"][0]
        counted = {(h["archive"], h["member"]) for h in size["helpers"] if "library" in h["needed_by"]}
        flash = {(h["archive"], h["member"]) for h in size["helpers"] if h["bytes"] > 0}
        pulled = {(os.path.basename(a), mb) for (a, mb), by in
                  pulled_in(os.path.join(OUT, name, name + ".map")).items() if by == lib_obj}
        rep.ok(not (pulled & flash) - counted, "%s: the %d helpers the map says the library pulled in are "
               "counted as the library's" % (name, len(pulled & flash)),
               "not counted: %s" % ", ".join(sorted(mb for _, mb in (pulled & flash) - counted)))
        rep.ok(0 < size["icbu_symbols"] <= size["library_total"],
               "%s: the icbu_ symbols of the image (nm -S, %d bytes) are within the library's sections"
               % (name, size["icbu_symbols"]), "%d > %d" % (size["icbu_symbols"], size["library_total"]))
        results[name] = {"arch": arch, "target": ARCHES[arch]["label"] + " -Os", "libc": ARCHES[arch]["libc"],
                         "config": config, "config_label": CONFIGS[config]["label"],
                         "defines": CONFIGS[config]["defines"], "hash": hsh, "ok": rep.failed == failed_before,
                         "stack": {e: r["stack"].get(e) for e in CONFIGS[config]["entries"]}, "size": size}

    # the 64-bit division check
    div_results = []
    for d in div:
        if "div64:" + d["obj"] in failed_units:
            rep.ok(False, "div64: %s, %s, %s compiles" % (d["target"], d["config"], d["opt"]),
                   failed_units["div64:" + d["obj"]])
            continue
        d["helpers"] = div_helpers(d["nm"], d["objdump"], d["obj"])
        div_results.append(d)
    if div_results:
        rep.ok(True, "div64: undefined symbols of %d library objects read (%s; %s; -Os, -O2)" % (
            len(div_results), ", ".join(t[0] for t in DIV_TARGETS), ", ".join(c[0] for c in DIV_CONFIGS)))
    hits = [d for d in div_results if d["helpers"]]
    for d in hits:
        msg = "%s, %s, %s: %s" % (d["target"], d["config"], d["opt"], "; ".join(
            "%s from %s" % (h, ", ".join(sorted(fs))) for h, fs in sorted(d["helpers"].items())))
        if STRICT_DIV:
            rep.ok(False, "div64: no 64-bit division helper: " + msg)
        else:
            rep.note("64-bit division helper: " + msg)
    if not hits and div_results:
        rep.ok(True, "div64: no 64-bit division helper (%s) in any of them" % ", ".join(DIV64))
    elif not STRICT_DIV:
        rep.note("%d of %d objects reference a 64-bit division helper (FIRMWARE_STRICT_DIV=1 makes each a failure)"
                 % (len(hits), len(div_results)))

    dump = {"header": header_id(), "header_sha256": header_sha256(), "passed": rep.passed,
            "failed": rep.failed, "seconds": round(time.time() - t0, 1),
            "versions": {"arm": version(ARM_CC), "riscv": version(RISCV_CC), "avr": version(AVR_CC),
                         "qemu": version(QEMU_ARM)},
            "hashes": {h: hash_spec(h)["label"] for h in ("custom", "mbedtls")},
            "images": results,
            "div64": [{"target": d["target"], "config": d["config"], "opt": d["opt"],
                       "helpers": {h: sorted(f) for h, f in d["helpers"].items()}} for d in div_results]}
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json + ".tmp", "w", encoding="utf-8") as f:
        json.dump(dump, f, indent=1, sort_keys=True)
    os.replace(args.json + ".tmp", args.json)
    print("# %.1f s, %d jobs; measurements in %s" % (time.time() - t0, JOBS, os.path.relpath(args.json)))
    print("%d passed, %d failed" % (rep.passed, rep.failed))
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
