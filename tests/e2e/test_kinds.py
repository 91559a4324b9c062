#!/usr/bin/env python3
"""Job kinds end to end (SPEC "Your own GPU program: job kinds"): real nginx,
renderq-fcgi and renderq-worker processes running the shipped kinds'
runners (Debian's POV-Ray, the numpy example), on SQLite or, with
RENDERQ_E2E_BACKEND=postgres, on PostgreSQL:

  1. GET /api/v1/kinds lists scene and the shipped kinds; an unknown kind is
     404; an input the schema refuses is 422 with its findings, nothing stored.
  2. A queue mixing scene, povray and python-example jobs, submitted while no
     worker runs, runs in commit order across kinds; POV-Ray's PNG has the
     pixels of a direct `povray` run of the same scene, the example's PNG is
     the bytes of a direct call of its function.
  3. A worker SIGKILLed mid-job: no runner process survives it; the job
     resumes from the runner's checkpoint (on PostgreSQL on another worker
     host) and ends with the bytes of an uninterrupted run.
  4. DELETE of a running kind job: canceled within 1 s.
  5. A worker whose kinds directory lacks a kind never claims its jobs.

Skips (77) where povray or python3-numpy is missing.
"""
import json
import os
import pathlib
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import stack
import worker_stack as ws

KINDS = stack.SOURCE_DIR / "kinds.d"
RUNNERS = stack.SOURCE_DIR / "runners"
PYTHON = "/usr/bin/python3"
sys.path.insert(0, str(RUNNERS / "povray"))
sys.path.insert(0, str(RUNNERS / "python"))
import runner as povray_runner  # noqa: E402  (its povray_arguments())

POVRAY_SCENE = """#version 3.7;
#include "colors.inc"
global_settings { assumed_gamma 1.0 }
camera { location <0, 1, -4> look_at <0, 0.3, 0> }
light_source { <2, 4, -3> color White }
plane { y, -1 pigment { checker color rgb 1 color rgb 0.2 } }
sphere { 0, 1 pigment { color rgb <0.8, 0.4, 0.2> } finish { phong 1 reflection 0.3 } }
"""


def png_pixels(data):
    at, header, idat = 8, None, b""
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IHDR":
            header = data[at + 8:at + 8 + length]
        elif kind == b"IDAT":
            idat += data[at + 8:at + 8 + length]
        at += 12 + length
    return header, zlib.decompress(idat)


def direct_povray(job_input, directory):
    directory.mkdir()
    (directory / "scene.pov").write_text(job_input["scene"])
    ini = directory / "povray.ini"
    ini.write_text("Library_Path=/usr/share/povray-3.7/include\n")
    subprocess.run(povray_runner.povray_arguments(job_input), cwd=directory, check=True,
                   env=dict(os.environ, POVINI=str(ini)), capture_output=True, timeout=120)
    return (directory / "output.png").read_bytes()


def direct_example(job_input):
    code = ("import json, sys; import reaction_diffusion as rd; "
            "sys.stdout.buffer.write(rd.render(json.loads(sys.argv[1])))")
    return subprocess.run([PYTHON, "-c", code, json.dumps(job_input)],
                          cwd=RUNNERS / "python-example", capture_output=True, check=True,
                          timeout=300).stdout


def submit_kind(s, token, kind, job_input):
    status, headers, data = s.request("POST", "/api/v1/kinds/%s/jobs" % kind,
                                      json.dumps(job_input).encode(), token)
    return status, json.loads(data) if data else None


def result(s, token, job_id):
    status, headers, data = s.request("GET", "/api/v1/jobs/%s/result" % job_id, token=token)
    assert status == 200, (status, data[:200])
    return headers, data


def runner_processes(marker):
    """Processes whose command line names `marker` (a runner's script)."""
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append((int(entry.name), cmdline))
    return found


def wait_state(s, token, job_id, predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = ws.get_job(s, token, job_id)
        if predicate(job):
            return job
        time.sleep(0.02)
    raise AssertionError("job %s never %s: %s" % (job_id, what, job))


def check_routes(s, token):
    status, _, data = s.request("GET", "/api/v1/kinds", token=token)
    assert status == 200, data
    kinds = {k["name"]: k for k in json.loads(data)["kinds"]}
    assert {"scene", "povray", "python-example"} <= set(kinds), kinds.keys()
    assert kinds["povray"]["output_media_type"] == "image/png"
    assert kinds["povray"]["estimated_seconds"] == 10  # estimate_seconds: nothing measured yet
    status, problem = submit_kind(s, token, "no-such-kind", {})
    assert status == 404, problem
    before = s.job_ids_in_db()
    status, problem = submit_kind(s, token, "povray", {"width": 0, "colour": 1})
    assert status == 422, problem
    findings = {(e["pointer"], e["detail"]) for e in problem["errors"]}
    assert findings == {("/scene", "is required"), ("/width", "must be >= 1"),
                        ("/colour", "unknown key (not allowed by the schema)")}, findings
    assert s.job_ids_in_db() == before, "a refused input stored a job"
    print("ok: GET /api/v1/kinds, 404 for an unknown kind, 422 with findings")


def check_mixed_queue(s, token, workers, scratch):
    povray_input = {"scene": POVRAY_SCENE, "width": 160, "height": 120, "antialias": True}
    example_input = {"size": 64, "steps": 400, "seed": 5}
    submitted = []
    for n in range(2):
        status, job, _ = ws.submit(s, token, dict(stack.SMALL_SCENE, seed=n))
        assert status == 201, job
        submitted.append(job)
        status, job = submit_kind(s, token, "povray", povray_input)
        assert status == 201 and job["kind"] == "povray", job
        submitted.append(job)
        status, job = submit_kind(s, token, "python-example", dict(example_input, seed=n))
        assert status == 201 and job["kind"] == "python-example", job
        submitted.append(job)
    positions = [ws.get_job(s, token, j["id"])["position"] for j in submitted]
    assert positions == list(range(1, len(submitted) + 1)), positions
    workers.start("w1")
    workers.wait_registered(["w1"])
    done = ws.wait_terminal(s, token, [j["id"] for j in submitted], timeout=240)
    assert all(done[j["id"]]["state"] == "succeeded" for j in submitted), done
    started = [done[j["id"]]["started_at"] for j in submitted]
    assert started == sorted(started), "not run in commit order: %s" % started
    headers, served = result(s, token, submitted[1]["id"])
    assert headers.get("content-type") == "image/png", headers
    assert png_pixels(served) == png_pixels(direct_povray(povray_input, scratch / "direct")), \
        "POV-Ray's result differs from a direct povray run"
    _, example = result(s, token, submitted[2]["id"])
    assert example == direct_example(dict(example_input, seed=0)), \
        "the example's result differs from a direct call of its function"
    print("ok: %d jobs of three kinds ran in commit order; results equal direct runs"
          % len(submitted))


def check_resume_after_sigkill(s, token, workers):
    example_input = {"size": 128, "steps": 16000, "seed": 9}
    expected = direct_example(example_input)
    status, job = submit_kind(s, token, "python-example", example_input)
    assert status == 201, job
    job_id = job["id"]
    checkpoints = lambda: [e for e in workers.events("w1", "checkpoint") if e.get("job") == job_id]
    deadline = time.monotonic() + 60
    while not checkpoints():
        assert time.monotonic() < deadline, "no checkpoint of the example in 60 s"
        time.sleep(0.05)
    assert runner_processes("python-example/runner.py"), "no runner running"
    workers.stop("w1", signal.SIGKILL)
    deadline = time.monotonic() + 5
    while runner_processes("python-example/runner.py"):
        assert time.monotonic() < deadline, "runners outlived the worker: %s" % \
            runner_processes("python-example/runner.py")
        time.sleep(0.01)
    print("ok: no runner process survived the worker's SIGKILL")
    # SQLite: the same worker comes back and takes the job back at once.
    # PostgreSQL: another host takes it once the lease lapses.
    resumer = "w1" if s.backend == "sqlite" else "w2"
    workers.start(resumer)
    workers.wait_registered([resumer])
    done = ws.wait_terminal(s, token, [job_id], timeout=120)[job_id]
    assert done["state"] == "succeeded", done
    claims = [e for e in workers.events(resumer, "claimed") if e["job"] == job_id]
    assert claims and claims[-1].get("checkpoint") == "yes", claims
    _, data = result(s, token, job_id)
    assert data == expected, "the resumed job's result differs from an uninterrupted run"
    print("ok: resumed on %s from the runner's checkpoint to the same bytes" % resumer)
    return resumer


def check_cancel(s, token, name):
    status, job = submit_kind(s, token, "python-example", {"size": 128, "steps": 100000})
    assert status == 201, job
    wait_state(s, token, job["id"], lambda j: j["state"] == "running" and j["progress"] > 0,
               "ran")
    asked = time.monotonic()
    status, _, data = s.request("DELETE", "/api/v1/jobs/" + job["id"], token=token)
    assert status == 202, data
    wait_state(s, token, job["id"], lambda j: j["state"] == "canceled", "canceled", timeout=10)
    seconds = time.monotonic() - asked
    print("ok: a running kind job canceled in %.2f s" % seconds)
    if not ws.sanitizer_build():
        assert seconds < 1.0, "cancel took %.2f s" % seconds


def check_kind_not_served(s, token, workers, kinds_only_example):
    for name in list(workers.procs):
        if workers.procs[name].poll() is None:
            workers.stop(name)
    workers.extra_args = ["--kinds-dir", str(kinds_only_example), "--runners-dir", str(RUNNERS),
                          "--lease-seconds", "2"]
    workers.start("w3")
    workers.wait_registered(["w3"])
    status, povray_job = submit_kind(s, token, "povray", {"scene": POVRAY_SCENE, "width": 8,
                                                          "height": 8})
    assert status == 201, povray_job
    status, example_job = submit_kind(s, token, "python-example", {"size": 16, "steps": 10})
    assert status == 201, example_job
    done = ws.wait_terminal(s, token, [example_job["id"]], timeout=60)
    assert done[example_job["id"]]["state"] == "succeeded"
    time.sleep(1)
    assert ws.get_job(s, token, povray_job["id"])["state"] == "queued"
    assert not [e for e in workers.events("w3", "claimed") if e["job"] == povray_job["id"]]
    status, _, data = s.request("GET", "/api/v1/queue", token=token)
    w3 = [w for w in json.loads(data)["workers"] if w["name"] == "w3"][0]
    assert w3["kinds"] == ["python-example", "scene"], w3
    print("ok: a worker without the povray kind left its job queued")


def main():
    stack.time_limit(220)
    stack.require_binaries("renderq-worker")
    if shutil.which("povray") is None:
        print("skipped: povray is not installed")
        return stack.SKIP
    if subprocess.run([PYTHON, "-c", "import numpy"], capture_output=True).returncode != 0:
        print("skipped: python3-numpy is not installed")
        return stack.SKIP
    with stack.Stack(threads=4, responder_args=["--kinds-dir", str(KINDS)]) as s:
        scratch = pathlib.Path(tempfile.mkdtemp(dir=s.dir))
        token = s.create_token("kinds")
        workers = ws.WorkerSet(s, ["--kinds-dir", str(KINDS), "--runners-dir", str(RUNNERS),
                                   "--lease-seconds", "2"])
        check_routes(s, token)
        check_mixed_queue(s, token, workers, scratch)
        name = check_resume_after_sigkill(s, token, workers)
        check_cancel(s, token, name)
        only_example = scratch / "kinds-only-example"
        only_example.mkdir()
        shutil.copy(KINDS / "python-example.json", only_example)
        check_kind_not_served(s, token, workers, only_example)
        workers.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
