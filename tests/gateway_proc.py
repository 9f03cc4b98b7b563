"""What the integration and reliability drivers share: the local TOP gateway
(tools/top_gateway.py) as a child process -- start it on 127.0.0.1, read its
ports, build URLs (with a /f/<mode> fault prefix), read its logs, stop it --
and running one test case into an 'ok - ' / 'not ok - ' line."""
import fnmatch
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def jsonl_lines(path):
    """The complete lines of a JSON-lines log, each as JSON ([] when there is no file).
    The gateway appends a line at a time while a test reads the file: a last line
    without its newline is still being written, possibly cut inside a UTF-8
    character, and is left for a later read."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    done = data[:data.rfind(b"\n") + 1].decode("utf-8")
    return [json.loads(x) for x in done.split("\n") if x.strip()]


class Gateway:
    def __init__(self, tmp, app_key, env, extra_args=(), badname=False, start_timeout=30):
        self.state = os.path.join(tmp, "gw")
        self.log = open(os.path.join(tmp, "gateway.log"), "wb")
        args = [sys.executable, os.path.join(ROOT, "tools", "top_gateway.py"),
                "--http-port", "0", "--https-port", "0", "--app-key", app_key,
                "--state-dir", self.state] + list(extra_args)
        if badname:
            args += ["--badname-port", "0"]
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + start_timeout
        ports = os.path.join(self.state, "ports")
        while not os.path.exists(ports):
            if self.p.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("the gateway did not start; see %s" % self.log.name)
            time.sleep(0.02)
        with open(ports) as f:
            kv = dict(x.split("=") for x in f.read().split())
        self.http, self.https = int(kv["http"]), int(kv["https"])
        self.https12 = int(kv["https12"]) if "https12" in kv else None   # --tls12-port
        self.badname = None
        if badname:
            with open(os.path.join(self.state, "badname-port")) as f:
                self.badname = int(f.read())
        self.ca = os.path.join(self.state, "ca.pem")
        self.wrong_ca = os.path.join(self.state, "wrong-ca.pem")

    def url(self, scheme, mode="", port=None):
        """scheme "https12": HTTPS on the listener limited to TLS 1.2 (--tls12-port)."""
        port = port or {"https": self.https, "https12": self.https12}.get(scheme, self.http)
        return "%s://127.0.0.1:%d%s/router/rest" % ("https" if scheme == "https12" else scheme,
                                                   port, "/f/" + mode if mode else "")

    def jsonl(self, name):
        return jsonl_lines(os.path.join(self.state, name))

    def requests(self, prefix):
        """requests.jsonl: the requests whose order's external_biz_id starts with prefix."""
        return [r for r in self.jsonl("requests.jsonl") if (r.get("biz") or "").startswith(prefix)]

    def connections(self):
        """connections.jsonl: connection id -> its "open" event (listener, tls, resumed),
        with "requests" and "why" from its "close" event once it is closed."""
        out = {}
        for e in self.jsonl("connections.jsonl"):
            if e.get("event") == "open":
                out[e["conn"]] = dict(e)
            elif e.get("event") == "close" and e["conn"] in out:
                out[e["conn"]].update(requests=e["requests"], why=e["why"])
        return out

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()


def free_port():
    """A loopback port nobody listens on (bound, then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def selected(name, pattern):
    """--only PATTERN: a glob when it has * ? or [, else a part of the case's name."""
    if not pattern:
        return True
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(name, pattern)
    return pattern in name


class Fail(Exception):
    """A failed expectation in a test case."""


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


_OUT_LOCK = threading.Lock()


def run_case(name, fn, results):
    """Runs fn(); a Fail or any other error fails the case.
    Prints one line (with the time when it took 2 s or more) and appends
    (ok, name, why) to results. Safe to call from several threads."""
    t0 = time.monotonic()
    try:
        fn()
        res = (True, name, "")
    except Fail as e:
        res = (False, name, str(e))
    except Exception as e:  # noqa: BLE001
        res = (False, name, "%s: %s" % (type(e).__name__, e))
    took = time.monotonic() - t0
    note = " # %.1f s" % took if took >= 2 else ""
    with _OUT_LOCK:
        print(("ok - %s" % name if res[0] else "not ok - %s: %s" % (name, res[2])) + note,
              flush=True)
        results.append(res)
    return res


def finish(results, t0, detail, tmp, keep):
    """A runner's last lines: time and detail, where the temporary files are
    (kept when asked or when something failed), then 'N passed, N failed'.
    Returns the exit status."""
    passed = sum(1 for r in results if r[0])
    failed = len(results) - passed
    print("# %.1f s, %s" % (time.monotonic() - t0, detail))
    if keep or failed:
        print("# temporary files kept in %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
