#!/usr/bin/env python3
"""Checks what the unit tests wrote into BUILD with an independent implementation
(tests/check_body.py: json, hashlib, hmac, urllib.parse only):
  - example_order.json: byte for byte json.dumps of tests/data/example_order.json
    (API document field order, no spaces, raw UTF-8), and equal once decoded;
  - example_body_<method>.txt: parameters, order, encoding and signature under
    each sign method, and the decoded order equal to the expected one;
  - options_body_md5.txt: the optional system parameters, signed."""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_body

build = sys.argv[1] if len(sys.argv) > 1 else 'build'
here = os.path.dirname(os.path.abspath(__file__))
expected = json.load(open(os.path.join(here, 'data', 'example_order.json'), encoding='utf-8'))
passed = failed = 0

def report(ok, name, detail=''):
    global passed, failed
    print(('ok - ' if ok else 'not ok - ') + name + ('' if ok else ': ' + detail))
    passed += ok
    failed += not ok

raw = open(os.path.join(build, 'example_order.json'), 'rb').read()
want = json.dumps(expected, ensure_ascii=False, separators=(',', ':')).encode('utf-8')
report(raw == want, 'example order JSON is byte-exact', '%r' % raw[:80])
report(json.loads(raw.decode('utf-8')) == expected, 'example order JSON decodes to the expected order')

for m in ('hmac-sha256', 'hmac', 'md5'):
    body = open(os.path.join(build, 'example_body_%s.txt' % m), encoding='ascii').read()
    results, params = check_body.check_body(body, 'helloworld', expected)
    for ok, name, detail in results:
        report(ok, '%s: %s' % (m, name), detail)
    report(params.get('sign_method') == m, '%s: sign_method sent' % m)
    report(params.get('timestamp') == '2026-11-28 12:00:00', '%s: timestamp sent' % m)

body = open(os.path.join(build, 'options_body_md5.txt'), encoding='ascii').read()
results, params = check_body.check_body(body, 'helloworld', expected)
for ok, name, detail in results:
    report(ok, 'options: ' + name, detail)
for k, v in (('session', 'sess'), ('partner_id', 'p1'), ('simplify', 'true'), ('target_app_key', 't9')):
    report(params.get(k) == v, 'options: %s=%s sent and signed' % (k, v))
print('%d passed, %d failed' % (passed, failed))
sys.exit(1 if failed else 0)
