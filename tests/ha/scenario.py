"""One checked run: a cluster, a steady load, a list of faults, the history, the verdict.

    report = run(Scenario(name="durable", synchronous=True, steps=[...]), run_dir)

1. starts the cluster (tests/ha/cluster.py) and the client's load;
2. performs every fault step in order, with `settle` seconds between them;
3. heals the network, stops the load, waits for the queue to drain and for
   every worker's LISTEN session to be on the primary of the moment;
4. asks the API for every acknowledged job once more, dumps the database
   (jobs and row history) and the processes' runs, stops everything;
5. checks the history (tests/ha/checker.py) and writes report.json.
The run directory keeps the histories and logs (not the database files), so
a verdict can be checked again offline: `python3 tests/ha/scenario.py DIR`.
"""
import dataclasses
import json
import pathlib
import shutil
import signal
import sys
import time

import checker
import cluster
import history as history_module
import nemesis as nemesis_module


@dataclasses.dataclass
class Scenario:
    name: str
    synchronous: bool = True
    steps: list = dataclasses.field(default_factory=list)  # nemesis.schedule(...) steps
    settle: float = 1.5          # seconds between faults
    warmup: float = 2.0          # load before the first fault
    cooldown: float = 2.0        # load after the last fault
    rate: float = 20.0           # submits per second
    client_threads: int = 4
    long_share: float = 0.1
    tiny: dict = None
    long: dict = None
    gpu_hosts: int = 3
    lease_seconds: float = 2.0
    checkpoint_seconds: float = 0.5
    worker_args: tuple = ()
    drain_timeout: float = 180.0
    seed: int = 1
    fsync: bool = False
    on_step: object = None       # called with (index, step) before each fault (progress lines)


def run(scenario, run_dir):
    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    c = cluster.HaCluster(run_dir, synchronous=scenario.synchronous,
                          gpu_hosts=scenario.gpu_hosts, lease_seconds=scenario.lease_seconds,
                          checkpoint_seconds=scenario.checkpoint_seconds,
                          worker_args=scenario.worker_args, fsync=scenario.fsync)
    started = time.time()
    drained = False
    listeners = None
    client = None
    try:
        c.start()
        c.wait_web_ready()
        config = c.client_config(rate=scenario.rate, threads=scenario.client_threads,
                                 long_share=scenario.long_share,
                                 seed_base=scenario.seed * 10_000_000,
                                 tiny=scenario.tiny, long=scenario.long)
        client = c.start_client(config, run_dir / "client.jsonl")
        time.sleep(scenario.warmup)
        nem = nemesis_module.Nemesis(c, run_dir / "faults.jsonl", seed=scenario.seed)
        for i, step in enumerate(scenario.steps):
            if scenario.on_step:
                scenario.on_step(i, step)
            nemesis_module.perform(nem, step)
            time.sleep(scenario.settle)
        c.net.heal()
        time.sleep(scenario.cooldown)
        client.send_signal(signal.SIGTERM)
        client.wait(timeout=60)
        client = None
        drained = c.wait_drained(scenario.drain_timeout)
        # Idle workers wait on LISTEN: after the faults, each must listen on the
        # primary of the moment again (on the old one it would hear nothing).
        listeners = c.wait_listeners(scenario.gpu_hosts, timeout=30)
        c.client_final(config, run_dir / "client.jsonl", run_dir / "final.jsonl")
        c.dump_database(run_dir / "database.jsonl")
    finally:
        if client is not None and client.poll() is None:
            client.kill()
        end = time.time()
        c.stop()
        c.write_service_runs(run_dir / "runs.jsonl")
        (run_dir / "meta.json").write_text(json.dumps({
            "scenario": scenario.name, "synchronous": scenario.synchronous,
            "started": started, "end_time": end, "drained": drained, "listeners": listeners,
            "workers": scenario.gpu_hosts, "lease_seconds": scenario.lease_seconds,
            "steps": [list(s) for s in scenario.steps]}, default=str))
        shutil.rmtree(run_dir / "pg", ignore_errors=True)
    return check_run_dir(run_dir)


def check_run_dir(run_dir):
    run_dir = pathlib.Path(run_dir)
    meta = json.loads((run_dir / "meta.json").read_text())
    h = history_module.RunHistory.load(run_dir)
    report = checker.check(h, checker.CheckOptions(workers=meta["workers"],
                                                   drained=meta["drained"]))
    report["scenario"] = meta["scenario"]
    report["figures"]["listeners_at_end"] = meta.get("listeners")
    report["seconds"] = round(meta["end_time"] - meta["started"], 1)
    (run_dir / "report.json").write_text(json.dumps(report, indent=1, default=str))
    return report


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: scenario.py RUN_DIR   (checks a kept run's history again)", file=sys.stderr)
        sys.exit(2)
    verdict = check_run_dir(sys.argv[1])
    print(checker.format_report(verdict))
    sys.exit(0 if verdict["ok"] else 1)
