#!/usr/bin/env python3
"""make test-compat: the library, its unit tests and icbu-reflow against the mbedTLS
versions users have besides Debian's 2.28: 3.6 LTS and 4.x, built from source archives.

    python3 tests/compat.py --src36 ARCHIVE --src4 ARCHIVE [--patch36 PATCH]
                            [--cache DIR] [--main-bodies DIR]

Each archive is built once (tools/mbedtls_build.sh: CMake, static, installed into
DIR/<name>/prefix; DIR defaults to build/compat) and kept: a second run with the same
archive, patch and options does not build again. Against each:
  3.6        `make examples MBEDTLS_PREFIX=...`: the CLIs, the README example and the unit
             tests of the MBEDTLS, PSA and small (MBEDTLS + ICBU_REFLOW_SMALL) back ends;
             the unit tests run; the CLIs (mbedTLS and PSA hashes) go through the
             integration tests' HTTPS matrix twice: against the gateway's default listener
             (TLS 1.3 agreed) and its TLS-1.2-only one; and tests/keepalive.py's CLI cases
             (flush over kept connections, TLS 1.3 and 1.2 resumption). 3.6.6 rejects TLS 1.2 RSA-PSS
             ServerKeyExchange signatures (a regression); with --patch36 (upstream PR 10674,
             in ../shared/thirdparty) the cached build is patched, without it the TLS 1.2
             cases are skipped and the output says so.
             Also: the CLI and transports/icbu_tls_mbedtls.c with -DMBEDTLS_DEPRECATED_WARNING
             -Werror; and tests/build_systems.py's consumers (CMake through mbedTLS's CMake
             package, pkg-config, make install, the README's cc line) with both back ends.
  3.6, MBEDTLS_DEPRECATED_REMOVED   the library built with it, the CLIs compiled with it,
             and the same HTTPS matrix (TLS 1.3 and 1.2).
  4.x        the same as 3.6 with the PSA back end (the only one 4.x allows: the MBEDTLS
             back end must stop at its #error, and CMake's configure step at its message,
             which are checked too).
Every body the unit tests write (the API document's example order, each sign method) is
verified by tests/check_examples.py (Python's hashlib/hmac/urllib) and must be byte-identical
to the others, and to --main-bodies (Debian's 2.28, from make test) when given.
One line per check, then "N passed, N failed"; exit status 1 if anything failed.
"""
import argparse
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import check_body  # noqa: E402
import checklist  # noqa: E402
from checklist import report, note, skip, tail  # noqa: E402



def sh(argv, env=None, timeout=900):
    return checklist.sh(argv, ROOT, env, timeout)


def counted(out):
    """(passed, failed) from cmocka's summary or a last 'N passed, N failed' line."""
    m = re.findall(r"^\[  PASSED  \] (\d+) test", out, re.M)
    if m:
        f = re.findall(r"^\[  FAILED  \] (\d+) test", out, re.M)
        return sum(map(int, m)), sum(map(int, f))
    m = re.findall(r"^(\d+) passed, (\d+) failed", out, re.M)
    return (int(m[-1][0]), int(m[-1][1])) if m else (0, 0)


def build_mbedtls(name, archive, cache, patch=None, cmake_args=()):
    t0 = time.monotonic()
    argv = ["sh", "tools/mbedtls_build.sh", archive, os.path.join(cache, name)]
    if patch:
        argv.append(patch)
    if cmake_args:
        argv += ["--"] + list(cmake_args)
    rc, out = sh(argv)
    prefix = out.strip().splitlines()[-1] if rc == 0 and out.strip() else None
    report(rc == 0 and prefix and os.path.isdir(prefix),
           "%s: built and installed (%s, %.0f s)" % (name, os.path.basename(archive) +
                                                     (" + " + os.path.basename(patch) if patch else ""),
                                                     time.monotonic() - t0), tail(out))
    return prefix if rc == 0 else None


def make(out_dir, prefix, targets, extra=()):
    argv = ["make", "--no-print-directory", "-s", "BUILD=" + out_dir, "MBEDTLS_PREFIX=" + prefix] + \
        list(extra) + list(targets)
    return sh(argv)


def version_of(binary):
    rc, out = sh([binary, "--version"])
    return out.strip()


def run_units(tag, out_dir):
    """Runs the unit tests make examples MBEDTLS_PREFIX built; returns the body dirs."""
    bodies = []
    for name in sorted(os.listdir(out_dir)):
        path = os.path.join(out_dir, name)
        if not (name.startswith(("test_core_", "test_exchange_")) or name == "psa_faults"):
            continue
        be = name.rsplit("_", 1)[-1]
        bdir = os.path.join(out_dir, "bodies", be)
        os.makedirs(bdir, exist_ok=True)
        rc, out = sh([path, bdir])
        p, f = counted(out)
        report(rc == 0 and p > 0 and f == 0, "%s: %s (%d passed, %d failed)" % (tag, name, p, f), tail(out))
        if name.startswith("test_core_"):
            bodies.append(bdir)
    return bodies


def run_minimal(tag, out_dir):
    env = dict(os.environ, ICBU_REFLOW_APP_SECRET="helloworld")
    rc, out = sh([os.path.join(out_dir, "minimal")], env=env)
    body = out.strip()
    with open(os.path.join(HERE, "data", "example_order.json"), encoding="utf-8") as f:
        expected = json.load(f)
    res, _ = check_body.check_body(body, "helloworld", expected) if rc == 0 else ([], {})
    bad = [n + ": " + d for ok, n, d in res if not ok]
    report(rc == 0 and res and not bad, "%s: the README example (build/minimal) signs a body Python verifies"
           % tag, "rc=%d %s %s" % (rc, "; ".join(bad)[:300], body[:120]))


def driver(tag, what, script, out_dir, binaries, schemes, extra=()):
    """One of the CLI drivers (integration.py, keepalive.py) over out_dir's binaries."""
    args = [sys.executable, os.path.join(HERE, script), "--bin", out_dir,
            "--schemes", schemes, "--binaries", ",".join(binaries)] + list(extra)
    t0 = time.monotonic()
    rc, out = sh(args, timeout=1200)
    p, f = counted(out)
    fails = [x for x in out.splitlines() if x.startswith("not ok")]
    report(rc == 0 and p > 0 and f == 0,
           "%s: %s, %s over %s (%d passed, %d failed, %.0f s)"
           % (tag, what, "+".join(binaries), schemes, p, f, time.monotonic() - t0),
           "\n    ".join(fails[:15]) or tail(out))


def integration(tag, out_dir, binaries, schemes):
    driver(tag, "integration", "integration.py", out_dir, binaries, schemes)


def keepalive(tag, out_dir, binaries):
    """tests/keepalive.py's CLI cases: flush over kept connections, closes of every kind,
    TLS resumption, TLS 1.3 on the default listener and 1.2 on the other (the gateway's
    keys are EC there, so 3.6.6's TLS 1.2 RSA-PSS regression does not apply)."""
    driver(tag, "keep-alive and TLS resumption", "keepalive.py", out_dir, binaries,
           "https,https12", ["--only", "cli/"])


def tls_refusals(tag, out_dir):
    """tests/tls_check.py over out_dir's binaries: the certificates, versions and CA files
    the TLS transport must refuse, SNI, renegotiation."""
    t0 = time.monotonic()
    rc, out = sh([sys.executable, os.path.join(HERE, "tls_check.py"), "--bin", out_dir], timeout=600)
    p, f = counted(out)
    fails = [x for x in out.splitlines() if x.startswith("not ok")]
    report(rc == 0 and p > 0 and f == 0, "%s: what TLS refuses (%d passed, %d failed, %.0f s)"
           % (tag, p, f, time.monotonic() - t0), "\n    ".join(fails[:15]) or tail(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src36", default="")
    ap.add_argument("--src4", default="")
    ap.add_argument("--patch36", default="")
    ap.add_argument("--cache", default=os.path.join(ROOT, "build", "compat"))
    ap.add_argument("--main-bodies", default="", help="Debian 2.28's bodies (make test's build/bodies/mbedtls)")
    a = ap.parse_args()
    cache = os.path.abspath(a.cache)
    os.makedirs(cache, exist_ok=True)
    t_start = time.monotonic()
    all_bodies = [a.main_bodies] if a.main_bodies and os.path.isdir(a.main_bodies) else []

    variants = []
    if a.src36:
        v36 = re.search(r"mbedtls-(3\.6\.\d+)", os.path.basename(a.src36))
        v36 = v36.group(1) if v36 else "3.6"
        patch = a.patch36 if a.patch36 and os.path.isfile(a.patch36) and v36 == "3.6.6" else None
        tls12 = v36 != "3.6.6" or patch is not None
        if not tls12:
            skip("mbedTLS 3.6.6's TLS 1.2 cases", "no RSA-PSS patch (--patch36 / MBEDTLS36_PATCH): "
                 "skipped (3.6.6 rejects TLS 1.2 rsa_pss_rsae ServerKeyExchange signatures)")
        variants.append(("mbedtls-" + v36, a.src36, patch, (), (), ["mbedtls", "psa"], tls12, "3"))
        variants.append(("mbedtls-" + v36 + "-deprecated-removed", a.src36, patch,
                         ("-DCMAKE_C_FLAGS=-DMBEDTLS_DEPRECATED_REMOVED",),
                         ("EX_EXTRA_CFLAGS=-DMBEDTLS_DEPRECATED_REMOVED",), ["mbedtls", "psa"], tls12, "3"))
    else:
        skip("mbedTLS 3.6", "no archive (MBEDTLS36_SRC): not tested")
    if a.src4:
        v4 = re.search(r"mbedtls-(4\.\d+\.\d+)", os.path.basename(a.src4))
        v4 = v4.group(1) if v4 else "4"
        # 4.x: icbu-reflow-mbedtls hashes through PSA as icbu-reflow-psa does: one is enough
        variants.append(("mbedtls-" + v4, a.src4, None, (), (), ["mbedtls"], True, "4"))
    else:
        skip("mbedTLS 4.x", "no archive (MBEDTLS4_SRC): not tested")

    for name, archive, patch, cmake_args, make_extra, binaries, tls12, major in variants:
        prefix = build_mbedtls(name, archive, cache, patch, cmake_args)
        if not prefix:
            continue
        out_dir = os.path.join(cache, name, "out")
        removed = bool(make_extra)
        targets = [os.path.join(out_dir, "icbu-reflow-" + b) for b in binaries] if removed else ["examples"]
        rc, out = make(out_dir, prefix, targets, make_extra)
        report(rc == 0, "%s: make %s MBEDTLS_PREFIX=%s%s" % (
            name, "CLIs" if removed else "examples", prefix, " " + " ".join(make_extra) if make_extra else ""),
            tail(out))
        if rc != 0:
            continue
        ver = version_of(os.path.join(out_dir, "icbu-reflow-mbedtls"))
        want_hash = "PSA Crypto" if major == "4" else "mbedTLS"
        report(name.split("-")[1] in ver and ("hashes: " + want_hash) in ver,
               "%s: icbu-reflow --version names it: %s" % (name, ver), ver)
        if not removed:
            ver = version_of(os.path.join(out_dir, "icbu-reflow-psa"))
            report(name.split("-")[1] in ver and "hashes: PSA Crypto" in ver,
                   "%s: icbu-reflow-psa --version: %s" % (name, ver), ver)
            all_bodies += run_units(name, out_dir)
            run_minimal(name, out_dir)
            # icbu_tls_mbedtls.c and the CLI use nothing deprecated: -DMBEDTLS_DEPRECATED_WARNING -Werror
            if major == "3":
                wdir = os.path.join(cache, name, "out-deprecated-warning")
                rc, out = make(wdir, prefix, [os.path.join(wdir, "icbu-reflow-" + b) for b in binaries],
                               ["EX_EXTRA_CFLAGS=-DMBEDTLS_DEPRECATED_WARNING"])
                report(rc == 0, "%s: the CLIs compile with -DMBEDTLS_DEPRECATED_WARNING -Werror" % name,
                       tail(out))
            else:
                src = os.path.join(cache, name, "mbedtls_backend.c")
                with open(src, "w") as f:
                    f.write('#define ICBU_REFLOW_CRYPTO_MBEDTLS\n#define ICBU_REFLOW_IMPLEMENTATION\n'
                            '#include "icbu_reflow.h"\n')
                rc, out = sh(["cc", "-std=c99", "-I" + ROOT, "-I" + os.path.join(prefix, "include"),
                              "-fsyntax-only", src])
                first = next((x for x in out.splitlines() if "error" in x), "")
                report(rc != 0 and "use ICBU_REFLOW_CRYPTO_PSA" in first,
                       "%s: ICBU_REFLOW_CRYPTO_MBEDTLS stops at the #error that names PSA" % name,
                       first or tail(out))
        schemes = "https,https12" if tls12 else "https"
        integration(name, out_dir, binaries, schemes)
        if not removed:
            keepalive(name, out_dir, binaries)
            tls_refusals(name, out_dir)
        if not removed:
            # CMake (its CMake package found), pkg-config, make install and the README's cc line
            for crypto in (["mbedtls", "psa"] if major == "3" else ["psa"]):
                t0 = time.monotonic()
                rc, out = sh([sys.executable, os.path.join(HERE, "build_systems.py"),
                              "--mbedtls-prefix", prefix, "--crypto", crypto])
                p, f = counted(out)
                fails = [x for x in out.splitlines() if x.startswith("not ok")]
                report(rc == 0 and p > 0 and f == 0,
                       "%s: consumers through add_subdirectory, FetchContent, find_package, pkg-config, "
                       "make install and the README's cc line, %s back end (%d passed, %d failed, %.0f s)"
                       % (name, crypto, p, f, time.monotonic() - t0), "\n    ".join(fails[:10]) or tail(out))

    if len(all_bodies) > 1:
        rc, out = sh([sys.executable, os.path.join(HERE, "check_examples.py")] + all_bodies)
        p, f = counted(out)
        fails = [x for x in out.splitlines() if x.startswith("not ok")]
        report(rc == 0 and f == 0, "the example order's bodies verify and are identical across %s (%d checks)"
               % (", ".join(os.path.relpath(d, ROOT) for d in all_bodies), p + f), "\n    ".join(fails[:10]))
    note("test-compat took %.0f s" % (time.monotonic() - t_start))
    return checklist.finish()


if __name__ == "__main__":
    sys.exit(main())
