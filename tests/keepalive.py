#!/usr/bin/env python3
"""Persistent connections: tools/top_gateway.py's keep-alive and icbu-reflow over it.

    python3 tests/keepalive.py [--bin DIR] [--binaries mbedtls,psa,bearssl] [--only PATTERN]
                               [--jobs N] [--keep]

Starts the local gateway (HTTP, HTTPS, and HTTPS limited to TLS 1.2), whose keep-alive is
set per request by a /ka/SPEC path prefix (tools/top_gateway.py), then:

  gateway/...  the gateway with a small Python client (http and https): several requests
               over one connection, Connection: close and HTTP/1.0 requests, the announced
               close (maxN), the silent close (silentN), a dropped request (dropN), an RST
               between requests (rstN), the idle timeout, chunked and Content-Length
               framing, close-delimited and HTTP/1.0 answers, fault modes still closing,
               TLS 1.2 and 1.3 resumption (tickets, session IDs) counted on the server side,
               and the --keep-alive / --idle-timeout defaults (a second gateway).
  cli/...      icbu-reflow-{mbedtls,psa,bearssl} found in DIR, over http, https and
               https12: flush of a spool of 30 orders over one connection; against a gateway
               closing after every 3 requests, announced, silently, by dropping the 4th
               request or by an RST: no order lost, none refused, none arriving more than
               twice, exit 0, at most one connection per 2 orders; chunked framing; close-
               delimited and HTTP/1.0 answers ending reuse; send one-shot and
               flush --no-keep-alive (Connection: close, a connection per order); a TLS
               reconnect within one flush resumes, and --session-cache FILE carries the
               session from one send to the next.

The gateway counts what the client cannot hide: connections.jsonl (each connection, its
TLS version, resumed or not) and requests.jsonl (each request's connection, its place on
it, its external_biz_id). Every case uses its own external_biz_id prefix. Prints
`ok - name` / `not ok - name: why`, then `N passed, N failed`; exits 1 on failure.
"""

import argparse
import concurrent.futures
import json
import os
import socket
import ssl
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import check_body        # noqa: E402  tests/check_body.py: TOP's signature and form encoding
import gateway_proc      # noqa: E402  tests/gateway_proc.py: the gateway as a child process
import reliability       # noqa: E402  tests/reliability.py: the CLI runner, orders, spools

Fail, expect = gateway_proc.Fail, gateway_proc.expect
APP_KEY, SECRET = reliability.APP_KEY, reliability.SECRET
API_METHOD = "alibaba.finance.insurance.icbu.insure.order.callback"
ENVELOPE = "alibaba_finance_insurance_icbu_insure_order_callback_response"
SPOOLED = 30             # the flush: 30 spooled orders


# The function each TLS library parses a CA file's PEM with: called once per parse.
CA_PARSER = {"mbedtls": "mbedtls_x509_crt_parse", "psa": "mbedtls_x509_crt_parse",
             "bearssl": "br_pem_decoder_init"}


def callgrind_calls(path):
    """{function name: calls} from a callgrind output file (its cfn= / calls= lines)."""
    names, calls, callee = {}, {}, None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            for key in ("fn=(", "cfn=("):
                if line.startswith(key):
                    ident, _, name = line[len(key):].rstrip("\n").partition(") ")
                    ident = ident.rstrip(")")
                    if name:
                        names[ident] = name
                    if key == "cfn=(":
                        callee = ident
            if line.startswith("calls=") and callee is not None:
                n = names.get(callee, callee)
                calls[n] = calls.get(n, 0) + int(line[6:].split()[0])
                callee = None
    return calls


# ------------------------------------------------------------------ a raw HTTP client
def form_body(biz, ts=None):
    """A signed request body (hmac-sha256) for the order with external_biz_id biz."""
    import datetime
    gmt8 = datetime.timezone(datetime.timedelta(hours=8))
    p = {"method": API_METHOD, "app_key": APP_KEY, "v": "2.0", "sign_method": "hmac-sha256",
         "format": "json", "insured_order_reflow_request": reliability.order_text(biz).decode(),
         "timestamp": ts or datetime.datetime.now(gmt8).strftime("%Y-%m-%d %H:%M:%S")}
    items = sorted(p.items(), key=lambda kv: kv[0].encode())
    return ("&".join(check_body.form_encode(k) + "=" + check_body.form_encode(v) for k, v in items)
            + "&sign=" + check_body.compute_sign(items, SECRET, "hmac-sha256")).encode("ascii")


class Answer:
    def __init__(self, version, status, headers, body, framing):
        self.version, self.status, self.headers = version, status, headers
        self.body, self.framing = body, framing

    def header(self, name):
        return self.headers.get(name.lower())

    def insure_id(self):
        j = json.loads(self.body)
        return j.get(ENVELOPE, j).get("result", {}).get("insure_id")


class Raw:
    """One connection to the gateway, driven by hand: requests written as given, answers
    read by their framing (Content-Length, chunked with its trailer, or to the close)."""
    contexts = {}

    def __init__(self, gw, scheme, session=None, no_ticket=False):
        port = {"http": gw.http, "https": gw.https, "https12": gw.https12}[scheme]
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        if scheme != "http":
            ctx = ssl.create_default_context(cafile=gw.ca)
            if no_ticket:
                ctx.options |= ssl.OP_NO_TICKET
            # a session resumes only with its own context: one per kind (setdefault: the
            # first one stored, whichever thread stores it)
            ctx = Raw.contexts.setdefault((gw.ca, no_ticket), ctx)
            self.sock = ctx.wrap_socket(self.sock, server_hostname="127.0.0.1",
                                        session=session, suppress_ragged_eofs=False)

    def post(self, path, biz, extra=(), version="HTTP/1.1"):
        body = form_body(biz)
        head = ["POST %s %s" % (path, version), "Host: 127.0.0.1",
                "Content-Type: application/x-www-form-urlencoded;charset=UTF-8",
                "Content-Length: %d" % len(body)] + list(extra)
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError("the gateway closed the connection")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def answer(self):
        version, status = self._line().decode().split(" ", 2)[:2]
        headers = {}
        while True:
            line = self._line()
            if not line:
                break
            k, v = line.decode("latin-1").split(":", 1)
            headers[k.strip().lower()] = v.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body, exts, trailer = b"", [], {}
            while True:
                size = self._line()
                exts.append(size.partition(b";")[2])
                n = int(size.split(b";")[0], 16)
                if n == 0:
                    break
                body += self._take(n)
                expect(self._take(2) == b"\r\n", "a chunk does not end with CRLF")
            while True:
                line = self._line()
                if not line:
                    break
                k, v = line.decode().split(":", 1)
                trailer[k.strip().lower()] = v.strip()
            headers["trailer:"] = trailer
            headers["chunk-ext:"] = exts
            return Answer(version, int(status), headers, body, "chunked")
        if "content-length" in headers:
            return Answer(version, int(status), headers, self._take(int(headers["content-length"])),
                          "length")
        try:
            while True:
                self._fill()
        except EOFError:
            pass
        body, self.buf = self.buf, b""
        return Answer(version, int(status), headers, body, "close")

    def ends(self, within=3.0):
        """How the connection ends from here, the client sending nothing: "eof" (with TLS,
        after close_notify), "reset", or "open" when nothing came within `within` s."""
        self.sock.settimeout(within)
        try:
            d = self.buf or self.sock.recv(65536)
            return "data %r" % d[:40] if d else "eof"
        except socket.timeout:
            return "open"
        except ConnectionResetError:
            return "reset"
        except ssl.SSLEOFError:
            return "eof without close_notify"

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def tls_max(binary):
    """The newest TLS version the binary's library speaks, from --version: TLS 1.3 with
    mbedTLS 3.x and later (on by default), else TLS 1.2 (mbedTLS 2.28, BearSSL)."""
    out = reliability.run(binary, ["--version"]).out.decode()
    major = out.split("TLS: mbedTLS ")[1][:1] if "TLS: mbedTLS " in out else ""
    return "TLSv1.3" if major.isdigit() and int(major) >= 3 else "TLSv1.2"


def ka_path(spec="", mode=""):
    return ("/ka/" + spec if spec else "") + ("/f/" + mode if mode else "") + "/router/rest"


# ------------------------------------------------------------------ the suite
class Suite:
    def __init__(self, gw, tmp, bins, schemes):
        self.gw, self.tmp, self.bins, self.schemes = gw, tmp, bins, schemes
        self.cases = []
        self.n = 0

    def add(self, name, fn):
        self.cases.append((name, fn))

    def prefix(self, what):
        """A fresh external_biz_id prefix: every case counts only its own requests."""
        self.n += 1
        return "ka%03d-%s-" % (self.n, what)

    def conns_of(self, prefix):
        """(requests of prefix in log order, {conn id: its connections.jsonl entry})."""
        reqs = self.gw.requests(prefix)
        allc = self.gw.connections()
        return reqs, {c: allc.get(c, {}) for c in sorted({r["conn"] for r in reqs})}

    def closed(self, conn, wait=3.0):
        """The "why" of a connection's close in connections.jsonl (written just after it
        closed: waits for it), or None."""
        end = time.monotonic() + wait
        while True:
            why = self.gw.connections().get(conn, {}).get("why")
            if why or time.monotonic() > end:
                return why
            time.sleep(0.02)

    # -------------------------------------------------------------- gateway cases
    def gateway_cases(self):
        gw = self.gw
        for scheme in ("http", "https"):
            self.gateway_scheme_cases(scheme)

        def log_being_written():
            path = os.path.join(self.tmp, "partial.jsonl")
            with open(path, "wb") as f:     # two whole lines, then one cut in "é"
                f.write(b'{"a": 1}\n{"b": 2}\n{"c": "\xc3')
            got = gateway_proc.jsonl_lines(path)
            expect(got == [{"a": 1}, {"b": 2}], "the complete lines of a log being written: %s" % got)
        self.add("gateway/a log line still being written is left for a later read "
                 "(the suite reads the gateway's logs while it writes them)", log_being_written)

        def unknown_token():
            c = Raw(gw, "http")
            try:
                c.post(ka_path("max3-bogus"), self.prefix("bogus") + "1")
                a = c.answer()
                expect(a.status == 404 and a.header("connection") == "close" and c.ends() == "eof",
                       "an unknown token: %s %s" % (a.status, a.headers))
            finally:
                c.close()
        self.add("gateway/an unknown /ka/ token is a 404 that closes", unknown_token)

        def defaults():
            """--keep-alive and --idle-timeout: every request's settings, under /ka/'s."""
            os.makedirs(os.path.join(self.tmp, "defaults"))
            g2 = gateway_proc.Gateway(os.path.join(self.tmp, "defaults"), APP_KEY,
                                      reliability.env(), ["--keep-alive", "max2-chunked",
                                                          "--idle-timeout", "0.3", "--key-type", "ec",
                                                          "--no-resumption"])
            try:
                p = self.prefix("defaults")
                c = Raw(g2, "http")
                got = []
                for i in (1, 2):
                    c.post(ka_path(), p + str(i))
                    a = c.answer()
                    got.append((a.framing, a.header("connection"), a.header("keep-alive")))
                expect(got == [("chunked", "keep-alive", "timeout=1, max=1"), ("chunked", "close", None)],
                       "max2-chunked: %s" % got)
                expect(c.ends() == "eof", "not closed after the second")
                c.close()
                c = Raw(g2, "http")
                c.post(ka_path("length-max3"), p + "3")
                a = c.answer()
                expect((a.framing, a.header("keep-alive")) == ("length", "timeout=1, max=2"),
                       "/ka/length-max3 over the defaults: %s" % a.headers)
                t0 = time.monotonic()
                expect(c.ends() == "eof" and time.monotonic() - t0 < 1.0, "--idle-timeout 0.3")
                c.close()
                spec = [r["ka"] for r in g2.requests(p)]
                expect(spec == ["max2-chunked", "max2-chunked", "max2-chunked-length-max3"],
                       "requests.jsonl's ka: %s" % spec)
                sess = None
                for i in (4, 5):                   # --no-resumption
                    c = Raw(g2, "https", session=sess)
                    c.post(ka_path(), p + str(i), ["Connection: close"])
                    expect(c.answer().status == 200, "https answer")
                    sess = c.sock.session
                    c.close()
                conns = g2.connections()
                got = [conns[r["conn"]]["resumed"] for r in g2.requests(p)[3:]]
                expect(got == [False, False], "--no-resumption: resumed %s" % got)
            finally:
                g2.stop()
        self.add("gateway/--keep-alive max2-chunked --idle-timeout 0.3 set every request's "
                 "keep-alive; /ka/ adds to them; --no-resumption resumes no session", defaults)

        for scheme, version in (("https", "TLSv1.3"), ("https12", "TLSv1.2")):
            for no_ticket in ((False, True) if scheme == "https12" else (False,)):
                self.add("gateway/%s: a second connection with the first's session resumes "
                         "(%s, %s), after an announced, a silent and an idle close"
                         % (scheme, version, "session ID" if no_ticket else "ticket"),
                         self.resumption_case(scheme, version, no_ticket))

        def rst_forgets_session_id():
            p = self.prefix("rst-sid")
            c = Raw(gw, "https12", no_ticket=True)
            c.post(ka_path("rst1"), p + "1")
            expect(c.answer().status == 200, "first answer")
            sess = c.sock.session
            c.post(ka_path("rst1"), p + "2")
            expect(c.ends() in ("reset", "eof without close_notify"), "no RST")
            c.close()
            c = Raw(gw, "https12", session=sess, no_ticket=True)
            c.post(ka_path(), p + "3", ["Connection: close"])
            c.answer()
            c.close()
            reqs, conns = self.conns_of(p)
            resumed = [conns[r["conn"]].get("resumed") for r in reqs if r["result"] != "dropped"]
            expect(resumed == [False, False], "resumed: %s (OpenSSL drops a session ID whose "
                                              "connection ends without close_notify)" % resumed)
        self.add("gateway/https12: after an RST the session ID is forgotten (a full handshake)",
                 rst_forgets_session_id)

    def gateway_scheme_cases(self, scheme):
        gw = self.gw
        add = lambda name, fn: self.add("gateway/%s/%s" % (scheme, name), fn)  # noqa: E731

        def with_conn(fn):
            def run():
                c = Raw(gw, scheme)
                try:
                    fn(c)
                finally:
                    c.close()
            return run

        def three(c):
            p = self.prefix("three")
            for i in (1, 2, 3):
                c.post(ka_path(), p + str(i))
                a = c.answer()
                expect(a.status == 200 and a.insure_id() == "INS-%s%d" % (p, i),
                       "answer %d: %s %s" % (i, a.status, a.body[:200]))
                expect(a.header("connection") == "keep-alive" and a.framing == "length" and
                       a.header("keep-alive") == "timeout=5",
                       "answer %d: %s" % (i, a.headers))
            reqs, conns = self.conns_of(p)
            expect([(r["n"], r["keep"], r["close"], r["version"]) for r in reqs] ==
                   [(1, True, False, "HTTP/1.1"), (2, True, False, "HTTP/1.1"),
                    (3, True, False, "HTTP/1.1")] and len(conns) == 1,
                   "requests.jsonl: %s" % reqs)
            (entry,) = conns.values()
            expect(entry["listener"] == scheme and entry["resumed"] is False and
                   (entry["tls"] is None) == (scheme == "http"), "connections.jsonl: %s" % entry)
        add("three requests over one connection, each answer says keep-alive", with_conn(three))

        def close_asked():
            p = self.prefix("close")
            for extra, version in ((["Connection: close"], "HTTP/1.1"),
                                   (["Connection: Keep-Alive, CLOSE"], "HTTP/1.1"),
                                   ([], "HTTP/1.0")):
                c = Raw(gw, scheme)
                try:
                    c.post(ka_path(), p + str(len(version + str(extra))), extra, version)
                    a = c.answer()
                    expect(a.status == 200 and a.header("connection") == "close",
                           "%s %s: %s" % (version, extra, a.headers))
                    expect(c.ends() == "eof", "%s %s: the connection stays open" % (version, extra))
                finally:
                    c.close()
            reqs = self.gw.requests(p)
            expect([(r["close"], r["keep"]) for r in reqs] == [(True, False), (True, False),
                                                               (False, False)],
                   "requests.jsonl: %s" % reqs)
        add("a request with Connection: close, or HTTP/1.0, is answered with "
            "Connection: close, then closed", close_asked)

        def announced(c):
            p = self.prefix("max3")
            got = []
            for i in (1, 2, 3):
                c.post(ka_path("max3"), p + str(i))
                a = c.answer()
                got.append((a.status, a.header("connection"), a.header("keep-alive")))
            expect(got == [(200, "keep-alive", "timeout=5, max=2"), (200, "keep-alive",
                                                                     "timeout=5, max=1"),
                           (200, "close", None)], "answers: %s" % got)
            expect(c.ends() == "eof", "not closed after the third")
            reqs, conns = self.conns_of(p)
            expect(len(conns) == 1, "connections: %s" % conns)
            why = self.closed(reqs[0]["conn"])
            expect(why == "announced close after 3 (max3)", "connections.jsonl: %s" % why)
        add("max3: the third answer says Connection: close, then it closes", with_conn(announced))

        def silent(c):
            p = self.prefix("silent2")
            for i in (1, 2):
                c.post(ka_path("silent2"), p + str(i))
                a = c.answer()
                expect(a.status == 200 and a.header("connection") == "keep-alive",
                       "answer %d: %s" % (i, a.headers))
            expect(c.ends() == "eof", "after the second answer: not a clean close")
        add("silent2: the second answer says keep-alive, then the connection closes (FIN, "
            "TLS close_notify)", with_conn(silent))

        def dropped(c):
            p = self.prefix("drop2")
            for i in (1, 2):
                c.post(ka_path("drop2"), p + str(i))
                expect(c.answer().header("connection") == "keep-alive", "answer %d" % i)
            c.post(ka_path("drop2"), p + "3")
            end = c.ends()
            expect(end == "eof", "request 3: %s, expected no answer and a close" % end)
            reqs = self.gw.requests(p)
            expect([(r["n"], r["result"][:8], r["biz"]) for r in reqs] ==
                   [(1, "accepted", p + "1"), (2, "accepted", p + "2"), (3, "dropped", p + "3")],
                   "requests.jsonl: %s" % reqs)
            expect(not [e for e in self.gw.jsonl("accepted.jsonl")
                        if e["external_biz_id"] == p + "3"], "the dropped order was accepted")
        add("drop2: the third request is read, never answered nor accepted, and the "
            "connection closes", with_conn(dropped))

        def reset(c):
            p = self.prefix("rst1")
            c.post(ka_path("rst1"), p + "1")
            expect(c.answer().header("connection") == "keep-alive", "first answer")
            try:
                c.post(ka_path("rst1"), p + "2")
                end = c.ends()
            except (ConnectionResetError, BrokenPipeError):
                end = "reset"
            # OpenSSL reports an RST under TLS as an EOF without close_notify
            expect(end in ("reset", "eof without close_notify" if scheme != "http" else "reset"),
                   "the second request met %s, not an RST" % end)
            reqs, conns = self.conns_of(p)
            expect([r["n"] for r in reqs] == [1], "requests.jsonl: %s" % reqs)
            why = self.closed(reqs[0]["conn"])
            expect(why == "RST before request 2 (rst1)", "connections.jsonl: %s" % why)
        add("rst1: the second request meets an RST, unread", with_conn(reset))

        def idle(c):
            p = self.prefix("idle")
            c.post(ka_path("idle0.4"), p + "1")
            a = c.answer()
            expect(a.header("keep-alive") == "timeout=1", "Keep-Alive: %s" % a.header("keep-alive"))
            t0 = time.monotonic()
            end = c.ends(3.0)
            took = time.monotonic() - t0
            expect(end == "eof" and 0.3 <= took <= 1.5, "%s after %.2f s, expected eof after 0.4 s"
                   % (end, took))
        add("idle0.4: an idle connection is closed after 0.4 s", with_conn(idle))

        def framing(c):
            p = self.prefix("chunked")
            for i, spec in enumerate(("chunked", "length", "chunked"), 1):
                c.post(ka_path(spec), p + str(i))
                a = c.answer()
                expect(a.status == 200 and a.framing == spec and
                       a.header("connection") == "keep-alive" and a.insure_id() == "INS-%s%d" % (p, i),
                       "answer %d (%s): %s %s" % (i, spec, a.headers, a.body[:100]))
                if spec == "chunked":
                    import hashlib
                    expect(a.header("trailer:") == {"x-top-checksum": hashlib.md5(a.body).hexdigest()}
                           and a.header("chunk-ext:")[0] == b'ext=1;name="v"',
                           "chunk extension or trailer: %s" % a.headers)
            _, conns = self.conns_of(p)
            expect(len(conns) == 1, "connections: %s" % conns)
        add("chunked (with an extension and a trailer) and Content-Length answers on one "
            "connection", with_conn(framing))

        def close_delimited():
            p = self.prefix("cd")
            for spec, n in (("cd2", 2), ("cd", 1), ("http10", 1)):
                c = Raw(gw, scheme)
                try:
                    for i in range(1, n + 1):
                        c.post(ka_path(spec), "%s%s-%d" % (p, spec, i))
                        a = c.answer()
                        last = i == n
                        want = ((("close" if spec != "http10" else "length"), None, "HTTP/1.0"
                                 if spec == "http10" else "HTTP/1.1") if last else
                                ("length", "keep-alive", "HTTP/1.1"))
                        expect((a.framing, a.header("connection"), a.version) == want and
                               a.insure_id() == "INS-%s%s-%d" % (p, spec, i),
                               "%s answer %d: %s %s %s" % (spec, i, a.version, a.headers, a.framing))
                    expect(c.ends() == "eof", "%s: not closed" % spec)
                finally:
                    c.close()
        add("cd2, cd, http10: a close-delimited or HTTP/1.0 answer (no Connection header) "
            "ends the connection", close_delimited)

        def faults_close(c):
            p = self.prefix("faults")
            c.post(ka_path("", "refuse"), p + "1")
            a = c.answer()
            expect(a.header("connection") == "keep-alive", "refuse: %s" % a.headers)
            c.post(ka_path("", "chunked"), p + "2")
            a = c.answer()
            expect(a.framing == "chunked" and a.header("connection") == "close" and
                   c.ends() == "eof", "chunked fault mode: %s" % a.headers)
        add("a refusal keeps the connection; a fault mode (/f/chunked) still closes",
            with_conn(faults_close))

    # -------------------------------------------------------------- CLI cases
    def spool(self, prefix, n):
        """A spool (mode 0700) of n orders, prefix + "01".."n", oldest first (cli/spool.c's
        names: <ns>-<pid>-<n>.json)."""
        self.n += 1
        d = os.path.join(self.tmp, "spool-%03d" % self.n)
        os.mkdir(d, 0o700)
        base = time.time_ns()
        for i in range(1, n + 1):
            with open(os.path.join(d, "%020d-%010d-%04d.json" % (base + i, os.getpid(), i)), "wb") as f:
                f.write(reliability.order_text("%s%02d" % (prefix, i), style=i))
        return d

    def url(self, scheme, spec="", mode=""):
        port = {"http": self.gw.http, "https": self.gw.https, "https12": self.gw.https12}[scheme]
        return "%s://127.0.0.1:%d%s" % ("http" if scheme == "http" else "https", port,
                                        ka_path(spec, mode))

    def flush(self, binary, scheme, spec, n, what, extra=()):
        """flush of n spooled orders against /ka/spec: every order accepted once, the spool
        emptied, exit 0. Returns (requests.jsonl lines, {conn: connections.jsonl entry})."""
        prefix = self.prefix(what)
        d = self.spool(prefix, n)
        r = reliability.run(binary, ["flush", "--spool", d, "--url", self.url(scheme, spec),
                                     "--ca-file", self.gw.ca] + list(extra), timeout=60)
        lines = r.lines()
        expect(r.rc == 0 and reliability.spool_orders(d) == [],
               "flush: exit %d, %d orders left: %s" % (r.rc, len(reliability.spool_orders(d)),
                                                       r.why()))
        expect(len(lines) == n and all(x.get("outcome") == "accepted" and x.get("spool") == "removed"
                                       for x in lines),
               "flush's lines: %s" % [(x.get("outcome"), x.get("spool")) for x in lines])
        acc = {}
        for e in self.gw.jsonl("accepted.jsonl"):
            if e["external_biz_id"].startswith(prefix):
                acc[e["external_biz_id"]] = acc.get(e["external_biz_id"], 0) + 1
        want = {"%s%02d" % (prefix, i): 1 for i in range(1, n + 1)}
        expect(acc == want, "accepted other than once each: %s" %
               {k: acc.get(k, 0) for k in want if acc.get(k, 0) != 1})
        return self.conns_of(prefix)

    def cli_cases(self, be, binary, scheme):
        add = lambda name, fn: self.add("cli/%s/%s/%s" % (be, scheme, name), fn)  # noqa: E731

        def arrivals(reqs):
            """{number of arrivals: how many orders arrived that often}"""
            per = {}
            for r in reqs:
                per[r["biz"]] = per.get(r["biz"], 0) + 1
            out = {}
            for v in per.values():
                out[v] = out.get(v, 0) + 1
            return out

        def one_connection():
            reqs, conns = self.flush(binary, scheme, "", SPOOLED, "one")
            expect(len(conns) == 1 and [r["n"] for r in reqs] == list(range(1, SPOOLED + 1)),
                   "%d connections (at most 2 wanted, 1 expected): %s"
                   % (len(conns), [(r["conn"], r["n"]) for r in reqs]))
            expect(all(r["keep"] and not r["close"] for r in reqs), "a request said close")
        add("flush of %d orders over one connection" % SPOOLED, one_connection)

        # closes after every 3 requests: 10 connections; how often an order arrives
        for spec, how, twice in (("max3", "announced (Connection: close)", 0),
                                 ("silent3", "silently (no Connection: close, then FIN)", 0),
                                 ("drop3", "by dropping the 4th request unanswered", 9),
                                 ("rst3", "by an RST when the 4th request comes", 0)):
            def closing(spec=spec, twice=twice):
                reqs, conns = self.flush(binary, scheme, spec, SPOOLED, spec)
                expect(len(conns) == SPOOLED // 3,
                       "%d connections, want %d (at most %d)" % (len(conns), SPOOLED // 3, SPOOLED // 2))
                expect(arrivals(reqs) == ({1: SPOOLED - twice, 2: twice} if twice else {1: SPOOLED}),
                       "arrivals: %s (orders per number of arrivals)" % arrivals(reqs))
                per_conn = sorted({(r["conn"], r["n"]) for r in reqs if r["result"] != "dropped"})
                expect([n for _, n in per_conn] == [1, 2, 3] * (SPOOLED // 3),
                       "requests per connection: %s" % per_conn)
            add("flush of %d orders, the server closing after every 3 requests %s: none lost, "
                "none refused, %s, exit 0, %d connections" % (
                    SPOOLED, how, "9 sent twice" if twice else "each sent once", SPOOLED // 3),
                closing)

        def framing():
            for spec, n, want in (("chunked", 6, 1), ("cd2", 6, 3), ("cd", 4, 4), ("http10", 4, 4)):
                reqs, conns = self.flush(binary, scheme, spec, n, spec)
                expect(len(conns) == want and arrivals(reqs) == {1: n},
                       "/ka/%s: %d connections for %d orders, want %d; arrivals %s"
                       % (spec, len(conns), n, want, arrivals(reqs)))
        add("chunked answers keep the connection; close-delimited (every one, every 2nd) and "
            "HTTP/1.0 answers end it", framing)

        def opt_out():
            reqs, conns = self.flush(binary, scheme, "", 4, "nka", ["--no-keep-alive"])
            expect(len(conns) == 4 and all(r["close"] and not r["keep"] for r in reqs),
                   "flush --no-keep-alive: %d connections, requests %s"
                   % (len(conns), [(r["conn"], r["close"]) for r in reqs]))
            p = self.prefix("send")
            for i in (1, 2):
                r = reliability.run(binary, ["send", "--url", self.url(scheme), "--ca-file",
                                             self.gw.ca, "-"],
                                    stdin=reliability.order_text("%s%d" % (p, i)))
                expect(r.rc == 0 and r.json()["outcome"] == "accepted", "send: %s" % r.why())
            reqs, conns = self.conns_of(p)
            expect(len(conns) == 2 and [(r["n"], r["close"]) for r in reqs] == [(1, True)] * 2,
                   "send: %s" % reqs)
        add("Connection: close: flush --no-keep-alive (a connection per order) and send "
            "(one-shot)", opt_out)

        if scheme != "http":
            v = "TLSv1.2" if scheme == "https12" else tls_max(binary)

            def resumed():
                reqs, conns = self.flush(binary, scheme, "max2", 6, "resume")
                got = [(c["tls"], c["resumed"]) for c in conns.values()]
                expect(got == [(v, False), (v, True), (v, True)],
                       "(tls, resumed) of each connection: %s" % got)
            add("%s: the reconnects within one flush (6 orders, max2) resume the session"
                % v, resumed)
            if scheme == "https":
                add("the CA file is parsed once per flush, not per connection (6 orders, max2: "
                    "3 connections; callgrind counts %s)" % CA_PARSER[be],
                    lambda: self.ca_parsed_once(be, binary, scheme))
            self.cache_cases(add, binary, scheme, v)

    def ca_parsed_once(self, be, binary, scheme):
        """A flush reconnecting twice under callgrind: its TLS library's CA parser called once."""
        prefix = self.prefix("ca-once")
        d = self.spool(prefix, 6)
        out = os.path.join(self.tmp, "callgrind-%s.out" % prefix)
        r = reliability.run("valgrind", ["--tool=callgrind", "--callgrind-out-file=" + out, binary,
                                         "flush", "--spool", d, "--url", self.url(scheme, "max2"),
                                         "--ca-file", self.gw.ca], timeout=300)
        expect(r.rc == 0 and reliability.spool_orders(d) == [], "flush: exit %d: %s" % (r.rc, r.why()))
        reqs, conns = self.conns_of(prefix)
        expect(len(conns) == 3, "%d connections, want 3" % len(conns))
        calls = callgrind_calls(out)
        expect(calls.get(CA_PARSER[be]) == 1, "%s called %s times over %d connections"
               % (CA_PARSER[be], calls.get(CA_PARSER[be]), len(conns)))

    def send(self, binary, scheme, biz, cache, expect_rc=0):
        """send of one order with --session-cache cache; the run."""
        r = reliability.run(binary, ["send", "--url", self.url(scheme), "--ca-file", self.gw.ca,
                                     "--session-cache", cache, "-"],
                            stdin=reliability.order_text(biz))
        expect(r.rc == expect_rc, "send (want exit %d): %s" % (expect_rc, r.why()))
        return r

    def resumed_of(self, prefix):
        """(tls, resumed) of the connections that carried prefix's orders, in order."""
        reqs, conns = self.conns_of(prefix)
        return [(conns[c]["tls"], conns[c]["resumed"]) for c in
                sorted({r["conn"] for r in reqs})]

    def cache_cases(self, add, binary, scheme, v):
        def two_sends():
            p = self.prefix("cache")
            cache = os.path.join(self.tmp, "%s.session" % p.rstrip("-"))
            for i in (1, 2, 3):
                r = self.send(binary, scheme, p + str(i), cache)
                expect(b"warning" not in r.err, "send %d warns: %s" % (i, r.why()))
                st = os.lstat(cache)
                expect(oct(st.st_mode & 0o777) == oct(0o600) and st.st_uid == os.geteuid(),
                       "the cache file: mode %o, uid %d" % (st.st_mode & 0o777, st.st_uid))
            got = self.resumed_of(p)
            expect(got == [(v, False), (v, True), (v, True)],
                   "(tls, resumed) of the three sends: %s" % got)
            q = self.prefix("cache-flush")
            d = self.spool(q, 4)
            r = reliability.run(binary, ["flush", "--spool", d, "--url", self.url(scheme, "max2"),
                                         "--ca-file", self.gw.ca, "--session-cache", cache])
            expect(r.rc == 0 and reliability.spool_orders(d) == [], "flush: %s" % r.why())
            got = self.resumed_of(q)
            expect(got == [(v, True), (v, True)], "(tls, resumed) of the flush: %s" % got)
        add("%s: --session-cache FILE: made 0600 by the first send, resumed by the next sends "
            "and by a flush's first handshake" % v, two_sends)

        def unsafe():
            p = self.prefix("cache-unsafe")
            base = os.path.join(self.tmp, p.rstrip("-"))
            good = base + ".good"
            self.send(binary, scheme, p + "0", good)
            cases = []
            for mode in (0o640, 0o604, 0o660):
                f = "%s.%o" % (base, mode)
                with open(good, "rb") as src, open(f, "wb") as dst:
                    dst.write(src.read())
                os.chmod(f, mode)
                cases.append((f, "mode %o" % mode))
            os.symlink(good, base + ".link")
            cases.append((base + ".link", "a symbolic link to a good cache"))
            os.mkdir(base + ".dir", 0o700)
            cases.append((base + ".dir", "a directory"))
            os.mkfifo(base + ".fifo", 0o600)
            cases.append((base + ".fifo", "a FIFO"))
            if os.geteuid() == 0:
                f = base + ".nobody"
                with open(good, "rb") as src, open(f, "wb") as dst:
                    dst.write(src.read())
                os.chmod(f, 0o600)
                os.chown(f, 65534, 65534)
                cases.append((f, "owned by another user"))
            for i, (f, what) in enumerate(cases, 1):
                before = os.lstat(f)
                r = self.send(binary, scheme, "%s%d" % (p, i), f, expect_rc=74)
                expect(r.out == b"" and b"unsafe session cache" in r.err,
                       "%s: %s" % (what, r.why()))
                after = os.lstat(f)
                expect((after.st_mode, after.st_uid, after.st_mtime_ns) ==
                       (before.st_mode, before.st_uid, before.st_mtime_ns), "%s: changed" % what)
            expect(len(self.resumed_of(p)) == 1, "a send with an unsafe cache reached the gateway: "
                                                 "%s" % self.gw.requests(p))
        add("%s: --session-cache refuses (exit 74, nothing sent, the file untouched) a file "
            "open to group or others, a link, a directory, a FIFO, another user's" % v, unsafe)

        def unfit():
            p = self.prefix("cache-unfit")
            base = os.path.join(self.tmp, p.rstrip("-"))
            other = "https12" if scheme == "https" else "https"
            self.send(binary, other, p + "0", base + ".other")        # another port
            with open(base + ".junk", "wb") as f:
                f.write(b"not a session\n" * 4)
            os.chmod(base + ".junk", 0o600)
            for i, (name, what) in enumerate(((".other", "another port's session"),
                                              (".junk", "not a session")), 1):
                r = self.send(binary, scheme, "%s%d" % (p, i), base + name)
                expect(b"warning: session cache" in r.err and b"ignored" in r.err,
                       "%s: no warning: %s" % (what, r.why()))
                r = self.send(binary, scheme, "%s%d-again" % (p, i), base + name)
                expect(b"warning" not in r.err, "%s, rewritten: warns again: %s" % (what, r.why()))
            got = self.resumed_of(p)[1:]
            expect(got == [(v, False), (v, True)] * 2,
                   "(tls, resumed): %s (want a full handshake, then a resumed one)" % got)
        add("%s: a --session-cache FILE that does not fit (another port, not a session) is "
            "ignored with a warning, a full handshake, and replaced" % v, unfit)

    def resumption_case(self, scheme, version, no_ticket):
        def run():
            p = self.prefix("resume-" + scheme)
            sess = None
            for i, (spec, how) in enumerate((("max1", "announced"), ("silent1", "silent"),
                                             ("idle0.2", "idle"), ("", "close"))):
                c = Raw(self.gw, scheme, session=sess, no_ticket=no_ticket)
                try:
                    c.post(ka_path(spec), p + str(i), ["Connection: close"] if how == "close" else [])
                    expect(c.answer().status == 200, "answer %d" % i)
                    expect(c.ends() == "eof", "%s: no clean close" % how)
                    sess = c.sock.session
                finally:
                    c.close()
            reqs, conns = self.conns_of(p)
            got = [(conns[r["conn"]]["tls"], conns[r["conn"]]["resumed"]) for r in reqs]
            expect(got == [(version, False)] + [(version, True)] * 3,
                   "(tls, resumed) per connection: %s" % got)
        return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build", help="directory of the binaries (default: build)")
    ap.add_argument("--binaries", default="mbedtls,psa,bearssl",
                    help="which of icbu-reflow-{mbedtls,psa,bearssl} (default: all found)")
    ap.add_argument("--schemes", default="http,https,https12")
    ap.add_argument("--only", default=None, help="the cases whose name contains PATTERN "
                                                 "(a glob when it has * ? or [)")
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()
    bindir = a.bin if os.path.isabs(a.bin) else os.path.join(ROOT, a.bin)
    bins = [(t, os.path.join(bindir, "icbu-reflow-" + t)) for t in a.binaries.split(",") if t]
    bins = [(t, b) for t, b in bins if os.access(b, os.X_OK)]

    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="icbu-ka-")
    gw = gateway_proc.Gateway(tmp, APP_KEY, reliability.env(), ["--tls12-port", "0", "--key-type", "ec"])
    suite = Suite(gw, tmp, bins, a.schemes.split(","))
    results = []
    try:
        suite.gateway_cases()
        for be, b in bins:
            for scheme in suite.schemes:
                suite.cli_cases(be, b, scheme)
        if not bins:
            def no_binaries():
                raise Fail("none of icbu-reflow-{%s} in %s (make examples)" % (a.binaries, bindir))
            suite.add("cli/binaries exist", no_binaries)
        cases = [c for c in suite.cases if gateway_proc.selected(c[0], a.only)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
            list(pool.map(lambda c: gateway_proc.run_case(c[0], c[1], results), cases))
    finally:
        gw.stop()
    with open(gw.log.name, "rb") as f:
        leaked = SECRET.encode("utf-8") in f.read()
    gateway_proc.run_case("gateway/never prints the secret",
                          lambda: expect(not leaked, "found in the log"), results)
    return gateway_proc.finish(results, t0, "binaries: %s" % (
        ", ".join(b for _, b in bins) or "none"), tmp, a.keep)


if __name__ == "__main__":
    sys.exit(main())
