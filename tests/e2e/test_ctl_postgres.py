#!/usr/bin/env python3
"""renderqctl against a PostgreSQL queue: every command works as on SQLite,
and where SQLite's has a PostgreSQL counterpart (backup: pg_dump) it says so
instead of failing obscurely. The inspection views answer in psql."""
import json
import subprocess
import sys
import time

import stack
import worker_stack as ws


def ctl(s, *args):
    """(exit code, stdout, stderr) of renderqctl on the stack's database."""
    done = subprocess.run([str(stack.BIN_DIR / "renderqctl"), "--db", str(s.db),
                           "--results", str(s.results)] + list(args),
                          capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


def ok_json(s, *args):
    code, out, err = ctl(s, "--json", *args)
    assert code == 0, (args, code, err)
    return json.loads(out)


def main():
    stack.time_limit(150)
    stack.require_binaries("renderqctl", "renderq-worker", "psql")
    with stack.Stack(backend="postgres") as s:
        token = s.create_token("alice")
        assert ctl(s, "token", "create", "alice")[0] == 4  # conflict: one active token
        names = [t["name"] for t in ok_json(s, "token", "list")["tokens"]]
        assert names == ["alice"], names
        rotated = ok_json(s, "token", "rotate", "alice")["token"]
        status, _, _ = s.request("GET", "/api/v1/queue", token=token)
        assert status == 401, "the old token still works after rotate"
        token = rotated

        ids = []
        for seed in range(3):
            code, job, _ = ws.submit(s, token, ws.scene(16, 12, 4, seed=seed))
            assert code == 201, job
            ids.append(job["id"])
        status = ok_json(s, "status")
        assert status["queued"] == 3, status
        listed = [j["id"] for j in ok_json(s, "jobs", "--state", "queued")["jobs"]]
        assert listed == list(reversed(ids)), listed
        assert ok_json(s, "show", ids[0])["state"] == "queued"
        assert ctl(s, "show", "00000000-0000-4000-8000-000000000000")[0] == 3
        assert ok_json(s, "cancel", ids[0])["state"] == "canceled"
        assert ctl(s, "cancel", ids[0])[0] == 4
        assert ok_json(s, "retry", ids[0])["state"] == "queued"

        workers = ws.WorkerSet(s)
        workers.start("w1")
        workers.wait_registered(["w1"])
        jobs = ws.wait_terminal(s, token, ids, timeout=60)
        assert {j["state"] for j in jobs.values()} == {"succeeded"}, jobs
        workers.stop_all()
        # The views, for humans in psql.
        counts = dict(s.sql("SELECT state, jobs FROM job_counts"))
        assert counts["succeeded"] == "3", counts
        assert s.sql("SELECT count(*) FROM queue") == [("0",)]
        assert s.sql("SELECT count(*) FROM recent_failures") == [("0",)]

        code, out, err = ctl(s, "check")
        assert code == 0, (code, out, err)
        code, out, err = ctl(s, "backup", str(s.dir / "copy.db"))
        assert code != 0 and "pg_dump" in err, (code, err)

        # A result served once is cached by the web host; purge removes the jobs,
        # their stored images and the cache.
        png = s.result_png(token, ids[1])
        assert png[:4] == b"\x89PNG"
        assert (s.results / (ids[1] + ".png")).exists(), "the result was not cached"
        time.sleep(0.05)
        purged = ok_json(s, "purge", "--older-than", "1ms")
        assert purged["jobs"] == 3, purged
        assert not (s.results / (ids[1] + ".png")).exists()
        assert s.sql("SELECT count(*) FROM job_results") == [("0",)]
        assert ctl(s, "token", "revoke", "alice")[0] == 0
        status, _, _ = s.request("GET", "/api/v1/queue", token=token)
        assert status == 401
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
