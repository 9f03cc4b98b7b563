#!/usr/bin/env python3
"""A local TOP (Taobao Open Platform) gateway for tests and the demo.

It answers alibaba.finance.insurance.icbu.insure.order.callback the way the real
gateway does (HTTP 200 + JSON), checks the system parameters, the signature
(md5, hmac, hmac-sha256) and the order JSON against tests/schema.json, and can
misbehave on purpose (fault injection) when the request path carries a mode:

    http://127.0.0.1:P/router/rest              normal
    http://127.0.0.1:P/f/<mode>/router/rest     fault mode <mode> (see MODES)

The random modes (RANDOM_PROFILES) pick a fault per request, from a seeded
generator: the n-th request of mode M gets the n-th draw for (--fault-seed, M),
so a run of requests made one after another is reproducible. A fault that hits
after the order was accepted ("reset", "stall", "truncated": the answer is lost)
is logged in accepted.jsonl with "lost": true, and so is an accepted order whose
client has already closed the connection (given up: "client_gone": true) when
the answer is about to be sent; every random-mode request is logged in
faults.jsonl ({"mode", "seq", "fault"}, "" for none).

One order can be made to fail on its own, whatever the path says: an order whose
external_biz_id begins with "fault=<mode>/" (fault=status503/o-1) is answered in that
fault mode (any mode of MODES but the random ones and reset-before, which acts before
the request is read), on a normal or a fault-mode path alike. The orders around it are
answered as their path says: a "poison" order among good ones.

Persistent connections. An HTTP/1.1 request without "Connection: close" whose answer
is a normal one (modes "", unicode, extra-fields, refuse, code41, isp, code7,
badsign-always; a random mode's answers without a fault) is answered with
"Connection: keep-alive" and the connection waits for the next request; an idle one is
closed after --idle-timeout seconds (5). Every other answer (the fault modes, 4xx, 5xx,
HTTP/1.0 requests, a request saying "Connection: close") says "Connection: close" and
closes. How connections are kept is set for every request with --keep-alive SPEC, and
for one request by a path prefix /ka/SPEC (its tokens over --keep-alive's):

    http://127.0.0.1:P/ka/max3-chunked/router/rest
    http://127.0.0.1:P/ka/drop2/f/refuse/router/rest    (with a fault mode after it)

SPEC is tokens joined by "-" (see KEEP_TOKENS): off (never keep), maxN (the N-th answer
on a connection says "Connection: close", then it closes: announced), silentN (closes
right after the N-th answer, which said keep-alive: no Connection: close), dropN (reads
the request after the N-th and closes without answering it: the race of a server closing
an idle connection as a request arrives), rstN (resets the connection with an RST when
the request after the N-th arrives), idleS (the idle timeout, seconds), chunked / length
(the answers' framing: chunked with an extension and a trailer, or Content-Length), cd
or cdN (every answer, or the N-th, close-delimited: no length, no Connection header,
then close), http10 (answers "HTTP/1.0 200" with a length and no Connection header).
A server-side close without RST sends TLS close_notify (without waiting for the
client's), so the TLS session stays resumable, as nginx's keep-alive timeout does; an
RST drops the session from the session-ID cache (OpenSSL's rule). TLS sessions resume
with session IDs and tickets (TLS 1.2) and tickets (TLS 1.3), Python's ssl defaults;
--no-resumption gives every connection a TLS context of its own, so that none resumes.

Usage:
    python3 tools/top_gateway.py --http-port P --https-port Q --app-key K \
        --secret S --state-dir DIR [--badname-port R] [--tls12-port T] [--key-type rsa|ec] [--quiet]
        [--fault-seed N] [--fault-stall SECONDS] [--keep-alive SPEC] [--idle-timeout SECONDS]
        [--no-resumption]

Ports 0 pick free ones. On start it writes into DIR:
    ca.pem          the throw-away CA that signed the server certificate (trust this)
    wrong-ca.pem    an unrelated CA with the same name (must NOT be trusted)
    ports           "http=<port> https=<port>" once both servers listen (and
                    " https12=<port>" with --tls12-port: HTTPS limited to TLS 1.2)
    badname-port    (only with --badname-port) a TLS port whose certificate, signed by
                    ca.pem, names only "wrong.invalid": hostname checks must fail
    accepted.jsonl  one JSON line per accepted order, with "tls": the version the
                    handshake agreed on, or null (random modes add "fault", "lost", "seq")
    faults.jsonl    one JSON line per request in a random mode
    connections.jsonl  one line when a connection is accepted (after its TLS handshake):
                    {"event": "open", "conn": ID, "listener": "http|https|https12|...",
                    "tls": version or null, "resumed": the handshake resumed a session};
                    {"event": "handshake_failed", "listener"} for a failed handshake; and
                    {"event": "close", "conn", "requests": N, "why"} once it is closed
    requests.jsonl  one line per request read, written before its answer is sent:
                    {"conn": ID, "n": its place on the connection (1, 2, ...), "listener",
                    "mode", "ka": the keep-alive SPEC in force, "biz": the order's
                    external_biz_id or null, "version": the request's HTTP version,
                    "close": it said Connection: close, "result", "keep": the answer
                    lets the client send another request on the connection}
                    (accepted.jsonl's lines carry "conn" and "n" too)
and serves until SIGTERM/SIGINT. Standard library only, plus the openssl command.
Listens on 127.0.0.1 only. Never prints the secret.
"""

import argparse
import datetime
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import select
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

API_METHOD = "alibaba.finance.insurance.icbu.insure.order.callback"
ENVELOPE = "alibaba_finance_insurance_icbu_insure_order_callback_response"
ORDER_PARAM = "insured_order_reflow_request"
ROOT_TYPE = "InsuredOrderReflowRequest"
GMT8 = datetime.timezone(datetime.timedelta(hours=8))
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
IO_TIMEOUT = 30.0

# Fault modes; "" is the normal behaviour.
MODES = {
    "": "normal",
    "chunked": "valid answer, Transfer-Encoding: chunked, chunk extension and trailer",
    "slow": "valid answer dripped a few bytes every ~50 ms (under 2 s)",
    "stall": "reads the request, then sends nothing for 30 s or until the client closes",
    "truncated": "Content-Length larger than the bytes sent, then close",
    "oversized": "a valid-looking 8 MiB answer",
    "malformed": "HTTP 200 with a cut-off JSON body",
    "status500": "HTTP 500",
    "status503": "HTTP 503",
    "status429": "HTTP 429 Too Many Requests (a rate limit), with Retry-After",
    "reset": "reads the request, then closes with RST",
    "reset-before": "closes with RST before reading the request",
    "badsign-always": "always error code 25",
    "isp": "error code 15, sub_code isp.remote-connection-error",
    "code7": "error code 7 App Call Limited",
    "refuse": "business refusal (success=false)",
    "code41": "error code 41, sub_code isv.invalid-parameter: a platform error about the order",
    "cl-te": "both Content-Length and Transfer-Encoding",
    "folded": "an obs-fold (continued) header line",
    "close-delimited": "no Content-Length: the body ends at close",
    "unicode": "accepted; insure_id/request_id written with \\uXXXX escapes and a surrogate pair",
    "extra-fields": "accepted; the answer carries unknown fields the client must skip",
    "random": "a seeded random fault per request, 36% in all (RANDOM_PROFILES)",
    "random-slow": "a seeded random fault per request: slow answers, some lost (RANDOM_PROFILES)",
}

# Random modes: (fault, probability) per request; the rest is a normal answer.
#   reset-before  RST before reading the request (never accepted)
#   reset         read the request, accept the order, RST: the answer is lost
#   status503     HTTP 503 without looking at the request (never accepted)
#   isp           error 15, sub_code isp.remote-connection-error (not accepted)
#   code7         error 7 App Call Limited (not accepted)
#   stall         accept, then send nothing for --fault-stall seconds: the answer is lost
#                 to a client whose deadline is shorter
#   truncated     accept, then half the answer and close: the answer is lost
#   slow          accept, and drip the whole answer over about 0.6 s
RANDOM_PROFILES = {
    "random": (("reset-before", 0.06), ("reset", 0.06), ("status503", 0.06), ("isp", 0.05),
               ("code7", 0.05), ("stall", 0.03), ("truncated", 0.05)),
    "random-slow": (("slow", 0.40), ("reset", 0.05), ("truncated", 0.05)),
}
LOST_FAULTS = ("reset", "stall", "truncated")

# The modes whose answers may keep the connection (normal answers: 200, a length).
KEEP_MODES = ("", "unicode", "extra-fields", "refuse", "code41", "isp", "code7", "badsign-always")
KEEP_TOKENS = {
    "off": "never keep a connection: every answer says Connection: close",
    "maxN": "at most N requests per connection: the N-th answer says Connection: close",
    "silentN": "close right after the N-th answer, which said keep-alive",
    "dropN": "read the request after the N-th, then close without an answer",
    "rstN": "reset (RST) when the request after the N-th arrives, before reading it",
    "idleS": "close a connection idle for S seconds (default: --idle-timeout)",
    "chunked": "answers framed with Transfer-Encoding: chunked (extension, trailer)",
    "length": "answers framed with Content-Length (the default)",
    "cd": "every answer close-delimited (no length, no Connection header), then close",
    "cdN": "the N-th answer on a connection close-delimited, then close",
    "http10": "answers as HTTP/1.0 with a length and no Connection header, then close",
}


class KeepAlive:
    """How connections are kept (module docstring; KEEP_TOKENS)."""

    def __init__(self, idle):
        self.off, self.http10, self.chunked = False, False, False
        self.max = self.silent = self.drop = self.rst = 0
        self.cd = None                  # None: never; 0: every answer; N: the N-th
        self.idle = idle
        self.spec = ""

    def with_spec(self, spec):
        """A copy with SPEC's tokens applied; ValueError for an unknown token."""
        k = KeepAlive(self.idle)
        k.__dict__.update(self.__dict__)
        for tok in spec.split("-") if spec else ():
            m = re.match(r"^(max|silent|drop|rst|cd)([1-9][0-9]{0,5})$", tok)
            if m:
                setattr(k, m.group(1), int(m.group(2)))
            elif re.match(r"^idle[0-9]{1,4}(\.[0-9]{1,3})?$", tok):
                k.idle = float(tok[4:])
            elif tok in ("off", "http10", "chunked", "length", "cd"):
                k.off = k.off or tok == "off"
                k.http10 = k.http10 or tok == "http10"
                k.chunked = tok == "chunked" if tok in ("chunked", "length") else k.chunked
                k.cd = 0 if tok == "cd" else k.cd
            else:
                raise ValueError("unknown keep-alive token %r (tokens: %s)"
                                 % (tok, ", ".join(KEEP_TOKENS)))
        k.spec = "-".join(x for x in (self.spec, spec) if x)
        return k

    def close_delimited(self, n):
        return self.cd == 0 or self.cd == n

UNICODE_SUFFIX_ESCAPED = "-\\u4e2d\\ud83d\\ude00"           # as written on the wire
UNICODE_SUFFIX = "-\u4e2d\U0001F600"                       # decoded: "-中😀"

LOG_LOCK = threading.Lock()
QUIET = False
STOP = threading.Event()


def log(msg):
    if not QUIET:
        with LOG_LOCK:
            sys.stderr.write("[top_gateway] " + msg + "\n")
            sys.stderr.flush()


# ----------------------------------------------------------------- certificates
def _openssl(args, cwd):
    r = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], r.stderr.decode(errors="replace")))


def _newkey(key_type):
    if key_type == "ec":
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    return ["-newkey", "rsa:2048"]


def make_certificates(state_dir, key_type, with_badname):
    """CA + server certificate (+ unrelated CA, + badname certificate) with openssl."""
    d = os.path.join(state_dir, "pki")
    os.makedirs(d, exist_ok=True)
    subj_ca = "/O=icbu_reflow tests/CN=icbu_reflow throw-away test CA"
    ca_ext = ["-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
    # Key generation dominates; run the independent steps in parallel.
    def req_ca(name):
        return ["req", "-x509", "-nodes"] + _newkey(key_type) + [
            "-keyout", name + ".key", "-out", name + ".pem", "-days", "30",
            "-sha256", "-subj", subj_ca] + ca_ext

    def req_csr(name, cn):
        return ["req", "-new", "-nodes"] + _newkey(key_type) + [
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn]

    jobs = [req_ca("ca"), req_ca("wrong-ca"), req_csr("server", "localhost")]
    if with_badname:
        jobs.append(req_csr("badname", "wrong.invalid"))
    errors = []

    def run(a):
        try:
            _openssl(a, d)
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=run, args=(a,)) for a in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    with open(os.path.join(d, "badname.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:wrong.invalid\n")
    names = ["server"] + (["badname"] if with_badname else [])
    for name in names:
        _openssl(["x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                  "-set_serial", str(random.getrandbits(63) | 1), "-days", "30", "-sha256",
                  "-extfile", name + ".ext", "-out", name + ".pem"], d)
    for name in ("ca", "wrong-ca"):
        with open(os.path.join(d, name + ".pem"), "rb") as f:
            data = f.read()
        write_atomic(os.path.join(state_dir, name + ".pem"), data)
    return d


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ----------------------------------------------------------------- signing
def sign(params, secret, method):
    """params: list of (name, value) str pairs, without 'sign'."""
    items = sorted(params, key=lambda nv: nv[0].encode("utf-8"))
    concat = "".join(n + v for n, v in items).encode("utf-8")
    key = secret.encode("utf-8")
    if method == "md5":
        digest = hashlib.md5(key + concat + key).digest()
    elif method == "hmac":
        digest = hmac.new(key, concat, hashlib.md5).digest()
    elif method == "hmac-sha256":
        digest = hmac.new(key, concat, hashlib.sha256).digest()
    else:
        raise ValueError(method)
    return digest.hex().upper()


# ----------------------------------------------------------------- order checks
class Invalid(Exception):
    def __init__(self, path, why):
        Exception.__init__(self, "%s: %s" % (path or "(root)", why))
        self.path, self.why = path, why


class Pairs(list):
    """A JSON object kept as its list of (key, value) pairs (duplicates visible)."""


class Frac(str):
    """A JSON number token that is not an integer (has a fraction or exponent)."""


def _bad_constant(tok):
    raise ValueError("not JSON: " + tok)


def parse_order_json(text):
    return json.loads(text, object_pairs_hook=Pairs, parse_float=Frac,
                      parse_constant=_bad_constant)


def load_schema(path):
    with open(path, encoding="utf-8") as f:
        s = json.load(f)
    return {t: {fld[0]: fld[1] for fld in fields} for t, fields in s["types"].items()}


def _has_lone_surrogate(s):
    return any(0xD800 <= ord(c) <= 0xDFFF for c in s)


def validate(value, typ, path, schema):
    if value is None:
        raise Invalid(path, "null is not allowed (leave an absent field out)")
    if typ.endswith("[]"):
        if not isinstance(value, list) or isinstance(value, Pairs):
            raise Invalid(path, "expected an array of %s" % typ[:-2])
        for i, v in enumerate(value):
            validate(v, typ[:-2], "%s[%d]" % (path, i), schema)
        return
    if typ == "String":
        if not isinstance(value, str) or isinstance(value, Frac):
            raise Invalid(path, "expected a String")
        if _has_lone_surrogate(value):
            raise Invalid(path, "string holds a lone UTF-16 surrogate")
        return
    if typ == "Number":
        if isinstance(value, Frac):
            raise Invalid(path, "Number must be an integer, got %s" % value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid(path, "expected a Number (integer)")
        if not INT64_MIN <= value <= INT64_MAX:
            raise Invalid(path, "Number out of the 64-bit range")
        return
    if typ == "Boolean":
        if not isinstance(value, bool):
            raise Invalid(path, "expected a Boolean")
        return
    if typ == "Date":
        if not isinstance(value, str) or isinstance(value, Frac) or not DATE_RE.match(value):
            raise Invalid(path, "Date must be the string 'yyyy-MM-dd HH:mm:ss'")
        try:
            datetime.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            raise Invalid(path, "no such date/time: %s" % value)
        return
    fields = schema.get(typ)
    if fields is None:
        raise Invalid(path, "schema has no type %s" % typ)
    if not isinstance(value, Pairs):
        raise Invalid(path, "expected an object (%s)" % typ)
    seen = set()
    for k, v in value:
        p = k if not path else path + "." + k
        if k in seen:
            raise Invalid(p, "duplicate field")
        seen.add(k)
        if k not in fields:
            raise Invalid(p, "unknown field (not in %s)" % typ)
        validate(v, fields[k], p, schema)


def pairs_to_plain(v):
    if isinstance(v, Pairs):
        return {k: pairs_to_plain(x) for k, x in v}
    if isinstance(v, list):
        return [pairs_to_plain(x) for x in v]
    return v


# ----------------------------------------------------------------- answers
def new_request_id():
    return "".join(random.choice("0123456789abcdefghijklmnopqrstuvwxyz") for _ in range(13))


def error_answer(code, msg, sub_code=None, sub_msg=None):
    e = {"code": code, "msg": msg}
    if sub_code:
        e["sub_code"] = sub_code
    if sub_msg:
        e["sub_msg"] = sub_msg
    e["request_id"] = new_request_id()
    return {"error_response": e}


def result_answer(result, simplify):
    inner = {"result": result, "request_id": new_request_id()}
    return inner if simplify else {ENVELOPE: inner}


def to_xml(obj):
    def esc(s):
        return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))

    def emit(name, v):
        if isinstance(v, dict):
            return "<%s>%s</%s>" % (name, "".join(emit(k, x) for k, x in v.items()), name)
        if isinstance(v, bool):
            v = "true" if v else "false"
        return "<%s>%s</%s>" % (name, esc(str(v)), name)
    return '<?xml version="1.0" encoding="utf-8" ?>' + "".join(emit(k, v) for k, v in obj.items())


class Gateway:
    def __init__(self, app_key, secret, schema, state_dir, max_skew, fault_seed=1,
                 fault_stall=3.0):
        self.fault_seed = fault_seed
        self.fault_stall = fault_stall
        self.fault_seq = {}
        self.faults_path = os.path.join(state_dir, "faults.jsonl")
        self.app_key = app_key
        self.secret = secret
        self.schema = schema
        self.state_dir = state_dir
        self.max_skew = max_skew
        self.log_lock = threading.Lock()

    def record(self, entry, name="accepted.jsonl"):
        """One JSON line into DIR/name (accepted.jsonl, connections.jsonl, requests.jsonl)."""
        with self.log_lock:
            with open(os.path.join(self.state_dir, name), "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def draw(self, mode):
        """The fault of the next request in random mode `mode`: (seq, fault or "")."""
        with self.log_lock:
            seq = self.fault_seq.get(mode, 0) + 1
            self.fault_seq[mode] = seq
            x = random.Random("%d:%s:%d" % (self.fault_seed, mode, seq)).random()
            fault, acc = "", 0.0
            for name, p in RANDOM_PROFILES[mode]:
                acc += p
                if x < acc:
                    fault = name
                    break
            with open(self.faults_path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"mode": mode, "seq": seq, "fault": fault}) + "\n")
        return seq, fault

    def evaluate(self, method, query, body, content_type, mode):
        """Returns (answer_object, fmt, summary, accepted_info_or_None)."""
        fmt = "json"
        if mode == "badsign-always":
            return error_answer(25, "Invalid signature"), fmt, "25 (badsign-always)", None
        if method != "POST":
            return error_answer(9, "Http Action Not Allowed", sub_msg="use POST"), fmt, "9", None
        ctype = (content_type or "").split(";")[0].strip().lower()
        if body and ctype != "application/x-www-form-urlencoded":
            return (error_answer(43, "Parameter error", "isv.invalid-content-type",
                                 "Content-Type must be application/x-www-form-urlencoded"),
                    fmt, "43 content-type", None)
        params = []
        for where, raw in (("query", query), ("body", body)):
            if not raw:
                continue
            try:
                text = raw.decode("utf-8", "strict") if isinstance(raw, bytes) else raw
                pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True,
                                               encoding="utf-8", errors="strict")
            except UnicodeDecodeError:
                return (error_answer(47, "Invalid encoding", "isv.invalid-encoding",
                                     "the %s is not UTF-8" % where), fmt, "47", None)
            except ValueError as e:
                return (error_answer(43, "Parameter error", "isv.invalid-parameter",
                                     "bad form encoding in the %s: %s" % (where, e)),
                        fmt, "43 form", None)
            params.extend(pairs)
        d = {}
        for n, v in params:
            if n in d:
                return (error_answer(41, "Invalid arguments", "isv.invalid-parameter",
                                     "parameter %s is sent more than once" % n),
                        fmt, "41 duplicate " + n, None)
            d[n] = v
        f = d.get("format")
        if f is not None and f not in ("json", "xml"):
            return error_answer(23, "Invalid format"), fmt, "23", None
        fmt = "json" if f == "json" else "xml"
        simplify = d.get("simplify") == "true"
        if mode == "isp":
            return (error_answer(15, "Remote service error", "isp.remote-connection-error",
                                 "remote connection error"), fmt, "15 (isp)", None)
        if mode == "code7":
            return (error_answer(7, "App Call Limited", "accesscontrol.limited-by-app-access-count",
                                 "This ban will last for 1 more seconds"), fmt, "7 (code7)", None)
        if "method" not in d:
            return error_answer(21, "Missing method"), fmt, "21", None
        if d["method"] != API_METHOD:
            return error_answer(22, "Invalid method"), fmt, "22", None
        if "app_key" not in d:
            return error_answer(28, "Missing app key"), fmt, "28", None
        if d["app_key"] != self.app_key:
            return error_answer(29, "Invalid app key"), fmt, "29", None
        if "timestamp" not in d:
            return error_answer(30, "Missing timestamp"), fmt, "30", None
        ts = d["timestamp"]
        try:
            if not DATE_RE.match(ts):
                raise ValueError("format")
            t = datetime.datetime.strptime(ts, "%Y-%m-%d %H:%M:%S").replace(tzinfo=GMT8)
        except ValueError:
            return (error_answer(31, "Invalid timestamp", "isv.invalid-timestamp",
                                 "timestamp must be yyyy-MM-dd HH:mm:ss (GMT+8)"),
                    fmt, "31 format", None)
        skew = abs((datetime.datetime.now(GMT8) - t).total_seconds())
        if skew > self.max_skew:
            return (error_answer(31, "Invalid timestamp", "isv.invalid-timestamp",
                                 "timestamp is %d s away from GMT+8 now" % skew),
                    fmt, "31 skew %ds" % skew, None)
        if "v" not in d:
            return error_answer(32, "Missing version"), fmt, "32", None
        if d["v"] != "2.0":
            return error_answer(33, "Invalid version"), fmt, "33", None
        sm = d.get("sign_method", "md5")
        if sm not in ("md5", "hmac", "hmac-sha256"):
            return (error_answer(25, "Invalid signature", sub_msg="unsupported sign_method"),
                    fmt, "25 sign_method", None)
        if "sign" not in d:
            return error_answer(24, "Missing signature"), fmt, "24", None
        expect = sign([(n, v) for n, v in d.items() if n != "sign"], self.secret, sm)
        if not hmac.compare_digest(expect.encode(), d["sign"].encode("utf-8", "replace")):
            return error_answer(25, "Invalid signature"), fmt, "25 (%s)" % sm, None
        if ORDER_PARAM not in d:
            return (error_answer(40, "Missing required arguments", "isv.missing-parameter",
                                 "Missing required arguments:" + ORDER_PARAM), fmt, "40", None)
        try:
            order = parse_order_json(d[ORDER_PARAM])
        except (ValueError, RecursionError) as e:
            return (error_answer(41, "Invalid arguments", "isv.invalid-parameter",
                                 "%s is not valid JSON: %s" % (ORDER_PARAM, e)),
                    fmt, "41 json", None)
        try:
            validate(order, ROOT_TYPE, "", self.schema)
        except Invalid as e:
            return (error_answer(41, "Invalid arguments", "isv.invalid-parameter",
                                 "%s.%s: %s" % (ORDER_PARAM, e.path, e.why)
                                 if e.path else "%s: %s" % (ORDER_PARAM, e.why)),
                    fmt, "41 " + str(e), None)
        if mode == "code41":
            return (error_answer(41, "Invalid arguments", "isv.invalid-parameter",
                                 "%s.insured.name: refused on request (code41)" % ORDER_PARAM),
                    fmt, "41 (code41)", None)
        order = pairs_to_plain(order)
        biz = order.get("external_biz_id")
        if not biz:
            return (result_answer({"success": False, "error_code": "PARAM_ERROR",
                                   "error_msg": "缺少 external_biz_id (external_biz_id is missing)"},
                                  simplify), fmt, "refused (no external_biz_id)", None)
        if order.get("memo") == "refuse" or mode == "refuse":
            return (result_answer({"success": False, "error_code": "PARAM_ERROR",
                                   "error_msg": "订单被拒绝 (order refused on request)"},
                                  simplify), fmt, "refused", None)
        insure_id = "INS-" + biz
        info = {"external_biz_id": biz, "sign_method": sm, "timestamp": ts,
                "mode": mode, "simplify": simplify, "insure_id": insure_id}
        return (result_answer({"success": True, "insure_id": insure_id}, simplify),
                fmt, "accepted " + insure_id, info)


# ----------------------------------------------------------------- HTTP plumbing
class BadRequest(Exception):
    pass


class Conn:
    def __init__(self, sock, tls, peer, cid, ka):
        self.sock = sock
        self.tls = tls
        self.peer = peer
        self.buf = b""
        self.id = cid           # the connection's number (connections.jsonl)
        self.n = 0              # requests read on it so far
        self.ka = ka            # the keep-alive settings of its last request
        self.keep = False       # its last request may leave it open (HTTP/1.1, no close)
        self.version = None     # its last request's HTTP version
        self.asked_close = None  # its last request said Connection: close
        self.end = ""           # why it was closed, once it is

    def tls_version(self):
        """The protocol the handshake agreed on ("TLSv1.2", "TLSv1.3"), or None."""
        return self.sock.version() if self.tls else None

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise BadRequest("client closed the connection early")
        self.buf += data

    def peek_first_line(self):
        """The request line, without consuming it on plain sockets."""
        deadline = time.monotonic() + IO_TIMEOUT
        if self.tls or self.buf:
            while b"\r\n" not in self.buf:
                if len(self.buf) > MAX_HEAD:
                    raise BadRequest("request line too long")
                self.fill()
            return self.buf.split(b"\r\n", 1)[0]
        while True:
            data = self.sock.recv(MAX_HEAD, socket.MSG_PEEK)
            if not data:
                raise BadRequest("client closed the connection early")
            if b"\r\n" in data:
                return data.split(b"\r\n", 1)[0]
            if len(data) >= MAX_HEAD or time.monotonic() > deadline:
                raise BadRequest("request line too long")
            time.sleep(0.005)

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > MAX_HEAD:
                raise BadRequest("request head too large")
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        try:
            method, target, version = lines[0].decode("ascii").split(" ")
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("bad request line")
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise BadRequest("bad HTTP version")
        headers = []
        for ln in lines[1:]:
            if ln[:1] in (b" ", b"\t"):
                raise BadRequest("obsolete folded header line")
            if b":" not in ln:
                raise BadRequest("header line without a colon")
            name, value = ln.split(b":", 1)
            if not name or name != name.strip() or not re.match(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", name):
                raise BadRequest("bad header name")
            headers.append((name.decode("ascii").lower(), value.strip().decode("latin-1")))
        return method, target, version, headers

    def read_exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > MAX_HEAD:
                raise BadRequest("chunk line too long")
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_body(self, headers):
        h = {}
        for n, v in headers:
            if n in h and n in ("content-length", "transfer-encoding", "host", "content-type"):
                raise BadRequest("repeated %s header" % n)
            h[n] = v
        if "host" not in h:
            raise BadRequest("no Host header")
        if "content-length" in h and "transfer-encoding" in h:
            raise BadRequest("both Content-Length and Transfer-Encoding")
        if h.get("expect", "").lower() == "100-continue":
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "transfer-encoding" in h:
            if h["transfer-encoding"].lower() != "chunked":
                raise BadRequest("unsupported Transfer-Encoding")
            body = b""
            while True:
                line = self.read_line().split(b";", 1)[0].strip()
                if not re.match(rb"^[0-9A-Fa-f]{1,8}$", line):
                    raise BadRequest("bad chunk size")
                n = int(line, 16)
                if n == 0:
                    while self.read_line():
                        pass
                    return body, h
                if len(body) + n > MAX_BODY:
                    raise BadRequest("body too large")
                body += self.read_exact(n)
                if self.read_exact(2) != b"\r\n":
                    raise BadRequest("bad chunk end")
        cl = h.get("content-length", "0")
        if not re.match(r"^[0-9]{1,10}$", cl):
            raise BadRequest("bad Content-Length")
        n = int(cl)
        if n > MAX_BODY:
            raise BadRequest("body too large")
        return self.read_exact(n), h


def http_date():
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())


def head_lines(status, reason, extra, version="HTTP/1.1"):
    lines = ["%s %d %s" % (version, status, reason), "Server: Tengine", "Date: " + http_date()]
    lines += extra
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def client_gone(sock):
    """True when the client has closed or reset its end. It sends nothing after
    its request, so anything to read (a FIN, an RST, a TLS close_notify) means
    it gave up waiting and will not read the answer."""
    try:
        if getattr(sock, "pending", None) and sock.pending():
            return True
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True


def rst_close(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def graceful_close(sock, tls, wait=1.0):
    """TLS close_notify, or FIN, then close. wait: how long to wait for the client's end
    (its close_notify, or its FIN while draining what it sends); 0: not at all, the server
    closing on its own (quiet_close)."""
    try:
        if tls:
            sock.settimeout(wait)
            try:
                raw = sock.unwrap()
                raw.close()
            except (OSError, ValueError, ssl.SSLError):
                pass
        else:
            sock.shutdown(socket.SHUT_WR)
            # Let the client read everything; drain until it closes (short wait).
            sock.settimeout(wait)
            try:
                while wait and sock.recv(65536):
                    pass
            except OSError:
                pass
    except OSError:
        pass
    finally:
        try:
            sock.close()
        except OSError:
            pass


def quiet_close(sock, tls):
    """The server closing on its own, without a word at the HTTP level: TLS close_notify
    (not waiting for the client's, so the session stays resumable), then FIN."""
    graceful_close(sock, tls, 0.0)


def chunk(data, ext=b""):
    return b"%x%s\r\n%s\r\n" % (len(data), ext, data)


def chunked_body(body):
    """body as chunks of 37 bytes: the first with a chunk extension, the second with an
    uppercase hex size, then the last chunk and a trailer."""
    out = b""
    for i, p in enumerate(body[i:i + 37] for i in range(0, len(body), 37)):
        if i == 0:
            out += chunk(p, b";ext=1;name=\"v\"")
        elif i == 1:
            out += b"%X\r\n%s\r\n" % (len(p), p)  # uppercase hex size
        else:
            out += chunk(p)
    return out + b"0\r\nX-Top-Checksum: %s\r\n\r\n" % hashlib.md5(body).hexdigest().encode()


def order_id(body):
    """The external_biz_id of the order in a form body, or None (for requests.jsonl)."""
    try:
        for n, v in urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True):
            if n == ORDER_PARAM:
                o = json.loads(v)
                b = o.get("external_biz_id") if isinstance(o, dict) else None
                return b if isinstance(b, str) else None
    except (UnicodeDecodeError, ValueError, RecursionError):
        pass
    return None


ORDER_FAULT = re.compile(r"^fault=([a-z0-9-]+)/")


def order_mode(body, mode):
    """The fault mode of a request: the one its order's external_biz_id asks for
    ("fault=<mode>/...", module docstring), else mode (the path's)."""
    if mode in RANDOM_PROFILES:
        return mode
    m = ORDER_FAULT.match(order_id(body) or "") if body else None
    if m and m.group(1) in MODES and m.group(1) not in RANDOM_PROFILES and \
            m.group(1) not in ("", "reset-before"):
        return m.group(1)
    return mode


class Server:
    def __init__(self, gw, ka):
        self.gw = gw
        self.ka = ka                  # --keep-alive, --idle-timeout
        self.ids = itertools.count(1)
        self.listeners = []

    def listen(self, port, ctx, label):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(128)
        self.listeners.append(s)
        threading.Thread(target=self.accept_loop, args=(s, ctx, label), daemon=True).start()
        return s.getsockname()[1]

    def accept_loop(self, s, ctx, label):
        while True:
            try:
                c, peer = s.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(c, peer, ctx, label), daemon=True).start()

    def handle(self, raw, peer, ctx, label):
        sock = raw
        tls = ctx is not None
        conn = None
        try:
            raw.settimeout(IO_TIMEOUT)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tls:
                try:
                    if callable(ctx):            # --no-resumption: a context of its own
                        ctx = ctx()
                    sock = ctx.wrap_socket(raw, server_side=True)
                except (ssl.SSLError, OSError) as e:
                    log("%s %s:%d TLS handshake failed: %s" % (label, peer[0], peer[1], e))
                    self.gw.record({"event": "handshake_failed", "listener": label},
                                   "connections.jsonl")
                    raw.close()
                    return
            conn = Conn(sock, tls, peer, next(self.ids), self.ka)
            self.gw.record({"event": "open", "conn": conn.id, "listener": label,
                            "tls": conn.tls_version(),
                            "resumed": bool(tls and sock.session_reused)}, "connections.jsonl")
            self.serve(conn, label)
        except Exception as e:  # noqa: BLE001 -- a test server must keep going
            log("%s %s:%d connection error: %s: %s" % (label, peer[0], peer[1], type(e).__name__, e))
            if conn is not None:
                conn.end = conn.end or "error: %s" % type(e).__name__
            try:
                sock.close()
            except OSError:
                pass
        finally:
            if conn is not None:
                self.gw.record({"event": "close", "conn": conn.id, "requests": conn.n,
                                "why": conn.end or "closed"}, "connections.jsonl")

    def serve(self, conn, label):
        """The requests of one connection, one after another, while the answers keep it."""
        while self.serve_one(conn, label):
            if not self.wait_next(conn, label):
                return

    def wait_next(self, conn, label):
        """After an answer that kept the connection open: True once the client sends
        more (a request, or its close), False after closing it for being idle."""
        if conn.buf or (conn.tls and conn.sock.pending()):
            return True
        try:
            ready = select.select([conn.sock], [], [], conn.ka.idle)[0]
        except (OSError, ValueError):
            ready = True
        if ready:
            return True
        conn.end = "idle for %g s after %d requests" % (conn.ka.idle, conn.n)
        log("%s conn %d: %s, closed" % (label, conn.id, conn.end))
        quiet_close(conn.sock, conn.tls)
        return False

    def request_mode(self, path):
        """(fault mode or None for 404, keep-alive settings) of a request path."""
        ka = self.ka
        m = re.match(r"^/ka/([a-z0-9.-]+)(/.*)$", path)
        if m:
            try:
                ka = self.ka.with_spec(m.group(1))
            except ValueError:
                return None, ka
            path = m.group(2)
        mode = None
        m = re.match(r"^(?:/f/([a-z0-9-]+))?/(?:[^?]*/)?router/rest$", path)
        if m and path.endswith("/router/rest"):
            mode = m.group(1) or ""
            if path.startswith("/f/") and mode not in MODES:
                mode = None
        return mode, ka

    def note_request(self, conn, label, mode, body, result, keep):
        self.gw.record({"conn": conn.id, "n": conn.n, "listener": label, "mode": mode,
                        "ka": conn.ka.spec, "biz": order_id(body) if body else None,
                        "version": conn.version, "close": conn.asked_close,
                        "result": result, "keep": keep}, "requests.jsonl")

    def serve_one(self, conn, label):
        """One request on conn; True when its answer left the connection open."""
        sock = conn.sock
        prev = conn.ka
        if conn.n and prev.rst and conn.n >= prev.rst:
            conn.end = "RST before request %d (rst%d)" % (conn.n + 1, prev.rst)
            log("%s conn %d: %s" % (label, conn.id, conn.end))
            rst_close(sock)
            return False
        try:
            first = conn.peek_first_line()
        except (BadRequest, OSError) as e:
            conn.end = "client closed after %d request(s)" % conn.n if conn.n else "no request"
            if not conn.n:
                log("%s: no request (%s)" % (label, e))
            graceful_close(sock, conn.tls)
            return False
        conn.n += 1
        conn.version, conn.asked_close = None, None
        parts = first.decode("latin-1").split(" ")
        target = parts[1] if len(parts) == 3 else ""
        path = target.split("?", 1)[0]
        mode, conn.ka = self.request_mode(path)
        conn.keep = False
        seq, fault = 0, ""
        if mode in RANDOM_PROFILES:
            seq, fault = self.gw.draw(mode)
        if mode == "reset-before" or fault == "reset-before":
            log("%s %s -> RST before reading the request" % (label, path))
            conn.end = "RST before reading request %d (%s)" % (conn.n, mode)
            rst_close(sock)
            return False
        try:
            method, target, version, headers = conn.read_head()
            body, hdrs = conn.read_body(headers)
            conn.version = version
            conn.asked_close = "close" in {t.strip().lower() for t in
                                           hdrs.get("connection", "").split(",")}
        except BadRequest as e:
            log("%s bad request: %s" % (label, e))
            self.note_request(conn, label, mode, b"", "400", False)
            msg = ("400 Bad Request: %s\n" % e).encode()
            sock.sendall(head_lines(400, "Bad Request", [
                "Content-Type: text/plain", "Content-Length: %d" % len(msg),
                "Connection: close"]) + msg)
            graceful_close(sock, conn.tls)
            conn.end = "400"
            return False
        if mode is None:
            msg = b"404 Not Found: POST to /router/rest or /f/<mode>/router/rest\n"
            log("%s %s %s -> 404" % (label, method, target))
            self.note_request(conn, label, mode, body, "404", False)
            sock.sendall(head_lines(404, "Not Found", [
                "Content-Type: text/plain", "Content-Length: %d" % len(msg),
                "Connection: close"]) + msg)
            graceful_close(sock, conn.tls)
            conn.end = "404"
            return False
        mode = order_mode(body, mode)
        ka = conn.ka
        if ka.drop and conn.n == ka.drop + 1:
            log("%s conn %d: request %d dropped (drop%d), closed" % (label, conn.id, conn.n, ka.drop))
            self.note_request(conn, label, mode, body, "dropped", False)
            conn.end = "request %d dropped (drop%d)" % (conn.n, ka.drop)
            quiet_close(sock, conn.tls)
            return False
        conn.keep = (version == "HTTP/1.1" and not conn.asked_close and not ka.off and
                     not ka.http10 and not ka.close_delimited(conn.n) and
                     not (ka.max and conn.n >= ka.max))
        query = target.split("?", 1)[1] if "?" in target else ""
        if mode in RANDOM_PROFILES:
            return self.serve_random(conn, label, method, target, query, body, hdrs, mode, seq, fault)
        answer, fmt, summary, info = self.gw.evaluate(
            method, query, body, hdrs.get("content-type"), mode)
        if mode in ("reset", "stall"):
            summary += " (not sent: %s)" % mode
        log("%s %s %s -> %s" % (label, method, target, summary))
        self.note_request(conn, label, mode, body, summary, conn.keep and mode in KEEP_MODES)
        if mode == "reset":
            conn.end = "RST after reading request %d (reset)" % conn.n
            rst_close(sock)
            return False
        if mode == "stall":
            conn.end = "stall"
            self.stall(sock)
            return False
        if info is not None:
            self.gw.record({"external_biz_id": info["external_biz_id"],
                            "sign_method": info["sign_method"], "timestamp": info["timestamp"],
                            "mode": mode, "scheme": "https" if conn.tls else "http",
                            "tls": conn.tls_version(), "conn": conn.id, "n": conn.n})
        return self.respond(conn, mode, answer, fmt, info)

    def serve_random(self, conn, label, method, target, query, body, hdrs, mode, seq, fault):
        """A request in a random mode, after reading it: fault picked by draw(). True when
        the answer left the connection open."""
        sock = conn.sock
        if fault == "status503":
            log("%s %s %s -> #%d 503 (%s)" % (label, method, target, seq, mode))
            self.note_request(conn, label, mode, body, "503 (fault)", False)
            conn.end = "503"
            return self.respond(conn, "status503", None, "json", None)
        answer, fmt, summary, info = self.gw.evaluate(
            method, query, body, hdrs.get("content-type"),
            fault if fault in ("isp", "code7") else "")
        gone = client_gone(sock)
        lost = fault in LOST_FAULTS or gone
        log("%s %s %s -> #%d %s%s" % (label, method, target, seq, summary,
                                      " (fault %s)" % fault if fault else ""))
        self.note_request(conn, label, mode, body, summary + (" (fault %s)" % fault if fault else ""),
                          conn.keep and fault in ("", "isp", "code7"))
        if info is not None:
            self.gw.record({"external_biz_id": info["external_biz_id"],
                            "sign_method": info["sign_method"], "timestamp": info["timestamp"],
                            "mode": mode, "scheme": "https" if conn.tls else "http",
                            "tls": conn.tls_version(), "fault": fault, "lost": lost, "client_gone": gone,
                            "seq": seq, "conn": conn.id, "n": conn.n})
        if fault:
            conn.end = "fault %s" % fault
        if fault == "reset":
            rst_close(sock)
        elif fault == "stall":
            self.stall(sock, self.gw.fault_stall)
        elif fault in ("truncated", "slow"):
            self.respond(conn, fault, answer, fmt, info, drip=(12, 0.05))
        else:
            return self.respond(conn, "", answer, fmt, info)
        return False

    def stall(self, sock, seconds=30.0):
        end = time.monotonic() + seconds
        sock.settimeout(0.25)
        while time.monotonic() < end:
            try:
                if not sock.recv(4096):
                    break
            except socket.timeout:
                continue
            except (OSError, ssl.SSLError):
                break
        try:
            sock.close()
        except OSError:
            pass

    def respond(self, conn, mode, answer, fmt, info, drip=(30, 0.05)):
        sock, tls = conn.sock, conn.tls
        ctype = ("Content-Type: application/json;charset=UTF-8" if fmt == "json"
                 else "Content-Type: text/xml;charset=UTF-8")
        if fmt == "json":
            body = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        else:
            body = to_xml(answer).encode("utf-8")
        if mode == "unicode" and info is not None:
            simplify = info["simplify"]
            inner = ('{"result":{"success":true,"insure_id":"%s%s"},'
                     '"request_id":"rid-\\u00e9\\/\\ud83d\\ude00-%s"}'
                     % (info["insure_id"].replace("\\", "\\\\").replace('"', '\\"'),
                        UNICODE_SUFFIX_ESCAPED, new_request_id()))
            body = (inner if simplify else '{"%s":%s}' % (ENVELOPE, inner)).encode("ascii")
        if mode == "extra-fields" and info is not None:
            extra = {"top_extra": {"nested": [1, 2.5, None, {"a": [True, False]}], "s": "\u00e9"}}
            if info["simplify"]:
                ans = dict(extra, **answer)
                ans["result"] = dict(answer["result"], extra_flag=False, note="x")
            else:
                inner = dict(answer[ENVELOPE])
                inner["result"] = dict(inner["result"], extra_flag=False, note="x")
                ans = {"top_extra_root": 1, ENVELOPE: dict(extra, **inner)}
            body = json.dumps(ans, ensure_ascii=False, separators=(", ", ": "), indent=1).encode()
        try:
            if mode == "chunked":
                sock.sendall(head_lines(200, "OK", [ctype, "Transfer-Encoding: chunked",
                                                    "Trailer: X-Top-Checksum", "Connection: close"])
                             + chunked_body(body))
            elif mode == "slow":
                out = head_lines(200, "OK", [ctype, "Content-Length: %d" % len(body),
                                             "Connection: close"]) + body
                step = max(1, -(-len(out) // drip[0]))
                for i in range(0, len(out), step):
                    sock.sendall(out[i:i + step])
                    time.sleep(drip[1])
            elif mode == "truncated":
                sock.sendall(head_lines(200, "OK", [ctype, "Content-Length: %d" % (len(body) + 100),
                                                    "Connection: close"]) + body[:len(body) // 2])
            elif mode == "oversized":
                total = 8 * 1024 * 1024
                pre = ('{"%s":{"result":{"success":true,"insure_id":"INS-oversized"},'
                       '"request_id":"%s","padding":"' % (ENVELOPE, new_request_id())).encode()
                post = b'"}}'
                pad = total - len(pre) - len(post)
                sock.sendall(head_lines(200, "OK", [ctype, "Content-Length: %d" % total,
                                                    "Connection: close"]) + pre)
                block = b"x" * 65536
                while pad > 0:
                    n = min(pad, len(block))
                    sock.sendall(block[:n])
                    pad -= n
                sock.sendall(post)
            elif mode == "malformed":
                bad = ('{"%s":{"result":{"success":tru' % ENVELOPE).encode()
                sock.sendall(head_lines(200, "OK", [ctype, "Content-Length: %d" % len(bad),
                                                    "Connection: close"]) + bad)
            elif mode in ("status500", "status503", "status429"):
                code = int(mode[len("status"):])
                reason = {500: "Internal Server Error", 503: "Service Unavailable",
                          429: "Too Many Requests"}[code]
                page = ("<html><body><h1>%d %s</h1></body></html>" % (code, reason)).encode()
                extra = ["Retry-After: 1"] if code != 500 else []
                sock.sendall(head_lines(code, reason, ["Content-Type: text/html",
                                                       "Content-Length: %d" % len(page),
                                                       "Connection: close"] + extra) + page)
            elif mode == "cl-te":
                out = head_lines(200, "OK", [ctype, "Content-Length: %d" % len(body),
                                             "Transfer-Encoding: chunked", "Connection: close"])
                sock.sendall(out + chunk(body) + b"0\r\n\r\n")
            elif mode == "folded":
                out = ("HTTP/1.1 200 OK\r\nServer: Tengine\r\nX-Top-Note: first part\r\n"
                       "  folded second part\r\n%s\r\nContent-Length: %d\r\n"
                       "Connection: close\r\n\r\n" % (ctype, len(body))).encode()
                sock.sendall(out + body)
            elif mode == "close-delimited":
                sock.sendall(head_lines(200, "OK", [ctype, "Connection: close"]) + body)
            else:
                return self.answer(conn, ctype, body)
        except (OSError, ssl.SSLError) as e:
            log("send failed (%s): %s" % (mode or "normal", e))
            conn.end = "send failed: %s" % e
            try:
                sock.close()
            except OSError:
                pass
            return False
        conn.end = conn.end or "answered (%s), Connection: close" % (mode or "normal")
        graceful_close(sock, tls)
        return False

    def answer(self, conn, ctype, body):
        """A normal 200 answer, framed and kept as conn.ka says (module docstring). True
        when the connection stays open for another request."""
        sock, ka, n = conn.sock, conn.ka, conn.n
        if ka.close_delimited(n):
            sock.sendall(head_lines(200, "OK", [ctype]) + body)
            conn.end = "close-delimited answer %d" % n
            graceful_close(sock, conn.tls)
            return False
        if ka.http10:
            sock.sendall(head_lines(200, "OK", [ctype, "Content-Length: %d" % len(body)],
                                    "HTTP/1.0") + body)
            conn.end = "HTTP/1.0 answer %d" % n
            graceful_close(sock, conn.tls)
            return False
        if conn.keep:
            hdrs = [ctype, "Connection: keep-alive", "Keep-Alive: timeout=%d%s" % (
                max(1, int(ka.idle)), ", max=%d" % (ka.max - n) if ka.max else "")]
        else:
            hdrs = [ctype, "Connection: close"]
        if ka.chunked:
            out = head_lines(200, "OK", hdrs + ["Transfer-Encoding: chunked",
                                                "Trailer: X-Top-Checksum"]) + chunked_body(body)
        else:
            out = head_lines(200, "OK", hdrs + ["Content-Length: %d" % len(body)]) + body
        sock.sendall(out)
        if not conn.keep:
            conn.end = conn.end or ("announced close after %d (max%d)" % (n, ka.max)
                                    if ka.max and n >= ka.max else "answer %d said close" % n)
            graceful_close(sock, conn.tls)
            return False
        if ka.silent and n >= ka.silent:
            conn.end = "silent close after %d (silent%d)" % (n, ka.silent)
            quiet_close(sock, conn.tls)
            return False
        return True


def main(argv=None):
    global QUIET
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="local TOP gateway for icbu_reflow tests")
    ap.add_argument("--http-port", type=int, required=True)
    ap.add_argument("--https-port", type=int, required=True)
    ap.add_argument("--badname-port", type=int, default=-1,
                    help="also serve TLS with a certificate for another name (0 = free port)")
    ap.add_argument("--app-key", required=True)
    ap.add_argument("--secret", default=None,
                    help="the app secret (default: env ICBU_REFLOW_APP_SECRET)")
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--schema", default=os.path.join(here, "..", "tests", "schema.json"))
    ap.add_argument("--tls12-port", type=int, default=-1,
                    help="also serve HTTPS limited to TLS 1.2 (0 = free port); its port goes to "
                         "DIR/ports as https12=")
    ap.add_argument("--key-type", choices=("rsa", "ec"), default="rsa")
    ap.add_argument("--max-skew", type=int, default=600, help="timestamp tolerance, seconds")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--fault-seed", type=int, default=1,
                    help="seed of the random modes' fault generator (default 1)")
    ap.add_argument("--fault-stall", type=float, default=3.0,
                    help="seconds a random-mode stall lasts (default 3)")
    ap.add_argument("--keep-alive", default="", metavar="SPEC",
                    help="how connections are kept, for every request: tokens joined by '-' "
                         "(%s); a request's /ka/SPEC path prefix adds its own"
                         % "; ".join("%s: %s" % kv for kv in KEEP_TOKENS.items()))
    ap.add_argument("--no-resumption", action="store_true",
                    help="no TLS session resumption: every TLS connection gets a context of its "
                         "own (no session cache, no shared ticket key), so every handshake is "
                         "a full one (for measuring them)")
    ap.add_argument("--idle-timeout", type=float, default=5.0,
                    help="seconds a kept connection may stay idle before it is closed (default 5)")
    a = ap.parse_args(argv)
    QUIET = a.quiet
    try:
        keep_alive = KeepAlive(a.idle_timeout).with_spec(a.keep_alive)
    except ValueError as e:
        ap.error("--keep-alive: %s" % e)

    def on_signal(signum, frame):
        STOP.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if a.secret is None:
        a.secret = os.environ.get("ICBU_REFLOW_APP_SECRET")
        if not a.secret:
            ap.error("--secret (or env ICBU_REFLOW_APP_SECRET) is required")

    state = os.path.abspath(a.state_dir)
    os.makedirs(state, exist_ok=True)
    for stale in ("ports", "badname-port"):
        try:
            os.remove(os.path.join(state, stale))
        except FileNotFoundError:
            pass
    schema = load_schema(a.schema)
    pki = make_certificates(state, a.key_type, a.badname_port >= 0)

    def tls_ctx(name, tls12_only=False):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if tls12_only:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(os.path.join(pki, name + ".pem"), os.path.join(pki, name + ".key"))
        return ctx

    gw = Gateway(a.app_key, a.secret, schema, state, a.max_skew, a.fault_seed, a.fault_stall)
    srv = Server(gw, keep_alive)
    http_port = srv.listen(a.http_port, None, "http")
    def server_ctx(tls12_only=False):
        if a.no_resumption:
            return lambda: tls_ctx("server", tls12_only)   # made for each connection
        return tls_ctx("server", tls12_only)

    https_port = srv.listen(a.https_port, server_ctx(), "https")
    if a.badname_port >= 0:
        bad_port = srv.listen(a.badname_port, tls_ctx("badname"), "https-badname")
        write_atomic(os.path.join(state, "badname-port"), b"%d\n" % bad_port)
    ports = b"http=%d https=%d" % (http_port, https_port)
    if a.tls12_port >= 0:
        ports += b" https12=%d" % srv.listen(a.tls12_port, server_ctx(True), "https12")
    write_atomic(os.path.join(state, "ports"), ports + b"\n")
    log("listening: %s state=%s" % (ports.decode(), state))

    while not STOP.is_set():
        time.sleep(0.05)
    for s in srv.listeners:
        try:
            s.close()
        except OSError:
            pass
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
