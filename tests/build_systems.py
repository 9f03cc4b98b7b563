#!/usr/bin/env python3
"""Real consumers of icbu_reflow, outside the source tree, one per way a project brings it in.

    python3 tests/build_systems.py [--keep] [--only PATTERN]

Each consumer lives in its own temporary directory, holds tests/consumer/main.c (which
includes "icbu_reflow.h", defines nothing, and signs the API document's example order) and
nothing of the repository but what its build system fetches. It is built, run for md5, hmac
and hmac-sha256, and every body it prints is verified by tests/check_body.py (Python's
json, hashlib, hmac and urllib.parse: not the code under test).

  add_subdirectory   CMakeLists.txt: add_subdirectory(<repo>) + icbu_reflow::icbu_reflow;
                     also: the subproject adds no target but its own two, and the
                     parent's cmake --install installs nothing of it (all of it with
                     -DICBU_REFLOW_INSTALL=ON)
  FetchContent       FetchContent_Declare(GIT_REPOSITORY file://<a git snapshot of the tree>)
  find_package       `cmake --install` of the repository into a temporary prefix, then
                     find_package(icbu_reflow CONFIG) + icbu_reflow::icbu_reflow
  pkg-config         the same install; cc main.c $(pkg-config --cflags --libs icbu_reflow);
                     also after an install with absolute CMAKE_INSTALL_LIBDIR/INCLUDEDIR
  make install       `make install PREFIX=...` (no CMake), then the same pkg-config line
  plain cc           docs/build.md's compile lines (and the README's, which must be one of
                     them), on the README's minimal program
each with ICBU_REFLOW_CRYPTO=mbedtls (the default) and bearssl where the back end is
installed (a missing one is reported as skipped, with the package to install); and
add_subdirectory once more with psa (the consumer calls psa_crypto_init(), as the
README says the application must); and once with a parent that does
set(ICBU_REFLOW_CRYPTO bearssl) first, which its first configure must use; and after the
parent's add_subdirectory of mbedTLS 3.6 (mbedtls) and 4.x (psa) sources, whose crypto
target the library must link (the archives as make test-compat finds them: $MBEDTLS36_SRC,
$MBEDTLS4_SRC or ../shared/thirdparty; the trees it unpacked into build/compat if there);
and over mbedTLS 4.x found through pkg-config (installed by tools/mbedtls_build.sh into
make test-compat's cache), where psa must build and mbedtls must stop, naming psa.
find_package gets the back end the installed library was built against: built against the
system's mbedTLS with mbedTLS 3.6's CMake package (installed by tools/mbedtls_build.sh into
make test-compat's cache) also on CMAKE_PREFIX_PATH, the consumer links the system's; built
against a copy of BearSSL in a prefix of its own, it compiles and links with that copy; built
against a copy of 3.6's header and library, removed before the consumer configures, its
configure step stops, naming 3.6 and the system's mbedTLS that it found instead; built inside
a parent that add_subdirectory()s 3.6's sources (-DICBU_REFLOW_INSTALL=ON, the parent's
cmake --install), a consumer that does find_package(MbedTLS) of the installed 3.6 first links
that 3.6, and one that does not stops at its configure step, saying to bring in the target;
built against 3.6 found through its mbedcrypto.pc, the consumer gets that 3.6 through the
recorded .pc directory with PKG_CONFIG_PATH unset, and with PKG_CONFIG_PATH naming a .pc of
the system's 2.28.
One line per check, then "N passed, N failed"; exit status 1 if any failed.
"""
import argparse
import glob
import json
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import check_body  # noqa: E402
from checklist import report, skip, tail, finish  # noqa: E402
import checklist  # noqa: E402

SECRET = "consumer-Secr3t/%s+é" % os.urandom(4).hex()
METHODS = ("md5", "hmac", "hmac-sha256")
EXPECTED = json.load(open(os.path.join(HERE, "data", "example_order.json"), encoding="utf-8"))
THIRDPARTY = os.path.join(os.path.dirname(ROOT), "shared", "thirdparty")   # the Makefile's
COMPAT = os.path.join(ROOT, "build", "compat")                    # make test-compat's cache


def sh(argv, cwd, env=None):
    return checklist.sh(argv, cwd, env)


def have_backend(be):
    """Is the back end's header and library installed (the system's)?"""
    hdr, lib = {"mbedtls": ("mbedtls/md5.h", "mbedcrypto"), "psa": ("psa/crypto.h", "mbedcrypto"),
                "bearssl": ("bearssl.h", "bearssl")}[be]
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "t.c")
        with open(src, "w") as f:
            f.write("#include <%s>\nint main(void) { return 0; }\n" % hdr)
        rc, _ = sh(["cc", src, "-o", os.path.join(d, "t"), "-l" + lib], d)
    return rc == 0


def mbedtls_archive(series, var):
    """mbedTLS <series>'s source archive: $<var> (MBEDTLS36_SRC, MBEDTLS4_SRC, as make
    test-compat takes them), else the newest in ../shared/thirdparty; None if there is none."""
    given = os.environ.get(var, "")
    pattern = os.path.join(THIRDPARTY, "mbedtls-%s.*.tar.xz" % series)
    found = [given] if given else sorted(glob.glob(pattern))
    return found[-1] if found and os.path.isfile(found[-1]) else None


def mbedtls_tree(archive, tmp):
    """The archive's source tree: the one make test-compat unpacked into build/compat, else
    a new one under tmp."""
    top = os.path.basename(archive)[:-len(".tar.xz")]
    tree = os.path.join(COMPAT, top, "src", top)
    if not os.path.isfile(os.path.join(tree, "CMakeLists.txt")):
        tree = os.path.join(tmp, top)
        if not os.path.isdir(tree):
            rc, out = sh(["tar", "-xJf", archive, "-C", tmp], tmp)
            if rc != 0:
                raise SystemExit("%s: %s" % (archive, out))
    return tree


# what `cmake --install` puts under the prefix (and icbu_reflowTargets-<config>.cmake)
INSTALLED = ["include/icbu_reflow.h", "lib/cmake/icbu_reflow/icbu_reflowConfig.cmake",
             "lib/cmake/icbu_reflow/icbu_reflowConfigVersion.cmake",
             "lib/cmake/icbu_reflow/icbu_reflowTargets.cmake",
             "lib/cmake/icbu_reflow/icbu_reflow_backend.cmake", "lib/libicbu_reflow.a",
             "lib/pkgconfig/icbu_reflow.pc"]


def installed_files(prefix):
    """The files under prefix, relative to it, sorted."""
    return sorted(os.path.relpath(os.path.join(dp, f), prefix)
                  for dp, _, fs in os.walk(prefix) for f in fs)


def consumer_dir(tmp, name):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    shutil.copy(os.path.join(HERE, "consumer", "main.c"), d)
    shutil.copy(os.path.join(HERE, "example_order.h"), d)
    return d


def verify(name, exe):
    """Runs the consumer for each method; Python checks each body."""
    env = dict(os.environ, ICBU_REFLOW_APP_SECRET=SECRET)
    for m in METHODS:
        rc, out = sh([exe, m], os.path.dirname(exe), env)
        body = out.strip()
        res, params = check_body.check_body(body, SECRET, EXPECTED) if rc == 0 else ([], {})
        bad = ["%s: %s" % (n, d) for ok, n, d in res if not ok]
        if params.get("sign_method") != m:
            bad.append("sign_method %r" % params.get("sign_method"))
        report(rc == 0 and res and not bad, "%s: %s body signed and verified by Python" % (name, m),
               "rc=%d %s %s" % (rc, "; ".join(bad)[:300], body[:100]))


def cmake_build(name, src, build, args=(), env=None):
    """Configures (once) and builds; the output when both succeeded, else None."""
    rc, out = sh(["cmake", "-S", src, "-B", build] + list(args), src, env)
    if rc == 0:
        rc, out2 = sh(["cmake", "--build", build, "-j", "2"], src, env)
        out += out2
    report(rc == 0, "%s: configures and builds" % name, tail(out))
    return out if rc == 0 else None


def hashes_from(out):
    """What the configure step said the hashes come from ("icbu_reflow X: hashes from ...")."""
    m = re.search(r"^-- icbu_reflow [0-9.]+: hashes from (.*)$", out or "", re.M)
    return m.group(1) if m else None


def c_defines(build, target="consumer"):
    """The compile definitions a target of a Makefile build gets (its flags.make)."""
    flags = os.path.join(build, "CMakeFiles", target + ".dir", "flags.make")
    if not os.path.isfile(flags):
        return []
    m = re.search(r"^C_DEFINES = (.*)$", open(flags).read(), re.M)
    return m.group(1).split() if m else []


CMAKE_HEAD = "cmake_minimum_required(VERSION 3.16)\nproject(consumer C)\n"
CMAKE_TAIL = ("add_executable(consumer main.c)\n"
              "target_link_libraries(consumer PRIVATE icbu_reflow::icbu_reflow)\n")


def cmake_install(tmp, tag, args, env=None):
    """Configures, builds and installs the repository into tmp/prefix-<tag>: (rc, output,
    prefix)."""
    prefix = os.path.join(tmp, "prefix-" + tag)
    build = os.path.join(tmp, "libbuild-" + tag)
    rc, out = sh(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_INSTALL_PREFIX=" + prefix] + args,
                 ROOT, env)
    for argv in (["cmake", "--build", build, "-j", "2"], ["cmake", "--install", build]):
        if rc == 0:
            rc, o2 = sh(argv, ROOT, env)
            out += o2
    return rc, out, prefix


def find_package_consumer(tmp, name, paths):
    """A consumer of the installed package: (its directory, its build directory, the
    configure arguments that give it CMAKE_PREFIX_PATH=paths)."""
    d = consumer_dir(tmp, re.sub(r"[^\w.-]+", "-", name))
    with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
        f.write(CMAKE_HEAD + "find_package(icbu_reflow 0.1 CONFIG REQUIRED)\n" + CMAKE_TAIL)
    return d, os.path.join(d, "b"), ["-DCMAKE_PREFIX_PATH=" + ";".join(paths)]


def consumer_files(build):
    """The consumer's compile flags (flags.make) and link line (link.txt)."""
    return [open(os.path.join(build, "CMakeFiles", "consumer.dir", f)).read()
            for f in ("flags.make", "link.txt")]


def snapshot_repo(tmp):
    """A git repository holding the working tree as it is (tracked and new files, not
    ignored ones), so that FetchContent fetches what is being tested, committed or not."""
    d = os.path.join(tmp, "snapshot.git-src")
    rc, files = sh(["git", "ls-files", "-co", "--exclude-standard", "-z"], ROOT)
    for rel in files.split("\0"):
        if not rel or not os.path.isfile(os.path.join(ROOT, rel)):
            continue
        dst = os.path.join(d, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), dst)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    for argv in (git + ["init", "-q"], git + ["add", "-A"], git + ["commit", "-q", "-m", "snapshot"]):
        rc, out = sh(argv, d)
        if rc != 0:
            raise SystemExit("snapshot repository: %s" % out)
    rc, sha = sh(["git", "rev-parse", "HEAD"], d)
    return d, sha.strip()


def installed_backend_checks(tmp, backends, want):
    """find_package after cmake --install: the back end the library was built against."""
    # BearSSL in a prefix of its own (a copy of the system's): the consumer, whose
    # CMAKE_PREFIX_PATH is icbu_reflow's prefix alone, compiles with its header and links
    # its library, not the system's
    name = "find_package/bearssl from a prefix of its own"
    if want(name) and "bearssl" in backends:
        # the system's, as the library's build (cmake --install (bearssl)) found them
        cache = os.path.join(tmp, "libbuild-bearssl", "CMakeCache.txt")
        cache = open(cache).read() if os.path.isfile(cache) else ""
        found = dict(re.findall(r"^ICBU_REFLOW_BEARSSL_(INCLUDE_DIR|LIBRARY):\w+=(.*)$",
                                cache, re.M))
        bssl = os.path.join(tmp, "bssl")
        if len(found) == 2:
            os.makedirs(os.path.join(bssl, "lib"))
            os.makedirs(os.path.join(bssl, "include"))
            for f in glob.glob(os.path.join(found["INCLUDE_DIR"], "bearssl*")):
                (shutil.copytree if os.path.isdir(f) else shutil.copy)(
                    f, os.path.join(bssl, "include", os.path.basename(f)))
            static = os.path.splitext(found["LIBRARY"])[0] + ".a"
            shutil.copy(static if os.path.isfile(static) else found["LIBRARY"],
                        os.path.join(bssl, "lib"))
        lib = os.path.join(bssl, "lib", "libbearssl.a")
        rc, out, prefix = cmake_install(tmp, "bssl", ["-DICBU_REFLOW_CRYPTO=bearssl",
                                                      "-DCMAKE_PREFIX_PATH=" + bssl])
        report(rc == 0 and hashes_from(out) == "BearSSL (%s)" % lib,
               "%s: the library is built with %s" % (name, lib), tail(out))
        if rc == 0:
            d, build, args = find_package_consumer(tmp, name, [prefix])
            if cmake_build(name, d, build, args):
                flags, link = consumer_files(build)
                report(os.path.join(bssl, "include") in flags and lib in link,
                       "%s: the consumer compiles with its bearssl.h and links its library" % name,
                       "%s / link: %s" % (" ".join(re.findall(r"^C_INCLUDES = .*", flags, re.M)),
                                          link.strip()))
                verify(name, os.path.join(build, "consumer"))

    if "mbedtls" not in backends or not (want("find_package/mbedtls ") or want("3.6")):
        return
    archive = mbedtls_archive("3.6", "MBEDTLS36_SRC")
    if not archive:
        skip("find_package/mbedtls beside, instead of, in a parent building, or through "
             "pkg-config of mbedTLS 3.6",
             "no mbedtls-3.6.*.tar.xz in %s (give it with MBEDTLS36_SRC=...)" % THIRDPARTY)
        return
    # mbedTLS 3.6 installed once, into the cache make test-compat builds it into (with the
    # RSA-PSS patch next to the archive, as make test-compat applies it)
    top = os.path.basename(archive)[:-len(".tar.xz")]
    patch = os.environ.get("MBEDTLS36_PATCH") or os.path.join(
        os.path.dirname(archive), "mbedtls-3.6.6-pr10674-tls12-rsa-pss.patch")
    rc, out = sh(["sh", os.path.join(ROOT, "tools", "mbedtls_build.sh"), archive,
                  os.path.join(COMPAT, top)] + ([patch] if top == "mbedtls-3.6.6" and
                                                os.path.isfile(patch) else []), ROOT)
    p36 = out.strip().splitlines()[-1] if rc == 0 else ""
    report(rc == 0, "find_package/mbedtls: %s built and installed (tools/mbedtls_build.sh)" % top,
           tail(out))
    if rc != 0:
        return
    version = re.search(r"mbedtls-([0-9.]+)\.tar", archive).group(1)

    # built against the system's mbedTLS (found by header and library); the consumer's
    # CMAKE_PREFIX_PATH also holds mbedTLS 3.6's CMake package: the library still gets the
    # system's, and links
    name = "find_package/mbedtls beside an mbedTLS %s package" % version
    prefix = os.path.join(tmp, "prefix-mbedtls")
    if want(name) and os.path.isfile(os.path.join(prefix, "lib", "libicbu_reflow.a")):
        d, build, args = find_package_consumer(tmp, name, [prefix, p36])
        if cmake_build(name, d, build, args):
            link = consumer_files(build)[1]
            report(p36 not in link, "%s: the consumer links no library of %s" % (name, p36),
                   link.strip())
            verify(name, os.path.join(build, "consumer"))

    # built against mbedTLS 3.6's header and library, which are gone when the consumer
    # configures, where the system's 2.28 is found: the configure step stops, naming both
    name = "find_package/mbedtls built against mbedTLS %s that is gone" % version
    if want(name):
        m36 = os.path.join(tmp, "m36-files")
        shutil.copytree(os.path.join(p36, "include"), os.path.join(m36, "include"))
        os.makedirs(os.path.join(m36, "lib"))
        shutil.copy(os.path.join(p36, "lib", "libmbedcrypto.a"), os.path.join(m36, "lib"))
        lib = os.path.join(m36, "lib", "libmbedcrypto.a")
        rc, out, prefix = cmake_install(tmp, "m36-files", ["-DCMAKE_PREFIX_PATH=" + m36])
        built = "mbedTLS %s (%s)" % (version, lib)
        report(rc == 0 and hashes_from(out) == built, "%s: the library is built with %s"
               % (name, built), tail(out))
        shutil.rmtree(m36)
        if rc == 0:
            d, build, args = find_package_consumer(tmp, name, [prefix])
            rc, out = sh(["cmake", "-S", d, "-B", build] + args, d)
            flat = " ".join(out.split())
            report(rc != 0 and ("icbu_reflow was built against %s; found mbedTLS " % built) in flat,
                   "%s: the consumer's configure step stops, naming %s and what it found"
                   % (name, built), tail(out))

    # route "target": built as a subproject of a parent that add_subdirectory()s 3.6's
    # sources, and installed by the parent's cmake --install; a consumer that brings in
    # the recorded target first (find_package(MbedTLS) of the installed 3.6) links that
    # 3.6, and one without it stops at its configure step, saying what to bring in
    name = "find_package/mbedtls built in a parent with mbedTLS %s's sources" % version
    if want(name):
        d = os.path.join(tmp, "parent-installs-m36")
        os.makedirs(d)
        prefix = os.path.join(tmp, "prefix-parent-m36")
        with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.16)\nproject(parent C)\n"
                    "add_subdirectory(%s mbedtls EXCLUDE_FROM_ALL)\n"
                    "add_subdirectory(%s icbu_reflow)\n" % (mbedtls_tree(archive, tmp), ROOT))
        build = os.path.join(d, "b")
        rc, out = sh(["cmake", "-S", d, "-B", build, "-DICBU_REFLOW_INSTALL=ON",
                      "-DCMAKE_INSTALL_PREFIX=" + prefix, "-DENABLE_TESTING=OFF",
                      "-DENABLE_PROGRAMS=OFF", "-DMBEDTLS_FATAL_WARNINGS=OFF",
                      "-DCMAKE_DISABLE_FIND_PACKAGE_Python3=ON"], d)
        for argv in (["cmake", "--build", build, "-j", "2"], ["cmake", "--install", build]):
            if rc == 0:
                rc, o2 = sh(argv, d)
                out += o2
        config = os.path.join(prefix, "lib", "cmake", "icbu_reflow", "icbu_reflowConfig.cmake")
        recorded = re.findall(r'(ROUTE|WHERE|VERSION) "([^"]*)"',
                              open(config).read()) if rc == 0 and os.path.isfile(config) else []
        target = [("ROUTE", "target"), ("WHERE", "MbedTLS::mbedcrypto"), ("VERSION", version)]
        report(rc == 0 and recorded == target,
               "%s: installed, recording %s" % (name, " ".join("%s %s" % x for x in recorded)),
               tail(out))
        if recorded == target:
            d, build, args = find_package_consumer(tmp, name + " and MbedTLS::mbedcrypto",
                                                   [prefix, p36])
            with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
                f.write(CMAKE_HEAD + "find_package(MbedTLS %s CONFIG REQUIRED)\n" % version
                        + "find_package(icbu_reflow 0.1 CONFIG REQUIRED)\n" + CMAKE_TAIL)
            if cmake_build(name + ", after find_package(MbedTLS)", d, build, args):
                link = consumer_files(build)[1].split()
                crypto = [x for x in link if re.search(r"mbedcrypto\b", x)]
                report(crypto == [os.path.join(p36, "lib", "libmbedcrypto.a")],
                       "%s: the consumer links %s's library alone" % (name, p36),
                       " ".join(crypto))
                verify(name, os.path.join(build, "consumer"))
            d, build, args = find_package_consumer(tmp, name + " alone", [prefix, p36])
            rc, out = sh(["cmake", "-S", d, "-B", build] + args, d)
            stop = ("icbu_reflow was built against mbedTLS %s (the project's target "
                    "MbedTLS::mbedcrypto): bring in mbedTLS %s as the target "
                    "MbedTLS::mbedcrypto" % (version, version))
            report(rc != 0 and stop in " ".join(out.split()),
                   "%s: a consumer without MbedTLS::mbedcrypto stops at its configure step, "
                   "saying to bring it in" % name, tail(out))

    # route "pkg-config": built against 3.6 found through its mbedcrypto.pc alone (its CMake
    # package out of sight); the consumer, with PKG_CONFIG_PATH unset, or naming a .pc of
    # the system's 2.28 instead, still gets 3.6 through the recorded .pc directory
    name = "find_package/mbedtls built against mbedTLS %s through pkg-config" % version
    if want(name):
        pcdir = os.path.join(p36, "lib", "pkgconfig")
        rc, out, prefix = cmake_install(tmp, "m36-pc", ["-DCMAKE_DISABLE_FIND_PACKAGE_MbedTLS=ON"],
                                        dict(os.environ, PKG_CONFIG_PATH=pcdir))
        report(rc == 0 and hashes_from(out) == "mbedTLS %s (pkg-config)" % version,
               "%s: the library is built with mbedTLS %s (pkg-config)" % (name, version),
               tail(out))
        other = os.path.join(tmp, "pc-2.28")
        os.makedirs(other)
        with open(os.path.join(other, "mbedcrypto.pc"), "w") as f:
            f.write("Name: mbedcrypto\nDescription: the system's\nVersion: 2.28.3\n"
                    "Libs: -lmbedcrypto\n")
        env = {k: v for k, v in os.environ.items()
               if k not in ("PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR")}
        for how, cenv in (("PKG_CONFIG_PATH unset", env),
                          ("PKG_CONFIG_PATH naming 2.28's .pc", dict(env, PKG_CONFIG_PATH=other))):
            if rc != 0:
                break
            sub = "%s, %s" % (name, how)
            d, build, args = find_package_consumer(tmp, sub, [prefix])
            if cmake_build(sub, d, build, args, cenv):
                flags, link = consumer_files(build)
                crypto = [x for x in link.split() if re.search(r"mbedcrypto\b", x)]
                report(crypto == [os.path.join(p36, "lib", "libmbedcrypto.a")]
                       and os.path.join(p36, "include") in flags,
                       "%s: the consumer compiles with %s's headers and links its library alone"
                       % (sub, p36), " ".join(crypto) + " / " + flags.strip()[-300:])
                verify(sub, os.path.join(build, "consumer"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--only", default="", help="run the consumers whose name contains this")
    ap.add_argument("--mbedtls-prefix", default="",
                    help="an installed mbedTLS (3.6, 4.x: make test-compat) to build against instead "
                         "of the system's: CMake finds it through its CMake package")
    ap.add_argument("--crypto", default="", help="with --mbedtls-prefix: mbedtls or psa")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="icbu-consumers-")
    backends = []
    prefix_args, make_args = [], []
    if a.mbedtls_prefix:
        backends = [a.crypto or "mbedtls"]
        prefix_args = ["-DCMAKE_PREFIX_PATH=" + a.mbedtls_prefix]
        make_args = ["MBEDTLS_PREFIX=" + a.mbedtls_prefix]
    for be in ("mbedtls", "bearssl") if not a.mbedtls_prefix else ():
        if have_backend(be):
            backends.append(be)
        else:
            skip("%s consumers" % be, "the back end is not installed (Debian: apt-get install %s)"
                 % {"mbedtls": "libmbedtls-dev", "bearssl": "libbearssl-dev"}[be])
    repo, sha = snapshot_repo(tmp) if "fetch" in a.only or not a.only else (None, None)

    def want(name):
        return not a.only or a.only in name

    for be in backends:
        opt = (["-DICBU_REFLOW_CRYPTO=%s" % be] if be != "mbedtls" else []) + prefix_args   # mbedtls: the default
        # add_subdirectory
        name = "add_subdirectory/%s" % be
        if want(name):
            d = consumer_dir(tmp, name.replace("/", "-"))
            with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
                f.write(CMAKE_HEAD + "add_subdirectory(%s icbu_reflow)\n" % ROOT + CMAKE_TAIL)
            if cmake_build(name, d, os.path.join(d, "b"), opt):
                verify(name, os.path.join(d, "b", "consumer"))
                rc, out = sh(["cmake", "--build", os.path.join(d, "b"), "--target", "help"], d)
                targets = sorted(set(re.findall(r"^\.\.\. ([\w-]+)$", out, re.M)) -
                                 {"all", "clean", "depend", "edit_cache", "rebuild_cache", "install",
                                  "install/local", "install/strip", "list_install_components"})
                report(targets == ["consumer", "icbu_reflow"],
                       "%s: a subproject adds only its library (targets: %s)" % (name, " ".join(targets)))
                # the parent's install installs nothing of it, unless ICBU_REFLOW_INSTALL is ON
                for on in (False, True):
                    build = os.path.join(d, "b")
                    inst = os.path.join(tmp, "sub-prefix-%s-%s" % (be, "on" if on else "off"))
                    rc, out = sh(["cmake", build, "-DICBU_REFLOW_INSTALL=ON"], d) if on else (0, "")
                    if rc == 0:
                        rc, o2 = sh(["cmake", "--install", build, "--prefix", inst], d)
                        out += o2
                    files = installed_files(inst)
                    want_files = sorted(INSTALLED + [
                        "lib/cmake/icbu_reflow/icbu_reflowTargets-noconfig.cmake"]) if on else []
                    what = "its files with -DICBU_REFLOW_INSTALL=ON" if on else "nothing of it"
                    report(rc == 0 and files == want_files,
                           "%s: the parent's cmake --install installs %s" % (name, what),
                           tail(out) + " " + " ".join(files))
        # FetchContent
        name = "FetchContent/%s" % be
        if want(name):
            d = consumer_dir(tmp, name.replace("/", "-"))
            with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
                f.write(CMAKE_HEAD + "include(FetchContent)\n"
                        "FetchContent_Declare(icbu_reflow GIT_REPOSITORY file://%s GIT_TAG %s)\n"
                        "FetchContent_MakeAvailable(icbu_reflow)\n" % (repo, sha) + CMAKE_TAIL)
            if cmake_build(name, d, os.path.join(d, "b"), opt):
                verify(name, os.path.join(d, "b", "consumer"))
        # install, then find_package and pkg-config
        if not (want("find_package/" + be) or want("pkg-config/" + be)):
            continue
        prefix = os.path.join(tmp, "prefix-" + be)
        lib_build = os.path.join(tmp, "libbuild-" + be)
        rc, out = sh(["cmake", "-S", ROOT, "-B", lib_build, "-DCMAKE_INSTALL_PREFIX=" + prefix] + opt, ROOT)
        if rc == 0:
            rc, o2 = sh(["cmake", "--build", lib_build, "-j", "2"], ROOT)
            out += o2
        if rc == 0:
            rc, o2 = sh(["cmake", "--install", lib_build], ROOT)
            out += o2
        installed = installed_files(prefix) if rc == 0 else []
        want_files = sorted(INSTALLED + ["lib/cmake/icbu_reflow/icbu_reflowTargets-release.cmake"])
        report(rc == 0 and installed == want_files,
               "cmake --install (%s): %s" % (be, ", ".join(want_files)), tail(out) + " " + " ".join(installed))
        name = "find_package/%s" % be
        if want(name) and rc == 0:
            d = consumer_dir(tmp, name.replace("/", "-"))
            with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
                f.write(CMAKE_HEAD + "find_package(icbu_reflow 0.1 CONFIG REQUIRED)\n" + CMAKE_TAIL)
            paths = ";".join([prefix] + [x.split("=", 1)[1] for x in prefix_args])
            if cmake_build(name, d, os.path.join(d, "b"), ["-DCMAKE_PREFIX_PATH=" + paths]):
                verify(name, os.path.join(d, "b", "consumer"))
        name = "pkg-config/%s" % be
        if want(name) and rc == 0:
            d = consumer_dir(tmp, name.replace("/", "-"))
            env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
            prc, flags = sh(["pkg-config", "--cflags", "--libs", "icbu_reflow"], d, env)
            report(prc == 0 and ("-DICBU_REFLOW_CRYPTO_" + be.upper()) in flags,
                   "%s: pkg-config --cflags --libs icbu_reflow: %s" % (name, flags.strip()), flags)
            if prc == 0:
                crc, out = sh(["cc", "-std=c99", "-o", "consumer", "main.c"] + flags.split(), d)
                report(crc == 0, "%s: cc main.c $(pkg-config --cflags --libs icbu_reflow) links" % name,
                       tail(out))
                if crc == 0:
                    verify(name, os.path.join(d, "consumer"))

    # cmake --install with absolute CMAKE_INSTALL_LIBDIR/INCLUDEDIR (GNUInstallDirs allows
    # them): the .pc names those directories, not <prefix>/<absolute directory>
    name = "pkg-config/absolute install dirs"
    if want(name) and backends and not a.mbedtls_prefix:
        prefix, libdir, incdir = (os.path.join(tmp, "abs-" + x) for x in ("prefix", "lib", "inc"))
        lib_build = os.path.join(tmp, "libbuild-abs")
        opt = (["-DICBU_REFLOW_CRYPTO=" + backends[0]] + prefix_args +
               ["-DCMAKE_INSTALL_PREFIX=" + prefix, "-DCMAKE_INSTALL_LIBDIR=" + libdir,
                "-DCMAKE_INSTALL_INCLUDEDIR=" + incdir])
        rc, out = sh(["cmake", "-S", ROOT, "-B", lib_build] + opt, ROOT)
        for argv in (["cmake", "--build", lib_build], ["cmake", "--install", lib_build]):
            if rc == 0:
                rc, o2 = sh(argv, ROOT)
                out += o2
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))
        got = [sh(["pkg-config", "--variable=" + v, "icbu_reflow"], tmp, env)[1].strip()
               for v in ("libdir", "includedir")] if rc == 0 else []
        report(got == [libdir, incdir], "%s: libdir and includedir are %s" % (name, " ".join(got)),
               tail(out))
        if got == [libdir, incdir]:
            d = consumer_dir(tmp, "pkg-config-abs")
            prc, flags = sh(["pkg-config", "--cflags", "--libs", "icbu_reflow"], d, env)
            crc, out = sh(["cc", "-std=c99", "-o", "consumer", "main.c"] + flags.split(), d)
            report(prc == 0 and crc == 0, "%s: cc main.c %s links" % (name, flags.strip()),
                   tail(out))
            if prc == 0 and crc == 0:
                verify(name, os.path.join(d, "consumer"))

    # the installed package's back end is the one the library was compiled against: found
    # the way the build found it, where the build found it first, of the same mbedTLS version
    if not a.mbedtls_prefix:
        installed_backend_checks(tmp, backends, want)

    # make install (no CMake), then the same pkg-config consumer
    for be in backends:
        name = "make install/%s" % be
        if not want(name):
            continue
        prefix = os.path.join(tmp, "make-prefix-" + be)
        rc, out = sh(["make", "--no-print-directory", "-s", "install", "PREFIX=" + prefix,
                      "ICBU_REFLOW_CRYPTO=" + be, "BUILD=" + os.path.join(tmp, "make-build-" + be)] + make_args,
                     ROOT)
        files = ["include/icbu_reflow.h", "lib/libicbu_reflow.a", "lib/pkgconfig/icbu_reflow.pc"]
        report(rc == 0 and all(os.path.isfile(os.path.join(prefix, f)) for f in files),
               "%s PREFIX=...: %s" % (name, ", ".join(files)), tail(out))
        if rc != 0:
            continue
        d = consumer_dir(tmp, name.replace("/", "-").replace(" ", "-"))
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
        pc = open(os.path.join(prefix, "lib", "pkgconfig", "icbu_reflow.pc")).read()
        dirs = re.findall(r"^(?:includedir|libdir)=.*$", pc, re.M)
        report(dirs == ["includedir=${prefix}/include", "libdir=${prefix}/lib"],
               "%s: icbu_reflow.pc: %s" % (name, ", ".join(dirs)))
        prc, flags = sh(["pkg-config", "--cflags", "--libs", "icbu_reflow"], d, env)
        crc, out = sh(["cc", "-std=c99", "-o", "consumer", "main.c"] + flags.split(), d) if prc == 0 else (1, flags)
        report(crc == 0, "%s: cc main.c $(pkg-config --cflags --libs icbu_reflow) links: %s" % (name, flags.strip()),
               tail(out))
        if crc == 0:
            verify(name, os.path.join(d, "consumer"))

    # mbedTLS 4.x with the mbedtls back end: a configure-time error that names psa
    if a.mbedtls_prefix and a.crypto == "psa" and want("configure"):
        d = consumer_dir(tmp, "mbedtls-on-4")
        with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
            f.write(CMAKE_HEAD + "add_subdirectory(%s icbu_reflow)\n" % ROOT + CMAKE_TAIL)
        rc, out = sh(["cmake", "-S", d, "-B", os.path.join(d, "b"), "-DICBU_REFLOW_CRYPTO=mbedtls"] + prefix_args, d)
        bi = os.path.join(a.mbedtls_prefix, "include", "mbedtls", "build_info.h")
        major = re.search(r"#define\s+MBEDTLS_VERSION_MAJOR\s+(\d+)", open(bi).read()) if os.path.isfile(bi) else None
        if major and int(major.group(1)) >= 4:
            report(rc != 0 and "-DICBU_REFLOW_CRYPTO=psa" in out,
                   "configure with ICBU_REFLOW_CRYPTO=mbedtls on mbedTLS 4.x stops, naming psa", tail(out))

    # add_subdirectory with the PSA back end
    name = "add_subdirectory/psa"
    if want(name) and "mbedtls" in backends and not a.mbedtls_prefix:
        d = consumer_dir(tmp, name.replace("/", "-"))
        with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
            f.write(CMAKE_HEAD + "add_subdirectory(%s icbu_reflow)\n" % ROOT + CMAKE_TAIL)
        if cmake_build(name, d, os.path.join(d, "b"), ["-DICBU_REFLOW_CRYPTO=psa"]):
            verify(name, os.path.join(d, "b", "consumer"))

    # a parent's plain set(ICBU_REFLOW_CRYPTO bearssl) before add_subdirectory: the first
    # configure already uses it (not the cache's default, mbedtls)
    name = "add_subdirectory/bearssl set by the parent"
    if want(name) and "bearssl" in backends:
        d = consumer_dir(tmp, "parent-sets-bearssl")
        with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
            f.write(CMAKE_HEAD + "set(ICBU_REFLOW_CRYPTO bearssl)\n"
                    "add_subdirectory(%s icbu_reflow)\n" % ROOT + CMAKE_TAIL)
        out = cmake_build(name, d, os.path.join(d, "b"))
        if out:
            what, defs = hashes_from(out), c_defines(os.path.join(d, "b"))
            report(what and what.startswith("BearSSL (")
                   and defs == ["-DICBU_REFLOW_CRYPTO_BEARSSL"],
                   "%s: the first configure uses BearSSL (%s; consumer: %s)"
                   % (name, what, " ".join(defs)))
            verify(name, os.path.join(d, "b", "consumer"))

    # a parent that builds mbedTLS itself (add_subdirectory of its sources) before icbu_reflow:
    # the library links the parent's crypto target, not the system's mbedTLS
    for series, var, be, what in (
            ("3.6", "MBEDTLS36_SRC", "mbedtls",
             "mbedTLS %s (the project's target MbedTLS::mbedcrypto)"),
            ("4", "MBEDTLS4_SRC", "psa",
             "mbedTLS 4.x's TF-PSA-Crypto (the project's target TF-PSA-Crypto::tfpsacrypto)")):
        name = "add_subdirectory/%s after the parent's own mbedTLS %s" % (be, series)
        if not want(name) or a.mbedtls_prefix:
            continue
        archive = mbedtls_archive(series, var)
        if not archive:
            skip(name, "no mbedtls-%s.*.tar.xz in %s (give it with %s=...)"
                 % (series, THIRDPARTY, var))
            continue
        d = consumer_dir(tmp, "parent-builds-mbedtls-" + series)
        with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
            f.write(CMAKE_HEAD + "add_subdirectory(%s mbedtls EXCLUDE_FROM_ALL)\n"
                    "add_subdirectory(%s icbu_reflow)\n" % (mbedtls_tree(archive, tmp), ROOT)
                    + CMAKE_TAIL)
        # mbedTLS's own options as tools/mbedtls_build.sh gives them; `all` builds what
        # the consumer links: the crypto library alone of mbedTLS's
        out = cmake_build(name, d, os.path.join(d, "b"),
                          ["-DICBU_REFLOW_CRYPTO=" + be, "-DENABLE_TESTING=OFF",
                           "-DENABLE_PROGRAMS=OFF", "-DMBEDTLS_FATAL_WARNINGS=OFF",
                           "-DCMAKE_DISABLE_FIND_PACKAGE_Python3=ON"])
        if out:
            version = re.search(r"mbedtls-([0-9.]+)\.tar", archive).group(1)
            want_what = what.replace("%s", version)
            link = os.path.join(d, "b", "CMakeFiles", "consumer.dir", "link.txt")
            crypto = [x for x in open(link).read().split()
                      if re.search(r"(mbedcrypto|tfpsacrypto)\b", x)]
            report(hashes_from(out) == want_what and len(crypto) == 1
                   and crypto[0].startswith("mbedtls/"),          # the parent's build, nothing else
                   "%s: hashes from %s; the consumer links %s"
                   % (name, hashes_from(out), " ".join(crypto)))
            verify(name, os.path.join(d, "b", "consumer"))

    # mbedTLS 4.x found through pkg-config (tfpsacrypto.pc, whose Version is TF-PSA-Crypto's
    # 1.x): psa builds on it, and mbedtls stops the configure step, naming psa
    name = "pkg-config mbedTLS 4"
    archive = mbedtls_archive("4", "MBEDTLS4_SRC") if want(name) and not a.mbedtls_prefix else None
    if want(name) and not a.mbedtls_prefix and not archive:
        skip(name, "no mbedtls-4.*.tar.xz in %s (give it with MBEDTLS4_SRC=...)" % THIRDPARTY)
    elif archive:
        # built and installed once, into the cache make test-compat builds it into
        top = os.path.basename(archive)[:-len(".tar.xz")]
        rc, out = sh(["sh", os.path.join(ROOT, "tools", "mbedtls_build.sh"), archive,
                      os.path.join(COMPAT, top)], ROOT)
        prefix = out.strip().splitlines()[-1] if rc == 0 else ""
        report(rc == 0, "%s: %s built and installed (tools/mbedtls_build.sh)" % (name, top),
               tail(out))
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
        version = re.search(r"mbedtls-([0-9.]+)\.tar", archive).group(1)
        for be in ("psa", "mbedtls") if rc == 0 else ():
            d = consumer_dir(tmp, "pkg-config-mbedtls4-" + be)
            with open(os.path.join(d, "CMakeLists.txt"), "w") as f:
                f.write(CMAKE_HEAD + "add_subdirectory(%s icbu_reflow)\n" % ROOT + CMAKE_TAIL)
            crc, out = sh(["cmake", "-S", d, "-B", os.path.join(d, "b"),
                           "-DICBU_REFLOW_CRYPTO=" + be], d, env)
            if be == "mbedtls":
                stop = "mbedTLS %s (pkg-config) has no public MD5/SHA-256 API" % version
                report(crc != 0 and stop in " ".join(out.split())
                       and "-DICBU_REFLOW_CRYPTO=psa" in out,
                       "%s/mbedtls: the configure step stops, naming mbedTLS %s and psa"
                       % (name, version), tail(out))
                continue
            report(crc == 0 and hashes_from(out) == "mbedTLS %s (pkg-config)" % version,
                   "%s/psa: hashes from %s" % (name, hashes_from(out)), tail(out))
            brc, out = sh(["cmake", "--build", os.path.join(d, "b"), "-j", "2"], d, env)
            report(crc == 0 and brc == 0, "%s/psa: builds" % name, tail(out))
            if crc == 0 and brc == 0:
                verify(name + "/psa", os.path.join(d, "b", "consumer"))

    # the README's plain cc lines, on the README's minimal program (with --mbedtls-prefix:
    # the lines for that mbedTLS, with the -I/-L the README says an mbedTLS of one's own adds)
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    build_doc = open(os.path.join(ROOT, "docs", "build.md"), encoding="utf-8").read()
    prog = re.search(r"## A minimal program\n\n```c\n(.*?)```", readme, re.S).group(1)
    lines = re.findall(r"^(cc [^\n#]*?)\s*# (ICBU_REFLOW_CRYPTO_\w+)[^\n]*$", build_doc, re.M)
    report(len(lines) >= 2, "docs/build.md gives the plain cc lines (%d found)" % len(lines))
    short = re.findall(r"^(cc [^\n#]*?)\s*#", readme, re.M)
    report(bool(short) and all(x in [ln for ln, _ in lines] for x in short),
           "the README's cc line is one of docs/build.md's", " / ".join(short))
    for line, macro in lines:
        be = macro.rsplit("_", 1)[-1].lower()
        lib = re.search(r"-l(\w+)", line)
        lib = lib.group(1) if lib else ""
        name = "plain cc/%s -l%s" % (be, lib)
        extra = []
        if a.mbedtls_prefix:
            libdir = os.path.join(a.mbedtls_prefix, "lib")
            if be not in backends or not any(f.startswith("lib%s." % lib) for f in os.listdir(libdir)):
                continue
            if lib == "mbedcrypto" and any(f.startswith("libtfpsacrypto.") for f in os.listdir(libdir)):
                continue                     # 4.x: its line is -ltfpsacrypto
            extra = ["-I", os.path.join(a.mbedtls_prefix, "include"), "-L", libdir]
        elif lib == "tfpsacrypto":
            skip(name, "mbedTLS 4.x is not the system's (make test-compat builds against it)")
            continue
        elif be not in backends and not (be == "psa" and "mbedtls" in backends):
            skip(name, "the back end is not installed")
            continue
        if not want(name):
            continue
        d = consumer_dir(tmp, "plain-" + be + "-" + lib)
        src = prog.replace("#define ICBU_REFLOW_CRYPTO_MBEDTLS", "#define " + macro, 1)
        with open(os.path.join(d, "main.c"), "w") as f:
            f.write(src)
        argv = line.replace("path/to/icbu_reflow", ROOT).split()
        argv = argv[:-1] + extra + argv[-1:]              # -I/-L before the -l
        crc, out = sh(argv + ["-o", "minimal"], d)
        report(crc == 0, "%s: `%s` builds the README's minimal program" % (name, " ".join(argv)), tail(out))
        if crc == 0:
            rc, body = sh([os.path.join(d, "minimal")], d)
            res, params = check_body.check_body(body.strip(), "helloworld", None) if rc == 0 else ([], {})
            bad = ["%s: %s" % (n, x) for ok, n, x in res if not ok]
            report(rc == 0 and res and not bad, "%s: its body is signed and verified by Python" % name,
                   "; ".join(bad)[:300] or body[:200])

    if a.keep:
        print("# kept %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
