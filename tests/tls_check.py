#!/usr/bin/env python3
"""What the TLS transports (transports/icbu_tls_*.c) accept, through icbu-reflow send, against
small TLS servers of Python's ssl module (and openssl s_server for renegotiation) on 127.0.0.1.

    python3 tests/tls_check.py [--bin DIR] [--only PATTERN] [--jobs N] [--keep]

For each of icbu-reflow-{mbedtls,psa,bearssl} found in DIR (default build). The certificates
are made once per run with the cryptography package. Host names under example.test resolve to
127.0.0.1 through an LD_PRELOAD shim over getaddrinfo (tests/resolve_shim.c, built by the run).
  refuse/...  a certificate the client must not trust (expired, not yet valid, SHA-1 signed,
              RSA-1024 leaf or CA, an intermediate without CA:TRUE, a leaf for clientAuth
              only, a name only in the CN beside a SAN of another name, a wildcard one label
              too deep, an IP host against a DNS SAN of the address), and a server that speaks
              only TLS 1.0 or 1.1: exit 3, stage tls, and the server read no byte of the
              request (the signed order never left).
  accept/...  what the client must take: a wildcard for one label, an IP host against an
              iPAddress SAN, the name in a SAN beside a CN of another name.
  sni/...     the host name is sent as SNI; an IP literal sends none.
  ca/...      CA files that are empty, garbage or a directory: exit 3, stage tls, a detail
              that says "cannot load CA file"; one good and one bad PEM block: the good
              certificate is trusted when the bad block is not DER (every build) or not
              base64 (mbedTLS; BearSSL refuses the file).
  reneg/...   a server that sends a HelloRequest after the handshake: --timeout holds.
Prints `ok - name` / `not ok - name: why`, then `N passed, N failed`; exits 1 on failure.
"""
import argparse
import concurrent.futures
import datetime
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import warnings

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError as e:       # a failure that says what to install, not a traceback
    print("not ok - tls_check: the certificates need Python's cryptography package (%s): "
          "pip install cryptography, or apt-get install python3-cryptography for Debian's "
          "python3" % e)
    print("0 passed, 1 failed")
    sys.exit(1)

warnings.filterwarnings("ignore", "ssl.TLSVersion.TLSv1", DeprecationWarning)
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import gateway_proc      # noqa: E402  tests/gateway_proc.py: selected, run_case, finish

Fail, expect = gateway_proc.Fail, gateway_proc.expect
BINARIES = ("mbedtls", "psa", "bearssl")
APP_KEY = "12345678"
SECRET = "tls-Secr3t-%s" % os.urandom(6).hex()
EXAMPLE = os.path.join(HERE, "data", "example_order.json")
NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


# ----------------------------------------------------------------- certificates
def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def rsa_key(bits=2048):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


class Cert:
    def __init__(self, cert, key):
        self.cert, self.key = cert, key

    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self):
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


def make(cn, issuer=None, key=None, ca=False, dns=(), ips=(), not_before=None, not_after=None,
         algo=None, eku=(ExtendedKeyUsageOID.SERVER_AUTH,), basic=True, cert_sign=None):
    """A certificate for cn signed by issuer (a Cert; None: self-signed). ca: a CA
    (basicConstraints CA:TRUE, keyCertSign); basic False leaves basicConstraints out;
    cert_sign: the key usage of a CA (keyCertSign) or of a server (default: as ca)."""
    key = key or ec_key()
    b = (x509.CertificateBuilder()
         .subject_name(name(cn))
         .issuer_name(issuer.cert.subject if issuer else name(cn))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before or NOW - DAY)
         .not_valid_after(not_after or NOW + 30 * DAY))
    if basic:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    if ca if cert_sign is None else cert_sign:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                          False), critical=True)
    else:
        b = b.add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False,
                                          False), critical=True)
        if eku:
            b = b.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    sk = issuer.key if issuer else key
    cert = b.sign(sk, algo or hashes.SHA256())
    return Cert(cert, key)


class Pki:
    """Every certificate of the run, made once, as PEM files in tmp."""

    def __init__(self, tmp):
        self.tmp = tmp
        ca = make("icbu tls-check CA", ca=True)
        self.ca = self.write("ca.pem", ca.pem())
        rsa_ca = make("icbu tls-check RSA CA", ca=True, key=rsa_key())
        self.rsa_ca = self.write("rsa-ca.pem", rsa_ca.pem())
        weak_ca = make("icbu tls-check RSA-1024 CA", ca=True, key=rsa_key(1024))
        # with a CA of 2048 bits after it: a CA file that loads, a chain to the weak one
        self.weak_ca = self.write("weak-ca.pem", weak_ca.pem() + rsa_ca.pem())
        inter_ok = make("icbu tls-check intermediate", issuer=ca, ca=True)
        inter_bad = make("icbu tls-check not a CA", issuer=ca, basic=False, cert_sign=True)
        inter_false = make("icbu tls-check CA:FALSE", issuer=ca, ca=False, eku=())
        self.servers = {}

        def leaf(label, issuer=ca, chain=(), **kw):
            kw.setdefault("dns", ("localhost",))
            c = make(kw.pop("cn", "localhost"), issuer=issuer, **kw)
            self.servers[label] = self.write_pair(label, c, chain)
        leaf("good")
        leaf("expired", not_before=NOW - 30 * DAY, not_after=NOW - DAY)
        leaf("not-yet-valid", not_before=NOW + DAY, not_after=NOW + 30 * DAY)
        self.servers["sha1"] = self.sha1_leaf(rsa_ca)
        leaf("rsa-good", issuer=rsa_ca, key=rsa_key())
        leaf("rsa1024-leaf", issuer=rsa_ca, key=rsa_key(1024))
        leaf("rsa1024-ca", issuer=weak_ca, key=rsa_key())
        leaf("chain-ok", issuer=inter_ok, chain=(inter_ok,))
        leaf("chain-no-basic", issuer=inter_bad, chain=(inter_bad,))
        leaf("chain-ca-false", issuer=inter_false, chain=(inter_false,))
        leaf("eku-client", eku=(ExtendedKeyUsageOID.CLIENT_AUTH,))
        leaf("cn-only", cn="localhost", dns=("other.example.test",))
        leaf("san-not-cn", cn="other.example.test", dns=("localhost",))
        leaf("wildcard", cn="wildcard", dns=("*.example.test",))
        leaf("ip-as-dns", cn="127.0.0.1", dns=("127.0.0.1",))
        leaf("ip-san", cn="127.0.0.1", dns=(), ips=("127.0.0.1",))

    def sha1_leaf(self, issuer):
        """A leaf for localhost signed with sha1WithRSAEncryption: by openssl x509, since
        the cryptography package no longer signs with SHA-1."""
        key = rsa_key()
        files = [self.write("sha1." + x, d) for x, d in (
            ("key", Cert(None, key).key_pem()),
            ("ca.pem", issuer.pem()), ("ca.key", issuer.key_pem()),
            ("ext", b"basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,"
                    b"keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n"))]
        csr = os.path.join(self.tmp, "sha1.csr")
        crt = os.path.join(self.tmp, "sha1.pem")
        subprocess.run(["openssl", "req", "-new", "-key", files[0], "-subj", "/CN=localhost",
                        "-out", csr], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", files[1], "-CAkey", files[2],
                        "-sha1", "-days", "30", "-set_serial", "7", "-extfile", files[3],
                        "-out", crt], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return crt, files[0]

    def write(self, fname, data):
        path = os.path.join(self.tmp, fname)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def write_pair(self, label, c, chain):
        crt = self.write(label + ".pem", c.pem() + b"".join(x.pem() for x in chain))
        key = self.write(label + ".key", c.key_pem())
        return crt, key


# ----------------------------------------------------------------------- servers
def accepted_answer(body):
    biz = "x"
    for part in body.split(b"&"):
        if part.startswith(b"insured_order_reflow_request="):
            pass
    return json.dumps({"alibaba_finance_insurance_icbu_insure_order_callback_response": {
        "result": {"success": True, "insure_id": "INS-tls"}, "request_id": "tlscheck%s" % biz}
    }).encode()


class Server:
    """A TLS server on 127.0.0.1 (a thread): every connection's SNI, handshake error and
    the bytes it read after the handshake, in self.conns; answers an HTTP request with an
    accepted order."""

    def __init__(self, certfile, keyfile, versions=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        if versions:
            ctx.minimum_version, ctx.maximum_version = versions
        else:
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(certfile, keyfile)
        self.conns = []
        self.lock = threading.Lock()

        def sni(sock, server_name, c):
            sock.icbu_sni = server_name
        ctx.sni_callback = sni
        self.ctx = ctx
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.closed:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(raw,), daemon=True).start()

    def serve(self, raw):
        rec = {"sni": None, "error": None, "data": b"", "version": None}
        with self.lock:
            self.conns.append(rec)
        raw.settimeout(10)
        try:
            s = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            rec["error"] = str(e)
            raw.close()
            return
        rec["sni"] = getattr(s, "icbu_sni", None)
        rec["version"] = s.version()
        try:
            while b"\r\n\r\n" not in rec["data"]:
                b = s.recv(65536)
                if not b:
                    return
                rec["data"] += b
            head, _, body = rec["data"].partition(b"\r\n\r\n")
            n = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    n = int(line.split(b":")[1])
            while len(body) < n:
                b = s.recv(65536)
                if not b:
                    return
                body += b
                rec["data"] += b
            ans = accepted_answer(body)
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(ans) + ans)
        except (ssl.SSLError, OSError) as e:
            rec["error"] = str(e)
        finally:
            try:
                s.close()
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.sock.close()


# -------------------------------------------------------------------------- runs
class Run:
    def __init__(self, rc, out, err, elapsed):
        self.rc, self.out, self.err, self.elapsed = rc, out, err, elapsed

    def why(self):
        return "exit %d, stdout %r, stderr %r" % (self.rc, self.out[:300], self.err[:300])

    def json(self):
        try:
            return json.loads(self.out.decode("utf-8").strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {}


def run(binary, args, shim, timeout=30):
    env = dict(os.environ, ICBU_REFLOW_APP_SECRET=SECRET, LD_PRELOAD=shim)
    env.pop("ICBU_REFLOW_APP_KEY", None)
    t0 = time.monotonic()
    p = subprocess.run([binary] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                       timeout=timeout)
    r = Run(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)
    expect(SECRET.encode() not in p.stdout + p.stderr, "the secret was printed: %s" % r.why())
    return r


def send(binary, shim, host, port, ca, extra=(), retries=0):
    return run(binary, ["send", "--app-key", APP_KEY, "--retries", str(retries), "--timeout", "5000",
                        "--url", "https://%s:%d/router/rest" % (host, port), "--ca-file", ca]
               + list(extra) + [EXAMPLE], shim)


def tls_error(r, detail=None):
    j = r.json()
    expect(r.rc == 3 and j.get("outcome") == "transport_error" and j.get("stage") == "tls",
           "not a tls error: %s" % r.why())
    if detail is not None:
        expect(j.get("detail", "").startswith(detail), "the detail does not start with %r: %s"
               % (detail, r.why()))


class Suite:
    def __init__(self, tmp, pki, shim, binaries):
        self.tmp, self.pki, self.shim, self.binaries = tmp, pki, shim, binaries
        self.cases = []

    def add(self, name, fn):
        self.cases.append((name, fn, False))

    def serve(self, label, versions=None):
        crt, key = self.pki.servers[label]
        return Server(crt, key, versions)

    def refuse_cases(self, tag, binary):
        pki, shim = self.pki, self.shim

        def refused(label, host="localhost", ca=None, versions=None):
            """A certificate refused: a settings error (no retry); a protocol version
            refused: a handshake failure (--retries 0: that one may be retried)."""
            def f():
                srv = self.serve(label, versions)
                try:
                    r = send(binary, shim, host, srv.port, ca or pki.ca,
                             retries=0 if versions else 2)
                finally:
                    srv.close()
                tls_error(r, "TLS handshake failed: " if versions else
                          "certificate verification failed: ")
                if not versions:
                    expect(b"attempts" not in r.err and b"settings error" in r.err,
                           "not a settings error, or retried: %s" % r.why())
                expect(srv.conns, "the client never connected: %s" % r.why())
                got = b"".join(c["data"] for c in srv.conns)
                expect(got == b"", "the server read %d bytes of the request: %s"
                       % (len(got), r.why()))
            return f
        p = tag + "/refuse/"
        self.add(p + "an expired certificate", refused("expired"))
        self.add(p + "a certificate not yet valid", refused("not-yet-valid"))
        self.add(p + "a leaf signed with SHA-1", refused("sha1", ca=pki.rsa_ca))
        self.add(p + "an RSA-1024 leaf", refused("rsa1024-leaf", ca=pki.rsa_ca))
        self.add(p + "a chain to an RSA-1024 CA", refused("rsa1024-ca", ca=pki.weak_ca))
        self.add(p + "an intermediate without basicConstraints", refused("chain-no-basic"))
        self.add(p + "an intermediate with CA:FALSE", refused("chain-ca-false"))
        self.add(p + "a leaf for clientAuth only", refused("eku-client"))
        self.add(p + "the host name in the CN only, beside a SAN of another name",
                 refused("cn-only"))
        self.add(p + "a wildcard for a name one label deeper", refused(
            "wildcard", host="a.b.example.test"))
        self.add(p + "an IP host against a DNS SAN of the address", refused(
            "ip-as-dns", host="127.0.0.1"))
        self.add(p + "an IP host against a certificate for localhost", refused(
            "good", host="127.0.0.1"))
        for v, what in ((ssl.TLSVersion.TLSv1, "1.0"), (ssl.TLSVersion.TLSv1_1, "1.1")):
            self.add(p + "a server of TLS %s only" % what, refused("good", versions=(v, v)))

        def accepted(label, host="localhost", ca=None, sni="same"):
            def f():
                srv = self.serve(label)
                try:
                    r = send(binary, shim, host, srv.port, ca or pki.ca)
                finally:
                    srv.close()
                j = r.json()
                expect(r.rc == 0 and j.get("outcome") == "accepted", "not accepted: %s" % r.why())
                want = host if sni == "same" else sni
                expect([c["sni"] for c in srv.conns] == [want],
                       "SNI %r, not %r" % ([c["sni"] for c in srv.conns], want))
            return f
        p = tag + "/accept/"
        self.add(p + "a valid certificate for localhost, SNI localhost", accepted("good"))
        self.add(p + "through an intermediate CA", accepted("chain-ok"))
        self.add(p + "an RSA-2048 chain", accepted("rsa-good", ca=pki.rsa_ca))
        self.add(p + "a wildcard for one label, SNI the name", accepted(
            "wildcard", host="a.example.test"))
        self.add(p + "the name in the SAN beside a CN of another name", accepted("san-not-cn"))
        self.add(p + "an IP host against an iPAddress SAN, no SNI", accepted(
            "ip-san", host="127.0.0.1", sni=None))

    def ca_cases(self, tag, binary):
        pki, shim = self.pki, self.shim
        with open(pki.ca, "rb") as f:
            good = f.read()
        bad_block = (b"-----BEGIN CERTIFICATE-----\nMIIBnotbase64!!\n"
                     b"-----END CERTIFICATE-----\n")
        junk_der = (b"-----BEGIN CERTIFICATE-----\n" + b"QUJDREVGR0hJSktMTU5PUA==\n"
                    b"-----END CERTIFICATE-----\n")

        def ca_run(content):
            path = os.path.join(self.tmp, "ca-%s-%s.pem" % (tag, os.urandom(4).hex()))
            if content is None:
                os.mkdir(path)
            else:
                with open(path, "wb") as fh:
                    fh.write(content)
            srv = self.serve("good")
            try:
                return path, send(binary, shim, "localhost", srv.port, path)
            finally:
                srv.close()

        def bad(content):
            def f():
                path, r = ca_run(content)
                tls_error(r, "cannot load CA file %s: " % path)
                expect(b"--ca-file" in r.err, "stderr does not name --ca-file: %s" % r.why())
            return f

        def taken(content):
            def f():
                path, r = ca_run(content)
                expect(r.rc == 0 and r.json().get("outcome") == "accepted",
                       "the good certificate was not trusted: %s" % r.why())
            return f
        p = tag + "/ca/"
        self.add(p + "an empty CA file is refused", bad(b""))
        self.add(p + "a CA file of garbage is refused", bad(os.urandom(300) + b"\nnot PEM\n"))
        self.add(p + "a CA path that is a directory is refused", bad(None))
        # A block that is not a certificate the library reads is skipped, as system bundles
        # hold some: the good one is trusted, nothing else (docs/cli.md). BearSSL's PEM
        # decoder refuses a block that is not base64 (the whole file); mbedTLS skips it too.
        self.add(p + "a good certificate then a block that is not DER: the good one is trusted",
                 taken(good + junk_der))
        self.add(p + "a good certificate then a block that is not base64: %s" % (
            "refused" if tag == "bearssl" else "the good one is trusted"),
            bad(good + bad_block) if tag == "bearssl" else taken(good + bad_block))

    def reneg_cases(self, tag, binary):
        """openssl s_server asks for a renegotiation (a HelloRequest) once it read the
        request: mbedTLS refuses it (a no_renegotiation alert: OpenSSL ends the connection),
        BearSSL renegotiates (RFC 5746, the chain checked again) and waits for the answer.
        Either way the send ends, a receive error, within --timeout."""
        crt, key = self.pki.servers["good"]

        def f():
            port = gateway_proc.free_port()
            srv = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port,
                                    "-cert", crt, "-key", key, "-tls1_2"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
            out = []
            ready = threading.Event()

            def read():
                for line in srv.stdout:
                    out.append(line)
                    if line.startswith(b"ACCEPT"):
                        ready.set()
                    if b"POST /router/rest" in line:
                        time.sleep(0.1)
                        srv.stdin.write(b"r\n")     # s_server: renegotiate
                        srv.stdin.flush()
            threading.Thread(target=read, daemon=True).start()
            try:
                expect(ready.wait(10), "openssl s_server did not start: %r" % b"".join(out))
                r = run(binary, ["send", "--app-key", APP_KEY, "--retries", "0", "--timeout",
                                 "1500", "--url", "https://localhost:%d/router/rest" % port,
                                 "--ca-file", self.pki.ca, EXAMPLE], self.shim, timeout=15)
            finally:
                srv.kill()
                srv.wait()
            log = b"".join(out)
            expect(b"POST /router/rest" in log, "the server saw no request: %s" % r.why())
            j = r.json()
            expect(r.rc == 3 and j.get("stage") == "receive", "not a receive error: %s" % r.why())
            expect(r.elapsed < 3, "--timeout 1500 did not hold: %.2f s" % r.elapsed)
            if tag == "bearssl":
                expect(log.count(b"SSL_do_handshake -> 1") == 1, "no renegotiation: %r" % log[-300:])
            else:
                expect(r.elapsed < 1.2 and b"fatal alert" in r.out, "not refused at once: %s"
                       % r.why())
        self.add(tag + "/reneg/a HelloRequest after the handshake: --timeout holds", f)


def tls10_speaks(pki):
    """Does the local OpenSSL still speak TLS 1.0 (SECLEVEL=0)? Else the version cases
    prove nothing: they are skipped."""
    try:
        crt, key = pki.servers["good"]
        srv = Server(crt, key, (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
        ctx.load_verify_locations(pki.ca)
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as c:
                v = c.version()
        srv.close()
        return v == "TLSv1"
    except (ssl.SSLError, OSError, ValueError):
        return False


def build_shim(tmp):
    out = os.path.join(tmp, "resolve_shim.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", out,
                    os.path.join(HERE, "resolve_shim.c"), "-ldl"], check=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="build")
    ap.add_argument("--only", default=None)
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    bindir = a.bin if os.path.isabs(a.bin) else os.path.join(ROOT, a.bin)
    tmp = tempfile.mkdtemp(prefix="icbu-tls-")
    t0 = time.monotonic()
    pki = Pki(tmp)
    shim = build_shim(tmp)
    bins = [(t, os.path.join(bindir, "icbu-reflow-" + t)) for t in BINARIES]
    bins = [(t, b) for t, b in bins if os.access(b, os.X_OK)]
    suite = Suite(tmp, pki, shim, bins)
    old_tls = tls10_speaks(pki)
    for tag, b in bins:
        suite.refuse_cases(tag, b)
        suite.ca_cases(tag, b)
        suite.reneg_cases(tag, b)
    if not old_tls:
        print("skip - refuse/a server of TLS 1.0 (1.1) only: this OpenSSL does not speak it")
        suite.cases = [c for c in suite.cases if "a server of TLS 1." not in c[0]]
    if not bins:
        def none():
            raise Fail("no icbu-reflow-{mbedtls,psa,bearssl} in %s" % bindir)
        suite.add("binaries exist", none)
    results = []
    cases = [c for c in suite.cases if gateway_proc.selected(c[0], a.only)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        list(pool.map(lambda c: gateway_proc.run_case(c[0], c[1], results), cases))
    return gateway_proc.finish(results, t0, "binaries: %s" % ", ".join(b for _, b in bins),
                               tmp, a.keep)


if __name__ == "__main__":
    sys.exit(main())
