#!/usr/bin/env python3
"""Code size of icbu_reflow.h for firmware targets: docs/size.md's two tables.

Linked images (the first table, the one the issue's targets are about): for
each configuration and target, the library's flash in a linked, running image
and the libgcc and libc helpers it pulls in, each listed. The images are
tools/firmware.py's (`make test-firmware`: -Os, --gc-sections, the small custom
hash, newlib-nano on Cortex-M0+ and Cortex-M4F, picolibc on RV32IMAC, each
program calling its configuration's part of the library and checked as it runs
under QEMU); this script reads their measurements, BUILD/firmware-measured.json
(--measured), and measures nothing itself for that table: library = text +
read-only data + data of the library object's input sections in the linker's
map; helpers = the archive members the library object needs (the closure of its
undefined symbols), with the symbols that pull each in.

Unlinked objects (the second table): text + data of the *unlinked* object, read
with `<target>-size` (Berkeley format, so read-only data counts as text), for a
tiny generated .c that defines ICBU_REFLOW_CRYPTO_CUSTOM and
ICBU_REFLOW_IMPLEMENTATION (the FreeRTOS/AWS convention). With the custom back
end the three icbu_custom_hash_* functions are only declared, so no hash code is
counted. It needs no linker, C library or program: it is what other libraries
publish, it counts every function of a configuration whether a program calls it
or not, and it has -O1 columns and the PSA glue row.

One more row of it measures the PSA back end's glue: build and sign with
ICBU_REFLOW_CRYPTO_PSA, compiled against mbedTLS 2.28's PSA headers from the
Debian source package (BACKEND_SRC/mbedtls/include, fetched by
tools/fetch_backend_src.sh; the same headers for every column, default
config). psa_hash_* are only called, so no PSA Crypto code is counted. A
toolchain without libc headers (RV32IMC) cannot take those headers as they are
(time.h, stdio.h): its PSA build undefines, through MBEDTLS_USER_CONFIG_FILE,
the three options that pull them in (PSA_CONFIG_OVERRIDE, none on the hash
path), and the script checks that the override changes no byte of the
object on every column that does not need it.

    python3 tools/size.py                      print both blocks
    python3 tools/size.py --write docs/size.md rewrite the size-linked and
                                               size-table blocks (`make docs`)
    python3 tools/size.py --budget docs/size.md check the linked "library +
                                               helpers" figures and every figure of
                                               the unlinked table against the
                                               published ones plus a tolerance, and
                                               the targets once met (tools/budget.py;
                                               `make test`)
    python3 tools/size.py --check docs/size.md exit 1 (with a diff) unless the
                                               blocks are byte for byte the same

Environment: ARM_CC (arm-none-eabi-gcc), ARM_SIZE (arm-none-eabi-size),
ARM_NM (arm-none-eabi-nm, for the largest symbols),
RISCV_CC (riscv64-unknown-elf-gcc), RISCV_SIZE (riscv64-unknown-elf-size,
falling back to ARM_SIZE), BUILD (build), BACKEND_SRC (build/backend-src).
Python 3 standard library only.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import readme_block  # noqa: E402  tools/readme_block.py
import budget  # noqa: E402  tools/budget.py


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ROWS = [
    ("build and sign", ["ICBU_REFLOW_NO_EXCHANGE", "ICBU_REFLOW_NO_DECODER"]),
    ("full client", ["ICBU_REFLOW_NO_DECODER"]),
    ("full client + decoder", []),
]

# (label, defines): the PSA back end's row, after ROWS; not in the targets
PSA_ROW = ("build and sign, PSA back end", ["ICBU_REFLOW_NO_EXCHANGE", "ICBU_REFLOW_NO_DECODER"])
# Where mbedTLS 2.28's default config makes the PSA headers include libc
# headers: MBEDTLS_HAVE_TIME_DATE (time.h, via platform_util.h), MBEDTLS_FS_IO
# (stdio.h, via bignum.h), and MBEDTLS_PSA_ITS_FILE_C, which check_config.h
# refuses without MBEDTLS_FS_IO. None changes psa_hash_operation_t.
PSA_CONFIG_OVERRIDE = ["MBEDTLS_HAVE_TIME_DATE", "MBEDTLS_FS_IO", "MBEDTLS_PSA_ITS_FILE_C"]
PSA_CONFIG_FILE = "icbu_psa_user_config.h"
# The targets, linked, Cortex-M4F -Os, without the hash back end (bytes), each
# for an image's configuration and counted in a column of the linked table: build and
# sign as the check counts it (an image that signs the example order and does
# nothing else; the library + its libgcc helpers), the full client with every helper
# (libgcc and libc). A budget once met (tools/budget.py).
GCC_TOTAL = "library + libgcc"
TOTAL = "library + helpers"
TARGETS = (("sign only", 5 * 1024, GCC_TOTAL, "build and sign"),
           ("sign only, no libc", 5 * 1024, TOTAL, "build and sign with every helper"),
           ("full client", 11 * 1024, TOTAL, "full client"))
TARGET_COLUMN = "Cortex-M4F -Os"
# The linked table: its configurations and targets (tools/firmware.py's images with
# the custom hash), and the image whose largest input sections are listed
LINKED_CONFIGS = ("signonly", "nolibc", "sign", "client", "full")
LINKED_ARCHES = ("m0p", "m4f", "rv32")
LINKED_HASH = "custom"
SECTIONS_OF = "m4f-sign-custom"
SECTIONS_SHOWN = 15
# Where the bytes go: the largest symbols of this object (row label, column key)
SYMBOLS_OF = ("full client + decoder", "m4-Os")
SYMBOLS_SHOWN = 15

COMMON = ["-std=gnu99", "-DNDEBUG"]
M0 = ["-mcpu=cortex-m0plus", "-mthumb"]
M4 = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
RV = ["-march=rv32imc", "-mabi=ilp32", "-ffreestanding"]

MEM_OVERRIDES = (
    "#define ICBU_MEMCPY(d, s, n) __builtin_memcpy(d, s, n)\n"
    "#define ICBU_MEMMOVE(d, s, n) __builtin_memmove(d, s, n)\n"
    "#define ICBU_MEMSET(d, c, n) __builtin_memset(d, c, n)\n"
    "#define ICBU_MEMCMP(a, b, n) __builtin_memcmp(a, b, n)\n"
    "#define ICBU_STRLEN(p) __builtin_strlen(p)\n"
)


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, **kw)
    if p.returncode != 0:
        sys.stderr.write("size.py: command failed: %s\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
        sys.exit(2)
    return p


def tool(env, default):
    return os.environ.get(env, default)


def has_header(cc, flags, header, workdir):
    src = os.path.join(workdir, "probe_%s.c" % re.sub(r"\W", "_", header))
    with open(src, "w") as f:
        f.write("#include <%s>\nint icbu_probe;\n" % header)
    p = subprocess.run([cc] + flags + ["-fsyntax-only", src], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    return p.returncode == 0


def version(cc):
    out = run([cc, "--version"]).stdout.splitlines()[0]
    m = re.search(r"(\d+\.\d+\.\d+)", out)
    return m.group(1) if m else out


def columns():
    arm_cc = tool("ARM_CC", "arm-none-eabi-gcc")
    arm_size = tool("ARM_SIZE", "arm-none-eabi-size")
    rv_cc = tool("RISCV_CC", "riscv64-unknown-elf-gcc")
    rv_size = os.environ.get("RISCV_SIZE") or (
        "riscv64-unknown-elf-size" if shutil.which("riscv64-unknown-elf-size") else arm_size)
    return [
        # (heading, compiler, size tool, flags, key)
        ("Cortex-M0+ -O1", arm_cc, arm_size, M0 + ["-O1"], "m0-O1"),
        ("Cortex-M0+ -Os", arm_cc, arm_size, M0 + ["-Os"], "m0-Os"),
        ("Cortex-M4F -O1", arm_cc, arm_size, M4 + ["-O1"], "m4-O1"),
        ("Cortex-M4F -Os", arm_cc, arm_size, M4 + ["-Os"], "m4-Os"),
        ("RV32IMC -Os", rv_cc, rv_size, RV + ["-Os"], "rv32-Os"),
    ]


def direct_includes(cc, flags, src):
    """Headers the library header includes itself (depth 2 in gcc -H)."""
    p = run([cc] + flags + ["-H", "-fsyntax-only", src])
    inc = set()
    for line in p.stderr.splitlines():
        m = re.match(r"^(\.+) (.*)$", line)
        if m and len(m.group(1)) == 2:
            inc.add(os.path.basename(m.group(2)))
    return inc


def mbedtls_include():
    inc = os.path.join(os.path.abspath(os.environ.get("BACKEND_SRC", os.path.join(
        os.environ.get("BUILD", os.path.join(ROOT, "build")), "backend-src"))), "mbedtls", "include")
    if not os.path.exists(os.path.join(inc, "psa", "crypto.h")):
        sys.stderr.write("size.py: no %s/psa/crypto.h (run `make backend-src` or "
                         "tools/fetch_backend_src.sh)\n" % inc)
        sys.exit(2)
    with open(os.path.join(inc, "mbedtls", "version.h")) as f:
        m = re.search(r'#define MBEDTLS_VERSION_STRING\s+"([^"]+)"', f.read())
    if not m:
        sys.stderr.write("size.py: no MBEDTLS_VERSION_STRING in %s/mbedtls/version.h\n" % inc)
        sys.exit(2)
    return inc, m.group(1)


def debian_version(inc):
    """The Debian source package the headers come from (its .dsc), if any."""
    src = os.path.dirname(os.path.dirname(inc))
    dsc = sorted(f for f in os.listdir(src) if re.match(r"mbedtls_.*\.dsc$", f))
    return dsc[-1][len("mbedtls_"):-len(".dsc")] if dsc else None


def compile_size(cc, size, flags, src, obj):
    run([cc] + flags + ["-c", src, "-o", obj])
    out = run([size, obj]).stdout.splitlines()
    text, data, bss = [int(x) for x in out[1].split()[:3]]
    return text + data, bss


def write_unit(src, header, override, defs, crypto, psa_config):
    with open(src, "w") as f:
        f.write("/* generated by tools/size.py */\n")
        if override:
            f.write(MEM_OVERRIDES)
        if psa_config:
            f.write('#define MBEDTLS_USER_CONFIG_FILE "%s"\n' % PSA_CONFIG_FILE)
        for d in defs:
            f.write("#define %s\n" % d)
        f.write("#define %s\n#define ICBU_REFLOW_IMPLEMENTATION\n" % crypto)
        f.write('#include "%s"\n' % os.path.basename(header))


def sizeof_psa_op(cc, size, flags, build, key, cut):
    """sizeof(psa_hash_operation_t) for this column: the bss of a probe object."""
    src = os.path.join(build, "%s_sizeof_psa_op.c" % key)
    with open(src, "w") as f:
        if cut:
            f.write('#define MBEDTLS_USER_CONFIG_FILE "%s"\n' % PSA_CONFIG_FILE)
        f.write("#include <psa/crypto.h>\nchar icbu_sizeof_op[sizeof(psa_hash_operation_t)];\n")
    return compile_size(cc, size, flags + ["-fno-common"], src, src[:-2] + ".o")[1]


def measure(header, build):
    os.makedirs(build, exist_ok=True)
    hdir = os.path.dirname(os.path.abspath(header))
    cols = columns()
    results = {}
    notes = {"bss": set(), "overrides": [], "includes": {}, "psa_includes": {},
             "psa_config": [], "psa_same": [], "psa_differ": [], "psa_op": {}}
    psa_inc, notes["mbedtls"] = mbedtls_include()
    notes["mbedtls_deb"] = debian_version(psa_inc)
    with open(os.path.join(build, PSA_CONFIG_FILE), "w") as f:
        f.write("/* generated by tools/size.py: what makes mbedTLS's PSA headers include\n"
                " * libc headers, for a toolchain that has none */\n")
        for o in PSA_CONFIG_OVERRIDE:
            f.write("#undef %s\n" % o)
    for heading, cc, size, flags, key in cols:
        if not shutil.which(cc):
            sys.stderr.write("size.py: %s not found\n" % cc)
            sys.exit(2)
        base = COMMON + flags + ["-I", hdir]
        # No libc headers (bare riscv64-unknown-elf-gcc): use the compiler's builtins.
        override = not has_header(cc, base, "string.h", build)
        if override:
            notes["overrides"].append(heading)
        for label, defs in ROWS:
            tag = "%s_%s" % (key, re.sub(r"\W+", "_", label))
            src = os.path.join(build, tag + ".c")
            obj = os.path.join(build, tag + ".o")
            with open(src, "w") as f:
                f.write("/* generated by tools/size.py */\n")
                if override:
                    f.write(MEM_OVERRIDES)
                for d in defs:
                    f.write("#define %s\n" % d)
                f.write("#define ICBU_REFLOW_CRYPTO_CUSTOM\n#define ICBU_REFLOW_IMPLEMENTATION\n")
                f.write('#include "%s"\n' % os.path.basename(header))
            run([cc] + base + ["-c", src, "-o", obj])
            out = run([size, obj]).stdout.splitlines()
            text, data, bss = [int(x) for x in out[1].split()[:3]]
            results[(label, key)] = text + data
            if bss:
                notes["bss"].add("%s %s: %d" % (label, heading, bss))
            if label == ROWS[-1][0]:
                notes["includes"][heading] = direct_includes(cc, base, src)
        # The PSA back end's glue: the same headers for every column; the
        # config override only where the default config cannot compile.
        label, defs = PSA_ROW
        pbase = base + ["-I", psa_inc, "-I", build]
        tag = "%s_%s" % (key, re.sub(r"\W+", "_", label))
        src, obj = os.path.join(build, tag + ".c"), os.path.join(build, tag + ".o")
        cut = not has_header(cc, pbase, "psa/crypto.h", build)
        write_unit(src, header, override, defs, "ICBU_REFLOW_CRYPTO_PSA", cut)
        results[(label, key)], bss = compile_size(cc, size, pbase, src, obj)
        if bss:
            notes["bss"].add("%s %s: %d" % (label, heading, bss))
        notes["psa_includes"][heading] = direct_includes(cc, pbase, src)
        notes["psa_op"][heading] = sizeof_psa_op(cc, size, pbase, build, key, cut)
        if cut:
            notes["psa_config"].append(heading)
        else:
            # the override must not change what is measured where it is not needed
            csrc, cobj = src[:-2] + "_cut.c", obj[:-2] + "_cut.o"
            write_unit(csrc, header, override, defs, "ICBU_REFLOW_CRYPTO_PSA", True)
            same = compile_size(cc, size, pbase, csrc, cobj)[0] == results[(label, key)]
            notes["psa_same" if same else "psa_differ"].append(heading)
    notes["header"] = header
    notes["symbols"] = largest_symbols(os.path.join(build, "%s_%s.o" % (
        SYMBOLS_OF[1], re.sub(r"\W+", "_", SYMBOLS_OF[0]))))
    return cols, results, notes


def largest_symbols(obj):
    """(name, bytes, kind) of every sized symbol of obj, largest first
    (arm-none-eabi-nm -S); kind: code, read-only data, data or bss."""
    nm = tool("ARM_NM", "arm-none-eabi-nm")
    out = []
    for line in run([nm, "-S", "--size-sort", obj]).stdout.splitlines():
        p = line.split()
        if len(p) == 4:
            kind = {"t": "code", "r": "read-only data", "d": "data", "b": "bss"}.get(p[2].lower(), p[2])
            out.append((p[3], int(p[1], 16), kind))
    return sorted(out, key=lambda x: (-x[1], x[0]))


def kb(n):
    return "%.1f KB (%d)" % (n / 1024.0, n)


def render_table(cols, results):
    lines = []
    lines.append("| configuration | " + " | ".join(c[0] for c in cols) + " |")
    lines.append("|---|" + "---:|" * len(cols))
    for label, defs in ROWS:
        flags = " + ".join(d.replace("ICBU_REFLOW_", "") for d in defs) or "nothing left out"
        cells = [kb(results[(label, c[4])]) for c in cols]
        lines.append("| %s (%s) | %s |" % (label, flags, " | ".join(cells)))
    label, defs = PSA_ROW
    cells = [kb(results[(label, c[4])]) for c in cols]
    lines.append("| %s (%s; hash calls only, no PSA code) | %s |"
                 % (label, " + ".join(d.replace("ICBU_REFLOW_", "") for d in defs), " | ".join(cells)))
    return "\n".join(lines) + "\n"


def render(cols, results, notes):
    arm_cc = tool("ARM_CC", "arm-none-eabi-gcc")
    rv_cc = tool("RISCV_CC", "riscv64-unknown-elf-gcc")
    lines = render_table(cols, results).rstrip("\n").split("\n")
    lines.append("")
    lines.append("Code size: text + data of the unlinked object, in KB of 1024 bytes (bytes in "
                 "brackets), measured by `tools/size.py` with `%s` %s and `%s` %s, all "
                 "`-std=gnu99 -DNDEBUG`; Cortex-M4F is `-mfloat-abi=hard -mfpu=fpv4-sp-d16`, "
                 "RV32IMC is `-march=rv32imc -mabi=ilp32 -ffreestanding`. The hash back end is "
                 "not included (built with `ICBU_REFLOW_CRYPTO_CUSTOM`, the three "
                 "`icbu_custom_hash_*` functions only declared). Read-only data (schema "
                 "tables, strings) counts as text; bss is %s."
                 % (arm_cc, version(arm_cc), rv_cc, version(rv_cc),
                    "0 in every build" if not notes["bss"] else
                    "not 0: " + ", ".join(sorted(notes["bss"]))))
    label = PSA_ROW[0]
    glue = [(c[0], results[(label, c[4])] - results[(ROWS[0][0], c[4])]) for c in cols]
    m4 = [g for h, g in glue if h == "Cortex-M4F -Os"]
    ops = notes["psa_op"]
    if len(set(ops.values())) == 1:
        psa_op = "; `psa_hash_operation_t` is %d bytes in every column" % list(ops.values())[0]
    else:
        psa_op = "; `psa_hash_operation_t`: " + ", ".join("%s %d bytes" % (c[0], ops[c[0]]) for c in cols)
    lines.append("")
    lines.append("PSA back end: the build-and-sign object with `ICBU_REFLOW_CRYPTO_PSA` instead of the "
                 "custom back end, compiled against mbedTLS %s's PSA headers (%sits `include/`, the "
                 "same headers for every column, default config%s); `psa_hash_setup`/`update`/"
                 "`finish`/`abort` are only called, so this is the library's glue alone, no PSA "
                 "Crypto code: %s bytes over the custom back end's build and sign%s%s."
                 % (notes["mbedtls"],
                    "Debian's source package %s, " % notes["mbedtls_deb"] if notes["mbedtls_deb"] else "",
                    "" if not notes["psa_config"] else
                    " except on %s, below" % ", ".join(notes["psa_config"]),
                    "%+d" % glue[0][1] if min(g for h, g in glue) == max(g for h, g in glue) else
                    "%+d to %+d" % (min(g for h, g in glue), max(g for h, g in glue)),
                    " (Cortex-M4F -Os: %+d)" % m4[0] if m4 else "",
                    psa_op))
    if notes["psa_config"]:
        lines.append("")
        lines.append("%s, PSA back end: those headers include `time.h` and `stdio.h`, which the "
                     "toolchain lacks, so the generated file names a `MBEDTLS_USER_CONFIG_FILE` that "
                     "undefines %s (none is on the hash path)%s."
                     % (", ".join(notes["psa_config"]),
                        ", ".join("`%s`" % o for o in PSA_CONFIG_OVERRIDE[:-1]) +
                        " and `%s`" % PSA_CONFIG_OVERRIDE[-1],
                        "; on %s the same override gives the same bytes" % ", ".join(notes["psa_same"])
                        if notes["psa_same"] and not notes["psa_differ"] else
                        "; on %s the same override changes the size" % ", ".join(notes["psa_differ"])
                        if notes["psa_differ"] else ""))
    if notes["overrides"]:
        inc = set()
        for h in notes["overrides"]:
            inc |= notes["includes"][h]
        lines.append("")
        lines.append("%s: the toolchain has no libc headers (no `string.h`), so the generated "
                     "file defines `ICBU_MEMCPY`/`ICBU_MEMMOVE`/`ICBU_MEMSET`/`ICBU_MEMCMP`/`ICBU_STRLEN` "
                     "as the `__builtin_` functions of the same names;"
                     " the header then includes only %s."
                     % (", ".join(notes["overrides"]),
                        " and ".join("`%s`" % i for i in sorted(inc)) or "nothing"))
    syms = notes["symbols"]
    if syms:
        heading = [c[0] for c in cols if c[4] == SYMBOLS_OF[1]][0]
        total = results[(SYMBOLS_OF[0], SYMBOLS_OF[1])]
        kinds = {}
        for name, n, kind in syms:
            kinds[kind] = kinds.get(kind, 0) + n
        lines.append("")
        lines.append("Where the bytes go, %s, %s: the %d largest of its %d sized symbols "
                     "(`arm-none-eabi-nm -S --size-sort`). The sized symbols add up to %s of the %d "
                     "bytes above; the rest (string literals such as the status texts, padding) "
                     "has no symbol of its own."
                     % (SYMBOLS_OF[0], heading, min(SYMBOLS_SHOWN, len(syms)), len(syms),
                        " and ".join("%s %d" % (k, v) for k, v in sorted(kinds.items(), key=lambda x: -x[1])),
                        total))
        lines.append("")
        lines.append("| symbol | bytes | kind |")
        lines.append("|---|---:|---|")
        for name, n, kind in syms[:SYMBOLS_SHOWN]:
            lines.append("| `%s` | %d | %s |" % (name, n, kind))
    lines.append("")
    lines.append("Measured on %s. `make test` checks every figure of the table against this "
                 "page: at most %s over the figure published here (tools/budget.py). `make docs` "
                 "rewrites the page." % (budget.header_id(notes["header"]), budget.SIZE_RULE))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- linked images
def linked_images(m):
    """{(configuration, arch): image} of the linked table, from the measurements."""
    out = {}
    for name, im in m["images"].items():
        if im["hash"] == LINKED_HASH and im["config"] in LINKED_CONFIGS and im["arch"] in LINKED_ARCHES:
            out[(im["config"], im["arch"])] = dict(im, name=name)
    return out


def target_of(config_label, target, column):
    """The issue's target for this figure of the linked table, or None."""
    for label, limit, col, _ in TARGETS:
        if label == config_label and target == TARGET_COLUMN and col == column:
            return limit
    return None


def libgcc_bytes(im):
    """The libgcc members the library needs (no C library member)."""
    return sum(h["bytes"] for h in im["size"]["helpers"]
               if "library" in h["needed_by"] and h["archive"].startswith("libgcc"))


def counted(im, column):
    """An image's figure in one of the two totals of the linked table."""
    s = im["size"]
    return s["library_total"] + libgcc_bytes(im) if column == GCC_TOTAL else s["library_plus_helpers"]


def render_linked_table(m):
    imgs = linked_images(m)
    L = ["| configuration | target | library text | library read-only data | library data "
         "| libgcc helpers | libc helpers | **%s** | **%s** |" % (GCC_TOTAL, TOTAL),
         "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for c in LINKED_CONFIGS:
        for a in LINKED_ARCHES:
            im = imgs.get((c, a))
            if im is None:
                continue
            s = im["size"]
            gcc = libgcc_bytes(im)
            L.append("| %s | %s | %d | %d | %d | %d | %d | **%s** | **%s** |" % (
                im["config_label"], im["target"], s["library"]["text"], s["library"]["rodata"],
                s["library"]["data"], gcc, s["library_helpers"] - gcc, kb(counted(im, GCC_TOTAL)),
                kb(s["library_plus_helpers"])))
    return "\n".join(L) + "\n"


def fmt(n):
    return "{:,}".format(n)


def against(got, limit):
    return "met (%s to spare)" % fmt(limit - got) if got <= limit else \
        "not met: %s over (%.2f× the target)" % (fmt(got - limit), got / float(limit))


def linked_targets(m):
    """The issue's flash targets against the linked figures, one phrase each."""
    imgs = linked_images(m)
    out = []
    for label, limit, column, name in TARGETS:
        im = next((i for i in imgs.values() if i["config_label"] == label and i["target"] == TARGET_COLUMN), None)
        if im is None:
            out.append("%s ≤ %s bytes: not measured" % (name, fmt(limit)))
            continue
        got = counted(im, column)
        text = "%s ≤ %s bytes, the %s image's %s: %s, %s" % (
            name, fmt(limit), label, column, fmt(got), against(got, limit))
        if column == GCC_TOTAL:
            allh = im["size"]["library_plus_helpers"]
            text += " (with its C library helpers as well, %s: %s, %s)" % (TOTAL, fmt(allh), against(allh, limit))
        out.append(text)
    return out


def render_helpers(m):
    """Every libgcc/libc member the library needs, per target: the symbols by which
    it is pulled in, its bytes, the configurations that need it, who else does."""
    imgs = linked_images(m)
    L = ["| target | symbols the library needs | archive member | bytes | configurations | also needed by |",
         "|---|---|---|---:|---|---|"]
    labels = [CONFIG_LABEL[c] for c in LINKED_CONFIGS]
    for a in LINKED_ARCHES:
        found = {}
        for c in LINKED_CONFIGS:
            im = imgs.get((c, a))
            for h in (im["size"]["helpers"] if im else []):
                if "library" not in h["needed_by"]:
                    continue
                f = found.setdefault((h["archive"], h["member"]), {
                    "bytes": h["bytes"], "wants": set(), "configs": [], "others": set(), "target": im["target"]})
                f["wants"] |= set(h["library_wants"])
                f["configs"].append(CONFIG_LABEL[c])
                f["others"] |= set(h["needed_by"]) - {"library"}
        for (archive, member), f in sorted(found.items(), key=lambda kv: (-kv[1]["bytes"], kv[0][1])):
            L.append("| %s | %s | %s(%s) | %d | %s | %s |" % (
                f["target"], ", ".join("`%s`" % w for w in sorted(f["wants"])), archive, member, f["bytes"],
                "all" if f["configs"] == labels else ", ".join(f["configs"]),
                ", ".join(r for r in ("hash", "harness", "startup") if r in f["others"]) or "—"))
    return L


CONFIG_LABEL = {"signonly": "sign only", "nolibc": "sign only, no libc", "sign": "build and sign", "client": "full client",
                "full": "full client + decoder"}


def render_linked(m, header):
    L = render_linked_table(m).rstrip("\n").split("\n")
    L.append("")
    L.append("Targets, %s: %s." % (TARGET_COLUMN, "; ".join(linked_targets(m))))
    L.append("")
    L.append("Bytes of flash in the linked images of `tools/firmware.py` (`make test-firmware`), "
             "read from the linker's map: library = every input section of the library object in flash "
             "(code, read-only data with its string literals, initialised data; no alignment padding); "
             "helpers = the libgcc and C library members the library object needs (the closure of its "
             "undefined symbols over the members linked in), listed below. In KB of 1024 bytes, bytes in "
             "brackets. Every image is `-Os -ffunction-sections -fdata-sections`, linked with "
             "`--gc-sections`, with the small custom hash (`ICBU_REFLOW_CRYPTO_CUSTOM`, "
             "`tests/firmware/fw_hash.c`, not counted); Cortex-M0+ and Cortex-M4F with newlib-nano, "
             "RV32IMAC with picolibc; each program calls its configuration's part of the library and runs "
             "to its end under QEMU (what it calls: [firmware.md](firmware.md)). Configurations: sign only "
             "and build and sign are `ICBU_REFLOW_NO_EXCHANGE` + `ICBU_REFLOW_NO_DECODER` (sign only: a "
             "program that signs the example order and does nothing else, the image the issue's check "
             "links; sign only, no libc: the same with `ICBU_REFLOW_NO_LIBC`, the library's own "
             "byte loops for the five `string.h` calls, so that it needs no C library; build and sign "
             "also writes the order's JSON and dates), full client "
             "`ICBU_REFLOW_NO_DECODER`, full client + decoder nothing left out. %s: the library and the "
             "libgcc members it needs, as the issue's check counts; %s: and the C library's too." % (
                 GCC_TOTAL, TOTAL))
    sign = m["images"].get("m4f-sign-mbedtls")
    full = m["images"].get("m4f-full-mbedtls")
    imgs = linked_images(m)
    if sign and full and ("sign", "m4f") in imgs and ("full", "m4f") in imgs:
        d1 = sign["size"]["library_plus_helpers"] - imgs[("sign", "m4f")]["size"]["library_plus_helpers"]
        d2 = full["size"]["library_plus_helpers"] - imgs[("full", "m4f")]["size"]["library_plus_helpers"]
        L.append("")
        L.append("With mbedTLS instead of the custom hash (its own code not counted either), the library's "
                 "glue for it makes library + helpers %+d bytes in build and sign and %+d in full client + "
                 "decoder (Cortex-M4F -Os)." % (d1, d2))
    L.append("")
    L.append("Helpers, every member the library needs, by target (the symbols by which the library pulls "
             "each in, directly or through another helper; \"also needed by\": the other objects of the "
             "test image that need it, which an application may well have too):")
    L.append("")
    L += render_helpers(m)
    secs = m["images"].get(SECTIONS_OF)
    if secs:
        total = secs["size"]["library_total"]
        L.append("")
        L.append("Where the bytes go, %s, %s: the %d largest of the library's input sections (of %s "
                 "bytes), string literals (`.rodata.str1.1`) included." % (
                     secs["config_label"], secs["target"], SECTIONS_SHOWN, fmt(total)))
        L.append("")
        L.append("| input section | bytes | kind |")
        L.append("|---|---:|---|")
        for insec, size, kind in secs["size"]["library_sections"][:SECTIONS_SHOWN]:
            L.append("| `%s` | %d | %s |" % (insec, size, kind))
    L += render_stages(m, header)
    L.append("")
    L.append("Measured on %s (toolchains: `arm-none-eabi-gcc` %s, `riscv64-unknown-elf-gcc` %s). "
             "`make test` checks the \"%s\" and \"%s\" columns against this page: at most %s over the "
             "figure published here, and a target above is a budget once it is met (tools/budget.py). "
             "`make docs` rewrites the page." % (
                 budget.header_id(header), m["versions"]["arm"], m["versions"]["riscv"], GCC_TOTAL, TOTAL,
                 budget.SIZE_RULE))
    return "\n".join(L) + "\n"


def header_stages(header):
    """{name: stage} for every function and table the header's implementation
    defines: the stage is the title of the section banner above it (the header
    reads top to bottom as the data flows, one stage per section)."""
    lines = open(header, encoding="utf-8").read().split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith("#if defined(ICBU_REFLOW_IMPLEMENTATION)"))
    stage, out = "start", {}
    for line in lines[start:]:
        b = re.match(r"/\* [-=]{6,} ?([^*]*?)\s*(\*/)?$", line)
        if b and b.group(1):
            title = b.group(1)
            if title.startswith("end of the fast paths"):
                title = "JSON writer"
            stage = "JSON writer" if title == "fast paths" else title
            continue
        if line[:1] in (" ", "\t", "#", "/", "*", "}") or not line:
            continue
        for name in re.findall(r"\b(icbu_{1,2}\w+)\s*(?:[\[(]|= )", line):
            out.setdefault(name, stage)
        if re.match(r"^ICBU_\w+_TYPES\(ICBU__FTAB\)", line):
            out.setdefault("icbu__f_*", stage)      # the field tables ICBU__FTAB makes
    return out


def render_stages(m, header):
    """The library's bytes in the linked build-and-sign and full-client images
    (Cortex-M4F -Os, custom hash), by the header's stage: where a smaller
    design would have to cut."""
    stages = header_stages(header)
    cols = [(c, m["images"].get("m4f-%s-custom" % c)) for c in ("sign", "client")]
    cols = [(c, im) for c, im in cols if im and im["size"].get("library_sections")]
    if not cols:
        return []
    per, order = {}, []
    for c, im in cols:
        for insec, size, _ in im["size"]["library_sections"]:
            name = insec.split(".")[2] if insec.count(".") >= 2 else insec
            st = stages.get(name, stages.get("icbu__f_*") if name.startswith("icbu__f_") else None)
            if st is None:                          # literals, and a function's own static table
                st = "string literals" if insec.startswith(".rodata.str") else \
                     "tables inside functions (%s)" % ", ".join(sorted(set(
                         sec.split(".")[2] for c2, im2 in cols for sec, _, _ in im2["size"]["library_sections"]
                         if sec.count(".") >= 3 and not sec.startswith(".rodata.str") and
                         sec.split(".")[2] not in stages)))
            if st not in order:
                order.append(st)
            per.setdefault(st, {})[c] = per.get(st, {}).get(c, 0) + size
        per.setdefault("libgcc/libc helpers", {})[c] = im["size"]["library_helpers"]
    order.append("libgcc/libc helpers")
    order.sort(key=lambda st: -per[st].get(cols[0][0], 0))
    L = ["", "By the header's stage (the section of `icbu_reflow.h` that defines each function and "
         "table), Cortex-M4F -Os, the custom hash's images:", "",
         "| stage | " + " | ".join(im["config_label"] for _, im in cols) + " |",
         "|---|" + "---:|" * len(cols)]
    for st in order:
        L.append("| %s | %s |" % (st, " | ".join(str(per[st].get(c, 0)) for c, _ in cols)))
    L.append("| **library + helpers** | %s |" % " | ".join(
        "**%d**" % im["size"]["library_plus_helpers"] for _, im in cols))
    return L


def linked_figures(table, column):
    """{(configuration, target): bytes} of one total's column of a linked table
    (headings, rows), and the cells that do not read."""
    heads, rows = table
    out, bad = {}, []
    col = [i for i, h in enumerate(heads) if h.strip("*") == column]
    if not col:
        return out, ["no \"%s\" column" % column]
    for r in rows:
        if len(r) != len(heads):
            bad.append("row %r has %d cells, the heading %d" % (r[:2], len(r), len(heads)))
            continue
        v = cell_bytes(r[col[0]].strip("*"))
        if v is None:
            bad.append("cannot read %r (row %r)" % (r[col[0]], r[:2]))
        else:
            out[(r[0], r[1])] = v
    return out, bad


def check_budget(page, cols, results, m, why):
    """The linked figures and every unlinked one against the page's tables
    (tools/budget.py)."""
    b = budget.Budget("size.py")
    n = check_linked(b, page, m, why)
    got = budget.page_and_measured(b, page, "size-table", render_table(cols, results), cell_bytes)
    if got is None:
        return b.finish()
    published, mine = got
    budget.compare(b, mine, published, budget.size_tolerance)
    return b.finish("%d linked and %d unlinked figures measured against %s (tolerance: %s)"
                    % (n, len(mine), page, budget.SIZE_RULE))


def check_linked(b, page, m, why):
    """Both totals of every linked image against the page's size-linked table, and
    the targets once met; the number of figures checked."""
    if m is None:
        b.fail("linked images", why)
        return 0
    pub = budget.published_or_fail(b, page, "size-linked", "make docs-size")
    if pub is None:
        return 0
    imgs = linked_images(m)
    n = 0
    for column in (GCC_TOTAL, TOTAL):
        published, bad = linked_figures(pub, column)
        for msg in bad:
            b.fail(page, msg)
        for c in LINKED_CONFIGS:
            for a in LINKED_ARCHES:
                im = imgs.get((c, a))
                if im is None:
                    b.fail("linked %s, %s" % (CONFIG_LABEL[c], a), "no such image in the measurements")
                    continue
                key = (im["config_label"], im["target"])
                what = "linked %s, %s, %s" % (key + (column,))
                if not im["ok"]:
                    b.fail(what, "image %s failed its checks (`make test-firmware` says which)" % im["name"])
                    continue
                limit = target_of(key[0], key[1], column)
                pubv = published.get(key)
                b.figure(what, counted(im, column), pubv,
                         budget.size_tolerance(pubv) if pubv is not None else 0, limit,
                         " (%s ≤ %s bytes)" % (key[0], fmt(limit)) if limit else "")
                n += 1
        gone = sorted(k for k in published if not any(
            (i["config_label"], i["target"]) == k for i in imgs.values()))
        if gone:
            print("# published but no longer measured (run `make docs`): %s" % "; ".join("%s, %s" % k for k in gone))
    for line in linked_targets(m):
        print("# target: %s" % line)
    return n


def cell_bytes(c):
    m = re.search(r"\((\d+)\)\s*$", c)
    return int(m.group(1)) if m else None


def check_includes(notes):
    allowed = {"stddef.h", "stdint.h", "string.h"}
    bad = []
    for heading, inc in notes["includes"].items():
        extra = inc - allowed
        if extra:
            bad.append("%s: %s" % (heading, ", ".join(sorted(extra))))
    for heading, inc in notes["psa_includes"].items():   # plus <psa/crypto.h>
        extra = inc - allowed - {"crypto.h"}
        if extra:
            bad.append("%s, PSA: %s" % (heading, ", ".join(sorted(extra))))
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--check", metavar="FILE", help="compare with the tables in FILE")
    g.add_argument("--write", metavar="FILE", help="rewrite the tables in FILE")
    g.add_argument("--budget", metavar="FILE", help="check the figures against the tables in FILE")
    ap.add_argument("--header", default=os.path.join(ROOT, "icbu_reflow.h"))
    build = os.environ.get("BUILD", os.path.join(ROOT, "build"))
    ap.add_argument("--build", default=os.path.join(build, "size"))
    ap.add_argument("--measured", default=os.path.join(build, "firmware-measured.json"),
                    help="the linked images' measurements (tools/firmware.py; default %(default)s)")
    a = ap.parse_args()

    m, why = budget.linked_measurements(a.measured, a.header)
    if m is not None and a.write and (m.get("failed") or not all(i["ok"] for i in linked_images(m).values())):
        m, why = None, "%d check(s) of the firmware run failed (`make test-firmware` says which)" % m.get("failed")
    if why and (a.write or a.check):
        sys.stderr.write("size.py: no linked figures: %s\n" % why)
        sys.exit(1)
    cols, results, notes = measure(a.header, a.build)
    bad = check_includes(notes)
    if bad:
        sys.stderr.write("size.py: the header includes more than stddef.h/stdint.h/string.h"
                         " (and psa/crypto.h with PSA): %s\n"
                         % "; ".join(bad))
        sys.exit(1)
    if a.budget:
        sys.exit(check_budget(a.budget, cols, results, m, why))
    linked = render_linked(m, a.header) if m is not None else "(no linked figures: %s)\n" % why
    if not (a.check or a.write):
        sys.stdout.write(linked + "\n" + render(cols, results, notes))
        return
    ok = readme_block.sync(a.check or a.write, "size-linked", "\n" + linked, bool(a.write), "size.py")
    if a.write and m is not None:     # the README's line on the targets: written, never compared
        readme_block.sync(os.path.join(ROOT, "README.md"), "flash-targets",
                          "\nFlash (Cortex-M4F -Os, linked, without the hash back end): %s.\n"
                          % "; ".join(linked_targets(m)), True, "size.py")
    ok = readme_block.sync(a.check or a.write, "size-table", "\n" + render(cols, results, notes),
                           bool(a.write), "size.py") and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
