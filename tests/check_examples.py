#!/usr/bin/env python3
"""Checks what the unit tests wrote with an independent implementation
(tests/check_body.py: json, hashlib, hmac, urllib.parse only), in each DIR given
(one per hash back end, and per mbedTLS version under make test-compat):
  - example_order.json: byte for byte json.dumps of tests/data/example_order.json
    (API document field order, no spaces, raw UTF-8), and equal once decoded;
  - example_body_<method>.txt: parameters, order, encoding and signature under
    each sign method, and the decoded order equal to the expected one;
  - options_body_md5.txt: the optional system parameters, signed;
and, with several DIRs, that every DIR holds the same bytes as the first: every
back end signs the example order identically.

    python3 tests/check_examples.py DIR [DIR...]      (default: build)"""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_body

dirs = sys.argv[1:] or ['build']
here = os.path.dirname(os.path.abspath(__file__))
expected = json.load(open(os.path.join(here, 'data', 'example_order.json'), encoding='utf-8'))
passed = failed = 0
FILES = ['example_order.json'] + ['example_body_%s.txt' % m for m in ('hmac-sha256', 'hmac', 'md5')] + \
        ['options_body_md5.txt']

def report(ok, name, detail=''):
    global passed, failed
    print(('ok - ' if ok else 'not ok - ') + name + ('' if ok else ': ' + detail))
    passed += ok
    failed += not ok

def read(d, name):
    try:
        return open(os.path.join(d, name), 'rb').read()
    except OSError as e:
        report(False, '%s: %s is there' % (d, name), str(e))
        return None

def check_dir(build):
    tag = os.path.basename(os.path.normpath(build)) + ': ' if len(dirs) > 1 else ''
    raw = read(build, 'example_order.json')
    if raw is not None:
        want = json.dumps(expected, ensure_ascii=False, separators=(',', ':')).encode('utf-8')
        report(raw == want, tag + 'example order JSON is byte-exact', '%r' % raw[:80])
        report(json.loads(raw.decode('utf-8')) == expected, tag + 'example order JSON decodes to the expected order')
    for m in ('hmac-sha256', 'hmac', 'md5'):
        body = read(build, 'example_body_%s.txt' % m)
        if body is None:
            continue
        results, params = check_body.check_body(body.decode('ascii'), 'helloworld', expected)
        for ok, name, detail in results:
            report(ok, '%s%s: %s' % (tag, m, name), detail)
        report(params.get('sign_method') == m, '%s%s: sign_method sent' % (tag, m))
        report(params.get('timestamp') == '2026-11-28 12:00:00', '%s%s: timestamp sent' % (tag, m))
    body = read(build, 'options_body_md5.txt')
    if body is not None:
        results, params = check_body.check_body(body.decode('ascii'), 'helloworld', expected)
        for ok, name, detail in results:
            report(ok, tag + 'options: ' + name, detail)
        for k, v in (('session', 'sess'), ('partner_id', 'p1'), ('simplify', 'true'), ('target_app_key', 't9')):
            report(params.get(k) == v, '%soptions: %s=%s sent and signed' % (tag, k, v))

for d in dirs:
    check_dir(d)
for d in dirs[1:]:
    for name in FILES:
        a, b = read(dirs[0], name), read(d, name)
        if a is not None and b is not None:
            report(a == b, '%s %s == %s %s' % (d, name, dirs[0], name), 'the bytes differ')
print('%d passed, %d failed' % (passed, failed))
sys.exit(1 if failed else 0)
