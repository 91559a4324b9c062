"""The worker's side of the runner protocol (SPEC "Your own GPU program: job
kinds"), for the runners' own tests: starts a real runner process with pipes,
sends it the worker's messages and reads its answers with bounded waits.

    with RunnerProcess([PYTHON, script]) as runner:
        assert runner.expect() == {"ready": True}
        runner.send({"job": {...}})

Python 3 standard library only.
"""
import json
import os
import pathlib
import queue
import signal
import subprocess
import threading
import time

SOURCE_DIR = pathlib.Path(os.environ.get("RENDERQ_SOURCE_DIR",
                                         pathlib.Path(__file__).resolve().parents[2]))
RUNNERS_DIR = SOURCE_DIR / "runners"
# The interpreter the shipped kind files name: Debian's, where the helper is
# installed and python3-numpy lives.
PYTHON = os.environ.get("RENDERQ_RUNNER_PYTHON", "/usr/bin/python3")
WAIT = 60.0  # seconds: bounds a wait that normally ends in milliseconds


class RunnerProcess:
    """A runner started as the worker starts it: stdin and stdout pipes, its
    own process group, a working directory, RENDERQ_DEVICE set."""

    def __init__(self, argv, cwd, env=None):
        full_env = dict(os.environ)
        full_env.update({"RENDERQ_DEVICE": "cpu", "CUDA_VISIBLE_DEVICES": "",
                         "PYTHONPATH": str(RUNNERS_DIR / "python")})
        full_env.update(env or {})
        self.proc = subprocess.Popen(argv, cwd=cwd, env=full_env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.lines = queue.Queue()
        self._stderr = []
        self._threads = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _read_stderr(self):
        for line in self.proc.stderr:
            self._stderr.append(line.decode("utf-8", "replace"))

    def stderr(self):
        return "".join(self._stderr)

    def wait_stderr(self, text, timeout=WAIT):
        """The runner's stderr once it holds `text` (it is read on a thread of
        its own, so it may lag behind the protocol's messages)."""
        deadline = time.monotonic() + timeout
        while text not in self.stderr():
            if time.monotonic() > deadline:
                raise AssertionError("%r never appeared on the runner's stderr:\n%s"
                                     % (text, self.stderr()))
            time.sleep(0.02)
        return self.stderr()

    def send(self, message):
        self.send_raw(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")

    def send_raw(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def expect(self, timeout=WAIT):
        """The runner's next message (a dict); AssertionError at the end of
        its output or when none comes within `timeout`."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no message from the runner within %.0f s; stderr:\n%s"
                                 % (timeout, self.stderr())) from None
        if line is None:
            raise AssertionError("the runner closed its stdout (exit %s); stderr:\n%s"
                                 % (self.proc.poll(), self.stderr()))
        assert line.endswith(b"\n"), "unterminated line %r" % line[:200]
        return json.loads(line.decode("utf-8"))

    def expect_end(self, timeout=WAIT):
        """Skips progress, previews and checkpoints (answering each checkpoint
        with checkpoint_saved); returns the message that ends the job."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.expect(max(0.1, deadline - time.monotonic()))
            if "checkpoint" in message:
                self.send({"checkpoint_saved": message["checkpoint"]})
            elif "progress" not in message and "preview" not in message:
                return message

    def no_output_end(self, timeout=WAIT):
        """Waits for the end of the runner's stdout; returns anything it sent before."""
        sent = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError("the runner kept its stdout open") from None
            if line is None:
                return sent
            sent.append(line)

    def wait(self, timeout=WAIT):
        return self.proc.wait(timeout=timeout)

    def close(self):
        """Closes stdin (the worker is done) and reaps the process, killing its
        group if it lingers."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            pass
        self.kill_group()

    def kill_group(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        for thread in self._threads:
            thread.join(timeout=WAIT)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def job_message(job_id, job_input, job_dir, checkpoint=None):
    return {"job": {"id": job_id, "input": job_input, "dir": str(job_dir),
                    "checkpoint": None if checkpoint is None else str(checkpoint)}}


def read_job_file(job_dir, name):
    """A FILE the runner named, read as the worker reads it: a regular file
    inside the job's directory, no link followed."""
    parts = pathlib.PurePosixPath(name).parts
    assert name and not name.startswith("/") and ".." not in parts, "FILE %r leaves DIR" % name
    path = pathlib.Path(job_dir) / name
    assert path.is_file() and not path.is_symlink(), "%s is not a regular file" % path
    return path.read_bytes()
