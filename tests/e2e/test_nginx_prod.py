#!/usr/bin/env python3
"""The production nginx site (nginx/renderq.conf.in, rendered as the installation
renders it) in front of the real responder and a real worker, on loopback with a
self-signed certificate. Checks, in order:

- plain HTTP answers 301 to the same path on HTTPS;
- TLS 1.1 is refused by the server (the client is set to SECLEVEL=0 so that
  OpenSSL 3's own client-side floor cannot be what refuses: the failure must be
  the server's protocol_version alert), while TLS 1.2 with the same client works;
- a worker renders a 1x1 scene; its PNG comes through X-Accel-Redirect;
- /metrics answers 200 from 127.0.0.1 with the job counts and the render
  duration histogram, and 403 problem+json from 127.0.0.2. How the non-loopback
  client is simulated: nginx listens on 127.0.0.1 only, and the test's client
  binds its socket to source address 127.0.0.2 (loopback range, no setup needed
  on Linux) before connecting, so nginx sees $remote_addr = 127.0.0.2, which
  `allow 127.0.0.1; allow ::1; deny all;` must refuse. This exercises the real
  allow rule over a real connection, with no header nginx would have to trust;
- traversal attempts on the result routes (dot segments, encoded dot segments,
  non-UUID ids) and direct requests for /internal/results/ get 404 and never a
  byte of a file outside the results directory (a marker file and the database
  sit right beside it);
- a body over 4 MiB gets nginx's 413 problem+json; a submit flood gets 429
  problem+json (the site is rendered with a low SUBMIT_RATE/SUBMIT_BURST);
- responder down: 502 problem+json; a stalled responder (a unix-socket server
  that accepts and never answers, in the responder's place): 504 problem+json
  after the site's own fastcgi_read_timeout (10 s).

HSTS, X-Content-Type-Options: nosniff and the CSP are asserted on every HTTPS
response above, errors and the PNG included; the plain-HTTP redirect carries
nosniff and CSP (HSTS over plain HTTP is forbidden by RFC 6797).
"""
import http.client
import json
import socket
import ssl
import sys
import threading
import time
import urllib.parse

import stack
import worker_stack

SECURITY_HEADERS = {
    "strict-transport-security": "max-age=63072000",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
}
SECRET = b"renderq-secret-outside-results"
MAX_BODY = 4 * 1024 * 1024


def assert_security_headers(headers, what, names=tuple(SECURITY_HEADERS)):
    for name in names:
        assert headers.get(name) == SECURITY_HEADERS[name], \
            "%s: %s is %r" % (what, name, headers.get(name))


class Client:
    """Requests through the HTTPS site; every response is checked for the headers."""

    def __init__(self, s, source="127.0.0.1"):
        self.s = s
        self.source = source

    def request(self, method, path, body=None, token=None, headers=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.s.https_port, timeout=30,
                                           context=self.s.ssl_context(),
                                           source_address=(self.source, 0))
        status, h, data = self.s.request(method, path, body=body, token=token,
                                         headers=headers, conn=conn)
        conn.close()
        assert_security_headers(h, "%s %s -> %d" % (method, path, status))
        return status, h, data

    def problem(self, method, path, expected_status, type_suffix=None, **kwargs):
        status, h, data = self.request(method, path, **kwargs)
        assert status == expected_status, "%s %s: %d %r" % (method, path, status, data[:200])
        doc = stack.problem(h, data)
        assert doc["status"] == expected_status, doc
        if type_suffix is not None:
            assert doc["type"] == "urn:renderq:problem:" + type_suffix, doc
        assert SECRET not in data and b"SQLite format" not in data, "leaked a file"
        return doc


def check_redirect(s):
    conn = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=10)
    conn.request("GET", "/api/v1/jobs?limit=1")
    resp = conn.getresponse()
    resp.read()
    conn.close()
    headers = {k.lower(): v for k, v in resp.getheaders()}
    assert resp.status == 301, resp.status
    assert headers["location"] == "https://127.0.0.1:%d/api/v1/jobs?limit=1" % s.https_port, headers
    assert_security_headers(headers, "redirect",
                            names=("x-content-type-options", "content-security-policy"))
    assert "strict-transport-security" not in headers, "HSTS over plain HTTP"


def handshake(s, version):
    ctx = ssl.create_default_context(cafile=str(s.cert))
    ctx.minimum_version = version
    ctx.maximum_version = version
    # The client's own security level must not be what refuses old protocols.
    ctx.set_ciphers("DEFAULT@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", s.https_port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return tls.version()


def check_tls(s):
    assert handshake(s, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    try:
        version = handshake(s, ssl.TLSVersion.TLSv1_1)
    except ssl.SSLError as e:
        # An alert from the server, not a client-side "no protocols available".
        assert e.reason in ("TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL"), e
    else:
        raise AssertionError("TLS 1.1 handshake succeeded (%s)" % version)


def render_one_job(s, c, token):
    """A worker renders a 1x1 scene; returns the succeeded job."""
    body = json.dumps(worker_stack.scene(1, 1, 1)).encode()
    status, _, data = c.request("POST", "/api/v1/jobs", body=body, token=token)
    assert status == 201, data
    job_id = json.loads(data)["id"]
    workers = worker_stack.WorkerSet(s)
    workers.start("w1")
    try:
        jobs = worker_stack.wait_terminal(s, token, [job_id], timeout=30)
    finally:
        workers.stop_all()
    assert jobs[job_id]["state"] == "succeeded", jobs[job_id]
    return jobs[job_id]


def check_result(s, c, token, job_id):
    status, h, data = c.request("GET", "/api/v1/jobs/%s/result" % job_id, token=token)
    assert status == 200, (status, data[:200])
    assert h["content-type"] == "image/png", h
    assert worker_stack.png_size(data) == (1, 1)
    assert data == (s.results / (job_id + ".png")).read_bytes()


def check_metrics(s, c):
    status, h, data = c.request("GET", "/metrics")
    assert status == 200, status
    text = data.decode()
    for line in ('renderq_jobs{state="queued"} 0', 'renderq_jobs{state="running"} 0',
                 'renderq_jobs{state="succeeded"} 1', 'renderq_jobs{state="failed"} 0',
                 'renderq_jobs{state="canceled"} 0',
                 "# TYPE renderq_render_duration_seconds histogram",
                 'renderq_render_duration_seconds_bucket{le="+Inf"} 1',
                 "renderq_render_duration_seconds_count 1",
                 'renderq_worker_info{worker="w1",backend="cpu"'):
        assert line in text, "metrics lack %r:\n%s" % (line, text)
    outsider = Client(s, source="127.0.0.2")
    outsider.problem("GET", "/metrics", 403, "forbidden")


def check_traversal(s, c, token, job_id):
    """404 for every attempt; Client.problem also asserts no file content leaked."""
    (s.dir / "secret.txt").write_bytes(SECRET)
    attempts = [
        "/internal/results/%s.png" % job_id,          # the real file, asked for directly
        "/internal/results/",
        "/internal/results/../secret.txt",
        "/internal/results/../queue.db",
        "/internal/results/..%2fsecret.txt",
        "/internal/results/%2e%2e%2fqueue.db",
        "/internal/results%2f..%2fsecret.txt",
        "/api/v1/jobs/../../secret.txt/result",
        "/api/v1/jobs/../../etc/passwd/result",
        "/api/v1/jobs/%2e%2e%2f%2e%2e%2fsecret.txt/result",
        "/api/v1/jobs/%2e%2e%2f%2e%2e%2fetc%2fpasswd/result",
        "/api/v1/jobs/..%2f..%2fqueue.db/result",
        "/api/v1/jobs/not-a-uuid/result",
        "/api/v1/jobs/%s.png/result" % job_id,
        "/api/v1/jobs/%s%%2f..%%2f..%%2fsecret.txt/result" % job_id,
        "/api/v1/jobs/%s/result/../../../secret.txt" % job_id,
    ]
    for path in attempts:
        c.problem("GET", path, 404, token=token)


def check_body_limit(c, token):
    body = b" " * (MAX_BODY + 1)
    c.problem("POST", "/api/v1/jobs", 413, "body-too-large", body=body, token=token)


def check_flood(c, token):
    statuses = []
    for seed in range(20):
        status, h, data = c.request("POST", "/api/v1/jobs", body=stack.scene_body(seed),
                                    token=token)
        statuses.append(status)
        if status == 429:
            doc = stack.problem(h, data)
            assert doc["type"] == "urn:renderq:problem:rate-limited", doc
    assert 429 in statuses, statuses
    assert set(statuses) <= {201, 429}, statuses


class StalledResponder:
    """A unix socket server in the responder's place that accepts and never answers."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.conns = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.done.is_set():
            try:
                self.conns.append(self.sock.accept()[0])
            except socket.timeout:
                continue

    def close(self):
        self.done.set()
        self.thread.join(timeout=5)
        for conn in self.conns:
            conn.close()
        self.sock.close()


def check_backend_down_and_stalled(s, c):
    s.kill_responder()
    c.problem("GET", "/healthz", 502, "responder-unreachable")
    s.socket.unlink()
    stalled = StalledResponder(s.socket)
    try:
        started = time.monotonic()
        c.problem("GET", "/healthz", 504, "responder-timeout")
        waited = time.monotonic() - started
        assert 9 <= waited < 20, "504 after %.1f s (site: fastcgi_read_timeout 10s)" % waited
        assert stalled.conns, "nginx never reached the stalled responder"
    finally:
        stalled.close()


def main():
    stack.require_binaries("renderq-fcgi", "renderqctl", "renderq-worker", "nginx", "openssl")
    stack.time_limit(120)
    # Four submits pass at once, then one every two seconds: the flood must hit 429.
    with stack.Stack(submit_rate="30r/m", submit_burst=3) as s:
        c = Client(s)
        token = s.create_token("prod")
        check_redirect(s)
        check_tls(s)
        job = render_one_job(s, c, token)
        check_result(s, c, token, job["id"])
        check_metrics(s, c)
        check_traversal(s, c, token, job["id"])
        check_body_limit(c, token)
        check_flood(c, token)
        check_backend_down_and_stalled(s, c)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
