"""A real renderq stack for end-to-end tests and the submit benchmark.

Starts renderq-fcgi on a unix socket and nginx in front of it, rendered from the
same template the installation ships (nginx/renderq.conf.in), on 127.0.0.1 with
ports picked here, TLS with a fresh self-signed certificate. Everything lives in
one temporary directory that is removed, with every process stopped, when the
`with` block ends, however it ends. Python 3 standard library only.

    with Stack() as stack:
        token = stack.create_token("alice")
        status, headers, body = stack.request("POST", "/api/v1/jobs", scene, token=token)

The queue is a SQLite file in that directory, or, with backend="postgres" (or
RENDERQ_E2E_BACKEND=postgres), a private PostgreSQL server started there by
scripts/pg-cluster (127.0.0.1, a port picked here); stack.db is then its URI.

Environment (set by ctest through renderq_add_script_test): RENDERQ_BIN (the
build's bin/ dir), RENDERQ_SOURCE_DIR. Without them, paths relative to this file
and build/bin are used.
"""
import contextlib
import http.client
import json
import os
import pathlib
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = pathlib.Path(os.environ.get("RENDERQ_SOURCE_DIR",
                                         pathlib.Path(__file__).resolve().parents[2]))
BIN_DIR = pathlib.Path(os.environ.get("RENDERQ_BIN", SOURCE_DIR / "build" / "bin"))
sys.path.insert(0, str(SOURCE_DIR / "nginx"))
import render_conf  # noqa: E402  (lives in nginx/, beside the template it renders)
import openapi_contract  # noqa: E402  (every answer is checked against docs/openapi.yaml)

SKIP = 77  # ctest's SKIP_RETURN_CODE for renderq_add_script_test

# A scene small enough to be cheap everywhere; tests vary the seed to make bodies distinct.
SMALL_SCENE = {
    "width": 64, "height": 48, "samples": 4,
    "camera": {"position": [0, 1, 5], "look_at": [0, 0.5, 0]},
    "materials": [{"name": "red", "type": "lambertian", "albedo": [0.8, 0.1, 0.1]}],
    "objects": [{"type": "sphere", "center": [0, 0.5, 0], "radius": 0.5, "material": "red"}],
}


def scene_body(seed=0):
    return json.dumps(dict(SMALL_SCENE, seed=seed)).encode()


class StackError(Exception):
    pass


def free_port():
    """A port nothing listens on right now (the kernel's pick; a race is unlikely)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_binaries(*names):
    """Exits SKIP (with the reason) when a binary the test needs is not built."""
    missing = [n for n in names if not (BIN_DIR / n).exists() and shutil.which(n) is None]
    if missing:
        print("skipped: not built or not installed: %s" % ", ".join(missing))
        sys.exit(SKIP)


def make_certificate(directory):
    """Self-signed certificate for 127.0.0.1 and localhost; returns (cert, key) paths."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


class Stack:
    """nginx + renderq-fcgi in a temporary directory. Not thread-safe itself;
    request() may be called from many threads (each call opens its own connection
    unless given one)."""

    def __init__(self, threads=4, submit_rate="1000000r/s", submit_burst=1000000,
                 nginx_workers=1, responder_args=(), backend=None, pg_durable=False):
        self.backend = backend or os.environ.get("RENDERQ_E2E_BACKEND", "sqlite")
        if self.backend not in ("sqlite", "postgres"):
            raise StackError("unknown backend %r (sqlite or postgres)" % self.backend)
        self.pg_dir = None
        self.pg_durable = pg_durable  # fsync on (benchmarks); tests keep throwaway data
        self.threads = threads
        self.submit_rate = submit_rate
        self.submit_burst = submit_burst
        self.nginx_workers = nginx_workers
        self.responder_args = list(responder_args)
        self.dir = None
        self.responder = None
        self.nginx = None
        self._logs = []
        self._spawned = []

    # ---- lifecycle

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        require_binaries("renderq-fcgi", "renderqctl", "nginx")
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="renderq-e2e-"))
        self.db = self.dir / "queue.db"
        if self.backend == "postgres":
            self.pg_dir = self.dir / "pg"
            self.pg_port = free_port()
            self.db = self.pg_start()
        self.socket = self.dir / "fcgi.sock"
        self.results = self.dir / "results"
        self.results.mkdir()
        (self.dir / "log").mkdir()
        self.cert, self.key = make_certificate(self.dir)
        self.ctl("init")
        self.start_responder()
        self.https_port, self.http_port = free_port(), free_port()
        conf = render_conf.render_dev(
            self.dir / "nginx", https_port=self.https_port, http_port=self.http_port,
            cert=self.cert, key=self.key, socket=self.socket, results=self.results,
            submit_rate=self.submit_rate, submit_burst=self.submit_burst,
            worker_processes=self.nginx_workers)
        self.nginx_argv = ["nginx", "-p", str(self.dir / "nginx"), "-c", str(conf), "-e", "stderr"]
        self.start_nginx()
        self.wait_ready()

    def start_nginx(self):
        # A killed nginx leaves its unix listen sockets behind, and a new one
        # would not bind them (as the systemd drop-in and scripts/run know).
        with contextlib.suppress(FileNotFoundError):
            (self.dir / "nginx" / "nchan.sock").unlink()
        self.nginx = self._spawn("nginx", self.nginx_argv)

    def stop(self):
        """Stops every process and removes the directory. Safe to call twice."""
        for proc in [self.nginx, self.responder] + self._spawned:
            _terminate(proc)
        self.nginx = self.responder = None
        self._spawned = []
        if self.pg_dir is not None:
            self.pg_stop()
            self.pg_dir = None
        for f in self._logs:
            f.close()
        self._logs = []
        if self.dir is not None:
            if os.environ.get("RENDERQ_KEEP_E2E"):
                print("kept %s" % self.dir)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    # ---- PostgreSQL (backend "postgres")

    def pg_start(self):
        """Starts (or restarts) the private server; returns its URI."""
        argv = [str(SOURCE_DIR / "scripts" / "pg-cluster"), "start", str(self.pg_dir),
                str(self.pg_port)] + ([] if self.pg_durable else ["--fast"])
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise StackError("pg-cluster start failed:\n" + out.stderr)
        return out.stdout.strip()

    def pg_stop(self, crash=False):
        """Stops the server: a fast shutdown, or (crash) as if it died."""
        subprocess.run([str(SOURCE_DIR / "scripts" / "pg-cluster"), "kill" if crash else "stop",
                        str(self.pg_dir)], capture_output=True, timeout=120)

    def sql(self, query):
        """Rows of a query on the queue's database, read with a connection of its own."""
        if self.backend == "postgres":
            out = subprocess.run(["psql", str(self.db), "-qAt", "-F", "\t", "-c", query],
                                 capture_output=True, text=True, timeout=30)
            if out.returncode != 0:
                raise StackError("psql: " + out.stderr)
            return [tuple(line.split("\t")) for line in out.stdout.splitlines()]
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=10)
        try:
            return [tuple(str(v) for v in row) for row in con.execute(query)]
        finally:
            con.close()

    # ---- the responder

    def responder_command(self):
        return [str(BIN_DIR / "renderq-fcgi"), "--db", str(self.db), "--socket", str(self.socket),
                "--threads", str(self.threads), "--results", str(self.results)] + self.responder_args

    def start_responder(self, wrapper=(), env=None):
        """Starts renderq-fcgi (under `wrapper`, e.g. fiu-run) and waits for its socket."""
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        self.responder = self._spawn("renderq-fcgi", list(wrapper) + self.responder_command(),
                                     env=env)
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if self.responder.poll() is not None:
                raise StackError("renderq-fcgi exited with %s:\n%s" %
                                 (self.responder.returncode, self.log_tail("renderq-fcgi")))
            if time.monotonic() > deadline:
                raise StackError("renderq-fcgi made no socket in 10 s")
            time.sleep(0.02)

    def start_responder_under_fiu(self):
        """Restarts renderq-fcgi under fiu-run's POSIX preload with no fault enabled;
        fiu_ctrl() then turns failure points on and off at run time. Returns the
        fiu-ctrl FIFO prefix."""
        require_binaries("fiu-run", "fiu-ctrl")
        self.fiu_prefix = str(self.dir / "fiu")
        # libfiu's POSIX preload and ASan's interceptors wrap the same functions;
        # together the responder crashes at its first write. The optimised build
        # runs this test; the sanitizer build reports it skipped.
        ldd = subprocess.run(["ldd", str(BIN_DIR / "renderq-fcgi")], capture_output=True, text=True)
        if "libasan" in ldd.stdout:
            print("skipped: fiu-run's preload does not work with an ASan build")
            sys.exit(SKIP)  # SystemExit: the `with Stack()` block still cleans up
        self.start_responder(wrapper=["fiu-run", "-x", "-f", self.fiu_prefix])

    def fiu_ctrl(self, *commands):
        argv = ["fiu-ctrl", "-f", self.fiu_prefix]
        for c in commands:
            argv += ["-c", c]
        subprocess.run(argv + [str(self.responder.pid)], check=True, timeout=10)

    def kill_responder(self, sig=signal.SIGKILL):
        self.responder.send_signal(sig)
        self.responder.wait(timeout=10)

    # ---- talking to it

    def wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for proc, name in ((self.nginx, "nginx"), (self.responder, "renderq-fcgi")):
                if proc.poll() is not None:
                    raise StackError("%s exited with %s:\n%s" %
                                     (name, proc.returncode, self.log_tail(name)))
            try:
                last = self.request("GET", "/healthz")[0]
                if last == 200:
                    return
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise StackError("stack not ready in %d s (last: %s)" % (timeout, last))

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=str(self.cert))
        return ctx

    def connection(self, timeout=10):
        return http.client.HTTPSConnection("127.0.0.1", self.https_port, timeout=timeout,
                                           context=self.ssl_context())

    def request(self, method, path, body=None, token=None, headers=None, conn=None):
        """One request; returns (status, headers dict with lower-case names, body bytes)."""
        h = {}
        if body is not None:
            h["Content-Type"] = "application/json"
        if token is not None:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        own = conn is None
        conn = conn or self.connection()
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
            headers = {k.lower(): v for k, v in resp.getheaders()}
            # The contract test: an answer docs/openapi.yaml does not describe fails here.
            openapi_contract.check(method, path, resp.status, headers, data)
            return resp.status, headers, data
        finally:
            if own:
                conn.close()

    # ---- administration and inspection

    def ctl(self, *args):
        """Runs renderqctl against this stack's database; returns its stdout."""
        proc = subprocess.run([str(BIN_DIR / "renderqctl"), "--db", str(self.db),
                               "--results", str(self.results)] + list(args),
                              capture_output=True, text=True, timeout=30)
        if proc.returncode != 0:
            raise StackError("renderqctl %s: exit %d: %s" % (" ".join(args), proc.returncode,
                                                             proc.stderr.strip()))
        return proc.stdout

    def create_token(self, name):
        return self.ctl("token", "create", name).strip()

    def job_ids_in_db(self):
        """Every job id in the database, read with a fresh connection."""
        return {row[0] for row in self.sql("SELECT id FROM jobs")}

    def integrity_check(self):
        """SQLite's integrity_check; on PostgreSQL (which checks its own pages),
        ["ok"] unless a succeeded job lacks its stored result."""
        if self.backend == "postgres":
            missing = self.sql("SELECT id FROM jobs j WHERE state = 'succeeded' AND NOT EXISTS"
                               " (SELECT 1 FROM job_results r WHERE r.seq = j.seq)")
            return ["ok"] if not missing else ["succeeded without result: %s" % m for m in missing]
        return [row[0] for row in self.sql("PRAGMA integrity_check")]

    def partial_files_of_finished_jobs(self):
        """Previews and checkpoints still kept for jobs that ended (none should be)."""
        if self.backend == "postgres":
            return [r[0] for r in self.sql(
                "SELECT j.id || ' ' || t.kind FROM jobs j JOIN ("
                " SELECT seq, 'checkpoint' AS kind FROM job_checkpoints UNION ALL"
                " SELECT seq, 'preview' FROM job_previews) t ON t.seq = j.seq"
                " WHERE j.state IN ('succeeded', 'failed', 'canceled')")]
        return [p.name for p in self.results.iterdir() if p.name.endswith((".ckpt", ".preview.png"))]

    def result_png(self, token, job_id):
        """A succeeded job's PNG as a client gets it (nginx, X-Accel-Redirect)."""
        status, _, data = self.request("GET", "/api/v1/jobs/%s/result" % job_id, token=token)
        if status != 200:
            raise StackError("GET result of %s: %d %s" % (job_id, status, data[:200]))
        return data

    def log_tail(self, name, lines=30):
        path = self.dir / "log" / (name + ".log") if self.dir else None
        if path is None or not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _spawn(self, name, argv, env=None, cwd=None):
        log = open(self.dir / "log" / (name + ".log"), "ab")
        self._logs.append(log)
        # Own session: a stray child never receives the test runner's signals,
        # and _terminate can stop the whole group (fiu-run, nginx workers).
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd,
                                env=dict(os.environ, **(env or {})))
        # stop() ends every process ever spawned here (workers included), so a
        # failing test leaves nothing running.
        self._spawned.append(proc)
        return proc


def _terminate(proc):
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    # Children left in the group (nginx workers) go too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def time_limit(seconds):
    """Fails the test (raising, so `with Stack()` still cleans up) after `seconds`."""
    def on_alarm(signum, frame):
        raise TimeoutError("test exceeded %d s" % seconds)
    signal.signal(signal.SIGALRM, on_alarm)
    # SIGTERM from ctest's own timeout also unwinds through the cleanup.
    signal.signal(signal.SIGTERM, lambda s, f: (_ for _ in ()).throw(KeyboardInterrupt()))
    signal.alarm(seconds)


def problem(headers, body):
    """Parses a problem+json body; raises AssertionError if it is not one."""
    ctype = headers.get("content-type", "")
    assert ctype.startswith("application/problem+json"), "content-type %r" % ctype
    doc = json.loads(body)
    for key in ("type", "title", "status"):
        assert key in doc, "problem without %r: %s" % (key, doc)
    return doc
