#!/usr/bin/env python3
"""What counts toward worker_lost, with real workers SIGKILLed as a machine
would lose them:

1. A job whose worker is killed four times, each time after it saved a newer
   checkpoint, still succeeds (attempts 4) with an image identical to a clean
   render: progress proves the job is not what kills its workers.
2. A job whose worker is killed three times before it saved any checkpoint
   (a poison job) ends failed with worker_lost.

Runs on SQLite, or with RENDERQ_E2E_BACKEND=postgres on PostgreSQL.
"""
import signal
import sys
import tempfile
import pathlib
import time

import stack
import worker_stack as ws


def job_row(s, job_id):
    rows = s.sql("SELECT state, checkpoint_samples, attempts FROM jobs WHERE id = '%s'" % job_id)
    state, checkpoint, attempts = rows[0]
    return state, int(checkpoint), int(attempts)


def wait_for(what, condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def progress_each_time(s, token, scratch):
    # One render thread: the same pace on a machine with more cores.
    workers = ws.WorkerSet(s, ["--checkpoint-seconds", "0.2", "--lease-seconds", "2",
                               "--cpu-threads", "1"])
    workers.start("w")
    workers.wait_registered(["w"])
    scene = ws.scene(64, 48, 16000, seed=5)
    status, job, _ = ws.submit(s, token, scene)
    assert status == 201, job
    job_id = job["id"]
    saved = 0
    for kill in range(1, 5):
        # Running again, with a checkpoint newer than the last one: then the machine goes.
        wait_for("attempt %d to save a newer checkpoint" % kill,
                 lambda: job_row(s, job_id)[0] == "running" and job_row(s, job_id)[1] > saved)
        saved = job_row(s, job_id)[1]
        workers.stop("w", signal.SIGKILL)
        workers.start("w")  # takes its dead predecessor's job back at once
        workers.wait_registered(["w"])
        print("kill %d after a checkpoint of %d samples" % (kill, saved), flush=True)
    done = ws.wait_terminal(s, token, [job_id], timeout=180)[job_id]
    assert done["state"] == "succeeded", done
    assert done["attempts"] == 4, done
    data = s.result_png(token, job_id)
    assert data == ws.clean_render(scene, scratch, "progress"), "image differs from a clean render"
    workers.stop("w")
    print("lost 4 times with progress: succeeded, attempts 4, image identical", flush=True)


def no_progress(s, token):
    # No checkpoint within the test: every attempt dies before saving one.
    workers = ws.WorkerSet(s, ["--checkpoint-seconds", "1000", "--lease-seconds", "2",
                               "--cpu-threads", "1"])
    workers.start("p")
    workers.wait_registered(["p"])
    status, job, _ = ws.submit(s, token, ws.scene(64, 48, 8000, seed=6))
    assert status == 201, job
    job_id = job["id"]
    for kill in range(1, 4):
        wait_for("attempt %d to run" % kill, lambda: job_row(s, job_id)[0] == "running")
        assert job_row(s, job_id)[1] == 0
        workers.stop("p", signal.SIGKILL)
        workers.start("p")
        workers.wait_registered(["p"])
    done = ws.wait_terminal(s, token, [job_id], timeout=60)[job_id]
    assert done["state"] == "failed", done
    assert done["error"]["code"] == "worker_lost", done
    assert done["attempts"] == 3, done
    workers.stop("p")
    print("lost 3 times before any checkpoint: failed with worker_lost (%s)" %
          done["error"]["message"], flush=True)


def main():
    stack.time_limit(280)
    stack.require_binaries("renderq-worker", "renderq-render")
    with stack.Stack() as s:
        token = s.create_token("lost")
        scratch = pathlib.Path(tempfile.mkdtemp(prefix="renderq-clean-", dir=s.dir))
        progress_each_time(s, token, scratch)
        no_progress(s, token)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
