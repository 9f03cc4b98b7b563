"""README.md blocks that commands keep: what stands between
<!-- TAG:begin --> and <!-- TAG:end -->. Used by tools/size.py, tools/stack.py
and tools/check_readme.py, so that every such table is checked, and
rewritten, the same way."""
import difflib
import sys


def sync(path, tag, block, write, who):
    """Compares block with what stands between the markers of tag in path, or,
    when write is true, puts block there. Returns True when they match (or the
    file was rewritten); prints a diff and returns False when they differ."""
    begin, end = "<!-- %s:begin -->" % tag, "<!-- %s:end -->" % tag
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
