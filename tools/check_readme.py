#!/usr/bin/env python3
"""Keeps README.md honest: the status table must be the header's status list,
the memory table must be what build/arena-sizes prints, and the minimal program
must compile and run. `--write` rewrites the two tables."""
import os, re, subprocess, sys, tempfile
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import readme_block  # noqa: E402  tools/readme_block.py

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
readme_path = os.path.join(root, 'README.md')
readme = open(readme_path, encoding='utf-8').read()
header = open(os.path.join(root, 'icbu_reflow.h'), encoding='utf-8').read()
write = '--write' in sys.argv
passed = failed = 0

def report(ok, name, detail=''):
    global passed, failed
    print(('ok - ' if ok else 'not ok - ') + name + ('' if ok else ': ' + detail))
    passed += ok
    failed += not ok

def check_table(tag, want):
    report(readme_block.sync(readme_path, tag, "\n" + want, write, "check_readme.py"),
           'README %s matches' % tag)

lst = header[header.index('#define ICBU_STATUS_LIST(X)'):]
lst = lst[:lst.index('#define ICBU__ENUM')]
# X(name, "text", field): the field of icbu_err that says more, or -
rows = re.findall(r'X\((ICBU_\w+),\s*"((?:[^"\\]|\\.)*)",\s*([\w-]+)\)', lst)
check_table('status-table', '| status | meaning | `icbu_err` says more in |\n|---|---|---|\n' +
            ''.join('| `%s` | %s | %s |\n' % (n, t.replace('\\"', '"'), '`%s`' % f if f != '-' else '')
                    for n, t, f in rows))

arena = subprocess.run([os.path.join(root, 'build', 'arena-sizes')], stdout=subprocess.PIPE, check=True)
check_table('arena-table', arena.stdout.decode())

m = re.search(r'## A minimal program\n\n```c\n(.*?)```', readme, re.S)
with tempfile.TemporaryDirectory() as d:
    src = os.path.join(d, 'minimal.c')
    open(src, 'w').write(m.group(1))
    cc = subprocess.run([os.environ.get('CC', 'cc'), '-std=c99', '-Wall', '-Wextra', '-Werror', '-I', root, src, '-o',
                         os.path.join(d, 'minimal'), '-lmbedcrypto'], stderr=subprocess.PIPE)
    report(cc.returncode == 0, 'README minimal program compiles', cc.stderr.decode()[-2000:])
    if cc.returncode == 0:
        run = subprocess.run([os.path.join(d, 'minimal')], stdout=subprocess.PIPE)
        out = run.stdout.decode()
        report(run.returncode == 0 and out.startswith('app_key=12345678&format=json&insured_order_reflow_request='),
               'README minimal program prints a signed body', out[:200])
print('%d passed, %d failed' % (passed, failed))
sys.exit(1 if failed else 0)
