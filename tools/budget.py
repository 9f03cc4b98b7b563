"""Budgets for the figures published in docs/ (what `make test` checks instead of
byte equality with a table).

The published page is the reference: `make docs` rewrites it. A new measurement
passes when it is no worse than the published figure plus a tolerance:

    code size (docs/size.md)          + the larger of 64 bytes and 2 %
    stack (docs/stack.md)             + 64 bytes
    instructions (docs/bench.md, Ir)  + 2 %

A target of the issue (Cortex-M4F -Os, in the linked images: the library and its
libgcc/libc helpers, build and sign <= 5,120 bytes, full client <= 11,264; painted
stack of icbu_sign_body <= 1,024 bytes with the small custom hash, <= 1,100 with
mbedTLS, every other entry point <= 1,024; with mbedTLS, ours over the hash-only
bound in instructions: hmac-sha256 <= 1.25x, md5 <= 1.6x) is not a budget while the
published figure misses it; once the published figure meets it,
the budget is the smaller of the two, so a met target stays met. A figure measured but not yet published (a new entry
point, a new column) passes unless it misses its target, and says so; a
published figure no longer measured is noted. A missing page, block or table,
or a cell that does not parse, fails.

Python 3 standard library only."""
import hashlib
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import readme_block  # noqa: E402  tools/readme_block.py

SIZE_TOL_BYTES, SIZE_TOL_FRACTION = 64, 0.02
STACK_TOL_BYTES = 64
IR_TOL_FRACTION = 0.02

SIZE_RULE = "the larger of +%d bytes and +%g %%" % (SIZE_TOL_BYTES, SIZE_TOL_FRACTION * 100)
STACK_RULE = "+%d bytes" % STACK_TOL_BYTES
IR_RULE = "+%g %%" % (IR_TOL_FRACTION * 100)


def size_tolerance(published):
    return max(SIZE_TOL_BYTES, int(math.ceil(published * SIZE_TOL_FRACTION)))


def stack_tolerance(published):
    return STACK_TOL_BYTES


def ir_tolerance(published):
    return int(math.ceil(published * IR_TOL_FRACTION))


class Budget:
    """Collects the checks of one suite: one line per failure or note, then
    "N passed, N failed" (tests/run_suites.py reads it)."""

    def __init__(self, who, unit="B"):
        self.who, self.unit = who, unit
        self.passed = self.failed = 0

    def fail(self, what, why):
        print("not ok - %s: %s" % (what, why))
        self.failed += 1

    def ok(self, what, note=None):
        if note:
            print("ok - %s: %s" % (what, note))
        self.passed += 1

    def figure(self, what, got, published, tolerance, target=None, target_text=""):
        """got against published + tolerance (published None: not published
        yet); target: the issue's bound, a budget once it is met."""
        u = self.unit
        if published is None:
            if target is not None and got > target:
                self.fail(what, "%s %s, not yet published (run `make docs`) and over the target %s %s%s"
                          % (fmt(got), u, fmt(target), u, target_text))
            else:
                self.ok(what, "%s %s, not yet published in docs/ (run `make docs`)" % (fmt(got), u))
            return
        budget = published + tolerance
        why = "published %s + %s" % (fmt(published), fmt(tolerance))
        if target is not None and published <= target and target < budget:
            budget, why = target, "the target %s%s, met when published (%s)" % (fmt(target), target_text, fmt(published))
        if got > budget:
            self.fail(what, "%s %s, over its budget %s %s (%s) by %s %s (%+.1f %% against the published %s)"
                      % (fmt(got), u, fmt(budget), u, why, fmt(got - budget), u,
                         100.0 * (got - published) / published if published else 0.0, fmt(published)))
        else:
            self.ok(what)

    def finish(self, summary=""):
        if summary:
            print("%s: %s" % (self.who, summary))
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


def header_id(path):
    """icbu_reflow.h's version and the first 12 hex digits of its SHA-256: which header a
    page measured."""
    with open(path, "rb") as f:
        data = f.read()
    m = re.search(rb'#define ICBU_REFLOW_VERSION "([^"]*)"', data)
    return "icbu_reflow.h %s (sha256 %s…)" % (m.group(1).decode() if m else "?",
                                              hashlib.sha256(data).hexdigest()[:12])


def fmt(n):
    return "{:,}".format(int(n)) if float(n).is_integer() else "%.2f" % n


def linked_measurements(path, header):
    """The linked images' measurements (BUILD/firmware-measured.json, written by
    tools/firmware.py: `make test-firmware`, or tools/firmware.mk's rule for it):
    (measurements, None), or (None, why they cannot be used: missing, or taken on
    another header than path header). Images whose checks failed have "ok" false."""
    try:
        with open(path, encoding="utf-8") as f:
            m = json.load(f)
    except (OSError, ValueError) as ex:
        return None, "cannot read %s (`make test-firmware` writes it): %s" % (path, ex)
    with open(header, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    if m.get("header_sha256") != sha:
        return None, ("%s was measured on %s, not on this %s (`make test-firmware` measures again)"
                      % (path, m.get("header"), header_id(header)))
    return m, None


def published_table(path, tag, who, index=0):
    """The index-th Markdown table of the tag block in path: (headings, rows),
    or None with a message when the page, the block or the table is missing."""
    block = readme_block.read(path, tag, who)
    if block is None:
        return None
    found = readme_block.tables(block)
    if len(found) <= index or not found[index][1]:
        sys.stderr.write("%s: no table in the %s block of %s\n" % (who, tag, path))
        return None
    return found[index]


def cells(table, value, who, path):
    """{(row label, column heading): int} from a (headings, rows) table;
    value(cell) -> int or None; a cell that does not parse is an error
    (returned in the second value)."""
    heads, rows = table
    out, bad = {}, []
    for r in rows:
        if len(r) != len(heads):
            bad.append("row %r has %d cells, the heading %d" % (r[0], len(r), len(heads)))
            continue
        for h, c in zip(heads[1:], r[1:]):
            v = value(c)
            if v is None:
                bad.append("cannot read %r (row %r, column %r)" % (c, r[0], h))
            else:
                out[(r[0], h)] = v
    return out, bad


def published_or_fail(b, page, tag, make="make docs"):
    """published_table(page, tag), or None after a failure in b naming the
    command that writes it."""
    pub = published_table(page, tag, b.who)
    if pub is None:
        b.fail(page, "no %s table to check against (`%s` writes it)" % (tag, make))
    return pub


def page_and_measured(b, page, tag, measured_md, value):
    """The figures of page's tag block and of the measured Markdown (its first
    table), both read with value(cell): (published, mine), or None after a
    failure in b when the page has no table. Unreadable published cells fail."""
    pub = published_or_fail(b, page, tag)
    if pub is None:
        return None
    published, bad = cells(pub, value, b.who, page)
    for msg in bad:
        b.fail(page, msg)
    mine, _ = cells(readme_block.tables(measured_md)[0], value, b.who, "measured")
    return published, mine


def compare(b, measured, published, tolerance, target=lambda row, col: (None, "")):
    """Every measured figure against its published one (same row label and
    column heading); notes the published ones no longer measured."""
    for key in measured:
        t, tt = target(*key)
        b.figure("%s, %s" % key, measured[key], published.get(key), tolerance(published[key])
                 if key in published else 0, t, tt)
    gone = sorted(k for k in published if k not in measured)
    if gone:
        print("# published but no longer measured (run `make docs`): %s"
              % "; ".join("%s, %s" % k for k in gone))
