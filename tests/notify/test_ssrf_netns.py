#!/usr/bin/env python3
"""Webhook URLs that point inward are refused, and nothing connects there.

Runs in a network and mount namespace of its own (root only; reported
skipped otherwise): loopback up, a veth interface holding 10.0.0.1,
169.254.169.254, a public address (the "server's own") and 192.0.2.10, and
an /etc/hosts where inward.example.test names 127.0.0.1. Listeners wait at
every address a webhook must never reach, on ports 443 and 80. Each URL of
SPEC's SSRF table is registered through renderq_webhook_probe (the service's
URL policy, the system's resolver); the refusals must say why, and when the
test ends no listener has seen a connection. A receiver the operator allowed
(192.0.2.0/24 and http) answers with a redirect to loopback: the delivery
records the 302 and does not follow it.
"""
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading

BIN = pathlib.Path(os.environ.get("RENDERQ_BIN", pathlib.Path(__file__).resolve().parents[2] / "build" / "bin"))
SKIP = 77
FORBIDDEN = [("127.0.0.1", 443), ("::1", 443), ("10.0.0.1", 443), ("169.254.169.254", 443),
             ("127.0.0.1", 80), ("10.0.0.1", 80), ("8.8.4.4", 443)]


class Listener:
    def __init__(self, address, port, answer=None):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(16)
        self.accepted = 0
        self.answer = answer
        self.where = "%s:%d" % (address, port)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.answer:
                conn.settimeout(5)
                try:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    conn.sendall(self.answer)
                except OSError:
                    pass
            conn.close()


def sh(*argv):
    subprocess.run(argv, check=True)


def probe(url, *flags):
    out = subprocess.run([str(BIN / "renderq_webhook_probe"), *flags, url],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def inside():
    sh("ip", "link", "set", "lo", "up")
    # A veth pair stands for the host's network card (not every kernel has "dummy").
    sh("ip", "link", "add", "rq0", "type", "veth", "peer", "name", "rq1")
    for a in ("10.0.0.1/8", "169.254.169.254/16", "192.0.2.10/24", "8.8.4.4/32"):
        sh("ip", "addr", "add", a, "dev", "rq0")
    sh("ip", "link", "set", "rq0", "up")
    sh("ip", "link", "set", "rq1", "up")
    # A name that resolves to loopback, in this mount namespace only.
    sh("mount", "--make-rprivate", "/")
    hosts = pathlib.Path(tempfile.mkdtemp()) / "hosts"
    hosts.write_text("127.0.0.1 localhost\n::1 localhost\n127.0.0.1 inward.example.test\n")
    sh("mount", "--bind", str(hosts), "/etc/hosts")

    listeners = [Listener(a, p) for a, p in FORBIDDEN]
    redirecting = Listener("192.0.2.10", 80, answer=(
        b"HTTP/1.1 302 Found\r\nLocation: https://127.0.0.1/\r\nContent-Length: 0\r\n\r\n"))

    table = [
        ("https://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.1/", "must be https"),
        ("https://10.0.0.1/", "10.0.0.1 is a private address"),
        ("https://[::1]/", "::1 is a loopback address"),
        ("https://169.254.169.254/", "169.254.169.254 is a link-local address"),
        ("https://inward.example.test/", "inward.example.test resolves to 127.0.0.1, a loopback"),
        ("https://localhost/", "localhost resolves to"),
        ("https://8.8.4.4/", "8.8.4.4 is this server's own address"),
        ("https://0177.0.0.1/", "loopback"),
        ("https://[::ffff:10.0.0.1]/", "private"),
    ]
    failures = []
    for url, says in table:
        got = probe(url)
        ok = got["registered"] is False and says in got.get("problem", "")
        print("%-34s %s %s" % (url, "refused:" if ok else "WRONG:", got.get("problem", got)))
        if not ok:
            failures.append(url)

    # An allowed receiver that redirects inward: the 302 is recorded, never followed.
    got = probe("http://192.0.2.10/hook", "--allow", "192.0.2.0/24", "--allow-http")
    print("%-34s %s" % ("http://192.0.2.10/ (allowed)", got))
    attempt = got.get("attempt") or {}
    if not (got["registered"] and attempt.get("status") == 302 and not attempt.get("succeeded")
            and "redirects are not followed" in (attempt.get("error") or "")):
        failures.append("redirect")
    if redirecting.accepted != 1:
        failures.append("the allowed receiver saw %d connections" % redirecting.accepted)

    for listener in listeners:
        if listener.accepted:
            failures.append("%s was connected to %d times" % (listener.where, listener.accepted))
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print("ok: every inward URL refused, no connection reached a refused address")
    return 0


def main():
    if os.environ.get("RENDERQ_SSRF_INSIDE"):
        return inside()
    if not (BIN / "renderq_webhook_probe").exists():
        print("skipped: renderq_webhook_probe is not built")
        return SKIP
    if os.geteuid() != 0 or subprocess.run(["unshare", "--net", "--mount", "true"]).returncode != 0:
        print("skipped: needs root to make a network namespace")
        return SKIP
    env = dict(os.environ, RENDERQ_SSRF_INSIDE="1")
    return subprocess.run(["unshare", "--net", "--mount", sys.executable, __file__], env=env,
                          timeout=240).returncode


if __name__ == "__main__":
    sys.exit(main())
