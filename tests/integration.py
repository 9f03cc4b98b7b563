#!/usr/bin/env python3
"""Integration tests of the icbu-reflow command-line tool against tools/top_gateway.py.

    python3 tests/integration.py [--bin DIR] [--only PATTERN] [--jobs N] [--verbose]

Starts the local TOP gateway (HTTP + HTTPS, throw-away CA, free ports), then runs the
binaries found in DIR (default: build) -- icbu-reflow-mbedtls, icbu-reflow-psa and icbu-reflow-bearssl get
the whole send matrix (HTTP and HTTPS x md5/hmac/hmac-sha256 x answers and fault modes);
every binary found, icbu-reflow included, gets the offline cases (sign, parse, invalid
orders, usage). The gateway/... cases check the gateway itself with a small Python client;
the example/layered-curl/... cases run examples/layered_curl.c (the layered API with
libcurl) against it over HTTP.

Every run is checked for the secret (given through the environment) in its stdout and
stderr. Prints `ok - name` / `not ok - name: why` per case, then `N passed, N failed`;
exits 1 if anything failed. --only keeps the cases whose name contains PATTERN (or matches
it as a glob when it has * ? or [).
"""

import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import check_body  # noqa: E402

import gateway_proc      # tests/gateway_proc.py

API_METHOD = "alibaba.finance.insurance.icbu.insure.order.callback"
ENVELOPE = "alibaba_finance_insurance_icbu_insure_order_callback_response"
EXAMPLE = os.path.join(HERE, "data", "example_order.json")
SIGN_METHODS = ("md5", "hmac", "hmac-sha256")
GMT8 = datetime.timezone(datetime.timedelta(hours=8))
APP_KEY = "12345678"
SECRET_RANDOM = os.urandom(6).hex()
SECRET = "it-Secr3t/%s+é" % SECRET_RANDOM               # non-ASCII and form-special on purpose
BAD_SECRET = "wrong-Secr3t-%s" % os.urandom(6).hex()
FIXED_TS = "2022-10-11 12:34:56"
OUTCOME_KEYS = {
    "accepted": {"outcome", "insure_id", "error_code", "error_msg", "request_id"},
    "refused": {"outcome", "insure_id", "error_code", "error_msg", "request_id"},
    "platform_error": {"outcome", "code", "msg", "sub_code", "sub_msg", "request_id"},
    "transport_error": {"outcome", "stage", "detail"},
}
UNICODE_ID = "INS-12345-\u4e2d\U0001F600"


Fail, expect = gateway_proc.Fail, gateway_proc.expect


def clip(b, n=300):
    s = b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)
    s = s.replace(SECRET, "<SECRET>").replace(BAD_SECRET, "<BAD_SECRET>")   # never echo it
    s = s.replace("\n", "\\n")
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


# ------------------------------------------------------------------ running the tool
class Run:
    def __init__(self, argv, rc, out, err, elapsed):
        self.argv, self.rc, self.out, self.err, self.elapsed = argv, rc, out, err, elapsed

    def why(self):
        return "rc=%s stdout=%s stderr=%s" % (self.rc, clip(self.out), clip(self.err, 200))


def base_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ICBU_REFLOW_")}
    env["TZ"] = "Asia/Shanghai"
    env["LC_ALL"] = "C"
    env["ICBU_REFLOW_APP_SECRET"] = SECRET
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run(binary, args, env=None, stdin=None, timeout=30):
    argv = [binary] + list(args)
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env if env is not None else base_env(), timeout=timeout)
        r = Run(argv, p.returncode, p.stdout, p.stderr, time.monotonic() - t0)
    except subprocess.TimeoutExpired as e:
        raise Fail("timed out after %ss (stdout=%s)" % (timeout, clip(e.stdout or b"")))
    # Never the secret, in any run (the bad one included).
    for s in (SECRET, BAD_SECRET):
        for name, stream in (("stdout", r.out), ("stderr", r.err)):
            if s.encode("utf-8") in stream:
                raise Fail("the secret appears in %s: %s" % (name, r.why()))
    return r


def one_json_line(r):
    expect(r.out.endswith(b"\n") and r.out.count(b"\n") == 1,
           "stdout is not exactly one line: %s" % r.why())
    try:
        j = json.loads(r.out.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise Fail("stdout is not JSON (%s): %s" % (e, r.why()))
    expect(isinstance(j, dict), "stdout JSON is not an object: %s" % r.why())
    return j


def check_outcome(r, rc, outcome, exact=None, **fields):
    """fields: name=value, or name=callable(value)->bool."""
    j = one_json_line(r)
    expect(j.get("outcome") == outcome, "outcome %r, expected %r: %s"
           % (j.get("outcome"), outcome, r.why()))
    expect(r.rc == rc, "exit status %s, expected %s: %s" % (r.rc, rc, r.why()))
    extra = set(j) - OUTCOME_KEYS[outcome]
    expect(not extra, "unexpected keys %s: %s" % (sorted(extra), r.why()))
    nulls = [k for k, v in j.items() if v is None]
    expect(not nulls, "null values for %s (absent fields must be left out): %s" % (nulls, r.why()))
    if exact is not None:
        expect(j == exact, "output %s, expected %s" % (json.dumps(j, ensure_ascii=False),
                                                       json.dumps(exact, ensure_ascii=False)))
    for k, want in fields.items():
        got = j.get(k)
        if callable(want):
            expect(want(got), "%s=%r not as expected: %s" % (k, got, r.why()))
        else:
            expect(got == want, "%s=%r, expected %r: %s" % (k, got, want, r.why()))
    return j


def nonempty(v):
    return isinstance(v, str) and v != ""


def stage_in(*stages):
    return lambda v: v in stages


# ------------------------------------------------------------------ the gateway
class Gateway(gateway_proc.Gateway):
    def __init__(self, tmp):
        super().__init__(tmp, APP_KEY, base_env(), extra_args=("--tls12-port", "0"), badname=True,
                         start_timeout=15)

    def accepted(self):
        return self.jsonl("accepted.jsonl")


free_port = gateway_proc.free_port


# ------------------------------------------------------------------ a tiny Python client
def py_body(secret=SECRET, sm="hmac-sha256", order_text=None, extra=None):
    p = {"method": API_METHOD, "app_key": APP_KEY, "v": "2.0", "sign_method": sm,
         "format": "json", "timestamp": datetime.datetime.now(GMT8).strftime("%Y-%m-%d %H:%M:%S")}
    p["insured_order_reflow_request"] = order_text if order_text is not None else \
        open(EXAMPLE, encoding="utf-8").read()
    p.update(extra or {})
    items = sorted(p.items(), key=lambda kv: kv[0].encode())
    sig = check_body.compute_sign(items, secret, sm)
    return ("&".join(check_body.form_encode(k) + "=" + check_body.form_encode(v)
                     for k, v in items) + "&sign=" + sig).encode("ascii")


class AlertFlood:
    """A TLS peer on 127.0.0.1 that reads the ClientHello, then sends plaintext warning
    alerts (user_canceled) without pause and never a handshake message: a TLS library
    reads on and on through them, so only a deadline checked before every read ends it."""

    ALERTS = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 90]) * 2000

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            c.recv(65536)
            while True:
                c.sendall(self.ALERTS)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.sock.close()


class FixedAnswer(AlertFlood):
    """An HTTP peer on 127.0.0.1 that answers every request with one fixed 200 body."""

    def __init__(self, body):
        self.answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)) + body
        super().__init__()

    def serve(self, c):
        try:
            c.settimeout(5)
            got = b""
            while b"\r\n\r\n" not in got:
                k = c.recv(65536)
                if not k:
                    return
                got += k
            head, rest = got.split(b"\r\n\r\n", 1)
            m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            while m and len(rest) < int(m.group(1)):
                k = c.recv(65536)
                if not k:
                    return
                rest += k
            c.sendall(self.answer)
        except OSError:
            pass
        finally:
            c.close()


def py_post(gw, scheme, mode="", body=None, cafile=None, port=None, read_limit=1 << 16):
    """Returns (status, headers(list of raw lines), body_bytes, error)."""
    body = body if body is not None else py_body()
    path = ("/f/" + mode if mode else "") + "/router/rest"
    req = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded;"
           "charset=UTF-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
           % (path, len(body))).encode() + body
    port = port or (gw.https if scheme == "https" else gw.http)
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        if scheme == "https":
            ctx = ssl.create_default_context(cafile=cafile or gw.ca)
            s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        data, err = b"", None
        try:
            s.sendall(req)
            while len(data) < read_limit:
                d = s.recv(65536)
                if not d:
                    break
                data += d
        except OSError as e:
            err = e
    finally:
        s.close()
    if b"\r\n\r\n" not in data:
        return None, [], data, err
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    return int(lines[0].split()[1]), lines[1:], rest, err


def dechunk(b):
    out = b""
    while True:
        line, b = b.split(b"\r\n", 1)
        n = int(line.split(b";")[0], 16)
        if n == 0:
            return out
        out, b = out + b[:n], b[n + 2:]


# ------------------------------------------------------------------ case builders
class Suite:
    def __init__(self, gw, tmp, bins_matrix, bins_all):
        self.gw, self.tmp = gw, tmp
        self.bins_matrix, self.bins_all = bins_matrix, bins_all
        self.cases = []
        self.n = 0
        self.lock = threading.Lock()

    def add(self, name, fn, slow=False):
        self.cases.append((name, fn, slow))

    def write(self, name, data):
        with self.lock:
            self.n += 1
            path = os.path.join(self.tmp, "%04d-%s" % (self.n, name))
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        return path

    def order_file(self, mutate=None, name="order.json"):
        with open(EXAMPLE, encoding="utf-8") as f:
            o = json.load(f)
        if mutate:
            mutate(o)
        return self.write(name, json.dumps(o, ensure_ascii=False)), o

    # ---------------------------------------------------------- gateway self-checks
    def gateway_cases(self):
        gw = self

        def ok_answer(scheme, sm):
            def f():
                st, _, body, err = py_post(gw.gw, scheme, body=py_body(sm=sm))
                expect(st == 200, "status %s err %s" % (st, err))
                j = json.loads(body)
                expect(j[ENVELOPE]["result"] == {"success": True, "insure_id": "INS-12345"},
                       clip(body))
            return f

        for scheme in ("http", "https"):
            for sm in SIGN_METHODS:
                self.add("gateway/%s/%s/accepts the Python reference client" % (scheme, sm),
                         ok_answer(scheme, sm))

        def bad_sign():
            _, _, body, _ = py_post(gw.gw, "http", body=py_body(secret=BAD_SECRET))
            expect(json.loads(body)["error_response"]["code"] == 25, clip(body))
        self.add("gateway/bad signature is code 25", bad_sign)

        def rejects_what_top_rejects():
            # what the real gateway refuses (docs/protocol.md), so that its acceptance of a
            # CLI's request means something: sent as a Python client would, one thing wrong each
            base = dict(urllib.parse.parse_qsl(py_body(sm="md5").decode("ascii")))
            del base["sign"]

            def post(params, sig=None):
                items = list(params.items())
                if sig is None:
                    sig = check_body.compute_sign(items, SECRET, params.get("sign_method", "md5"))
                body = "&".join(check_body.form_encode(k) + "=" + check_body.form_encode(v)
                                for k, v in items + ([("sign", sig)] if sig else []))
                _, _, b, _ = py_post(gw.gw, "http", body=body.encode("ascii"))
                j = json.loads(b)
                return j["error_response"]["code"] if "error_response" in j else "accepted"

            def without(name, **change):
                d = {k: v for k, v in base.items() if k != name}
                d.update(change)
                return d
            concat = "".join(k + v for k, v in base.items()).encode("utf-8")   # in sent order
            key = SECRET.encode("utf-8")
            unsorted = dict(reversed(list(base.items())))
            cases = [
                ("sent out of order, signed sorted", post(unsorted), "accepted"),
                ("signed in sent order, not sorted", post(unsorted, hashlib.md5(
                    key + b"".join(k.encode() + v.encode() for k, v in unsorted.items()) + key)
                    .hexdigest().upper()), 25),
                ("md5 without the secret after", post(base, hashlib.md5(key + concat).hexdigest().upper()), 25),
                ("hmac signed as md5", post(without(None, sign_method="hmac"),
                                            check_body.compute_sign(list(base.items()), SECRET, "md5")), 25),
                ("no method", post(without("method")), 21),
                ("another method", post(without(None, method="taobao.item.get")), 22),
                ("no app_key", post(without("app_key")), 28),
                ("another app_key", post(without(None, app_key="87654321")), 29),
                ("no timestamp", post(without("timestamp")), 30),
                ("a timestamp without seconds", post(without(None, timestamp=base["timestamp"][:16])), 31),
                ("no v", post(without("v")), 32),
                ("v=1.0", post(without(None, v="1.0")), 33),
                ("no sign", post(base, ""), 24),
                ("sign_method sha1", post(without(None, sign_method="sha1"), "0" * 32), 25),
                ("no %s" % check_body.ORDER_PARAM, post(without(check_body.ORDER_PARAM)), 40),
            ]
            wrong = ["%s: %s, not %s" % (what, got, want) for what, got, want in cases if got != want]
            expect(not wrong, "; ".join(wrong))
        self.add("gateway/rejects what TOP rejects (missing or wrong parameters, signatures)",
                 rejects_what_top_rejects)

        def unknown_field():
            o = json.load(open(EXAMPLE, encoding="utf-8"))
            o["insured"]["license_valid_time_until"] = "20251001"
            _, _, body, _ = py_post(gw.gw, "http", body=py_body(order_text=json.dumps(o)))
            e = json.loads(body)["error_response"]
            expect(e["code"] == 41 and e["sub_code"] == "isv.invalid-parameter"
                   and "insured.license_valid_time_until" in e["sub_msg"], clip(body))
        self.add("gateway/unknown field is code 41 naming it", unknown_field)

        def modes():
            for scheme in ("http", "https"):
                st, h, b, _ = py_post(gw.gw, scheme, "chunked")
                expect(b"Transfer-Encoding: chunked" in h and
                       json.loads(dechunk(b))[ENVELOPE]["result"]["insure_id"] == "INS-12345",
                       "chunked: %s" % clip(b))
                st, h, b, _ = py_post(gw.gw, scheme, "unicode")
                expect(json.loads(b)[ENVELOPE]["result"]["insure_id"] == UNICODE_ID and b.isascii(),
                       "unicode: %s" % clip(b))
                st, h, b, _ = py_post(gw.gw, scheme, "status503")
                expect(st == 503, "status503: %s" % st)
                st, h, b, _ = py_post(gw.gw, scheme, "truncated")
                cl = [int(x.split(b":")[1]) for x in h if x.lower().startswith(b"content-length")]
                expect(cl and len(b) < cl[0], "truncated: %s %s" % (h, clip(b)))
                st, h, b, _ = py_post(gw.gw, scheme, "oversized", read_limit=1024)
                expect(b"Content-Length: 8388608" in h, "oversized: %s" % h)
                st, h, b, _ = py_post(gw.gw, scheme, "folded")
                expect(any(x[:1] in (b" ", b"\t") for x in h), "folded: %s" % h)
                st, h, b, _ = py_post(gw.gw, scheme, "cl-te")
                expect(any(x.startswith(b"Content-Length") for x in h) and
                       b"Transfer-Encoding: chunked" in h, "cl-te: %s" % h)
                st, h, b, _ = py_post(gw.gw, scheme, "close-delimited")
                expect(not any(x.lower().startswith((b"content-length", b"transfer-encoding"))
                               for x in h) and json.loads(b), "close-delimited: %s" % h)
                for mode, code in (("isp", 15), ("code7", 7), ("badsign-always", 25)):
                    st, h, b, _ = py_post(gw.gw, scheme, mode)
                    expect(json.loads(b)["error_response"]["code"] == code, "%s: %s" % (mode, clip(b)))
                st, h, b, _ = py_post(gw.gw, scheme, "refuse")
                expect(json.loads(b)[ENVELOPE]["result"]["success"] is False, "refuse: %s" % clip(b))
                st, h, b, _ = py_post(gw.gw, scheme, "malformed")
                expect(st == 200 and b.endswith(b'"success":tru'), "malformed: %s" % clip(b))
            for mode in ("reset", "reset-before"):
                st, h, b, err = py_post(gw.gw, "http", mode)
                expect(isinstance(err, ConnectionResetError), "%s: %r %s" % (mode, err, clip(b)))
        self.add("gateway/fault modes frame their answers as documented", modes)

        def tls_refusals():
            for cafile, port, what in ((gw.gw.wrong_ca, None, "wrong CA"),
                                       (gw.gw.ca, gw.gw.badname, "wrong host name")):
                try:
                    py_post(gw.gw, "https", cafile=cafile, port=port)
                    raise Fail("%s: TLS handshake succeeded" % what)
                except ssl.SSLCertVerificationError:
                    pass
        self.add("gateway/TLS fails with the wrong CA and the wrong host name", tls_refusals)

    # ---------------------------------------------------------- send matrix
    def send_cases(self, tag, binary, scheme):
        gw = self.gw
        ca = ["--ca-file", gw.ca] if scheme.startswith("https") else []

        def send(mode="", sm="hmac-sha256", extra=(), order=EXAMPLE, env=None, timeout=30,
                 url=None):
            args = ["send", "--app-key", APP_KEY, "--sign-method", sm,
                    "--url", url or gw.url(scheme, mode)] + ca + list(extra) + [order]
            return run(binary, args, env=env, timeout=timeout)

        for sm in SIGN_METHODS:
            p = "%s/%s/%s/" % (tag, scheme, sm)

            def accepted(mode, sm=sm, extra=(), insure_id="INS-12345"):
                return lambda: check_outcome(send(mode, sm, extra), 0, "accepted",
                                             insure_id=insure_id, request_id=nonempty)
            self.add(p + "accepted", accepted(""))
            self.add(p + "simplify accepted", accepted("", extra=("--simplify",)))
            self.add(p + "chunked accepted", accepted("chunked"))
            self.add(p + "slow accepted", accepted("slow"), slow=True)
            self.add(p + "close-delimited accepted", accepted("close-delimited"))
            self.add(p + "unicode escapes decoded", accepted("unicode", insure_id=UNICODE_ID))
            self.add(p + "unknown answer fields skipped", accepted("extra-fields"))
            self.add(p + "simplify unicode accepted",
                     accepted("unicode", extra=("--simplify",), insure_id=UNICODE_ID))
            self.add(p + "refused", lambda sm=sm: check_outcome(
                send("refuse", sm), 1, "refused", error_code="PARAM_ERROR", error_msg=nonempty,
                request_id=nonempty))
            self.add(p + "bad secret is platform error 25", lambda sm=sm: check_outcome(
                send("", sm, env=base_env(ICBU_REFLOW_APP_SECRET=BAD_SECRET)), 2,
                "platform_error", code=25, msg=nonempty, request_id=nonempty))
            self.add(p + "badsign-always is platform error 25", lambda sm=sm: check_outcome(
                send("badsign-always", sm), 2, "platform_error", code=25))
            self.add(p + "isp is platform error 15", lambda sm=sm: check_outcome(
                send("isp", sm), 2, "platform_error", code=15,
                sub_code="isp.remote-connection-error", sub_msg=nonempty, msg=nonempty))
            self.add(p + "code7 is platform error 7", lambda sm=sm: check_outcome(
                send("code7", sm), 2, "platform_error", code=7, msg=nonempty))
            self.add(p + "truncated is a transport error", lambda sm=sm: check_outcome(
                send("truncated", sm), 3, "transport_error", stage=stage_in("receive", "http")))
            self.add(p + "oversized is a transport error", lambda sm=sm: check_outcome(
                send("oversized", sm), 3, "transport_error", stage=nonempty))
            self.add(p + "malformed is a parse error", lambda sm=sm: check_outcome(
                send("malformed", sm), 3, "transport_error", stage="parse"))
            for st in (500, 503):
                self.add(p + "status%d is an http error" % st, lambda sm=sm, st=st: check_outcome(
                    send("status%d" % st, sm), 3, "transport_error", stage="http",
                    detail=lambda d: isinstance(d, str) and str(st) in d))
            for mode in ("reset", "reset-before"):
                self.add(p + mode + " is a send/receive error", lambda sm=sm, mode=mode: check_outcome(
                    send(mode, sm), 3, "transport_error", stage=stage_in("send", "receive")))
            for mode in ("cl-te", "folded"):
                self.add(p + mode + " is an http error", lambda sm=sm, mode=mode: check_outcome(
                    send(mode, sm), 3, "transport_error", stage="http"))

            def stall(sm=sm):
                r = send("stall", sm, extra=("--timeout", "1500"), timeout=15)
                check_outcome(r, 3, "transport_error", stage=nonempty)
                expect(r.elapsed < 5, "took %.1f s" % r.elapsed)
                expect(r.elapsed >= 1.2, "gave up after %.2f s, before the 1.5 s timeout" % r.elapsed)
            self.add(p + "stall times out (--timeout 1500)", stall, slow=True)

        p = "%s/%s/" % (tag, scheme)

        def slow_deadline():
            r = send("slow", extra=("--timeout", "600"), timeout=15)
            check_outcome(r, 3, "transport_error", stage=nonempty)
            expect(r.elapsed < 1.3, "the whole-exchange deadline did not hold: %.2f s" % r.elapsed)
        self.add(p + "--timeout bounds the whole exchange (slow, 600 ms)", slow_deadline, slow=True)

        if scheme.startswith("https"):
            self.add(p + "wrong CA is a tls error", lambda: check_outcome(
                run(binary, ["send", "--app-key", APP_KEY, "--url", gw.url(scheme),
                             "--ca-file", gw.wrong_ca, EXAMPLE]),
                3, "transport_error", stage="tls"))
            self.add(p + "system bundle does not trust the test CA", lambda: check_outcome(
                run(binary, ["send", "--app-key", APP_KEY, "--url", gw.url(scheme),
                             "--timeout", "5000", EXAMPLE]),
                3, "transport_error", stage="tls"))
            for bad_ca, what in (("/etc/ssl/certs", "a directory"), ("/dev/zero", "an endless device")):
                self.add(p + "a CA file that is %s is a tls error, at once" % what,
                         lambda bad_ca=bad_ca: check_outcome(
                             run(binary, ["send", "--app-key", APP_KEY, "--url", gw.url(scheme),
                                          "--ca-file", bad_ca, "--timeout", "5000", EXAMPLE], timeout=10),
                             3, "transport_error", stage="tls",
                             detail="cannot load CA file %s: not a regular file" % bad_ca))

            def fifo_ca():
                # Item b: the CA file is checked before it is opened: opening a FIFO would
                # wait for a writer, past --timeout.
                fifo = os.path.join(self.tmp, "ca-%s-%s.fifo" % (tag, os.urandom(4).hex()))
                os.mkfifo(fifo)
                r = run(binary, ["send", "--app-key", APP_KEY, "--url", gw.url(scheme),
                                 "--ca-file", fifo, "--timeout", "3000", EXAMPLE], timeout=10)
                check_outcome(r, 3, "transport_error", stage="tls",
                              detail="cannot load CA file %s: not a regular file" % fifo)
                expect(r.elapsed < 2, "took %.1f s" % r.elapsed)
                expect(b"settings error" in r.err and b"--ca-file" in r.err,
                       "stderr does not name --ca-file: %s" % r.why())
            self.add(p + "a CA file that is a FIFO is a tls error, at once", fifo_ca)
            self.add(p + "certificate for another host name is a tls error", lambda: check_outcome(
                run(binary, ["send", "--app-key", APP_KEY, "--ca-file", gw.ca,
                             "--url", gw.url("https", port=gw.badname), EXAMPLE]),
                3, "transport_error", stage="tls"))
            def alert_flood():
                flood = AlertFlood()
                try:
                    r = run(binary, ["send", "--app-key", APP_KEY, "--ca-file", gw.ca,
                                     "--retries", "0", "--timeout", "1500", "--url",
                                     "https://127.0.0.1:%d/router/rest" % flood.port, EXAMPLE],
                            timeout=20)
                finally:
                    flood.close()
                check_outcome(r, 3, "transport_error", stage="tls")
                expect(r.elapsed < 3.5, "--timeout 1500 did not hold: %.2f s" % r.elapsed)
            self.add(p + "--timeout holds while the peer floods TLS alerts", alert_flood)
            # Two faults at once (an unrelated CA and another host name): mbedTLS reports
            # each on a line of its own, which the detail joins with "; ".
            self.add(p + "certificate for another host name by an unrelated CA is a tls error "
                     "naming what failed", lambda: check_outcome(
                run(binary, ["send", "--app-key", APP_KEY, "--ca-file", gw.wrong_ca,
                             "--url", gw.url("https", port=gw.badname), EXAMPLE]),
                3, "transport_error", stage="tls",
                detail=lambda d: isinstance(d, str) and "\n" not in d and d.isprintable() and
                ("-bearssl" in binary or ("CN" in d and "trusted CA" in d and "; " in d))))

        # Item d: a host name that can never resolve is refused by the transport before any
        # lookup (no DNS: these tests never leave the machine), once: no retries.
        label63 = "a" * 63
        for what, host in (("longer than 253 bytes", ".".join(["h" * 60] * 5)),
                           ("of 254 bytes", ".".join([label63] * 3) + "." + "c" * 62),
                           ("with a label of 64 bytes", "a" * 64 + ".example.com"),
                           ("with a '!'", "bad!host.example.com"),
                           ("with an empty label", "gw..example.com"),
                           ("with a non-ASCII byte", "gw.exämple.com"),
                           ("that is not an IPv6 address", "[1:::2]")):
            def never_resolves(host=host):
                r = send(url="%s://%s/router/rest" % (scheme[:5], host),
                         extra=("--retries", "3"), timeout=10)
                check_outcome(r, 3, "transport_error", stage="connect",
                              detail=lambda d: isinstance(d, str) and "invalid host name" in d)
                expect(b"attempts" not in r.err, "it was retried: %s" % r.why())
                expect(r.elapsed < 1.5, "took %.1f s" % r.elapsed)
                expect(b"settings error" in r.err and b"--url" in r.err,
                       "stderr does not name --url: %s" % r.why())
            self.add(p + "a host name %s is refused at once, not retried" % what, never_resolves)

        self.add(p + "connection refused is a connect error", lambda: check_outcome(
            send(url="%s://127.0.0.1:%d/router/rest" % (scheme[:5], free_port())),
            3, "transport_error", stage="connect"))

        def tls_versions():
            ver = run(binary, ["--version"]).out.decode("utf-8", "replace")
            m = re.search(r"TLS: mbedTLS (\d+)\.", ver)
            best = "TLSv1.3" if m and int(m.group(1)) >= 3 else "TLSv1.2"   # 2.28, BearSSL: 1.2
            for sch, want in (("https", best), ("https12", "TLSv1.2")):
                biz = "it-tls-%s-%s-%s" % (tag, sch, os.urandom(4).hex())
                path, _ = self.order_file(lambda o: o.__setitem__("external_biz_id", biz))
                check_outcome(send(order=path, url=gw.url(sch)), 0, "accepted", insure_id="INS-" + biz)
                got = [e.get("tls") for e in gw.accepted() if e["external_biz_id"] == biz]
                expect(got == [want], "%s: the gateway agreed on %s, expected %s (%s)"
                       % (sch, got, want, ver.strip()))
        if scheme == "https":
            self.add(p + "TLS 1.3 where the TLS library has it, and 1.2 on a 1.2-only server",
                     tls_versions)

        def delivered_once():
            biz = "it-%s-%s-%s" % (tag, scheme, os.urandom(4).hex())
            path, _ = self.order_file(lambda o: o.__setitem__("external_biz_id", biz))
            check_outcome(send("", "hmac", order=path), 0, "accepted", insure_id="INS-" + biz)
            check_outcome(send("", "md5", order=path), 0, "accepted", insure_id="INS-" + biz)
            got = [e for e in gw.accepted() if e["external_biz_id"] == biz]
            expect(len(got) == 2 and [e["sign_method"] for e in got] == ["hmac", "md5"],
                   "gateway log for %s: %s" % (biz, got))
        self.add(p + "each send is one delivery; re-send gives the same insure_id", delivered_once)

        def memo_refuse():
            path, _ = self.order_file(lambda o: o.__setitem__("memo", "refuse"))
            check_outcome(send(order=path), 1, "refused", error_code="PARAM_ERROR")
        self.add(p + "business refusal (memo=refuse)", memo_refuse)

        def no_biz_id():
            path, _ = self.order_file(lambda o: o.pop("external_biz_id"))
            check_outcome(send(order=path), 1, "refused", error_code="PARAM_ERROR")
        self.add(p + "business refusal (no external_biz_id)", no_biz_id)

        self.add(p + "stale --timestamp is platform error 31", lambda: check_outcome(
            send(extra=("--timestamp", "2022-10-11 00:00:00")), 2, "platform_error", code=31))
        self.add(p + "timestamp is GMT+8 whatever TZ says", lambda: check_outcome(
            send(env=base_env(TZ="America/Los_Angeles")), 0, "accepted", insure_id="INS-12345"))
        self.add(p + "session, partner_id and simplify are signed", lambda: check_outcome(
            send(extra=("--session", "tok en+/é", "--partner-id", "icbu-reflow-it", "--simplify")),
            0, "accepted", insure_id="INS-12345"))
        self.add(p + "app key from the environment", lambda: check_outcome(
            run(binary, ["send", "--url", gw.url(scheme)] + ca + [EXAMPLE],
                env=base_env(ICBU_REFLOW_APP_KEY=APP_KEY)), 0, "accepted"))
        self.add(p + "secret from --secret", lambda: check_outcome(
            run(binary, ["send", "--app-key", APP_KEY, "--secret", SECRET,
                         "--url", gw.url(scheme)] + ca + [EXAMPLE],
                env=base_env(ICBU_REFLOW_APP_SECRET=None)), 0, "accepted"))
        self.add(p + "order from standard input", lambda: check_outcome(
            run(binary, ["send", "--app-key", APP_KEY, "--url", gw.url(scheme)] + ca + ["-"],
                stdin=open(EXAMPLE, "rb").read()), 0, "accepted", insure_id="INS-12345"))

        def big():
            path, o = self.big_order("%s-%s" % (tag, scheme))
            check_outcome(send(order=path, timeout=60), 0, "accepted",
                          insure_id="INS-" + o["external_biz_id"])
        self.add(p + "1 MiB order is accepted", big, slow=True)

        def invalid_not_sent():
            path = self.write("bad.json", '{"amount":1.5}')
            r = send(order=path)
            expect(r.rc == 4 and r.out == b"", "expected exit 4, empty stdout: %s" % r.why())
            expect(b"amount" in r.err, "stderr does not name amount: %s" % r.why())
        self.add(p + "invalid order is not sent (exit 4)", invalid_not_sent)

    # ---------------------------------------------------------- examples/layered_curl.c
    def curl_cases(self, binary):
        """The layered API with libcurl (build/layered-curl URL EXTERNAL_BIZ_ID): its one line."""
        gw = self.gw
        p = "example/layered-curl/"

        def curl(mode, biz, secret=SECRET, out=None, rc=0):
            """out: the line printed; for a failure ("failed: "), how it begins."""
            r = run(binary, [gw.url("http", mode), biz],
                    env=base_env(ICBU_REFLOW_APP_KEY=APP_KEY, ICBU_REFLOW_APP_SECRET=secret))
            want = out.encode("utf-8")
            expect(r.rc == rc and (r.out == want or (want == b"failed: " and r.out.startswith(want)
                                                      and r.out.count(b"\n") == 1)),
                   "expected exit %d and %r: %s" % (rc, out, r.why()))
            return r

        def accepted():
            biz = "it-curl-%s" % os.urandom(4).hex()
            curl("", biz, out="accepted INS-%s\n" % biz)
            got = [e for e in gw.accepted() if e["external_biz_id"] == biz]
            expect(len(got) == 1 and got[0]["sign_method"] == "hmac-sha256",
                   "gateway log for %s: %s" % (biz, got))
        self.add(p + "signs, POSTs with libcurl, parses: accepted", accepted)
        self.add(p + "refused", lambda: curl(
            "refuse", "it-curl-refuse", out="refused PARAM_ERROR: 订单被拒绝 (order refused on request)\n",
            rc=1))
        self.add(p + "a wrong secret is platform error 25", lambda: curl(
            "", "it-curl-25", secret=BAD_SECRET, out="platform error 25: Invalid signature\n", rc=2))
        self.add(p + "an answer that is not JSON fails", lambda: curl(
            "malformed", "it-curl-malformed", out="failed: ", rc=3))
        self.add(p + "HTTP 503 fails", lambda: curl(
            "status503", "it-curl-503", out="failed: ", rc=3))

        def control_bytes():
            # The gateway's text with a line break and an escape sequence: still one line.
            peer = FixedAnswer(json.dumps({"error_response": {
                "code": 15, "msg": "one\naccepted FAKE\u001b[2K\u007f\u009b2J\u0085é",
                "sub_code": "isv.x", "request_id": "r1"}}).encode())
            try:
                r = run(binary, ["http://127.0.0.1:%d/router/rest" % peer.port, "it-curl-ctl"],
                        env=base_env(ICBU_REFLOW_APP_KEY=APP_KEY, ICBU_REFLOW_APP_SECRET=SECRET))
            finally:
                peer.close()
            # C0 controls, DEL, and the C1 controls CSI and NEL (in UTF-8) are '?'; é is not.
            expect(r.rc == 2 and
                   r.out == "platform error 15: one?accepted FAKE?[2K??2J?é\n".encode(),
                   "expected one line with '?' for the control bytes: %s" % r.why())
        self.add(p + "the gateway's control bytes cannot start a line of their own",
                 control_bytes)

        def empty_secret():
            here = os.path.dirname(binary)           # build/ (minimal), or build/asan/ (none)
            minimal = [m for m in (os.path.join(here, "minimal"),
                                   os.path.join(os.path.dirname(here), "minimal"))
                       if os.access(m, os.X_OK)][:1]
            for prog, args in [(binary, [gw.url("http"), "it-curl-empty"])] + \
                    [(m, []) for m in minimal]:
                r = run(prog, args, env=base_env(ICBU_REFLOW_APP_KEY=APP_KEY,
                                                 ICBU_REFLOW_APP_SECRET=""))
                expect(r.rc == 64 and r.out == b"", "%s: %s" % (os.path.basename(prog), r.why()))
        self.add(p + "an empty secret is refused (exit 64), as in build/minimal", empty_secret)

    def big_order(self, tag):
        with open(EXAMPLE, encoding="utf-8") as f:
            o = json.load(f)
        o["external_biz_id"] = "big-%s-%s" % (tag, os.urandom(3).hex())
        item = o["subject_matter_info"]["goods_item_list"][0]
        items = []
        size = 0
        i = 0
        while size < (1 << 20):
            it = dict(item, item_code="C%06d" % i, item_quantity=i,
                      item_desc="货物 %d \"quoted\" & more/é" % i,
                      item_url_list=["https://example.com/p?id=%d&x=1" % i, "sss"])
            size += len(json.dumps(it, ensure_ascii=False).encode("utf-8")) + 1
            items.append(it)
            i += 1
        o["subject_matter_info"]["goods_item_list"] = items
        text = json.dumps(o, ensure_ascii=False)
        return self.write("big.json", text), o

    # ---------------------------------------------------------- offline cases
    def offline_cases(self, tag, binary):
        p = tag + "/"
        with open(EXAMPLE, encoding="utf-8") as f:
            example = json.load(f)

        def sign_check(args, expected, sm, params=None, stdin=None, ts=FIXED_TS):
            r = run(binary, ["sign", "--app-key", APP_KEY] + args, stdin=stdin)
            expect(r.rc == 0, "exit %s: %s" % (r.rc, r.why()))
            expect(r.err == b"", "stderr not empty: %s" % r.why())
            expect(r.out.endswith(b"\n") and r.out.count(b"\n") == 1,
                   "stdout is not one line: %s" % r.why())
            body = r.out[:-1].decode("utf-8", "replace")
            want = dict(params or {}, sign_method=sm)
            res, got = check_body.check_body(body, SECRET, expected, APP_KEY, ts, want)
            bad = ["%s: %s" % (n, d) for ok, n, d in res if not ok]
            expect(not bad, "; ".join(bad))
            return body

        for sm in SIGN_METHODS:
            self.add(p + "sign/%s body checks out" % sm, lambda sm=sm: sign_check(
                ["--sign-method", sm, "--timestamp", FIXED_TS, EXAMPLE], example, sm))
        self.add(p + "sign/default sign method is hmac-sha256", lambda: sign_check(
            ["--timestamp", FIXED_TS, EXAMPLE], example, "hmac-sha256"))
        self.add(p + "sign/session, partner_id, simplify", lambda: sign_check(
            ["--timestamp", FIXED_TS, "--session", "tok en+/é", "--partner-id", "p-1",
             "--simplify", EXAMPLE], example, "hmac-sha256",
            {"session": "tok en+/é", "partner_id": "p-1", "simplify": "true"}))
        self.add(p + "sign/order from standard input", lambda: sign_check(
            ["--timestamp", FIXED_TS, "-"], example, "hmac-sha256",
            stdin=open(EXAMPLE, "rb").read()))

        def deterministic():
            a = sign_check(["--timestamp", FIXED_TS, EXAMPLE], example, "hmac-sha256")
            b = sign_check(["--timestamp", FIXED_TS, EXAMPLE], example, "hmac-sha256")
            expect(a == b, "two runs differ")
        self.add(p + "sign/deterministic", deterministic)

        def default_timestamp():
            r = run(binary, ["sign", "--app-key", APP_KEY, EXAMPLE],
                    env=base_env(TZ="America/Los_Angeles"))
            expect(r.rc == 0, r.why())
            res, got = check_body.check_body(r.out.decode().strip(), SECRET, example)
            ts = datetime.datetime.strptime(got.get("timestamp", ""), "%Y-%m-%d %H:%M:%S")
            skew = abs((datetime.datetime.now(GMT8).replace(tzinfo=None) - ts).total_seconds())
            expect(skew < 120, "default timestamp %s is %d s off GMT+8 now" % (ts, skew))
        self.add(p + "sign/default timestamp is now in GMT+8 (TZ=America/Los_Angeles)",
                 default_timestamp)

        def awkward_strings():
            def mut(o):
                o["memo"] = "a b+c&d=e%f/g?h#i~j'k(l)m!n*o-p_q.r \"q\" \\ \t\n\u0001 é中😀 \u2028"
                o["echo"] = ""
                o["insured"]["name"] = "Ünïcödé 张三"
            path, o = self.order_file(mut)
            sign_check(["--timestamp", FIXED_TS, path], o, "hmac-sha256")
        self.add(p + "sign/escaping and form encoding of awkward strings", awkward_strings)

        def minimal():
            path = self.write("min.json", '{"external_biz_id":"1"}')
            sign_check(["--timestamp", FIXED_TS, path], {"external_biz_id": "1"}, "hmac-sha256")
        self.add(p + "sign/minimal order", minimal)

        def big_sign():
            path, o = self.big_order(tag)
            sign_check(["--timestamp", FIXED_TS, path], o, "hmac-sha256")
        self.add(p + "sign/1 MiB order", big_sign, slow=True)

        # parse
        def parse_case(name, text, rc, outcome, exact=None, stdin=False, **fields):
            def f():
                path = self.write("resp.json", text)
                r = run(binary, ["parse", "-" if stdin else path],
                        stdin=text.encode("utf-8") if stdin else None)
                check_outcome(r, rc, outcome, exact=exact, **fields)
            self.add(p + "parse/" + name, f)

        parse_case("accepted", '{"%s":{"result":{"success":true,"insure_id":"111111"},'
                   '"request_id":"r1"}}' % ENVELOPE, 0, "accepted",
                   exact={"outcome": "accepted", "insure_id": "111111", "request_id": "r1"})
        parse_case("API document sample", '{"%s":{"result":{"success":true,"insure_id":"111111",'
                   '"error_code":"SYSTEM_ERROR","error_msg":"SYSTEM_ERROR"}}}' % ENVELOPE,
                   0, "accepted", insure_id="111111")
        parse_case("simplified refusal", '{"result":{"success":false,"error_code":"PARAM_ERROR",'
                   '"error_msg":"缺少 \\"x\\" \\\\ \\n\\u0001"},"request_id":"r2"}', 1, "refused",
                   exact={"outcome": "refused", "error_code": "PARAM_ERROR",
                          "error_msg": "缺少 \"x\" \\ \n\u0001", "request_id": "r2"})
        parse_case("platform error, all fields", '{"error_response":{"code":50,"msg":"Remote service'
                   ' error","sub_code":"isv.invalid-parameter","sub_msg":"非法参数",'
                   '"request_id":"r3"}}', 2, "platform_error",
                   exact={"outcome": "platform_error", "code": 50, "msg": "Remote service error",
                          "sub_code": "isv.invalid-parameter", "sub_msg": "非法参数",
                          "request_id": "r3"})
        parse_case("platform error, absent fields left out",
                   '{"error_response":{"code":25,"msg":"Invalid signature"}}', 2, "platform_error",
                   exact={"outcome": "platform_error", "code": 25, "msg": "Invalid signature"})
        parse_case("unicode escapes", '{"%s":{"result":{"success":true,"insure_id":"INS-12345-'
                   '\\u4e2d\\ud83d\\ude00"},"request_id":"a\\/b"}}' % ENVELOPE, 0, "accepted",
                   exact={"outcome": "accepted", "insure_id": UNICODE_ID, "request_id": "a/b"})
        parse_case("whitespace and unknown fields", ' {\n "x": [1, 2.5e3, null, {"y": true}],\n'
                   ' "%s" : { "result" : { "extra": {"a":[]}, "success" : true , "insure_id" : '
                   '"9" } , "request_id" : "r" } }\n' % ENVELOPE, 0, "accepted", insure_id="9")
        parse_case("from standard input", '{"error_response":{"code":7,"msg":"App Call Limited"}}',
                   2, "platform_error", stdin=True, code=7)
        parse_case("malformed", '{"%s":{"result":{"success":tru' % ENVELOPE, 3, "transport_error",
                   stage="parse")
        parse_case("JSON that is not a TOP answer", '{"foo":1}', 3, "transport_error", stage="parse")
        parse_case("empty", '', 3, "transport_error", stage="parse")
        parse_case("trailing garbage", '{"error_response":{"code":25,"msg":"m"}} x', 3,
                   "transport_error", stage="parse")

        # invalid orders
        def invalid(name, text, path_named=None):
            def f():
                path = self.write("invalid.json", text)
                r = run(binary, ["sign", "--app-key", APP_KEY, path])
                expect(r.rc == 4, "exit %s, expected 4: %s" % (r.rc, r.why()))
                expect(r.out == b"", "stdout not empty: %s" % r.why())
                expect(r.err.strip() != b"", "no message on stderr")
                if path_named:
                    expect(path_named.encode("utf-8") in r.err,
                           "stderr does not name %s: %s" % (path_named, clip(r.err)))
            self.add(p + "invalid order/" + name, f)

        ex = open(EXAMPLE, "rb").read()
        o = json.loads(ex)
        o["insured"]["license_valid_time_until"] = "20251001"
        invalid("unknown field", json.dumps(o, ensure_ascii=False).encode(),
                "insured.license_valid_time_until")
        o = json.loads(ex)
        o["insured"]["a\u001b[2J\u009b31m\u0085é"] = "x"
        # Control characters of a key (C0, and C1 in UTF-8: CSI, NEL) are '?' on stderr.
        invalid("unknown field with control characters", json.dumps(o, ensure_ascii=False).encode(),
                "invalid order: unknown field at insured.a?[2J?31m?é\n")
        invalid("bad Date", ex.replace(b'"2022-10-11 00:00:00"', b'"2022-10-11T00:00:00"'),
                "insure_time")
        invalid("impossible Date", ex.replace(b'"2022-10-11 00:00:00"', b'"2022-02-30 00:00:00"'),
                "insure_time")
        invalid("fractional Number", ex.replace(b'"amount": 10', b'"amount": 10.5'), "amount")
        invalid("exponent Number", ex.replace(b'"amount": 10', b'"amount": 1e3'), "amount")
        invalid("Number beyond int64", ex.replace(b'"amount": 10', b'"amount": 9223372036854775808'),
                "amount")
        invalid("nested fractional Number", ex.replace(b'"item_quantity": 11', b'"item_quantity": 1.5'),
                "subject_matter_info.goods_item_list[0].item_quantity")
        invalid("wrong type", ex.replace(b'"amount": 10', b'"amount": "10"'), "amount")
        invalid("duplicate key", ex.replace(b'"amount": 10,', b'"amount": 10, "amount": 11,'),
                "amount")
        invalid("trailing garbage", ex + b"x")
        invalid("invalid UTF-8", ex.replace(b'"memo": "xxx"', b'"memo": "x\xff\xfex"'))
        invalid("top-level array", b"[" + ex + b"]")
        invalid("empty input", b"")

        # usage
        def usage(name, args, env=None):
            def f():
                r = run(binary, args, env=env)
                expect(r.rc == 64, "exit %s, expected 64: %s" % (r.rc, r.why()))
                expect(r.out == b"", "stdout not empty: %s" % r.why())
            self.add(p + "usage/" + name, f)
        usage("no arguments", [])
        usage("unknown command", ["frobnicate", EXAMPLE])
        usage("unknown option", ["sign", "--app-key", APP_KEY, "--bogus", EXAMPLE])
        usage("bad --sign-method", ["sign", "--app-key", APP_KEY, "--sign-method", "sha1", EXAMPLE])
        usage("missing ORDER", ["sign", "--app-key", APP_KEY])
        usage("missing secret", ["sign", "--app-key", APP_KEY, EXAMPLE],
              env=base_env(ICBU_REFLOW_APP_SECRET=None))
        usage("bad --timestamp", ["sign", "--app-key", APP_KEY, "--timestamp", "yesterday", EXAMPLE])
        usage("parse without RESPONSE", ["parse"])

        # Item e: no usage error prints a value given to an option, the secret least of all
        # (run() fails a case whose output holds SECRET or BAD_SECRET; here not even 6
        # characters of its random part).
        def never_echoed(name, args):
            def f():
                r = run(binary, args)
                expect(r.rc == 64 and r.out == b"", "exit %s, expected 64: %s" % (r.rc, r.why()))
                rnd = SECRET_RANDOM.encode()
                shown = [rnd[i:i + 6] for i in range(len(rnd) - 5) if rnd[i:i + 6] in r.err]
                expect(not shown, "stderr shows part of the value (%r): %s" % (shown, r.why()))
                return r
            self.add(p + "usage/" + name, f)
            return f
        for opt in ("--secret" + SECRET, "--Secret" + SECRET, "--secret_" + SECRET,
                    "--secrett=" + SECRET, "--secret-x=" + SECRET, "--SECRET=" + SECRET,
                    "--app-key" + SECRET, "--url" + SECRET, "--simplify" + SECRET,
                    "--simplify=" + SECRET, "--help=" + SECRET, "-" + SECRET, "-s" + SECRET,
                    "---secret" + SECRET, "--xsecret" + SECRET, "--my-secret" + SECRET,
                    "--the_Secret" + SECRET):
            never_echoed("unknown option %s never shows the value" % opt.replace(SECRET, "VALUE"),
                         ["sign", "--app-key", APP_KEY, opt, EXAMPLE])
        for opt in ("--sign-method", "--timestamp", "--timeout", "--retries", "--url"):
            never_echoed("a bad value of %s is not shown" % opt,
                         ["send", "--app-key", APP_KEY, opt, SECRET, EXAMPLE])

        # An option pasted from typeset text, with a dash that is not '-' (U+2014 here), is
        # no option: it was taken for ORDER, and "cannot read" showed it, the secret with it.
        for dash in ("\u2014", "\u2013", "\u2212"):
            never_echoed("%s before an option name is refused, its value not shown" %
                         ascii(dash).strip("'"), ["send", "--app-key", APP_KEY,
                                                  dash + "secret=" + SECRET])

        def glued_named():
            r = run(binary, ["sign", "--app-key", APP_KEY, "--secret" + SECRET, EXAMPLE])
            expect(r.rc == 64 and b"'--secret...'" in r.err and b"--secret=VALUE" in r.err,
                   "the message does not point at --secret: %s" % r.why())
            r = run(binary, ["sign", "--app-key", APP_KEY, "--bogus", EXAMPLE])
            expect(r.rc == 64 and b"'--bogus'" in r.err, "an unknown name is shown: %s" % r.why())
        self.add(p + "usage/--secretVALUE is named as --secret with a value", glued_named)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build", help="directory of the binaries (default: build)")
    ap.add_argument("--only", default=None, help="run the cases whose name contains PATTERN")
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--binaries", default="",
                    help="only these of icbu-reflow-{mbedtls,psa,bearssl}, e.g. mbedtls,psa "
                         "(and no offline cases for the others)")
    ap.add_argument("--schemes", default="http,https",
                    help="the send matrix's schemes, of http, https and https12 (HTTPS on a "
                         "server limited to TLS 1.2); default http,https")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    a = ap.parse_args()
    bindir = a.bin if os.path.isabs(a.bin) else os.path.join(ROOT, a.bin)

    def exists(name):
        path = os.path.join(bindir, name)
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    matrix = [(n.split("-")[-1], exists(n))
              for n in ("icbu-reflow-mbedtls", "icbu-reflow-psa", "icbu-reflow-bearssl")]
    matrix = [(t, b) for t, b in matrix if b]
    if a.binaries:
        keep = a.binaries.split(",")
        matrix = [(t, b) for t, b in matrix if t in keep]
    plain = exists("icbu-reflow")
    offline = list(matrix) + ([("plain", plain)] if plain and not a.binaries else [])
    if not matrix and plain:
        matrix = [("plain", plain)]

    tmp = tempfile.mkdtemp(prefix="icbu-it-")
    gw = Gateway(tmp)
    suite = Suite(gw, tmp, matrix, offline)
    try:
        suite.gateway_cases()
        for tag, b in matrix:
            for scheme in a.schemes.split(","):
                suite.send_cases(tag, b, scheme)
        for tag, b in offline:
            suite.offline_cases(tag, b)
        curl = exists("layered-curl")
        if curl:
            suite.curl_cases(curl)
        elif not a.binaries:
            def no_curl_example():
                raise Fail("no layered-curl in %s (make examples builds it)" % bindir)
            suite.add("example/layered-curl exists", no_curl_example)
        if not offline:
            def no_binaries():
                raise Fail("none of icbu-reflow-mbedtls, icbu-reflow-bearssl, icbu-reflow")
            suite.add("binaries exist in %s" % bindir, no_binaries)

        def selected(name):
            return gateway_proc.selected(name, a.only)
        cases = [c for c in suite.cases if selected(c[0])]
        cases.sort(key=lambda c: not c[2])          # slow ones first, to pack the pool
        results = []
        t0 = time.monotonic()

        def go(case):
            gateway_proc.run_case(case[0], case[1], results)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
            list(pool.map(go, cases))
    finally:
        gw.stop()

    # The gateway must not print the secret either.
    with open(gw.log.name, "rb") as f:
        glog = f.read()
    leaked = SECRET.encode("utf-8") in glog
    if selected("gateway/never prints the secret"):
        print("not ok - gateway/never prints the secret: found in %s" % gw.log.name
              if leaked else "ok - gateway/never prints the secret")
        results.append((not leaked, "gateway/never prints the secret", ""))
    return gateway_proc.finish(results, t0, "binaries: %s" % (
        ", ".join(b for _, b in offline) or "none"), tmp, a.keep)


if __name__ == "__main__":
    sys.exit(main())
