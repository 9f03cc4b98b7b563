#!/usr/bin/env python3
"""Keeps README.md honest: the status table must be the header's status list,
the memory table must be what build/arena-sizes prints, and the minimal program
must compile and run. `--write` rewrites the two tables.

And the docs: every relative link of README.md and docs/*.md leads to a file of
the repository (and to a heading, with #anchor); each measurement page of docs/
has the block its command writes (`make docs`); and no file of the repository
points at the protocol notes or the specification outside it, which users do
not have (docs/protocol.md is the repository's own)."""
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

sizes = os.path.join(root, 'build', 'arena-sizes')
if os.path.exists(sizes):
    arena = subprocess.run([sizes], stdout=subprocess.PIPE, check=True)
    check_table('arena-table', arena.stdout.decode())
else:
    report(False, 'README arena-table matches', '%s is not built: make %s' % (sizes, 'build/arena-sizes'))

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
# ------------------------------------------------------------------- docs
def slug(heading):
    """GitHub's anchor for a Markdown heading."""
    h = re.sub(r'[`*_]', '', heading.strip().lower())
    return re.sub(r'[^\w\- ]', '', h).replace(' ', '-')


def anchors(path):
    with open(path, encoding='utf-8') as f:
        text = re.sub(r'```.*?```', '', f.read(), flags=re.S)
    return {slug(m) for m in re.findall(r'^#+\s+(.*)$', text, re.M)}


docs = os.path.join(root, 'docs')
pages = [readme_path] + sorted(os.path.join(docs, f) for f in os.listdir(docs) if f.endswith('.md')) \
    if os.path.isdir(docs) else [readme_path]
for page in pages:
    with open(page, encoding='utf-8') as f:
        text = re.sub(r'```.*?```', '', f.read(), flags=re.S)
    bad = []
    for target in re.findall(r'\]\(([^)\s]+)\)', text):
        if re.match(r'^[a-z]+:', target):
            continue                                   # http(s), mailto
        path, _, anchor = target.partition('#')
        dest = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        if not os.path.exists(dest) or not dest.startswith(root + os.sep):
            bad.append('%s (no such file in the repository)' % target)
        elif anchor and dest.endswith('.md') and anchor not in anchors(dest):
            bad.append('%s (no such heading)' % target)
    report(not bad, '%s: every relative link leads somewhere' % os.path.relpath(page, root), '; '.join(bad))

for page, tag in (('size.md', 'size-linked'), ('size.md', 'size-table'), ('stack.md', 'stack-table'), ('stack.md', 'stack-painted'),
                  ('bench.md', 'bench-table'), ('bench.md', 'bench-net'), ('fuzz.md', 'fuzz-report'),
                  ('firmware.md', 'firmware-table')):
    block = readme_block.read(os.path.join(docs, page), tag, 'check_readme.py')
    report(bool(block and block.strip()), 'docs/%s has its %s block (make docs writes it)' % (page, tag),
           'missing or empty')

# Nothing may point at the protocol notes or the specification kept outside the
# repository; the one outside path allowed is the default place of the optional
# mbedTLS source archives (the Makefile's THIRDPARTY).
FORBIDDEN = [re.compile(r'PROTOCOL' + r'\.md'), re.compile(r'\.\./shared/(?!thirdparty)'),
             re.compile(r'shared/' + r'spec\b')]
SKIP_DIRS = {'.git', 'build', '__pycache__', 'corpus-run', 'corpus', 'regressions'}
hits = []
for d, dirs, files in os.walk(root):
    dirs[:] = [x for x in dirs if x not in SKIP_DIRS and not x.startswith('build')]
    for name in files:
        path = os.path.join(d, name)
        try:
            with open(path, encoding='utf-8') as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue                                   # binary
        for n, line in enumerate(text.splitlines(), 1):
            if any(r.search(line) for r in FORBIDDEN):
                hits.append('%s:%d' % (os.path.relpath(path, root), n))
report(not hits, 'no file refers to protocol notes or a specification outside the repository '
       '(docs/protocol.md has the facts)', ', '.join(hits[:20]))

print('%d passed, %d failed' % (passed, failed))
sys.exit(1 if failed else 0)
