"""What the check scripts share (tests/build_systems.py, tests/manifests.py,
tests/compat.py): one line per check ("ok - ..." / "not ok - ...: why"), a command's
output, and the closing "N passed, N failed" line that tests/run_suites.py reads."""
import subprocess
import sys

_results = []


def report(ok, name, detail=""):
    """Records a check and prints its line; the detail only when it failed."""
    _results.append(bool(ok))
    print(("ok - " if ok else "not ok - ") + name + ("" if ok or not detail else ": " + detail))
    sys.stdout.flush()


def skip(name, why):
    print("skip - %s: %s" % (name, why))
    sys.stdout.flush()


def note(text):
    print("# " + text)
    sys.stdout.flush()


def tail(text, n=20):
    """The last n lines of a command's output, indented under a failed check."""
    return "\n    ".join(text.strip().splitlines()[-n:])


def sh(argv, cwd=None, env=None, timeout=None):
    """Runs argv; (exit status, stdout and stderr together)."""
    p = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=env, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def finish():
    """Prints "N passed, N failed"; the exit status: 0 when there were checks and all passed."""
    passed = sum(_results)
    print("%d passed, %d failed" % (passed, len(_results) - passed))
    return 0 if _results and all(_results) else 1
