#!/usr/bin/env python3
"""Several GPU hosts on one PostgreSQL queue, end to end over HTTPS.

nginx + renderq-fcgi, a PostgreSQL server, and three renderq-worker processes
that share nothing but the database URI: each runs in a directory of its own,
with no --results (no path in common, as on three hosts).

1. 60 jobs submitted at once: every job ends succeeded exactly once (one
   "succeeded" line in all the workers' logs together), the jobs started in
   commit order, and every PNG, as a client downloads it, equals a clean
   render of its scene. "In commit order" with workers claiming at once: a
   claim takes the oldest queued job no other claim holds (SKIP LOCKED), so
   only claims in flight together can pass each other, and with three workers
   no job can start more than two places away from its place in line
   (started_at is each claim's time on the database's clock).
2. A worker is SIGKILLed mid-render and its whole directory deleted (the host
   is gone for good): its job resumes on another worker from the checkpoint
   stored in the database, and its final image equals a clean render.
3. PostgreSQL is stopped for 10 s under submit load: meanwhile the responder
   answers 503 with Retry-After and never 201; afterwards everything works
   again without restarting any program, and every job that got a 201 is in
   the database and ends succeeded.
"""
import json
import shutil
import signal
import sys
import tempfile
import pathlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import stack
import worker_stack as ws

WORKERS = ("host-a", "host-b", "host-c")
WORKER_ARGS = ["--lease-seconds", "2", "--checkpoint-seconds", "0.2"]


def small_scene(seed):
    return ws.scene(32, 24, 8 + seed % 8, seed=seed)


def submit_many(s, token, scenes):
    """Submits every scene at once from several connections; returns [job ids]."""
    def one(body):
        status, job, _ = ws.submit(s, token, body)
        assert status == 201, (status, job)
        return job["id"]
    with ThreadPoolExecutor(max_workers=12) as pool:
        return list(pool.map(one, scenes))


def succeeded_lines(workers):
    """job id -> how many workers logged it succeeded."""
    counts = {}
    for name in WORKERS:
        for event in workers.events(name, "succeeded"):
            counts[event["job"]] = counts.get(event["job"], 0) + 1
    return counts


def check_png(s, token, job_id, scene, scratch):
    data = s.result_png(token, job_id)
    assert ws.png_size(data) == (scene["width"], scene["height"])
    clean = ws.clean_render(scene, scratch, job_id)
    assert data == clean, "job %s: PNG differs from a clean render" % job_id


def part_one(s, token, workers, scratch):
    scenes = [small_scene(seed) for seed in range(60)]
    ids = submit_many(s, token, scenes)
    jobs = ws.wait_terminal(s, token, ids, timeout=120)
    states = {j["state"] for j in jobs.values()}
    assert states == {"succeeded"}, states
    counts = succeeded_lines(workers)
    twice = [i for i in ids if counts.get(i) != 1]
    assert not twice, "jobs not succeeded exactly once: %s" % [(i, counts.get(i)) for i in twice[:5]]
    by_worker = {}
    for name in WORKERS:
        by_worker[name] = len(workers.events(name, "succeeded"))
    assert sum(1 for n in by_worker.values() if n > 0) >= 2, "one worker did everything: %s" % by_worker
    rows = s.sql("SELECT seq, started_at FROM jobs WHERE state = 'succeeded'")
    by_seq = sorted(int(seq) for seq, _ in rows)
    by_start = [int(seq) for seq, _ in sorted(rows, key=lambda r: (int(r[1]), int(r[0])))]
    place = {seq: i for i, seq in enumerate(by_seq)}
    displaced = max(abs(place[seq] - i) for i, seq in enumerate(by_start))
    assert displaced < len(WORKERS), "a job started %d places from its place in line" % displaced
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda p: check_png(s, token, p[0], p[1], scratch), zip(ids, scenes)))
    print("part 1: 60 jobs succeeded exactly once, started in commit order (at most %d place(s)"
          " apart), PNGs identical; by worker %s" % (displaced, by_worker), flush=True)


def part_two(s, token, workers, scratch):
    scene = ws.scene(96, 72, 3000, seed=77)
    status, job, _ = ws.submit(s, token, scene)
    assert status == 201, (status, job)
    job_id = job["id"]
    deadline = time.monotonic() + 60
    holder = None
    while time.monotonic() < deadline:
        row = s.sql("SELECT worker, checkpoint_samples FROM jobs WHERE id = '%s'"
                    " AND state = 'running'" % job_id)
        if row and int(row[0][1]) > 0:
            holder = row[0][0]
            break
        time.sleep(0.05)
    assert holder in WORKERS, "the job never saved a checkpoint while running (%s)" % row
    workers.stop(holder, signal.SIGKILL)
    shutil.rmtree(workers.host_dir(holder))  # the host is gone for good
    done = ws.wait_terminal(s, token, [job_id], timeout=120)[job_id]
    assert done["state"] == "succeeded", done
    assert done["attempts"] == 1, done
    resumed = [e for name in WORKERS if name != holder
               for e in workers.events(name, "claimed") if e.get("job") == job_id]
    assert resumed and int(resumed[-1]["resume_from"]) > 0, \
        "the job did not resume from its checkpoint: %s" % resumed
    check_png(s, token, job_id, scene, scratch)
    print("part 2: killed %s mid-render and deleted its directory; the job resumed on another"
          " worker from sample %s; PNG identical" % (holder, resumed[-1]["resume_from"]), flush=True)
    workers.start(holder)  # a new host under the same name
    workers.wait_registered([holder])


class Submitter(threading.Thread):
    def __init__(self, s, token, seed):
        super().__init__(daemon=True)
        self.s, self.token, self.seed = s, token, seed
        self.stop = threading.Event()
        self.created = {}
        self.log = []  # (monotonic time, status, retry-after)

    def run(self):
        while not self.stop.is_set():
            self.seed += 1
            body = json.dumps(small_scene(self.seed)).encode()
            try:
                status, headers, data = self.s.request("POST", "/api/v1/jobs", body,
                                                       token=self.token)
            except OSError:
                time.sleep(0.05)
                continue
            self.log.append((time.monotonic(), status, headers.get("retry-after")))
            if status == 201:
                self.created[json.loads(data)["id"]] = self.seed
            time.sleep(0.05)


def part_three(s, token, workers):
    submitters = [Submitter(s, token, 1000 * (i + 1)) for i in range(3)]
    for t in submitters:
        t.start()
    time.sleep(2)
    s.pg_stop()
    down_at = time.monotonic()
    time.sleep(10)
    restart_at = time.monotonic()
    s.pg_start()
    up_at = time.monotonic()
    time.sleep(4)  # submits succeed again, from the same processes
    for t in submitters:
        t.stop.set()
        t.join(timeout=15)
    # While the database was down: 503 with Retry-After, never a 201. (A
    # request that was in flight as it stopped may still see its commit.)
    outage = [e for t in submitters for e in t.log if down_at + 1 < e[0] < restart_at]
    assert outage, "no request was answered while PostgreSQL was down"
    statuses = sorted({e[1] for e in outage})
    assert 201 not in statuses, "201 while the database was down: %s" % statuses
    unavailable = [e for e in outage if e[1] == 503]
    assert unavailable and all(e[2] and int(e[2]) >= 1 for e in unavailable), statuses
    after = [e[1] for t in submitters for e in t.log if e[0] > up_at + 2]
    assert 201 in after, "submits did not recover: %s" % sorted(set(after))
    created = {}
    for t in submitters:
        created.update(t.created)
    jobs = ws.wait_terminal(s, token, list(created), timeout=120)
    states = {j["state"] for j in jobs.values()}
    assert states == {"succeeded"}, states
    in_db = s.job_ids_in_db()
    lost = [i for i in created if i not in in_db]
    assert not lost, "jobs with a 201 missing: %s" % lost[:5]
    for name in WORKERS:
        assert workers.procs[name].poll() is None, "worker %s exited" % name
    print("part 3: PostgreSQL down 10 s: %d answers meanwhile, statuses %s; %d jobs with a 201"
          " all succeeded, no program restarted" % (len(outage), statuses, len(created)),
          flush=True)


def main():
    stack.time_limit(280)
    stack.require_binaries("renderq-worker", "renderq-render", "psql")
    with stack.Stack(threads=8, backend="postgres") as s:
        token = s.create_token("studio")
        workers = ws.WorkerSet(s, WORKER_ARGS)
        for name in WORKERS:
            workers.start(name)
        workers.wait_registered(list(WORKERS))
        scratch = pathlib.Path(tempfile.mkdtemp(prefix="renderq-clean-", dir=s.dir))
        part_one(s, token, workers, scratch)
        part_two(s, token, workers, scratch)
        part_three(s, token, workers)
        responder_restarts = s.responder.poll() is not None
        assert not responder_restarts, "the responder exited"
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
