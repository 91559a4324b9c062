#!/usr/bin/env python3
"""renderq on several hosts that fail, checked from its history (ctest e2e_ha, label slow).

The hosts are network namespaces of this machine (tests/ha/netns.py): a
PostgreSQL primary and its streaming standby, two web hosts (nginx +
renderq-fcgi), three GPU hosts (renderq-worker on the CPU) and a client, every
program on one multi-host URI with target_session_attrs=read-write. Under a
steady load of submits and polls (tests/ha/client.py) a nemesis fails over
the database, partitions the network (both ways and one way) and SIGKILLs
programs; afterwards tests/ha/checker.py reads the client's history, the
database's rows and row history and the workers' logs.

1. durable: synchronous replication; at least 5 failovers (some after the
   standby fell behind), 10 partitions of every shape, a few kills and slow
   links to the database (tests/ha/delay_proxy.py). The
   checker must find no acknowledged job lost, none doubled, none unexpected,
   no result changed, no state SPEC forbids, no FIFO inversion past the bound.
2. control: asynchronous replication, the standby cut off for a moment under
   load, then the primary killed and the standby promoted. The checker must
   report acknowledged jobs as lost: it would have seen a loss above.

Needs root (network namespaces) and nftables; without them it fails, it does
not skip. RENDERQ_HA_KEEP=DIR keeps each run's histories and logs under DIR.
"""
import os
import pathlib
import random
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import checker  # noqa: E402
import nemesis  # noqa: E402
import netns  # noqa: E402
import scenario  # noqa: E402

TIME_LIMIT = 840  # seconds; ctest's TIMEOUT is above it


def time_limit(seconds):
    """Raises once (so every `finally` tears the sandbox down) on SIGALRM,
    SIGTERM or SIGINT; signals after the first are ignored, so a second
    Ctrl-C or ctest's timeout cannot cut the teardown short."""
    def stop(signum, frame):
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, lambda *_: None)  # a handler, not SIG_IGN: children do not inherit it
        signal.alarm(0)
        if signum == signal.SIGALRM:
            raise TimeoutError("test exceeded %d s" % seconds)
        raise KeyboardInterrupt("stopped by signal %d" % signum)
    for s in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
        signal.signal(s, stop)
    signal.alarm(seconds)


def progress(name):
    started = time.monotonic()

    def show(i, step):
        print("  [%s %5.1f s] fault %d: %s %s" % (name, time.monotonic() - started, i + 1,
                                                 step[0], step[1] or ""), flush=True)
    return show


def run(sc, base):
    run_dir = base / sc.name
    t = time.monotonic()
    report = scenario.run(sc, run_dir)
    print("%s: %.0f s\n%s" % (sc.name, time.monotonic() - t, checker.format_report(report)),
          flush=True)
    return report


def durable(base):
    rng = random.Random(2101)
    steps = nemesis.schedule(rng, failovers=5, partitions=10, kills=4, lagging_share=0.4,
                             min_hold=1.0, max_hold=4.5, slowdowns=3, max_delay=1.5)
    sc = scenario.Scenario(name="durable", synchronous=True, steps=steps, seed=1,
                           long_share=0.1,
                           long={"width": 64, "height": 48, "min_samples": 400,
                                 "max_samples": 1200})
    sc.on_step = progress(sc.name)
    report = run(sc, base)
    f = report["figures"]
    assert f["faults"].get("failover", 0) >= 5 and f["faults"].get("partition", 0) >= 10, f
    acknowledged = f["submits_by_outcome"].get("acknowledged", 0)
    assert acknowledged >= 200, "too little load got through to check anything: %s" % f
    for key in ("lost", "doubled", "unexpected", "changed", "bad_state", "fifo"):
        assert not report[key], "%s: %s" % (key, report[key][:5])
    # A worker cut off from the database keeps rendering until it hears that
    # its lease passed to another host: reported, not yet asserted.
    if report["concurrent"]:
        print("note: %d job(s) rendered on two hosts at once past a lease"
              % len(report["concurrent"]), flush=True)
    return report


def control(base):
    sc = scenario.Scenario(name="control-async", synchronous=False,
                           steps=[("lagging_failover", 1.5), ("lagging_failover", 1.0)],
                           seed=2, long_share=0.0, warmup=3.0)
    sc.on_step = progress(sc.name)
    report = run(sc, base)
    lost = [x for x in report["lost"] if x["why"].startswith("acknowledged")]
    assert lost, "asynchronous replication lost nothing the checker could see: %s" % (
        report["figures"])
    return report


def main():
    time_limit(TIME_LIMIT)
    try:
        netns.check_privileges()
    except netns.SandboxError as e:
        print("FAIL: %s" % e)  # never a skip: CI runs as root with nftables installed
        return 1
    keep = os.environ.get("RENDERQ_HA_KEEP")
    base = pathlib.Path(keep) if keep else pathlib.Path(tempfile.mkdtemp(prefix="renderq-ha-"))
    try:
        d = durable(base)
        c = control(base)
        print("ok: durable run %d jobs acknowledged, %d failovers, %d partitions, nothing lost;"
              " the asynchronous control lost %d acknowledged jobs and the checker saw it"
              % (d["figures"]["submits_by_outcome"].get("acknowledged", 0),
                 d["figures"]["faults"].get("failover", 0),
                 d["figures"]["faults"].get("partition", 0), len(c["lost"])))
        return 0
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
