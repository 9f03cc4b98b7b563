"""Marked blocks in Markdown files that commands keep: what stands between
<!-- TAG:begin --> and <!-- TAG:end --> in README.md (the status and arena
tables, tools/check_readme.py) and in the measurement pages of docs/ (size,
stack, bench, fuzz: written by `make docs`). Used by tools/size.py,
tools/stack.py, tools/fuzz_report.py, bench/bench_run.py and
tools/check_readme.py, so that every such block is read, checked and
rewritten the same way."""
import difflib
import os
import sys


def markers(tag):
    return "<!-- %s:begin -->" % tag, "<!-- %s:end -->" % tag


def read(path, tag, who):
    """The text between the markers of tag in path; None (with a message on
    stderr) when the file or its block is missing."""
    begin, end = markers(tag)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as ex:
        sys.stderr.write("%s: cannot read %s: %s\n" % (who, path, ex))
        return None
    b, e = text.find(begin), text.find(end)
    if b < 0 or e < b:
        sys.stderr.write("%s: %s has no '%s' ... '%s' block\n" % (who, path, begin, end))
        return None
    return text[b + len(begin):e]


def sync(path, tag, block, write, who):
    """Compares block with what stands between the markers of tag in path, or,
    when write is true, puts block there (a missing file is created with the
    block alone). Returns True when they match (or the file was rewritten);
    prints a diff and returns False when they differ."""
    begin, end = markers(tag)
    if write and not os.path.exists(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(begin + block + end + "\n")
        print("%s: created %s with the %s" % (who, path, tag))
        return True
    with open(path, encoding="utf-8") as f:
        text = f.read()
    b, e = text.find(begin), text.find(end)
    if b < 0 or e < b:
        sys.stderr.write("%s: %s has no '%s' ... '%s' block\n" % (who, path, begin, end))
        return False
    start = b + len(begin)
    old = text[start:e]
    if old == block:
        print("%s: the %s in %s is up to date" % (who, tag, path))
        return True
    if write:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text[:start] + block + text[e:])
        print("%s: rewrote the %s in %s" % (who, tag, path))
        return True
    sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), block.splitlines(True),
                                               "%s (%s)" % (path, tag), "measured"))
    sys.stderr.write("%s: the %s in %s is out of date (--write rewrites it)\n" % (who, tag, path))
    return False


def emit(table, tag, check, write, who):
    """A measuring tool's output: table on stdout, or, with --check FILE or
    --write FILE, the tag block in that file compared or rewritten (exit 1
    when it differs)."""
    if check or write:
        if not sync(check or write, tag, "\n" + table, bool(write), who):
            sys.exit(1)
    else:
        sys.stdout.write(table)


def tables(block):
    """The Markdown tables in a block: a list of (heading cells, rows), each
    row a list of cells (stripped, in column order)."""
    out, cur = [], None
    for line in block.splitlines():
        s = line.strip()
        if s.startswith("|") and s.endswith("|") and len(s) > 1:
            cells = [c.strip() for c in s[1:-1].split("|")]
            if cur is None:
                cur = (cells, [])
                out.append(cur)
            elif all(set(c) <= set("-: ") and c for c in cells):
                continue                                   # the |---|---:| line
            else:
                cur[1].append(cells)
        else:
            cur = None
    return out
