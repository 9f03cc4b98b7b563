#!/usr/bin/env python3
"""Runs the benchmark (`make bench`) or its correctness checks (`make bench-check`).

    python3 bench/bench_run.py check --dir build/bench
    python3 bench/bench_run.py bench --dir build/bench [--cc CC] [--samples 1001] [--jobs N]
                                     [--write docs/bench.md]
    python3 bench/bench_run.py budget --dir build/bench [--page docs/bench.md] [--jobs N]
    python3 bench/bench_run.py profile --dir build/bench

check: runs `bench_mbedtls check`, `bench_psa check` (PSA Crypto, mbedTLS's),
`bench_bearssl check`, `bench_openssl check` (the custom hook over OpenSSL's libcrypto)
and `bench_py.py --check`
(bodies, signatures, JSON bytes, no heap, stack measured, parsers agree); prints every
line, then "N passed, N failed"; exits 1 on any failure.

bench: the checks first (a benchmark of wrong output is worthless), then, in this order
so that nothing else of ours competes for the CPU while timing:
  1. bench_<be> time      ns per call, median of >= 1001 samples (see bench/bench.c)
  2. bench_py.py --time   the Python script, median of time.perf_counter samples
  3. bench_<be> mem       arena bytes (sizing call), heap calls while signing, stack
  4. valgrind             callgrind: Ir per call = (Ir(N) - Ir(0)) / N, cg_<be> driver,
                          runs in parallel; memcheck: heap summary of cg_<be> heap
and prints one Markdown table, then the issue's targets, met or not. With --write FILE
(`make docs`) the same text also replaces what stands between <!-- bench-table:begin -->
and <!-- bench-table:end --> in FILE.

budget (`make test`): callgrind only, the example order, instructions per signed
request for every method with the mbedTLS, PSA and BearSSL back ends (portable C: the
count is the same on every x86-64 machine; OpenSSL's depends on the CPU features valgrind
shows, so it is left out), each against the "ours Ir" published in docs/bench.md plus a
tolerance (tools/budget.py); and the Ir targets against the hash-only bound (hmac-sha256
<= 1.25x, md5 <= 1.6x, mbedTLS) where the published figures meet them. About 10 s.

profile: callgrind (--dump-instr=yes) of the example order signed with mbedTLS (hmac-sha256,
md5), its md5 bound, and the accepted response parse; prints instructions per call per
function ((Ir(N) - Ir(0)) / N, function by function) and leaves the files in DIR/profile/
for callgrind_annotate --auto=yes (per line) or kcachegrind (per instruction).
Standard library only."""

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import budget  # noqa: E402  tools/budget.py
import readme_block  # noqa: E402  tools/readme_block.py

ORDERS = ("example", "large")
METHODS = ("hmac-sha256", "hmac", "md5")
BACKENDS = (("mbedTLS", "mbedtls"), ("PSA", "psa"), ("BearSSL", "bearssl"), ("OpenSSL", "openssl"))
CG_N = {"example": 100, "large": 3, "response": 1000}
# The targets for the example order with mbedTLS: ours / hash-only bound
BOUND_TARGETS = {"hmac-sha256": 1.25, "md5": 1.6}
# The back ends whose instruction counts make test holds to a budget (portable C hashes)
BUDGET_BACKENDS = ("mbedTLS", "PSA", "BearSSL")
HERE = os.path.dirname(os.path.abspath(__file__))


def label(be):
    """A back end's name in the table: PSA rows name the PSA Crypto implementation."""
    if be == "PSA":
        v = versions()["mbedtls"]
        return "PSA (mbedTLS %s)" % (".".join(v.split(".")[:2]) if v != "?" else "?")
    return {"OpenSSL": "OpenSSL via the custom hook"}.get(be, be)


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def run(cmd, check=True):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and p.returncode != 0:
        raise SystemExit("bench: %s failed (exit %d)\n%s%s" % (" ".join(cmd), p.returncode,
                         p.stdout.decode(errors="replace")[-2000:], p.stderr.decode(errors="replace")[-2000:]))
    return p


# ------------------------------------------------------------------- check
def do_check(d, out=sys.stdout, quiet=False):
    total_pass = total_fail = 0
    cmds = [[os.path.join(d, "bench_mbedtls"), "check", d],
            [os.path.join(d, "bench_psa"), "check", d],
            [os.path.join(d, "bench_bearssl"), "check", d],
            [os.path.join(d, "bench_openssl"), "check", d],
            [sys.executable, os.path.join(HERE, "bench_py.py"), "--check", d]]
    for cmd in cmds:
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        except OSError as ex:
            print("not ok - %s: %s" % (cmd[0], ex), file=out)
            total_fail += 1
            continue
        text = p.stdout.decode("utf-8", "replace")
        lines = text.rstrip("\n").split("\n") if text else []
        passed = failed = None
        if lines:
            m = re.match(r"^(\d+) passed, (\d+) failed$", lines[-1])
            if m:
                passed, failed = int(m.group(1)), int(m.group(2))
                lines = lines[:-1]
        for line in lines:
            if not quiet or not line.startswith("ok - "):
                print(line, file=out)
        if passed is None:
            passed, failed = 0, 1
            print("not ok - %s gave no summary (exit %d)" % (os.path.basename(cmd[1] if cmd[0] == sys.executable else cmd[0]), p.returncode), file=out)
        elif p.returncode != 0 and failed == 0:
            failed = 1
            print("not ok - %s exited %d" % (os.path.basename(cmd[0]), p.returncode), file=out)
        total_pass += passed
        total_fail += failed
    print("%d passed, %d failed" % (total_pass, total_fail), file=out)
    out.flush()
    return total_fail


# ------------------------------------------------------------------- bench
def parse_kv(text, into):
    """Lines "<kind> <what> <case> <value>" -> into[(kind, what, case)] = value."""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4:
            into[(parts[0], parts[1], parts[2])] = float(parts[3])


def callgrind_ir(cmd):
    p = run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd)
    m = re.search(r"Collected : (\d+)", p.stderr.decode(errors="replace"))
    if not m:
        raise SystemExit("bench: no callgrind total for %s" % " ".join(cmd))
    return int(m.group(1))


def cg_jobs(d):
    """(key, argv) for every callgrind measurement; key = ('ir', what, case)."""
    jobs = []
    for be, exe in BACKENDS:
        whats = ("ours", "bound", "baseline", "hand") if exe == "mbedtls" else ("ours", "bound")
        for order in ORDERS:
            for m in METHODS:
                for what in whats:
                    argv = [os.path.join(d, "cg_" + exe), what, order, m]
                    jobs.append((("ir", what, "%s/%s/%s" % (order, be, m)), argv, CG_N[order]))
    for kind, ours, theirs in (("accepted", "parse_ok", "cjson_ok"), ("error", "parse_err", "cjson_err")):
        for what, arg in (("ours", ours), ("baseline", theirs)):
            argv = [os.path.join(d, "cg_mbedtls"), arg, "example", "hmac-sha256"]
            jobs.append((("ir", what, "response/" + kind), argv, CG_N["response"]))
    return jobs


# The fast paths (icbu_reflow.h, "fast paths"): the driver built with each off alone, and
# a small build; what each saves over the build with all of them on.
FAST = (("BLOCKS", "ICBU__FAST_BLOCKS"), ("RUNS", "ICBU__FAST_RUNS"), ("CJK", "ICBU__FAST_CJK"),
        ("KEYS", "ICBU__FAST_KEYS"), ("small", "all of them, and HOT/COLD inlining (ICBU_REFLOW_SMALL)"))
FAST_CASES = (("example", "md5"), ("example", "hmac-sha256"), ("large", "md5"))


def fast_jobs(d):
    jobs = []
    for f in ("all",) + tuple(k for k, _ in FAST):
        for order, m in FAST_CASES:
            argv = [os.path.join(d, "cg_fast_" + f), "ours", order, m]
            jobs.append((("fast", f, "%s/%s" % (order, m)), argv, CG_N[order]))
    return jobs


def fast_table(r):
    out = ["Fast paths: the instructions one signed request (mbedTLS, -O2) takes with all of them "
           "on, and how many more with one turned off alone; a path stays only if it pays.", "",
           "| turned off | " + " | ".join("%s · %s" % c for c in FAST_CASES) + " |",
           "|---|" + "---:|" * len(FAST_CASES),
           "| none: all on | " + " | ".join(fmt_int(r[("fast", "all", "%s/%s" % c)]) for c in FAST_CASES) + " |"]
    for key, name in FAST:
        cells = []
        for c in FAST_CASES:
            base, off = r[("fast", "all", "%s/%s" % c)], r[("fast", key, "%s/%s" % c)]
            cells.append("+%s (+%.1f%%)" % (fmt_int(off - base), 100.0 * (off - base) / base))
        out.append("| %s | %s |" % (name if key == "small" else "`%s`" % name, " | ".join(cells)))
    return out


def run_cg(job):
    key, argv, n = job
    full = callgrind_ir(argv + [str(n)])
    zero = callgrind_ir(argv + ["0"])
    return key, (full - zero) / n


def memcheck_heap(d, exe):
    # cg_mbedtls links libcurl (the baseline), whose dependencies allocate when loaded:
    # heap_mbedtls is the same driver without the baseline.
    drv = "heap_mbedtls" if exe == "mbedtls" else "cg_" + exe
    p = run(["valgrind", "--tool=memcheck", "--error-exitcode=99",
             os.path.join(d, drv), "heap", "example", "md5", "3"])
    m = re.search(r"total heap usage: ([\d,]+) allocs, ([\d,]+) frees, ([\d,]+) bytes allocated",
                  p.stderr.decode(errors="replace"))
    return m.group(0) if m else "?"


def machine(cc):
    cpu = "?"
    ncpu = 0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and cpu == "?":
                    cpu = line.split(":", 1)[1].strip()
                if line.startswith("processor"):
                    ncpu += 1
    except OSError:
        pass
    try:
        ccv = subprocess.run(cc.split() + ["--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout.decode().splitlines()[0].strip()
    except (OSError, IndexError):
        ccv = cc
    try:
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
    except OSError:
        load = "?"
    return cpu, ncpu, ccv, load


def fmt_int(v):
    return "—" if v is None else "{:,}".format(int(round(v)))


def fmt_ns(v):
    if v is None:
        return "—"
    return "{:,}".format(int(round(v))) if v >= 100 else "%.1f" % v


def fmt_x(v):
    return "—" if not v else "%.1f×" % v


def added(x, xbound, ours, bound):
    """What the baseline adds on top of its hash over what we add on top of ours."""
    if None in (x, xbound, ours, bound) or ours <= bound:
        return None
    return (x - xbound) / (ours - bound)


def ratio(a, b, digits=2):
    if a is None or b is None or b <= 0:
        return "—"
    return "%.*f×" % (digits, a / b)


def do_bench(d, cc, samples, jobs, write=None):
    r = {}
    log("bench: checks")
    if do_check(d, sys.stderr, quiet=True):
        raise SystemExit("bench: the checks failed; no numbers for wrong output")
    log("bench: timing (C, %d samples per function; under a minute)" % samples)
    for be, exe in BACKENDS:
        parse_kv(run([os.path.join(d, "bench_" + exe), "time", str(samples)]).stdout.decode(), r)
    log("bench: timing Python")
    py = {}
    for line in run([sys.executable, os.path.join(HERE, "bench_py.py"), "--time", str(samples)]).stdout.decode().splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "us":
            py[(parts[1], parts[2])] = (float(parts[3]), int(parts[4]))
    log("bench: memory")
    for be, exe in BACKENDS:
        parse_kv(run([os.path.join(d, "bench_" + exe), "mem"]).stdout.decode(), r)
    heap_summary = {be: memcheck_heap(d, exe) for be, exe in BACKENDS}
    todo = cg_jobs(d) + fast_jobs(d)
    log("bench: callgrind, %d measurements x 2 runs, %d at a time" % (len(todo), jobs))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        for key, ir in ex.map(run_cg, todo):
            r[key] = ir

    def g(kind, what, case):
        return r.get((kind, what, case))

    cpu, ncpu, ccv, load = machine(cc)
    hdr_id = header_id()
    out = []
    out.append("**icbu_sign_body / icbu_parse_response benchmark** — %s (%d logical CPUs, load average %s "
               "when run); %s, -O2; %s; mbedTLS %s (its md5/sha256 API, and its PSA Crypto for the PSA rows), "
               "BearSSL %s, OpenSSL %s, cJSON %s, libcurl %s, Python %s." %
               (cpu, ncpu, load, ccv, hdr_id, versions()["mbedtls"], versions()["bearssl"], versions()["openssl"],
                versions()["cjson"], versions()["curl"], sys.version.split()[0]))
    out.append("")
    hdr = ["case — %s, %s, -O2" % (cpu, ccv),
           "ours ns", "ours Ir", "hash-only bound ns", "bound Ir", "ours / bound (ns · Ir)",
           "cJSON baseline ns", "baseline Ir", "baseline / ours (ns · Ir)",
           "added on top of the hash: baseline / ours (ns · Ir)",
           "same, baseline with a hand-written encoder (ns · Ir)",
           "Python µs", "Python / ours", "arena B", "heap: ours · baseline", "stack B: ours · baseline"]
    out.append("| " + " | ".join(hdr) + " |")
    out.append("|" + "|".join(["---"] + ["---:"] * (len(hdr) - 1)) + "|")
    targets = []
    for order in ORDERS:
        for be, exe in BACKENDS:
            for m in METHODS:
                case = "%s/%s/%s" % (order, be, m)
                mcase = "%s/mbedTLS/%s" % (order, m)          # the baseline is always cJSON + mbedTLS
                ons, oir = g("ns", "ours", case), g("ir", "ours", case)
                bns, bir = g("ns", "bound", case), g("ir", "bound", case)
                xns, xir = g("ns", "baseline", mcase), g("ir", "baseline", mcase)
                mbns, mbir = g("ns", "bound", mcase), g("ir", "bound", mcase)
                pyus = py.get((order, m), (None, 0))[0]
                add_ns, add_ir = added(xns, mbns, ons, bns), added(xir, mbir, oir, bir)
                hadd_ns = added(g("ns", "hand", mcase), mbns, ons, bns)
                hadd_ir = added(g("ir", "hand", mcase), mbir, oir, bir)
                hc, hb = g("heap_calls", "ours", case), g("heap_bytes", "ours", case)
                xhc, xhb = g("heap_calls", "baseline", mcase), g("heap_bytes", "baseline", mcase)
                row = ["%s · %s · %s" % (order, label(be), m),
                       fmt_ns(ons), fmt_int(oir), fmt_ns(bns), fmt_int(bir),
                       "%s · %s" % (ratio(ons, bns), ratio(oir, bir)),
                       fmt_ns(xns), fmt_int(xir),
                       # the baseline hashes with mbedTLS: a whole-request ratio only against mbedTLS
                       "%s · %s" % (ratio(xns, ons, 1), ratio(xir, oir, 1)) if be == "mbedTLS" else "—",
                       "%s · %s" % (fmt_x(add_ns), fmt_x(add_ir)),
                       "%s · %s" % (fmt_x(hadd_ns), fmt_x(hadd_ir)),
                       "%.1f" % pyus if pyus else "—",
                       ratio(pyus * 1000 if pyus else None, ons, 1),
                       fmt_int(g("arena", "ours", case)),
                       "%s B (%s calls) · %s B (%s calls)" % (fmt_int(hb), fmt_int(hc), fmt_int(xhb), fmt_int(xhc)),
                       "%s · %s" % (fmt_int(g("stack", "ours", case)), fmt_int(g("stack", "baseline", mcase)))]
                out.append("| " + " | ".join(row) + " |")
                if order == "example":
                    targets.append((be, m, ons, bns, oir, bir, add_ns, add_ir, hadd_ns, hadd_ir, pyus))
    for kind in ("accepted", "error"):
        case = "response/" + kind
        ons, oir = g("ns", "ours", case), g("ir", "ours", case)
        xns, xir = g("ns", "baseline", case), g("ir", "baseline", case)
        row = ["parse response: %s (the example of docs/protocol.md) vs cJSON_Parse + lookups" % kind,
               fmt_ns(ons), fmt_int(oir), "—", "—", "—", fmt_ns(xns), fmt_int(xir),
               "%s · %s" % (ratio(xns, ons, 1), ratio(xir, oir, 1)), "—", "—", "—", "—", "—",
               "%s B (%s calls) · %s B (%s calls)" % (fmt_int(g("heap_bytes", "ours", case)), fmt_int(g("heap_calls", "ours", case)),
                                                       fmt_int(g("heap_bytes", "baseline", case)), fmt_int(g("heap_calls", "baseline", case))),
               "%s · %s" % (fmt_int(g("stack", "ours", case)), fmt_int(g("stack", "baseline", case)))]
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    out.append("ns: median of %d samples (CLOCK_MONOTONIC; a sample times a batch of calls lasting >= 20 µs; "
               "ours, bound and the baselines sampled in turn). Ir: instructions per call from callgrind, "
               "(Ir(N) − Ir(0)) / N with N = %d (example), %d (large), %d (responses). Bound: the same back end's "
               "MD5 or HMAC over the exact signed bytes rebuilt from the body, in one update. OpenSSL rows: "
               "icbu_reflow with ICBU_REFLOW_CRYPTO_CUSTOM, the hooks over libcrypto's MD5/SHA-256 "
               "(bench/hash_openssl.c), the hash code Python's hashlib runs; it uses the CPU's SHA extensions, "
               "which valgrind hides (CPUID), so their SHA-256 Ir count OpenSSL's AVX2 code, not the SHA-NI code timed "
               "(MD5 has one x86-64 code path). PSA rows: icbu_reflow with ICBU_REFLOW_CRYPTO_PSA over mbedTLS %s's "
               "PSA Crypto (psa_hash_*, libmbedcrypto linked statically), psa_crypto_init() called once at the "
               "driver's start, outside every measurement; their bound is psa_hash_setup/update/finish, for HMAC "
               "RFC 2104 over them with the key pads prepared once. Baseline: "
               "bench/baseline.c (cJSON, qsort, mbedTLS md API, curl_easy_escape as the issue names it; its body "
               "decodes to ours), the same for every back-end row (so its whole-request ratio is shown for mbedTLS rows only; \"added on top of the hash\" compares each with its own bound); the next column has it with a hand-written "
               "encoder of TOP's rule instead (its body is ours byte for byte). Python: bench/bench_py.py, median of %d (example) / %d (large) runs. Heap: "
               "calls (allocations and frees) during one call, counted by link-time wrappers; memcheck on a "
               "driver that only signs: mbedTLS \"%s\", PSA \"%s\" (psa_crypto_init() included), BearSSL \"%s\", "
               "OpenSSL \"%s\". Stack: high-water mark below the "
               "caller's stack pointer, painted thread stack." %
               (samples, CG_N["example"], CG_N["large"], CG_N["response"], versions()["mbedtls"],
                py.get(("example", "md5"), (0, 0))[1], py.get(("large", "md5"), (0, 0))[1],
                heap_summary["mbedTLS"], heap_summary["PSA"], heap_summary["BearSSL"], heap_summary["OpenSSL"]))
    out.append("")
    out.extend(fast_table(r))
    out.append("")
    out.append("Targets (the issue's, example order):")
    for be, m, ons, bns, oir, bir, add_ns, add_ir, hadd_ns, hadd_ir, pyus in targets:
        lim = BOUND_TARGETS.get(m)
        parts = []
        if lim and be == "mbedTLS":
            parts.append("total ≤ %.2f× bound: %.2f× (ns), %.2f× (Ir) — %s" %
                         (lim, ons / bns, oir / bir, verdict(ons / bns <= lim, oir / bir <= lim)))
        if be == "mbedTLS":
            parts.append("added ≥ 20× smaller than the baseline's: %s (ns), %s (Ir) — %s "
                         "(hand-written encoder: %s, %s — %s)" %
                         (fmt_x(add_ns), fmt_x(add_ir),
                          verdict(bool(add_ns and add_ns >= 20), bool(add_ir and add_ir >= 20)),
                          fmt_x(hadd_ns), fmt_x(hadd_ir),
                          verdict(bool(hadd_ns and hadd_ns >= 20), bool(hadd_ir and hadd_ir >= 20))))
        parts.append("≥ 15× faster than Python: %.1f× — %s" %
                     (pyus * 1000 / ons, verdict(pyus * 1000 / ons >= 15)))
        out.append("- %s · %s: %s" % (label(be), m, "; ".join(parts)))
    out.append("")
    out.append("`make test` runs callgrind on the example order (%s) and checks each \"ours Ir\" "
               "against this table: at most %s over the figure published here, and an Ir target "
               "above (ours / bound) stays met once met (tools/budget.py, `bench_run.py budget`). "
               "The ns figures are not checked: they vary with the machine's load. `make docs` "
               "rewrites this table." % (", ".join(label(be) for be in BUDGET_BACKENDS), budget.IR_RULE))
    text = "\n".join(out)
    print(text)
    if write:
        if not readme_block.sync(write, "bench-table", "\n" + text + "\n", True, "bench_run.py"):
            return 1
    return 0


def do_budget(d, page, jobs):
    """Callgrind Ir of the example order against the published table (tools/budget.py)."""
    b = budget.Budget("bench_run.py budget", unit="Ir")
    pub = budget.published_or_fail(b, page, "bench-table")
    if pub is None:
        return b.finish()
    heads, rows = pub
    col = {h.split(" — ")[0]: i for i, h in enumerate(heads)}
    if "ours Ir" not in col or "bound Ir" not in col:
        b.fail(page, "the benchmark table has no \"ours Ir\" or \"bound Ir\" column")
        return b.finish()
    published = {}
    for r in rows:
        if len(r) != len(heads) or not r[0].startswith("example · "):
            continue
        try:
            published[r[0]] = tuple(float(r[col[c]].replace(",", "")) for c in ("ours Ir", "bound Ir"))
        except ValueError:
            b.fail(page, "cannot read the Ir of %r" % r[0])
    todo, exe_of = [], dict(BACKENDS)
    for be in BUDGET_BACKENDS:
        for m in METHODS:
            whats = ("ours", "bound") if be == "mbedTLS" and m in BOUND_TARGETS else ("ours",)
            for what in whats:
                todo.append((("ir", what, "%s/%s" % (be, m)),
                             [os.path.join(d, "cg_" + exe_of[be]), what, "example", m], CG_N["example"]))
    r = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        for key, ir in ex.map(run_cg, todo):
            r[key] = ir
    for be in BUDGET_BACKENDS:
        for m in METHODS:
            row = "example · %s · %s" % (label(be), m)
            got = r[("ir", "ours", "%s/%s" % (be, m))]
            pubrow = published.get(row)
            print("# %s: %s Ir per signed request (published: %s)"
                  % (row, budget.fmt(round(got)), budget.fmt(pubrow[0]) if pubrow else "none"))
            b.figure("%s, ours Ir" % row, round(got), pubrow[0] if pubrow else None,
                     budget.ir_tolerance(pubrow[0]) if pubrow else 0)
            lim = BOUND_TARGETS.get(m) if be == "mbedTLS" else None
            if lim and pubrow:
                ratio_now = got / r[("ir", "bound", "%s/%s" % (be, m))]
                ratio_pub = pubrow[0] / pubrow[1]
                what = "%s, ours / bound in Ir ≤ %.2f×" % (row, lim)
                if ratio_pub > lim:
                    b.ok(what, "%.2f× now, %.2f× published: a target not met, so not a budget"
                         % (ratio_now, ratio_pub))
                elif ratio_now > lim:
                    b.fail(what, "%.2f×: the target was met (%.2f× published) and is missed now"
                           % (ratio_now, ratio_pub))
                else:
                    b.ok(what)
    return b.finish("the example order's instruction counts against %s (tolerance: %s)"
                    % (page, budget.IR_RULE))


def verdict(*oks):
    if all(oks):
        return "**met**"
    if any(oks):
        return "**met on one measure only**"
    return "**missed**"


def header_id():
    """icbu_reflow.h's version and the first 12 hex digits of its SHA-256 (the table's subject)."""
    import hashlib
    path = os.path.join(HERE, "..", "icbu_reflow.h")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return "icbu_reflow.h ?"
    m = re.search(rb'#define ICBU_REFLOW_VERSION "([^"]*)"', data)
    return "icbu_reflow.h %s (sha256 %s)" % (m.group(1).decode() if m else "?", hashlib.sha256(data).hexdigest()[:12])


# ----------------------------------------------------------------- profile
PROFILE_CASES = (("mbedtls", "ours", "example", "hmac-sha256", 200),
                 ("mbedtls", "ours", "example", "md5", 200),
                 ("mbedtls", "bound", "example", "md5", 200),
                 ("mbedtls", "parse_ok", "example", "md5", 2000))


def annotate(path):
    """function -> self Ir, from callgrind_annotate's per-function list."""
    p = run(["callgrind_annotate", "--auto=no", "--threshold=100", "--show-percs=no", path])
    res = {}
    inlist = False
    for line in p.stdout.decode(errors="replace").splitlines():
        if re.match(r"^\s*Ir\s+file:function", line):
            inlist = True
            continue
        if not inlist or line.startswith("---") or "=>" in line:
            continue
        m = re.match(r"^\s*([\d,]+)\s+(\S.*?)(?: \[.*\])?$", line)
        if m and "PROGRAM TOTALS" not in line:
            res[m.group(2)] = res.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    return res


def do_profile(d):
    """Per-function instructions per call: the same subtraction as the table, per function.
    The callgrind files (with --dump-instr=yes, for per-line and per-instruction costs in
    callgrind_annotate --auto=yes or kcachegrind) are left in DIR/profile/."""
    pdir = os.path.join(d, "profile")
    os.makedirs(pdir, exist_ok=True)
    for exe, what, order, m, n in PROFILE_CASES:
        files = []
        for k in (n, 0):
            f = os.path.join(pdir, "%s_%s_%s_%s.N%d.out" % (exe, what, order, m, k))
            run(["valgrind", "--tool=callgrind", "--dump-instr=yes", "--callgrind-out-file=" + f,
                 os.path.join(d, "cg_" + exe), what, order, m, str(k)])
            files.append(f)
        full, zero = annotate(files[0]), annotate(files[1])
        per = sorted(((v - zero.get(fn, 0)) / n, fn) for fn, v in full.items())
        per = [(v, fn) for v, fn in reversed(per) if v >= 0.5]
        total = sum(v for v, _ in per)
        print("%s %s %s/%s: %s Ir per call (%s)" % (exe, what, order, m, fmt_int(total), files[0]))
        for v, fn in per[:14]:
            print("  %10s  %5.1f%%  %s" % (fmt_int(v), 100.0 * v / total, fn))
        print()
    return 0


_VERSIONS = {}


def versions():
    if not _VERSIONS:
        _VERSIONS.update(mbedtls="?", bearssl="?", openssl="?", cjson="?", curl="?")
        for key, pkg in (("mbedtls", "libmbedtls-dev"), ("bearssl", "libbearssl-dev"), ("openssl", "libssl-dev"),
                         ("cjson", "libcjson-dev"), ("curl", "libcurl4-openssl-dev"), ("curl", "libcurl4-gnutls-dev")):
            if _VERSIONS[key] != "?":
                continue
            try:
                v = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL).stdout.decode().strip()
                if v:
                    _VERSIONS[key] = v.split(":")[-1].split("-")[0].split("+")[0]
            except OSError:
                pass
    return _VERSIONS


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("check", "bench", "budget", "profile"))
    ap.add_argument("--dir", default="build/bench")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    ap.add_argument("--samples", type=int, default=1001)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--write", metavar="FILE", help="bench: also write the table into FILE's bench-table block")
    ap.add_argument("--page", default=os.path.join(HERE, "..", "docs", "bench.md"),
                    help="budget: the published table (default docs/bench.md)")
    a = ap.parse_args()
    if a.mode == "check":
        return 1 if do_check(a.dir) else 0
    if a.mode == "profile":
        return do_profile(a.dir)
    if a.mode == "budget":
        return do_budget(a.dir, os.path.normpath(a.page), a.jobs)
    return do_bench(a.dir, a.cc, a.samples, a.jobs, a.write)


if __name__ == "__main__":
    sys.exit(main())
