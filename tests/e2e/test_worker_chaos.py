#!/usr/bin/env python3
"""Chaos: submits under load while the responder and two workers are SIGKILLed
at random moments (at least 300 kills) and restarted as systemd would. Then:
every job that got a 201 is in the database and terminal, no temp files are
left, every succeeded job's PNG (as a client downloads it) is byte-identical to
a clean render of its scene, and the database is consistent (SQLite's
integrity_check; on PostgreSQL every succeeded job has its stored result).
RENDERQ_E2E_BACKEND=postgres runs it on PostgreSQL (ctest: e2e_worker_chaos_postgres).

RENDERQ_CHAOS_KILLS=N (default 300) sets the number of kills; a longer run,
e.g. RENDERQ_CHAOS_KILLS=3000, is for soak testing outside CI."""
import os
import random
import signal
import sys
import tempfile
import pathlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import stack
import worker_stack as ws

KILLS = int(os.environ.get("RENDERQ_CHAOS_KILLS", "300"))
SUBMITTERS = 3
# Jobs draw their scene from this many variants, so that checking every
# succeeded job against a clean render costs one render per variant, not one
# per job (about 1,000 jobs; a render each took 70 s of a 170 s budget under
# AddressSanitizer on 2 cores).
SCENE_VARIANTS = 61
WORKER_ARGS = ["--lease-seconds", "2", "--checkpoint-seconds", "0.2"]


def chaos_scene(seed):
    variant = seed % SCENE_VARIANTS
    rng = random.Random(variant)
    return ws.scene(rng.choice([16, 24, 32]), rng.choice([12, 16, 24]), rng.randint(4, 120),
                    seed=variant)


class Submitter(threading.Thread):
    def __init__(self, s, token, n, stop):
        super().__init__(daemon=True)
        self.s, self.token, self.n, self.stop = s, token, n, stop
        self.created = {}  # id -> seed
        self.statuses = {}

    def run(self):
        seed = self.n * 1_000_000
        conn = None
        while not self.stop.is_set():
            seed += 1
            try:
                conn = conn or self.s.connection(timeout=5)
                status, job, _ = ws.submit(self.s, self.token, chaos_scene(seed), conn=conn)
            except (OSError, ValueError):
                conn = None  # nginx or the responder went away mid-request
                time.sleep(0.01)
                continue
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 201:
                self.created[job["id"]] = seed
            time.sleep(0.25)  # load, not a flood: the workers must keep up


def restart_responder(s):
    s.kill_responder(signal.SIGKILL)
    s.start_responder()


def kill_loop(s, workers, rng):
    victims = ["responder", "w1", "w2"]
    kills = {v: 0 for v in victims}
    for _ in range(KILLS):
        time.sleep(rng.uniform(0.05, 0.45))
        victim = rng.choice(victims)
        if victim == "responder":
            restart_responder(s)
        else:
            workers.stop(victim, signal.SIGKILL)
            time.sleep(rng.uniform(0.0, 0.1))  # systemd's RestartSec, shortened
            workers.start(victim)
        kills[victim] += 1
    return kills


def check_results(s, owners, created, jobs):
    succeeded = [i for i, j in jobs.items() if j["state"] == "succeeded"]
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="renderq-chaos-clean-", dir=s.dir))

    clean_renders = {}
    clean_lock = threading.Lock()

    def clean_render_of(seed):
        variant = seed % SCENE_VARIANTS
        with clean_lock:
            if variant not in clean_renders:
                clean_renders[variant] = ws.clean_render(chaos_scene(seed), scratch,
                                                         "variant%d" % variant)
            return clean_renders[variant]

    def compare(job_id):
        data = s.result_png(owners[job_id], job_id)
        scene = chaos_scene(created[job_id])
        assert ws.png_size(data) == (scene["width"], scene["height"])
        assert data == clean_render_of(created[job_id]), \
            "job %s: PNG differs from a clean render" % job_id

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(compare, succeeded))
    return len(succeeded)


def main():
    stack.time_limit(int(200 + KILLS * 0.3 if KILLS > 300 else 200))
    stack.require_binaries("renderq-worker", "renderq-render")
    rng = random.Random(int(os.environ.get("RENDERQ_CHAOS_SEED", time.time())))
    with stack.Stack(threads=4) as s:
        print("backend: %s" % s.backend)
        tokens = [s.create_token("chaos%d" % i) for i in range(SUBMITTERS)]
        workers = ws.WorkerSet(s, WORKER_ARGS)
        for name in ("w1", "w2"):
            workers.start(name)
        workers.wait_registered(["w1", "w2"])
        stop = threading.Event()
        submitters = [Submitter(s, tokens[i], i + 1, stop) for i in range(SUBMITTERS)]
        for t in submitters:
            t.start()
        started = time.monotonic()
        kills = kill_loop(s, workers, rng)
        stop.set()
        for t in submitters:
            t.join(timeout=10)
        print("kills %s in %.0f s; submit statuses %s" % (
            kills, time.monotonic() - started, [t.statuses for t in submitters]))

        # Settle: everything running, then every 201 must end terminal.
        s.wait_ready()
        created = {}
        owners = {}
        jobs = {}
        for t, token in zip(submitters, tokens):
            created.update(t.created)
            owners.update({job_id: token for job_id in t.created})
            jobs.update(ws.wait_terminal(s, token, list(t.created), timeout=90))
        in_db = s.job_ids_in_db()
        lost = [i for i in created if i not in in_db]
        assert not lost, "%d jobs with a 201 are not in the database: %s" % (len(lost), lost[:5])

        # A last restart sweeps what killed workers left; then stop cleanly.
        workers.stop_all()
        for name in ("w1", "w2"):
            workers.start(name)
        workers.wait_registered(["w1", "w2"])
        for name in ("w1", "w2"):
            code, seconds = workers.stop(name)
            assert code == 0 and seconds < 10, (name, code, seconds)
        assert ws.leftover_files(s.results) == [], ws.leftover_files(s.results)
        partial = s.partial_files_of_finished_jobs()
        assert not partial, "previews or checkpoints of finished jobs left: %s" % partial[:5]
        assert s.integrity_check() == ["ok"], s.integrity_check()

        states = {}
        for j in jobs.values():
            states[j["state"]] = states.get(j["state"], 0) + 1
        compared = check_results(s, owners, created, jobs)
        print("ok: %d jobs with a 201, states %s; %d PNGs byte-identical to clean renders" % (
            len(created), states, compared))
        assert compared > 0, "no job succeeded under chaos"


if __name__ == "__main__":
    sys.exit(main())
