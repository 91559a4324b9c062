"""renderq_runner: a Python function as a renderq runner.

A kind whose `command` runs a script like this one queues the function behind
renderq's API (SPEC "Your own GPU program: job kinds"; docs/kinds.md):

    import renderq_runner

    def setup():                  # once per runner process, before any job
        global model
        model = load_my_model()   # e.g. onto the GPU that CUDA_VISIBLE_DEVICES names

    def handle(job):
        for step in range(100):
            if job.canceled:      # set as soon as the worker sends a cancel
                return None       # the job ends `canceled` whatever is returned
            ...                   # one slice of the work
            job.progress((step + 1) / 100)
        return png_bytes          # the job's output, stored before `succeeded`

    renderq_runner.serve(handle, setup)

The job the handler gets (Job below): `id`, `input` (the submitted JSON),
`dir` (an empty directory of its own), `device` ("cuda:N" or "cpu"),
`resume()` (the bytes of the last checkpoint saved by an earlier attempt, or
None), `progress(f)`, `preview(png_or_jpeg_bytes)`, `checkpoint(bytes)`
(returns once the worker has stored them durably), `canceled`,
`wait_canceled(seconds)`, and `fail(code, message, retry=False)`.

The protocol (one JSON object per line, UTF-8, at most 1 MiB before the newline;
a `job` line may be longer, as its input may be 4 MiB)
is spoken on the process's original stdin and stdout. serve() moves both out of
the way first: fd 1 becomes a copy of stderr, so print() and the output of
libraries (or of child processes) land in the worker's log instead of corrupting
the protocol, and fd 0 becomes /dev/null, so no child process can read the
worker's messages. Every file the helper writes is inside the job's directory.

Python 3.11, standard library only.
"""
import json
import os
import pathlib
import queue
import re
import sys
import threading
import time
import traceback

__all__ = ["serve", "Job", "JobFailed", "ProtocolError", "MAX_LINE_BYTES", "MAX_JOB_LINE_BYTES"]

# The longest line, newline excluded (SPEC: at most 1 MiB per line). The one
# exception is the worker's `job` line, which carries the job's input: SPEC
# lets an input be 4 MiB, and the responder refuses one whose JSON would not
# fit in 4 MiB, so a job line is at most that plus its id and paths.
MAX_LINE_BYTES = 1 << 20
MAX_JOB_LINE_BYTES = (4 << 20) + (64 << 10)
# `failed` codes (SPEC): a lower-case letter, then up to 39 of [a-z0-9_].
_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}\Z")
# A failure message longer than this is cut, so the line stays well under the limit.
_MAX_MESSAGE_CHARS = 4096
# Messages the helper sends on its own are spaced so a busy loop cannot flood
# the worker: progress at most every 0.1 s, previews at most every 1 s. The
# latest value is what matters, so a skipped one is no loss.
_PROGRESS_INTERVAL = 0.1
_PREVIEW_INTERVAL = 1.0
# Exit statuses: 0 when the worker closes stdin (it is done with this runner),
# 2 when the worker broke the protocol, 1 when setup() raised.
_EXIT_PROTOCOL = 2
_EXIT_SETUP = 1

_OUTPUT_NAME = "renderq-output"
_PREVIEW_TEMP = "renderq-preview.tmp"
_CHECKPOINT_PREFIX = "renderq-checkpoint-"


class ProtocolError(Exception):
    """A line from the worker that is not one of the protocol's messages."""


class JobFailed(Exception):
    """Raised by Job.fail(): ends the handler; the job ends `failed` with this code."""

    def __init__(self, code, message, retry):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.retry = retry


def _reject_constant(name):
    raise ValueError("%s is not JSON" % name)


def _object_without_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key %r" % key)
        result[key] = value
    return result


def parse_line(line):
    """One protocol line (bytes, without its newline) -> the message dict.
    Strict: UTF-8, a JSON object, no duplicate keys, no NaN or Infinity, at
    most MAX_LINE_BYTES (MAX_JOB_LINE_BYTES for a `job` message)."""
    if len(line) > MAX_JOB_LINE_BYTES or (len(line) > MAX_LINE_BYTES
                                          and not line.startswith(b'{"job":')):
        raise ProtocolError("line of %d bytes, over the limit of %d" % (len(line), MAX_LINE_BYTES))
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtocolError("line is not UTF-8 (%s)" % e) from None
    try:
        message = json.loads(text, parse_constant=_reject_constant,
                             object_pairs_hook=_object_without_duplicates)
    except ValueError as e:
        raise ProtocolError("line is not JSON (%s)" % e) from None
    if not isinstance(message, dict):
        raise ProtocolError("line is not a JSON object")
    return message


def encode_line(message):
    """A message dict -> one protocol line (bytes, newline included)."""
    data = json.dumps(message, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")
    if len(data) > MAX_LINE_BYTES:
        raise ValueError("message of %d bytes, over the protocol's limit of %d"
                         % (len(data), MAX_LINE_BYTES))
    return data + b"\n"


def _job_fields(message):
    """The `job` message's fields, checked: (id, input, dir, checkpoint)."""
    body = message["job"]
    if not isinstance(body, dict):
        raise ProtocolError("`job` is not an object")
    expected = {"id", "input", "dir", "checkpoint"}
    if set(body) != expected:
        raise ProtocolError("`job` has keys %s, expected %s"
                            % (sorted(body), sorted(expected)))
    job_id, job_dir, checkpoint = body["id"], body["dir"], body["checkpoint"]
    if not isinstance(job_id, str) or not job_id:
        raise ProtocolError("`job.id` is not a non-empty string")
    if not isinstance(job_dir, str) or not os.path.isabs(job_dir):
        raise ProtocolError("`job.dir` is not an absolute path")
    if checkpoint is not None and (not isinstance(checkpoint, str) or not checkpoint):
        raise ProtocolError("`job.checkpoint` is neither a path nor null")
    return job_id, body["input"], job_dir, checkpoint


class _Channel:
    """The protocol's two pipes. Sends are serialised by a lock, so a handler
    may report progress from any thread."""

    def __init__(self, read_fd, write_fd):
        self._reader = os.fdopen(read_fd, "rb", buffering=1 << 16)
        self._write_fd = write_fd
        self._lock = threading.Lock()

    @classmethod
    def take_stdio(cls):
        """Takes fds 0 and 1 for the protocol (as private close-on-exec copies)
        and puts /dev/null on fd 0 and stderr on fd 1."""
        sys.stdout.flush()
        read_fd = os.dup(0)   # os.dup's copies are not inherited by child processes
        write_fd = os.dup(1)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)
        return cls(read_fd, write_fd)

    def send(self, message):
        data = encode_line(message)
        with self._lock:
            view = memoryview(data)
            while view:
                written = os.write(self._write_fd, view)
                view = view[written:]

    def receive(self):
        """The next message, or None at the end of input."""
        line = self._reader.readline(MAX_JOB_LINE_BYTES + 2)
        if not line:
            return None
        if not line.endswith(b"\n"):
            if len(line) > MAX_JOB_LINE_BYTES:
                raise ProtocolError("line over the limit of %d bytes" % MAX_JOB_LINE_BYTES)
            raise ProtocolError("input ends inside a line")
        return parse_line(line[:-1])


class Job:
    """One job, as the handler sees it. Its methods may be called from any thread."""

    def __init__(self, channel, job_id, job_input, job_dir, checkpoint_path):
        self.id = job_id
        self.input = job_input
        self.dir = pathlib.Path(job_dir)
        self.device = os.environ.get("RENDERQ_DEVICE", "cpu")
        self._channel = channel
        self._checkpoint_path = checkpoint_path
        self._resumed = None
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._pending_checkpoints = {}  # file name -> Event set by checkpoint_saved
        self._checkpoint_serial = 0
        self._last_progress = None
        self._last_preview = None
        self._failure = None

    # ---- what the handler reads
    @property
    def canceled(self):
        """True once the worker has asked to cancel this job (or has gone away)."""
        return self._cancel.is_set()

    def wait_canceled(self, seconds):
        """Sleeps up to `seconds`, waking at once on a cancel; returns `canceled`."""
        return self._cancel.wait(seconds)

    def resume(self):
        """The bytes of the last checkpoint an earlier attempt saved, or None."""
        if self._checkpoint_path is None:
            return None
        if self._resumed is None:
            with open(self._checkpoint_path, "rb") as f:
                self._resumed = f.read()
        return self._resumed

    # ---- what the handler reports
    def progress(self, fraction):
        """Reports how far the job is, 0..1 (sent at most every 0.1 s)."""
        fraction = float(fraction)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("progress must lie in [0, 1], got %r" % fraction)
        now = time.monotonic()
        with self._lock:
            if (self._last_progress is not None and fraction < 1.0
                    and now - self._last_progress < _PROGRESS_INTERVAL):
                return
            self._last_progress = now
        self._send({"progress": fraction})

    def preview(self, image):
        """Shows a progressive image (PNG or JPEG bytes) while the job runs
        (sent at most once a second)."""
        data = bytes(image)
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            name = "renderq-preview.png"
        elif data.startswith(b"\xff\xd8\xff"):
            name = "renderq-preview.jpg"
        else:
            raise ValueError("a preview must be a PNG or a JPEG image")
        now = time.monotonic()
        with self._lock:
            if self._last_preview is not None and now - self._last_preview < _PREVIEW_INTERVAL:
                return
            self._last_preview = now
            # A new file renamed over the old one: the worker reads either the
            # previous image or this one, never half of one.
            self._write_file(_PREVIEW_TEMP, data)
            self._dir_op(lambda fd: os.replace(_PREVIEW_TEMP, name, src_dir_fd=fd, dst_dir_fd=fd))
        self._send({"preview": name})

    def checkpoint(self, state):
        """Saves `state` (bytes) so that a later attempt, on any host, can
        resume() from it. Returns True once the worker has stored it durably,
        False if the job was canceled first."""
        data = bytes(state)
        with self._lock:
            self._checkpoint_serial += 1
            name = "%s%d" % (_CHECKPOINT_PREFIX, self._checkpoint_serial)
            saved = threading.Event()
            self._pending_checkpoints[name] = saved
            self._write_file(name, data)
        self._send({"checkpoint": name})
        while not saved.wait(0.05):
            if self._cancel.is_set():
                return False
        # Stored: the file is the worker's no longer, and a later resume()
        # gets these bytes from the store, not from here.
        self._dir_op(lambda fd: os.unlink(name, dir_fd=fd))
        return True

    def fail(self, code, message, retry=False):
        """Ends the job `failed` with `code` ([a-z][a-z0-9_]{0,39}) and
        `message`; `retry=True` puts it back in line (spending an attempt).
        The code "device_lost" puts it back without spending one and makes the
        worker check its GPU. Raises JobFailed, so it does not return."""
        if not isinstance(code, str) or not _CODE.match(code):
            raise ValueError("failure code %r does not match [a-z][a-z0-9_]{0,39}" % (code,))
        failure = JobFailed(code, str(message), bool(retry))
        with self._lock:
            if self._failure is None:
                self._failure = failure
        raise failure

    # ---- the helper's side
    def _send(self, message):
        self._channel.send(message)

    def _dir_op(self, operation):
        fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            return operation(fd)
        finally:
            os.close(fd)

    def _write_file(self, name, data):
        """Writes a new regular file `name` in the job's directory (never
        through a link a handler may have left there)."""
        def write(fd):
            try:
                os.unlink(name, dir_fd=fd)
            except FileNotFoundError:
                pass
            out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644,
                          dir_fd=fd)
            with os.fdopen(out, "wb") as f:
                f.write(data)
        self._dir_op(write)

    def _checkpoint_saved(self, name):
        with self._lock:
            saved = self._pending_checkpoints.pop(name, None)
        if saved is not None:
            saved.set()

    def _output_name(self, result):
        """The handler's return value -> the name of the output file in the
        job's directory (written here for bytes). Raises TypeError/ValueError."""
        if isinstance(result, (bytes, bytearray, memoryview)):
            self._write_file(_OUTPUT_NAME, bytes(result))
            return _OUTPUT_NAME
        if isinstance(result, os.PathLike):
            path = pathlib.Path(result)
            if not path.is_absolute():
                path = self.dir / path
            relative = os.path.relpath(os.path.normpath(path), os.path.normpath(self.dir))
            if relative == "." or relative == ".." or relative.startswith(".." + os.sep):
                raise ValueError("the output file %s is not inside the job's directory %s"
                                 % (path, self.dir))
            return relative
        raise TypeError("the handler returned %s; it must return the output as bytes "
                        "(or a path of a file in job.dir)" % type(result).__name__)


class _Runner:
    def __init__(self, channel, handler):
        self._channel = channel
        self._handler = handler
        self._jobs = queue.Queue()
        self._lock = threading.Lock()
        self._current = None

    def read_messages(self):
        """The reader thread: routes cancels and checkpoint confirmations to
        the running job at once, queues jobs for the main thread."""
        try:
            while True:
                message = self._channel.receive()
                if message is None:
                    self._worker_gone()
                self._route(message)
        except ProtocolError as e:
            self._abort("protocol error from the worker: %s" % e, _EXIT_PROTOCOL)
        except OSError as e:
            self._abort("reading from the worker failed: %s" % e, _EXIT_PROTOCOL)
        except BaseException:  # a bug here must not leave the main thread waiting forever
            traceback.print_exc(file=sys.stderr)
            self._abort("the reader failed", _EXIT_PROTOCOL)

    def _route(self, message):
        if len(message) != 1:
            raise ProtocolError("message with keys %s (one expected)" % sorted(message))
        (key, value), = message.items()
        with self._lock:
            current = self._current
        if key == "job":
            job_id, job_input, job_dir, checkpoint = _job_fields(message)
            with self._lock:
                if self._current is not None:
                    raise ProtocolError("job %s sent while job %s runs" % (job_id, self._current.id))
                self._current = Job(self._channel, job_id, job_input, job_dir, checkpoint)
                self._jobs.put(self._current)
        elif key == "cancel":
            if not isinstance(value, str):
                raise ProtocolError("`cancel` is not a job id")
            # A cancel that crossed the end of its job on the way is no error.
            if current is not None and current.id == value:
                current._cancel.set()
        elif key == "checkpoint_saved":
            if not isinstance(value, str):
                raise ProtocolError("`checkpoint_saved` is not a file name")
            if current is not None:
                current._checkpoint_saved(value)
        else:
            raise ProtocolError("unknown message %r" % key)

    def _worker_gone(self):
        # The worker closed our stdin: it has finished with this runner (or
        # died). Nothing more can be reported, so stop at once.
        with self._lock:
            if self._current is not None:
                self._current._cancel.set()
        os._exit(0)

    def _abort(self, why, status):
        print("renderq_runner: %s; exiting" % why, file=sys.stderr, flush=True)
        os._exit(status)

    def run_jobs(self):
        while True:
            job = self._jobs.get()
            end = self._run(job)
            with self._lock:
                # Cleared before the end message goes out: the worker may send
                # the next job as soon as it reads it.
                self._current = None
            try:
                self._channel.send(end)
            except OSError:
                os._exit(0)  # the worker has gone: nobody is left to tell

    def _run(self, job):
        """Runs the handler on `job`; returns the message that ends it."""
        result = None
        try:
            result = self._handler(job)
        except JobFailed:
            pass  # recorded in job._failure
        except Exception as e:  # the handler's bug or trouble: the job fails, the runner stays
            if not job.canceled:
                traceback.print_exc(file=sys.stderr)
                return _failed("runner_error", "%s: %s" % (type(e).__name__, e), False)
        if job._failure is not None:
            f = job._failure
            return _failed(f.code, f.message, f.retry)
        if job.canceled:
            return _failed("canceled", "canceled on request", False)
        try:
            return {"done": job._output_name(result)}
        except (TypeError, ValueError, OSError) as e:
            print("renderq_runner: job %s: %s" % (job.id, e), file=sys.stderr, flush=True)
            return _failed("runner_error", str(e), False)


def _failed(code, message, retry):
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[:_MAX_MESSAGE_CHARS - 3] + "..."
    return {"failed": {"code": code, "message": message, "retry": retry}}


def serve(handler, setup=None):
    """Runs `setup()` once, tells the worker it is ready, then calls
    `handler(job)` for each job the worker sends, one at a time, until the
    worker closes stdin. Does not return."""
    channel = _Channel.take_stdio()
    if setup is not None:
        try:
            setup()
        except Exception:
            traceback.print_exc(file=sys.stderr)
            print("renderq_runner: setup failed; exiting", file=sys.stderr, flush=True)
            sys.stderr.flush()
            os._exit(_EXIT_SETUP)
    runner = _Runner(channel, handler)
    channel.send({"ready": True})
    threading.Thread(target=runner.read_messages, name="renderq-reader", daemon=True).start()
    runner.run_jobs()
