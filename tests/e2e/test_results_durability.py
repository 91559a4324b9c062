#!/usr/bin/env python3
"""A job is marked succeeded only once its PNG and the directory entry are on
disk, asserted at the system-call level on the real renderq-worker.

The worker renders one job under `strace -f -y`; in the trace, for the job's
result file:
    fsync(temp file)  ->  rename(temp, <id>.png)  ->  fsync(results directory)
                      ->  the COMMIT that marks the job succeeded
where that COMMIT is the first write to queue.db-wal carrying the job's row in
state 'succeeded' (this test's database holds one job, so the text
"succeeded" appears in no other row) and the WAL sync after it. Each step must
have returned before the next one starts (a call that strace shows as
<unfinished ...> counts as started there and finished at its "resumed" line).
Whoever writes the file (core/atomic_file, a library, a rewrite), this holds
or the test fails.

Needs strace (Debian's strace); skipped without it. Bounded to 90 s.
"""
import json
import os
import re
import shutil
import signal
import sys

import stack
import worker_stack

CALL = re.compile(r"^(?:\[pid\s+(\d+)\]\s+|(\d+)\s+)?(.*)$")


def parse(trace_text):
    """[(kind, syscall, args text, entry line, exit line)]: kind is 'call'."""
    calls = []
    open_calls = {}  # pid -> index into calls of its unfinished call
    for n, raw in enumerate(trace_text.splitlines()):
        m = CALL.match(raw)
        pid = m.group(1) or m.group(2) or "main"
        line = m.group(3)
        resumed = re.match(r"^<\.\.\. (\w+) resumed>(.*)$", line)
        if resumed:
            i = open_calls.pop(pid, None)
            if i is not None:
                name, args, start, _ = calls[i]
                calls[i] = (name, args + resumed.group(2), start, n)
            continue
        call = re.match(r"^(\w+)\((.*)$", line)
        if not call:
            continue
        if line.endswith("<unfinished ...>"):
            calls.append((call.group(1), call.group(2), n, None))
            open_calls[pid] = len(calls) - 1
        else:
            calls.append((call.group(1), call.group(2), n, n))
    return calls


def ok(call):
    return re.search(r"\)\s+= 0\s*$", call[1]) is not None


def main():
    stack.time_limit(90)
    if shutil.which("strace") is None:
        print("skipped: strace is not installed (Debian package strace)")
        return stack.SKIP
    stack.require_binaries("renderq-worker")
    with stack.Stack(threads=2) as s:
        token = s.create_token("alice")
        status, job, _ = worker_stack.submit(s, token, worker_stack.scene(32, 24, 4))
        assert status == 201, (status, job)
        job_id = job["id"]

        workers = worker_stack.WorkerSet(s, extra_args=["--cpu-threads", "1"])
        trace_path = s.dir / "worker.strace"
        command = workers.command("traced")
        # -y: file descriptors with their paths; -s: whole WAL pages in writes.
        traced = ["strace", "-f", "-y", "-s", "70000", "-o", str(trace_path),
                  "-e", "trace=openat,rename,renameat,renameat2,fsync,fdatasync,pwrite64,write",
                  "-e", "signal=none"] + command
        # LeakSanitizer cannot run under ptrace: off for the traced worker of
        # the sanitizer build (ASan's other checks stay on).
        asan = ":".join(o for o in [os.environ.get("ASAN_OPTIONS", ""), "detect_leaks=0"] if o)
        workers.procs["traced"] = s._spawn("worker-traced", traced, env={"ASAN_OPTIONS": asan})
        jobs = worker_stack.wait_terminal(s, token, [job_id], timeout=60)
        assert jobs[job_id]["state"] == "succeeded", jobs[job_id]
        # SIGTERM to the worker alone: strace then exits with it, trace written.
        strace_proc = workers.procs["traced"]
        children = open("/proc/%d/task/%d/children" % (strace_proc.pid, strace_proc.pid)).read()
        os.kill(int(children.split()[0]), signal.SIGTERM)
        code = strace_proc.wait(timeout=30)
        assert code == 0, "worker under strace exited %s:\n%s" % (code, s.log_tail("worker-traced"))

        calls = parse(trace_path.read_text(errors="replace"))
        results = str(s.results)
        png = "%s/%s.png" % (results, job_id)
        temp = re.compile(r"%s/\.%s\.png\.tmp-\d+-\d+" % (re.escape(results), job_id))
        wal = str(s.db) + "-wal"

        def first(pred, after=-1, what=""):
            for i, c in enumerate(calls):
                if c[2] > after and pred(c):
                    assert c[3] is not None, "%s never returned" % what
                    return c
            raise AssertionError("no %s after line %d of %s" % (what, after, trace_path))

        rename = first(lambda c: c[0].startswith("rename") and temp.search(c[1]) and
                       ('"%s"' % png) in c[1], what="rename of the temp file to %s" % png)
        temp_name = temp.search(rename[1]).group(0)
        temp_sync = [c for c in calls if c[0] in ("fsync", "fdatasync") and
                     ("<%s>" % temp_name) in c[1]]
        assert temp_sync, "the temp file %s was never fsynced" % temp_name
        assert ok(temp_sync[-1]), "fsync of the temp file failed: %s" % (temp_sync[-1],)
        assert temp_sync[-1][3] < rename[2], "fsync(temp) must return before the rename starts"
        writes = [c for c in calls if c[0] in ("write", "pwrite64") and
                  ("<%s>" % temp_name) in c[1]]
        assert writes and all(w[3] < temp_sync[-1][2] for w in writes), \
            "every write of the PNG comes before its fsync"
        assert ok(rename), "rename failed: %s" % (rename,)

        dir_sync = first(lambda c: c[0] in ("fsync", "fdatasync") and
                         re.match(r"\d+<%s>\)" % re.escape(results), c[1]),
                         after=rename[3], what="fsync of %s" % results)
        assert ok(dir_sync), "fsync of the results directory failed: %s" % (dir_sync,)

        commit_write = first(lambda c: c[0] in ("pwrite64", "write") and
                             ("<%s>" % wal) in c[1] and "succeeded" in c[1],
                             what="WAL write marking %s succeeded" % job_id)
        assert commit_write[2] > dir_sync[3], (
            "the row was marked succeeded (trace line %d) before the results directory was "
            "synced (line %d)" % (commit_write[2] + 1, dir_sync[3] + 1))
        commit_sync = first(lambda c: c[0] in ("fsync", "fdatasync") and ("<%s>" % wal) in c[1],
                            after=commit_write[3], what="WAL sync of the COMMIT")
        assert ok(commit_sync)
        order = [("fsync(temp)", temp_sync[-1]), ("rename", rename),
                 ("fsync(dir)", dir_sync), ("WAL write", commit_write),
                 ("WAL sync", commit_sync)]
        print("order in the trace (line numbers): " +
              " -> ".join("%s %d" % (name, c[2] + 1) for name, c in order))
        print(json.dumps({"job": job_id, "syscalls_traced": len(calls)}))
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
