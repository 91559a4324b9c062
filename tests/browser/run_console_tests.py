#!/usr/bin/env python3
"""The console's end-to-end browser tests, against the real stack.

Starts nginx (TLS, the shipped site template) + renderq-fcgi + one CPU
renderq-worker + renderq-notify (the event streams) with tests/e2e/stack.py,
creates the tokens the tests use, sizes
the scene the "watch it render" test submits so that it runs for several seconds
on this machine (from the worker's measured throughput), then runs
console.test.mjs (node's test runner, playwright-core driving Debian's Chromium,
headless, no browser download).

Exit codes: node's (0 all passed), 77 skipped (no Chromium or no node on this
machine), 1 for a setup failure (playwright-core not installed: run
`npm ci` in tests/browser, which scripts/test does).

Environment: RENDERQ_CHROMIUM (default /usr/bin/chromium); RENDERQ_BROWSER_TESTS,
a test-name pattern (node --test-name-pattern) to run only some; RENDERQ_SCREENSHOTS,
the folder for the screenshots the tests take (default: the build's
tests/browser/screenshots; `RENDERQ_SCREENSHOTS=docs` refreshes the ones
docs/console.md shows).
"""
import json
import math
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
SOURCE_DIR = pathlib.Path(os.environ.get("RENDERQ_SOURCE_DIR", HERE.parents[1]))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "e2e"))
import notify_stack  # noqa: E402
import stack  # noqa: E402
import worker_stack  # noqa: E402

# Seconds the watched render should last: long enough for several progress
# reports and previews (the worker reports at least every 2 s), short enough to
# keep the suite quick.
WATCH_SECONDS = 10
WATCH_SIZE = (320, 240, 6)  # width, height, max_depth


def watch_scene(samples_per_second):
    """The scene the tests watch: WATCH_SIZE with as many samples as render in
    about WATCH_SECONDS at `samples_per_second` (pixel samples)."""
    width, height, depth = WATCH_SIZE
    samples = math.ceil(WATCH_SECONDS * samples_per_second / (width * height))
    return worker_stack.scene(width, height, max(8, min(samples, 65536)), seed=11,
                              max_depth=depth)


def measured_speed(s, token):
    """Renders a calibration job of the watched scene's shape; its pixel samples per second."""
    width, height, depth = WATCH_SIZE
    scene = worker_stack.scene(width, height, 16, seed=1, max_depth=depth)
    status, _, body = s.request("POST", "/api/v1/jobs", json.dumps(scene).encode(), token=token)
    assert status == 201, body
    job_id = json.loads(body)["id"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        _, _, body = s.request("GET", "/api/v1/jobs/" + job_id, token=token)
        job = json.loads(body)
        if job["state"] == "succeeded":
            return job["samples_per_second"]
        assert job["state"] not in worker_stack.TERMINAL, job
        time.sleep(0.1)
    raise stack.StackError("the calibration job did not finish in 120 s")


def main():
    chromium = os.environ.get("RENDERQ_CHROMIUM", "/usr/bin/chromium")
    node = shutil.which("node")
    if not os.access(chromium, os.X_OK) or node is None:
        print("skipped: needs Chromium (%s) and node; scripts/install-deps --test installs them"
              % chromium)
        return stack.SKIP
    if not (HERE / "node_modules" / "playwright-core").is_dir():
        print("playwright-core is not installed: run `npm ci` in tests/browser (scripts/test does)")
        return 1
    stack.require_binaries("renderq-fcgi", "renderqctl", "renderq-worker", "renderq-notify", "nginx")
    binary_dir = pathlib.Path(os.environ.get("RENDERQ_BINARY_DIR", SOURCE_DIR / "build"))
    shots = pathlib.Path(os.environ.get("RENDERQ_SCREENSHOTS",
                                        binary_dir / "tests" / "browser" / "screenshots"))
    if not shots.is_absolute():
        shots = SOURCE_DIR / shots
    shots.mkdir(parents=True, exist_ok=True)
    stack.time_limit(900)
    # A sanitizer build renders slower, so the cost limit must not refuse the
    # scenes sized from its own throughput.
    keys = notify_stack.SealKeys(tempfile.mkdtemp(prefix="renderq-keys-"))
    # The shipped kinds too, for the kind picker (the python-example kind's
    # runner needs python3-numpy, which `scripts/install-deps --test` installs).
    kinds = ["--kinds-dir", str(SOURCE_DIR / "kinds.d")]
    with stack.Stack(responder_args=["--max-render-seconds", "3600"] + kinds
                     + keys.responder_args()) as s:
        notify_stack.Notify(s, keys).start()
        workers = worker_stack.WorkerSet(s, kinds + ["--runners-dir", str(SOURCE_DIR / "runners")])
        workers.start("cpu")
        workers.wait_registered(["cpu"])
        alice = s.create_token("alice")
        speed = measured_speed(s, alice)
        env = dict(
            os.environ,
            RENDERQ_URL="https://127.0.0.1:%d" % s.https_port,
            RENDERQ_TOKEN=alice,
            RENDERQ_OTHER_TOKEN=s.create_token("bob"),
            RENDERQ_REVOKED_TOKEN=s.create_token("carol"),
            RENDERQ_CTL=json.dumps([str(stack.BIN_DIR / "renderqctl"), "--db", str(s.db)]),
            RENDERQ_WATCH_SCENE=json.dumps(watch_scene(speed)),
            RENDERQ_SCREENSHOTS=str(shots),
            RENDERQ_CHROMIUM=chromium,
        )
        print("stack on %s; the worker renders %.3g samples/s; screenshots in %s"
              % (env["RENDERQ_URL"], speed, shots), flush=True)
        only = os.environ.get("RENDERQ_BROWSER_TESTS")  # a name pattern, to run some
        proc = subprocess.run([node, "--test", "--test-reporter=spec", "--test-concurrency=1"] +
                              (["--test-name-pattern", only] if only else []) +
                              [str(HERE / "console.test.mjs")], cwd=HERE, env=env,
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            for name in ("renderq-fcgi", "worker-cpu", "notify"):
                print("---- %s log\n%s" % (name, s.log_tail(name)))
    shutil.rmtree(keys.private.parent, ignore_errors=True)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
