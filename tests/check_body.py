#!/usr/bin/env python3
"""Independent checker of a signed TOP form body (what `icbu-reflow sign` prints).

    python3 tests/check_body.py --secret S --expect tests/data/example_order.json BODYFILE
        [--app-key K] [--timestamp 'yyyy-MM-dd HH:mm:ss'] [--param NAME=VALUE ...]
        [--ignore-key-order]

BODYFILE may be - for standard input; one trailing newline is ignored. The secret may
also come from the environment (ICBU_REFLOW_APP_SECRET) when --secret is not given.

It re-derives everything from the protocol (docs/protocol.md) with json, hashlib, hmac and
urllib.parse only: system parameters, parameter order (sorted by name, `sign` last),
the exact form encoding, the signature for the sent sign_method, and the order JSON
(== the expected file, and written in the same key order). Prints one line per check,
then `N passed, N failed`; exits 1 on any failure, 2 on bad usage.

Import it: check_body(body, secret, expected_order, ...) -> (results, params), where
results is a list of (ok, name, detail).
"""

import hashlib
import hmac
import json
import os
import sys
import urllib.parse

API_METHOD = "alibaba.finance.insurance.icbu.insure.order.callback"
ORDER_PARAM = "insured_order_reflow_request"
SIGN_METHODS = {"md5": 32, "hmac": 32, "hmac-sha256": 64}
KNOWN = {"method", "app_key", "timestamp", "v", "sign_method", "sign", "format", "session",
         "simplify", "partner_id", "target_app_key", ORDER_PARAM}
UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.*")


def form_encode(text):
    """application/x-www-form-urlencoded as the official SDKs write it."""
    out = []
    for b in text.encode("utf-8"):
        if b in UNRESERVED:
            out.append(chr(b))
        elif b == 0x20:
            out.append("+")
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def compute_sign(pairs, secret, method):
    """pairs: (name, value) str pairs without `sign`. Uppercase hex."""
    items = sorted(pairs, key=lambda nv: nv[0].encode("utf-8"))
    concat = "".join(n + v for n, v in items).encode("utf-8")
    key = secret.encode("utf-8")
    if method == "md5":
        return hashlib.md5(key + concat + key).hexdigest().upper()
    if method == "hmac":
        return hmac.new(key, concat, hashlib.md5).hexdigest().upper()
    if method == "hmac-sha256":
        return hmac.new(key, concat, hashlib.sha256).hexdigest().upper()
    raise ValueError("unknown sign_method %r" % method)


def is_timestamp(s):
    """yyyy-MM-dd HH:mm:ss with plausible ranges (no datetime import needed)."""
    if len(s) != 19 or s[4] != "-" or s[7] != "-" or s[10] != " " or s[13] != ":" or s[16] != ":":
        return False
    digits = s[0:4] + s[5:7] + s[8:10] + s[11:13] + s[14:16] + s[17:19]
    if not (digits.isascii() and digits.isdigit()):
        return False
    mo, d, h, mi, se = int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]), int(s[17:19])
    return 1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and se <= 59


class _Dup(Exception):
    pass


def _pairs_hook(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise _Dup(k)
        d[k] = v
    return d


def _first_float(v, path=""):
    if isinstance(v, float):
        return path or "(root)"
    if isinstance(v, dict):
        for k, x in v.items():
            p = _first_float(x, (path + "." if path else "") + k)
            if p:
                return p
    if isinstance(v, list):
        for i, x in enumerate(v):
            p = _first_float(x, "%s[%d]" % (path, i))
            if p:
                return p
    return None


def _key_order_diff(got, want, path=""):
    """First place where got's object keys are not in want's order."""
    if isinstance(got, dict) and isinstance(want, dict):
        if list(got) != list(want):
            return "%s: keys %s, expected %s" % (path or "(root)", list(got), list(want))
        for k in got:
            r = _key_order_diff(got[k], want[k], (path + "." if path else "") + k)
            if r:
                return r
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        for i, (g, w) in enumerate(zip(got, want)):
            r = _key_order_diff(g, w, "%s[%d]" % (path, i))
            if r:
                return r
    return None


def _first_diff(got, want, path=""):
    if type(got) is not type(want):
        return "%s: %r (%s) != expected %r (%s)" % (path or "(root)", got, type(got).__name__,
                                                    want, type(want).__name__)
    if isinstance(got, dict):
        for k in want:
            if k not in got:
                return "%s: missing" % ((path + "." if path else "") + k)
        for k in got:
            if k not in want:
                return "%s: not expected" % ((path + "." if path else "") + k)
            r = _first_diff(got[k], want[k], (path + "." if path else "") + k)
            if r:
                return r
        return None
    if isinstance(got, list):
        if len(got) != len(want):
            return "%s: %d items, expected %d" % (path or "(root)", len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            r = _first_diff(g, w, "%s[%d]" % (path, i))
            if r:
                return r
        return None
    if got != want:
        return "%s: %r != expected %r" % (path or "(root)", got, want)
    return None


def check_body(body, secret, expected=None, app_key=None, timestamp=None,
               params_expected=None, key_order=True):
    """Check one form body (str). Returns (results, params) with results a list of
    (ok, name, detail) and params the decoded dict (first value of each name)."""
    results = []

    def check(ok, name, detail=""):
        results.append((bool(ok), name, "" if ok else detail))
        return ok

    params = {}
    if not check(body.isascii(), "body is ASCII", "non-ASCII characters in the form body"):
        return results, params
    check(all(c not in body for c in " \t\r\n"), "body has no whitespace",
          "raw whitespace found (spaces must be '+', newlines percent-encoded)")
    try:
        pairs = urllib.parse.parse_qsl(body, keep_blank_values=True, strict_parsing=True,
                                       encoding="utf-8", errors="strict")
    except (ValueError, UnicodeDecodeError) as e:
        check(False, "body parses as a form (strict)", str(e))
        return results, params
    check(True, "body parses as a form (strict)")
    raw_fields = body.split("&")
    check(all(f.count("=") == 1 for f in raw_fields), "each field is name=value",
          "a field has no '=' or an unencoded '=' in its value")
    names = [n for n, _ in pairs]
    dups = sorted({n for n in names if names.count(n) > 1})
    check(not dups, "no parameter is repeated", "repeated: %s" % ", ".join(dups))
    for n, v in pairs:
        params.setdefault(n, v)
    empty = [n for n, v in pairs if v == ""]
    check(not empty, "no empty parameter is sent", "empty: %s" % ", ".join(empty))
    unknown = [n for n in names if n not in KNOWN]
    check(not unknown, "only TOP system parameters and %s" % ORDER_PARAM,
          "unexpected: %s" % ", ".join(unknown))

    # System parameters.
    check(params.get("method") == API_METHOD, "method", "method=%r" % params.get("method"))
    if app_key is None:
        check(bool(params.get("app_key")), "app_key present", "app_key missing")
    else:
        check(params.get("app_key") == app_key, "app_key", "app_key=%r, expected %r"
              % (params.get("app_key"), app_key))
    ts = params.get("timestamp")
    check(ts is not None and is_timestamp(ts), "timestamp is yyyy-MM-dd HH:mm:ss",
          "timestamp=%r" % ts)
    if timestamp is not None:
        check(ts == timestamp, "timestamp as given", "timestamp=%r, expected %r" % (ts, timestamp))
    check(params.get("v") == "2.0", "v=2.0", "v=%r" % params.get("v"))
    sm = params.get("sign_method")
    check(sm in SIGN_METHODS, "sign_method", "sign_method=%r" % sm)
    check(params.get("format") == "json", "format=json", "format=%r" % params.get("format"))
    for n, want in (params_expected or {}).items():
        got = params.get(n)
        check(got == want, "parameter %s" % n, "%s=%r, expected %r" % (n, got, want))

    # Order of the parameters.
    check(bool(names) and names[-1] == "sign", "sign is the last parameter",
          "last parameter is %r" % (names[-1] if names else None))
    rest = [n for n in names if n != "sign"]
    want_order = sorted(rest, key=lambda n: n.encode("utf-8"))
    check(rest == want_order, "parameters sorted by name (byte order)",
          "order %s, expected %s" % (rest, want_order))

    # Exact form encoding.
    reencoded = "&".join(form_encode(n) + "=" + form_encode(v) for n, v in pairs)
    if reencoded == body:
        check(True, "form encoding is exact (space '+', uppercase %XX, A-Za-z0-9-_.* bare)")
    else:
        i = next((k for k in range(min(len(body), len(reencoded))) if body[k] != reencoded[k]),
                 min(len(body), len(reencoded)))
        check(False, "form encoding is exact (space '+', uppercase %XX, A-Za-z0-9-_.* bare)",
              "first difference at offset %d: sent %r, expected %r"
              % (i, body[max(0, i - 12):i + 12], reencoded[max(0, i - 12):i + 12]))

    # Signature.
    got_sign = params.get("sign")
    if check(got_sign is not None, "sign present", "no sign parameter") and sm in SIGN_METHODS:
        check(len(got_sign) == SIGN_METHODS[sm] and all(c in "0123456789ABCDEF" for c in got_sign),
              "sign is %d uppercase hex digits" % SIGN_METHODS[sm], "sign=%r" % got_sign)
        want = compute_sign([(n, v) for n, v in pairs if n != "sign"], secret, sm)
        check(hmac.compare_digest(want, got_sign), "sign matches (%s)" % sm,
              "sent sign does not match the recomputed one")
    if secret and len(secret) >= 8:    # a shorter one may occur by chance ("it" in "item")
        check(secret not in body and secret not in urllib.parse.unquote_plus(body)
              and form_encode(secret) not in body,
              "the secret is not in the body", "the secret appears in the body")

    # The order.
    text = params.get(ORDER_PARAM)
    if check(text is not None, "%s present" % ORDER_PARAM, "missing"):
        try:
            order = json.loads(text, object_pairs_hook=_pairs_hook)
            ok = True
        except _Dup as e:
            check(False, "order is JSON without duplicate keys", "duplicate key %r" % str(e))
            ok = False
        except ValueError as e:
            check(False, "order is JSON without duplicate keys", str(e))
            ok = False
        if ok:
            check(True, "order is JSON without duplicate keys")
            fp = _first_float(order)
            check(fp is None, "order has integer Numbers only", "non-integer number at %s" % fp)
            if expected is not None:
                diff = _first_diff(order, expected)
                check(diff is None and order == expected, "order == expected", diff or "differs")
                if key_order:
                    kd = _key_order_diff(order, expected)
                    check(kd is None, "order keys in the expected (API document) order", kd or "")
    return results, params


def _usage(msg):
    sys.stderr.write("check_body.py: %s\nusage: check_body.py --secret S --expect ORDER.json "
                     "[--app-key K] [--timestamp T] [--param N=V]... [--ignore-key-order] "
                     "BODYFILE|-\n" % msg)
    sys.exit(2)


def main(argv):
    secret = os.environ.get("ICBU_REFLOW_APP_SECRET")
    expect = app_key = timestamp = bodyfile = None
    extra = {}
    key_order = True
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--secret", "--expect", "--app-key", "--timestamp", "--param"):
            if i + 1 >= len(argv):
                _usage("%s needs a value" % a)
            v = argv[i + 1]
            i += 2
            if a == "--secret":
                secret = v
            elif a == "--expect":
                expect = v
            elif a == "--app-key":
                app_key = v
            elif a == "--timestamp":
                timestamp = v
            else:
                if "=" not in v:
                    _usage("--param wants NAME=VALUE")
                n, val = v.split("=", 1)
                extra[n] = val
        elif a == "--ignore-key-order":
            key_order = False
            i += 1
        elif a.startswith("--") and a != "--":
            _usage("unknown option %s" % a)
        else:
            if bodyfile is not None:
                _usage("one BODYFILE only")
            bodyfile = a
            i += 1
    if bodyfile is None or not secret:
        _usage("BODYFILE and --secret are required")
    expected = None
    if expect:
        with open(expect, "rb") as f:
            expected = json.loads(f.read().decode("utf-8"))
    if bodyfile == "-":
        raw = sys.stdin.buffer.read()
    else:
        with open(bodyfile, "rb") as f:
            raw = f.read()
    if raw.endswith(b"\r\n"):
        raw = raw[:-2]
    elif raw.endswith(b"\n"):
        raw = raw[:-1]
    try:
        body = raw.decode("ascii")
    except UnicodeDecodeError:
        body = raw.decode("utf-8", "replace")
    results, _ = check_body(body, secret, expected, app_key, timestamp, extra, key_order)
    passed = sum(1 for ok, _, _ in results if ok)
    failed = len(results) - passed
    for ok, name, detail in results:
        print("ok - %s" % name if ok else "not ok - %s: %s" % (name, detail))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
