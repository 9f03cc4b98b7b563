#!/usr/bin/env python3
"""The library in real firmware images, run on emulated MCUs (`make test-firmware`).

Builds linked images of tests/firmware/fw_main.c (startup code, linker scripts
and semihosting of tests/firmware/, no vendor SDK), runs them on QEMU, checks
what they print, and measures them:

  m4f-custom    Cortex-M4F, qemu-system-arm -M mps2-an386, newlib-nano, the small
                custom hash of tests/firmware/fw_hash.c (ICBU_REFLOW_CRYPTO_CUSTOM)
  m4f-mbedtls   the same with mbedTLS's md5.c, sha256.c and platform_util.c
                (BACKEND_SRC/mbedtls, tests/firmware/mbedtls_config.h)
  rv32-custom   RV32IMAC, qemu-system-riscv32 -M virt, picolibc, the custom hash
  rv32-mbedtls  the same with mbedTLS

Every image is -Os, -ffunction-sections -fdata-sections, --gc-sections, the
library built as build-and-sign firmware builds it (icbu_reflow.c with
ICBU_REFLOW_NO_EXCHANGE and ICBU_REFLOW_NO_DECODER), and signs the API
document's example order (tests/example_order.h) with md5, hmac and
hmac-sha256. Checked, for each image:
  - it runs to its end (semihosting exit 0, "fw end ok");
  - each body is byte for byte the host twin's (the same program built for the
    host with the same hash back end), and tests/check_body.py verifies its
    signature, parameters and order;
  - the order JSON and the dates (icbu_date_from_unix, icbu_date_format) are the
    twin's, and the JSON is tests/data/example_order.json;
  - the painted peak stack of every entry point it calls was measured.
Measured, for each image, from the linker's map: the library's flash (every
input section of the library object: text, read-only data, data), each libgcc
and libc archive member the library needs (the closure of the library
object's undefined symbols over the members linked in), the hash back end,
the whole image; and the painted peaks.

A separate check: the undefined symbols of the library object alone for
Cortex-M0+, Cortex-M4F and RV32IMC, in each configuration (NO_EXCHANGE and
NO_DECODER, each alone, both, neither) at -Os and -O2. A 64-bit division helper
(__aeabi_ldivmod, __aeabi_uldivmod, __divdi3, __udivdi3, __moddi3, __umoddi3)
is printed as a "note - " line with the functions that call it; with
FIRMWARE_STRICT_DIV=1 it is a failure.

    python3 tools/firmware.py                          check (`make test-firmware`)
    python3 tools/firmware.py --write docs/firmware.md also rewrite the page's
                                                       firmware-table block (`make docs-firmware`)
    python3 tools/firmware.py --json FILE              also write the measurements as JSON

Prints "ok - ...", "not ok - ..." and "note - ..." lines and, last,
"N passed, N failed"; exit status 1 when any failed.

Environment: BUILD (build), ARM_CC (arm-none-eabi-gcc), RISCV_CC
(riscv64-unknown-elf-gcc), HOST_CC (gcc), BACKEND_SRC (BUILD/backend-src),
QEMU_ARM (qemu-system-arm), QEMU_RISCV32 (qemu-system-riscv32), FIRMWARE_JOBS
(the number of processors), FIRMWARE_STRICT_DIV (unset), HDR_DIR (where
icbu_reflow.h and icbu_reflow.c are; the repository). The nm, size and objdump
of each cross toolchain are its gcc's name with gcc replaced (ARM_NM, RISCV_NM,
... override). Python 3 standard library only.
"""
import argparse
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
BACKEND_SRC = os.path.abspath(os.environ.get("BACKEND_SRC", os.path.join(BUILD, "backend-src")))
ARM_CC = os.environ.get("ARM_CC", "arm-none-eabi-gcc")
RISCV_CC = os.environ.get("RISCV_CC", "riscv64-unknown-elf-gcc")
HOST_CC = os.environ.get("HOST_CC", "gcc")
QEMU_ARM = os.environ.get("QEMU_ARM", "qemu-system-arm")
QEMU_RISCV32 = os.environ.get("QEMU_RISCV32", "qemu-system-riscv32")
JOBS = int(os.environ.get("FIRMWARE_JOBS") or os.cpu_count() or 2)
STRICT_DIV = os.environ.get("FIRMWARE_STRICT_DIV", "") not in ("", "0")
QEMU_TIMEOUT = 60

SECRET = "helloworld"
METHODS = ("md5", "hmac", "hmac-sha256")
TIMESTAMP = "2026-11-28 12:00:00"
ENTRIES = ["icbu_sign_body/md5", "icbu_sign_body/hmac", "icbu_sign_body/hmac-sha256",
           "icbu_order_json", "icbu_date_from_unix", "icbu_date_format"]
STACK_SIZE = 0x4000                       # tests/firmware/*.ld
DIV64 = ("__aeabi_ldivmod", "__aeabi_uldivmod", "__divdi3", "__udivdi3", "__moddi3", "__umoddi3")
# Build and sign: what the images compile the library as.
LIB_CONFIG = ["-DICBU_REFLOW_NO_EXCHANGE", "-DICBU_REFLOW_NO_DECODER"]
MBEDTLS_FILES = ("md5.c", "sha256.c", "platform_util.c")
# The targets (bytes), Cortex-M4F -Os: library + its helpers, and the painted peaks
TARGET_FLASH = 5120
TARGET_STACK = {"custom": 1024, "mbedtls": 1100}
TARGET_STACK_OTHER = 1024

M4F = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
M0P = ["-mcpu=cortex-m0plus", "-mthumb"]
RV32IMAC = ["-march=rv32imac", "-mabi=ilp32"]
RV32IMC = ["-march=rv32imc", "-mabi=ilp32"]
COMMON = ["-std=gnu99", "-Os", "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra"]


def binutil(cc, name, env):
    if os.environ.get(env):
        return os.environ[env]
    return cc[:-3] + name if cc.endswith("gcc") else name


ARCHES = {
    "m4f": {
        "label": "Cortex-M4F", "cc": ARM_CC, "flags": M4F + ["--specs=nano.specs"],
        "libc": "newlib-nano", "sources": ["cortex_m4.c", "semihost.c"], "ld": "cortex_m4.ld",
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
}


def qemu_args(elf, out):
    """No display, no default devices; the semihosting console into the file out."""
    return ["-display", "none", "-nodefaults", "-chardev", "file,id=fwout,path=" + out.replace(",", ",,"),
            "-semihosting-config", "enable=on,target=native,chardev=fwout", "-kernel", elf]


def run_qemu(cmd, out):
    """(returncode, what the program printed, QEMU's own stdout and stderr)."""
    rc, so, se = run(cmd, QEMU_TIMEOUT)
    try:
        with open(out, "rb") as f:
            printed = f.read()
    except OSError:
        printed = b""
    return rc, printed, so + se


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


IMAGES = [("m4f-custom", "m4f", "custom"), ("m4f-mbedtls", "m4f", "mbedtls"),
          ("rv32-custom", "rv32", "custom"), ("rv32-mbedtls", "rv32", "mbedtls")]

DIV_TARGETS = [("Cortex-M0+", ARM_CC, M0P, binutil(ARM_CC, "nm", "ARM_NM"), binutil(ARM_CC, "objdump", "ARM_OBJDUMP")),
               ("Cortex-M4F", ARM_CC, M4F, binutil(ARM_CC, "nm", "ARM_NM"), binutil(ARM_CC, "objdump", "ARM_OBJDUMP")),
               ("RV32IMC", RISCV_CC, RV32IMC + ["-ffreestanding"], binutil(RISCV_CC, "nm", "RISCV_NM"),
                binutil(RISCV_CC, "objdump", "RISCV_OBJDUMP"))]
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


def tail(b, n=15):
    return "\n    ".join(text(b).strip().splitlines()[-n:])


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
def image_jobs(name, arch, hsh):
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

    obj(os.path.join(SRC, "icbu_reflow.c"), "library", h["defs"] + LIB_CONFIG + h["inc"] + ["-I" + SRC])
    obj(os.path.join(FW, "fw_main.c"), "harness", h["defs"] + LIB_CONFIG + h["inc"] +
        ["-I" + SRC, "-I" + os.path.join(ROOT, "tests"), "-I" + FW, '-DFW_NAME="%s"' % name])
    for s in h["sources"]:
        obj(s, "hash", h["defs"] + h["inc"] + ["-I" + SRC])
    for s in a["sources"]:
        obj(os.path.join(FW, s), "startup", ["-I" + FW])
    return jobs, roles


def link_cmd(name, arch, objs):
    a = ARCHES[arch]
    d = os.path.join(OUT, name)
    elf = os.path.join(d, name + ".elf")
    return [a["cc"]] + a["flags"] + ["-Os", "-nostartfiles", "-Wl,--gc-sections", "-T", os.path.join(FW, a["ld"]),
                                     "-Wl,-Map=" + os.path.join(d, name + ".map")] + a["link"] + \
        ["-o", elf] + objs, elf


def twin_cmd(hsh):
    h = hash_spec(hsh)
    exe = os.path.join(OUT, "host-" + hsh)
    return [HOST_CC, "-std=gnu99", "-O1", "-Wall", "-Wextra"] + h["defs"] + LIB_CONFIG + h["inc"] + \
        ["-I" + SRC, "-I" + os.path.join(ROOT, "tests"), "-I" + FW, "-o", exe,
         os.path.join(FW, "fw_main.c"), os.path.join(FW, "host.c"), os.path.join(SRC, "icbu_reflow.c")] + \
        h["sources"], exe


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


def parse_map(path):
    """Input sections of the memory map: [(output section, input section, size, file)]."""
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
                out.append((outsec, pending, int(f[1], 16), " ".join(f[2:])))
            pending = None
            continue
        if f[0] == "*fill*":
            if len(f) >= 3 and HEX.match(f[2]):
                out.append((outsec, "*fill*", int(f[2], 16), ""))
            continue
        if line.startswith(" ") and not line.startswith("  ") and (f[0].startswith(".") or f[0] == "COMMON"):
            if len(f) == 1:
                pending = f[0]
            elif len(f) >= 3 and HEX.match(f[1]) and HEX.match(f[2]):
                out.append((outsec, f[0], int(f[2], 16), " ".join(f[3:])))
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


def measure(name, arch, hsh, roles, mapfile, elf):
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
        seen, todo = set(), []
        for o in objs:
            todo.extend(undefined(a["nm"], o))
        while todo:
            s = todo.pop()
            m = defs.get(s)
            if m and m not in seen:
                seen.add(m)
                todo.extend(undefs[m])
        return seen

    need = {r: closure([o for o, rr in roles.items() if rr == r]) for r in ("library", "hash", "harness", "startup")}
    lib = {"text": 0, "rodata": 0, "data": 0}
    lib_sections = []
    for outsec, insec, size in by_file.get(lib_obj, []):
        kind = "text" if outsec == ".text" else "data" if outsec == ".data" else "rodata"
        lib[kind] += size
        lib_sections.append((insec, size, kind))
    hash_bytes = sum(size for o, r in roles.items() if r == "hash" for _, _, size in by_file.get(o, []))
    helpers = []
    for (archive, member), size in sorted(members.items(), key=lambda kv: (-kv[1], kv[0][1])):
        who = [r for r in ("library", "hash", "harness", "startup") if (archive, member) in need[r]]
        syms = sorted(s for s in archive_symbols(a["nm"], archive).get(member, (set(), set()))[0]
                      if not s.startswith("$"))
        helpers.append({"archive": os.path.basename(archive), "member": member, "bytes": size,
                        "symbols": syms, "needed_by": who})
    lib_helpers = sum(h["bytes"] for h in helpers if "library" in h["needed_by"])
    rc, out, _ = run([a["size"], "-A", elf])
    flash = 0
    for line in text(out).splitlines():
        f = line.split()
        if len(f) >= 2 and f[0] in FLASH_SECTIONS and f[1].isdigit():
            flash += int(f[1])
    lib_sections.sort(key=lambda x: -x[1])
    # cross-check: the sized icbu_ symbols of the library in the image (nm -S); string
    # literals and other anonymous read-only data have none, so this is at most the above
    hooks = ("icbu_custom_hash_init", "icbu_custom_hash_update", "icbu_custom_hash_final")
    rc, out, _ = run([a["nm"], "-S", "--defined-only", elf])
    named = 0
    for line in text(out).splitlines():
        f = line.split()
        if len(f) == 4 and f[3].startswith("icbu_") and f[3] not in hooks and f[2] in "tTrRdD":
            named += int(f[1], 16)
    return {"icbu_symbols": named, "library": lib, "library_total": sum(lib.values()), "helpers": helpers,
            "library_helpers": lib_helpers, "library_plus_helpers": sum(lib.values()) + lib_helpers,
            "hash": hash_bytes, "image_flash": flash, "library_sections": lib_sections,
            "library_undefined": sorted(undefined(a["nm"], lib_obj))}


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
def parse_output(out):
    r = {"bodies": {}, "json": None, "dates": [], "stack": {}, "fails": [], "begin": None, "end": None}
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
        elif kind == "fail":
            r["fails"].append(rest)
        elif line.startswith("fw begin "):
            r["begin"] = line[9:]
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


# ---------------------------------------------------------------- the page
def kb(n):
    return "%.1f KB (%d)" % (n / 1024.0, n)


def render(results, div, versions):
    names = [n for n, _, _ in IMAGES]
    L = []
    L.append("")
    L.append("### Flash, linked image (bytes)")
    L.append("")
    L.append("| image | library text | library read-only data | library data | of which `icbu_` symbols "
             "(`nm -S`) | libgcc/libc helpers the library pulls in | **library + helpers** | hash back end "
             "| whole image |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, arch, hsh in IMAGES:
        s = results[n]["size"]
        L.append("| %s | %d | %d | %d | %d | %d | **%s** | %d | %d |" % (
            n, s["library"]["text"], s["library"]["rodata"], s["library"]["data"], s["icbu_symbols"],
            s["library_helpers"], kb(s["library_plus_helpers"]), s["hash"], s["image_flash"]))
    L.append("")
    L.append("### Helpers from libgcc and the C library, itemized")
    L.append("")
    L.append("Every archive member linked into each image, with the bytes it adds to flash and what "
             "needs it (the closure of each object's undefined symbols over the members linked in): "
             "only those the library needs count in \"library + helpers\" above.")
    L.append("")
    L.append("| image | symbols | from | bytes | needed by |")
    L.append("|---|---|---|---:|---|")
    for n, arch, hsh in IMAGES:
        for h in results[n]["size"]["helpers"]:
            L.append("| %s | %s | %s(%s) | %d | %s |" % (
                n, ", ".join("`%s`" % s for s in h["symbols"][:4]) + (", …" if len(h["symbols"]) > 4 else ""),
                h["archive"], h["member"], h["bytes"], ", ".join(h["needed_by"]) or "—"))
    L.append("")
    L.append("### Peak stack, painted on the emulated MCU (bytes)")
    L.append("")
    L.append("| entry point | " + " | ".join(names) + " |")
    L.append("|---|" + "---:|" * len(names))
    for e in ENTRIES:
        L.append("| `%s` | %s |" % (e, " | ".join(str(results[n]["run"]["stack"].get(e, "—")) for n in names)))
    L.append("")
    L.append("### 64-bit division helpers in the library object")
    L.append("")
    found = [d for d in div if d.get("helpers")]
    bad = [d for d in div if d.get("error")]
    L.append("The implementation alone (`icbu_reflow.c`, custom back end), %d objects: %s × %s × -Os, -O2. "
             % (len(div), ", ".join(t[0] for t in DIV_TARGETS), ", ".join(c[0] for c in DIV_CONFIGS)) +
             ("None references %s." % ", ".join("`%s`" % h for h in DIV64) if not found and not bad else
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
    L.append("### Targets (Cortex-M4F -Os, build and sign)")
    L.append("")
    for line in targets(results):
        L.append("- " + line)
    L.append("")
    L.append("### Largest library sections, m4f-custom")
    L.append("")
    L.append("| input section | bytes | kind |")
    L.append("|---|---:|---|")
    for insec, size, kind in results["m4f-custom"]["size"]["library_sections"][:15]:
        L.append("| `%s` | %d | %s |" % (insec, size, kind))
    L.append("")
    L.append("Images: `-Os -ffunction-sections -fdata-sections`, linked with `--gc-sections`; Cortex-M4F is "
             "`%s` with `--specs=nano.specs` (newlib-nano), RV32IMAC is `%s` with `--specs=picolibc.specs`; "
             "startup code, linker scripts and semihosting of `tests/firmware/`; the library is `icbu_reflow.c` "
             "with `ICBU_REFLOW_NO_EXCHANGE` and `ICBU_REFLOW_NO_DECODER` (build and sign), and the program calls "
             "`icbu_s`, `icbu_n`, `icbu_b`, `icbu_d`, `icbu_sign_body`, `icbu_order_json`, `icbu_date_from_unix` "
             "and `icbu_date_format` only. Library: every input section of the library object in flash "
             "(code, read-only data including string literals, initialised data), from the linker's map, "
             "without alignment padding; the `icbu_` symbols are the part of it that has a sized symbol of its "
             "own (not the string literals). Hash back end: %s; %s, with `tests/firmware/mbedtls_config.h` (MD5 and "
             "SHA-256 only). Toolchains: `arm-none-eabi-gcc` %s, `riscv64-unknown-elf-gcc` %s, QEMU %s."
             % (" ".join(M4F), " ".join(RV32IMAC), hash_spec("custom")["label"], hash_spec("mbedtls")["label"],
                versions["arm"], versions["riscv"], versions["qemu"]))
    L.append("")
    L.append("Stack: painted with a pattern from the bottom of the stack up to the stack pointer at the call, "
             "then the deepest word no longer the pattern (two patterns, the larger result); it counts "
             "everything the call runs, hash back end and libc helpers included, on the path this input "
             "takes, so it is at most the static worst case of `docs/stack.md` (the deepest path over all "
             "inputs) for the same header and back end.")
    L.append("")
    L.append("Measured on %s by `tools/firmware.py`; `make docs-firmware` rewrites this block. "
             "`make test-firmware` builds, runs and checks the same images without comparing with this page."
             % header_id())
    return "\n".join(L) + "\n"


def targets(results):
    out = []
    s = results["m4f-custom"]["size"]["library_plus_helpers"]
    out.append("library + helpers ≤ %d bytes: %d, %s" % (
        TARGET_FLASH, s, "met" if s <= TARGET_FLASH else "not met (+%d, %.2f×)" % (s - TARGET_FLASH, s / float(TARGET_FLASH))))
    for n, hsh in (("m4f-custom", "custom"), ("m4f-mbedtls", "mbedtls")):
        st = results[n]["run"]["stack"]
        worst = max(st.get(e, 0) or 0 for e in ENTRIES[:3])
        lim = TARGET_STACK[hsh]
        out.append("painted `icbu_sign_body`, %s ≤ %d bytes: %d, %s" % (
            n, lim, worst, "met" if worst <= lim else "not met (+%d)" % (worst - lim)))
        others = [(e, st.get(e) or 0) for e in ENTRIES[3:] if (st.get(e) or 0) > TARGET_STACK_OTHER]
        out.append("every other entry point, %s ≤ %d bytes: %s" % (
            n, TARGET_STACK_OTHER, "met" if not others else "not met: " + ", ".join("%s %d" % o for o in others)))
    return out


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write", metavar="PAGE", help="rewrite the firmware-table block of PAGE")
    ap.add_argument("--json", metavar="FILE", help="write the measurements as JSON")
    args = ap.parse_args()
    t0 = time.time()
    rep = Report()

    # tools
    need = [ARM_CC, RISCV_CC, HOST_CC, QEMU_ARM, QEMU_RISCV32]
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
    for name, arch, hsh in IMAGES:
        os.makedirs(os.path.join(OUT, name))
        jobs, roles = image_jobs(name, arch, hsh)
        images[name] = {"arch": arch, "hash": hsh, "jobs": jobs, "roles": roles}
        compile_jobs += [(name, cmd) for cmd, _ in jobs]
    twins = {}
    for hsh in ("custom", "mbedtls"):
        cmd, exe = twin_cmd(hsh)
        twins[hsh] = {"exe": exe}
        compile_jobs.append(("host-" + hsh, cmd))
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

        # 2. link the images (and run twins) once their objects are there
        links = {}
        for name, im in images.items():
            if name in failed_units:
                continue
            cmd, elf = link_cmd(name, im["arch"], [o for _, o in im["jobs"]])
            im["elf"] = elf
            links[ex.submit(run, cmd)] = (name, cmd)
        for fut in concurrent.futures.as_completed(links):
            name, cmd = links[fut]
            rc, out, err = fut.result()
            if rc != 0:
                failed_units[name] = "%s\n    %s" % (" ".join(cmd), tail(out + err))

        # 3. run: QEMU and the host twins
        runs = {}
        for name, im in images.items():
            if name not in failed_units:
                printed = os.path.join(OUT, name, name + ".out")
                cmd = ARCHES[im["arch"]]["qemu"] + qemu_args(im["elf"], printed)
                im["qemu_cmd"] = cmd
                runs[ex.submit(run_qemu, cmd, printed)] = name
        for hsh, tw in twins.items():
            if "host-" + hsh not in failed_units:
                runs[ex.submit(run, [tw["exe"]], 60)] = "host-" + hsh
        outputs = {}
        for fut in concurrent.futures.as_completed(runs):
            outputs[runs[fut]] = fut.result()

    expected = json.load(open(os.path.join(ROOT, "tests", "data", "example_order.json"), encoding="utf-8"))
    want_json = json.dumps(expected, ensure_ascii=False, separators=(",", ":"))

    # host twins
    twin_out = {}
    for hsh in ("custom", "mbedtls"):
        unit = "host-" + hsh
        if not rep.ok(unit not in failed_units, "%s: host twin built" % unit, failed_units.get(unit, "")):
            continue
        rc, out, err = outputs[unit]
        r = parse_output(text(out))
        if rep.ok(rc == 0 and r["end"] == "ok" and not r["fails"] and set(r["bodies"]) == set(METHODS),
                  "%s: host twin ran to its end" % unit, "exit %d, %s %s" % (rc, r["fails"], tail(out + err))):
            twin_out[hsh] = r
    if len(twin_out) == 2:
        rep.ok(twin_out["custom"]["bodies"] == twin_out["mbedtls"]["bodies"] and
               twin_out["custom"]["json"] == twin_out["mbedtls"]["json"],
               "host twins: the custom hash and mbedTLS sign identically")

    results = {}
    for name, arch, hsh in IMAGES:
        im = images[name]
        tag = "%s (%s, %s)" % (name, ARCHES[arch]["label"], ARCHES[arch]["libc"])
        if not rep.ok(name not in failed_units, "%s: built and linked" % tag, failed_units.get(name, "")):
            continue
        rc, out, err = outputs[name]
        r = parse_output(text(out))
        ran = rep.ok(rc == 0 and r["begin"] == name and r["end"] == "ok" and not r["fails"],
                     "%s: ran on %s to its end" % (name, " ".join(im["qemu_cmd"][:3])),
                     "exit %d, fails %s\n    %s" % (rc, r["fails"], tail(out + err)))
        twin = twin_out.get(hsh)
        for m in METHODS:
            body = r["bodies"].get(m)
            if body is None:
                rep.ok(False, "%s %s: body printed" % (name, m))
                continue
            if twin is not None:
                rep.ok(body == twin["bodies"].get(m), "%s %s: body byte for byte the host twin's" % (name, m),
                       "differs from %s" % twins[hsh]["exe"])
            res, params = check_body.check_body(body, SECRET, expected)
            bad = [(n, d) for ok, n, d in res if not ok]
            if params.get("sign_method") != m:
                bad.append(("sign_method", repr(params.get("sign_method"))))
            if params.get("timestamp") != TIMESTAMP:
                bad.append(("timestamp", repr(params.get("timestamp"))))
            rep.ok(not bad, "%s %s: tests/check_body.py verifies signature, parameters and order (%d checks)"
                   % (name, m, len(res) + 2), "; ".join("%s: %s" % b for b in bad))
        rep.ok(r["json"] == want_json and (twin is None or r["json"] == twin["json"]),
               "%s: icbu_order_json is tests/data/example_order.json, byte for byte, and the twin's" % name,
               repr((r["json"] or "")[:80]))
        dates = [s for _, s in r["dates"]]
        rep.ok(bool(dates) and dates == expected_dates([t for t, _ in r["dates"]]) and
               (twin is None or r["dates"] == twin["dates"]),
               "%s: icbu_date_from_unix and icbu_date_format give %d dates as Python and the twin do"
               % (name, len(dates)), repr(r["dates"]))
        st = r["stack"]
        good = [e for e in ENTRIES if isinstance(st.get(e), int) and 0 < st[e] < STACK_SIZE]
        rep.ok(len(good) == len(ENTRIES), "%s: painted stack of %d entry points: %s" % (
            name, len(ENTRIES), ", ".join("%s %s" % (e, st.get(e)) for e in ENTRIES)),
            "missing or out of range: %s" % [e for e in ENTRIES if e not in good])
        size = measure(name, arch, hsh, im["roles"], os.path.join(OUT, name, name + ".map"), im["elf"])
        lib_h = [h for h in size["helpers"] if "library" in h["needed_by"]]
        rep.ok(size["library"]["text"] > 0, "%s: measured: library %d (text %d, rodata %d, data %d) + helpers %d "
               "(%s) = %d bytes; hash %d; image %d" % (
                   name, size["library_total"], size["library"]["text"], size["library"]["rodata"],
                   size["library"]["data"], size["library_helpers"],
                   ", ".join("%s %d" % ("/".join(h["symbols"][:2]) or h["member"], h["bytes"]) for h in lib_h),
                   size["library_plus_helpers"], size["hash"], size["image_flash"]),
               "no library section in the map")
        rep.ok(0 < size["icbu_symbols"] <= size["library_total"],
               "%s: the icbu_ symbols of the image (nm -S, %d bytes) are within the library's sections"
               % (name, size["icbu_symbols"]), "%d > %d" % (size["icbu_symbols"], size["library_total"]))
        if ran:
            results[name] = {"run": r, "size": size}

    # the 64-bit division check
    div_results = []
    compiled = [d for d in div if "div64:" + d["obj"] not in failed_units]
    for d in div:
        if "div64:" + d["obj"] in failed_units:
            rep.ok(False, "div64: %s, %s, %s compiles" % (d["target"], d["config"], d["opt"]),
                   failed_units["div64:" + d["obj"]])
            d["error"] = True
            continue
        d["helpers"] = div_helpers(d["nm"], d["objdump"], d["obj"])
        div_results.append(d)
    if compiled:
        rep.ok(True, "div64: undefined symbols of %d library objects read (%s; %s; -Os, -O2)" % (
            len(compiled), ", ".join(t[0] for t in DIV_TARGETS), ", ".join(c[0] for c in DIV_CONFIGS)))
    hits = [d for d in div_results if d["helpers"]]
    for d in hits:
        msg = "%s, %s, %s: %s" % (d["target"], d["config"], d["opt"], "; ".join(
            "%s from %s" % (h, ", ".join(sorted(fs))) for h, fs in sorted(d["helpers"].items())))
        if STRICT_DIV:
            rep.ok(False, "div64: no 64-bit division helper: " + msg)
        else:
            rep.note("64-bit division helper: " + msg)
    if not hits and compiled:
        rep.ok(True, "div64: no 64-bit division helper (%s) in any of them" % ", ".join(DIV64))
    elif not STRICT_DIV:
        rep.note("%d of %d objects reference a 64-bit division helper (FIRMWARE_STRICT_DIV=1 makes each a failure)"
                 % (len(hits), len(div_results)))

    # the targets, as notes
    if all(n in results for n, _, _ in IMAGES):
        for line in targets(results):
            rep.note("target: " + line.replace("`", ""))

    versions = {"arm": version(ARM_CC), "riscv": version(RISCV_CC), "qemu": version(QEMU_ARM)}
    if args.json:
        dump = {n: {"stack": v["run"]["stack"], "size": dict(v["size"], library_sections=None)}
                for n, v in results.items()}
        dump["div64"] = [{"target": d["target"], "config": d["config"], "opt": d["opt"],
                          "helpers": {h: sorted(f) for h, f in d["helpers"].items()}} for d in div_results]
        with open(args.json, "w") as f:
            json.dump(dump, f, indent=1, sort_keys=True)
    if args.write:
        if rep.failed or len(results) != len(IMAGES):
            sys.stderr.write("firmware.py: not writing %s: a check failed\n" % args.write)
        else:
            readme_block.sync(args.write, "firmware-table", render(results, div_results, versions), True,
                              "firmware.py")
    print("# %.1f s, %d jobs" % (time.time() - t0, JOBS))
    print("%d passed, %d failed" % (rep.passed, rep.failed))
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
