#!/usr/bin/env python3
"""Live events end to end (SPEC "Notifications"): Server-Sent Events held by
nginx (nchan), fed by renderq-notify, on SQLite or, with
RENDERQ_E2E_BACKEND=postgres, on PostgreSQL.

- A job's stream: first a `state` event, then each change in order (queued,
  running, progress, succeeded), and it ends after the terminal state. On
  SQLite the time from each commit to its event's arrival is printed (the
  commit seen by a reader of the database polling every 2 ms on a connection
  of its own), not asserted: a machine shared with other work can miss any
  wall-clock bound; bench/events/run measures it.
- The owner's stream: first a `state` event per queued or running job, then
  the owner's changes and nothing of another owner's; another owner's job
  stream is 404; a job that has ended answers its one state event.
- Every event's data validates against docs/openapi.yaml (a `state` event's
  as a Job, a `progress` event's as its own schema).
- With renderq-notify down, a stream is 503 problem+json (the console polls),
  and nginx's workers live on.
"""
import json
import pathlib
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time

import notify_stack as ns
import openapi_contract
import stack
import worker_stack as ws

ORDER = {"queued": 0, "running": 1, "succeeded": 2, "failed": 2, "canceled": 2}


class CommitWatch(threading.Thread):
    """When each (job, state) first became visible to a reader of the SQLite
    database: the commit's time, within the 2 ms between two looks."""

    def __init__(self, db):
        super().__init__(daemon=True)
        self.db = db
        self.jobs = []
        self.seen = {}
        self.stop = threading.Event()

    def run(self):
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=10)
        while not self.stop.is_set():
            jobs = list(self.jobs)
            if jobs:
                marks = ",".join("?" * len(jobs))
                now = time.monotonic()
                for job_id, state in con.execute(
                        "SELECT id, state FROM jobs WHERE id IN (%s)" % marks, jobs):
                    self.seen.setdefault((job_id, state), now)
            time.sleep(0.002)
        con.close()


def main():
    stack.time_limit(300)
    stack.require_binaries("renderq-notify", "renderq-worker")
    keys_dir = pathlib.Path(tempfile.mkdtemp(prefix="renderq-keys-"))
    keys = ns.SealKeys(keys_dir)
    try:
        with stack.Stack(responder_args=keys.responder_args()) as s:
            notify = ns.Notify(s, keys).start()
            alice = s.create_token("alice")
            bob = s.create_token("bob")

            # ---- the owner's stream starts with a state per queued job
            queued = [ws.submit(s, alice, ws.scene(32, 24, 4, seed=i))[1] for i in range(3)]
            owner_stream = ns.EventStream(s, "/api/v1/events", alice)
            bob_stream = ns.EventStream(s, "/api/v1/events", bob)
            first = owner_stream.wait_until(lambda fs: len(fs) >= 3, what="three first states")
            assert [(f["event"], f["data"]["id"]) for f in first[:3]] == \
                [("state", j["id"]) for j in queued], first
            assert all(f["data"]["state"] == "queued" for f in first[:3])
            for f in first:
                openapi_contract.check_event("/api/v1/events", f["event"], f["data"])
            assert owner_stream.headers["content-type"].startswith("text/event-stream")
            assert owner_stream.headers.get("cache-control") == "no-store"

            # ---- a job's stream, queued to succeeded, while a worker renders
            workers = ws.WorkerSet(s)
            watch = CommitWatch(s.db) if s.backend == "sqlite" else None
            watched = []
            for i in range(4):
                status, job, _ = ws.submit(s, alice, ws.scene(96, 72, 200, seed=10 + i))
                assert status == 201
                if watch:
                    watch.jobs.append(job["id"])
                watched.append((job["id"], ns.EventStream(s, "/api/v1/jobs/%s/events" % job["id"],
                                                          alice)))
            if watch:
                watch.start()
            workers.start("w")
            workers.wait_registered(["w"])
            lags = []
            for job_id, stream in watched:
                assert stream.ended.wait(180), "the stream of %s did not end" % job_id
                frames = stream.frames
                assert frames and frames[0]["event"] == "state", frames[:1]
                states = [f["data"]["state"] for f in frames if f["event"] == "state"]
                assert states[-1] == "succeeded", states
                ranks = [ORDER[x] for x in states]
                assert ranks == sorted(ranks), "states out of order: %s" % states
                assert "running" in states, states
                for f in frames:
                    openapi_contract.check_event("/api/v1/jobs/%s/events" % job_id, f["event"],
                                                 f["data"])
                    assert f["data"]["id"] == job_id
                ids = [f["id"] for f in frames]
                assert ids == sorted(ids), ids
                progress = [f for f in frames if f["event"] == "progress"]
                run_at = next(i for i, f in enumerate(frames) if f["data"].get("state") == "running")
                assert all(frames.index(p) > run_at for p in progress), "progress before running"
                seconds = [int(p["at"]) for p in progress]
                assert len(seconds) == len(set(seconds)) or len(progress) < 2 or \
                    min(b["at"] - a["at"] for a, b in zip(progress, progress[1:])) > 0.9, \
                    "more than one progress a second"
                # Commit to arrival, for the changes made after the stream opened.
                for f in frames[1:]:
                    committed = watch.seen.get((job_id, f["data"]["state"])) if watch and \
                        f["event"] == "state" else None
                    if committed is not None:
                        lags.append((f["at"] - committed) * 1000)
                        print("  %s %s: %.1f ms from commit to subscriber" % (
                            job_id[:8], f["data"]["state"], lags[-1]))
                stream.close()
            if watch:
                watch.stop.set()
                lags.sort()
                print("ok: job streams in order, ending after succeeded; commit to subscriber "
                      "p50 %.1f ms, max %.1f ms over %d events" % (
                          statistics.median(lags), lags[-1], len(lags)))
                assert len(lags) >= 8, lags
            else:
                print("ok: job streams in order, ending after succeeded (%s)" % s.backend)

            # ---- the owner's stream saw alice's jobs only; bob's saw none of them
            mine = {j["id"] for j in queued} | {job_id for job_id, _ in watched}
            seen = {f["data"]["id"] for f in owner_stream.frames}
            assert {job_id for job_id, _ in watched} <= seen, seen
            assert seen <= mine, seen - mine
            assert bob_stream.frames == [], bob_stream.frames
            assert s.request("GET", "/api/v1/jobs/%s/events" % watched[0][0], token=bob)[0] == 404
            # An ended job: its state, and the stream ends.
            done = ns.EventStream(s, "/api/v1/jobs/%s/events" % watched[0][0], alice)
            assert done.ended.wait(10)
            assert [f["data"]["state"] for f in done.frames] == ["succeeded"], done.frames
            print("ok: the owner's stream shows the owner's jobs only; another owner's job is 404")

            # ---- renderq-notify down: 503 problem, and nginx carries on
            notify.kill(signal.SIGTERM)
            down = ns.EventStream(s, "/api/v1/events", alice)
            assert down.wait_status() == 503, (down.status, down.body)
            assert down.ended.wait(10)
            problem = json.loads(down.body)
            assert problem["type"] == "urn:renderq:problem:events-unavailable", problem
            assert s.request("GET", "/healthz")[0] == 200
            errors = (s.dir / "nginx" / "log" / "error.log")
            assert "exited on signal" not in (errors.read_text() if errors.exists() else "")
            notify.start()
            back = ns.EventStream(s, "/api/v1/events", alice)
            assert back.wait_status() == 200
            print("ok: without renderq-notify a stream is 503 events-unavailable")
            print("ok (%s)" % s.backend)
            return 0
    finally:
        shutil.rmtree(keys_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
