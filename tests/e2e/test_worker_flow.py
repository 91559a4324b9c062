#!/usr/bin/env python3
"""Worker end to end through nginx over HTTPS: 30 jobs submitted at once while
renders run. Every submit answers 201 (how fast is bench/submit's and
bench/pickup's to measure, not a test's to bound), jobs start in submission order, states and positions move as SPEC says, and every result
downloads as a PNG of the right size with an ETag."""
import http.client
import json
import threading
import time

import stack
import worker_stack as ws

JOBS = 30
WIDTH, HEIGHT, SAMPLES = 64, 48, 150  # ~0.1-0.3 s each on the CPU


def submit_all_at_once(s, token):
    """JOBS threads, connections open, released together; returns [(status, job, s)]."""
    conns = [s.connection() for _ in range(JOBS)]
    for c in conns:
        c.connect()
    barrier = threading.Barrier(JOBS)
    out = [None] * JOBS

    def one(i):
        barrier.wait()
        out[i] = ws.submit(s, token, ws.scene(WIDTH, HEIGHT, SAMPLES, seed=i), conn=conns[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(JOBS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    return out


class Watcher(threading.Thread):
    """Polls the owner's job list and records every job's sequence of views."""

    def __init__(self, s, token):
        super().__init__(daemon=True)
        self.s, self.token = s, token
        self.stop = threading.Event()
        self.views = {}
        self.polls = 0

    def run(self):
        conn = self.s.connection()
        while not self.stop.is_set():
            try:
                status, _, data = self.s.request("GET", "/api/v1/jobs?limit=100",
                                                 token=self.token, conn=conn)
            except (http.client.HTTPException, ConnectionError):
                # nginx may close a kept-alive connection between two polls.
                conn.close()
                conn = self.s.connection()
                continue
            if status == 200:
                self.polls += 1
                for job in json.loads(data)["jobs"]:
                    job["_poll"] = self.polls
                    self.views.setdefault(job["id"], []).append(job)
            time.sleep(0.05)
        conn.close()


def seq_order(s):
    return [row[0] for row in s.sql("SELECT id FROM jobs ORDER BY seq")]


def first_position(views, job_id):
    """(poll index, position) of the first view of a job while queued, or None."""
    for v in views.get(job_id, []):
        if v["state"] == "queued":
            return v["_poll"], v["position"]
    return None


def check_views(views):
    order = {"queued": 0, "running": 1, "succeeded": 2}
    for job_id, seq in views.items():
        last_state, last_pos, last_progress = -1, None, -1.0
        for v in seq:
            state = order[v["state"]]  # failed/canceled would be a KeyError: not expected
            assert state >= last_state, "%s went back to %s" % (job_id, v["state"])
            if v["state"] == "queued":
                assert v["position"] >= 1, v
                assert last_pos is None or v["position"] <= last_pos, "position rose: %s" % v
                last_pos = v["position"]
            else:
                assert v.get("position") is None, "position while %s: %s" % (v["state"], v)
            if v["state"] == "running":
                assert 0.0 <= v["progress"] <= 1.0
                assert v["progress"] >= last_progress, "progress fell: %s" % v
                last_progress = v["progress"]
            if v["state"] == "succeeded":
                assert v["progress"] == 1.0 and v["finished_at"], v
            last_state = state


def main():
    stack.time_limit(80)
    stack.require_binaries("renderq-worker")
    with stack.Stack(threads=4) as s:
        token = s.create_token("flow")
        workers = ws.WorkerSet(s)
        workers.start("cpu")
        workers.wait_registered(["cpu"])
        # Renders already running while the burst comes in.
        warm = [ws.submit(s, token, ws.scene(WIDTH, HEIGHT, SAMPLES * 4, seed=1000 + i))[1]["id"]
                for i in range(2)]
        watcher = Watcher(s, token)
        watcher.start()
        results = submit_all_at_once(s, token)
        # Every submit is answered 201 while renders run (how fast: bench/submit).
        refused = [(st, round(sec * 1000, 1)) for st, _, sec in results if st != 201]
        assert not refused, "submits not answered 201: %s" % refused
        ids = [job["id"] for _, job, _ in results]
        print("submit latency max %.1f ms" % (max(sec for _, _, sec in results) * 1000))

        jobs = ws.wait_terminal(s, token, warm + ids, timeout=60)
        watcher.stop.set()
        watcher.join()
        assert all(j["state"] == "succeeded" for j in jobs.values()), \
            [j for j in jobs.values() if j["state"] != "succeeded"][:3]
        check_views(watcher.views)

        # Submission order is commit order: the store's seq.
        by_submission = [i for i in seq_order(s) if i in set(ids)]
        starts = [jobs[i]["started_at"] for i in by_submission]
        assert starts == sorted(starts), "jobs did not start in submission order"
        claimed = [e["job"] for e in workers.events("cpu", "claimed") if e["job"] in set(ids)]
        assert claimed == by_submission, "claim order differs from submission order"
        # Positions seen while queued agree with that order.
        for earlier, later in zip(by_submission, by_submission[1:]):
            a = first_position(watcher.views, earlier)
            b = first_position(watcher.views, later)
            assert a is None or b is None or a[0] != b[0] or a[1] < b[1], (earlier, later, a, b)

        for job_id in ids:
            status, headers, data = s.request("GET", "/api/v1/jobs/%s/result" % job_id,
                                              token=token)
            assert status == 200, (job_id, status, data[:200])
            assert headers.get("content-type") == "image/png", headers
            assert headers.get("etag") == jobs[job_id].get("result_etag", headers.get("etag"))
            assert headers.get("etag", "").startswith('"'), headers
            assert ws.png_size(data) == (WIDTH, HEIGHT)
        assert ws.leftover_files(s.results) == []
        code, seconds = workers.stop("cpu")
        assert code == 0 and seconds < 10, (code, seconds)
    print("ok: %d jobs, all started in order and downloaded" % len(ids))


if __name__ == "__main__":
    main()
