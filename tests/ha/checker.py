"""The history checker: did the queue keep its promises through the faults?

    report = check(RunHistory.load(run_dir), CheckOptions(workers=3))
    report["ok"], report["lost"], report["doubled"], ...
    print(format_report(report))

It reads what the client was told, what the database kept and what the
workers did (tests/ha/history.py says where each comes from) and reports:

  lost          a job acknowledged with 201 that the database no longer has, or
                that never finished although the queue was drained, or whose
                success a client saw and the database no longer shows
  doubled       a job that succeeded twice: two workers each told their finish
                was committed, two transitions into `succeeded` in the row
                history, or two jobs made from one submit
  changed       a job whose result changed: two ETags for one job, or a job a
                client saw succeeded and later saw in another state
  unexpected    a job nobody submitted, or one whose submit was refused (4xx:
                SPEC says nothing is stored)
  concurrent    a job rendered by two processes at the same time: the later
                claim came before the earlier holder stopped, i.e. the earlier
                one kept rendering past its lease (overlap in seconds)
  stale_finish  a worker told that its finish committed although the
                database had ended its lease otherwise (requeued, given to
                another worker): a finish accepted from a stale lease
  bad_state     a change of state SPEC does not allow (anything after
                `succeeded`, a lease replaced while running, ...), or a final row
                SPEC does not allow (succeeded without its result, a failure
                code the workload cannot cause)
  fifo          a claim that passed more queued jobs older than itself than the
                documented bound: claims in flight at once skip each other's
                rows (SKIP LOCKED), so with W workers a claim may pass at most
                W - 1 older queued jobs

What a submit's answer means here: 201 acknowledged (the job must exist and
run exactly once); 4xx refused (SPEC: nothing stored); a 5xx, a transport
error or a timeout leaves it undetermined (the job may exist; if it does, it
must still run exactly once). `ok` is true when every list above is empty.

Besides the verdict, figures: submits by answer (and 503s that came without
the Retry-After SPEC promises them), jobs by final state,
attempts and how they ended, resumes from checkpoints (on another host or
the same), rendering time lost to leases (from each lost attempt's last
checkpoint, or its start, to its end), and for each failover the time from
the primary's death to the first 201 of a submit sent after it.
Python 3 standard library only; the checker trusts nothing the product says
about itself beyond the logs and rows named above.
"""
import collections
import dataclasses

ACKNOWLEDGED, REFUSED, UNDETERMINED = "acknowledged", "refused", "undetermined"
TERMINAL = ("succeeded", "failed", "canceled")
# SPEC's job states and the changes between them (None: the job's insert).
ALLOWED_CHANGES = {
    (None, "queued"), ("queued", "running"), ("queued", "canceled"),
    ("running", "queued"), ("running", "succeeded"), ("running", "failed"),
    ("running", "canceled"), ("failed", "queued"), ("canceled", "queued"),
}
# Worker log events after which the worker no longer renders the job.
ATTEMPT_ENDS = ("succeeded", "failed", "canceled", "released", "lease_lost", "lease_expired",
                "store_error", "device_fault", "internal_error")
# How an attempt ended without a result: its rendering since the last
# checkpoint is lost (to a lease that passed, or a process that died).
LOST_ENDINGS = ("lease_lost", "lease_expired", "store_error", "killed", "exited")
# Log lines carry milliseconds (truncated), commit times microseconds.
CLOCK_SLACK = 0.002
# The report's lists of violations, in the order they are printed.
VERDICTS = ("lost", "doubled", "changed", "unexpected", "concurrent", "stale_finish",
            "bad_state", "fifo")


@dataclasses.dataclass
class CheckOptions:
    workers: int = 3                      # worker processes at once (the FIFO bound is this - 1)
    drained: bool = True                  # the run waited until nothing was queued or running
    allowed_failures: tuple = ("worker_lost",)  # failure codes the workload may legitimately end in
    overlap_tolerance: float = 0.0        # seconds of overlap not reported (log timing slack)


def submit_outcome(rec):
    status = rec.get("status")
    if status == 201:
        return ACKNOWLEDGED
    if status is not None and 400 <= status < 500:
        return REFUSED
    return UNDETERMINED


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(p / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


# ---- attempts, from the workers' logs

def worker_attempts(history):
    """Every attempt a worker process made at a job: {"job", "host", "process",
    "start", "end", "how", "resume_from", "last_checkpoint"}. `process`
    tells two processes of one host apart; `how` is the event that ended it,
    "killed"/"exited" when its process died first, or "running" at the end."""
    runs = collections.defaultdict(list)
    for run in history.runs:
        if run.get("program") == "renderq-worker":
            runs[run["host"]].append(run)
    for rs in runs.values():
        rs.sort(key=lambda r: r["start"])

    def process_of(host, t):
        """(index, run) of the host's process that wrote a line at t."""
        found = (None, None)
        for i, run in enumerate(runs.get(host, [])):
            if run["start"] <= t + 0.001:
                found = (i, run)
        return found

    attempts = []
    open_ = {}  # (host, job) -> attempt

    def close(attempt, end, how):
        attempt["end"], attempt["how"] = end, how
        attempts.append(attempt)
        open_.pop((attempt["host"], attempt["job"]), None)

    def close_dead(host, before):
        for key in [k for k in open_ if k[0] == host]:
            a = open_[key]
            _, run = process_of(host, a["start"])
            end = run["end"] if run and run.get("end") is not None else before
            close(a, min(end, before), "killed" if run and run.get("killed") else "exited")

    for e in history.worker_events:
        host, job = e["host"], e["job"]
        if e["event"] == "starting":
            close_dead(host, e["t"])
        elif e["event"] == "claimed" and job:
            if (host, job) in open_:
                close(open_[(host, job)], e["t"], "reclaimed")
            index, _ = process_of(host, e["t"])
            fields = e["fields"]
            open_[(host, job)] = {
                "job": job, "host": host, "name": e.get("name", host), "process": (host, index),
                "start": e["t"], "logged_start": e["t"], "end": None, "how": None,
                "resume_from": int(fields.get("resume_from", 0) or 0),
                "last_checkpoint": None,
            }
        elif e["event"] == "checkpoint" and (host, job) in open_:
            open_[(host, job)]["last_checkpoint"] = e["t"]
        elif e["event"] in ATTEMPT_ENDS and (host, job) in open_:
            # The line may come long after rendering stopped (a final write to
            # a slow or silent database); the worker says how long.
            stopped = e["t"] - int(e["fields"].get("stopped_ms_ago", 0) or 0) / 1000.0
            close(open_[(host, job)], max(stopped, open_[(host, job)]["start"]), e["event"])
    for key in list(open_):
        a = open_[key]
        _, run = process_of(a["host"], a["start"])
        if run and run.get("end") is not None:
            close(a, run["end"], "killed" if run.get("killed") else "exited")
        else:
            close(a, history.end_time, "running")
    _match_leases(attempts, history.changes)
    attempts.sort(key=lambda a: (a["start"], a["host"]))
    return attempts


def _match_leases(attempts, changes):
    """Ties each attempt to the lease the database gave it, when the database
    kept that claim: the claim's commit is the attempt's true start (the worker
    logs `claimed` only once it has loaded the scene and checkpoint), and how
    the lease ended says whether the attempt's work survived. A finish whose
    COMMIT happened but whose answer was lost on the way (the worker then logs
    lease_lost on its retry) counts as the success it was, ending at that
    commit."""
    claims = collections.defaultdict(list)
    ends = {}
    for c in changes:
        t = (c.get("commit_us") or 0) / 1e6
        if c["new_state"] == "running" and c.get("old_state") != "running" and c.get("commit_us"):
            claims[(c["job"], c.get("worker"))].append((t, c.get("new_lease")))
        if c.get("old_lease") is not None and c.get("old_lease") != c.get("new_lease"):
            ends[c["old_lease"]] = (c["new_state"], t)
    for a in attempts:
        a["lease"], a["lease_end"] = None, None
        before = [cl for cl in claims.get((a["job"], a["name"]), [])
                  if cl[0] <= a["logged_start"] + CLOCK_SLACK]
        if not before:
            continue
        t, lease = max(before)
        if a["logged_start"] - t > 30:
            continue
        a["start"], a["lease"] = t, lease
        a["lease_end"] = ends.get(lease)
        if a["lease_end"] and a["lease_end"][0] == "succeeded" and a["how"] != "succeeded":
            a["how"] = "succeeded (answer lost)"
            a["end"] = min(a["end"], a["lease_end"][1])


# ---- the checks

def check(history, options=None):
    options = options or CheckOptions()
    report = {key: [] for key in VERDICTS}
    submits_by_seed = {}
    for rec in history.submits:
        submits_by_seed[rec["seed"]] = rec
    acked = {rec["job"]: rec for rec in history.submits if submit_outcome(rec) == ACKNOWLEDGED}
    db = {j["id"]: j for j in history.db_jobs}
    attempts = worker_attempts(history)

    _check_lost(report, history, acked, db, options)
    _check_doubled(report, history, db)
    _check_changed(report, history, db)
    _check_unexpected(report, history, submits_by_seed)
    _check_concurrent(report, attempts, options)
    _check_stale_finishes(report, attempts)
    _check_states(report, history, options)
    _check_fifo(report, history, options)
    report["ok"] = not any(report[k] for k in VERDICTS)
    report["figures"] = _figures(history, acked, db, attempts, submits_by_seed)
    return report


def _check_lost(report, history, acked, db, options):
    seen_succeeded = {}
    for p in history.polls:
        if p.get("state") == "succeeded" and p.get("status") == 200:
            seen_succeeded.setdefault(p["job"], p["t1"])
    for job, rec in sorted(acked.items(), key=lambda kv: kv[1]["t1"]):
        row = db.get(job)
        if row is None:
            report["lost"].append({"job": job, "why": "acknowledged, not in the database",
                                   "acknowledged_at": rec["t1"], "web": rec.get("web")})
        elif options.drained and row["state"] not in TERMINAL:
            report["lost"].append({"job": job, "why": "never finished (still %s)" % row["state"]})
        elif job in seen_succeeded and row["state"] != "succeeded":
            report["lost"].append({"job": job, "why": "seen succeeded, now %s" % row["state"]})


def _check_doubled(report, history, db):
    successes = collections.defaultdict(list)
    for e in history.worker_events:
        if e["event"] == "succeeded" and e["job"]:
            successes[e["job"]].append((e["host"], e["t"]))
    for job, finishes in successes.items():
        if len(finishes) > 1:
            report["doubled"].append({"job": job, "why": "%d workers' finishes committed"
                                      % len(finishes), "finishes": finishes})
    commits = collections.Counter(c["job"] for c in history.changes
                                  if c["new_state"] == "succeeded")
    for job, n in commits.items():
        if n > 1 and len(successes.get(job, [])) <= 1:  # else reported above
            report["doubled"].append({"job": job, "why": "%d commits into succeeded" % n})
    by_seed = collections.defaultdict(list)
    for j in history.db_jobs:
        if j.get("seed") is not None:
            by_seed[j["seed"]].append(j["id"])
    for seed, ids in by_seed.items():
        if len(ids) > 1:
            report["doubled"].append({"seed": seed, "jobs": ids,
                                      "why": "one submit made %d jobs" % len(ids)})


def _check_changed(report, history, db):
    # An ETag is quoted in HTTP, the worker's log and the row; compared unquoted.
    etags = collections.defaultdict(set)
    for p in history.polls:
        if p.get("etag"):
            etags[p["job"]].add(p["etag"].strip('"'))
    for e in history.worker_events:
        if e["event"] == "succeeded" and e["job"] and e["fields"].get("etag"):
            etags[e["job"]].add(e["fields"]["etag"].strip('"'))
    for j in history.db_jobs:
        if j.get("etag"):
            etags[j["id"]].add(j["etag"].strip('"'))
    for job, found in etags.items():
        if len(found) > 1:
            report["changed"].append({"job": job, "why": "results %s" % sorted(found)})
    # Real-time order: a look that began after another ended saw a later state.
    by_job = collections.defaultdict(list)
    for p in history.polls:
        if p.get("status") in (200, 404):
            by_job[p["job"]].append(p)
    for job, looks in by_job.items():
        looks.sort(key=lambda p: p["t0"])
        first_success = None
        for p in looks:
            if first_success is not None and p["t0"] > first_success["t1"] and \
                    (p["status"] == 404 or p["state"] != "succeeded"):
                report["changed"].append({
                    "job": job, "why": "seen succeeded at %.3f, then %s at %.3f" % (
                        first_success["t1"], p["state"] if p["status"] == 200 else "missing",
                        p["t0"])})
                break
            if p["status"] == 200 and p["state"] == "succeeded" and first_success is None:
                first_success = p


def _check_unexpected(report, history, submits_by_seed):
    for j in history.db_jobs:
        rec = submits_by_seed.get(j.get("seed"))
        if rec is None:
            report["unexpected"].append({"job": j["id"], "seed": j.get("seed"),
                                         "why": "no submit had this seed"})
        elif submit_outcome(rec) == REFUSED:
            report["unexpected"].append({"job": j["id"], "seed": j["seed"],
                                         "why": "its submit was refused with %s" % rec["status"]})


def _check_concurrent(report, attempts, options):
    by_job = collections.defaultdict(list)
    for a in attempts:
        by_job[a["job"]].append(a)
    for job, tries in by_job.items():
        tries.sort(key=lambda a: a["start"])
        for i, earlier in enumerate(tries):
            for later in tries[i + 1:]:
                if later["process"] == earlier["process"]:
                    continue
                overlap = min(earlier["end"], later["end"]) - later["start"]
                if overlap > options.overlap_tolerance:
                    report["concurrent"].append({
                        "job": job, "overlap_seconds": round(overlap, 3),
                        "earlier": {"host": earlier["host"], "start": earlier["start"],
                                    "end": earlier["end"], "how": earlier["how"]},
                        "later": {"host": later["host"], "start": later["start"],
                                  "end": later["end"], "how": later["how"]}})


def _check_stale_finishes(report, attempts):
    for a in attempts:
        if a["how"] != "succeeded" or a.get("lease_end") is None:
            continue
        state, t = a["lease_end"]
        if state != "succeeded":
            report["stale_finish"].append({
                "job": a["job"], "host": a["host"], "lease": a["lease"],
                "why": "its worker was told the finish committed at %.3f; its lease had ended"
                       " %s at %.3f" % (a["end"], state, t)})


def _check_states(report, history, options):
    last = {}
    for c in history.changes:
        job = c["job"]
        change = (c.get("old_state"), c["new_state"])
        if change == ("running", "running"):
            if c.get("old_lease") != c.get("new_lease"):
                report["bad_state"].append({"job": job, "why": "lease %s replaced by %s while"
                                            " running" % (c.get("old_lease"), c.get("new_lease"))})
        elif change not in ALLOWED_CHANGES:
            report["bad_state"].append({"job": job, "why": "%s -> %s" % change})
        if c.get("old_seq") is not None and c["old_seq"] != c["seq"] and \
                change not in (("failed", "queued"), ("canceled", "queued")):
            report["bad_state"].append({"job": job, "why": "place in line changed by %s -> %s"
                                        % change})
        if job in last and last[job] != c.get("old_state") and c.get("old_state") is not None:
            report["bad_state"].append({"job": job, "why": "history gap: was %s, change from %s"
                                        % (last[job], c.get("old_state"))})
        last[job] = c["new_state"]
    for j in history.db_jobs:
        if j["state"] == "succeeded" and not (j.get("has_result") and j.get("etag")):
            report["bad_state"].append({"job": j["id"], "why": "succeeded without its result"})
        if j["state"] == "failed" and j.get("error_code") not in options.allowed_failures:
            report["bad_state"].append({"job": j["id"], "why": "failed with %s"
                                        % j.get("error_code")})
        if j["state"] in TERMINAL and j.get("finished_at") is None:
            report["bad_state"].append({"job": j["id"], "why": "%s without finished_at"
                                        % j["state"]})


def _check_fifo(report, history, options):
    bound = max(0, options.workers - 1)
    state = {}          # job -> (state, seq)
    queued_since = {}   # job -> commit time (s) of its last change into queued
    for c in history.changes:
        t = (c.get("commit_us") or 0) / 1e6
        if c.get("old_state") == "queued" and c["new_state"] == "running":
            # Only jobs already queued when the claim's statement ran could be
            # taken by it (at_ms: when the claim changed its row).
            at = c["at_ms"] / 1000.0
            older = [j for j, (s, seq) in state.items()
                     if s == "queued" and seq < c["seq"] and j != c["job"]
                     and queued_since.get(j, 0) < at]
            if len(older) > bound:
                report["fifo"].append({"job": c["job"], "seq": c["seq"], "passed": len(older),
                                       "bound": bound, "at": at})
        state[c["job"]] = (c["new_state"], c["seq"])
        if c["new_state"] == "queued":
            queued_since[c["job"]] = t


# ---- figures

def _figures(history, acked, db, attempts, submits_by_seed):
    outcomes = collections.Counter(submit_outcome(r) for r in history.submits)
    statuses = collections.Counter(str(r.get("status") or (r.get("error") or "?").split(":")[0])
                                   for r in history.submits)
    db_seeds = {j.get("seed") for j in history.db_jobs}
    undetermined = [r for r in history.submits if submit_outcome(r) == UNDETERMINED]
    hows = collections.Counter(a["how"] for a in attempts)
    previous_host = {}
    resumed_same = resumed_other = 0
    lost_seconds = 0.0
    lost_attempts = 0
    for a in sorted(attempts, key=lambda a: a["start"]):
        if a["resume_from"] > 0:
            if previous_host.get(a["job"]) not in (None, a["host"]):
                resumed_other += 1
            else:
                resumed_same += 1
        previous_host[a["job"]] = a["host"]
        if a["how"] in LOST_ENDINGS:
            lost_attempts += 1
            lost_seconds += max(0.0, a["end"] - max(a["start"], a["last_checkpoint"] or 0.0))
    recovery = failover_recovery(history)
    return {
        "submits": len(history.submits),
        "submits_by_outcome": dict(outcomes),
        "submits_by_status": dict(statuses),
        "unavailable_without_retry_after": sum(
            1 for r in history.submits if r.get("status") == 503 and not r.get("retry_after")),
        "undetermined_in_database": sum(1 for r in undetermined if r["seed"] in db_seeds),
        "undetermined_absent": sum(1 for r in undetermined if r["seed"] not in db_seeds),
        "jobs_in_database": len(history.db_jobs),
        "jobs_by_state": dict(collections.Counter(j["state"] for j in history.db_jobs)),
        "attempts": len(attempts),
        "attempts_by_end": dict(hows),
        "resumed_same_host": resumed_same,
        "resumed_other_host": resumed_other,
        "attempts_lost": lost_attempts,
        "render_seconds_lost": round(lost_seconds, 3),
        "faults": dict(collections.Counter(f["kind"] for f in history.faults)),
        "failover_recovery_seconds": [round(r, 3) for r in recovery],
        "failover_recovery_p50": _round(percentile(recovery, 50)),
        "failover_recovery_p99": _round(percentile(recovery, 99)),
    }


def _round(v):
    return None if v is None else round(v, 3)


def failover_recovery(history):
    """Per failover: seconds from the primary's death (every process of its host
    gone) to the first 201 of a submit sent after it (a failover never followed
    by one is left out)."""
    out = []
    acks = sorted((r["t0"], r["t1"]) for r in history.submits if r.get("status") == 201)
    for f in history.faults:
        if f["kind"] != "failover":
            continue
        after = [t1 for t0, t1 in acks if t0 >= f["t0"]]
        if after:
            out.append(min(after) - f["t0"])
    return out


def format_report(report, limit=5):
    lines = ["verdict: %s" % ("ok" if report["ok"] else "VIOLATIONS")]
    for key in VERDICTS:
        items = report[key]
        lines.append("%-11s %d" % (key, len(items)))
        for item in items[:limit]:
            lines.append("    %s" % item)
    for key, value in report["figures"].items():
        if key == "failover_recovery_seconds":
            continue
        lines.append("%s: %s" % (key, value))
    return "\n".join(lines)
