"""Faults for a running HaCluster, each recorded (kind, start, end, details) in
faults.jsonl as it is done.

Faults:
  failover          SIGKILL of every process on the primary's host, `pg_ctl
                    promote` of the standby, the old host rebuilt as the new
                    standby (the old primary is dead before the standby takes
                    over: STONITH, as a failover manager does it)
  lagging_failover  the standby is cut off from the primary first, for `lag`
                    seconds under load, then the same failover: with
                    asynchronous replication what the primary acknowledged
                    meanwhile is lost; with synchronous commit nothing was
                    acknowledged meanwhile
  partition         nftables drops between two groups of hosts, both ways or
                    one way, for a while, then heals (shapes below)
  cut_at_claim      waits until some GPU host claims a job of `min_samples`
                    to `max_samples` samples, then cuts that host off from the
                    database at once: its lease lapses while it renders or
                    while its finish waits for the database
  kill              SIGKILL of one program (a worker, a responder, nginx); the
                    supervisor starts it again
  kill_standby      SIGKILL of the standby's host, then the standby started again
  slow              one GPU or web host's traffic to the database delayed by
                    `delay` seconds each way (tests/ha/delay_proxy.py) for a
                    while: heartbeats arrive late, leases lapse although the
                    host is not cut off
  twin              a GPU host's worker loses its name lock's session (as a
                    failover or partition would end it) and a second process
                    with the same name starts on another host, as an operator's
                    mistake would start it; it is stopped after a while
"""
import json
import random
import re
import time

PARTITION_SHAPES = (
    "gpu_from_db",          # a GPU host loses the database, keeps rendering
    "gpu_to_db_one_way",    # its packets to the database are dropped, replies still come
    "db_to_gpu_one_way",    # the database's packets to it are dropped
    "web_from_db",          # a web host loses the database
    "client_from_web",      # the client loses one web host
    "primary_isolated",     # the primary loses everyone, the standby included
    "standby_isolated",     # the standby loses everyone
    "halves",               # every host in one of two random groups
)


class Nemesis:
    def __init__(self, cluster, faults_path, seed=0):
        self.c = cluster
        self.path = faults_path
        self.rng = random.Random(seed)
        self.count = {}

    def record(self, kind, t0, t1, **detail):
        self.count[kind] = self.count.get(kind, 0) + 1
        with open(self.path, "a") as f:
            f.write(json.dumps(dict(kind=kind, t0=t0, t1=t1, **detail)) + "\n")

    # ---- the database

    def failover(self):
        old = self.c.pg.primary.host
        killed, promoted, back = self.c.pg.failover()
        self.record("failover", killed, back, old_primary=old, new_primary=self.c.pg.primary.host,
                    promoted_at=promoted)

    def lagging_failover(self, lag):
        pg = self.c.pg
        t0 = time.time()
        self.c.net.partition([pg.primary.host], [pg.standby.host])
        time.sleep(lag)
        old = pg.primary.host
        pg.kill(pg.primary)
        killed = time.time()
        self.c.net.heal()
        pg.promote(pg.standby)
        promoted = time.time()
        pg.rebuild(pg.standby)  # the old primary's host, now the standby's
        self.record("failover", killed, time.time(), old_primary=old,
                    new_primary=pg.primary.host, promoted_at=promoted, lagging_since=t0)

    def kill_standby(self):
        t0 = time.time()
        host = self.c.pg.standby.host
        self.c.pg.restart_standby()
        self.record("kill_standby", t0, time.time(), host=host)

    # ---- the network

    def partition(self, shape, duration, target=None):
        c = self.c
        pg = c.pg
        rng = self.rng
        one_way = False
        if shape in ("gpu_from_db", "gpu_to_db_one_way", "db_to_gpu_one_way"):
            target = target or rng.choice(c.gpu_hosts)
            a, b = [target], c.pg_hosts
            if shape == "db_to_gpu_one_way":
                a, b = b, a
            one_way = shape != "gpu_from_db"
        elif shape == "web_from_db":
            target = target or rng.choice(c.web_hosts)
            a, b = [target], c.pg_hosts
        elif shape == "client_from_web":
            target = target or rng.choice(c.web_hosts)
            a, b = ["client"], [target]
        elif shape == "primary_isolated":
            target = pg.primary.host
            a, b = [target], [h for h in c.hosts if h != target]
        elif shape == "standby_isolated":
            target = pg.standby.host
            a, b = [target], [h for h in c.hosts if h != target]
        elif shape == "halves":
            hosts = list(c.hosts)
            rng.shuffle(hosts)
            cut = rng.randint(1, len(hosts) - 1)
            a, b = hosts[:cut], hosts[cut:]
        else:
            raise ValueError("unknown partition shape %r" % shape)
        t0 = time.time()
        c.net.partition(a, b, one_way=one_way)
        time.sleep(duration)
        c.net.heal()
        self.record("partition", t0, time.time(), shape=shape, side_a=a, side_b=b,
                    one_way=one_way)

    def cut_at_claim(self, duration, min_samples, max_samples, wait=60.0):
        """A partition timed by the workers' logs rather than the clock, so
        that the host surely holds a lease on a job of the size wanted when
        it is cut: a random moment often finds it between jobs or near the
        end of one, and nothing lapses."""
        c = self.c
        logs = {h: c.worker_log(h) for h in c.gpu_hosts}
        offsets = {h: (p.stat().st_size if p.exists() else 0) for h, p in logs.items()}
        claim = re.compile(r" claimed job=\S+ .*\bsamples=(\d+)")
        deadline = time.time() + wait
        target = None
        while target is None:
            if time.time() > deadline:
                raise TimeoutError("no GPU host claimed a job of %d to %d samples in %.0f s"
                                   % (min_samples, max_samples, wait))
            time.sleep(0.02)
            for host, path in logs.items():
                with open(path, "rb") as f:
                    f.seek(offsets[host])
                    text = f.read()
                done = text.rfind(b"\n") + 1  # a line still being written waits
                offsets[host] += done
                lines = text[:done].decode("utf-8", "replace").splitlines()
                if any((m := claim.search(l)) and min_samples <= int(m.group(1)) <= max_samples
                       for l in lines):
                    target = host
                    break
        t0 = time.time()
        c.net.partition([target], c.pg_hosts)
        time.sleep(duration)
        c.net.heal()
        self.record("partition", t0, time.time(), shape="gpu_from_db", side_a=[target],
                    side_b=c.pg_hosts, one_way=False, timed_by="claim")

    def slow(self, delay, duration, target=None):
        c = self.c
        target = target or self.rng.choice(c.gpu_hosts + c.web_hosts)
        t0 = time.time()
        c.pg.set_delays({c.net.address(target): delay})
        time.sleep(duration)
        c.pg.set_delays({})
        self.record("slow", t0, time.time(), host=target, delay=delay)

    def twin(self, duration, name=None, on=None):
        c = self.c
        name = name or self.rng.choice(c.gpu_hosts)
        on = on or self.rng.choice([h for h in c.gpu_hosts if h != name])
        t0 = time.time()
        # The session that holds the name's advisory lock (key 7263851,
        # hashtext(name)) ends, the process that held it lives on.
        c.pg.psql("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                  " AND classid = 7263851"
                  " AND objid::bigint = (hashtext('%s')::bigint + 4294967296) %% 4294967296"
                  % name)
        twin = c.start_twin(name, on)
        time.sleep(duration)
        twin.stop()
        self.record("twin", t0, time.time(), name=name, on=on)

    # ---- processes

    def kill(self, program=None, host=None):
        c = self.c
        if program is None:
            program = self.rng.choice(("renderq-worker", "renderq-fcgi", "nginx"))
        hosts = c.gpu_hosts if program == "renderq-worker" else c.web_hosts
        host = host or self.rng.choice(hosts)
        t0 = time.time()
        c.kill_service(host, program)
        self.record("kill", t0, time.time(), host=host, program=program)


def schedule(rng, failovers, partitions, kills, lagging_share=0.4, min_hold=1.0, max_hold=5.0,
             slowdowns=0, max_delay=2.0):
    """A shuffled list of (fault, argument) steps: `failovers` failovers (some
    lagging), `partitions` partitions cycling through every shape, `kills`
    kills, `slowdowns` slow links (delays up to max_delay each way)."""
    steps = []
    for i in range(slowdowns):
        steps.append(("slow", (round(rng.uniform(0.2, max_delay), 2),
                               round(rng.uniform(min_hold, max_hold), 2))))
    for i in range(failovers):
        if rng.random() < lagging_share:
            steps.append(("lagging_failover", round(rng.uniform(0.5, 2.0), 2)))
        else:
            steps.append(("failover", None))
    shapes = list(PARTITION_SHAPES)
    rng.shuffle(shapes)
    for i in range(partitions):
        steps.append(("partition", (shapes[i % len(shapes)],
                                    round(rng.uniform(min_hold, max_hold), 2))))
    for i in range(kills):
        steps.append(("kill", None))
    rng.shuffle(steps)
    return steps


def perform(nemesis, step):
    kind, arg = step
    if kind == "failover":
        nemesis.failover()
    elif kind == "lagging_failover":
        nemesis.lagging_failover(arg)
    elif kind == "partition":
        nemesis.partition(*arg)
    elif kind == "cut_at_claim":
        nemesis.cut_at_claim(*arg)
    elif kind == "kill":
        nemesis.kill()
    elif kind == "kill_standby":
        nemesis.kill_standby()
    elif kind == "slow":
        nemesis.slow(*arg)
    elif kind == "twin":
        nemesis.twin(arg)
    else:
        raise ValueError("unknown fault %r" % kind)
