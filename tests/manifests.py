#!/usr/bin/python3
"""The firmware ecosystems' manifests, checked without their tools (none can be installed
here): each manifest must parse, every file and directory it names must exist, and what the
tool would compile is compiled, with the same sources, include directories and definitions,
by arm-none-eabi-gcc (-mcpu=cortex-m4 -mthumb -Os, -Werror) against real back-end headers
(copies of the system's mbedTLS 2.28 and BearSSL headers; mbedTLS 3.6's and 4.0's when
make test-compat has built them).

  ESP-IDF     idf_component.yml (YAML); CMakeLists.txt's ESP_PLATFORM branch run by CMake
              with idf_component_register() and the mbedtls component stood in for: the
              sources, include directories and definitions it registers are compiled
              (IDF 5: MBEDTLS over mbedTLS 3.6 or 2.28; IDF 6: PSA over mbedTLS 4.x)
  Zephyr      zephyr/module.yml (YAML), zephyr/Kconfig (kconfiglib, beside a stand-in for
              Zephyr's MBEDTLS symbol: ICBU_REFLOW needs it), zephyr/CMakeLists.txt run by
              CMake with the zephyr_* functions stood in for and CONFIG_* from kconfiglib,
              for each back end and NO_* choice
  PlatformIO  library.json (JSON); its srcFilter applied to the tree as PlatformIO does
              must select icbu_reflow.c alone; compiled as the Arduino framework (ESP8266:
              BearSSL as <bearssl/bearssl.h>) and with a back end from build_flags
  Arduino     library.properties (the 1.5 format's fields); no src/, so the flat layout:
              the root's sources must be icbu_reflow.c alone; compiled as each listed
              architecture's core defines it (ARDUINO_ARCH_ESP8266, _RP2040, _ESP32)

Runs with Debian's python3 (python3-yaml, python3-kconfiglib). One line per check, then
"N passed, N failed"; exit status 1 if any failed.
"""
import fnmatch
import json
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import checklist  # noqa: E402
from checklist import report, note, tail, finish  # noqa: E402
ARM_CC = os.environ.get("ARM_CC", "arm-none-eabi-gcc")
ARM_FLAGS = ["-std=c99", "-Os", "-mcpu=cortex-m4", "-mthumb", "-ffunction-sections",
             "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]
HEADER_VERSION = re.search(r'#define ICBU_REFLOW_VERSION "([^"]+)"',
                           open(os.path.join(ROOT, "icbu_reflow.h"), encoding="utf-8").read()).group(1)


def sh(argv, cwd=ROOT):
    return checklist.sh(argv, cwd)


def backend_includes(tmp):
    """Include directories with real mbedTLS/PSA and BearSSL headers for the cross compiler:
    copies of the system's (never /usr/include itself, which holds the host's libc), and
    make test-compat's 3.6 and 4.x installs when they exist."""
    inc = {}
    d = os.path.join(tmp, "inc-mbedtls-2.28")
    for sub in ("mbedtls", "psa"):
        if os.path.isdir("/usr/include/" + sub):
            shutil.copytree("/usr/include/" + sub, os.path.join(d, sub))
    if os.path.isdir(os.path.join(d, "mbedtls")):
        inc["2.28"] = d
    d = os.path.join(tmp, "inc-bearssl")
    if os.path.isdir("/usr/include/bearssl"):
        shutil.copytree("/usr/include/bearssl", os.path.join(d, "bearssl"))
        inc["bearssl"] = d
    for name in sorted(os.listdir(os.path.join(ROOT, "build", "compat"))) \
            if os.path.isdir(os.path.join(ROOT, "build", "compat")) else []:
        m = re.match(r"mbedtls-(3\.6\.\d+|4\.\d+\.\d+)$", name)
        p = os.path.join(ROOT, "build", "compat", name, "prefix", "include")
        if m and os.path.isfile(os.path.join(p, "mbedtls", "version.h")):
            inc[m.group(1)[0]] = p           # "3" or "4"
    return inc


def arm_compile(name, sources, includes, defines, system_includes):
    """Compiles each source as the tool would; returns the objects' undefined symbols."""
    undef = set()
    with tempfile.TemporaryDirectory() as d:
        for i, src in enumerate(sources):
            obj = os.path.join(d, "%d.o" % i)
            argv = [ARM_CC] + ARM_FLAGS + ["-I" + x for x in includes] + \
                ["-isystem" + x for x in system_includes] + ["-D" + x for x in defines] + \
                ["-c", src, "-o", obj]
            rc, out = sh(argv)
            if rc != 0:
                report(False, name, "%s\n    %s" % (" ".join(argv), tail(out)))
                return None
            rc, out = sh([ARM_CC.replace("gcc", "nm"), "-u", obj])
            undef |= {ln.split()[-1] for ln in out.splitlines() if ln.strip()}
    report(True, "%s: %s compiles (%s)" % (name, ", ".join(os.path.relpath(s, ROOT) for s in sources),
                                          " ".join("-D" + x for x in defines) or "no definitions"))
    return undef


def expect_backend_calls(name, undef, backend):
    want = {"MBEDTLS": "mbedtls_sha256_", "PSA": "psa_hash_setup", "BEARSSL": "br_sha256_init"}[backend]
    hit = sorted(s for s in undef if s.startswith(want))
    report(bool(hit), "%s: calls the %s back end (%s)" % (name, backend, ", ".join(hit[:2])),
           "undefined symbols: %s" % " ".join(sorted(undef)))


# ------------------------------------------------------------------ CMake stand-ins
TOOLCHAIN = """set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_C_COMPILER %s)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
""" % ARM_CC

RECORD = """
# what the stand-ins saw, for the test to compile
function(_probe_record lib)
  get_target_property(_s ${lib} SOURCES)
  get_target_property(_i ${lib} INCLUDE_DIRECTORIES)
  get_target_property(_d ${lib} COMPILE_DEFINITIONS)
  get_target_property(_l ${lib} LINK_LIBRARIES)
  get_target_property(_sd ${lib} SOURCE_DIR)
  file(WRITE "${CMAKE_BINARY_DIR}/probe.txt" "SOURCES=${_s}\\nINCLUDES=${_i}\\nDEFINES=${_d}\\nLIBS=${_l}\\nSOURCE_DIR=${_sd}\\n")
endfunction()
"""


def run_probe(name, cmakelists, tmp):
    """Configures a probe project (cmakelists: its text); returns what it recorded."""
    d = os.path.join(tmp, re.sub(r"\W+", "-", name))
    os.makedirs(d)
    with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
        f.write(cmakelists)
    with open(os.path.join(d, "toolchain.cmake"), "w") as f:
        f.write(TOOLCHAIN)
    rc, out = sh(["cmake", "-S", d, "-B", os.path.join(d, "b"),
                  "-DCMAKE_TOOLCHAIN_FILE=" + os.path.join(d, "toolchain.cmake")], d)
    path = os.path.join(d, "b", "probe.txt")
    if rc != 0 or not os.path.isfile(path):
        report(False, "%s: CMake runs the manifest" % name, tail(out))
        return None
    rec = {}
    for line in open(path):
        k, _, v = line.rstrip("\n").partition("=")
        rec[k] = [x for x in v.split(";") if x and not x.endswith("-NOTFOUND")]
    base = rec.get("SOURCE_DIR", [ROOT])[0]
    rec["SOURCES"] = [s if os.path.isabs(s) else os.path.join(base, s) for s in rec.get("SOURCES", [])]
    report(True, "%s: CMake runs the manifest (sources %s; includes %s; definitions %s; links %s)" % (
        name, " ".join(os.path.relpath(s, ROOT) for s in rec["SOURCES"]),
        " ".join(os.path.relpath(i, ROOT) for i in rec.get("INCLUDES", [])) or "-",
        " ".join(rec.get("DEFINES", [])) or "-", " ".join(rec.get("LIBS", [])) or "-"))
    return rec


def names_exist(name, paths):
    missing = [p for p in paths if not os.path.exists(os.path.join(ROOT, p))]
    report(not missing, "%s: every file and directory it names exists (%s)" % (name, ", ".join(paths)),
           "missing: %s" % ", ".join(missing))


# ------------------------------------------------------------------ ESP-IDF
def esp_idf(tmp, inc):
    import yaml
    name = "ESP-IDF"
    try:
        m = yaml.safe_load(open(os.path.join(ROOT, "idf_component.yml"), encoding="utf-8"))
        ok = isinstance(m, dict) and m.get("version") == HEADER_VERSION and \
            isinstance(m.get("description"), str) and "idf" in (m.get("dependencies") or {})
        report(ok, "%s: idf_component.yml parses (version %s = the header's, description, idf dependency)"
               % (name, m.get("version")), repr(m))
    except (OSError, yaml.YAMLError) as e:
        report(False, "%s: idf_component.yml parses" % name, str(e))
    names_exist(name, ["CMakeLists.txt", "icbu_reflow.c", "icbu_reflow.h"])
    for idf_major, mbed in (("5", inc.get("3") or inc.get("2.28")), ("6", inc.get("4"))):
        tag = "%s %s.x" % (name, idf_major)
        if not mbed:
            note("%s: no mbedTLS 4.x headers (make test-compat builds them): not compiled" % tag)
            continue
        rec = run_probe(tag, """cmake_minimum_required(VERSION 3.16)
project(idf_probe C)
set(ESP_PLATFORM 1)
set(IDF_VERSION_MAJOR %s)
add_library(idf_mbedtls INTERFACE)                      # the mbedtls component
target_include_directories(idf_mbedtls SYSTEM INTERFACE "%s")
function(idf_component_register)
  cmake_parse_arguments(_c "" "" "SRCS;INCLUDE_DIRS;REQUIRES;PRIV_REQUIRES" ${ARGN})
  add_library(__idf_icbu_reflow STATIC ${_c_SRCS})
  target_include_directories(__idf_icbu_reflow PUBLIC ${_c_INCLUDE_DIRS})
  foreach(_r ${_c_REQUIRES} ${_c_PRIV_REQUIRES})
    target_link_libraries(__idf_icbu_reflow PUBLIC idf_${_r})
  endforeach()
  set(COMPONENT_LIB __idf_icbu_reflow PARENT_SCOPE)
endfunction()
%s
add_subdirectory("%s" component)
_probe_record(__idf_icbu_reflow)
""" % (idf_major, mbed, RECORD, ROOT), tmp)
        if not rec:
            continue
        report(rec["LIBS"] == ["idf_mbedtls"], "%s: REQUIRES mbedtls" % tag, " ".join(rec["LIBS"]))
        undef = arm_compile(tag, rec["SOURCES"], rec["INCLUDES"], rec["DEFINES"] + ["ESP_PLATFORM"], [mbed])
        if undef is not None:
            expect_backend_calls(tag, undef, "PSA" if idf_major == "6" else "MBEDTLS")


# ------------------------------------------------------------------ Zephyr
def zephyr(tmp, inc):
    import yaml
    import kconfiglib
    name = "Zephyr"
    try:
        m = yaml.safe_load(open(os.path.join(ROOT, "zephyr", "module.yml"), encoding="utf-8"))
        b = m.get("build", {})
        ok = m.get("name") == "icbu_reflow" and isinstance(b.get("cmake"), str) and isinstance(b.get("kconfig"), str)
        report(ok, "%s: zephyr/module.yml parses (name, build.cmake %s, build.kconfig %s)"
               % (name, b.get("cmake"), b.get("kconfig")), repr(m))
        names_exist(name, [b.get("cmake", "?"), os.path.join(b.get("cmake", "?"), "CMakeLists.txt"),
                           b.get("kconfig", "?"), "icbu_reflow.c", "icbu_reflow.h"])
    except (OSError, yaml.YAMLError, AttributeError) as e:
        report(False, "%s: zephyr/module.yml parses" % name, str(e))
        return
    # Kconfig, beside a stand-in for Zephyr's MBEDTLS symbol
    top = os.path.join(tmp, "Kconfig.zephyr")
    with open(top, "w") as f:
        f.write('config MBEDTLS\n\tbool "mbedTLS (stands in for Zephyr\'s)"\n\tdefault y\n\n'
                'source "%s"\n' % os.path.join(ROOT, b["kconfig"]))
    try:
        kc = kconfiglib.Kconfig(top, warn_to_stderr=False)
    except kconfiglib.KconfigError as e:
        report(False, "%s: zephyr/Kconfig parses (kconfiglib)" % name, str(e))
        return
    report(not kc.warnings, "%s: zephyr/Kconfig parses (kconfiglib), no warnings" % name, "; ".join(kc.warnings))
    syms = kc.syms
    need = ["ICBU_REFLOW", "ICBU_REFLOW_CRYPTO_MBEDTLS", "ICBU_REFLOW_CRYPTO_PSA",
            "ICBU_REFLOW_NO_EXCHANGE", "ICBU_REFLOW_NO_DECODER"]
    report(all(s in syms for s in need), "%s: Kconfig offers %s" % (name, ", ".join(need)),
           "missing: %s" % [s for s in need if s not in syms])
    syms["MBEDTLS"].set_value("n")
    syms["ICBU_REFLOW"].set_value("y")
    report(syms["ICBU_REFLOW"].str_value == "n", "%s: ICBU_REFLOW depends on MBEDTLS (cannot be y without it)"
           % name, syms["ICBU_REFLOW"].str_value)
    syms["MBEDTLS"].set_value("y")
    syms["ICBU_REFLOW"].set_value("y")
    report(syms["ICBU_REFLOW_CRYPTO_MBEDTLS"].str_value == "y" and
           syms["ICBU_REFLOW_NO_EXCHANGE"].str_value == "n",
           "%s: with ICBU_REFLOW=y the defaults are the mbedTLS back end and everything built" % name)
    mbed3 = inc.get("3") or inc.get("2.28")
    for backend, no_ex, no_dec in (("MBEDTLS", "n", "n"), ("PSA", "n", "n"), ("MBEDTLS", "y", "y")):
        syms["ICBU_REFLOW_CRYPTO_" + backend].set_value("y")
        syms["ICBU_REFLOW_NO_EXCHANGE"].set_value(no_ex)
        syms["ICBU_REFLOW_NO_DECODER"].set_value(no_dec)
        config = {s.name: s.str_value for s in kc.unique_defined_syms if s.name.startswith("ICBU_REFLOW")}
        tag = "%s %s%s" % (name, backend, ", NO_EXCHANGE NO_DECODER" if no_ex == "y" else "")
        sets = "".join('set(CONFIG_%s %s)\n' % (k, v) for k, v in config.items() if v == "y")
        rec = run_probe(tag, """cmake_minimum_required(VERSION 3.16)
project(zephyr_probe C)
%s
add_library(mbedTLS INTERFACE)                          # Zephyr's mbedTLS module
target_include_directories(mbedTLS SYSTEM INTERFACE "%s")
set(ZEPHYR_GLOBAL_DEFINES "")
macro(zephyr_library_named n)
  add_library(${n} STATIC)
  set(ZEPHYR_CURRENT_LIBRARY ${n})
endmacro()
macro(zephyr_library_sources)
  target_sources(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endmacro()
macro(zephyr_include_directories)
  target_include_directories(${ZEPHYR_CURRENT_LIBRARY} PUBLIC ${ARGN})
endmacro()
macro(zephyr_compile_definitions_ifdef opt)
  if(${opt})
    target_compile_definitions(${ZEPHYR_CURRENT_LIBRARY} PUBLIC ${ARGN})
  endif()
endmacro()
macro(zephyr_library_link_libraries)
  target_link_libraries(${ZEPHYR_CURRENT_LIBRARY} PUBLIC ${ARGN})
endmacro()
%s
add_subdirectory("%s" module)
_probe_record(icbu_reflow)
""" % (sets, mbed3, RECORD, os.path.join(ROOT, b["cmake"])), tmp)
        if not rec:
            continue
        want = {"ICBU_REFLOW_CRYPTO_" + backend} | ({"ICBU_REFLOW_NO_EXCHANGE", "ICBU_REFLOW_NO_DECODER"}
                                                    if no_ex == "y" else set())
        report(set(rec["DEFINES"]) == want and rec["LIBS"] == ["mbedTLS"],
               "%s: definitions are CONFIG_'s, links mbedTLS" % tag, "%s %s" % (rec["DEFINES"], rec["LIBS"]))
        undef = arm_compile(tag, rec["SOURCES"], rec["INCLUDES"], rec["DEFINES"], [mbed3])
        if undef is not None:
            expect_backend_calls(tag, undef, backend)
            if no_ex == "y":
                report(not any(s.startswith("icbu_exchange") for s in undef), "%s: built without the exchange" % tag)


# ------------------------------------------------------------------ PlatformIO
SOURCE_EXT = (".c", ".cc", ".cpp", ".cxx", ".S", ".s", ".asm", ".ino")


def pio_filter(src_dir, tokens):
    """PlatformIO's srcFilter: +<glob> adds, -<glob> removes, in order; a directory that
    matches stands for everything under it. Returns the source files selected."""
    files = []
    for dp, dns, fns in os.walk(src_dir):
        dns[:] = [x for x in dns if x not in (".git", ".svn")]
        files += [os.path.relpath(os.path.join(dp, f), src_dir) for f in fns]
    chosen = set()
    for tok in tokens:
        m = re.fullmatch(r"([+-])<([^>]*)>", tok.strip())
        if not m:
            raise ValueError("not a srcFilter token: %r" % tok)
        pat = m.group(2).rstrip("/")
        hit = {f for f in files if fnmatch.fnmatch(f, pat) or
               any(fnmatch.fnmatch(f[:i], pat) for i in range(len(f)) if f[i] == "/")}
        chosen = chosen | hit if m.group(1) == "+" else chosen - hit
    return sorted(f for f in chosen if f.endswith(SOURCE_EXT))


def platformio(tmp, inc):
    name = "PlatformIO"
    try:
        m = json.load(open(os.path.join(ROOT, "library.json"), encoding="utf-8"))
    except (OSError, ValueError) as e:
        report(False, "%s: library.json parses" % name, str(e))
        return
    b = m.get("build", {})
    report(m.get("name") and m.get("version") == HEADER_VERSION,
           "%s: library.json parses (name %s, version %s = the header's)" % (name, m.get("name"), m.get("version")))
    src_dir, inc_dir = b.get("srcDir", "src"), b.get("includeDir", "include")
    names_exist(name, [src_dir, inc_dir, m.get("headers", "?")] + list(m.get("export", {}).get("include", [])))
    flt = b.get("srcFilter", ["+<*>"])
    tokens = flt if isinstance(flt, list) else re.findall(r"[+-]<[^>]*>", flt)
    srcs = pio_filter(os.path.join(ROOT, src_dir), tokens)
    report(srcs == ["icbu_reflow.c"], "%s: srcFilter %s selects icbu_reflow.c alone" % (name, " ".join(tokens)),
           "selects: %s" % " ".join(srcs[:20]))
    flags = b.get("flags", [])
    flags = flags if isinstance(flags, list) else flags.split()
    srcs = [os.path.join(ROOT, src_dir, s) for s in srcs]
    incs = [os.path.join(ROOT, inc_dir)]
    defs = [f[2:].strip() for f in flags if f.startswith("-D")]
    if "bearssl" in inc:
        tag = name + " (framework arduino, ESP8266)"
        undef = arm_compile(tag, srcs, incs, defs + ["ARDUINO=10819", "ARDUINO_ARCH_ESP8266"], [inc["bearssl"]])
        if undef is not None:
            expect_backend_calls(tag, undef, "BEARSSL")
    if "2.28" in inc:
        tag = name + " (build_flags = -DICBU_REFLOW_CRYPTO_MBEDTLS)"
        undef = arm_compile(tag, srcs, incs, defs + ["ICBU_REFLOW_CRYPTO_MBEDTLS"], [inc.get("3") or inc["2.28"]])
        if undef is not None:
            expect_backend_calls(tag, undef, "MBEDTLS")


# ------------------------------------------------------------------ Arduino
ARDUINO_FIELDS = ("name", "version", "author", "maintainer", "sentence", "paragraph", "category", "architectures")
ARDUINO_CATEGORIES = ("Display", "Communication", "Signal Input/Output", "Sensors", "Device Control", "Timing",
                      "Data Storage", "Data Processing", "Other")
ARDUINO_ARCH = {"esp8266": ("ARDUINO_ARCH_ESP8266", "bearssl", "BEARSSL"),
                "rp2040": ("ARDUINO_ARCH_RP2040", "bearssl", "BEARSSL"),
                "esp32": ("ARDUINO_ARCH_ESP32", "mbedtls", "MBEDTLS")}


def arduino(tmp, inc):
    name = "Arduino"
    props = {}
    try:
        for ln in open(os.path.join(ROOT, "library.properties"), encoding="utf-8"):
            ln = ln.rstrip("\n")
            if ln.strip() and not ln.startswith("#"):
                k, sep, v = ln.partition("=")
                if not sep:
                    raise ValueError("not key=value: %r" % ln)
                props[k.strip()] = v.strip()
    except (OSError, ValueError) as e:
        report(False, "%s: library.properties parses" % name, str(e))
        return
    missing = [f for f in ARDUINO_FIELDS if not props.get(f)]
    report(not missing and props.get("version") == HEADER_VERSION and props.get("category") in ARDUINO_CATEGORIES,
           "%s: library.properties parses (the 1.5 format's fields; version %s = the header's; category %s)"
           % (name, props.get("version"), props.get("category")), "missing: %s" % missing)
    names_exist(name, [x.strip() for x in props.get("includes", "").split(",") if x.strip()])
    # no src/: the flat layout compiles the root's sources and utility/'s
    report(not os.path.isdir(os.path.join(ROOT, "src")), "%s: no src/ directory, so the flat layout" % name)
    srcs = sorted(f for f in os.listdir(ROOT) if os.path.isfile(os.path.join(ROOT, f)) and f.endswith(SOURCE_EXT))
    if os.path.isdir(os.path.join(ROOT, "utility")):
        srcs += ["utility/" + f for f in os.listdir(os.path.join(ROOT, "utility")) if f.endswith(SOURCE_EXT)]
    report(srcs == ["icbu_reflow.c"], "%s: the flat layout compiles icbu_reflow.c alone" % name, " ".join(srcs))
    for arch in [a.strip() for a in props.get("architectures", "").split(",")]:
        if arch not in ARDUINO_ARCH:
            report(False, "%s: architecture %s has a known core" % (name, arch))
            continue
        macro, lib, backend = ARDUINO_ARCH[arch]
        hdrs = inc.get("bearssl") if lib == "bearssl" else (inc.get("3") or inc.get("2.28"))
        if not hdrs:
            note("%s %s: no %s headers: not compiled" % (name, arch, lib))
            continue
        tag = "%s %s" % (name, arch)
        undef = arm_compile(tag, [os.path.join(ROOT, s) for s in srcs], [ROOT], ["ARDUINO=10819", macro], [hdrs])
        if undef is not None:
            expect_backend_calls(tag, undef, backend)


def main():
    tmp = tempfile.mkdtemp(prefix="icbu-manifests-")
    try:
        inc = backend_includes(tmp)
        note("back-end headers: %s" % ", ".join("%s %s" % (k, v) for k, v in sorted(inc.items())))
        for part in (esp_idf, zephyr, platformio, arduino):
            part(tmp, inc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
