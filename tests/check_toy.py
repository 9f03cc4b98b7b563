#!/usr/bin/env python3
"""Checks the second method that tests/toy_method.c defines (in the test only), with an
independent implementation (json, hashlib, hmac, urllib.parse through tests/check_body.py's
compute_sign and form_encode): each toy_body_<method>.txt in DIR must be a strict form,
its parameters sorted by name with the toy's own parameter first, the toy's method name,
the request JSON equal to the one built here, exact encoding, and the right signature.

    python3 tests/check_toy.py DIR"""
import hmac
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_body  # noqa: E402
from checklist import report, finish  # noqa: E402

REQUEST = {"ticket": "T-1", "count": 3,
           "items": [{"sku": "a", "qty": 1}, {"sku": 'b "q" \u5f20', "qty": -2}],
           "at": "2026-11-28 12:00:00", "tags": ["x y", "&=+"]}


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "build"
    for m in ("hmac-sha256", "hmac", "md5"):
        try:
            body = open(os.path.join(d, "toy_body_%s.txt" % m), encoding="ascii").read()
        except OSError as e:
            report(False, "%s: toy body is there" % m, str(e))
            continue
        pairs = urllib.parse.parse_qsl(body, keep_blank_values=True, strict_parsing=True)
        names = [n for n, _ in pairs]
        p = dict(pairs)
        report(names[-1] == "sign" and names[:-1] == sorted(names[:-1], key=lambda n: n.encode()),
               "%s: parameters sorted by name, sign last" % m, str(names))
        report(names[0] == "a_toy_request", "%s: the toy's parameter sorts first" % m, str(names))
        report(p.get("method") == "taobao.toy.ping" and p.get("sign_method") == m and
               p.get("v") == "2.0" and p.get("format") == "json" and p.get("timestamp") == "2026-11-28 12:00:00",
               "%s: system parameters" % m, str(p))
        text = p.get("a_toy_request", "")
        report(json.loads(text) == REQUEST and list(json.loads(text)) == list(REQUEST),
               "%s: the request JSON is the toy request, fields in their list's order" % m, text)
        again = "&".join(check_body.form_encode(n) + "=" + check_body.form_encode(v) for n, v in pairs)
        report(again == body, "%s: form encoding is exact" % m)
        want = check_body.compute_sign([(n, v) for n, v in pairs if n != "sign"], "helloworld", m)
        report(hmac.compare_digest(want, p.get("sign", "")), "%s: sign matches (Python's %s)" % (m, m))
    return finish()


if __name__ == "__main__":
    sys.exit(main())
