#!/usr/bin/env python3
"""The fuzz report: a Markdown table of one `make fuzz` run, from its log.

    python3 tools/fuzz_report.py --log build/fuzz/report.log --seconds 60 [--write docs/fuzz.md]

The log is what `make fuzz SECONDS=N` printed (fuzz/fuzz.mk keeps, per harness, the
"== fuzz_x: N s" line, libFuzzer's "Done N runs in S second(s)" line and any crash
report), followed by a last line "exit N" with make's exit status (`make fuzz-report`
writes it so). A run that found a crash, or a harness without its "Done" line, is
reported and nothing is written: a crash goes to fuzz/regressions/ and is fixed first.
With --write FILE the table and its note replace what stands between
<!-- fuzz-report:begin --> and <!-- fuzz-report:end --> in FILE (`make docs`). The
report is documentation only; `make test` does not compare anything with it.
Python 3 standard library only."""
import argparse
import datetime
import hashlib
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import readme_block  # noqa: E402  tools/readme_block.py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse(log):
    harnesses, order, rc, crash = {}, [], None, []
    cur = None
    for line in log.splitlines():
        m = re.match(r"^== (\w+): (\d+) s", line)
        if m:
            cur = m.group(1)
            order.append(cur)
            harnesses[cur] = None
            continue
        m = re.match(r"^Done (\d+) runs in (\d+) second", line)
        if m and cur:
            harnesses[cur] = (int(m.group(1)), int(m.group(2)))
            continue
        m = re.match(r"^exit (\d+)$", line)
        if m:
            rc = int(m.group(1))
            continue
        if "new crash" in line or "ERROR: " in line or "SUMMARY:" in line:
            crash.append(line)
    return order, harnesses, rc, crash


def first_line(cmd):
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode()
        return out.splitlines()[0].strip()
    except (OSError, IndexError):
        return "?"


def render(order, harnesses, seconds, cc):
    lines = ["| harness | ran | executions | executions per second | crashes |",
             "|---|---:|---:|---:|---:|"]
    for h in order:
        runs, secs = harnesses[h]
        lines.append("| `%s` | %d s | %s | %s | 0 |" % (h, secs, "{:,}".format(runs),
                                                         "{:,}".format(runs // max(secs, 1))))
    with open(os.path.join(ROOT, "icbu_reflow.h"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    m = re.search(r"(\d+\.\d+\.\d+)", first_line([cc, "--version"]))
    try:
        load = open("/proc/loadavg").read().split()[0]
    except OSError:
        load = "?"
    lines.append("")
    lines.append("`make docs` (`make fuzz-report SECONDS=%d`) on %s: each harness %d s, icbu_reflow.h sha256 "
                 "%s…, %s %s, %d logical CPUs (load average %s when it ended); the table is libFuzzer's "
                 "`Done N runs in S second(s)` line of each harness, and no crash was found (one stops "
                 "the run and this page is not written). `fuzz_roundtrip` signs every input twice and "
                 "checks several short arenas, so it runs fewer, longer executions."
                 % (seconds, datetime.date.today().isoformat(), seconds, digest, os.path.basename(cc),
                    m.group(1) if m else "?", os.cpu_count() or 0, load))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log", required=True)
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--cc", default=os.environ.get("FUZZ_CC", "clang"))
    ap.add_argument("--write", metavar="FILE")
    a = ap.parse_args()
    with open(a.log, encoding="utf-8", errors="replace") as f:
        order, harnesses, rc, crash = parse(f.read())
    missing = [h for h in order if harnesses[h] is None]
    if rc != 0 or crash or missing or not order:
        sys.stderr.write("fuzz_report.py: the run did not end cleanly (exit %s%s%s); nothing written\n%s\n"
                         % (rc, "; no 'Done' line for " + ", ".join(missing) if missing else "",
                            "; no harness ran" if not order else "", "\n".join(crash[-10:])))
        return 1
    table = render(order, harnesses, a.seconds, a.cc)
    readme_block.emit(table, "fuzz-report", None, a.write, "fuzz_report.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
