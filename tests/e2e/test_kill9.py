#!/usr/bin/env python3
"""kill -9: several threads submit in a loop through nginx; the responder is
SIGKILLed mid-burst and restarted. Every id that got a 201 must be in the
database: a 201 means the job was on disk before the answer left."""
import json
import signal
import sys
import threading
import time

import stack

THREADS = 8
BEFORE_KILL = 200    # 201s to collect before the kill
AFTER_RESTART = 150  # and after the restart
# One owner per thread: an owner may have at most 100 queued jobs (then 429).


class Submitter(threading.Thread):
    def __init__(self, s, token, stop, n):
        super().__init__(daemon=True)
        self.s, self.token, self.stop, self.n = s, token, stop, n
        self.created, self.statuses, self.errors = [], {}, 0

    def run(self):
        seed = self.n * 1_000_000
        conn = None
        while not self.stop.is_set():
            seed += 1
            try:
                conn = conn or self.s.connection(timeout=5)
                status, headers, body = self.s.request("POST", "/api/v1/jobs",
                                                       stack.scene_body(seed), self.token,
                                                       conn=conn)
            except OSError:
                # nginx or TLS hiccup while the responder is down: reconnect
                self.errors += 1
                conn = None
                time.sleep(0.01)
                continue
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 201:
                self.created.append(json.loads(body)["id"])


def count(workers):
    return sum(len(w.created) for w in workers)


def wait_for(predicate, seconds, what, what_now=lambda: ""):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s (%s)" % (what, what_now()))
        time.sleep(0.005)


def main():
    stack.time_limit(55)
    with stack.Stack(threads=4) as s:
        stop = threading.Event()
        workers = [Submitter(s, s.create_token("burst-%d" % n), stop, n) for n in range(THREADS)]
        for w in workers:
            w.start()
        try:
            wait_for(lambda: count(workers) >= BEFORE_KILL, 20, "submits before the kill",
                     lambda: [w.statuses for w in workers])
            s.kill_responder(signal.SIGKILL)  # mid-burst: requests are in flight
            killed_at = count(workers)
            time.sleep(0.3)
            s.start_responder()
            wait_for(lambda: count(workers) >= killed_at + AFTER_RESTART, 20,
                     "submits after the restart", lambda: [w.statuses for w in workers])
        finally:
            stop.set()
            for w in workers:
                w.join(timeout=10)

        created = [i for w in workers for i in w.created]
        statuses = {}
        for w in workers:
            for k, v in w.statuses.items():
                statuses[k] = statuses.get(k, 0) + v
        in_db = s.job_ids_in_db()
        lost = [i for i in created if i not in in_db]
        print("201s: %d, statuses: %s, connection errors: %d, rows: %d" %
              (len(created), statuses, sum(w.errors for w in workers), len(in_db)))
        assert len(set(created)) == len(created), "an id was answered twice"
        assert not lost, "%d acknowledged jobs missing, e.g. %s" % (len(lost), lost[:3])
        # 502: nginx while the responder was down; 429: an owner's 100 queued jobs
        assert set(statuses) <= {201, 429, 502}, statuses
        assert s.integrity_check() == ["ok"]
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
