#!/usr/bin/env python3
"""Reliability tests of icbu-reflow: retries, the spool (send --spool, flush), crash safety.

    python3 tests/reliability.py [--bin DIR] [--seed N] [--orders N] [--jobs N] [--only PATTERN]
                                 [--keep]

Starts tools/top_gateway.py (HTTP + HTTPS) with a seeded fault generator, then:

  cli/...     retries and spool behaviour case by case: --retries 0, the attempts count
              on stderr, one attempt without external_biz_id, exit 5 (spooled byte for byte), what is not
              spooled, the --timeout budget, flush's exit statuses, the lock (75), stale
              temporary files, usage.
  res/...     running out of things, and being interrupted: ulimit -f (SIGXFSZ), every file
              call of send --spool, --session-cache and flush failing in turn with ENOSPC,
              EDQUOT, EFBIG, EROFS (tests/fault_shim.c), ulimit -n 4 to 11, flush | head -1
              (SIGPIPE, and EPIPE when it is ignored), SIGTERM/SIGINT/SIGHUP during a flush.
  stress/...  --orders orders (distinct external_biz_id; a few refused on purpose) through
              `send --retries 3 --spool` against /f/random (36% faults: resets before and
              after accepting, 503, isp.*, code 7, stalls past the deadline, truncated
              answers), --jobs at a time, HTTP and HTTPS, both TLS back ends. Every order
              must end accepted (0), refused (1) or spooled (5); then `flush` without faults
              empties the spool. The gateway's accepted log must hold every order that was
              not refused, and an order accepted twice only after an answer the gateway
              knows it lost.
  kill/...    ~50 spooled orders, `flush` against /f/random-slow killed with SIGKILL at
              seeded random points (at least 10 kills), restarted, then run to completion:
              nothing lost, nothing accepted twice except after a lost answer or for the one
              order in flight when a flush was killed, no temporary files left.
  lock/...    four flush loops on one spool at once: every order accepted exactly once.

Everything random is seeded (--seed); the gateway's faults are drawn per request from the
seed. Prints `ok - name` / `not ok - name: why`, then `N passed, N failed`; exits 1 on failure.
"""

import argparse
import concurrent.futures
import fcntl
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import gateway_proc      # tests/gateway_proc.py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXAMPLE = os.path.join(HERE, "data", "example_order.json")
APP_KEY = "12345678"
SECRET = "rel-Secr3t/%s+é" % os.urandom(6).hex()
BAD_SECRET = "rel-wrong-Secr3t-%s" % os.urandom(6).hex()
SPOOL_NAME = re.compile(r"^[0-9]{20}-[0-9]{10}-[0-9]{4}\.json$")
TIMEOUT_MS = 2500          # send's --timeout in the stress test (all attempts)
STALL_S = 4.0              # the gateway's random stalls: past that deadline
RESULTS = []
ONLY = None


Fail, expect = gateway_proc.Fail, gateway_proc.expect


def clip(b, n=300):
    s = b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)
    s = s.replace(SECRET, "<SECRET>").replace(BAD_SECRET, "<BAD_SECRET>").replace("\n", "\\n")
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


def report(name, fn):
    if not gateway_proc.selected(name, ONLY):
        return
    gateway_proc.run_case(name, fn, RESULTS)


# ------------------------------------------------------------------ running the tool
class Run:
    def __init__(self, argv, rc, out, err, elapsed):
        self.argv, self.rc, self.out, self.err, self.elapsed = argv, rc, out, err, elapsed

    def why(self):
        return "rc=%s stdout=%s stderr=%s" % (self.rc, clip(self.out), clip(self.err, 200))

    def json(self):
        expect(self.out.endswith(b"\n") and self.out.count(b"\n") == 1,
               "stdout is not exactly one line: %s" % self.why())
        try:
            j = json.loads(self.out.decode("utf-8"))
        except ValueError as e:
            raise Fail("stdout is not JSON (%s): %s" % (e, self.why()))
        expect(isinstance(j, dict), "not an object: %s" % self.why())
        return j

    def lines(self):
        """flush: one JSON object per line."""
        out = []
        for ln in self.out.decode("utf-8").splitlines():
            try:
                out.append(json.loads(ln))
            except ValueError:
                raise Fail("flush printed a line that is not JSON: %r (%s)" % (ln, self.why()))
        return out


def env(**extra):
    e = {k: v for k, v in os.environ.items() if not k.startswith("ICBU_REFLOW_")}
    e.update(TZ="Asia/Shanghai", LC_ALL="C", ICBU_REFLOW_APP_SECRET=SECRET,
             ICBU_REFLOW_APP_KEY=APP_KEY)
    e.update(extra)
    return e


def check_secret(out, err):
    for s in (SECRET, BAD_SECRET):
        for name, stream in (("stdout", out), ("stderr", err)):
            if s.encode("utf-8") in (stream or b""):
                raise Fail("the secret appears in %s" % name)


def run(binary, args, stdin=None, timeout=60, env_extra=None, preexec=None):
    argv = [binary] + list(args)
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env(**(env_extra or {})), timeout=timeout, preexec_fn=preexec)
    except subprocess.TimeoutExpired as e:
        raise Fail("%s timed out after %ss (stdout=%s)" % (args[0], timeout, clip(e.stdout or b"")))
    check_secret(p.stdout, p.stderr)
    return Run(argv, p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


# ------------------------------------------------------------------ the gateway
class Gateway(gateway_proc.Gateway):
    def __init__(self, tmp, seed):
        super().__init__(tmp, APP_KEY, env(), ["--fault-seed", str(seed), "--fault-stall",
                                                str(STALL_S), "--key-type", "ec"])

    def accepted(self, prefix=None):
        return [e for e in self.jsonl("accepted.jsonl")
                if prefix is None or e["external_biz_id"].startswith(prefix)]

    def faults(self):
        return self.jsonl("faults.jsonl")


closed_port = gateway_proc.free_port


# ------------------------------------------------------------------ orders and spools
with open(EXAMPLE, encoding="utf-8") as _f:
    EXAMPLE_ORDER = json.load(_f)


def order_text(biz, refuse=False, style=0):
    o = json.loads(json.dumps(EXAMPLE_ORDER))
    if biz is None:
        o.pop("external_biz_id", None)
    else:
        o["external_biz_id"] = biz
    if refuse:
        o["memo"] = "refuse"
    # Different byte layouts: the spool must keep them as given.
    if style % 3 == 0:
        return json.dumps(o, ensure_ascii=False).encode("utf-8")
    if style % 3 == 1:
        return (json.dumps(o, ensure_ascii=True, indent=2) + "\n").encode("utf-8")
    return (" \t" + json.dumps(o, ensure_ascii=False, separators=(",", ":")) + "\r\n").encode()


def spool_orders(d):
    try:
        return sorted(n for n in os.listdir(d) if n.endswith(".json") and not n.startswith("."))
    except FileNotFoundError:
        return []


def spool_queue(d):
    """The spool's orders in the order flush sends them: by modification time (an order kept
    for a failure that can pass is set aside: its time is set past the others'), then name."""
    return sorted(spool_orders(d), key=lambda n: (os.stat(os.path.join(d, n)).st_mtime_ns, n))


def temp_files(d):
    out = []
    for sub in (d, os.path.join(d, "refused")):
        try:
            out += [os.path.join(sub, n) for n in os.listdir(sub)
                    if n.startswith(".") and n != ".lock"]
        except FileNotFoundError:
            pass
    return out


def resend_violations(acc):
    """acc: external_biz_id -> its acceptances in log order. An order is sent again only
    when the answer to the one before was lost: every acceptance but the last must be
    logged lost by the gateway. Returns the ids that break the rule."""
    bad = []
    for biz, es in acc.items():
        if any(not e.get("lost") for e in es[:-1]) or any(e["external_biz_id"] != biz for e in es):
            bad.append("%s: %s" % (biz, [(e.get("fault"), e.get("lost")) for e in es]))
    return bad


def biz_of_file(path):
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8")).get("external_biz_id")


class Ctx:
    def __init__(self, gw, tmp, bins, seed, orders, jobs):
        self.gw, self.tmp, self.bins, self.seed = gw, tmp, bins, seed
        self.orders, self.jobs = orders, jobs
        self.n = 0
        self.lock = threading.Lock()

    def path(self, name):
        with self.lock:
            self.n += 1
            return os.path.join(self.tmp, "%04d-%s" % (self.n, name))

    def write(self, name, data):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def bin(self, i=0):
        return self.bins[i % len(self.bins)][1]

    def send(self, url, order, extra=(), binary=None, scheme=None, stdin=None, timeout=60):
        ca = ["--ca-file", self.gw.ca] if url.startswith("https:") else []
        return run(binary or self.bin(), ["send", "--url", url] + ca + list(extra) + [order],
                   stdin=stdin, timeout=timeout)

    def flush(self, spool, url, extra=(), binary=None, timeout=120):
        ca = ["--ca-file", self.gw.ca] if url.startswith("https:") else []
        return run(binary or self.bin(), ["flush", "--spool", spool, "--url", url] + ca +
                   list(extra), timeout=timeout)


_SHIM = {}


def shim(name):
    """tests/NAME.c, an LD_PRELOAD shim, built (once) into a directory of its own: its path."""
    if name not in _SHIM:
        out = os.path.join(tempfile.mkdtemp(prefix="icbu-shim-"), name + ".so")
        cc = subprocess.run([os.environ.get("CC", "cc"), "-shared", "-fPIC", "-o", out,
                             os.path.join(HERE, name + ".c"), "-ldl"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        expect(cc.returncode == 0, "cannot build the shim: %s" % clip(cc.stdout))
        _SHIM[name] = out
    return _SHIM[name]


def fsync_shim():
    return shim("fsync_shim")


# ------------------------------------------------------------------ cli cases
def attempts_of(r):
    """send's tries: 'icbu-reflow: N attempts' on stderr when more than one."""
    m = re.search(rb"icbu-reflow: (\d+) attempts", r.err)
    return int(m.group(1)) if m else 1


def cli_cases(c):
    gw = c.gw
    dead = "http://127.0.0.1:%d/router/rest" % closed_port()

    def retries0():
        for mode in ("reset-before", "status503"):
            p = c.write("r0.json", order_text("cli-r0-" + mode))
            r = c.send(gw.url("http", mode), p, ["--retries", "0"])
            j = r.json()
            expect(r.rc == 3 and j["outcome"] == "transport_error", "%s: %s" % (mode, r.why()))
            expect("attempts" not in j and attempts_of(r) == 1, "one attempt: %s" % r.why())
        p = c.write("r0.json", order_text("cli-r0-ok"))
        r = c.send(gw.url("http"), p, ["--retries", "0"])
        expect(r.rc == 0 and r.json() == {"outcome": "accepted", "insure_id": "INS-cli-r0-ok",
                                          "request_id": r.json().get("request_id")},
               "accepted: %s" % r.why())
    report("cli/--retries 0: one attempt, no \"attempts\" field", retries0)

    def attempts():
        for scheme in ("http", "https"):
            for n, want in (("3", 4), ("1", 2)):
                p = c.write("att.json", order_text("cli-att-%s-%s" % (scheme, n)))
                r = c.send(gw.url(scheme, "status503"), p, ["--retries", n])
                j = r.json()
                expect(r.rc == 3 and j.get("stage") == "http" and "503" in j.get("detail", ""),
                       "%s --retries %s: %s" % (scheme, n, r.why()))
                expect(attempts_of(r) == want, "%s --retries %s: attempts %r, want %d: %s"
                       % (scheme, n, attempts_of(r), want, r.why()))
            p = c.write("att.json", order_text("cli-att-isp-" + scheme))
            r = c.send(gw.url(scheme, "isp"), p)
            j = r.json()
            expect(r.rc == 2 and j.get("code") == 15 and attempts_of(r) == 4,
                   "isp: %s" % r.why())
            p = c.write("att.json", order_text("cli-att-25-" + scheme))
            r = c.send(gw.url(scheme, "badsign-always"), p)
            j = r.json()
            expect(r.rc == 2 and j.get("code") == 25 and attempts_of(r) == 1 and "attempts" not in j,
                   "code 25 must not be retried: %s" % r.why())
        r = c.send(dead, c.write("att.json", order_text("cli-att-dead")), ["--retries", "2"])
        j = r.json()
        expect(r.rc == 3 and j.get("stage") == "connect" and attempts_of(r) == 3
               and "refused" in j.get("detail", ""), "connection refused: %s" % r.why())
    report("cli/\"attempts\" counts the tries (503, isp, connect; not code 25)", attempts)

    def no_biz_id():
        p = c.write("nobiz.json", order_text(None))
        spool = c.path("spool-nobiz")
        before = len(gw.accepted())
        for extra in ((), ("--retries", "2")):
            r = c.send(gw.url("http"), p, extra)
            expect(r.rc == 1 and r.json()["outcome"] == "refused",
                   "%s: expected the gateway's refusal: %s" % (" ".join(extra), r.why()))
            expect(b"external_biz_id" in r.err and b"without retries" in r.err,
                   "stderr does not warn: %s" % r.why())
        r = c.send(dead, p, ["--spool", spool])
        expect(r.rc == 3 and attempts_of(r) == 1, "dead gateway: one attempt, exit 3: %s" % r.why())
        expect(b"not spooled" in r.err, "stderr does not say it was not spooled: %s" % r.why())
        expect(spool_orders(spool) == [], "an order without external_biz_id was spooled")
        r = c.send(gw.url("http"), p, ["--retries", "0"])
        expect(r.rc == 1 and b"without retries" not in r.err, "--retries 0: %s" % r.why())
        r = c.send(dead, p, ["--spool", spool, "--retries", "0"])
        expect(r.rc == 3 and b"not spooled" in r.err, "--retries 0, dead gateway: %s" % r.why())
        expect(spool_orders(spool) == [], "with --retries 0, an order without external_biz_id was spooled")
        expect(len(gw.accepted()) == before, "something was accepted")
    report("cli/no external_biz_id: sent once with a warning, never spooled", no_biz_id)

    def spooled():
        spool = c.path("spool-5")                            # made by send
        for i, (scheme_url, extra) in enumerate(((dead, ()), (gw.url("http", "reset"), ()),
                                                 (gw.url("https", "status503"), ()),
                                                 (gw.url("http", "code7"), ("--retries", "1")))):
            data = order_text("cli-5-%d-é" % i, style=i)
            r = c.send(scheme_url, "-", ["--spool", spool] + list(extra), stdin=data)
            j = r.json()
            expect(r.rc == 5, "%s: expected exit 5: %s" % (scheme_url, r.why()))
            expect(j["outcome"] in ("transport_error", "platform_error"), r.why())
            expect(b"spooled" in r.err, "stderr does not say spooled: %s" % r.why())
            names = spool_orders(spool)
            expect(len(names) == i + 1 and all(SPOOL_NAME.match(n) for n in names),
                   "spool holds %s" % names)
            with open(os.path.join(spool, names[-1]), "rb") as f:
                expect(f.read() == data, "the spooled file is not the order byte for byte")
        expect(temp_files(spool) == [], "temporary files left: %s" % temp_files(spool))
        expect(names == sorted(names), "names do not sort oldest first")
    report("cli/send --spool: retryable failure -> exit 5, order kept byte for byte", spooled)

    def dir_sync_fails():
        # The order's file is renamed into the spool, then fsync() of the
        # directory fails (EIO, the LD_PRELOAD shim): the file is there, so
        # stderr must say so and not "cannot write"; it is not durable, so send
        # still exits with the failure's status (not 5), and a later flush
        # delivers the order once.
        spool = c.path("spool-dirsync")
        os.mkdir(spool, 0o700)
        for binary in (c.bin(0), c.bin(1)):
            r = run(binary, ["send", "--url", dead, "--retries", "0", "--spool", spool, "-"],
                    stdin=order_text("cli-dirsync-%d" % len(spool_orders(spool))),
                    env_extra={"LD_PRELOAD": fsync_shim(), "ICBU_SHIM_DIRSYNC": "fail"})
            expect(r.rc == 3, "expected exit 3 (not spooled for certain): %s" % r.why())
            expect(b"NOT spooled for certain" in r.err and b"was written" in r.err and
                   b"Input/output error" in r.err and b"cannot write" not in r.err,
                   "stderr does not say the file is in the spool: %s" % r.why())
        names = spool_orders(spool)
        expect(len(names) == 2 and all(SPOOL_NAME.match(n) for n in names),
               "spool holds %s" % names)
        expect(temp_files(spool) == [], "temporary files left: %s" % temp_files(spool))
        before = len(gw.accepted("cli-dirsync-"))
        r = c.flush(spool, gw.url("http"))
        expect(r.rc == 0 and spool_orders(spool) == [], "flush: %s" % r.why())
        expect(len(gw.accepted("cli-dirsync-")) == before + 2, "not delivered once each")
    report("cli/send --spool when the directory's fsync fails: in the spool, said so, exit 3",
           dir_sync_fails)

    def new_spool_durable():
        # send --spool makes a missing spool directory: the directory that
        # holds it is fsynced too (the shim logs each directory fsynced), or a
        # crash could lose the new directory with the order in it.
        parent = c.path("parent")
        os.mkdir(parent, 0o700)
        log = c.path("dirsync.log")
        for sub in ("new", "new2/"):
            r = run(c.bin(0), ["send", "--url", dead, "--retries", "0", "--spool",
                               os.path.join(parent, sub), "-"], stdin=order_text("cli-newdir"),
                    env_extra={"LD_PRELOAD": fsync_shim(), "ICBU_SHIM_DIRSYNC": "log:" + log})
            expect(r.rc == 5 and len(spool_orders(os.path.join(parent, sub))) == 1, r.why())
            with open(log, encoding="ascii") as f:
                synced = f.read().split("\n")
            for d in (parent, os.path.join(parent, sub)):
                st = os.stat(d)
                expect("%d %d" % (st.st_dev, st.st_ino) in synced,
                       "%s: %s was not fsynced (%s)" % (sub, d, synced))
    report("cli/send --spool making the spool fsyncs the directory that holds it",
           new_spool_durable)

    def no_core():
        # While send waits on a gateway that never answers, with the secret in its memory:
        # its core size limit is 0 (no core file can hold the secret).
        lsn = socket.socket()
        lsn.bind(("127.0.0.1", 0))
        lsn.listen(4)
        url = "http://127.0.0.1:%d/router/rest" % lsn.getsockname()[1]
        for binary in (c.bin(0), c.bin(1)):
            p = subprocess.Popen([binary, "send", "--url", url, "--timeout", "20000",
                                  "--retries", "0", "-"], stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env())
            try:
                p.stdin.write(order_text("cli-no-core"))
                p.stdin.close()
                lsn.settimeout(10)
                conn, _ = lsn.accept()          # it has the order and the secret by now
                with open("/proc/%d/limits" % p.pid, encoding="ascii") as f:
                    limits = f.read()
                conn.close()
                line = [x for x in limits.split("\n") if x.startswith("Max core file size")]
                expect(line and line[0].split()[4:6] == ["0", "0"],
                       "%s: core limit %s" % (binary, line))
            finally:
                p.kill()
                p.wait()
        lsn.close()
    if os.path.isdir("/proc/self"):
        report("cli/send makes no core file: its core size limit is 0 while it runs", no_core)

    def read_errors():
        # An ORDER or RESPONSE that cannot be read: the message says why (a directory).
        d = c.path("a-directory")
        os.mkdir(d)
        for args, rc in ((["parse", d], 3), (["sign", "--app-key", APP_KEY, d], 4),
                         (["send", "--url", dead, d], 4)):
            r = run(c.bin(0), args)
            expect(r.rc == rc and b"Is a directory" in r.err, "%s: %s" % (args[0], r.why()))
        # A read that fails for the system's reason, not the order's (a real EIO: reading
        # /proc/self/mem at offset 0): nothing sent, exit 74, never 4 ("invalid ORDER"),
        # which tells a caller to drop the order rather than try again.
        if os.path.exists("/proc/self/mem"):
            for args in (["sign", "--app-key", APP_KEY, "/proc/self/mem"],
                         ["send", "--url", dead, "/proc/self/mem"]):
                r = run(c.bin(0), args)
                expect(r.rc == 74 and b"Input/output error" in r.err and b"invalid order" not in r.err
                       and b"nothing sent" in r.err, "%s, EIO: %s" % (args[0], r.why()))
    report("cli/an ORDER or RESPONSE that cannot be read: the message says why; an I/O error "
           "is not an invalid order", read_errors)

    def not_spooled():
        spool = c.path("spool-not")
        p = c.write("ns.json", order_text("cli-ns-refuse", refuse=True))
        r = c.send(gw.url("http"), p, ["--spool", spool])
        expect(r.rc == 1, "refused: %s" % r.why())
        for mode, rc in (("code41", 2), ("malformed", 3), ("", 0)):
            p = c.write("ns.json", order_text("cli-ns-" + (mode or "ok")))
            r = c.send(gw.url("https", mode), p, ["--spool", spool])
            expect(r.rc == rc, "%s: expected %d: %s" % (mode, rc, r.why()))
            expect(b"settings error" not in r.err, "%s: not a settings error: %s" % (mode, r.why()))
        p = c.write("ns.json", b'{"amount":1.5}')
        r = c.send(gw.url("http"), p, ["--spool", spool])
        expect(r.rc == 4 and r.out == b"", "invalid order: %s" % r.why())
        expect(spool_orders(spool) == [], "spooled: %s" % spool_orders(spool))
    report("cli/send --spool does not keep a final answer (0, 1, code 41), an unreadable "
           "answer or an invalid order", not_spooled)

    def settings_spooled():
        """Item f: a settings error is spooled (exit 6, stderr names the setting); flush
        stops at it and keeps the order; once the settings are fixed, flush delivers it."""
        spool = c.path("spool-6")
        fifo = c.path("ca.fifo")
        os.mkfifo(fifo)
        missing = c.path("no-such-ca.pem")
        long_host = ".".join(["h" * 60] * 5)                 # 304 bytes: never resolves
        cases = (   # name, url, extra args, env, outcome check, the setting named on stderr
            ("a wrong CA", gw.url("https"), ["--ca-file", gw.wrong_ca], None,
             lambda j: j.get("stage") == "tls", b"--ca-file"),
            ("a CA file that is a FIFO", gw.url("https"), ["--ca-file", fifo], None,
             lambda j: j.get("stage") == "tls" and "not a regular file" in j.get("detail", ""),
             b"--ca-file"),
            ("a CA file that does not exist", gw.url("https"), ["--ca-file", missing], None,
             lambda j: j.get("stage") == "tls", b"--ca-file"),
            ("a wrong secret (code 25)", gw.url("http"), [], {"ICBU_REFLOW_APP_SECRET": BAD_SECRET},
             lambda j: j.get("code") == 25, b"secret"),
            ("an invalid app key (code 29)", gw.url("http"), [], {"ICBU_REFLOW_APP_KEY": "87654321"},
             lambda j: j.get("code") == 29, b"--app-key"),
            ("an invalid host name", "http://bad!host.example/router/rest", [], None,
             lambda j: j.get("stage") == "connect" and "invalid host name" in j.get("detail", ""),
             b"--url"),
            ("a host name over 253 bytes", "https://%s/router/rest" % long_host,
             ["--ca-file", gw.ca], None,
             lambda j: j.get("stage") == "connect" and "253" in j.get("detail", ""), b"--url"),
            ("a wrong URL path (HTTP 404)", gw.url("http", "no-such-path"), [], None,
             lambda j: j.get("stage") == "http" and "404" in j.get("detail", ""), b"--url"),
        )
        bizs, i = [], 0
        for name, url, extra, env_extra, check, setting in cases:
            for _, b in c.bins:
                biz = "cli-6-%d" % i
                data = order_text(biz, style=i)
                i += 1
                before = spool_orders(spool)
                r = run(b, ["send", "--url", url] + extra + ["--spool", spool, "--retries", "3",
                                                             "--timeout", "8000", "-"],
                        stdin=data, timeout=20, env_extra=env_extra)
                j = r.json()
                expect(r.rc == 6, "%s: expected exit 6 (spooled, settings): %s" % (name, r.why()))
                expect(check(j), "%s: unexpected outcome: %s" % (name, r.why()))
                expect("attempts" not in j and attempts_of(r) == 1,
                       "%s: a settings error must not be retried: %s" % (name, r.why()))
                expect(r.elapsed < 4, "%s: took %.1f s" % (name, r.elapsed))
                expect(b"settings error" in r.err and setting in r.err and b"spooled" in r.err,
                       "%s: stderr must say spooled and name %s: %s" % (name, setting.decode(), r.why()))
                new = sorted(set(spool_orders(spool)) - set(before))
                expect(len(new) == 1, "%s: spool holds %s" % (name, spool_orders(spool)))
                with open(os.path.join(spool, new[0]), "rb") as f:
                    expect(f.read() == data, "%s: not the order byte for byte" % name)
                bizs.append(biz)
        names = spool_orders(spool)
        for name, url, extra, env_extra, rc, setting in (
                ("a wrong CA", gw.url("https"), ["--ca-file", gw.wrong_ca], None, 3, b"--ca-file"),
                ("a FIFO CA file", gw.url("https"), ["--ca-file", fifo], None, 3, b"--ca-file"),
                ("an invalid host", "http://bad!host.example/router/rest", [], None, 3, b"--url"),
                ("a wrong secret", gw.url("http"), [], {"ICBU_REFLOW_APP_SECRET": BAD_SECRET}, 2,
                 b"secret"),
                ("a wrong URL path (HTTP 404)", gw.url("http", "no-such-path"), [], None, 3, b"--url")):
            r = run(c.bin(), ["flush", "--spool", spool, "--url", url] + extra, timeout=20,
                    env_extra=env_extra)
            lines = r.lines()
            expect(r.rc == rc and len(lines) == 1 and lines[0]["spool"] == "kept" and
                   lines[0]["file"] == names[0], "flush, %s: expected %d, kept: %s" % (name, rc, r.why()))
            expect(b"settings error" in r.err and setting in r.err,
                   "flush, %s: stderr does not name %s: %s" % (name, setting.decode(), r.why()))
            expect(spool_orders(spool) == names, "flush, %s: files changed" % name)
        r = c.flush(spool, gw.url("https"))
        lines = r.lines()
        expect(r.rc == 0 and spool_orders(spool) == [] and
               all(x["spool"] == "removed" for x in lines) and len(lines) == len(names),
               "flush with the settings fixed: %s" % r.why())
        got = {e["external_biz_id"] for e in gw.accepted("cli-6-")}
        expect(got == set(bizs), "not delivered: %s" % sorted(set(bizs) - got))
    report("cli/send --spool: settings errors (wrong CA, unusable CA file, wrong secret, app key, "
           "invalid host, HTTP 404) are spooled with exit 6; flush keeps them until fixed", settings_spooled)

    def budget():
        p = c.write("b.json", order_text("cli-budget"))
        r = c.send(gw.url("http", "stall"), p, ["--timeout", "1500"], timeout=20)
        j = r.json()
        expect(r.rc == 3 and j.get("stage") == "receive" and "attempts" not in j, r.why())
        expect(1.3 <= r.elapsed < 4, "stall: %.2f s for a 1.5 s budget" % r.elapsed)
        r = c.send(gw.url("https", "reset"), p, ["--timeout", "400", "--retries", "20"])
        expect(r.rc == 3, r.why())
        expect(r.elapsed < 2.0, "20 retries took %.2f s for a 400 ms budget" % r.elapsed)
        r = c.send(gw.url("http", "slow"), p, ["--timeout", "600"])
        expect(r.rc == 3 and r.elapsed < 1.6, "slow: %.2f s: %s" % (r.elapsed, r.why()))
    report("cli/--timeout is the budget of all attempts", budget)

    def flush_status():
        spool = c.path("spool-fs")
        r = c.flush(spool, gw.url("http"))
        expect(r.rc == 74 and r.out == b"", "missing spool: %s" % r.why())
        os.mkdir(spool, 0o700)
        r = c.flush(spool, gw.url("http"))
        expect(r.rc == 0 and r.out == b"", "empty spool: %s" % r.why())
        for i in range(3):
            r = c.send(dead, "-", ["--spool", spool, "--retries", "0"],
                       stdin=order_text("cli-fs-%d" % i, refuse=(i == 1)))
            expect(r.rc == 5, r.why())
        names = spool_orders(spool)
        r = c.flush(spool, dead, ["--retries", "1"])
        lines = r.lines()
        expect(r.rc == 5 and [(x["file"], x["spool"], x.get("attempts")) for x in lines] ==
               [(names[0], "kept", 2), (names[1], "kept", 2)],
               "gateway down: two orders in a row kept, then it stops: %s" % r.why())
        expect(spool_orders(spool) == names, "files changed: %s" % spool_orders(spool))
        r = c.flush(spool, gw.url("http", "malformed"))
        lines = r.lines()
        expect(r.rc == 3 and len(lines) == 1 and lines[0]["spool"] == "kept" and
               lines[0]["stage"] == "parse", "unreadable answer: %s" % r.why())
        r = c.flush(spool, gw.url("https"))
        lines = r.lines()
        # the two kept while the gateway was down were set aside: sent after the third
        expect(r.rc == 0 and [x["file"] for x in lines] == [names[2], names[0], names[1]], r.why())
        expect([(x["outcome"], x["spool"]) for x in lines] ==
               [("accepted", "removed"), ("accepted", "removed"), ("refused", "refused")],
               r.why())
        expect(all(set(x) >= {"file", "outcome", "spool"} for x in lines), r.why())
        expect(spool_orders(spool) == [], "not empty")
        refused = os.path.join(spool, "refused")
        expect(sorted(os.listdir(refused)) == [names[1], names[1] + ".answer.json"],
               "refused/: %s" % os.listdir(refused))
        with open(os.path.join(refused, names[1] + ".answer.json"), "rb") as f:
            ans = f.read()
        expect(ans.endswith(b"}\n") and ans.count(b"\n") == 1, "answer is not one line")
        want = dict(lines[2])
        del want["file"], want["spool"]
        expect(json.loads(ans) == want, "answer %s, line %s" % (clip(ans), lines[2]))
        with open(os.path.join(refused, names[1]), "rb") as f:
            expect(f.read() == order_text("cli-fs-1", refuse=True), "refused order changed")
    report("cli/flush: 74 no spool, 0 empty, 5 kept (gateway down), 3 unreadable, refused/",
           flush_status)

    def hol_spool(tag, bizs):
        """A spool of orders in this order (oldest first): its path and the names."""
        spool = c.path("spool-hol-" + tag)
        os.mkdir(spool, 0o700)
        names = ["%020d-0000000001-0000.json" % (i + 1) for i in range(len(bizs))]
        for name, biz in zip(names, bizs):
            with open(os.path.join(spool, name), "wb") as f:
                f.write(order_text(biz))
        return spool, names

    def poison_first():
        """An order the gateway fails every time (a "poison" order: fault=MODE/ in its
        external_biz_id) is kept, and flush goes on: the orders after it are delivered."""
        for mode in ("status503", "isp", "reset"):
            tag = "hol-1-%s-" % mode
            bizs = ["fault=%s/%sa" % (mode, tag), tag + "b", "fault=%s/%sc" % (mode, tag),
                    tag + "d", tag + "e"]
            spool, names = hol_spool(mode, bizs)
            r = c.flush(spool, gw.url("http"), ["--retries", "1"], timeout=30)
            got = [(x["file"], x["outcome"], x["spool"]) for x in r.lines()]
            bad = "platform_error" if mode == "isp" else "transport_error"
            expect(r.rc == 5 and got == [(names[0], bad, "kept"), (names[1], "accepted", "removed"),
                                         (names[2], bad, "kept"), (names[3], "accepted", "removed"),
                                         (names[4], "accepted", "removed")],
                   "%s: a poison order first, then good ones: %s" % (mode, r.why()))
            expect(spool_orders(spool) == [names[0], names[2]],
                   "%s: left %s" % (mode, spool_orders(spool)))
            got = {e["external_biz_id"] for e in gw.accepted(tag)}
            expect(got == {tag + "b", tag + "d", tag + "e"}, "%s: accepted %s" % (mode, got))
    report("cli/flush: a poison order is kept, and the orders after it are delivered (exit 5)",
           poison_first)

    def poison_twice():
        """Two orders in a row kept for a failure that can pass stop flush: the orders
        after them are not sent. A kept order is set aside: the next flush sends it after
        the others, so two poison orders hold back the rest for one flush only."""
        tag = "hol-2-"
        bizs = ["fault=status503/%sa" % tag, "fault=isp/%sb" % tag, tag + "c", tag + "d"]
        spool, names = hol_spool("two", bizs)
        r = c.flush(spool, gw.url("http"), ["--retries", "0"], timeout=30)
        got = [(x["file"], x["spool"]) for x in r.lines()]
        expect(r.rc == 5 and got == [(names[0], "kept"), (names[1], "kept")],
               "two poison orders in a row: %s" % r.why())
        expect(spool_orders(spool) == names, "left %s" % spool_orders(spool))
        expect(not gw.requests(tag) and not gw.accepted(tag),
               "the orders after them were sent: %s" % gw.requests(tag))
        r = c.flush(spool, gw.url("http"), ["--retries", "0"], timeout=30)
        got = [(x["file"], x["spool"]) for x in r.lines()]
        expect(r.rc == 5 and got == [(names[2], "removed"), (names[3], "removed"),
                                     (names[0], "kept"), (names[1], "kept")],
               "the next flush, the two poison orders set aside: %s %s" % (got, r.why()))
        expect(spool_orders(spool) == names[:2], "left %s" % spool_orders(spool))
        expect({e["external_biz_id"] for e in gw.accepted(tag)} == {tag + "c", tag + "d"},
               "accepted %s" % gw.accepted(tag))
        # An invalid order between them was not sent: it says nothing of the way to the
        # gateway, and does not break the row.
        tag = "hol-2i-"
        spool, names = hol_spool("two-inv", ["fault=reset/%sa" % tag, None,
                                             "fault=status500/%sb" % tag, tag + "c"])
        r = c.flush(spool, gw.url("http"), ["--retries", "0"], timeout=30)
        got = [(x["file"], x["spool"]) for x in r.lines()]
        expect(r.rc == 5 and got == [(names[0], "kept"), (names[1], "refused"),
                                     (names[2], "kept")], "with an invalid order: %s" % r.why())
        expect(spool_orders(spool) == [names[0], names[2], names[3]] and not gw.requests(tag),
               "with an invalid order: left %s" % spool_orders(spool))
    report("cli/flush: two poison orders in a row stop it, the rest untouched; the next flush "
           "sends them last (exit 5)",
           poison_twice)

    def poison_then_settings():
        """Past a poison order, a settings error still stops flush at once, with its own
        status (2 for code 25), not 5: the settings must be fixed first."""
        tag = "hol-se-"
        spool, names = hol_spool("se", ["fault=status503/%sa" % tag, tag + "b",
                                        "fault=badsign-always/%sc" % tag, tag + "d"])
        r = c.flush(spool, gw.url("http"), ["--retries", "0"], timeout=30)
        got = [(x["file"], x["spool"]) for x in r.lines()]
        expect(r.rc == 2 and got == [(names[0], "kept"), (names[1], "removed"),
                                     (names[2], "kept")] and r.lines()[2].get("code") == 25,
               "a settings error after a poison order: %s" % r.why())
        expect(b"settings error" in r.err, "stderr: %s" % r.why())
        expect(spool_orders(spool) == [names[0], names[2], names[3]] and
               not gw.requests(tag + "d"), "left %s" % spool_orders(spool))
    report("cli/flush: past a poison order, a settings error still stops it (exit 2)",
           poison_then_settings)

    def gateway_down():
        """A gateway that is down costs two orders' attempts, whatever the spool holds:
        the connections are counted on a port that resets every one."""
        spool, names = hol_spool("down", ["hol-down-%d" % i for i in range(5)])
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        count = [0]

        def refuse_all():
            while True:
                try:
                    k, _ = srv.accept()
                except OSError:
                    return
                count[0] += 1
                k.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                k.close()
        t = threading.Thread(target=refuse_all, daemon=True)
        t.start()
        try:
            url = "http://127.0.0.1:%d/router/rest" % srv.getsockname()[1]
            r = c.flush(spool, url, ["--retries", "2"], timeout=30)
        finally:
            srv.shutdown(socket.SHUT_RDWR)
            srv.close()
            t.join(5)
        got = [(x["file"], x["spool"], x.get("attempts")) for x in r.lines()]
        expect(r.rc == 5 and got == [(names[0], "kept", 3), (names[1], "kept", 3)],
               "gateway down: %s" % r.why())
        expect(count[0] == 6, "%d connections, want 2 orders x 3 attempts" % count[0])
        expect(spool_orders(spool) == names, "left %s" % spool_orders(spool))
    report("cli/flush: a gateway that is down costs two orders' attempts (exit 5)", gateway_down)

    def throttled():
        """A failure that asks to wait (HTTP 429, code 7 App Call Limited) stops flush at
        once, on the first order or after a poison order and a good one alike: the next
        order would add to the load."""
        for mode in ("status429", "code7"):
            for k, before in enumerate(([], ["fault=status503/", ""])):
                tag = "hol-w-%s-%d-" % (mode, k)
                bizs = [b + tag + "p%d" % i for i, b in enumerate(before)]
                bizs += ["fault=%s/%sa" % (mode, tag), tag + "b", tag + "c"]
                spool, names = hol_spool("%s-%d" % (mode, k), bizs)
                r = c.flush(spool, gw.url("http"), ["--retries", "0"], timeout=30)
                lines = r.lines()
                want = [(n, "removed" if b.startswith(tag) else "kept")
                        for n, b in zip(names, bizs)][:len(before) + 1]
                expect(r.rc == 5 and [(x["file"], x["spool"]) for x in lines] == want,
                       "%s after %d orders: %s" % (mode, len(before), r.why()))
                expect(lines[-1].get("code") == 7 if mode == "code7" else
                       lines[-1].get("detail") == "HTTP status 429", "%s: %s" % (mode, r.why()))
                removed = [n for n, w in want if w == "removed"]
                expect(spool_orders(spool) == [n for n in names if n not in removed],
                       "left %s" % spool_orders(spool))
                expect(not gw.requests(tag + "b") and not gw.requests(tag + "c"),
                       "%s: the orders after it were sent" % mode)
    report("cli/flush: a rate limit (HTTP 429, code 7) stops it at once (exit 5)", throttled)

    def settings_error():
        spool = c.path("spool-se")
        for i in range(2):
            r = c.send(dead, "-", ["--spool", spool, "--retries", "0"],
                       stdin=order_text("cli-se-%d" % i))
            expect(r.rc == 5, r.why())
        names = spool_orders(spool)
        r = c.flush(spool, gw.url("http", "badsign-always"))
        lines = r.lines()
        expect(r.rc == 2 and len(lines) == 1 and lines[0]["spool"] == "kept" and
               lines[0].get("code") == 25, "bad signature: %s" % r.why())
        expect(spool_orders(spool) == names, "files changed: %s" % spool_orders(spool))
        expect(not os.path.exists(os.path.join(spool, "refused")) or
               os.listdir(os.path.join(spool, "refused")) == [], "moved to refused/")
        r = c.flush(spool, gw.url("http"))
        expect(r.rc == 0 and spool_orders(spool) == [], "then delivered: %s" % r.why())
    report("cli/flush: a settings error (code 25) stops it with exit 2 and keeps every order",
           settings_error)

    def rejected_certificate():
        spool = c.path("spool-ca")
        wrong = os.path.join(os.path.dirname(gw.ca), "wrong-ca.pem")
        for k, (_, b) in enumerate(c.bins):
            r = run(b, ["send", "--url", gw.url("https"), "--ca-file", wrong, "--retries", "3",
                        "-"], stdin=order_text("cli-ca"))
            j = r.json()
            expect(r.rc == 3 and j.get("stage") == "tls" and "attempts" not in j and
                   attempts_of(r) == 1, "%s, no spool: %s" % (b, r.why()))
            r = run(b, ["send", "--url", gw.url("https"), "--ca-file", wrong, "--spool", spool,
                        "--retries", "3", "-"], stdin=order_text("cli-ca"))
            j = r.json()
            expect(r.rc == 6 and j.get("stage") == "tls" and "attempts" not in j and
                   attempts_of(r) == 1, "%s: %s" % (b, r.why()))
            expect(len(spool_orders(spool)) == k + 1, "not spooled: %s" % spool_orders(spool))
    report("cli/a rejected certificate is not retried; with --spool it is spooled (exit 6)",
           rejected_certificate)

    def planted(spool, biz, refuse=False):
        """An order file put in the spool by hand; its name sorts first."""
        name = "00000000000000000001-0000000001-0000.json"
        with open(os.path.join(spool, name), "wb") as f:
            f.write(order_text(biz, refuse=refuse))
        return name

    def spool_owner_and_mode():
        """Item a: DIR must be the user's and writable by the user alone, else 74 at once."""
        p = c.write("trust.json", order_text("cli-trust-send"))
        for mode, what in ((0o770, b"writable by its group"), (0o707, b"writable by others"),
                           (0o777, b"writable by its group and others")):
            spool = c.path("spool-mode-%o" % mode)
            os.mkdir(spool, 0o700)
            os.chmod(spool, mode)
            name = planted(spool, "cli-trust-%o" % mode)
            r = c.flush(spool, gw.url("http"))
            expect(r.rc == 74 and r.out == b"" and what in r.err and b"unsafe spool" in r.err,
                   "flush, mode %o: expected 74 naming the problem: %s" % (mode, r.why()))
            r = c.send(dead, p, ["--spool", spool, "--retries", "0"])
            expect(r.rc == 74 and r.out == b"" and what in r.err and b"nothing sent" in r.err,
                   "send, mode %o: expected 74 naming the problem: %s" % (mode, r.why()))
            expect(spool_orders(spool) == [name], "mode %o: the spool changed: %s"
                   % (mode, spool_orders(spool)))
            expect(not os.path.exists(os.path.join(spool, ".lock")), "mode %o: .lock made" % mode)
            os.chmod(spool, 0o700)
            r = c.flush(spool, gw.url("http"))
            expect(r.rc == 0 and spool_orders(spool) == [], "mode 700: %s" % r.why())
        # A directory of another user.
        if os.geteuid() == 0:
            spool = c.path("spool-owner")
            os.mkdir(spool, 0o700)
            name = planted(spool, "cli-trust-owner")
            os.chown(spool, 65534, 65534)
        else:
            spool, name = "/", None                           # root's
        for args in (["flush", "--spool", spool, "--url", gw.url("http")],
                     ["send", "--spool", spool, "--url", dead, "--retries", "0", p]):
            r = run(c.bin(), args)
            expect(r.rc == 74 and r.out == b"" and b"owned by uid" in r.err,
                   "%s, another user's DIR: expected 74: %s" % (args[0], r.why()))
        if name:
            expect(spool_orders(spool) == [name], "the spool changed")
        acc = [e for e in gw.accepted("cli-trust-") if e["external_biz_id"] != "cli-trust-send"]
        expect(sorted(e["external_biz_id"] for e in acc) == ["cli-trust-707", "cli-trust-770",
                                                           "cli-trust-777"],
               "orders of an unsafe spool were sent: %s" % [e["external_biz_id"] for e in acc])
    report("cli/spool: DIR of another user, or writable by group or others: 74, nothing sent",
           spool_owner_and_mode)

    def lock_link():
        spool = c.path("spool-lock-link")
        outside = c.path("outside-lock")
        os.mkdir(spool, 0o700)
        os.mkdir(outside, 0o700)
        target = os.path.join(outside, "made-by-flush")
        os.symlink(target, os.path.join(spool, ".lock"))
        name = planted(spool, "cli-lock-link")
        r = c.flush(spool, gw.url("http"))
        expect(r.rc == 74 and r.out == b"" and b".lock" in r.err and b"symbolic link" in r.err,
               "expected 74 naming .lock: %s" % r.why())
        expect(not os.path.lexists(target), "flush created a file through the .lock link")
        expect(spool_orders(spool) == [name] and not gw.accepted("cli-lock-link"),
               "the order was sent")
    report("cli/flush: a .lock that is a symbolic link is not followed (74)", lock_link)

    def refused_link():
        spool = c.path("spool-refused-link")
        outside = c.path("outside-refused")
        os.mkdir(spool, 0o700)
        os.mkdir(outside, 0o700)
        temp = os.path.join(outside, ".x.json.answer.json.4244.tmp")    # a temporary file's name
        with open(temp, "wb") as f:
            f.write(b"not the spool's")
        os.symlink(outside, os.path.join(spool, "refused"))
        name = planted(spool, "cli-refused-link", refuse=True)
        r = c.flush(spool, gw.url("http"))
        expect(r.rc == 74 and r.out == b"" and b"refused" in r.err and b"symbolic link" in r.err,
               "expected 74 naming refused: %s" % r.why())
        expect(os.path.exists(temp), "flush removed a file through the refused link")
        expect(os.listdir(outside) == [os.path.basename(temp)],
               "flush wrote through the refused link: %s" % os.listdir(outside))
        expect(spool_orders(spool) == [name], "the order moved")
        os.unlink(os.path.join(spool, "refused"))
        for bad in ("file", "mode"):            # a refused/ that is a file, or group-writable
            if bad == "file":
                with open(os.path.join(spool, "refused"), "wb") as f:
                    f.write(b"x")
            else:
                os.mkdir(os.path.join(spool, "refused"), 0o700)
                os.chmod(os.path.join(spool, "refused"), 0o770)
            r = c.flush(spool, gw.url("http"))
            expect(r.rc == 74 and b"refused" in r.err, "refused/ as a %s: %s" % (bad, r.why()))
            expect(spool_orders(spool) == [name], "the order moved")
            if bad == "file":
                os.unlink(os.path.join(spool, "refused"))
        os.chmod(os.path.join(spool, "refused"), 0o700)
        r = c.flush(spool, gw.url("http"))
        expect(r.rc == 0 and [x["spool"] for x in r.lines()] == ["refused"] and
               os.path.exists(os.path.join(spool, "refused", name)), "fixed: %s" % r.why())
    report("cli/flush: a refused/ that is a symbolic link is not followed (74, nothing moved "
           "or removed outside)", refused_link)

    def order_link():
        spool = c.path("spool-order-link")
        outside = c.path("outside-order")
        os.mkdir(spool, 0o700)
        os.mkdir(outside, 0o700)
        src = os.path.join(outside, "order.json")
        with open(src, "wb") as f:
            f.write(order_text("cli-planted-link"))
        link = os.path.join(spool, "00000000000000000001-0000000001-0000.json")
        os.symlink(src, link)
        fifo = os.path.join(spool, "00000000000000000002-0000000001-0000.json")
        os.mkfifo(fifo)
        r = c.send(dead, "-", ["--spool", spool, "--retries", "0"], stdin=order_text("cli-order-ok"))
        expect(r.rc == 5, r.why())
        r = c.flush(spool, gw.url("http"), timeout=20)
        lines = r.lines()
        expect(r.rc == 0 and [(x["outcome"], x["spool"]) for x in lines] == [("accepted", "removed")],
               "only the real order is sent: %s" % r.why())
        expect(b"symbolic link" in r.err and b"not a regular file" in r.err,
               "stderr does not say what was skipped: %s" % r.why())
        expect(not gw.accepted("cli-planted-link"), "the linked order was read and sent")
        expect(os.path.islink(link) and os.path.exists(fifo), "the link or the FIFO was touched")
    report("cli/flush: an order name that is a symbolic link (or a FIFO) is never read or sent",
           order_link)

    def long_names():
        """A refused order's answer is written beside it in refused/ through a temporary
        name 38 bytes longer: an order name of 217 bytes is moved there; one of 218 could
        never be (255 bytes a file name), so it is left, with a warning, and flush goes on."""
        spool = c.path("spool-long-names")
        os.mkdir(spool, 0o700)
        fits = "1" * 212 + ".json"                 # 217 bytes
        over = "0" * 213 + ".json"                 # 218 bytes, sorts first
        for name, biz in ((fits, "cli-long-fits"), (over, "cli-long-over")):
            with open(os.path.join(spool, name), "wb") as f:
                f.write(order_text(biz, refuse=True))
        r = c.send(dead, "-", ["--spool", spool, "--retries", "0"], stdin=order_text("cli-long-ok"))
        expect(r.rc == 5, r.why())
        r = c.flush(spool, gw.url("http"), timeout=20)
        expect(r.rc == 0 and sorted((x["outcome"], x["spool"]) for x in r.lines()) ==
               [("accepted", "removed"), ("refused", "refused")], r.why())
        expect(b"longer than 217 bytes" in r.err, "stderr does not say why: %s" % r.why())
        expect(sorted(os.listdir(os.path.join(spool, "refused"))) == [fits, fits + ".answer.json"],
               "refused/: %s" % os.listdir(os.path.join(spool, "refused")))
        expect(spool_orders(spool) == [over], "left in the spool: %s" % spool_orders(spool))
        expect(not gw.requests("cli-long-over"), "the order with the long name was sent")
    report("cli/flush: an order name too long to move to refused/ is left with a warning, "
           "not sent again and again", long_names)

    def refused_name_taken():
        """An order whose name is already in refused/ (orders put in the spool by hand under
        a name used before) would replace the refused order kept there, and its answer: it
        is left in the spool, unsent, with a warning, and the orders after it go on."""
        spool = c.path("spool-refused-taken")
        os.mkdir(spool, 0o700)
        name = "order.json"
        with open(os.path.join(spool, name), "wb") as f:
            f.write(order_text("cli-taken-first", refuse=True))
        r = c.flush(spool, gw.url("http"), timeout=20)
        expect(r.rc == 0 and [(x["outcome"], x["spool"]) for x in r.lines()] ==
               [("refused", "refused")], r.why())
        first = open(os.path.join(spool, "refused", name), "rb").read()
        answer = open(os.path.join(spool, "refused", name + ".answer.json"), "rb").read()
        with open(os.path.join(spool, name), "wb") as f:
            f.write(order_text("cli-taken-second", refuse=True))
        r = c.send(dead, "-", ["--spool", spool, "--retries", "0"], stdin=order_text("cli-taken-ok"))
        expect(r.rc == 5, r.why())
        r = c.flush(spool, gw.url("http"), timeout=20)
        expect(r.rc == 0 and [(x["outcome"], x["spool"]) for x in r.lines()] ==
               [("accepted", "removed")], "only the other order is sent: %s" % r.why())
        expect(b"already in refused/" in r.err and name.encode() in r.err,
               "stderr does not say why: %s" % r.why())
        expect(open(os.path.join(spool, "refused", name), "rb").read() == first and
               open(os.path.join(spool, "refused", name + ".answer.json"), "rb").read() == answer,
               "the refused order kept before, or its answer, was replaced")
        expect(spool_orders(spool) == [name], "left in the spool: %s" % spool_orders(spool))
        expect(not gw.requests("cli-taken-second"), "the order was sent")
        # An answer alone in refused/ is what a flush killed before the move leaves: the
        # order of that name is sent and moved as usual.
        os.rename(os.path.join(spool, "refused", name), c.path("kept-" + name))
        r = c.flush(spool, gw.url("http"), timeout=20)
        expect(r.rc == 0 and [(x["file"], x["spool"]) for x in r.lines()] ==
               [(name, "refused")] and gw.requests("cli-taken-second"),
               "after a killed flush's answer: %s" % r.why())
    report("cli/flush: an order whose name is taken in refused/ is left with a warning, "
           "never put over the refused order kept there", refused_name_taken)

    def unreadable():
        """An order file flush may not read (mode 000; as root, flush runs as nobody, since
        root reads it anyway) is left with a warning, and the orders after it are sent."""
        base = tempfile.mkdtemp(prefix="icbu-rel-unreadable-")
        os.chmod(base, 0o711)
        spool = os.path.join(base, "spool")
        os.mkdir(spool, 0o700)
        names = ["%020d-0000000001-0000.json" % i for i in (1, 2, 3)]
        for name, biz in zip(names, ("cli-unr-a", "cli-unr-b", "cli-unr-c")):
            with open(os.path.join(spool, name), "wb") as f:
                f.write(order_text(biz))
        os.chmod(os.path.join(spool, names[1]), 0)
        url = gw.url("http")
        argv = ["flush", "--spool", spool, "--url", url]
        if os.geteuid() == 0:
            shutil.copy(c.bin(0), os.path.join(base, "icbu-reflow"))
            for p in [spool] + [os.path.join(spool, n) for n in names]:
                os.chown(p, 65534, 65534)
            r = run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                os.path.join(base, "icbu-reflow")] + argv, timeout=20)
        else:
            r = run(c.bin(0), argv, timeout=20)
        try:
            expect(r.rc == 0 and [(x["file"], x["outcome"], x["spool"]) for x in r.lines()] ==
                   [(names[0], "accepted", "removed"), (names[2], "accepted", "removed")],
                   r.why())
            expect(b"not readable" in r.err and names[1].encode() in r.err,
                   "stderr does not name it: %s" % r.why())
            expect(spool_orders(spool) == [names[1]], "left: %s" % spool_orders(spool))
            expect(not gw.requests("cli-unr-b"), "the unreadable order was sent")
        finally:
            shutil.rmtree(base, ignore_errors=True)
    report("cli/flush: an order file it may not read is left with a warning, and the orders "
           "after it are sent", unreadable)

    def invalid_in_spool(extra):
        spool = c.path("spool-inv" + "".join(extra))
        os.mkdir(spool, 0o700)
        for name, data in (("00000000000000000001-0000000001-0000.json", b'{"amount":1.5}'),
                           ("00000000000000000002-0000000001-0000.json", order_text(None)),
                           ("00000000000000000003-0000000001-0000.json", order_text("cli-inv-ok" + "".join(extra)))):
            with open(os.path.join(spool, name), "wb") as f:
                f.write(data)
        r = c.flush(spool, gw.url("http"), list(extra))
        lines = r.lines()
        expect(r.rc == 0 and [(x["outcome"], x["spool"]) for x in lines] ==
               [("invalid_order", "refused")] * 2 + [("accepted", "removed")], r.why())
        expect("amount" in lines[0]["error"] and "external_biz_id" in lines[1]["error"], r.why())
        expect(len(os.listdir(os.path.join(spool, "refused"))) == 4, "refused/ incomplete")
    report("cli/flush: invalid orders (and no external_biz_id) go to refused/", lambda: invalid_in_spool(()))
    report("cli/flush --retries 0: an order without external_biz_id is refused, not sent",
           lambda: invalid_in_spool(("--retries", "0")))

    def lock():
        spool = c.path("spool-lock")
        os.mkdir(spool, 0o700)
        r = c.send(dead, "-", ["--spool", spool, "--retries", "0"], stdin=order_text("cli-lock"))
        expect(r.rc == 5, r.why())
        fd = os.open(os.path.join(spool, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            r = c.flush(spool, gw.url("http"))
            expect(r.rc == 75 and r.out == b"" and b"another flush" in r.err,
                   "locked: %s" % r.why())
            expect(r.elapsed < 2, "waited %.1f s" % r.elapsed)
            expect(len(spool_orders(spool)) == 1, "the spool changed under the lock")
        finally:
            os.close(fd)
        r = c.flush(spool, gw.url("http"))
        expect(r.rc == 0 and len(r.lines()) == 1, "after unlock: %s" % r.why())
    report("cli/flush: a held lock exits 75 at once, sends nothing", lock)

    def stdio_closed():
        """Run with standard input and output closed, the first files flush opens would
        take their numbers: its lines went into DIR/.lock. They are kept on /dev/null,
        output read-only: writing it fails, as it does into a closed descriptor."""
        spool = c.path("spool-stdio")
        os.mkdir(spool, 0o700)
        for biz in ("cli-stdio-ok", "cli-stdio-refused"):
            r = c.send(dead, "-", ["--spool", spool, "--retries", "0"],
                       stdin=order_text(biz, refuse=biz.endswith("refused")))
            expect(r.rc == 5, r.why())
        r = run("sh", ["-c", 'exec "$0" "$@" 0<&- 1>&-', c.bin(), "flush", "--spool", spool,
                       "--url", gw.url("http")], timeout=20)
        expect(r.rc == 3 and b"cannot write the output" in r.err and spool_orders(spool) == [],
               r.why())
        expect(os.path.getsize(os.path.join(spool, ".lock")) == 0,
               ".lock got: %r" % open(os.path.join(spool, ".lock"), "rb").read()[:200])
        answers = [n for n in os.listdir(os.path.join(spool, "refused")) if n.endswith(".answer.json")]
        expect(len(answers) == 1, "refused/: %s" % os.listdir(os.path.join(spool, "refused")))
        with open(os.path.join(spool, "refused", answers[0]), "rb") as f:
            expect(json.loads(f.read().decode())["outcome"] == "refused", "answer file")
    report("cli/flush with standard input and output closed writes nothing into the spool",
           stdio_closed)

    def temps():
        spool = c.path("spool-tmp")
        os.mkdir(spool, 0o700)                   # a spool is its user's alone (74 otherwise)
        os.mkdir(os.path.join(spool, "refused"), 0o700)
        r = c.send(dead, "-", ["--spool", spool, "--retries", "0"], stdin=order_text("cli-tmp"))
        expect(r.rc == 5, r.why())
        name = spool_orders(spool)[0]
        old = os.path.join(spool, ".%s.4242.tmp" % name.replace("0000.json", "0001.json"))
        new = os.path.join(spool, ".%s.4243.tmp" % name.replace("0000.json", "0002.json"))
        ans = os.path.join(spool, "refused", ".x.json.answer.json.4244.tmp")
        for p in (old, new, ans):
            with open(p, "wb") as f:
                f.write(order_text("cli-tmp-never")[:100])       # half written
        os.utime(old, (time.time() - 3600, time.time() - 3600))
        r = c.flush(spool, gw.url("http"))
        expect(r.rc == 0 and len(r.lines()) == 1, r.why())
        expect(not os.path.exists(old), "stale temporary file not removed")
        expect(not os.path.exists(ans), "answer temporary file of a killed flush not removed")
        expect(os.path.exists(new), "a fresh temporary file (a send writing) was removed")
        expect(not [e for e in gw.accepted() if e["external_biz_id"] == "cli-tmp-never"],
               "a temporary file was sent")
    report("cli/flush ignores temporary files, removes stale ones", temps)

    def usage():
        p = c.write("u.json", order_text("cli-usage"))
        for args in (["flush", "--url", gw.url("http")], ["flush", "--spool", c.tmp, p],
                     ["send", "--retries", "101", p], ["send", "--retries", "-1", p],
                     ["send", "--retries", "x", p], ["sign", "--spool", c.tmp, p],
                     ["send", "--spool", "", p]):
            r = run(c.bin(), args)
            expect(r.rc == 64 and r.out == b"", "%s: %s" % (args, r.why()))
        r = run(c.bin(), ["--help"])
        for word in (b"--retries", b"--spool", b"flush", b"5 spooled", b"75"):
            expect(word in r.out, "--help does not mention %s" % word.decode())
    report("cli/usage: flush, --retries, --spool", usage)


# ------------------------------------------------------------------ resources and signals
def limit(which, n):
    """A preexec hook: the resource limit which (resource.RLIMIT_*) set to n."""
    return lambda: resource.setrlimit(which, (n, n))


def sigpipe_ignored():
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)


FAULT_ERRNOS = (("ENOSPC", b"No space left on device"), ("EDQUOT", b"Disk quota exceeded"),
                ("EFBIG", b"File too large"), ("EROFS", b"Read-only file system"))


def faulted(binary, args, n, errname, log, stdin=None):
    """binary run with tests/fault_shim.c failing its n-th file call with errname: the Run,
    and the call that failed ("openat", "fsync"...; None when n is past the last call)."""
    if os.path.exists(log):
        os.unlink(log)
    r = run(binary, args, stdin=stdin, env_extra={
        "LD_PRELOAD": shim("fault_shim"), "ICBU_SHIM_FAIL": "%d:%s" % (n, errname),
        "ICBU_SHIM_LOG": log})
    with open(log, encoding="ascii") as f:
        failed = [x.split()[1] for x in f.read().split("\n") if x.endswith(" fail")]
    return r, failed[0] if failed else None


def spool_state(spool):
    """name -> where the order is: "spool" (DIR), "refused" (refused/, its answer beside
    it), or "refused without answer"."""
    out = {n: "spool" for n in spool_orders(spool)}
    rdir = os.path.join(spool, "refused")
    for n in (os.listdir(rdir) if os.path.isdir(rdir) else ()):
        if n.endswith(".json") and not n.endswith(".answer.json") and not n.startswith("."):
            answered = os.path.exists(os.path.join(rdir, n + ".answer.json"))
            out[n] = "refused" if answered else "refused without answer"
    return out


def check_flush_lines(r, spool, names):
    """Each line of flush r tells where its order is now: "kept" in DIR, "refused" in
    refused/ with its answer, "removed" in neither. The orders' places (name -> place)."""
    state = spool_state(spool)
    want = {"kept": "spool", "refused": "refused", "removed": None}
    for x in r.lines():
        expect(state.get(x["file"]) == want[x["spool"]], "%s says %s, but it is %s: %s"
               % (x["file"], x["spool"], state.get(x["file"], "gone"), r.why()))
    expect(set(state) <= set(names), "unknown files: %s" % sorted(set(state) - set(names)))
    expect(temp_files(spool) == [], "temporary files left: %s" % temp_files(spool))
    expect(r.rc != 0 or not spool_orders(spool), "exit 0 with orders in DIR: %s" % r.why())
    return state


def res_cases(c):
    gw = c.gw
    dead = "http://127.0.0.1:%d/router/rest" % closed_port()

    def plant(spool, tag, n=3, refuse=(1,)):
        """n orders in spool (made now), the ones at refuse refused by the gateway: their
        name -> external_biz_id."""
        os.mkdir(spool, 0o700)
        out = {}
        for i in range(n):
            name = "%020d-0000000001-0000.json" % (i + 1)
            out[name] = "%s-%d" % (tag, i)
            with open(os.path.join(spool, name), "wb") as f:
                f.write(order_text(out[name], refuse=i in refuse, style=i))
        return out

    def settled(spool, bizs, url):
        """A flush without faults ends what is left; every order then accepted (by biz)
        or in refused/, none lost."""
        r = c.flush(spool, url)
        expect(r.rc == 0, "the next flush: %s" % r.why())
        state = spool_state(spool)
        acc = {e["external_biz_id"] for e in gw.accepted()}
        lost = [n for n, b in bizs.items() if b not in acc and state.get(n) != "refused"]
        expect(not lost, "lost: %s" % lost)

    def fsize_limit():
        """RLIMIT_FSIZE (ulimit -f): a write past it raises SIGXFSZ, which by default ends
        the process at once -- send killed before it said "NOT spooled", flush killed at
        every run on the same refused order. The command ignores it: the write fails with
        EFBIG and the usual messages follow."""
        spool = c.path("spool-fsize")
        os.mkdir(spool, 0o700)
        for size in (0, 1000):
            r = run(c.bin(0), ["send", "--url", dead, "--retries", "0", "--spool", spool, "-"],
                    stdin=order_text("res-fsize-%d" % size), preexec=limit(resource.RLIMIT_FSIZE, size))
            expect(r.rc == 3 and b"NOT spooled: cannot write" in r.err and b"File too large" in r.err,
                   "ulimit -f %d: %s" % (size, r.why()))
            expect(r.json()["stage"] == "connect", r.why())
            expect(spool_orders(spool) == [] and temp_files(spool) == [],
                   "spool holds %s" % os.listdir(spool))
        cache_dir = c.path("cache-fsize")
        os.mkdir(cache_dir, 0o700)
        r = c.send(gw.url("https", "status503"), "-", ["--retries", "0", "--spool", spool,
                   "--session-cache", os.path.join(cache_dir, "cache")],
                   stdin=order_text("res-fsize-cache"))
        expect(r.rc == 5, "without a limit: %s" % r.why())
        os.unlink(os.path.join(spool, spool_orders(spool)[0]))
        r = run(c.bin(0), ["send", "--url", gw.url("https", "status503"), "--ca-file", gw.ca,
                           "--retries", "0", "--spool", spool, "--session-cache",
                           os.path.join(cache_dir, "cache2"), "-"],
                stdin=order_text("res-fsize-cache"), preexec=limit(resource.RLIMIT_FSIZE, 0))
        expect(r.rc == 3 and b"session cache" in r.err and b"NOT spooled" in r.err,
               "the cache file past the limit, then the order: %s" % r.why())
        expect(os.listdir(cache_dir) == ["cache"], "cache dir: %s" % os.listdir(cache_dir))
        fspool = c.path("spool-fsize-flush")
        bizs = plant(fspool, "res-fsize-fl", 2, refuse=(0,))
        for _ in range(2):
            r = run(c.bin(1), ["flush", "--spool", fspool, "--url", gw.url("http")],
                    preexec=limit(resource.RLIMIT_FSIZE, 0))
            expect(r.rc == 74 and b"File too large" in r.err, "flush, ulimit -f 0: %s" % r.why())
            check_flush_lines(r, fspool, bizs)
            expect([x["spool"] for x in r.lines()] == ["kept"], r.why())
        settled(fspool, bizs, gw.url("http"))
    report("res/ulimit -f: send says NOT spooled (not killed by SIGXFSZ); flush keeps the "
           "refused order and exits 74", fsize_limit)

    def send_faults():
        """Every file call of send --spool failing in turn (tests/fault_shim.c) with ENOSPC,
        EDQUOT, EFBIG, EROFS: never exit 5 (spooled) unless the order is durably in DIR;
        otherwise "NOT spooled" and the reason, and no file a flush would send, or only one
        said to be there ("NOT spooled for certain"); never a temporary file left."""
        log = c.path("shim.log")
        data = order_text("res-sendfault", style=1)
        for made in (True, False):
            n = 0
            while True:
                n += 1
                spool = c.path("spool-sf")
                if not made:
                    os.mkdir(spool, 0o700)
                errname, text = FAULT_ERRNOS[n % len(FAULT_ERRNOS)]
                r, call = faulted(c.bin(n), ["send", "--url", dead, "--retries", "0",
                                             "--spool", spool, "-"], n, errname, log, stdin=data)
                what = "%s %s #%d (%s): %s" % ("made" if made else "existing", errname, n, call,
                                              r.why())
                names = spool_orders(spool)
                if call is None:
                    expect(r.rc == 5 and len(names) == 1, what)
                    break
                expect(r.rc == 3 and b"NOT spooled" in r.err and text in r.err, what)
                expect(len(names) == (b"for certain" in r.err), "%s: spool %s" % (what, names))
                for nm in names:
                    with open(os.path.join(spool, nm), "rb") as f:
                        expect(f.read() == data, "%s: not the order byte for byte" % what)
                expect(temp_files(spool) == [], "%s: %s" % (what, temp_files(spool)))
                expect(n < 30, "more than 30 file calls")
    report("res/send --spool: each file call failing in turn (ENOSPC, EDQUOT, EFBIG, EROFS): "
           "spooled durably, or NOT spooled said", send_faults)

    def zero_writes():
        """A file system whose write() takes nothing and says no error (returns 0; a FUSE
        file system may): send --spool and --session-cache end, with "NOT spooled" and a
        warning, rather than write for ever; no temporary file left."""
        spool = c.path("spool-zero")
        os.mkdir(spool, 0o700)
        cache = os.path.join(c.path("cache-zero"), "session")
        os.mkdir(os.path.dirname(cache), 0o700)
        shim_env = {"LD_PRELOAD": shim("fault_shim"), "ICBU_SHIM_WRITE_ZERO": "1"}
        r = run(c.bin(0), ["send", "--url", dead, "--retries", "0", "--spool", spool, "-"],
                stdin=order_text("res-zero-1"), env_extra=shim_env, timeout=20)
        expect(r.rc == 3 and b"NOT spooled" in r.err and b"Input/output error" in r.err,
               "send --spool: " + r.why())
        r = run(c.bin(0), ["send", "--url", gw.url("https", "status503"), "--ca-file", gw.ca,
                           "--retries", "0", "--session-cache", cache, "--spool", spool, "-"],
                stdin=order_text("res-zero-2"), env_extra=shim_env, timeout=20)
        expect(r.rc == 3 and b"NOT spooled" in r.err and b"session" in r.err,
               "send --session-cache: " + r.why())
        expect(spool_orders(spool) == [] and temp_files(spool) == [],
               "spool: %s %s" % (spool_orders(spool), temp_files(spool)))
    report("res/write() that returns 0: NOT spooled, a warning for the cache; no endless loop",
           zero_writes)

    def cache_faults():
        """The --session-cache file's calls failing in turn (they come first): a warning,
        and the order is still spooled."""
        log = c.path("shim.log")
        cache_dir = c.path("cache-faults")
        os.mkdir(cache_dir, 0o700)
        spool = c.path("spool-cf")
        os.mkdir(spool, 0o700)
        for n in range(1, 5):
            errname, text = FAULT_ERRNOS[n % len(FAULT_ERRNOS)]
            r, call = faulted(c.bin(n), ["send", "--url", gw.url("https", "status503"),
                                         "--ca-file", gw.ca, "--retries", "0", "--spool", spool,
                                         "--session-cache", os.path.join(cache_dir, "cache"), "-"],
                              n, errname, log, stdin=order_text("res-cachefault-%d" % n))
            expect(call in ("open", "write", "fsync", "rename") and r.rc == 5 and
                   b"warning: session cache" in r.err and text in r.err and
                   len(spool_orders(spool)) == n, "#%d (%s): %s" % (n, call, r.why()))
            expect(os.listdir(cache_dir) == [], "cache dir: %s" % os.listdir(cache_dir))
    report("res/send --session-cache: the cache file's calls failing in turn: a warning, the "
           "order spooled", cache_faults)

    def flush_faults():
        """Every file call of flush failing in turn over [accepted, refused, accepted]: each
        line says where its order is ("kept" in DIR, "refused" in refused/ with its answer,
        "removed" gone), exit 0 only with DIR empty, no temporary file left; the next flush
        settles the rest, nothing lost."""
        log = c.path("shim.log")
        n = 0
        while True:
            n += 1
            spool = c.path("spool-ff")
            bizs = plant(spool, "res-ff-%d" % n)
            errname, text = FAULT_ERRNOS[n % len(FAULT_ERRNOS)]
            r, call = faulted(c.bin(n), ["flush", "--spool", spool, "--url", gw.url("http")],
                              n, errname, log)
            what = "%s #%d (%s)" % (errname, n, call)
            try:
                check_flush_lines(r, spool, bizs)
            except Fail as e:
                raise Fail("%s: %s" % (what, e))
            expect(r.rc in (0, 74), "%s: %s" % (what, r.why()))
            expect(r.rc == 0 or text in r.err, "%s: the reason is not said: %s" % (what, r.why()))
            settled(spool, bizs, gw.url("http"))
            if call is None:
                expect(r.rc == 0, r.why())
                break
            expect(n < 40, "more than 40 file calls")
    report("res/flush: each file call failing in turn: every line tells where its order is; "
           "nothing lost", flush_faults)

    def nofile():
        """RLIMIT_NOFILE from 4 (the dynamic loader needs one) to 11: a clear failure,
        nothing lost, and never "settings error": a CA file that cannot be opened for want
        of descriptors is no fault of --ca-file."""
        spool = c.path("spool-nofile")
        os.mkdir(spool, 0o700)
        for n in range(4, 12):
            before = spool_orders(spool)
            for url in (dead, gw.url("https", "status503")):
                r = run(c.bin(n), ["send", "--url", url, "--ca-file", gw.ca, "--retries", "0",
                                   "--spool", spool, "-"], stdin=order_text("res-nofile-%d" % n),
                        preexec=limit(resource.RLIMIT_NOFILE, n))
                what = "send, %d descriptors: %s" % (n, r.why())
                added = len(spool_orders(spool)) - len(before)
                expect(b"settings error" not in r.err and r.rc in (3, 5), what)
                expect(added == (r.rc == 5) and (r.rc == 5 or b"NOT spooled" in r.err), what)
                before = spool_orders(spool)
            fspool = c.path("spool-nofile-fl")
            bizs = plant(fspool, "res-nofile-fl-%d" % n)
            r = run(c.bin(n), ["flush", "--spool", fspool, "--url", gw.url("https"),
                               "--ca-file", gw.ca], preexec=limit(resource.RLIMIT_NOFILE, n))
            what = "flush, %d descriptors: %s" % (n, r.why())
            expect(b"settings error" not in r.err and r.rc in (0, 5, 74), what)
            check_flush_lines(r, fspool, bizs)
            settled(fspool, bizs, gw.url("http"))
    report("res/ulimit -n 4..11: clear failures, nothing lost, no settings error", nofile)

    def sigpipe():
        """flush | head -1: the reader leaves after the first line. The next line's write
        raises SIGPIPE, which ends flush after the order it settled: nothing lost or sent
        twice. With SIGPIPE ignored, flush goes on, and exits 3 saying why (EPIPE)."""
        for ignored in (False, True):
            spool = c.path("spool-pipe")
            bizs = plant(spool, "res-pipe-%d" % ignored, 2, refuse=())
            p = subprocess.Popen([c.bin(ignored), "flush", "--spool", spool, "--url",
                                  gw.url("http", "slow")], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env(),
                                 preexec_fn=sigpipe_ignored if ignored else None)
            first = p.stdout.readline()
            p.stdout.close()
            err = p.stderr.read()
            rc = p.wait(60)
            check_secret(first, err)
            why = "rc=%s err=%s" % (rc, clip(err))
            expect(json.loads(first.decode())["spool"] == "removed", why)
            if ignored:
                expect(rc == 3 and b"cannot write the output: Broken pipe" in err, why)
                expect(spool_orders(spool) == [], "orders left: %s" % spool_orders(spool))
            else:
                expect(rc == -signal.SIGPIPE and err == b"", why)
                expect(len(spool_orders(spool)) <= 1, "left: %s" % spool_orders(spool))
            acc = [e["external_biz_id"] for e in gw.accepted("res-pipe-%d" % ignored)]
            expect(len(acc) == len(set(acc)) == len(bizs) - len(spool_orders(spool)),
                   "accepted %s, left %s" % (acc, spool_orders(spool)))
            settled(spool, bizs, gw.url("http"))
    report("res/flush | head -1: SIGPIPE ends flush after a settled order (ignored: exit 3, "
           "EPIPE said); nothing lost", sigpipe)

    def signals():
        """SIGTERM, SIGINT and SIGHUP end flush at once, as SIGKILL does: the command
        installs no handler (so no system call of its own sees EINTR), the lock dies with
        it, each line printed tells the truth, and the order in flight may be sent again
        (same external_biz_id), nothing else."""
        rng = random.Random("%d:signals" % c.seed)
        spool = c.path("spool-sig")
        bizs = plant(spool, "res-sig-%d" % c.seed, 8, refuse=(3,))
        in_flight = {}
        for k, sig in enumerate((signal.SIGTERM, signal.SIGINT, signal.SIGHUP) * 2):
            before = spool_orders(spool)
            p = subprocess.Popen([c.bin(k), "flush", "--spool", spool, "--url",
                                  gw.url("http", "slow")], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env())
            time.sleep(rng.uniform(0.1, 0.8))
            try:
                with open("/proc/%d/status" % p.pid, encoding="ascii") as f:
                    caught = [int(x.split()[1], 16) for x in f.read().split("\n")
                              if x.startswith("SigCgt:")]
                mine = [s.name for s in (signal.SIGHUP, signal.SIGINT, signal.SIGPIPE,
                                         signal.SIGALRM, signal.SIGTERM, signal.SIGCHLD,
                                         signal.SIGUSR1, signal.SIGUSR2)
                        if caught and caught[0] >> (s - 1) & 1]
                expect(not mine, "handlers for %s" % mine)      # (ASan's own: SEGV, BUS, FPE)
            except FileNotFoundError:
                pass
            p.send_signal(sig)
            out, err = p.communicate(timeout=60)
            check_secret(out, err)
            r = Run([], p.returncode, out, err, 0)
            expect(r.rc in (-sig, 0), "%s: %s" % (sig.name, r.why()))
            check_flush_lines(r, spool, bizs)
            handled = [x["file"] for x in r.lines()]
            rest = before[len(handled):]
            if r.rc != 0 and rest:
                in_flight[bizs[rest[0]]] = in_flight.get(bizs[rest[0]], 0) + 1
            if not spool_orders(spool):
                break
        settled(spool, bizs, gw.url("http"))
        acc = {}
        for e in gw.accepted("res-sig-%d" % c.seed):
            acc[e["external_biz_id"]] = acc.get(e["external_biz_id"], 0) + 1
        bad = ["%s: %d" % (b, k) for b, k in acc.items() if k > 1 + in_flight.get(b, 0)]
        expect(not bad, "accepted more often than a kill in flight allows: %s" % bad)
    report("res/SIGTERM, SIGINT, SIGHUP end flush as SIGKILL does: nothing lost, the lock "
           "free, no handler", signals)


# ------------------------------------------------------------------ stress
def stress(c):
    gw = c.gw
    spool = c.path("spool-stress")
    rng = random.Random("%d:stress" % c.seed)
    n = c.orders
    refuse = set(rng.sample(range(n), max(2, n // 50)))
    jobs = []
    for i in range(n):
        biz = "st-%d-%04d" % (c.seed, i)
        scheme = ("http", "https")[i % 2]
        jobs.append((i, biz, scheme, c.bin(i // 2), i in refuse, order_text(biz, i in refuse, i)))
    results = {}

    def one(job):
        i, biz, scheme, binary, ref, data = job
        r = c.send(gw.url(scheme, "random"), "-", ["--retries", "3", "--spool", spool,
                                                    "--timeout", str(TIMEOUT_MS)],
                   binary=binary, stdin=data, timeout=60)
        return biz, r
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=c.jobs) as pool:
        for biz, r in pool.map(one, jobs):
            results[biz] = r
    send_time = time.monotonic() - t0
    by_biz = {j[1]: j for j in jobs}
    counts = {}
    spooled = set()

    def outcomes():
        bad = []
        for biz, r in results.items():
            _, _, _, _, ref, _ = by_biz[biz]
            counts[r.rc] = counts.get(r.rc, 0) + 1
            try:
                j = r.json()
            except Fail as e:
                bad.append("%s: %s" % (biz, e))
                continue
            a = attempts_of(r)
            if not 1 <= a <= 4 or "attempts" in j:
                bad.append("%s: attempts %r (stdout must keep the contract's fields)" % (biz, a))
            if r.rc == 0:
                if ref or j != dict(j, outcome="accepted", insure_id="INS-" + biz):
                    bad.append("%s: %s" % (biz, r.why()))
            elif r.rc == 1:
                if not ref or j["outcome"] != "refused":
                    bad.append("%s: refused: %s" % (biz, r.why()))
            elif r.rc == 5:
                spooled.add(biz)
                if j["outcome"] not in ("transport_error", "platform_error"):
                    bad.append("%s: spooled after %s" % (biz, r.why()))
            else:
                bad.append("%s: exit %s: %s" % (biz, r.rc, r.why()))
        expect(not bad, "%d bad: %s" % (len(bad), "; ".join(bad[:5])))
        expect(counts.get(0, 0) > n // 2, "too few accepted: %s" % counts)
        retried = sum(1 for r in results.values() if r.rc == 0 and attempts_of(r) > 1)
        expect(retried >= 10, "only %d orders were accepted after a retry" % retried)
        print("# stress: %d orders in %.1f s, exits %s, %d accepted after a retry"
              % (n, send_time, dict(sorted(counts.items())), retried), flush=True)
    report("stress/%d orders: every send ends accepted (0), refused (1) or spooled (5)" % n,
           outcomes)

    def fault_rate():
        f = [x for x in gw.faults() if x["mode"] == "random"]
        hit = sum(1 for x in f if x["fault"])
        kinds = {}
        for x in f:
            kinds[x["fault"] or "none"] = kinds.get(x["fault"] or "none", 0) + 1
        print("# stress: %d requests, %.0f%% faulted: %s" % (len(f), 100.0 * hit / max(1, len(f)),
                                                           dict(sorted(kinds.items()))), flush=True)
        expect(len(f) >= n and hit >= 0.28 * len(f), "fault rate %d/%d" % (hit, len(f)))
        expect(all(kinds.get(k, 0) > 0 for k in ("reset-before", "reset", "status503", "isp",
                                                  "code7", "stall", "truncated")),
               "some fault never happened: %s" % kinds)
    report("stress/the gateway faulted at least 28% of the requests, every kind", fault_rate)

    def spool_matches():
        names = spool_orders(spool)
        expect(len(names) == len(spooled), "%d files, %d sends exited 5" % (len(names), len(spooled)))
        got = {}
        for nm in names:
            expect(SPOOL_NAME.match(nm), "bad spool name %s" % nm)
            with open(os.path.join(spool, nm), "rb") as f:
                data = f.read()
            biz = json.loads(data.decode("utf-8"))["external_biz_id"]
            expect(data == by_biz[biz][5], "%s: not the order byte for byte" % nm)
            got[biz] = nm
        expect(set(got) == spooled, "spooled ids differ")
        expect(temp_files(spool) == [], "temporary files: %s" % temp_files(spool))
    report("stress/the spool holds exactly the orders that exited 5, byte for byte", spool_matches)

    def flush_all():
        if not os.path.isdir(spool):
            return
        for k in range(5):
            r = c.flush(spool, gw.url(("http", "https")[k % 2]), binary=c.bin(k), timeout=120)
            lines = r.lines()
            expect(r.rc in (0, 5), "flush: %s" % r.why())
            expect(all(x["spool"] in ("removed", "refused") for x in lines) or r.rc == 5,
                   r.why())
            if r.rc == 0:
                break
        expect(r.rc == 0 and spool_orders(spool) == [], "spool not empty: %s" % r.why())
        refused_dir = os.path.join(spool, "refused")
        ref_spooled = {by_biz[b][1] for b in spooled if by_biz[b][4]}
        got = set()
        if os.path.isdir(refused_dir):
            for nm in os.listdir(refused_dir):
                if nm.endswith(".answer.json"):
                    with open(os.path.join(refused_dir, nm), encoding="utf-8") as f:
                        expect(json.loads(f.read())["outcome"] == "refused", nm)
                else:
                    got.add(biz_of_file(os.path.join(refused_dir, nm)))
        expect(got == ref_spooled, "refused/ holds %s, expected %s" % (sorted(got),
                                                                      sorted(ref_spooled)))
        expect(temp_files(spool) == [], "temporary files: %s" % temp_files(spool))
    report("stress/flush without faults empties the spool; refusals in refused/", flush_all)

    def none_lost():
        acc = {}
        for e in gw.accepted("st-%d-" % c.seed):
            acc.setdefault(e["external_biz_id"], []).append(e)
        want = {j[1] for j in jobs if not j[4]}
        missing = sorted(want - set(acc))
        expect(not missing, "%d orders never accepted: %s" % (len(missing), missing[:10]))
        extra = sorted(set(acc) - want)
        expect(not extra, "refused orders accepted: %s" % extra[:10])
        dup_bad = resend_violations(acc)
        dups = sum(1 for es in acc.values() if len(es) > 1)
        print("# stress: %d orders accepted, %d of them more than once (each after a lost "
              "answer)" % (len(acc), dups), flush=True)
        expect(not dup_bad, "re-sent after an answer that was delivered: %s" % dup_bad[:5])
    report("stress/every order accepted at least once; again only after a lost answer",
           none_lost)

    def oracle():
        biz = "st-%d-oracle" % c.seed
        p = c.write("oracle.json", order_text(biz))
        for _ in range(2):
            r = c.send(gw.url("http"), p)
            expect(r.rc == 0, r.why())
        acc = {biz: gw.accepted(biz)}
        expect(len(acc[biz]) == 2 and resend_violations(acc),
               "a re-send after a delivered answer went unnoticed: %s" % acc)
    report("stress/the check catches an order sent again after a delivered answer", oracle)


# ------------------------------------------------------------------ kill
def kill_test(c):
    gw = c.gw
    rng = random.Random("%d:kill" % c.seed)
    spool = c.path("spool-kill")
    dead = "http://127.0.0.1:%d/router/rest" % closed_port()
    n = 50
    refuse = {7, 31}
    bizs = ["kl-%d-%02d" % (c.seed, i) for i in range(n)]

    def fill():
        def one(i):
            return c.send(dead, "-", ["--spool", spool, "--retries", "0"], binary=c.bin(i),
                          stdin=order_text(bizs[i], i in refuse, i))
        with concurrent.futures.ThreadPoolExecutor(max_workers=c.jobs) as pool:
            rs = list(pool.map(one, range(n)))
        bad = [r.why() for r in rs if r.rc != 5]
        expect(not bad, "not spooled: %s" % bad[:3])
        expect(len(spool_orders(spool)) == n, "spool holds %d" % len(spool_orders(spool)))
    report("kill/%d orders spooled while the gateway is down (exit 5)" % n, fill)
    if len(spool_orders(spool)) != n:
        return

    url = gw.url("https", "random-slow")
    file_biz = {nm: biz_of_file(os.path.join(spool, nm)) for nm in spool_orders(spool)}
    rounds = []          # (killed, in_flight_biz or None)
    kills = [0]

    def killed_rounds():
        k = 0
        while kills[0] < 12 and spool_orders(spool) and k < 60:
            k += 1
            before = spool_queue(spool)
            delay = rng.uniform(0.0, 0.9)
            args = ["flush", "--spool", spool, "--url", url, "--ca-file", gw.ca,
                    "--timeout", "3000", "--retries", "3"]
            p = subprocess.Popen([c.bin(k)] + args, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=env())
            try:
                p.wait(delay)
                killed = False
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                killed = True
            out, err = p.communicate()
            check_secret(out, err)
            if killed:
                kills[0] += 1
            else:
                expect(p.returncode in (0, 5), "flush exit %s: %s" % (p.returncode, clip(err)))
            done = [json.loads(x) for x in out.decode("utf-8").splitlines()
                    if x.endswith("}")]
            # A line per order, in the spool's order (oldest first, the orders set aside
            # last): a "kept" one too, as flush goes on past it.
            handled = [x["file"] for x in done]
            expect(handled == before[:len(handled)], "not in the spool's order: %s, listed %s"
                   % (handled, before[:len(handled) + 1]))
            for x in done:
                exists = os.path.exists(os.path.join(spool, x["file"]))
                expect(exists == (x["spool"] == "kept"), "%s %s but exists=%s"
                       % (x["file"], x["spool"], exists))
            rest = before[len(handled):]
            rounds.append((killed, file_biz[rest[0]] if killed and rest else None))
        expect(kills[0] >= 10, "only %d kills" % kills[0])
        print("# kill: %d flush runs, %d killed with SIGKILL, %d orders left"
              % (len(rounds), kills[0], len(spool_orders(spool))), flush=True)
    report("kill/flush killed with SIGKILL at random points (at least 10 kills)", killed_rounds)

    def complete():
        for k in range(20):
            r = c.flush(spool, url, ["--timeout", "3000"], binary=c.bin(k), timeout=180)
            expect(r.rc in (0, 5), "flush: %s" % r.why())
            r.lines()
            if r.rc == 0:
                break
        expect(r.rc == 0 and spool_orders(spool) == [], "spool not empty: %s" % r.why())
        expect(temp_files(spool) == [], "temporary files left: %s" % temp_files(spool))
    report("kill/restarted flush runs to completion; no temporary files left", complete)

    def nothing_lost():
        acc = {}
        for e in gw.accepted("kl-%d-" % c.seed):
            acc.setdefault(e["external_biz_id"], []).append(e)
        refused_dir = os.path.join(spool, "refused")
        refused = set()
        if os.path.isdir(refused_dir):
            for nm in os.listdir(refused_dir):
                if not nm.endswith(".answer.json"):
                    refused.add(biz_of_file(os.path.join(refused_dir, nm)))
                    expect(os.path.exists(os.path.join(refused_dir, nm + ".answer.json")),
                           "%s has no answer beside it" % nm)
        want_refused = {bizs[i] for i in refuse}
        expect(refused == want_refused, "refused/ holds %s" % sorted(refused))
        missing = [b for b in bizs if b not in acc and b not in refused]
        expect(not missing, "lost: %s" % missing)
        expect(not (set(acc) & want_refused), "refused orders accepted")
        in_flight = {}
        for killed, biz in rounds:
            if killed and biz:
                in_flight[biz] = in_flight.get(biz, 0) + 1
        bad = []
        dups = by_kill = 0
        for biz, es in acc.items():
            lost = sum(1 for e in es if e.get("lost"))
            allowed = 1 + lost + in_flight.get(biz, 0)
            dups += len(es) > 1
            by_kill += max(0, len(es) - 1 - lost)
            if len(es) > allowed:
                bad.append("%s accepted %d times, %d allowed" % (biz, len(es), allowed))
        print("# kill: %d orders accepted, %d more than once (%d extra acceptances of an order "
              "in flight at a kill)" % (len(acc), dups, by_kill), flush=True)
        expect(not bad, "; ".join(bad[:5]))
    report("kill/nothing lost; sent again only after a lost answer or a kill in flight",
           nothing_lost)


# ------------------------------------------------------------------ lock
def lock_test(c):
    gw = c.gw
    spool = c.path("spool-conc")
    dead = "http://127.0.0.1:%d/router/rest" % closed_port()
    n = 40
    bizs = ["cc-%d-%02d" % (c.seed, i) for i in range(n)]
    stats = {"75": 0, "runs": 0}

    def fill():
        def one(i):
            return c.send(dead, "-", ["--spool", spool, "--retries", "0"], binary=c.bin(i),
                          stdin=order_text(bizs[i], style=i))
        with concurrent.futures.ThreadPoolExecutor(max_workers=c.jobs) as pool:
            rs = list(pool.map(one, range(n)))
        expect(all(r.rc == 5 for r in rs), "not spooled")
    report("lock/%d orders spooled" % n, fill)

    def concurrent_flushes():
        lock = threading.Lock()
        start = threading.Event()
        errors = []

        def loop(k):
            start.wait()
            for _ in range(3000):
                r = c.flush(spool, gw.url(("http", "https")[k % 2]), binary=c.bin(k))
                with lock:
                    stats["runs"] += 1
                    stats["75"] += r.rc == 75
                if r.rc == 0:
                    return
                if r.rc != 75:
                    errors.append(r.why())
                    return
                time.sleep(0.02)
            errors.append("flush loop %d never finished" % k)
        ts = [threading.Thread(target=loop, args=(k,)) for k in range(4)]
        for t in ts:
            t.start()
        start.set()
        for t in ts:
            t.join()
        expect(not errors, "; ".join(errors[:3]))
        expect(spool_orders(spool) == [], "spool not empty")
        acc = {}
        for e in gw.accepted("cc-%d-" % c.seed):
            acc[e["external_biz_id"]] = acc.get(e["external_biz_id"], 0) + 1
        twice = sorted(b for b, k in acc.items() if k > 1)
        expect(not twice, "sent twice: %s" % twice)
        expect(sorted(acc) == sorted(bizs), "missing: %s" % sorted(set(bizs) - set(acc)))
        expect(stats["75"] > 0, "no flush ever found the lock held (%d runs)" % stats["runs"])
        print("# lock: %d flush runs, %d found the spool locked (exit 75)"
              % (stats["runs"], stats["75"]), flush=True)
    report("lock/four flushes at once: each order accepted exactly once", concurrent_flushes)


def main():
    global ONLY
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build")
    ap.add_argument("--seed", type=int, default=20260601)
    ap.add_argument("--orders", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=12)
    ap.add_argument("--only", default=None)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    ONLY = a.only
    bindir = a.bin if os.path.isabs(a.bin) else os.path.join(ROOT, a.bin)
    bins = [(t, os.path.join(bindir, "icbu-reflow-" + t)) for t in ("mbedtls", "bearssl")]
    bins = [(t, b) for t, b in bins if os.access(b, os.X_OK)]
    if not bins and os.access(os.path.join(bindir, "icbu-reflow"), os.X_OK):
        bins = [("plain", os.path.join(bindir, "icbu-reflow"))]
    if not bins:
        print("not ok - binaries exist in %s\n0 passed, 1 failed" % bindir)
        return 1
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="icbu-rel-")
    gw = Gateway(tmp, a.seed)
    c = Ctx(gw, tmp, bins, a.seed, a.orders, a.jobs)
    try:
        for section, fn in (("cli/", cli_cases), ("res/", res_cases), ("stress/", stress),
                            ("kill/", kill_test),
                            ("lock/", lock_test)):
            if not ONLY or ONLY.startswith(section) or section.startswith(ONLY) or \
                    any(ch in ONLY for ch in "*?["):
                fn(c)
    finally:
        gw.stop()
    with open(gw.log.name, "rb") as f:
        leaked = SECRET.encode("utf-8") in f.read()
    report("gateway/never prints the secret", lambda: expect(not leaked, "found in the log"))
    return gateway_proc.finish(RESULTS, t0, "seed %d, binaries: %s" % (
        a.seed, ", ".join(b for _, b in bins)), tmp, a.keep)


if __name__ == "__main__":
    sys.exit(main())
