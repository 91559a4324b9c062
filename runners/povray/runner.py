"""The `povray` kind's runner: Debian's POV-Ray 3.7 renders a scene given as
text (kinds.d/povray.json; docs/kinds.md "The povray kind").

For each job:
  1. the scene goes to DIR/scene.pov;
  2. POV-Ray's own I/O restriction is set up for it: a private HOME whose
     .povray/3.7/povray.conf allows reading and writing in DIR and reading
     POV-Ray's include files only, and POVINI naming an ini of our own (library
     path, no display);
  3. POV-Ray runs in DIR under sandbox.py, which confines it with Landlock to
     the same paths, because Debian 12's POV-Ray does not apply the
     [File I/O Security] level of any povray.conf (docs/kinds.md shows why);
  4. progress comes from POV-Ray's "Rendered N of M pixels" lines; a cancel
     kills it; the PNG is returned without its timestamp chunks, so the same
     scene gives the same bytes.

Failure codes: `scene_error` (POV-Ray could not parse or render the scene:
its message is the job's error message), `file_access_denied` (the scene
tried to read or write a file outside its directory and POV-Ray's include
files), `sandbox_unavailable` (no Landlock in this kernel: set
RENDERQ_POVRAY_UNCONFINED=1 in the worker's environment to render without
it), `povray_failed` (POV-Ray crashed or wrote no image), `invalid_input`.
"""
import os
import pathlib
import re
import shutil
import struct
import subprocess
import sys
import threading
import time

try:
    import renderq_runner  # installed with renderq for Debian's python3
except ImportError:  # a checkout: the helper lies in runners/python/
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import renderq_runner

import sandbox

HERE = pathlib.Path(__file__).resolve().parent
POVRAY = os.environ.get("RENDERQ_POVRAY", "/usr/bin/povray")
SHARE = pathlib.Path("/usr/share/povray-3.7")
# What POV-Ray itself needs to read: its program and libraries, its include
# files (and the fonts they link to), its system configuration, and the CPU
# count (for its threads). Nothing else outside the job's directory.
READ_PATHS = ["/usr/bin/povray", "/usr/lib", "/usr/lib64", str(SHARE),
              "/usr/share/fonts/truetype/povray", "/etc/povray", "/etc/ld.so.cache",
              "/sys/devices/system/cpu"]
DEFAULTS = {"width": 640, "height": 480, "antialias": False}
ANTIALIAS_THRESHOLD = 0.3  # POV-Ray's own default, used for "antialias": true
SCENE_NAME = "scene.pov"
OUTPUT_NAME = "output.png"

_RENDERED = re.compile(rb"Rendered (\d+) of (\d+) pixels")
_USER_FILE = re.compile(r"Cannot open user file (.+) \((read|write|append)\)")
_INCLUDE_FILE = re.compile(r"Cannot open include file (.+)\.$")
_FIND_FILE = re.compile(r"Cannot find file '(.+)'")
_WRAP_WIDTH = 80
_MESSAGE_START = re.compile(r"(File '|Fatal |Render |Parse |Possible |Warning|Rendered |-{4}|={4})")


def povray_arguments(job_input):
    """POV-Ray's command line for a job's input, run in the job's directory.
    A direct `povray` run with these arguments renders the same pixels."""
    options = dict(DEFAULTS, **job_input)
    args = [POVRAY, "+I" + SCENE_NAME, "+O" + OUTPUT_NAME, "+FN8", "-UA",
            "+W%d" % options["width"], "+H%d" % options["height"],
            "-D", "-P", "+V"]
    antialias = options["antialias"]
    if antialias is True:
        args.append("+A%.3f" % ANTIALIAS_THRESHOLD)
    elif antialias is False:
        args.append("-A")
    else:
        # POV-Ray refuses "+A0": the threshold needs its decimal point.
        args.append("+A%.3f" % float(antialias))
    return args


def check_input(job_input):
    """The runner's own look at the input (the responder already checked it
    against the kind's schema): a message, or None when it is usable."""
    if not isinstance(job_input, dict) or not isinstance(job_input.get("scene"), str):
        return "the input needs a `scene` string"
    unknown = set(job_input) - {"scene", "width", "height", "antialias"}
    if unknown:
        return "unknown input keys: %s" % ", ".join(sorted(unknown))
    for key in ("width", "height"):
        value = job_input.get(key, DEFAULTS[key])
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4096:
            return "`%s` must be an integer in 1..4096" % key
    antialias = job_input.get("antialias", False)
    if not isinstance(antialias, bool) and (not isinstance(antialias, (int, float))
                                            or not 0 <= antialias <= 3):
        return "`antialias` must be true, false or a threshold in 0..3"
    return None


def write_configuration(home, job_dir):
    """POV-Ray's user configuration for one job: HOME/.povray/3.7/povray.conf
    (I/O restricted to the job's directory and the include files) and an ini
    for POVINI. Returns the environment POV-Ray runs with."""
    conf_dir = home / ".povray" / "3.7"
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "povray.conf").write_text(
        "; Written by renderq's povray runner for one job.\n"
        "[File I/O Security]\nrestricted\n"
        "[Shellout Security]\nforbidden\n"
        "[Permitted Paths]\n"
        "read* = %s\n"
        "read+write* = %s\n" % (SHARE / "include", job_dir))
    ini = conf_dir / "povray.ini"
    ini.write_text("Library_Path=%s\nLibrary_Path=%s\n" % (SHARE / "include", SHARE / "ini"))
    env = {"HOME": str(home), "POVINI": str(ini), "PATH": "/usr/bin:/bin",
           "LANG": "C.UTF-8"}
    return env


def strip_timestamps(png):
    """POV-Ray's PNG without the chunks that change on every run (tIME and the
    "Render Date" comment), so that equal scenes give equal bytes."""
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        return png
    out = [png[:8]]
    at = 8
    while at + 12 <= len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        end = at + 12 + length
        body = png[at + 8:at + 8 + length]
        if not (kind == b"tIME" or (kind == b"tEXt" and body.startswith(b"Comment\x00"))):
            out.append(png[at:end])
        at = end
    return b"".join(out)


def error_lines(stderr_text):
    """POV-Ray's error lines, with the lines it wrapped at 80 columns joined
    again: broken at a space, the rest starts with that space; broken inside
    a word (a long path), the line before is 80 characters long."""
    joined = []
    previous_width = 0
    for line in stderr_text.replace("\r", "\n").split("\n"):
        if joined and (line.startswith(" ") or
                       (previous_width >= _WRAP_WIDTH and not _MESSAGE_START.match(line))):
            joined[-1] += line
        elif line:
            joined.append(line)
        previous_width = len(line)
    return [line for line in joined
            if "Error" in line or line.startswith("Fatal") or "Cannot" in line]


def _inside(path, directory):
    path, directory = os.path.normpath(path), os.path.normpath(directory)
    return path == directory or path.startswith(directory + os.sep)


def classify_failure(stderr_text, job_dir):
    """(code, message) for a render that failed."""
    errors = error_lines(stderr_text)
    allowed = [str(job_dir)] + READ_PATHS
    for line in errors:
        for pattern in (_USER_FILE, _INCLUDE_FILE, _FIND_FILE):
            found = pattern.search(line)
            if not found:
                continue
            name = found.group(1)
            path = name if os.path.isabs(name) else os.path.join(job_dir, name)
            if not any(_inside(path, a) for a in allowed):
                return ("file_access_denied",
                        "the scene may only use files in its own directory and POV-Ray's "
                        "include files; it tried %s (%s)" % (name, line.strip()))
    message = " ".join(e.strip() for e in errors if "Possible Parse Error" not in e)
    return "scene_error", (message or "POV-Ray failed without an error message")


class _Progress:
    """Reads POV-Ray's stderr (its \\r-separated progress lines included) on a
    thread of its own, keeping the text and reporting progress."""

    def __init__(self, stream, job):
        self.chunks = []
        self._stream = stream
        self._job = job
        self._best = 0.0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        pending = b""
        while True:
            data = self._stream.read1(65536)
            if not data:
                break
            self.chunks.append(data)
            pending = (pending + data)[-256:]
            for done, total in _RENDERED.findall(pending):
                fraction = int(done) / int(total) if int(total) else 0.0
                if fraction > self._best:  # POV-Ray's last lines can step back
                    self._best = fraction
                    self._job.progress(min(fraction, 0.999))
            pending = pending[pending.rfind(b"\r") + 1:]

    def text(self):
        return b"".join(self.chunks).decode("utf-8", "replace")


class PovrayRunner:
    def __init__(self, scratch):
        self.home = scratch / "povray-home"
        self.confined = True

    def setup(self):
        if not os.access(POVRAY, os.X_OK):
            raise RuntimeError("%s is not installed (Debian: apt install povray povray-includes)"
                               % POVRAY)
        version = sandbox.abi()
        if version >= 1:
            print("povray runner: confining POV-Ray with Landlock ABI %d" % version)
        elif os.environ.get("RENDERQ_POVRAY_UNCONFINED") == "1":
            self.confined = False
            print("povray runner: WARNING: no Landlock in this kernel and "
                  "RENDERQ_POVRAY_UNCONFINED=1: scenes can read and write any file "
                  "this user can")
        else:
            print("povray runner: no Landlock in this kernel: jobs fail with "
                  "sandbox_unavailable (RENDERQ_POVRAY_UNCONFINED=1 renders unconfined)")
            self.confined = None

    def handle(self, job):
        problem = check_input(job.input)
        if problem:
            job.fail("invalid_input", problem)
        if self.confined is None:
            job.fail("sandbox_unavailable", "this worker's kernel has no Landlock, which the "
                     "povray kind needs to keep scenes inside their directory")
        job_dir = job.dir
        (job_dir / SCENE_NAME).write_text(job.input["scene"], encoding="utf-8")
        if self.home.exists():
            shutil.rmtree(self.home)
        env = write_configuration(self.home, job_dir)
        argv = povray_arguments(job.input)
        if self.confined:
            reads = READ_PATHS + [str(self.home)]
            argv = ([sys.executable, "-I", "-S", str(HERE / "sandbox.py")]
                    + [arg for path in reads for arg in ("--read", path)]
                    + ["--write", str(job_dir), "--"] + argv)
        started = time.monotonic()
        proc = subprocess.Popen(argv, cwd=job_dir, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        progress = _Progress(proc.stderr, job)
        while proc.poll() is None:
            if job.wait_canceled(0.05):
                proc.kill()
                proc.wait()
                return None
        progress.thread.join()
        proc.stderr.close()
        output = job_dir / OUTPUT_NAME
        if proc.returncode == sandbox.EXIT_UNAVAILABLE and self.confined:
            job.fail("sandbox_unavailable", progress.text().strip()[-500:])
        if proc.returncode != 0:
            code, message = classify_failure(progress.text(), job_dir)
            if proc.returncode < 0:
                code, message = "povray_failed", "POV-Ray died of signal %d" % -proc.returncode
            print("job %s: %s: %s" % (job.id, code, message))
            job.fail(code, message)
        if not output.is_file() or output.is_symlink():
            job.fail("povray_failed", "POV-Ray finished without writing an image")
        png = strip_timestamps(output.read_bytes())
        print("job %s: rendered %dx%d in %.2f s" % (
            job.id, job.input.get("width", DEFAULTS["width"]),
            job.input.get("height", DEFAULTS["height"]), time.monotonic() - started))
        return png


def main():
    runner = PovrayRunner(pathlib.Path.cwd())
    renderq_runner.serve(runner.handle, runner.setup)


if __name__ == "__main__":
    main()
