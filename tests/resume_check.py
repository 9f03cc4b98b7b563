#!/usr/bin/env python3
"""What a TLS session may be resumed with, through icbu-reflow's --session-cache FILE,
against tools/top_gateway.py (tests/keepalive.py has the rest: resumption within a flush,
the cache resumed by send and flush, its permission rules).

    python3 tests/resume_check.py [--bin DIR] [--only PATTERN] [--keep]

For each of icbu-reflow-{mbedtls,psa,bearssl} found in DIR (default build), over https (TLS
1.3 where the TLS library has it, else 1.2) and https12 (the gateway's TLS-1.2-only
listener); the gateway's connections.jsonl says which handshakes resumed:
  resume/...   send with a new FILE: a full handshake, FILE made 0600 with the format's
               header (this TLS library and version, host, port), no temporary file left,
               not the app secret; the next sends resume from it. A session saved for
               localhost is not offered to 127.0.0.1 (the same server and certificate: a
               warning, a full handshake); a CA file of other content gets a full handshake.
  ignored/...  FILE garbage, empty, cut short, for another host, port or TLS library,
               expired, saved in the future, unreadable (not as root): a warning naming why
               on stderr, a full handshake, exit 0, and FILE then holds a session that the
               next send resumes.
  misc/...     --session-cache with http:// (FILE untouched), with sign and parse (exit 64),
               in a directory that does not exist (a warning, exit 0).
Prints `ok - name` / `not ok - name: why`, then `N passed, N failed`; exits 1 on failure.
"""
import argparse
import os
import re
import stat
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gateway_proc      # noqa: E402  tests/gateway_proc.py: the gateway as a child process
import reliability       # noqa: E402  tests/reliability.py: the CLI runner and orders

Fail, expect = gateway_proc.Fail, gateway_proc.expect
BINARIES = ("mbedtls", "psa", "bearssl")


class Ctx:
    def __init__(self, gw, tmp, binary):
        self.gw, self.tmp, self.binary = gw, tmp, binary
        self.n = 0
        ver = reliability.run(binary, ["--version"]).out.decode()
        m = re.search(r"\(TLS: ([^;]+);", ver)
        self.tls_name = m.group(1) if m else "?"

    def order(self):
        self.n += 1
        biz = "rc-%s-%d-%d" % (os.path.basename(self.binary), os.getpid(), self.n)
        path = os.path.join(self.tmp, biz + ".json")
        with open(path, "wb") as f:
            f.write(reliability.order_text(biz))
        return biz, path

    def url(self, scheme, host="127.0.0.1"):
        return self.gw.url(scheme).replace("127.0.0.1", host)

    def send(self, scheme, cache, host="127.0.0.1", ca=None, expect_rc=0):
        """send one order; (run, the gateway's connection of it or None)."""
        biz, path = self.order()
        args = ["send", "--url", self.url(scheme, host), "--ca-file", ca or self.gw.ca,
                "--retries", "0"]
        if cache is not None:
            args += ["--session-cache", cache]
        r = reliability.run(self.binary, args + [path], timeout=30)
        expect(r.rc == expect_rc, "exit %d, not %d: %s" % (r.rc, expect_rc, r.why()))
        reqs = self.gw.requests(biz)
        conn = self.gw.connections().get(reqs[0]["conn"]) if reqs else None
        if expect_rc == 0:
            expect(conn is not None, "the gateway saw no request: %s" % r.why())
        return r, conn


def resumed(conn):
    return bool(conn and conn.get("resumed"))


def stat_of(path):
    st = os.lstat(path)
    return (st.st_mode, st.st_size, st.st_mtime_ns)


def check_file(c, path, scheme):
    st = os.lstat(path)
    expect(stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and
           st.st_uid == os.geteuid(), "FILE is not a 0600 regular file of ours: %o" % st.st_mode)
    with open(path, "rb") as f:
        data = f.read()
    head = data.split(b"\n\n", 1)[0].decode("ascii", "replace").split("\n")
    port = c.gw.https12 if scheme == "https12" else c.gw.https
    want = ["icbu-tls-session 1", "tls " + c.tls_name, "host 127.0.0.1", "port %d" % port]
    expect(head[:4] == want, "FILE's header %r, not %r" % (head[:4], want))
    expect(reliability.SECRET.encode() not in data, "the app secret is in FILE")
    d = os.path.dirname(path)
    left = [n for n in os.listdir(d) if n.endswith(".tmp")]
    expect(not left, "temporary files left: %s" % left)
    return data


# ------------------------------------------------------------------ cases
def resume_cases(c, scheme, add):
    def sends():
        cache = os.path.join(c.tmp, "c-%s-sends" % scheme)
        _, conn = c.send(scheme, cache)
        expect(not resumed(conn), "the first handshake resumed, with no FILE")
        check_file(c, cache, scheme)
        for i in range(2):
            _, conn = c.send(scheme, cache)
            expect(resumed(conn), "send %d did not resume from FILE (%s)" % (i + 2, conn))
        check_file(c, cache, scheme)
    add("resume/%s/send resumes from FILE" % scheme, sends)

    def other_host():
        cache = os.path.join(c.tmp, "c-%s-host" % scheme)
        c.send(scheme, cache, host="localhost")
        _, conn = c.send(scheme, cache, host="localhost")
        expect(resumed(conn), "localhost did not resume its own session")
        r, conn = c.send(scheme, cache)
        expect(not resumed(conn), "a session of localhost resumed with 127.0.0.1")
        expect(b"saved for another host" in r.err, "no warning: %s" % r.why())
    add("resume/%s/a session for localhost is not offered to 127.0.0.1" % scheme, other_host)

    def age_kept():
        # A resumed handshake checks no certificate: the session it resumes (and a TLS 1.3
        # ticket that comes with it) is as old as the full handshake that checked one, so a
        # FILE used every day cannot keep a session verified long ago past the age limit.
        cache = os.path.join(c.tmp, "c-%s-age" % scheme)
        c.send(scheme, cache)
        old = int(time.time()) - 86000
        with open(cache, "rb") as f:
            data = re.sub(rb"\nsaved \d+\n", b"\nsaved %d\n" % old, f.read())
        with open(cache, "wb") as f:
            f.write(data)
        _, conn = c.send(scheme, cache)
        expect(resumed(conn), "the session 86,000 s old did not resume (%s)" % conn)
        saved = re.search(rb"\nsaved (\d+)\n", check_file(c, cache, scheme))
        expect(saved is not None and int(saved.group(1)) == old,
               "saved is %s after a resumption, not %d: the age started again"
               % (saved and saved.group(1), old))
    add("resume/%s/a resumption keeps the session's age" % scheme, age_kept)

    def other_ca():
        cache = os.path.join(c.tmp, "c-%s-ca" % scheme)
        ca2 = os.path.join(c.tmp, "ca-%s-copy.pem" % scheme)
        with open(c.gw.ca, "rb") as f, open(ca2, "wb") as g:
            g.write(f.read() + b"\n")              # the same trust, other bytes
        c.send(scheme, cache)
        _, conn = c.send(scheme, cache, ca=ca2)
        expect(not resumed(conn), "a session made with another CA file resumed")
        _, conn = c.send(scheme, cache, ca=ca2)
        expect(resumed(conn), "the session made with the new CA file did not resume")
    add("resume/%s/a CA file of other content gets a full handshake" % scheme, other_ca)


def ignored_cases(c, add):
    good_path = os.path.join(c.tmp, "i-good")
    c.send("https", good_path)
    with open(good_path, "rb") as f:
        good = f.read()
    now = int(time.time())
    variants = [
        ("garbage", b"not a session\n", "not a saved TLS session"),
        ("empty", b"", "not a saved TLS session"),
        ("cut short", good[:-7], "its length is wrong"),
        ("another host", good.replace(b"\nhost 127.0.0.1\n", b"\nhost localhost\n"), "another host"),
        ("another port", re.sub(rb"\nport \d+\n", b"\nport 1\n", good), "another port"),
        ("another TLS library", re.sub(rb"\ntls [^\n]+\n", b"\ntls OtherTLS 9.9\n", good),
         "another TLS library"),
        ("expired", re.sub(rb"\nsaved \d+\n", b"\nsaved %d\n" % (now - 90000), good), "expired"),
        ("saved in the future", re.sub(rb"\nsaved \d+\n", b"\nsaved %d\n" % (now + 9000), good),
         "in the future"),
    ]
    for name, data, warning in variants:
        def case(data=data, warning=warning, name=name):
            path = os.path.join(c.tmp, "i-" + name.replace(" ", "-"))
            with open(path, "wb") as f:
                f.write(data)
            os.chmod(path, 0o600)
            r, conn = c.send("https", path)
            expect(not resumed(conn), "resumed")
            expect(b"warning: session cache" in r.err and warning.encode() in r.err,
                   "no warning naming %r: %s" % (warning, r.why()))
            check_file(c, path, "https")
            _, conn = c.send("https", path)
            expect(resumed(conn), "the session written after it did not resume")
        add("ignored/%s: a warning, a full handshake, then a good FILE" % name, case)

    if os.geteuid() != 0:
        def unreadable():
            path = os.path.join(c.tmp, "i-unreadable")
            with open(path, "wb") as f:
                f.write(good)
            os.chmod(path, 0o200)
            r, conn = c.send("https", path)
            expect(not resumed(conn) and b"warning: session cache" in r.err, r.why())
        add("ignored/unreadable: a warning and a full handshake", unreadable)


def misc_cases(c, add):
    def http():
        path = os.path.join(c.tmp, "m-http")
        c.send("https", path)
        before = stat_of(path)
        c.send("http", path)
        expect(stat_of(path) == before, "FILE changed by an http:// send")
    add("misc/http:// leaves FILE as it was", http)

    def other_commands():
        _, order = c.order()
        for cmd in (["sign", order], ["parse", order]):
            r = reliability.run(c.binary, [cmd[0], "--session-cache", os.path.join(c.tmp, "x"),
                                           cmd[1]])
            expect(r.rc == 64 and b"--session-cache is for send and flush" in r.err,
                   "%s: %s" % (cmd[0], r.why()))
        r = reliability.run(c.binary, ["send", "--session-cache=", order])
        expect(r.rc == 64, "an empty --session-cache: %s" % r.why())
    add("misc/sign, parse and an empty FILE name: exit 64", other_commands)

    def no_directory():
        path = os.path.join(c.tmp, "no-such-dir", "cache")
        r, conn = c.send("https", path)
        expect(b"warning: session cache" in r.err and b"not written" in r.err, r.why())
        expect(not os.path.exists(path), "FILE made")
    add("misc/FILE in a missing directory: a warning, exit 0", no_directory)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build")
    ap.add_argument("--only")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="icbu-resume-check-")
    os.chmod(tmp, 0o700)
    gw = gateway_proc.Gateway(tmp, reliability.APP_KEY, reliability.env(),
                              ["--tls12-port", "0", "--quiet"])
    results, t0, found = [], time.monotonic(), []
    try:
        for b in BINARIES:
            binary = os.path.abspath(os.path.join(a.bin, "icbu-reflow-" + b))
            if not os.path.exists(binary):
                continue
            found.append(binary)
            d = os.path.join(tmp, b)
            os.mkdir(d, 0o700)
            c = Ctx(gw, d, binary)
            cases = []

            def add(name, fn, b=b):
                cases.append(("%s/%s" % (b, name), fn))
            try:
                for scheme in ("https", "https12"):
                    resume_cases(c, scheme, add)
                ignored_cases(c, add)
                misc_cases(c, add)
            except Fail as e:
                results.append((False, "%s/setup" % b, str(e)))
                print("not ok - %s/setup: %s" % (b, e))
                continue
            for name, fn in cases:
                if not gateway_proc.selected(name, a.only):
                    continue
                gateway_proc.run_case(name, fn, results)
        if not found:
            results.append((False, "binaries", "no icbu-reflow-{%s} in %s" % (",".join(BINARIES), a.bin)))
            print("not ok - binaries: none in %s" % a.bin)
    finally:
        gw.stop()
    return gateway_proc.finish(results, t0, "binaries: " + ", ".join(found), tmp, a.keep)


if __name__ == "__main__":
    sys.exit(main())
