#!/usr/bin/env python3
"""Live events through a real nginx with Debian's nchan module.

Puts nginx (127.0.0.1, a port picked here) in front of renderq_live_driver
(LiveHub, its FastCGI hook server and the nchan publisher, fed events on
stdin) and a stand-in for the responder that answers every stream request
with the X-Accel-Redirect the real one sends after checking the token.
Checks what SPEC's "Notifications" asks of a stream: first a `state` event per
job, then every change once and in order, progress too, the job's stream
ending after its terminal state, owner isolation, keep-alives; and that a
stream opened while events flow misses none and repeats none, with one nginx
worker and with two (nchan then passes messages between workers).

Everything lives in a temporary directory and stops with the test.
"""
import grp
import http.server
import json
import os
import pathlib
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = pathlib.Path(os.environ.get("RENDERQ_BIN", pathlib.Path(__file__).resolve().parents[2] / "build" / "bin"))
NCHAN = "/usr/lib/nginx/modules/ngx_nchan_module.so"
SKIP = 77

JOB_A = "aaaaaaaa-0000-4000-8000-000000000001"
JOB_B = "bbbbbbbb-0000-4000-8000-000000000002"
JOB_C = "cccccccc-0000-4000-8000-000000000003"
JOB_D = "dddddddd-0000-4000-8000-000000000004"
JOB_E = "eeeeeeee-0000-4000-8000-000000000005"

NGINX_CONF = """
load_module {nchan};
daemon off;
user {user};
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log notice;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {dir}/tmp/body;
  proxy_temp_path {dir}/tmp/proxy;
  fastcgi_temp_path {dir}/tmp/fastcgi;
  uwsgi_temp_path {dir}/tmp/uwsgi;
  scgi_temp_path {dir}/tmp/scgi;
  nchan_shared_memory_size 64m;
  # A publish names up to 100 streams' channels, joined by commas.
  nchan_max_channel_id_length 8192;
  map "" $renderq_no_message_id {{ default ""; }}
  server {{
    listen unix:{dir}/publish.sock;
    location ~ ^/pub/(?<renderq_channel>[a-z0-9.,-]+)$ {{
      nchan_publisher;
      nchan_channel_id $renderq_channel;
      nchan_channel_id_split_delimiter ",";
      # Live only: a stream's first events are published once nchan has
      # subscribed it, and nothing is fetched from a store.
      nchan_store_messages off;
    }}
  }}
  server {{
    listen 127.0.0.1:{port};
    location /stream/ {{ proxy_pass http://127.0.0.1:{responder_port}; }}
    location ~ "^/internal/events/(?<renderq_sid>[0-9a-f]{{32}})/(?<renderq_stream>[a-z0-9.-]+)$" {{
      internal;
      nchan_subscriber http-raw-stream;
      nchan_subscriber_http_raw_stream_separator "";
      nchan_channel_id s.$renderq_sid k;
      nchan_subscriber_first_message newest;
      nchan_subscriber_last_message_id $renderq_no_message_id;
      # nginx's own auth_request, not nchan_authorize_request: Debian's nchan
      # 1.3.6 crashes the worker when its authorize request fails.
      auth_request /internal/events-open;
      nchan_subscribe_request /internal/events-subscribed;
      nchan_unsubscribe_request /internal/events-unsubscribed;
      # nchan sends a stream's header as a 204 it turns into 200; without
      # `always` an error answer keeps its own type.
      add_header Content-Type "text/event-stream; charset=utf-8";
      add_header Cache-Control "no-store";
      error_page 500 = @events_unavailable;
    }}
    location @events_unavailable {{
      default_type application/problem+json;
      return 503 '{{"type":"urn:renderq:problem:events-unavailable","title":"Live events unavailable","status":503,"detail":"live events are not available now; poll instead"}}';
    }}
    location = /internal/events-open {{
      internal;
      fastcgi_pass unix:{dir}/hook.sock;
      fastcgi_param RENDERQ_HOOK open;
      # The parent's captures: a subrequest shares its request's variables.
      fastcgi_param RENDERQ_SUBSCRIBER s.$renderq_sid;
      fastcgi_param RENDERQ_STREAM $renderq_stream;
    }}
    location = /internal/events-subscribed {{
      internal;
      fastcgi_pass unix:{dir}/hook.sock;
      fastcgi_param RENDERQ_HOOK subscribed;
      fastcgi_param RENDERQ_SUBSCRIBER $nchan_channel_id;
    }}
    location = /internal/events-unsubscribed {{
      internal;
      fastcgi_pass unix:{dir}/hook.sock;
      # The client is gone by definition: tell the dispatcher all the same.
      fastcgi_ignore_client_abort on;
      fastcgi_param RENDERQ_HOOK unsubscribed;
      fastcgi_param RENDERQ_SUBSCRIBER $nchan_channel_id;
    }}
  }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Responder(http.server.BaseHTTPRequestHandler):
    """Stands in for renderq-fcgi: /stream/job/<id> and /stream/owner/<n>."""

    def do_GET(self):
        parts = self.path.split("/")
        channel = ("j." if parts[2] == "job" else "o.") + parts[3]
        self.send_response(200)
        self.send_header("X-Accel-Redirect", "/internal/events/%s/%s" % (secrets.token_hex(16), channel))
        self.send_header("X-Accel-Buffering", "no")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Stream:
    """One event stream read on its own thread into a list of frames."""

    def __init__(self, port, path, headers=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        extra = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n%s\r\n"
                           % (path, extra)).encode())
        self.head = b""
        self.frames = []
        self.comments = 0
        self.ended = threading.Event()
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                buf += data
                if not self.head:
                    if b"\r\n\r\n" not in buf:
                        continue
                    self.head, buf = buf.split(b"\r\n\r\n", 1)
                while b"\n\n" in buf:
                    raw, buf = buf.split(b"\n\n", 1)
                    with self.cond:
                        if raw.startswith(b":"):
                            self.comments += 1
                        else:
                            self.frames.append(parse_frame(raw.decode()))
                        self.cond.notify_all()
        except OSError:
            pass
        finally:
            self.ended.set()
            with self.cond:
                self.cond.notify_all()

    def wait_frames(self, n, timeout=20):
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.frames) >= n or self.ended.is_set(), timeout)
            assert ok and len(self.frames) >= n, "got %d of %d frames: %s" % (len(self.frames), n, self.frames)
            return list(self.frames)

    def wait_until(self, pred, timeout=20):
        with self.cond:
            assert self.cond.wait_for(lambda: pred(self), timeout), "stream: %s" % self.frames

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def parse_frame(raw):
    frame = {}
    for line in raw.split("\n"):
        name, _, value = line.partition(": ")
        frame[name] = value
    frame["data"] = json.loads(frame["data"])
    frame["id"] = int(frame["id"])
    return frame


class Rig:
    def __init__(self, workers):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="renderq-live-"))
        (self.dir / "tmp").mkdir()
        self.port = free_port()
        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Responder)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        conf = self.dir / "nginx.conf"
        conf.write_text(NGINX_CONF.format(nchan=NCHAN, workers=workers, dir=self.dir, port=self.port,
                                          user="%s %s" % (pwd.getpwuid(os.getuid()).pw_name,
                                                          grp.getgrgid(os.getgid()).gr_name),
                                          responder_port=self.http.server_address[1]))
        self.driver = subprocess.Popen(
            [str(BIN / "renderq_live_driver"), "--publish-socket", str(self.dir / "publish.sock"),
             "--hook-socket", str(self.dir / "hook.sock")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
        self.nginx = subprocess.Popen(["nginx", "-p", str(self.dir), "-c", str(conf), "-e", "stderr"],
                                      stderr=open(self.dir / "nginx.stderr", "w"), start_new_session=True)
        deadline = time.monotonic() + 10
        while not self._ready():
            assert self.nginx.poll() is None, (self.dir / "nginx.stderr").read_text()
            assert time.monotonic() < deadline, "nginx or the driver did not start"
            time.sleep(0.02)
        self.seq = 0
        self.lock = threading.Lock()

    def _ready(self):
        if not (self.dir / "publish.sock").exists() or not (self.dir / "hook.sock").exists():
            return False
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def event(self, job, owner, state=None, progress=None, **extra):
        with self.lock:
            self.seq += 1
            if progress is not None:
                line = {"seq": self.seq, "kind": "progress", "job": job, "owner": owner,
                        "data": {"id": job, "progress": progress, "eta_seconds": 5.0}}
            else:
                data = {"id": job, "state": state, "progress": 0.0,
                        "created_at": extra.pop("created_at", "2026-01-01T00:00:00.000Z")}
                data.update(extra)
                line = {"seq": self.seq, "kind": "state", "job": job, "owner": owner, "data": data,
                        "terminal": state in ("succeeded", "failed", "canceled")}
            self.driver.stdin.write(json.dumps(line) + "\n")
            self.driver.stdin.flush()
            return self.seq

    def sync(self):
        with self.lock:
            self.driver.stdin.write('{"sync": true}\n')
            self.driver.stdin.flush()
            assert self.driver.stdout.readline().strip() == "ok"

    def stream(self, path, headers=None):
        s = Stream(self.port, path, headers)
        return s

    def close(self):
        for p in (self.nginx, self.driver):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
        self.http.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)


def test_job_stream(rig):
    rig.event(JOB_A, 1, "queued")
    rig.sync()
    s = rig.stream("/stream/job/" + JOB_A)
    first = s.wait_frames(1)[0]
    assert b"content-type: text/event-stream" in s.head.lower(), s.head
    assert first["event"] == "state" and first["data"]["state"] == "queued", first
    running = rig.event(JOB_A, 1, "running")
    progress = rig.event(JOB_A, 1, progress=0.5)
    done = rig.event(JOB_A, 1, "succeeded")
    frames = s.wait_frames(4)
    assert [(f["event"], f["id"]) for f in frames[1:]] == [
        ("state", running), ("progress", progress), ("state", done)], frames
    assert frames[2]["data"] == {"id": JOB_A, "progress": 0.5, "eta_seconds": 5.0}
    assert s.ended.wait(10), "the job's stream did not end after its terminal state"
    assert len(s.frames) == 4
    # A subscriber who comes after the end gets the final state, and the stream ends.
    late = rig.stream("/stream/job/" + JOB_A)
    assert late.wait_frames(1)[0]["data"]["state"] == "succeeded"
    assert late.ended.wait(10)


def test_owner_stream(rig):
    rig.event(JOB_B, 1, "queued", created_at="2026-01-01T00:00:02.000Z")
    rig.event(JOB_C, 1, "running", created_at="2026-01-01T00:00:01.000Z")
    rig.event(JOB_D, 2, "queued")
    rig.sync()
    s = rig.stream("/stream/owner/1")
    first = s.wait_frames(2)
    assert [(f["event"], f["data"]["id"]) for f in first] == [("state", JOB_C), ("state", JOB_B)], first
    rig.event(JOB_D, 2, "running")
    b_running = rig.event(JOB_B, 1, "running", created_at="2026-01-01T00:00:02.000Z")
    frames = s.wait_frames(3)
    assert frames[2]["id"] == b_running and frames[2]["data"]["id"] == JOB_B, frames
    # The Last-Event-ID header a browser sends on reconnect does not confuse
    # nchan: the stream starts from the state of each job again.
    again = rig.stream("/stream/owner/1", {"Last-Event-ID": str(b_running)})
    got = again.wait_frames(2)
    assert [f["data"]["id"] for f in got] == [JOB_C, JOB_B], (got, again.head)
    for job in (JOB_B, JOB_C, JOB_D):
        rig.event(job, 2 if job == JOB_D else 1, "canceled")
    s.wait_frames(5)
    rig.sync()
    time.sleep(0.5)
    assert all(f["data"]["id"] != JOB_D for f in s.frames + again.frames), s.frames
    # The owner's stream stays open after its jobs end.
    assert not s.ended.is_set()
    s.close()
    again.close()


def test_keepalive(rig):
    s = rig.stream("/stream/owner/77")
    s.wait_until(lambda st: st.comments >= 1, timeout=10)
    assert s.frames == []
    s.close()


def test_no_gap_no_repeat(rig, streams=16, events=300):
    """Streams opened while state events flow: each sees its first state,
    then every later event exactly once, in order, until the end."""
    first = rig.event(JOB_E, 3, "running", n=0)
    rig.sync()
    stop = threading.Event()

    def feed():
        for n in range(1, events + 1):
            rig.event(JOB_E, 3, "running", n=n)
            time.sleep(0.002)
        stop.set()

    feeder = threading.Thread(target=feed)
    feeder.start()
    opened = []
    while not stop.is_set() and len(opened) < streams:
        opened.append(rig.stream("/stream/job/" + JOB_E))
        time.sleep(0.03)
    feeder.join()
    last = rig.event(JOB_E, 3, "succeeded", n=events + 1)
    for s in opened:
        assert s.ended.wait(20), "a stream did not end"
        frames = s.frames
        assert frames and frames[0]["event"] == "state", frames[:2]
        start = frames[0]["data"]["n"]
        ns = [f["data"]["n"] for f in frames]
        assert ns == list(range(start, events + 2)), "stream from n=%d: %s" % (start, ns)
        ids = [f["id"] for f in frames[1:]]
        assert ids == list(range(first + start + 1, last + 1)), ids
    print("  %d streams opened during %d events, every one complete" % (len(opened), events))


def test_dispatcher_down(rig):
    """Without the dispatcher a stream request is a 503 problem (the console
    then polls), and nginx's workers live on."""
    rig.driver.stdin.close()
    rig.driver.wait(timeout=10)
    s = rig.stream("/stream/job/" + JOB_A)
    assert s.ended.wait(10)
    status = s.head.split(b"\r\n", 1)[0]
    assert b" 503 " in status, s.head
    assert b"application/problem+json" in s.head.lower(), s.head
    log = (rig.dir / "error.log").read_text()
    assert "exited on signal" not in log, log[-2000:]


def main():
    if not (BIN / "renderq_live_driver").exists() or shutil.which("nginx") is None or not os.path.exists(NCHAN):
        print("skipped: needs renderq_live_driver, nginx and libnginx-mod-nchan")
        return SKIP
    signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("test took over 240 s")))
    signal.alarm(240)
    for workers in (1, 2):
        rig = Rig(workers)
        try:
            for test in (test_job_stream, test_owner_stream, test_keepalive, test_no_gap_no_repeat,
                         test_dispatcher_down):
                print("%s (nginx workers: %d)" % (test.__name__, workers), flush=True)
                test(rig)
        except BaseException:
            print((rig.dir / "error.log").read_text()[-3000:] if (rig.dir / "error.log").exists() else "")
            raise
        finally:
            rig.close()
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
