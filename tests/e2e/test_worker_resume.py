#!/usr/bin/env python3
"""Resume: one job interrupted four times mid-render (three SIGTERMs, which
checkpoint and hand it back, and one SIGKILL, after which the last periodic
checkpoint is used) finishes with the same bytes as an uninterrupted render,
and the samples it rendered in all are fewer than attempts x samples.
Also: each SIGTERM exit takes well under 10 s."""
import pathlib
import signal
import tempfile
import time

import stack
import worker_stack as ws

INTERRUPTIONS = [signal.SIGTERM, signal.SIGKILL, signal.SIGTERM, signal.SIGTERM]


def calibrated_scene(directory, seconds=6.0):
    """The test scene with as many samples as this build renders in about `seconds`:
    an optimised build is many times faster than the sanitizer build, and the
    interruptions need a render long enough to land in its middle every time."""
    probe_samples = 100
    started = time.monotonic()
    ws.clean_render(ws.scene(96, 72, probe_samples, seed=7), directory, "probe")
    per_sample = (time.monotonic() - started) / probe_samples
    samples = int(min(20000, max(400, seconds / per_sample)))
    return ws.scene(96, 72, samples, seed=7)


def wait_progress(s, token, job_id, at_least, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = ws.get_job(s, token, job_id)
        if job["state"] == "running" and job["progress"] >= at_least:
            return job["progress"]
        assert job["state"] in ("queued", "running"), job
        time.sleep(0.05)
    raise AssertionError("job never reached progress %.2f" % at_least)


def checkpoints(workers, job_id):
    return [e for e in workers.events("cpu", "checkpoint") if e.get("job") == job_id]


def main():
    stack.time_limit(85)
    stack.require_binaries("renderq-worker", "renderq-render")
    with stack.Stack(threads=2) as s:
        scratch = pathlib.Path(tempfile.mkdtemp(dir=s.dir))
        job_scene = calibrated_scene(scratch)
        print("scene: %d samples per pixel" % job_scene["samples"])
        token = s.create_token("resume")
        workers = ws.WorkerSet(s, ["--checkpoint-seconds", "0.3", "--stop-finish-seconds", "0",
                                   "--lease-seconds", "2"])
        workers.start("cpu")
        workers.wait_registered(["cpu"])
        status, job, _ = ws.submit(s, token, job_scene)
        assert status == 201, job
        job_id = job["id"]

        progress = 0.0
        kills = 0
        for n, sig in enumerate(INTERRUPTIONS):
            checkpoints_before = len(checkpoints(workers, job_id))
            progress = wait_progress(s, token, job_id, progress + 0.08)
            if sig == signal.SIGKILL:
                # Killed after a periodic checkpoint of this attempt, so the next resumes from it.
                deadline = time.monotonic() + 10
                while len(checkpoints(workers, job_id)) <= checkpoints_before:
                    assert time.monotonic() < deadline, "no checkpoint in 10 s"
                    time.sleep(0.05)
                kills += 1
            code, seconds = workers.stop("cpu", sig)
            if sig == signal.SIGTERM:
                assert code == 0 and seconds < 10, "SIGTERM exit %s after %.1f s" % (code, seconds)
                print("interruption %d: SIGTERM, exited in %.2f s" % (n + 1, seconds))
            else:
                print("interruption %d: SIGKILL" % (n + 1))
            workers.start("cpu")
            workers.wait_registered(["cpu"])
        done = ws.wait_terminal(s, token, [job_id], timeout=60)[job_id]
        assert done["state"] == "succeeded", done

        # Each restart after a SIGKILL took the job back at once (the lease had
        # not lapsed: nothing else runs RequeueLapsed here).
        reclaimed = [int(e["jobs"]) for e in workers.events("cpu", "reclaimed")]
        assert reclaimed == [1] * kills, "reclaims %s after %d SIGKILLs" % (reclaimed, kills)
        claims = [e for e in workers.events("cpu", "claimed") if e["job"] == job_id]
        releases = [e for e in workers.events("cpu", "released") if e["job"] == job_id]
        attempts = len(claims)
        assert attempts == len(INTERRUPTIONS) + 1, claims
        resumes = [int(c["resume_from"]) for c in claims]
        assert resumes[0] == 0 and all(r > 0 for r in resumes[1:]), resumes
        assert resumes == sorted(resumes), "a later attempt resumed from less: %s" % resumes
        # Samples rendered: what each SIGTERM attempt added (from its release
        # line); a SIGKILLed attempt is counted as everything up to the whole
        # job (an upper bound: its last samples died with it); the last attempt
        # rendered what was left.
        rendered = sum(int(r["samples_done"]) - int(r["resume_from"]) for r in releases)
        rendered += job_scene["samples"] * kills
        rendered += job_scene["samples"] - resumes[-1]
        print("attempts %d, resumed from %s, samples rendered <= %d (attempts x samples = %d)" % (
            attempts, resumes, rendered, attempts * job_scene["samples"]))
        assert rendered < attempts * job_scene["samples"]

        status, _, data = s.request("GET", "/api/v1/jobs/%s/result" % job_id, token=token)
        assert status == 200
        clean = ws.clean_render(job_scene, scratch, "clean")
        assert data == clean, "resumed render differs from an uninterrupted one"
        workers.stop_all()
    print("ok: %d attempts, byte-identical to an uninterrupted render" % attempts)


if __name__ == "__main__":
    main()
