#!/usr/bin/env python3
"""Runs test suites and adds up what they report.

Each argument is one suite, "name=command". A suite's count is taken from
cmocka's summary lines, or from a last line 'N passed, N failed'; a suite
that exits non-zero without reporting a failure counts as one failure, and so
does one that reports no check at all (no count, or 0 passed and 0 failed:
a test program that returned before its tests, say), and one still running after SUITE_TIMEOUT seconds (default 1800), which is
killed with everything it started. A suite's 'skip - ...' lines are printed
under its own, passed or not. The last line printed is the total:
'N passed, N failed'."""
import os, re, signal, subprocess, sys, time

TIMEOUT = float(os.environ.get('SUITE_TIMEOUT') or 1800)


def kill_group(p):
    """The suite's shell and all it started (its own session: start_new_session)."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass


def run(cmd):
    """(exit status, output, timed out)."""
    p = subprocess.Popen(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    try:
        raw, _ = p.communicate(timeout=TIMEOUT)
        return p.returncode, raw, False
    except subprocess.TimeoutExpired:
        kill_group(p)
        try:
            raw, _ = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:      # a daemon that left the group holds the pipe
            raw = b''
        return p.wait(), raw, True
    except BaseException:
        kill_group(p)
        raise


total_pass = total_fail = 0
for arg in sys.argv[1:]:
    name, _, cmd = arg.partition('=')
    t0 = time.time()
    rc, raw, timed_out = run(cmd)
    out = raw.decode('utf-8', 'replace')
    passed = failed = None
    m = re.findall(r'^\[  PASSED  \] (\d+) test', out, re.M)
    if m:
        passed = sum(int(x) for x in m)
        failed = sum(int(x) for x in re.findall(r'^\[  FAILED  \] (\d+) test', out, re.M))
    else:
        m = re.findall(r'^(?:\w+: )?(\d+) passed, (\d+) failed', out, re.M)
        if m:
            passed, failed = int(m[-1][0]), int(m[-1][1])
    if timed_out:
        out += '\n%s: timed out after %d s (SUITE_TIMEOUT), killed' % (name, TIMEOUT)
        passed, failed = passed or 0, (failed or 0) + 1
    elif passed is None or passed + failed == 0:
        out += '\n%s: exit status %d, and no check reported (no count, or 0 passed and 0 failed)' % (name, rc)
        passed, failed = 0, 1
    elif rc != 0 and failed == 0:
        failed = 1
    status = 'ok' if failed == 0 else 'FAILED'
    print('%-28s %4d passed, %d failed  (%.1fs) %s' % (name, passed, failed, time.time() - t0, status))
    skips = re.findall(r'^skip\b.*$', out, re.M)
    if skips:
        print('    ' + '\n    '.join(skips))
    if failed:
        tail = out.strip().splitlines()[-40:]
        print('    ' + '\n    '.join(tail))
    sys.stdout.flush()
    total_pass += passed
    total_fail += failed
print('%d passed, %d failed' % (total_pass, total_fail))
sys.exit(1 if total_fail else 0)
