#!/usr/bin/env python3
"""The history checker (tests/ha/checker.py) on small histories written by hand:
each violation it must report is planted once, next to histories that are
fine and must pass. Python 3 standard library only (unittest)."""
import pathlib
import sys
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import checker  # noqa: E402
from history import RunHistory, parse_worker_log  # noqa: E402

ETAG = "0f9f6aa1bd78b5d844128b0fc40fe2b5"


def uuid(n):
    return "00000000-0000-4000-8000-%012d" % n


class Builder:
    """A run's history, one fact at a time; times are seconds."""

    def __init__(self):
        self.h = RunHistory()
        self.n = 0
        self.lease = 0

    def submit(self, job, seed, status=201, t0=0.0, t1=0.1):
        self.h.submits.append({"type": "submit", "op": seed, "seed": seed, "owner": "o",
                               "t0": t0, "t1": t1, "status": status,
                               "job": job if status == 201 else None, "error": None})

    def job(self, job, seed, seq, state="succeeded", etag=ETAG, has_result=True,
            error_code=None):
        self.h.db_jobs.append({"id": job, "seed": seed, "seq": seq, "state": state,
                               "etag": '"%s"' % etag if etag else None, "has_result": has_result,
                               "error_code": error_code,
                               "finished_at": 1 if state in checker.TERMINAL else None})

    def change(self, job, seq, old, new, t, worker=None, old_lease=None, new_lease=None):
        self.n += 1
        self.h.changes.append({"n": self.n, "job": job, "seq": seq, "old_seq": seq if old else None,
                               "old_state": old, "new_state": new, "old_lease": old_lease,
                               "new_lease": new_lease, "worker": worker,
                               "at_ms": int(t * 1000), "commit_us": int(t * 1e6)})

    def claim(self, job, seq, worker, t):
        self.lease += 1
        self.change(job, seq, "queued", "running", t, worker=worker, new_lease=self.lease)
        return self.lease

    def event(self, host, event, t, job=None, **fields):
        self.h.worker_events.append({"t": t, "host": host, "name": host, "event": event,
                                     "job": job, "fields": {k: str(v) for k, v in fields.items()}})

    def run(self, host, start, end=None, killed=False):
        self.h.runs.append({"host": host, "program": "renderq-worker", "start": start,
                            "end": end, "killed": killed})

    def poll(self, job, state, t0, t1, etag=None, status=200):
        self.h.polls.append({"type": "poll", "job": job, "t0": t0, "t1": t1, "status": status,
                             "state": state, "etag": etag})

    def one_clean_job(self, n, host="gpu-1", t=1.0):
        """A job submitted, claimed, rendered and succeeded once."""
        job = uuid(n)
        self.submit(job, n, t0=t, t1=t + 0.01)
        self.job(job, n, n)
        self.change(job, n, None, "queued", t)
        lease = self.claim(job, n, host, t + 0.1)
        self.event(host, "claimed", t + 0.11, job, attempt=1, resume_from=0)
        self.change(job, n, "running", "succeeded", t + 0.3, worker=host, old_lease=lease)
        self.event(host, "succeeded", t + 0.31, job, etag='"%s"' % ETAG)
        self.poll(job, "succeeded", t + 0.4, t + 0.41, etag=ETAG)
        return job

    def check(self, **options):
        self.h.normalise()
        return checker.check(self.h, checker.CheckOptions(**options))


def findings(report):
    return {k: len(report[k]) for k in checker.VERDICTS if report[k]}


class CleanHistories(unittest.TestCase):
    def test_jobs_run_once_pass(self):
        b = Builder()
        for n in range(1, 6):
            b.run("gpu-%d" % (n % 2 + 1), 0.0)
        for n in range(1, 6):
            b.one_clean_job(n, host="gpu-%d" % (n % 2 + 1), t=float(n))
        report = b.check(workers=2)
        self.assertTrue(report["ok"], findings(report))
        self.assertEqual(report["figures"]["attempts_by_end"], {"succeeded": 5})

    def test_undetermined_submit_may_or_may_not_exist(self):
        b = Builder()
        b.run("gpu-1", 0.0)
        job = b.one_clean_job(1)
        b.h.submits[-1].update(status=503, job=None)   # the client never learnt of job 1
        b.submit(None, 2, status=None)                 # a timeout; no job made
        report = b.check()
        self.assertTrue(report["ok"], findings(report))
        self.assertEqual(report["figures"]["undetermined_in_database"], 1)
        self.assertEqual(report["figures"]["undetermined_absent"], 1)
        self.assertTrue(job)


class Lost(unittest.TestCase):
    def test_acknowledged_job_missing_from_database(self):
        b = Builder()
        b.one_clean_job(1)
        b.submit(uuid(2), 2)  # 201, but the database has no such job
        report = b.check()
        self.assertEqual(findings(report), {"lost": 1})
        self.assertEqual(report["lost"][0]["job"], uuid(2))

    def test_job_never_finished_counts_only_after_a_drain(self):
        b = Builder()
        b.submit(uuid(1), 1)
        b.job(uuid(1), 1, 1, state="queued", etag=None, has_result=False)
        b.change(uuid(1), 1, None, "queued", 1.0)
        self.assertEqual(findings(b.check(drained=True)), {"lost": 1})
        self.assertEqual(findings(b.check(drained=False)), {})

    def test_success_seen_then_gone(self):
        b = Builder()
        job = b.one_clean_job(1)
        b.h.db_jobs[0].update(state="queued", etag=None, has_result=False, finished_at=None)
        b.poll(job, "queued", 5.0, 5.1)
        report = b.check(drained=False)
        self.assertEqual(findings(report), {"lost": 1, "changed": 1})


class Doubled(unittest.TestCase):
    def test_two_workers_told_their_finish_committed(self):
        b = Builder()
        job = b.one_clean_job(1, host="gpu-1")
        b.event("gpu-2", "claimed", 1.2, job, resume_from=0)
        b.event("gpu-2", "succeeded", 1.25, job, etag='"%s"' % ETAG)
        report = b.check()
        self.assertIn("doubled", findings(report))
        self.assertEqual(report["doubled"][0]["job"], job)

    def test_two_commits_into_succeeded(self):
        b = Builder()
        job = b.one_clean_job(1)
        b.change(job, 1, "running", "succeeded", 2.1)
        report = b.check()
        self.assertEqual(len(report["doubled"]), 1)
        self.assertIn("2 commits", report["doubled"][0]["why"])

    def test_one_submit_two_jobs(self):
        b = Builder()
        b.one_clean_job(1)
        b.job(uuid(99), 1, 2)  # same seed as job 1
        report = b.check()
        self.assertEqual(len(report["doubled"]), 1)
        self.assertEqual(report["doubled"][0]["seed"], 1)


class Changed(unittest.TestCase):
    def test_two_results_for_one_job(self):
        b = Builder()
        job = b.one_clean_job(1)
        b.poll(job, "succeeded", 3.0, 3.1, etag="ffff" + ETAG[4:])
        self.assertEqual(findings(b.check()), {"changed": 1})

    def test_overlapping_looks_do_not_order(self):
        b = Builder()
        job = b.one_clean_job(1)
        # Began before the look that saw it succeeded had ended: may see it running.
        b.poll(job, "running", 1.405, 1.5)
        self.assertEqual(findings(b.check()), {})


class Unexpected(unittest.TestCase):
    def test_job_nobody_submitted(self):
        b = Builder()
        b.one_clean_job(1)
        b.job(uuid(7), 7, 2)
        report = b.check()
        self.assertEqual(findings(report), {"unexpected": 1})

    def test_refused_submit_stored_anyway(self):
        b = Builder()
        b.one_clean_job(1)
        b.submit(None, 2, status=422)
        b.job(uuid(2), 2, 2)
        report = b.check()
        self.assertEqual(findings(report), {"unexpected": 1})
        self.assertIn("422", report["unexpected"][0]["why"])


class Concurrent(unittest.TestCase):
    def two_attempts(self, first_end_event_at, how="lease_lost"):
        b = Builder()
        b.run("gpu-1", 0.0)
        b.run("gpu-2", 0.0)
        job = uuid(1)
        b.submit(job, 1)
        b.job(job, 1, 1)
        b.change(job, 1, None, "queued", 1.0)
        first = b.claim(job, 1, "gpu-1", 10.0)
        b.event("gpu-1", "claimed", 10.01, job, resume_from=0)
        b.change(job, 1, "running", "queued", 12.5, old_lease=first)
        second = b.claim(job, 1, "gpu-2", 13.0)
        b.event("gpu-2", "claimed", 13.01, job, resume_from=0)
        b.change(job, 1, "running", "succeeded", 14.0, worker="gpu-2", old_lease=second)
        b.event("gpu-2", "succeeded", 14.01, job, etag=ETAG)
        if how:
            b.event("gpu-1", how, first_end_event_at, job)
        return b

    def test_earlier_holder_rendering_after_the_new_claim(self):
        report = self.two_attempts(15.0).check()
        self.assertEqual(findings(report), {"concurrent": 1})
        item = report["concurrent"][0]
        self.assertEqual((item["earlier"]["host"], item["later"]["host"]), ("gpu-1", "gpu-2"))
        self.assertAlmostEqual(item["overlap_seconds"], 1.01, places=3)  # 13.0 .. 14.01

    def test_earlier_holder_stopped_before_the_new_claim(self):
        report = self.two_attempts(12.9, how="lease_expired").check()
        self.assertEqual(findings(report), {})
        self.assertEqual(report["figures"]["attempts_lost"], 1)
        self.assertAlmostEqual(report["figures"]["render_seconds_lost"], 2.9, places=2)

    def test_a_killed_process_stops_when_it_is_killed(self):
        b = self.two_attempts(None, how=None)
        b.h.runs[0].update(end=12.0, killed=True)
        report = b.check()
        self.assertEqual(findings(report), {})
        self.assertEqual(report["figures"]["attempts_by_end"], {"killed": 1, "succeeded": 1})

    def test_a_process_killed_late_overlaps(self):
        b = self.two_attempts(None, how=None)
        b.h.runs[0].update(end=13.5, killed=True)
        report = b.check()
        self.assertEqual(findings(report), {"concurrent": 1})
        self.assertAlmostEqual(report["concurrent"][0]["overlap_seconds"], 0.5, places=2)

    def test_an_end_line_says_when_rendering_stopped(self):
        # The lease_lost line came at 15.0, from a final write that hung; the
        # rendering had stopped 2.5 s before, ahead of the next claim.
        b = self.two_attempts(15.0)
        b.h.worker_events[-1]["fields"]["stopped_ms_ago"] = "2500"
        self.assertEqual(findings(b.check()), {})

    def test_tolerance(self):
        report = self.two_attempts(13.05).check(overlap_tolerance=0.1)
        self.assertEqual(findings(report), {})


class StaleFinish(unittest.TestCase):
    def test_finish_accepted_from_a_lease_that_had_passed(self):
        # gpu-1 is cut off, its lease lapses and gpu-2 takes the job; gpu-1's
        # finish is then accepted (a fence that failed) while gpu-2 renders.
        b = Builder()
        b.run("gpu-1", 0.0)
        b.run("gpu-2", 0.0)
        job = uuid(1)
        b.submit(job, 1)
        b.job(job, 1, 1)
        b.change(job, 1, None, "queued", 1.0)
        first = b.claim(job, 1, "gpu-1", 2.0)
        b.event("gpu-1", "claimed", 2.01, job, resume_from=0)
        b.change(job, 1, "running", "queued", 5.0, worker="gpu-1", old_lease=first)
        second = b.claim(job, 1, "gpu-2", 5.1)
        b.event("gpu-2", "claimed", 5.11, job, resume_from=0)
        b.change(job, 1, "running", "succeeded", 6.0, worker="gpu-2", old_lease=second)
        b.event("gpu-1", "succeeded", 6.01, job, etag=ETAG)
        b.event("gpu-2", "lease_lost", 6.2, job)
        report = b.check()
        self.assertEqual(len(report["stale_finish"]), 1)
        self.assertEqual(report["stale_finish"][0]["host"], "gpu-1")
        self.assertIn("concurrent", findings(report))  # gpu-1 rendered past its lease too


class AnswerLost(unittest.TestCase):
    def test_finish_committed_but_the_worker_logged_lease_lost(self):
        b = Builder()
        b.run("gpu-1", 0.0)
        job = uuid(1)
        b.submit(job, 1)
        b.job(job, 1, 1)
        b.change(job, 1, None, "queued", 1.0)
        lease = b.claim(job, 1, "gpu-1", 2.0)
        b.event("gpu-1", "claimed", 2.01, job, resume_from=0)
        b.change(job, 1, "running", "succeeded", 2.5, worker="gpu-1", old_lease=lease)
        b.event("gpu-1", "lease_lost", 6.0, job)  # its retry found the lease already ended
        report = b.check()
        self.assertEqual(findings(report), {})
        self.assertEqual(report["figures"]["attempts_by_end"], {"succeeded (answer lost)": 1})
        self.assertEqual(report["figures"]["render_seconds_lost"], 0.0)


class States(unittest.TestCase):
    def test_change_after_succeeded(self):
        b = Builder()
        job = b.one_clean_job(1)
        b.change(job, 1, "succeeded", "queued", 3.0)
        b.h.db_jobs[0].update(state="queued", etag=None, has_result=False, finished_at=None)
        report = b.check(drained=False)
        self.assertIn("succeeded -> queued", [x["why"] for x in report["bad_state"]])

    def test_lease_replaced_while_running(self):
        b = Builder()
        job = b.one_clean_job(1)
        b.change(job, 1, "running", "running", 1.2, old_lease=1, new_lease=9)
        self.assertIn("bad_state", findings(b.check()))

    def test_final_rows(self):
        b = Builder()
        b.one_clean_job(1)
        b.h.db_jobs[0]["has_result"] = False
        b.submit(uuid(2), 2)
        b.job(uuid(2), 2, 2, state="failed", etag=None, has_result=False,
              error_code="render_failed")
        b.submit(uuid(3), 3)
        b.job(uuid(3), 3, 3, state="failed", etag=None, has_result=False,
              error_code="worker_lost")
        report = b.check()
        whys = sorted(x["why"] for x in report["bad_state"])
        self.assertEqual(whys, ["failed with render_failed", "succeeded without its result"])


class Fifo(unittest.TestCase):
    def queue_of(self, n):
        b = Builder()
        for i in range(1, n + 1):
            b.submit(uuid(i), i)
            b.job(uuid(i), i, i, state="queued", etag=None, has_result=False)
            b.change(uuid(i), i, None, "queued", float(i))
        return b

    def test_claim_passing_more_than_the_bound(self):
        b = self.queue_of(5)
        b.claim(uuid(5), 5, "gpu-1", 10.0)  # jobs 1-4 queued, older
        report = b.check(workers=3, drained=False)
        self.assertEqual(findings(report), {"fifo": 1})
        self.assertEqual(report["fifo"][0]["passed"], 4)

    def test_claims_in_flight_together(self):
        b = self.queue_of(3)
        b.claim(uuid(2), 2, "gpu-2", 10.0)  # passes job 1, which gpu-1's claim holds
        b.claim(uuid(1), 1, "gpu-1", 10.001)
        b.claim(uuid(3), 3, "gpu-3", 10.002)
        self.assertEqual(findings(b.check(workers=2, drained=False)), {})

    def test_requeue_committed_during_the_claim(self):
        b = self.queue_of(3)
        b.claim(uuid(1), 1, "gpu-1", 10.0)
        b.claim(uuid(2), 2, "gpu-2", 10.1)
        # Job 1 goes back to its place; job 3's claim ran before that commit.
        b.change(uuid(1), 1, "running", "queued", 20.0, old_lease=1)
        b.h.changes[-1]["commit_us"] = int(20.0 * 1e6)
        b.claim(uuid(3), 3, "gpu-3", 20.01)
        b.h.changes[-1]["at_ms"] = int(19.99 * 1000)
        self.assertEqual(findings(b.check(workers=1, drained=False)), {})


class Figures(unittest.TestCase):
    def test_failover_recovery(self):
        b = Builder()
        b.h.faults.append({"kind": "failover", "t0": 100.0, "t1": 103.0})
        b.submit(uuid(1), 1, status=503, t0=100.5, t1=100.6)
        b.submit(uuid(2), 2, status=201, t0=99.0, t1=101.0)   # sent before the failure
        b.submit(uuid(3), 3, status=201, t0=102.0, t1=103.5)
        b.job(uuid(2), 2, 2)
        b.job(uuid(3), 3, 3)
        report = b.check(drained=False)
        self.assertEqual(report["figures"]["failover_recovery_seconds"], [3.5])

    def test_unavailable_without_retry_after(self):
        b = Builder()
        b.submit(uuid(1), 1, status=503)
        b.submit(uuid(2), 2, status=503)
        b.h.submits[-1]["retry_after"] = "1"
        report = b.check(drained=False)
        self.assertEqual(report["figures"]["unavailable_without_retry_after"], 1)

    def test_resumes_on_another_host(self):
        b = Concurrent().two_attempts(12.9, how="lease_expired")
        b.h.worker_events = [e for e in b.h.worker_events if e["host"] != "gpu-2"]
        b.event("gpu-2", "claimed", 13.01, uuid(1), resume_from=40)
        b.event("gpu-2", "succeeded", 14.01, uuid(1), etag=ETAG)
        report = b.check()
        self.assertEqual(report["figures"]["resumed_other_host"], 1)


class WorkerLog(unittest.TestCase):
    def test_parses_events_and_fields(self):
        text = (
            '2026-11-21T22:30:00.123Z renderq-worker[gpu-1] claimed job=3f1c attempt=2'
            ' resume_from=10 samples=64 device="cpu"\n'
            '2026-11-21T22:30:01.000Z renderq-worker[gpu-1] failed job=3f1c code=render_failed'
            ' message="a message with spaces"\n'
            'not a log line\n'
            '2026-11-21T22:30:02.500Z renderq-worker[gpu-1] stopped\n')
        events = parse_worker_log(text, "gpu-1")
        self.assertEqual([e["event"] for e in events], ["claimed", "failed", "stopped"])
        self.assertEqual(events[0]["job"], "3f1c")
        self.assertEqual(events[0]["fields"]["resume_from"], "10")
        self.assertEqual(events[1]["fields"]["message"], "a message with spaces")
        self.assertIsNone(events[2]["job"])
        self.assertAlmostEqual(events[2]["t"] - events[0]["t"], 2.377, places=3)


if __name__ == "__main__":
    unittest.main()
