"""What a cluster run leaves behind, read into plain records for tests/ha/checker.py.

A run directory holds:
  client.jsonl   the client's history (tests/ha/client.py): every submit with the
                 answer it got (201 + id, another status, or a transport error or
                 timeout) and every poll of a job (state, attempts, result ETag)
  final.jsonl    every acknowledged job as the API showed it after the run
  database.jsonl the final primary's jobs (with the seed of each scene) and the
                 row history of the jobs table (tests/ha/history.sql), with each
                 change's commit time
  runs.jsonl     every process the supervisor started: host, program, start,
                 end, whether it was SIGKILLed
  faults.jsonl   what the nemesis did and when
  log/<host>-renderq-worker.log   the workers' own logs

Where each kind of fact comes from, and why:
- What a client was promised is only in the client's history (the product
  keeps no record of the answers it gave).
- What the database kept is the final primary's rows and their history: a
  commit lost in a failover is missing from both, as it should be.
- When a worker rendered a job is only in the worker's log: the database
  knows when it last heard from a worker, not when the worker stopped. A
  `claimed` line opens an attempt; the attempt ends at the worker's next line
  for that job that ends it (lease_expired, written by the self-fence as it
  stops rendering; succeeded, lease_lost, released, ..., which say how long
  before they were written rendering stopped: stopped_ms_ago) or, if the
  process died first, at the instant the supervisor killed it or saw it exit.
All clocks are this machine's (the hosts are namespaces of one kernel), so
the times of the client, the workers and the database compare directly.
"""
import calendar
import json
import pathlib
import re
import time

LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z renderq-worker\[([^\]]*)\] "
                      r"(\S+)(.*)$")
FIELD = re.compile(r'(\w+)=("[^"]*"|\S*)')


def parse_log_time(stamp, millis):
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S")) + int(millis) / 1000.0


def parse_worker_log(text, host):
    """Worker events: {"t", "host", "event", "job", "fields"} per log line."""
    events = []
    for line in text.splitlines():
        m = LOG_LINE.match(line)
        if not m:
            continue
        fields = {k: v.strip('"') for k, v in FIELD.findall(m.group(5))}
        events.append({"t": parse_log_time(m.group(1), m.group(2)), "host": host,
                       "name": m.group(3), "event": m.group(4), "job": fields.pop("job", None),
                       "fields": fields})
    return events


def read_jsonl(path):
    path = pathlib.Path(path)
    if not path.exists():
        return []
    records = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    pass  # a line cut short by a kill: the rest still counts
    return records


class RunHistory:
    """Every record of one run, by kind."""

    def __init__(self):
        self.submits = []      # client submits
        self.polls = []        # client polls during the run, and the final look
        self.db_jobs = []      # the final primary's jobs
        self.changes = []      # the jobs table's row history, in commit order
        self.worker_events = []
        self.runs = []         # processes: {"service", "host", "program", "start", "end", "killed"}
        self.faults = []       # {"kind", "t0", "t1", ...}
        self.end_time = None   # when the run's processes were last seen (for attempts never ended)

    @classmethod
    def load(cls, run_dir):
        run_dir = pathlib.Path(run_dir)
        h = cls()
        for rec in read_jsonl(run_dir / "client.jsonl"):
            (h.submits if rec["type"] == "submit" else h.polls).append(rec)
        h.polls += read_jsonl(run_dir / "final.jsonl")
        for rec in read_jsonl(run_dir / "database.jsonl"):
            (h.db_jobs if rec["type"] == "job" else h.changes).append(rec)
        h.runs = read_jsonl(run_dir / "runs.jsonl")
        h.faults = read_jsonl(run_dir / "faults.jsonl")
        for path in sorted((run_dir / "log").glob("*-renderq-worker.log")):
            host = path.name[:-len("-renderq-worker.log")]
            h.worker_events += parse_worker_log(path.read_text(errors="replace"), host)
        meta = run_dir / "meta.json"
        if meta.exists():
            h.end_time = json.loads(meta.read_text()).get("end_time")
        h.normalise()
        return h

    def normalise(self):
        self.changes.sort(key=lambda c: (c.get("commit_us") or 0, c["n"]))
        self.worker_events.sort(key=lambda e: e["t"])
        if self.end_time is None:
            times = [e["t"] for e in self.worker_events] + [r.get("end") or r["start"]
                                                           for r in self.runs]
            self.end_time = max(times) if times else 0.0
