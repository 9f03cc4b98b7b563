#!/usr/bin/env python3
"""What icbu-reflow costs per delivered order over HTTP and HTTPS, with keep-alive on and
off, and what a TLS handshake costs it, full and resumed: `make bench`'s delivery tables
(bench/bench.mk), and their budget in `make test` (bench-net-budget).

    python3 bench/bench_net.py bench --bin DIR [--tls13-src mbedtls-3.6.x.tar.xz [--tls13-patch P]
                                     [--tls13-cache DIR]] [--orders 100] [--jobs N] [--write docs/bench.md]
    python3 bench/bench_net.py budget --bin DIR [--page docs/bench.md] [--jobs N]

Both start the local gateway (tools/top_gateway.py: its RSA-2048 certificate, HTTP, HTTPS,
and HTTPS limited to TLS 1.2), and a second one with --no-resumption, and run the
icbu-reflow-{mbedtls,psa,bearssl} of DIR on spools of orders (the API document's example
order, each with its own external_biz_id).

bench:
  1. wall clock, first, alone: `flush` of --orders orders, HTTP and HTTPS, keep-alive on
     and off, each back end, HTTP and HTTPS one right after the other: orders per second,
     the fastest of 7 runs, and HTTPS's over HTTP's, the median of the 7 pairs;
  2. callgrind on the icbu-reflow process (everything it runs: start, CA file, spool,
     signing, TLS, HTTP): instructions per delivered order = the flush's total / orders;
     HTTPS without keep-alive also against the gateway without resumption (a full
     handshake per order, as before keep-alive and resumption: 20 orders);
  3. handshakes: flushes of 6 orders, keep-alive (K), one connection per order with
     resumption (R: /ka/max1) and without (F: --no-resumption): a full reconnect costs
     (F - K) / 5, a resumed one (R - K) / 5 (TCP connect, the handshake, the close of the
     connection before); TLS 1.2 with every back end, TLS 1.3 with mbedTLS 3.6 built from
     --tls13-src as `make test-compat` builds it (BearSSL has no TLS 1.3, Debian's mbedTLS
     2.28 neither).
  The gateway's logs count the connections and the handshakes (full, resumed) of each
  flush, and are checked: a figure of the wrong kind of flush is worthless. Prints the
  tables and the issue's targets (HTTPS with keep-alive <= 1.5x the instructions per order
  of HTTP; HTTPS orders/s >= 0.6x HTTP's); --write puts them between
  <!-- bench-net:begin --> and <!-- bench-net:end --> in the page.
budget: the keep-alive rows' instructions per order (callgrind, the same flushes; about
  10 s) against the published table, + NET_TOL_FRACTION (the handshake's ECDHE draws random
  scalars: mbedTLS's count varies by about 1 % from run to run), and the ratio target: once
  the published figures meet it, it must stay met.
Standard library only, plus valgrind."""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import budget          # noqa: E402  tools/budget.py
import readme_block    # noqa: E402  tools/readme_block.py
import gateway_proc    # noqa: E402  tests/gateway_proc.py

BACKENDS = (("mbedTLS", "mbedtls"), ("PSA", "psa"), ("BearSSL", "bearssl"))
APP_KEY = "12345678"
SECRET = "bench-net-%s" % os.urandom(8).hex()
FULL_ORDERS = 20          # HTTPS, no keep-alive, no resumption: a full handshake each
HS_ORDERS = 6             # handshake measurements: 5 reconnects
TIMING_RUNS = 7
KA_TARGET = 1.5           # HTTPS with keep-alive <= 1.5x HTTP's instructions per order
RATE_TARGET = 0.6         # HTTPS orders/s >= 0.6x HTTP's
NET_TOL_FRACTION = 0.03
NET_RULE = "+%g %%" % (NET_TOL_FRACTION * 100)
TAG = "bench-net"


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def env():
    e = {k: v for k, v in os.environ.items() if not k.startswith("ICBU_REFLOW_")}
    e.update(TZ="Asia/Shanghai", LC_ALL="C", ICBU_REFLOW_APP_SECRET=SECRET,
             ICBU_REFLOW_APP_KEY=APP_KEY)
    return e


with open(os.path.join(ROOT, "tests", "data", "example_order.json"), encoding="utf-8") as _f:
    EXAMPLE = json.load(_f)


class Net:
    """The two gateways, the spools and the runs."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.n = 0
        os.makedirs(os.path.join(tmp, "resume"))
        os.makedirs(os.path.join(tmp, "full"))
        args = ["--tls12-port", "0", "--quiet"]
        self.gw = gateway_proc.Gateway(os.path.join(tmp, "resume"), APP_KEY, env(), args)
        self.full = gateway_proc.Gateway(os.path.join(tmp, "full"), APP_KEY, env(),
                                         args + ["--no-resumption"])

    def stop(self):
        self.gw.stop()
        self.full.stop()

    def flush(self, binary, scheme, orders, keep_alive=True, spec="", full=False, cache=None,
              cg=False):
        """One flush of `orders` fresh orders (with --session-cache cache when given): (Ir or
        None, seconds, [(tls, resumed)] of its connections, in order)."""
        gw = self.full if full else self.gw
        self.n += 1
        prefix = "bn%04d-" % self.n
        spool = os.path.join(self.tmp, "spool-%04d" % self.n)
        os.mkdir(spool, 0o700)
        base = time.time_ns()
        for i in range(orders):
            with open(os.path.join(spool, "%020d-%010d-%04d.json" % (base + i, os.getpid(), i)),
                      "w", encoding="utf-8") as f:
                json.dump(dict(EXAMPLE, external_biz_id="%s%04d" % (prefix, i)), f,
                          ensure_ascii=False)
        port = {"http": gw.http, "https": gw.https, "https12": gw.https12}[scheme]
        url = "%s://127.0.0.1:%d%s/router/rest" % ("http" if scheme == "http" else "https", port,
                                                  "/ka/" + spec if spec else "")
        cmd = [binary, "flush", "--spool", spool, "--url", url, "--ca-file", gw.ca] + \
            ([] if keep_alive else ["--no-keep-alive"]) + (["--session-cache", cache] if cache else [])
        if cg:
            cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd
        t0 = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
        took = time.monotonic() - t0
        left = [n for n in os.listdir(spool) if n.endswith(".json")]
        if p.returncode != 0 or left:
            raise SystemExit("bench_net: %s: exit %d, %d orders left\n%s" % (
                " ".join(cmd), p.returncode, len(left), p.stderr.decode(errors="replace")[-2000:]))
        ir = None
        if cg:
            m = re.search(rb"Collected : (\d+)", p.stderr)
            if not m:
                raise SystemExit("bench_net: no callgrind total for %s" % " ".join(cmd))
            ir = int(m.group(1))
        reqs = gw.requests(prefix)
        conns = gw.connections()
        got = sorted({r["biz"] for r in reqs})
        if got != ["%s%04d" % (prefix, i) for i in range(orders)]:
            raise SystemExit("bench_net: %s: the gateway did not see every order once" % " ".join(cmd))
        seen = sorted({r["conn"] for r in reqs})
        return ir, took, [(conns[c]["tls"], conns[c]["resumed"]) for c in seen]


def handshakes_text(hs):
    full = sum(1 for tls, r in hs if tls and not r)
    resumed = sum(1 for _, r in hs if r)
    return " + ".join(["%d full" % full] * bool(full) + ["%d resumed" % resumed] * bool(resumed)) or "—"


# ------------------------------------------------------------------ bench
def delivery_runs(bins, orders, tmp=None):
    """(key, flush kwargs) of the callgrind table: key = (back end, scheme, mode); with
    tmp, also HTTPS with keep-alive and a --session-cache file in tmp (mode "cache")."""
    out = []
    for be, exe in bins:
        for scheme in ("http", "https"):
            for ka in (True, False):
                out.append(((be, scheme, "on" if ka else "off"),
                            dict(binary=exe, scheme=scheme, orders=orders, keep_alive=ka)))
        if tmp:
            out.append(((be, "https", "cache"), dict(binary=exe, scheme="https", orders=orders,
                                                     cache=os.path.join(tmp, be + ".session"))))
        out.append(((be, "https", "full"), dict(binary=exe, scheme="https", orders=FULL_ORDERS,
                                                keep_alive=False, full=True)))
    return out


def handshake_runs(hs_bins):
    """(key, flush kwargs): key = (label, TLS version, K|R|F)."""
    out = []
    for label, exe, scheme, version in hs_bins:
        for kind, kw in (("K", {}), ("R", {"spec": "max1"}), ("F", {"spec": "max1", "full": True})):
            out.append(((label, version, kind),
                        dict(binary=exe, scheme=scheme, orders=HS_ORDERS, **kw)))
    return out


def check_kind(key, hs, orders):
    """The flush was what its row says, by the gateway's count."""
    be, scheme, mode = key
    conns = len(hs)
    want = {"on": 1, "cache": 1, "off": orders, "full": orders}[mode]
    ok = conns == want
    if scheme == "https":
        resumed = sum(1 for _, r in hs if r)
        ok = ok and resumed == {"on": 0, "cache": 1, "off": orders - 1, "full": 0}[mode]
    if not ok:
        raise SystemExit("bench_net: %s/%s/%s: %d connections, handshakes %s" % (
            be, scheme, mode, conns, handshakes_text(hs)))


def do_bench(a, bins, hs_bins):
    tmp = tempfile.mkdtemp(prefix="icbu-bench-net-")
    net = Net(tmp)
    r, hsk, rates = {}, {}, {}
    try:
        log("bench_net: wall clock, flush of %d orders, %d runs of each in turn" % (a.orders, TIMING_RUNS))
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
        times, pairs = {}, {}
        for _ in range(TIMING_RUNS):
            for be, exe in bins:
                for ka in (True, False):
                    took = {}
                    for scheme in ("http", "https"):       # one right after the other
                        _, took[scheme], _ = net.flush(exe, scheme, a.orders, ka)
                        times.setdefault((be, scheme, "on" if ka else "off"), []).append(took[scheme])
                    pairs.setdefault((be, "on" if ka else "off"), []).append(took["http"] / took["https"])
        rates = {k: a.orders / min(v) for k, v in times.items()}   # the fastest run: load only slows
        # HTTPS over HTTP: the median of the pairs, each two runs taken one after the other
        rates.update({("ratio",) + k: sorted(v)[len(v) // 2] for k, v in pairs.items()})
        rates["load"] = load
        runs = delivery_runs(bins, a.orders, tmp) + handshake_runs(hs_bins)
        for k, kw in runs:
            if kw.get("cache"):               # a session for the cache rows to resume
                net.flush(kw["binary"], "https", 1, cache=kw["cache"])
        log("bench_net: callgrind, %d flushes, %d at a time" % (len(runs), a.jobs))
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
            futs = [(k, ex.submit(net.flush, cg=True, **kw)) for k, kw in runs]
            for k, f in futs:
                ir, _, hs = f.result()
                if len(k) == 3 and k[2] in ("K", "R", "F"):
                    hsk[k] = (ir, hs)
                else:
                    check_kind(k, hs, FULL_ORDERS if k[2] == "full" else a.orders)
                    r[k] = (ir / (FULL_ORDERS if k[2] == "full" else a.orders), hs)
    finally:
        net.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    text = render(a, bins, hs_bins, r, hsk, rates)
    print(text)
    if a.write and not readme_block.sync(a.write, TAG, "\n" + text + "\n", True, "bench_net.py"):
        return 1
    return 0


def fmt(v):
    return "{:,}".format(int(round(v)))


def verdict(ok):
    return "**met**" if ok else "**missed**"


def render(a, bins, hs_bins, r, hsk, rates):
    out = ["**Delivering orders: the client's instructions per order** — `icbu-reflow flush` "
           "of %d spooled orders (the example order) to the local gateway on 127.0.0.1 "
           "(tools/top_gateway.py, RSA-2048 certificate), callgrind on the icbu-reflow process; "
           "%s; load average %s when the times were taken." % (
               a.orders, ", ".join("%s: %s" % (be, version_of(exe)) for be, exe in bins),
               rates.get("load", "?")), "",
           "| back end · scheme · connection | Ir per order | × HTTP | connections | "
           "TLS handshakes | orders/s | × HTTP orders/s |",
           "|---|---:|---:|---:|---|---:|---:|"]
    modes = (("on", "keep-alive"), ("cache", "keep-alive, --session-cache"),
             ("off", "--no-keep-alive"), ("full", "--no-keep-alive, server without resumption"))
    for be, _ in bins:
        for scheme in ("http", "https"):
            for mode, what in modes:
                key = (be, scheme, mode)
                if key not in r:
                    continue
                ir, hs = r[key]
                http = r[(be, "http", {"full": "off", "cache": "on"}.get(mode, mode))][0]
                rate = rates.get(key)
                pair = rates.get(("ratio", be, mode))
                out.append("| %s · %s · %s | %s | %s | %d | %s | %s | %s |" % (
                    be, scheme.upper(), what, fmt(ir), "%.2f×" % (ir / http) if scheme == "https" else "—",
                    len(hs), handshakes_text(hs), fmt(rate) if rate else "—",
                    "%.2f×" % pair if rate and scheme == "https" else "—"))
    out.append("")
    out.append("Ir per order: the whole process (start, CA file, spool, signing, HTTP, TLS) over the "
               "orders it delivered; × HTTP: over the same back end's HTTP row with the same "
               "keep-alive; --session-cache: the file a flush of one order wrote before, so that "
               "the one handshake resumes (the last row: over HTTP without keep-alive; it flushes %d orders, each "
               "on a connection of its own with a full handshake, as every order did before "
               "keep-alive and resumption). Connections and handshakes: as the gateway counted them "
               "(connections.jsonl). orders/s: the same flush without valgrind, the fastest of %d runs "
               "(the machine's load only slows a run down); × HTTP orders/s: the median of the "
               "%d ratios of an HTTP run and the HTTPS run right after it. Both against a gateway in Python on the same machine, whose own time per "
               "request bounds both schemes alike; it varies with the machine's load."
               % (FULL_ORDERS, TIMING_RUNS, TIMING_RUNS))
    out.append("")
    out.append("**TLS handshakes: the client's instructions per reconnect** — flushes of %d orders: "
               "one connection (K), a connection per order resumed (R: the gateway closes after "
               "each answer), and full (F: the same against the gateway with --no-resumption); "
               "full = (F − K) / %d, resumed = (R − K) / %d, each a TCP connect, the handshake and "
               "the close of the connection before it." % (HS_ORDERS, HS_ORDERS - 1, HS_ORDERS - 1))
    out.append("")
    out.append("| back end · TLS | full handshake Ir | resumed Ir | resumed / full | "
               "handshakes counted (R · F) |")
    out.append("|---|---:|---:|---:|---|")
    costs = {}
    for label, exe, scheme, version in hs_bins:
        k, hk = hsk[(label, version, "K")]
        rr, hr = hsk[(label, version, "R")]
        ff, hf = hsk[(label, version, "F")]
        got = {v for v, _ in hk + hr + hf}
        if got != {version} or handshakes_text(hr) != "1 full + %d resumed" % (HS_ORDERS - 1) \
                or handshakes_text(hf) != "%d full" % HS_ORDERS:
            raise SystemExit("bench_net: %s %s: versions %s, R %s, F %s" % (
                label, version, got, handshakes_text(hr), handshakes_text(hf)))
        full, res = (ff - k) / (HS_ORDERS - 1), (rr - k) / (HS_ORDERS - 1)
        costs[(label, version)] = (full, res)
        out.append("| %s · %s | %s | %s | %.2f | %s · %s |" % (
            label, version.replace("TLSv", "TLS "), fmt(full), fmt(res), res / full,
            handshakes_text(hr), handshakes_text(hf)))
    out.append("")
    out.extend(handshake_notes(costs))
    out.append("")
    out.append("Targets (the issue's):")
    for be, exe in bins:
        http, https = r[(be, "http", "on")][0], r[(be, "https", "on")][0]
        ka, cached = https / http, r[(be, "https", "cache")][0] / http
        rate = rates[("ratio", be, "on")]
        # its TLS library's full TLS 1.2 handshake (PSA's TLS is mbedTLS's)
        full = costs.get((version_of(exe), "TLSv1.2"), (None,))[0]
        why = ""
        if full:
            why = ("; HTTPS adds %s per order: its one full handshake %s (%s over %d orders) and "
                   "the TLS records and the rest %s; with that handshake resumed "
                   "(--session-cache) %.2f× — %s" % (
                       fmt(https - http), fmt(full / a.orders), fmt(full), a.orders,
                       fmt(https - http - full / a.orders), cached, verdict(cached <= KA_TARGET)))
            why += "; " + backlog_floor(http, https - http - full / a.orders, full)
        out.append("- %s: HTTPS with keep-alive ≤ %.1f× HTTP's instructions per order: %.2f× — %s%s "
                   "(a full handshake per order: %.0f×; without keep-alive, resumed: %.1f×). "
                   "HTTPS orders/s ≥ %.1f× HTTP's, with keep-alive: %.2f× — %s (without: %.2f×)." % (
                       be, KA_TARGET, ka, verdict(ka <= KA_TARGET), why,
                       r[(be, "https", "full")][0] / r[(be, "http", "off")][0],
                       r[(be, "https", "off")][0] / r[(be, "http", "off")][0],
                       RATE_TARGET, rate, verdict(rate >= RATE_TARGET),
                       rates[("ratio", be, "off")]))
    out.append("")
    out.append("`make test` (bench-net-budget, about 10 s) flushes %d orders with keep-alive over "
               "HTTP and HTTPS with each back end under callgrind and checks the instructions per "
               "order against this table, at most %s over it, and the keep-alive target once the "
               "published figures meet it (tools/budget.py). `make docs` rewrites it."
               % (a.orders, NET_RULE))
    return "\n".join(out)


def backlog_floor(http, rest, full):
    """The design's floor for the keep-alive target: with `rest` instructions per order
    for TLS beyond the one handshake (records, the TLS start), the target holds from a backlog
    of full / ((KA_TARGET - 1) * http - rest) orders on, or never when rest alone is over it."""
    room = (KA_TARGET - 1) * http - rest
    if room <= 0:
        return ("the records and the rest alone are %.2f× HTTP's, so no backlog reaches %.1f×"
                % (rest / http, KA_TARGET))
    n = int(full / room) + 1
    return ("the records and the rest are %.2f× HTTP's, so one full handshake fits under "
            "%.1f× from a backlog of %s orders on (%.2f× as the backlog grows)"
            % (rest / http, KA_TARGET, fmt(n), 1 + rest / http))


def handshake_notes(costs):
    """What the handshakes' figures say, computed from them."""
    notes = []
    for (label, version), (full, res) in sorted(costs.items()):
        if version == "TLSv1.3" and (label, "TLSv1.2") in costs:
            full12, res12 = costs[(label, "TLSv1.2")]
            notes.append("- %s: TLS 1.3 resumption (psk_dhe_ke) still does ECDHE: a resumed "
                         "handshake costs %s instructions, a resumed TLS 1.2 one %s (no "
                         "public-key operation at all): ECDHE and TLS 1.3's key schedule are the "
                         "%s between them. Resuming saves the server's certificate chain and its "
                         "signature: %s in TLS 1.3; in TLS 1.2, where it saves ECDHE too, %s." % (
                             label, fmt(res), fmt(res12), fmt(res - res12), fmt(full - res),
                             fmt(full12 - res12)))
    for (label, version), (full, res) in sorted(costs.items()):
        if version == "TLSv1.2" and not any(l == label and v == "TLSv1.3" for l, v in costs):
            notes.append("- %s, TLS 1.2 (this version has no TLS 1.3): resuming saves %s "
                         "instructions (ECDHE, the chain and the ServerKeyExchange signature); %s "
                         "remain per reconnect." % (
                             label, fmt(full - res), fmt(res)))
    return notes


_VERSIONS = {}


def version_of(exe):
    if exe not in _VERSIONS:
        out = subprocess.run([exe, "--version"], stdout=subprocess.PIPE).stdout.decode()
        m = re.search(r"TLS: ([^;]+)", out)
        _VERSIONS[exe] = m.group(1) if m else "?"
    return _VERSIONS[exe]


# ------------------------------------------------------------------ budget
def do_budget(a, bins):
    b = budget.Budget("bench_net.py budget", unit="Ir")
    pub = budget.published_or_fail(b, a.page, TAG)
    published = {}
    if pub is None:
        return b.finish()
    heads, rows = pub
    for row in rows:
        try:
            published[row[0]] = float(row[heads.index("Ir per order")].replace(",", ""))
        except (ValueError, IndexError):
            b.fail(a.page, "cannot read the Ir per order of %r" % row[0])
    tmp = tempfile.mkdtemp(prefix="icbu-bench-net-")
    net = Net(tmp)
    got = {}
    try:
        runs = [(k, kw) for k, kw in delivery_runs(bins, a.orders) if k[2] == "on"]
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
            futs = [(k, ex.submit(net.flush, cg=True, **kw)) for k, kw in runs]
            for k, f in futs:
                ir, _, hs = f.result()
                check_kind(k, hs, a.orders)
                got[k] = ir / a.orders
    finally:
        net.stop()
    for be, _ in bins:
        for scheme in ("http", "https"):
            row = "%s · %s · keep-alive" % (be, scheme.upper())
            pubv = published.get(row)
            print("# %s: %s Ir per order (published: %s)" % (row, fmt(got[(be, scheme, "on")]),
                                                             fmt(pubv) if pubv else "none"))
            b.figure("%s, Ir per order" % row, round(got[(be, scheme, "on")]), pubv,
                     int(pubv * NET_TOL_FRACTION + 0.999) if pubv else 0)
        now = got[(be, "https", "on")] / got[(be, "http", "on")]
        ph, pp = published.get("%s · HTTPS · keep-alive" % be), published.get("%s · HTTP · keep-alive" % be)
        what = "%s: HTTPS with keep-alive ≤ %.1f× HTTP's instructions per order" % (be, KA_TARGET)
        if not ph or not pp:
            b.ok(what, "%.2f× now; not published yet" % now)
        elif ph / pp > KA_TARGET:
            b.ok(what, "%.2f× now, %.2f× published: a target not met, so not a budget" % (now, ph / pp))
        elif now > KA_TARGET:
            b.fail(what, "%.2f×: met when published (%.2f×), missed now" % (now, ph / pp))
        else:
            b.ok(what)
    shutil.rmtree(tmp, ignore_errors=True)
    return b.finish("instructions per delivered order against %s (tolerance: %s)" % (a.page, NET_RULE))


def tls13_cli(src, patch, cache):
    """(directory of an icbu-reflow-mbedtls over the mbedTLS 3.6 of the archive src, whether
    its TLS 1.2 works with the gateway's RSA certificate), built as `make test-compat` builds
    it (tools/mbedtls_build.sh into cache/<name>, the same stamp, so either reuses the
    other's; 3.6.6 needs the RSA-PSS patch for TLS 1.2), or (None, False)."""
    m = re.search(r"(mbedtls-3\.6\.\d+)", os.path.basename(src or ""))
    if not m:
        return None, False
    name = m.group(1)
    patch = patch if patch and os.path.isfile(patch) and name == "mbedtls-3.6.6" else None
    log("bench_net: %s for TLS 1.3 (built once, cached in %s)" % (name, cache))
    p = subprocess.run(["sh", "tools/mbedtls_build.sh", src, os.path.join(cache, name)] +
                       ([patch] if patch else []), cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    prefix = p.stdout.decode().strip().splitlines()[-1] if p.returncode == 0 and p.stdout.strip() else ""
    out = os.path.join(cache, name, "out")
    if not prefix or subprocess.run(
            ["make", "--no-print-directory", "-s", "BUILD=" + out, "MBEDTLS_PREFIX=" + prefix,
             os.path.join(out, "icbu-reflow-mbedtls")], cwd=ROOT).returncode != 0:
        raise SystemExit("bench_net: cannot build icbu-reflow-mbedtls over %s\n%s"
                         % (name, p.stderr.decode(errors="replace")[-2000:]))
    return out, name != "mbedtls-3.6.6" or patch is not None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("bench", "budget"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "build"))
    ap.add_argument("--tls13-src", default="", help="an mbedTLS 3.6 source archive, for the "
                                                    "TLS 1.3 handshakes (none: no TLS 1.3 row)")
    ap.add_argument("--tls13-patch", default="", help="3.6.6's RSA-PSS patch (its TLS 1.2 row)")
    ap.add_argument("--tls13-cache", default=os.path.join(ROOT, "build", "compat"))
    ap.add_argument("--orders", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--write", metavar="FILE")
    ap.add_argument("--page", default=os.path.join(ROOT, "docs", "bench.md"))
    a = ap.parse_args()
    bins = [(be, os.path.join(a.bin, "icbu-reflow-" + exe)) for be, exe in BACKENDS]
    missing = [exe for _, exe in bins if not os.access(exe, os.X_OK)]
    if missing:
        raise SystemExit("bench_net: missing %s (make examples)" % ", ".join(missing))
    if a.mode == "budget":
        return do_budget(a, bins)
    hs_bins = [(version_of(bins[0][1]), bins[0][1], "https12", "TLSv1.2"),
               (version_of(bins[2][1]), bins[2][1], "https12", "TLSv1.2")]
    out, tls12 = tls13_cli(a.tls13_src, a.tls13_patch, a.tls13_cache)
    if out:
        t13 = os.path.join(out, "icbu-reflow-mbedtls")
        hs_bins += [(version_of(t13), t13, "https12", "TLSv1.2")] * tls12 + \
            [(version_of(t13), t13, "https", "TLSv1.3")]
    else:
        log("bench_net: no mbedTLS 3.6 archive (--tls13-src): no TLS 1.3 row")
    return do_bench(a, bins, hs_bins)


if __name__ == "__main__":
    sys.exit(main())
