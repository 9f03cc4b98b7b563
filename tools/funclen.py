#!/usr/bin/env python3
"""Every function in icbu_reflow.h is short: at most LIMIT lines from its first line to its
closing brace, unless docs/design.md names it, with the reason, under "## Long functions"
as a line `- icbu_name: why`.

    python3 tools/funclen.py [--list]     (--list: every function with its length, longest first)

Comments and string literals are blanked first, so braces in them do not count. One line
per function over the limit; then "N passed, N failed" (one check per function)."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIMIT = 60


def blank(text):
    """Comments, strings and character literals replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j]) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(text):
    """(name, first line, last line) of every function definition at file level."""
    src = blank(text)
    lines = src.split("\n")
    found, depth = [], 0
    pending = None                       # (name, line) of a declarator seen at depth 0
    directive = False                    # inside a preprocessor directive (continued lines)
    cplusplus = False                    # inside #ifdef __cplusplus (extern "C" { and its })
    for no, line in enumerate(lines, 1):
        if directive or line.lstrip().startswith("#"):
            directive = line.rstrip().endswith("\\")
            word = line.split()
            if word[:2] == ["#ifdef", "__cplusplus"]:
                cplusplus = True
            elif word[:1] == ["#endif"]:
                cplusplus = False
            continue
        if cplusplus:
            continue
        if depth == 0:
            m = re.search(r"\b(icbu_?\w*)\s*\(", line)
            if m and re.match(r"^(ICBUDEF|static|ICBU__\w+)\b", line):
                pending = (m.group(1), no)
        for ch in line:
            if ch == "{":
                if depth == 0 and pending:
                    start = pending
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0 and pending:
                    found.append((start[0], start[1], no))
                    pending = None
            elif ch == ";" and depth == 0:
                pending = None           # a declaration, not a definition
    return found


def allowed():
    path = os.path.join(ROOT, "docs", "design.md")
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return {}
    sec = text.split("## Long functions", 1)
    if len(sec) < 2:
        return {}
    sec = sec[1].split("\n## ", 1)[0]
    return {m.group(1): m.group(2) for m in re.finditer(r"^- `?(icbu_?\w+)`?: (.+)$", sec, re.M)}


def main():
    text = open(os.path.join(ROOT, "icbu_reflow.h"), encoding="utf-8").read()
    funcs = functions(text)
    if "--list" in sys.argv:
        for name, a, b in sorted(funcs, key=lambda f: f[1] - f[2]):
            print("%4d  %s (line %d)" % (b - a + 1, name, a))
        return 0
    ok = bad = 0
    why = allowed()
    for name, a, b in funcs:
        n = b - a + 1
        if n <= LIMIT:
            ok += 1
        elif name in why:
            ok += 1
            print("ok - %s: %d lines, longer than %d because %s" % (name, n, LIMIT, why[name]))
        else:
            bad += 1
            print("not ok - %s: %d lines (line %d), more than %d and not in docs/design.md's "
                  "long functions" % (name, n, a, LIMIT))
    if len(funcs) < 50:
        bad += 1
        print("not ok - found only %d functions: the scanner is broken" % len(funcs))
    print("%d passed, %d failed" % (ok, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
