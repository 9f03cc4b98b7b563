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
back end signs the example order identically. First, that the checker can fail:
it gives the published vectors (tests/vectors/sign-vectors.json) and rejects the
first DIR's hmac-sha256 body with a wrong sign, a lower-case one, one made with
another secret, parameters out of order, a changed order and one in another key
order.

    python3 tests/check_examples.py DIR [DIR...]      (default: build)"""
import json, os, sys, urllib.parse
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

def fails(body, check_name, secret='helloworld'):
    """Does check_body find body wrong, in the check named check_name (and pass the others
    it is not meant to trip: at least the form parses)?"""
    results, _ = check_body.check_body(body, secret, expected)
    return any(not ok and name.startswith(check_name) for ok, name, _ in results)

def check_oracle():
    """The oracle can fail: it reproduces the published vectors, and it rejects a body the
    library could get wrong. Without this, a check_body that accepts any sign would pass."""
    vecs = json.load(open(os.path.join(here, 'vectors', 'sign-vectors.json'), encoding='utf-8'))
    bad = [v['sign'] for v in vecs if check_body.compute_sign(list(v['params'].items()), v['secret'],
                                                               v['params']['sign_method']) != v['sign']]
    report(bool(vecs) and not bad, 'oracle: compute_sign gives the %d published vectors' % len(vecs), 'not %s' % bad)
    raw = read(dirs[0], 'example_body_hmac-sha256.txt')
    if raw is None:
        return
    body = raw.decode('ascii')
    good, _ = check_body.check_body(body, 'helloworld', expected)
    report(good and all(ok for ok, _, _ in good), 'oracle: passes the example body')
    head, sign = body.rsplit('&sign=', 1)
    flip = '0' if sign[-1] != '0' else '1'
    pairs = [(n, v) for n, v in (f.split('=', 1) for f in head.split('&'))]
    def form(ps, secret='helloworld'):
        plain = [(urllib.parse.unquote_plus(n), urllib.parse.unquote_plus(v)) for n, v in ps]
        return '&'.join(n + '=' + v for n, v in ps) + '&sign=' + check_body.compute_sign(plain, secret, 'hmac-sha256')
    changed = [(n, v.replace('DAJIA', 'DAJIB', 1) if n == check_body.ORDER_PARAM else v) for n, v in pairs]
    def keys_reversed(v):
        o = json.loads(urllib.parse.unquote_plus(v))
        return check_body.form_encode(json.dumps(dict(reversed(list(o.items()))), ensure_ascii=False,
                                                 separators=(',', ':')))
    reordered = [(n, keys_reversed(v) if n == check_body.ORDER_PARAM else v) for n, v in pairs]
    for what, b, name in (
            ('a sign with its last digit changed', head + '&sign=' + sign[:-1] + flip, 'sign matches'),
            ('the sign in lower case', head + '&sign=' + sign.lower(), 'sign is 64 uppercase hex digits'),
            ('a sign made with another secret', form(pairs, 'hellowörld'), 'sign matches'),
            ('two parameters swapped, signed', form([pairs[1], pairs[0]] + pairs[2:]), 'parameters sorted'),
            ('an order byte changed, signed', form(changed), 'order == expected'),
            ('the order\'s keys reordered, signed', form(reordered), 'order keys in the expected')):
        report(b != body and fails(b, name), 'oracle: rejects %s (%s)' % (what, name))

check_oracle()
for d in dirs:
    check_dir(d)
for d in dirs[1:]:
    for name in FILES:
        a, b = read(dirs[0], name), read(d, name)
        if a is not None and b is not None:
            report(a == b, '%s %s == %s %s' % (d, name, dirs[0], name), 'the bytes differ')
print('%d passed, %d failed' % (passed, failed))
sys.exit(1 if failed else 0)
