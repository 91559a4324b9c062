"""renderq-worker processes on top of stack.Stack, for the worker's end-to-end
tests and bench/pickup. Python 3 standard library only.

    with stack.Stack() as s:
        workers = WorkerSet(s)
        workers.start("w1")
        ...
"""
import contextlib
import json
import os
import re
import signal
import struct
import subprocess
import time

import stack

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sanitizer_build():
    """True when the binaries under test carry AddressSanitizer (the Debug +
    ASan pass of scripts/test): latency bounds there measure the sanitizer."""
    ldd = subprocess.run(["ldd", str(stack.BIN_DIR / "renderq-fcgi")], capture_output=True,
                         text=True)
    return "libasan" in ldd.stdout
TEMP_NAME = re.compile(r"^\..+\.tmp-\d+-\d+$")  # worker/atomic_file.h
TERMINAL = ("succeeded", "failed", "canceled")


def scene(width, height, samples, seed=0, max_depth=4):
    """A SPEC scene (a red sphere on a grey floor) as a dict."""
    return {
        "width": width, "height": height, "samples": samples, "max_depth": max_depth,
        "seed": seed,
        "camera": {"position": [0, 1, 5], "look_at": [0, 0.5, 0]},
        "materials": [{"name": "red", "type": "lambertian", "albedo": [0.8, 0.1, 0.1]},
                      {"name": "grey", "type": "lambertian", "albedo": [0.5, 0.5, 0.5]}],
        "objects": [{"type": "sphere", "center": [0, 0.5, 0], "radius": 0.5, "material": "red"},
                    {"type": "quad", "corner": [-5, 0, -5], "u": [10, 0, 0], "v": [0, 0, 10],
                     "material": "grey"}],
    }


def png_size(data):
    """(width, height) from a PNG's IHDR; raises AssertionError if it is not a PNG."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG (signature %r)" % data[:8]
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13, "first chunk is %r" % kind
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    assert depth == 8 and color == 2, "not 8-bit RGB (depth %d, colour type %d)" % (depth, color)
    return width, height


class WorkerSet:
    """renderq-worker processes by name, started in their own session like the
    stack's other processes, logging to <stack dir>/log/worker-<name>.log."""

    def __init__(self, s, extra_args=()):
        self.s = s
        self.extra_args = list(extra_args)
        self.procs = {}
        self.registrations = {}  # name -> "registered" lines in its log before the last start

    def command(self, name):
        argv = [str(stack.BIN_DIR / "renderq-worker"), "--device", "cpu", "--name", name,
                "--db", str(self.s.db)]
        if self.s.backend == "sqlite":
            argv += ["--results", str(self.s.results)]  # a PostgreSQL queue needs only its URI
        return argv + self.extra_args

    def host_dir(self, name):
        """The worker's own directory (its working and temp directory), as if it
        ran on a host of its own: nothing in it is shared with anyone."""
        path = self.s.dir / "hosts" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start(self, name):
        self.registrations[name] = len(self.events(name, "registered"))
        home = self.host_dir(name)
        self.procs[name] = self.s._spawn("worker-" + name, self.command(name), cwd=home,
                                         env={"TMPDIR": str(home)})
        return self.procs[name]

    def wait_registered(self, names, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name in names:
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise stack.StackError("worker %s exited with %s:\n%s" % (
                        name, proc.returncode, self.s.log_tail("worker-" + name)))
            if all(len(self.events(n, "registered")) > self.registrations[n] for n in names):
                return
            time.sleep(0.02)
        raise stack.StackError("workers %s did not register in %d s" % (names, timeout))

    def send(self, name, sig):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.procs[name].pid, sig)

    def stop(self, name, sig=signal.SIGTERM, timeout=15):
        """Signals the worker and waits for it; returns (exit code, seconds taken)."""
        proc = self.procs[name]
        started = time.monotonic()
        if proc.poll() is None:
            self.send(name, sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.send(name, signal.SIGKILL)
            proc.wait(timeout=5)
            raise AssertionError("worker %s did not exit within %d s" % (name, timeout))
        return proc.returncode, time.monotonic() - started

    def stop_all(self):
        for name in list(self.procs):
            if self.procs[name].poll() is None:
                self.stop(name)

    def log(self, name):
        path = self.s.dir / "log" / ("worker-%s.log" % name)
        return path.read_text(errors="replace") if path.exists() else ""

    def events(self, name, event):
        """The key=value fields of every `event` line in a worker's log."""
        found = []
        for line in self.log(name).splitlines():
            parts = line.split(" ")
            if len(parts) >= 3 and parts[2] == event:
                found.append(dict(p.split("=", 1) for p in parts[3:] if "=" in p))
        return found


def submit(s, token, body, conn=None):
    """POST one scene; returns (status, job dict or problem, seconds taken)."""
    started = time.monotonic()
    status, headers, data = s.request("POST", "/api/v1/jobs", json.dumps(body).encode(), token,
                                      conn=conn)
    return status, json.loads(data) if data else None, time.monotonic() - started


def get_job(s, token, job_id, conn=None):
    status, _, data = s.request("GET", "/api/v1/jobs/" + job_id, token=token, conn=conn)
    assert status == 200, "GET job %s: %d %s" % (job_id, status, data[:200])
    return json.loads(data)


def wait_terminal(s, token, ids, timeout):
    """Waits until every job is terminal; returns {id: job}."""
    deadline = time.monotonic() + timeout
    jobs = {}
    pending = list(ids)
    conn = s.connection()
    try:
        while pending:
            if time.monotonic() > deadline:
                raise AssertionError("%d jobs not terminal after %d s (e.g. %s)" % (
                    len(pending), timeout, jobs.get(pending[0])))
            still = []
            for job_id in pending:
                job = get_job(s, token, job_id, conn=conn)
                jobs[job_id] = job
                if job["state"] not in TERMINAL:
                    still.append(job_id)
            pending = still
            if pending:
                time.sleep(0.1)
    finally:
        conn.close()
    return jobs


def clean_render(scene_dict, directory, name):
    """The scene rendered by renderq-render (CPU) in one go; returns the PNG bytes."""
    scene_path = directory / (name + ".json")
    out = directory / (name + ".png")
    scene_path.write_text(json.dumps(scene_dict))
    subprocess.run([str(stack.BIN_DIR / "renderq-render"), str(scene_path), str(out),
                    "--backend", "cpu"], check=True, stdout=subprocess.DEVNULL, timeout=120)
    return out.read_bytes()


def leftover_files(results):
    """Temp files in the results directory (names), which nothing should leave."""
    return sorted(p.name for p in results.iterdir() if TEMP_NAME.match(p.name))
