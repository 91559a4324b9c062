"""Webhooks and live events on top of stack.Stack, for the notification tests
and bench/events. Python 3 standard library only.

    keys = SealKeys(tmp)                       # the dispatcher's key pair
    with stack.Stack(responder_args=keys.responder_args()) as s:
        notify = Notify(s, keys)
        notify.start()
        receiver = Receiver(lambda req, n: 200)
        ...

The Standard Webhooks signature is checked here from the specification
(HMAC-SHA256 over "id.timestamp.body", keyed with the secret's decoded bytes),
not with the service's own code.
"""
import base64
import contextlib
import hashlib
import hmac
import http.server
import json
import pathlib
import signal
import socket
import ssl
import subprocess
import threading
import time

import stack

# What scripts/run allows too: receivers on loopback, plain http.
ALLOW = ["--webhook-allow", "127.0.0.0/8", "--webhook-allow-http"]


class SealKeys:
    """An X25519 key pair made with the openssl command, as an operator makes it."""

    def __init__(self, directory):
        directory = pathlib.Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.private = directory / "webhook-seal.key"
        self.public = directory / "webhook-seal.pub"
        subprocess.run(["openssl", "genpkey", "-algorithm", "X25519", "-out", str(self.private)],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "pkey", "-in", str(self.private), "-pubout", "-out",
                        str(self.public)], check=True, capture_output=True)

    def responder_args(self, allow=True):
        return ["--webhook-public-key", str(self.public)] + (ALLOW if allow else [])


class Notify:
    """renderq-notify for a stack: its hook socket and nginx's publisher socket
    are the ones the stack's nginx site names (render_conf's defaults)."""

    def __init__(self, s, keys, extra_args=(), allow=True, name="notify"):
        self.stack = s
        self.keys = keys
        self.name = name
        self.args = list(extra_args) + (ALLOW if allow else [])
        self.proc = None

    def argv(self):
        nginx_dir = self.stack.dir / "nginx"
        return [str(stack.BIN_DIR / "renderq-notify"), "--db", str(self.stack.db),
                "--hook-socket", str(nginx_dir / "notify.sock"),
                "--nchan-socket", str(nginx_dir / "nchan.sock"),
                "--webhook-private-key", str(self.keys.private)] + self.args

    def start(self, timeout=10):
        hook = self.stack.dir / "nginx" / "notify.sock"
        with contextlib.suppress(FileNotFoundError):
            hook.unlink()
        self.proc = self.stack._spawn(self.name, self.argv())
        deadline = time.monotonic() + timeout
        while not hook.exists():
            if self.proc.poll() is not None:
                raise stack.StackError("renderq-notify exited with %s:\n%s"
                                       % (self.proc.returncode, self.stack.log_tail(self.name)))
            if time.monotonic() > deadline:
                raise stack.StackError("renderq-notify made no hook socket in %d s" % timeout)
            time.sleep(0.02)
        return self

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=10)

    def log(self):
        return self.stack.log_tail(self.name, lines=200)


# ---- webhook receivers

class Received:
    def __init__(self, path, headers, body, at):
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body
        self.at = at            # time.monotonic() when it arrived

    def json(self):
        return json.loads(self.body)


class Receiver:
    """An HTTP receiver on 127.0.0.1 that records every request and answers
    with `answer(request, index)`: an int status, or "hang" (say nothing until
    the sender gives up)."""

    def __init__(self, answer=lambda request, index: 200):
        self.requests = []
        self.lock = threading.Condition()
        self.answer = answer
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                request = Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                   body, time.monotonic())
                with receiver.lock:
                    index = len(receiver.requests)
                    receiver.requests.append(request)
                    receiver.lock.notify_all()
                status = receiver.answer(request, index)
                if status == "hang":
                    time.sleep(30)
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a sender that hung up (a killed dispatcher) is part of the tests

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/hook" % self.port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate, timeout=60, what="requests"):
        with self.lock:
            if not self.lock.wait_for(lambda: predicate(self.requests), timeout):
                raise AssertionError("receiver: no %s in %d s (got %d: %s)" % (
                    what, timeout, len(self.requests),
                    [(r.headers.get("webhook-id"), r.body[:80]) for r in self.requests]))
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def verify_signature(secret, headers, body, tolerance=300):
    """Standard Webhooks, written from the specification: raises AssertionError
    unless one of the `v1,` signatures is HMAC-SHA256(key, id.timestamp.body)
    with key the bytes of the base64 after "whsec_", and the timestamp is
    within `tolerance` seconds of now."""
    assert secret.startswith("whsec_"), secret
    key = base64.b64decode(secret[len("whsec_"):], validate=True)
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    assert abs(time.time() - int(timestamp)) <= tolerance, "timestamp %s too far off" % timestamp
    signed = b"%s.%s.%s" % (msg_id.encode(), timestamp.encode(), body)
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1)[1] for s in headers["webhook-signature"].split() if s.startswith("v1,")]
    assert any(hmac.compare_digest(expected, g) for g in given), \
        "bad signature %r for id %s" % (headers["webhook-signature"], msg_id)


# ---- event streams

class EventStream:
    """One Server-Sent Event stream of the stack, read on a thread of its own.
    frames: [{"id", "event", "data" (parsed), "at" (monotonic)}]; `ended` is
    set when the server ends it. status and headers of the answer are kept."""

    def __init__(self, s, path, token, headers=None, timeout=60):
        self.frames = []
        self.comments = 0
        self.status = None
        self.headers = {}
        self.body = b""
        self.ended = threading.Event()
        self.cond = threading.Condition()
        self.sock = socket.create_connection(("127.0.0.1", s.https_port), timeout=timeout)
        ctx = ssl.create_default_context(cafile=str(s.cert))
        self.sock = ctx.wrap_socket(self.sock, server_hostname="127.0.0.1")
        extra = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                           "Accept: text/event-stream\r\n%s\r\n" % (path, token, extra)).encode())
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        """Reads the answer: a stream nchan holds ends when the connection
        closes; an answer of the responder (a job that has ended) has a
        Content-Length or chunks, and ends with them."""
        raw = b""
        head = None
        body = b""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                raw += data
                if head is None:
                    if b"\r\n\r\n" not in raw:
                        continue
                    head, raw = raw.split(b"\r\n\r\n", 1)
                    lines = head.decode("latin-1").split("\r\n")
                    with self.cond:
                        self.status = int(lines[0].split()[1])
                        self.headers = {k.lower(): v.strip() for k, _, v in
                                        (line.partition(":") for line in lines[1:])}
                        self.cond.notify_all()
                done, body, raw = self._take(body, raw)
                if self.headers.get("content-type", "").startswith("text/event-stream"):
                    while b"\n\n" in body:
                        frame, body = body.split(b"\n\n", 1)
                        self._frame(frame.decode())
                if done:
                    break
        except OSError:
            pass
        finally:
            if not self.headers.get("content-type", "").startswith("text/event-stream"):
                self.body = body
            self.ended.set()
            with self.cond:
                self.cond.notify_all()

    def _take(self, body, raw):
        """Moves what arrived into the body; (complete, body, rest)."""
        if "content-length" in self.headers:
            need = int(self.headers["content-length"]) - len(body)
            body += raw[:need]
            return int(self.headers["content-length"]) == len(body), body, raw[need:]
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while b"\r\n" in raw:
                size_line, rest = raw.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                if len(rest) < size + 2:
                    break
                if size == 0:
                    return True, body, b""
                body += rest[:size]
                raw = rest[size + 2:]
            return False, body, raw
        return False, body + raw, b""

    def _frame(self, raw):
        with self.cond:
            if raw.startswith(":"):
                self.comments += 1
            else:
                frame = {"at": time.monotonic()}
                for line in raw.split("\n"):
                    name, _, value = line.partition(": ")
                    frame[name] = value
                frame["data"] = json.loads(frame["data"])
                frame["id"] = int(frame["id"])
                self.frames.append(frame)
            self.cond.notify_all()

    def wait_status(self, timeout=30):
        with self.cond:
            assert self.cond.wait_for(lambda: self.status is not None or self.ended.is_set(), timeout)
            return self.status

    def wait_until(self, predicate, timeout=60, what="frames"):
        with self.cond:
            if not self.cond.wait_for(lambda: predicate(self.frames) or self.ended.is_set(), timeout) \
                    or not predicate(self.frames):
                raise AssertionError("stream: no %s in %d s: %s" % (
                    what, timeout, [(f["event"], f["data"].get("state")) for f in self.frames]))
            return list(self.frames)

    def close(self):
        # Shut the connection down and let the reader finish before closing:
        # a reader left in recv() on a closed descriptor reads, and OpenSSL
        # answers with an alert into, whatever is next opened under that
        # number (a database file, once: 24 bytes of TLS record in its header).
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
        if self.reader is not threading.current_thread():
            self.reader.join(10)
        with contextlib.suppress(OSError):
            self.sock.close()
