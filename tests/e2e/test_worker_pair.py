#!/usr/bin/env python3
"""Two workers on one database: no job is claimed twice, jobs start in
submission (FIFO) order across both workers, and a third process under a name
in use is refused."""
import datetime

import stack
import worker_stack as ws

JOBS = 40


def stack_time_ms(iso):
    """"2026-11-21T22:30:00.123Z" -> ms since the epoch."""
    return int(datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() * 1000 + 0.5)


def main():
    stack.time_limit(80)
    stack.require_binaries("renderq-worker")
    with stack.Stack(threads=2) as s:
        token = s.create_token("pair")
        # Submitted before the workers start, so the whole line is known.
        ids = []
        for i in range(JOBS):
            status, job, _ = ws.submit(s, token, ws.scene(32, 24, 20 + (i % 5) * 20, seed=i))
            assert status == 201, job
            ids.append(job["id"])
        workers = ws.WorkerSet(s, ["--cpu-threads", "1"])
        workers.start("w1")
        workers.start("w2")
        workers.wait_registered(["w1", "w2"])
        # A second process under a name in use is refused: it would otherwise
        # take the first one's running job back as abandoned. Its --db is
        # spelled differently; the lock goes by the file, not the spelling.
        command = workers.command("w1")
        command[command.index("--db") + 1] = "%s/./%s" % (s.db.parent, s.db.name)
        duplicate = s._spawn("worker-w1-again", command)
        code = duplicate.wait(timeout=10)
        assert code == 1, "a second w1 exited with %s" % code
        assert "in use" in s.log_tail("worker-w1-again"), s.log_tail("worker-w1-again")
        jobs = ws.wait_terminal(s, token, ids, timeout=60)
        assert all(j["state"] == "succeeded" for j in jobs.values())

        claims = {name: [e["job"] for e in workers.events(name, "claimed")] for name in ("w1", "w2")}
        everything = claims["w1"] + claims["w2"]
        assert sorted(everything) == sorted(ids), "claimed twice or never: %d claims for %d jobs" % (
            len(everything), len(ids))
        assert claims["w1"] and claims["w2"], "one worker did all the work: %s" % claims
        # ids are in submission order. Each claim takes the oldest queued job
        # and is stamped under the database's write lock, so along the line the
        # start times never decrease (equal within a millisecond).
        starts = [stack_time_ms(jobs[i]["started_at"]) for i in ids]
        inversions = [(a, b) for a, b in zip(starts, starts[1:]) if b < a]
        assert not inversions, "starts out of FIFO order: %s" % inversions
        for name in ("w1", "w2"):
            code, seconds = workers.stop(name)
            assert code == 0 and seconds < 10
        print("ok: w1 ran %d, w2 ran %d, each job once, FIFO starts" % (
            len(claims["w1"]), len(claims["w2"])))


if __name__ == "__main__":
    main()
