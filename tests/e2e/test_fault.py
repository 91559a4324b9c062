#!/usr/bin/env python3
"""Fault injection: renderq-fcgi under fiu-run (libfiu's POSIX preload) with
random I/O errors on write, pwrite (SQLite's WAL frames use pwrite64, which the
same failure point covers), fsync and fdatasync (SQLite's commit sync).

While faults are on, several threads submit through nginx. Afterwards, with the
faults off and the database re-opened without fiu:
  - every id that got a 201 is in the database (a 201 means committed);
  - every refused submit was a 503 problem+json (storage-unavailable), never a
    201; a 502 is allowed only as nginx's answer when an injected write() error
    broke the responder's own FastCGI reply;
  - faults really happened (503s were counted);
  - PRAGMA integrity_check is ok, and the responder still serves submits."""
import json
import sys
import threading
import time

import stack

FAULTS = {  # failure point: probability per call
    "posix/io/rw/pwrite": 0.05,
    "posix/io/rw/write": 0.01,
    "posix/io/sync/fdatasync": 0.2,
    "posix/io/sync/fsync": 0.2,
}
THREADS = 6
SECONDS = 6
PER_OWNER = 90  # below the 100 queued jobs an owner may have (then 429)


def submit_loop(s, token, stop, seed, out):
    conn = None
    created = 0
    while not stop.is_set() and created < PER_OWNER:
        seed += 1
        try:
            conn = conn or s.connection(timeout=10)
            status, headers, body = s.request("POST", "/api/v1/jobs", stack.scene_body(seed),
                                              token, conn=conn)
        except OSError as e:
            out.append(("error", str(e), None))
            conn = None
            continue
        out.append((status, headers, body))
        created += status == 201


def main():
    stack.time_limit(55)
    with stack.Stack(threads=4) as s:
        tokens = [s.create_token("fault-%d" % n) for n in range(THREADS)]
        s.kill_responder()
        s.start_responder_under_fiu()
        s.wait_ready()
        s.fiu_ctrl(*["enable_random name=%s,probability=%s" % kv for kv in FAULTS.items()])
        stop = threading.Event()
        results = [[] for _ in range(THREADS)]
        threads = [threading.Thread(target=submit_loop, daemon=True,
                                    args=(s, tokens[n], stop, n * 1_000_000, results[n]))
                   for n in range(THREADS)]
        for t in threads:
            t.start()
        time.sleep(SECONDS)
        stop.set()
        for t in threads:
            t.join(timeout=15)
        s.fiu_ctrl(*["disable name=%s" % name for name in FAULTS])
        responder_alive = s.responder.poll() is None

        created, unavailable, other = [], 0, {}
        for status, headers, body in (r for rs in results for r in rs):
            if status == 201:
                created.append(json.loads(body)["id"])
            elif status == 503:
                doc = stack.problem(headers, body)
                assert doc["status"] == 503, doc
                assert doc["type"] == "urn:renderq:problem:storage-unavailable", doc
                unavailable += 1
            else:
                other[status] = other.get(status, 0) + 1
        print("201: %d, 503: %d, other: %s, responder alive: %s" %
              (len(created), unavailable, other, responder_alive))

        assert responder_alive, "renderq-fcgi died:\n" + s.log_tail("renderq-fcgi")
        # After the faults: it serves again (a storage error is temporary).
        recovered = False
        fresh = s.create_token("after-faults")
        for seed in range(20):
            status, _, body = s.request("POST", "/api/v1/jobs", stack.scene_body(4_000_000_000 + seed),
                                        fresh)
            if status == 201:
                recovered = True
                break
            time.sleep(0.2)
        s.kill_responder()  # re-open the database without fiu
        in_db = s.job_ids_in_db()
        lost = [i for i in created if i not in in_db]

        assert unavailable > 0, "no 503 seen: the faults were not injected"
        assert created, "no submit succeeded at all"
        assert not lost, "%d acknowledged jobs missing, e.g. %s" % (len(lost), lost[:3])
        # 502: nginx, when an injected write() error cut the responder's reply.
        assert set(other) <= {502}, other
        assert s.integrity_check() == ["ok"], s.integrity_check()
        assert recovered, "no 201 after the faults were turned off: %s %s" % (status, body[:300])
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
