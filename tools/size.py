#!/usr/bin/env python3
"""Code size of icbu_reflow.h for firmware targets, as a Markdown table.

Method (the FreeRTOS/AWS convention): text + data of the *unlinked* object,
read with `<target>-size` (Berkeley format, so read-only data counts as text),
for a tiny generated .c that defines ICBU_REFLOW_CRYPTO_CUSTOM and
ICBU_REFLOW_IMPLEMENTATION. With the custom back end the three
icbu_custom_hash_* functions are only declared, so no hash code is counted.

One more row measures the PSA back end's glue: build and sign with
ICBU_REFLOW_CRYPTO_PSA, compiled against mbedTLS 2.28's PSA headers from the
Debian source package (BACKEND_SRC/mbedtls/include, fetched by
tools/fetch_backend_src.sh; the same headers for every column, default
config). psa_hash_* are only called, so no PSA Crypto code is counted. A
toolchain without libc headers (RV32IMC) cannot take those headers as they are
(time.h, stdio.h): its PSA build undefines, through MBEDTLS_USER_CONFIG_FILE,
the three options that pull them in (PSA_CONFIG_OVERRIDE, none on the hash
path), and the script checks that the override changes no byte of the
object on every column that does not need it.

    python3 tools/size.py                      print the table
    python3 tools/size.py --write docs/size.md rewrite the table between the
                                               size-table markers (`make docs`)
    python3 tools/size.py --budget docs/size.md check every figure against the
                                               published one plus a tolerance
                                               (tools/budget.py; `make test`)
    python3 tools/size.py --check docs/size.md exit 1 (with a diff) unless the
                                               block is byte for byte the same

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
# The targets, Cortex-M4F -Os (bytes): a budget once met (tools/budget.py)
TARGETS = (("build and sign", 3 * 1024), ("full client", 6 * 1024))
TARGET_COLUMN = "Cortex-M4F -Os"
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
    parts = []
    for label, limit in TARGETS:
        got = results[(label, "m4-Os")]
        parts.append("%s ≤ %d KB: %.1f KB, %s" % (label, limit // 1024, got / 1024.0,
                     "met" if got <= limit else "not met (%.1f× the target)" % (got / float(limit))))
    lines.append("Targets, %s: " % TARGET_COLUMN + "; ".join(parts) + ".")
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
    lines.append("Measured on %s. `make test` checks every figure of the first table against this "
                 "page: at most %s over the figure published here (tools/budget.py); a target above "
                 "is a budget once it is met. `make docs` rewrites the page."
                 % (budget.header_id(notes["header"]), budget.SIZE_RULE))
    return "\n".join(lines) + "\n"


def check_budget(page, cols, results):
    """Every measured figure against the page's first table (tools/budget.py)."""
    b = budget.Budget("size.py")
    got = budget.page_and_measured(b, page, "size-table", render_table(cols, results), cell_bytes)
    if got is None:
        return b.finish()
    published, mine = got

    def target(row, col):
        for label, limit in TARGETS:
            if col == TARGET_COLUMN and row.startswith(label + " ("):
                return limit, " (%s ≤ %d KB)" % (label, limit // 1024)
        return None, ""

    budget.compare(b, mine, published, budget.size_tolerance, target)
    return b.finish("%d figures measured against %s (tolerance: %s)" % (len(mine), page, budget.SIZE_RULE))


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
    g.add_argument("--check", metavar="FILE", help="compare with the table in FILE")
    g.add_argument("--write", metavar="FILE", help="rewrite the table in FILE")
    g.add_argument("--budget", metavar="FILE", help="check the figures against the table in FILE")
    ap.add_argument("--header", default=os.path.join(ROOT, "icbu_reflow.h"))
    ap.add_argument("--build", default=os.path.join(os.environ.get("BUILD", os.path.join(ROOT, "build")), "size"))
    a = ap.parse_args()

    cols, results, notes = measure(a.header, a.build)
    bad = check_includes(notes)
    if bad:
        sys.stderr.write("size.py: the header includes more than stddef.h/stdint.h/string.h"
                         " (and psa/crypto.h with PSA): %s\n"
                         % "; ".join(bad))
        sys.exit(1)
    if a.budget:
        sys.exit(check_budget(a.budget, cols, results))
    table = render(cols, results, notes)
    readme_block.emit(table, "size-table", a.check, a.write, "size.py")


if __name__ == "__main__":
    main()
