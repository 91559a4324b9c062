#!/usr/bin/env python3
"""The README's first command, as a newcomer runs it: `scripts/run --demo` in a
copy of this checkout with no build directory, then plain `scripts/run`.

Phase 1 (--demo): the script must build every program the stack runs from
nothing, print the two `export` lines, hand out a token that works, start a
worker (it appears in /api/v1/queue `workers`), render every example and one
job of each shipped kind (povray, python-example) into out/ and exit 0.

Phase 2 (no flag, same copy): the printed curl command, pasted as a user would,
submits a job that succeeds. Then the supervision: the worker, the responder and
renderq-notify are SIGKILLed while a job waits; all come back (new pids in var/run/), the API
answers again, the waiting job and one submitted after the restart succeed, and
nginx is the same process throughout. Ctrl-C (SIGINT) stops the whole stack.

Phase 3 (same copy, built): a worker that keeps dying (SIGKILLed at each start,
RENDERQ_RESTART_LIMIT=3) makes scripts/run give up: it exits 1 and leaves no
process behind.

Phase 4 (same copy, built): `scripts/run --postgres --demo` creates a
PostgreSQL server under var/pg/, runs two workers that share nothing but its
URI (each in its own directory under var/hosts/, no --results), renders every
example and each shipped kind's job, exits 0, and stops the server with
everything else.

The copy holds what git would commit (tracked files and untracked files that are
not ignored), so a file missing from the repository fails here as in a fresh
clone. Ports are picked here. Everything is removed however the test ends.
"""
import contextlib
import json
import os
import pathlib
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import http.client

import stack

DEMO_TIMEOUT = 600  # seconds for the demo's renders (a few seconds each here)
# What the supervision check submits: a second or so of CPU rendering.
SCENE = {
    "width": 96, "height": 64, "samples": 16, "seed": 1,
    "camera": {"position": [0, 1, 5], "look_at": [0, 0.5, 0]},
    "materials": [{"name": "red", "type": "lambertian", "albedo": [0.8, 0.1, 0.1]}],
    "objects": [{"type": "sphere", "center": [0, 0.5, 0], "radius": 0.5, "material": "red"}],
}
BUILD_AND_DEMO_LIMIT = 1500  # the whole first phase, build included


def demo_outputs(checkout, phase):
    """The files --demo must leave in out/: a PNG per example scene and the
    output of one job of each shipped kind that has an example input (named
    for the kind, with its output type's extension). Returns their names."""
    examples = sorted(p.stem for p in (checkout / "examples").glob("*.json"))
    assert examples, "no examples"
    wanted = {name + ".png": "image/png" for name in examples}
    for kind_file in sorted((checkout / "kinds.d").glob("*.json")):
        if (checkout / "examples" / "kind-inputs" / kind_file.name).is_file():
            media = json.loads(kind_file.read_text()).get("output_media_type", "image/png")
            assert media == "image/png", "%s: a shipped kind of type %s" % (kind_file, media)
            wanted[kind_file.stem + ".png"] = media
    assert len(wanted) > len(examples), "no shipped kind with an example input"
    for name in sorted(wanted):
        out = checkout / "out" / name
        assert out.is_file() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", \
            "out/%s missing or not a PNG after %s" % (name, phase)
    return sorted(wanted)


def copy_checkout(source, destination):
    """Copies the files git would commit; exits SKIP outside a git checkout."""
    listed = subprocess.run(
        ["git", "-C", str(source), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True)
    if listed.returncode != 0:
        print("skipped: %s is not a git checkout" % source)
        sys.exit(stack.SKIP)
    for name in listed.stdout.decode().split("\0"):
        if not name:
            continue
        src = source / name
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the work tree, not yet committed
        dst = destination / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)


class ScriptRun:
    """`scripts/run ARGS` in its own process group; its stdout is collected line by
    line (the export lines and the curl command are printed there)."""

    def __init__(self, checkout, args, env):
        self.lines = []
        self.changed = threading.Condition()
        self.log = open(checkout / ("scripts-run%s.log" % "".join(args).replace("-", "_")), "wb")
        self.proc = subprocess.Popen([str(checkout / "scripts" / "run")] + args, cwd=checkout,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.log, env=env, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            with self.changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def wait_for_line(self, pattern, timeout):
        """The first stdout line matching `pattern` (a regex), as a match object."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines:
                    m = re.match(pattern, line)
                    if m:
                        return m
                if self.proc.poll() is not None and not self.reader.is_alive():
                    raise AssertionError("scripts/run exited (%s) before printing %r; stderr:\n%s"
                                         % (self.proc.returncode, pattern, self.stderr_tail()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("scripts/run printed no %r in %d s; stderr:\n%s"
                                         % (pattern, timeout, self.stderr_tail()))
                self.changed.wait(min(left, 1.0))

    def stderr_tail(self, lines=40):
        self.log.flush()
        text = pathlib.Path(self.log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self):
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.log.close()


class Api:
    def __init__(self, url, cert, token):
        m = re.match(r"https://127\.0\.0\.1:(\d+)$", url)
        assert m, "RENDERQ_URL %r is not https://127.0.0.1:<port>" % url
        self.port = int(m.group(1))
        self.context = ssl.create_default_context(cafile=str(cert))
        self.token = token

    def get(self, path):
        return self.call("GET", path)

    def post_job(self, scene):
        return self.call("POST", "/api/v1/jobs", json.dumps(scene).encode(),
                         {"Content-Type": "application/json"})

    def call(self, method, path, body=None, headers=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10,
                                           context=self.context)
        try:
            conn.request(method, path, body=body,
                         headers=dict({"Authorization": "Bearer " + self.token}, **(headers or {})))
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()


def exported(run, name, timeout=60):
    return run.wait_for_line(r"^export %s=(\S+)$" % name, timeout=timeout).group(1)


def wait_for_worker(api, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        status, body = api.get("/api/v1/queue")
        assert status == 200, "GET /api/v1/queue with the printed token: %d %s" % (status, body)
        workers = json.loads(body)["workers"]
        if workers:
            return workers
        assert time.monotonic() < deadline, "no worker in /api/v1/queue after %d s" % timeout
        time.sleep(0.5)


def wait_for_job(api, job_id, timeout):
    deadline = time.monotonic() + timeout
    while True:
        status, body = api.get("/api/v1/jobs/" + job_id)
        assert status == 200, (status, body)
        job = json.loads(body)
        if job["state"] in ("succeeded", "failed", "canceled"):
            return job
        assert time.monotonic() < deadline, "job %s still %s after %d s" % (
            job_id, job["state"], timeout)
        time.sleep(0.5)


def pid_file(checkout, name):
    """The pid scripts/run recorded for NAME, or None."""
    with contextlib.suppress(OSError, ValueError):
        return int((checkout / "var" / "run" / (name + ".pid")).read_text())
    return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_restarted(checkout, name, old_pid, timeout=30):
    """The new pid of NAME once scripts/run has started it again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = pid_file(checkout, name)
        if pid is not None and pid != old_pid and alive(pid):
            return pid
        time.sleep(0.1)
    raise AssertionError("%s (was pid %s) not restarted in %d s" % (name, old_pid, timeout))


def wait_answering(api, timeout=30):
    """Until /api/v1/queue answers 200 again (nginx says 502 while no responder)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError):
            status, _ = api.get("/api/v1/queue")
            if status == 200:
                return
        assert time.monotonic() < deadline, "the API does not answer %d s after the restart" % timeout
        time.sleep(0.2)


def supervision(run, checkout, api):
    """SIGKILL the worker, the responder and renderq-notify: the stack carries on, nginx
    untouched."""
    nginx = pid_file(checkout, "nginx")
    worker = pid_file(checkout, "renderq-worker")
    responder = pid_file(checkout, "renderq-fcgi")
    notify = pid_file(checkout, "renderq-notify")
    assert nginx and worker and responder and notify, "scripts/run recorded no pids in var/run/"
    status, body = api.post_job(SCENE)
    assert status == 201, (status, body)
    waiting = json.loads(body)["id"]
    os.kill(worker, signal.SIGKILL)
    os.kill(responder, signal.SIGKILL)
    os.kill(notify, signal.SIGKILL)
    new_worker = wait_restarted(checkout, "renderq-worker", worker)
    new_responder = wait_restarted(checkout, "renderq-fcgi", responder)
    new_notify = wait_restarted(checkout, "renderq-notify", notify)
    wait_answering(api)
    status, body = api.post_job(dict(SCENE, seed=2))
    assert status == 201, "submit after the restart: %d %s" % (status, body)
    after = json.loads(body)["id"]
    for job_id in (waiting, after):
        done = wait_for_job(api, job_id, timeout=120)
        assert done["state"] == "succeeded", done
    assert pid_file(checkout, "nginx") == nginx and alive(nginx), "nginx was restarted"
    assert run.proc.poll() is None, "scripts/run exited after a restart"
    print("interactive: worker %d -> %d, responder %d -> %d and renderq-notify %d -> %d "
          "restarted after SIGKILL; both jobs succeeded; nginx still pid %d"
          % (worker, new_worker, responder, new_responder, notify, new_notify, nginx), flush=True)


def phase_give_up(checkout, env):
    """A worker killed at every start: scripts/run stops the stack and exits 1."""
    env = dict(env, RENDERQ_SKIP_DEPS="1", RENDERQ_SKIP_BUILD="1", RENDERQ_RESTART_LIMIT="3")
    run = ScriptRun(checkout, [], env)
    try:
        exported(run, "RENDERQ_TOKEN")
        killed = []
        deadline = time.monotonic() + 60
        while run.proc.poll() is None and time.monotonic() < deadline:
            pid = pid_file(checkout, "renderq-worker")
            if pid is not None and pid not in killed and alive(pid):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)
        code = run.proc.wait(timeout=30)
        assert code == 1, "scripts/run exited %s when the worker kept dying, want 1" % code
        assert len(killed) == 3, "killed %d workers before it gave up, want 3" % len(killed)
        assert "giving up" in run.stderr_tail(), run.stderr_tail()
        leftovers = subprocess.run(["pgrep", "-f", str(checkout)], capture_output=True, text=True)
        pids = [p for p in leftovers.stdout.split() if int(p) != os.getpid()]
        assert not pids, "processes left after giving up: %s" % pids
        print("give up: 3 worker deaths within the window stopped the stack, exit 1", flush=True)
    finally:
        run.stop()


def phase_postgres(checkout, env):
    env = dict(env, RENDERQ_SKIP_BUILD="1", RENDERQ_PG_PORT=str(stack.free_port()))
    for png in (checkout / "out").glob("*.png"):
        png.unlink()
    run = ScriptRun(checkout, ["--postgres", "--demo"], env)
    try:
        url = exported(run, "RENDERQ_URL", timeout=300)
        token = exported(run, "RENDERQ_TOKEN")
        db = run.wait_for_line(r"^Queue database: (postgresql://\S+)", timeout=10).group(1)
        api = Api(url, checkout / "var" / "tls" / "cert.pem", token)
        deadline = time.monotonic() + 60
        names = set()
        while names != {"host-a", "host-b"}:
            assert time.monotonic() < deadline, "workers seen: %s" % names
            names = {w["name"] for w in wait_for_worker(api)}
            time.sleep(0.2)
        code = run.proc.wait(timeout=DEMO_TIMEOUT + 60)
        assert code == 0, "scripts/run --postgres --demo exited %d; stderr:\n%s" % (
            code, run.stderr_tail())
    finally:
        run.stop()
    demo_outputs(checkout, "the PostgreSQL demo")
    assert not list((checkout / "var" / "hosts").glob("*/*")), "a worker wrote into its directory"
    leftovers = subprocess.run(["pgrep", "-f", str(checkout / "var" / "pg")], capture_output=True,
                               text=True)
    assert not leftovers.stdout.split(), "PostgreSQL still running after the demo"
    print("postgres: two workers on %s rendered every example; the server stopped" % db,
          flush=True)


def phase_demo(checkout, env):
    run = ScriptRun(checkout, ["--demo"], env)
    try:
        # The first run installs and builds before it prints anything.
        url = exported(run, "RENDERQ_URL", timeout=BUILD_AND_DEMO_LIMIT)
        token = exported(run, "RENDERQ_TOKEN")
        assert url == env["RENDERQ_EXPECT_URL"], url
        api = Api(url, checkout / "var" / "tls" / "cert.pem", token)
        workers = wait_for_worker(api)
        print("demo: worker up: %s" % workers, flush=True)
        try:
            code = run.proc.wait(timeout=DEMO_TIMEOUT + 60)
        except subprocess.TimeoutExpired:
            raise AssertionError("scripts/run --demo still running; stderr:\n" + run.stderr_tail())
        assert code == 0, "scripts/run --demo exited %d; stderr:\n%s" % (code, run.stderr_tail())
    finally:
        run.stop()
    print("demo: exit 0, out/ holds %s" % ", ".join(demo_outputs(checkout, "the demo")),
          flush=True)


def phase_interactive(checkout, env):
    run = ScriptRun(checkout, [], env)
    try:
        url = exported(run, "RENDERQ_URL")
        token = exported(run, "RENDERQ_TOKEN")
        api = Api(url, checkout / "var" / "tls" / "cert.pem", token)
        # The printed curl command spans two lines joined by a backslash.
        first = run.wait_for_line(r"^\s+curl .*\\$", timeout=10).group(0)
        second = run.lines[run.lines.index(first) + 1]
        command = first.rstrip("\\").strip() + " " + second.strip()
        command = command.replace("<scene>", "cornell_box")
        argv = shlex.split(command)
        pasted = subprocess.run(argv + ["--silent", "--show-error"], cwd=checkout,
                                capture_output=True, timeout=30)
        assert pasted.returncode == 0, "the printed curl failed: %s" % pasted.stderr
        job = json.loads(pasted.stdout)
        assert job["state"] == "queued", job
        done = wait_for_job(api, job["id"], timeout=300)
        assert done["state"] == "succeeded", done
        status, png = api.get("/api/v1/jobs/%s/result" % job["id"])
        assert status == 200 and png[:4] == b"\x89PNG", status
        print("interactive: the printed curl command's job succeeded", flush=True)
        supervision(run, checkout, api)

        run.proc.send_signal(signal.SIGINT)  # Ctrl-C goes to the script
        code = run.proc.wait(timeout=30)
        assert code == 130, "scripts/run exited %d after SIGINT, want 130" % code
        leftovers = subprocess.run(["pgrep", "-f", str(checkout)], capture_output=True, text=True)
        pids = [p for p in leftovers.stdout.split() if int(p) != os.getpid()]
        assert not pids, "processes left after Ctrl-C: %s" % pids
        print("interactive: Ctrl-C stopped every process", flush=True)
    finally:
        run.stop()


def main():
    stack.time_limit(BUILD_AND_DEMO_LIMIT + 400)
    source = stack.SOURCE_DIR
    work = pathlib.Path(tempfile.mkdtemp(prefix="renderq-fresh-"))
    try:
        checkout = work / "renderq"
        copy_checkout(source, checkout)
        assert not (checkout / "build").exists()
        https_port, http_port = stack.free_port(), stack.free_port()
        env = dict(os.environ, RENDERQ_HTTPS_PORT=str(https_port),
                   RENDERQ_HTTP_PORT=str(http_port), RENDERQ_DEMO_TIMEOUT=str(DEMO_TIMEOUT),
                   RENDERQ_EXPECT_URL="https://127.0.0.1:%d" % https_port)
        for name in ("RENDERQ_BIN", "RENDERQ_BUILD_DIR", "RENDERQ_SKIP_BUILD", "RENDERQ_DB"):
            env.pop(name, None)
        started = time.monotonic()
        phase_demo(checkout, env)
        print("demo phase took %.0f s" % (time.monotonic() - started), flush=True)
        phase_interactive(checkout, env)
        phase_give_up(checkout, env)
        phase_postgres(checkout, env)
    finally:
        subprocess.run(["pkill", "-KILL", "-f", str(work)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
