#!/usr/bin/env python3
"""SPEC's SSRF table through the route an owner uses: POST /api/v1/webhooks
on a responder that allows no inward address (no --webhook-allow, no plain
http), behind the shipped nginx site.

Each URL is refused 422 invalid-webhook, its detail saying why and its
`pointer` /url; nothing is stored (the owner's list stays empty);
and listeners on 127.0.0.1 and ::1, at the ports the refused URLs name, see
no connection. The same table in a network namespace, with 10.0.0.1,
169.254.169.254, the server's own address and a redirect to loopback, is
tests/notify/test_ssrf_netns.py.
"""
import json
import shutil
import socket
import sys
import tempfile
import threading

import notify_stack as ns
import stack

PROBLEM = "urn:renderq:problem:invalid-webhook"


class Listener:
    """Counts the connections made to address:port (a free port)."""

    def __init__(self, address):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind((address, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self):
        self.sock.close()


def main():
    stack.time_limit(120)
    keys_dir = tempfile.mkdtemp(prefix="renderq-keys-")
    keys = ns.SealKeys(keys_dir)
    v4 = Listener("127.0.0.1")
    v6 = Listener("::1")
    table = [
        ("https://127.0.0.1:%d/hook" % v4.port, "127.0.0.1 is a loopback address"),
        ("http://127.0.0.1:%d/hook" % v4.port, "must be https"),
        ("http://example.com/hook", "must be https"),
        ("https://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("https://[::1]:%d/hook" % v6.port, "::1 is a loopback address"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("https://localhost:%d/hook" % v4.port, "localhost resolves to"),
        ("https://2130706433:%d/hook" % v4.port, "loopback"),
        ("https://[::ffff:127.0.0.1]:%d/hook" % v4.port, "loopback"),
    ]
    try:
        with stack.Stack(responder_args=keys.responder_args(allow=False)) as s:
            alice = s.create_token("alice")
            wrong = []
            for url, says in table:
                status, headers, body = s.request(
                    "POST", "/api/v1/webhooks",
                    json.dumps({"url": url, "events": ["job.succeeded"]}).encode(), alice)
                problem = json.loads(body) if body else {}
                ok = (status == 422 and headers.get("content-type") == "application/problem+json"
                      and problem.get("type") == PROBLEM and says in problem.get("detail", "")
                      and problem.get("pointer") == "/url")
                print("%-44s %s %d %s" % (url, "refused:" if ok else "WRONG:", status,
                                          problem.get("detail", body)))
                if not ok:
                    wrong.append(url)
            status, _, body = s.request("GET", "/api/v1/webhooks", token=alice)
            assert status == 200 and json.loads(body)["webhooks"] == [], (status, body)
            assert not wrong, "not refused as SPEC says: %s" % wrong
            assert v4.accepted == 0 and v6.accepted == 0, (v4.accepted, v6.accepted)
            print("ok: every inward URL refused with a problem body; nothing stored, "
                  "no connection to the listeners")
            return 0
    finally:
        v4.close()
        v6.close()
        shutil.rmtree(keys_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
