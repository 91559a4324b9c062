"""The whole renderq service on several hosts of one machine (tests/ha/netns.py):

    pg-a, pg-b      PostgreSQL primary and streaming standby (tests/ha/pg_pair.py)
    web-1, web-2    nginx (the site tests/e2e use, rendered by nginx/render_conf.py)
                    + renderq-fcgi, each with its own results cache
    gpu-1..gpu-N    renderq-worker --device cpu, nothing on disk shared with anyone
    client          the load (tests/ha/client.py)

Every program gets the same libpq multi-host URI (both database hosts,
target_session_attrs=read-write): after a failover nothing is reconfigured.
A supervisor restarts a program that exits, as systemd's Restart=always
would (after restart_delay), and records every start and exit: the checker
needs to know when a killed worker stopped rendering.

    with HaCluster(run_dir, synchronous=True) as c:
        c.kill_service("gpu-2")       # SIGKILL; the supervisor starts it again
        c.pg.failover()
        c.net.partition(["gpu-1"], c.pg_hosts)
"""
import contextlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
SOURCE_DIR = pathlib.Path(os.environ.get("RENDERQ_SOURCE_DIR", HERE.parents[1]))
BIN_DIR = pathlib.Path(os.environ.get("RENDERQ_BIN", SOURCE_DIR / "build" / "bin"))
sys.path.insert(0, str(SOURCE_DIR / "nginx"))
import render_conf  # noqa: E402  (the site template's renderer, beside it in nginx/)

import netns  # noqa: E402
import pg_pair  # noqa: E402

HTTPS_PORT = 8443
HTTP_PORT = 8080


class ClusterError(Exception):
    pass


class Service:
    """One program on one host, started again by the supervisor when it exits."""

    def __init__(self, net, host, name, argv, log_path, cwd=None, env=None, restart_delay=0.5):
        self.net = net
        self.host = host
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.cwd = cwd
        self.env = env
        self.restart_delay = restart_delay
        self.host_label = host    # the host it counts as in the history
        self.proc = None
        self.enabled = True       # the supervisor may start it
        self.runs = []            # {"start", "pid", "end", "rc", "killed"} per process
        self._log = None

    def start(self):
        if self._log is None:
            self._log = open(self.log_path, "ab")
        env = dict(os.environ, **(self.env or {}))
        self.proc = self.net.popen(self.host, self.argv, stdout=self._log,
                                   stderr=subprocess.STDOUT, cwd=self.cwd, env=env)
        self.runs.append({"start": time.time(), "pid": self.proc.pid, "end": None, "rc": None,
                          "killed": False})

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def reap(self):
        """Records the end of a process that exited; True if one did."""
        if self.proc is None or self.proc.poll() is None or self.runs[-1]["end"] is not None:
            return False
        self.runs[-1]["end"] = time.time()
        self.runs[-1]["rc"] = self.proc.returncode
        return True

    def kill(self, sig=signal.SIGKILL):
        if not self.alive():
            return False
        if sig == signal.SIGKILL:
            self.runs[-1]["killed"] = True
            self.runs[-1]["end"] = time.time()  # the instant it stopped running, not its reaping
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        if sig == signal.SIGKILL:
            self.proc.wait(timeout=10)
            self.runs[-1]["rc"] = self.proc.returncode
        return True

    def stop(self):
        self.enabled = False
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.reap()
        if self._log is not None:
            self._log.close()
            self._log = None


class Supervisor(threading.Thread):
    def __init__(self, services):
        super().__init__(daemon=True)
        self.services = services
        self.lock = threading.Lock()
        self.halt = threading.Event()

    def run(self):
        while not self.halt.wait(0.05):
            with self.lock:
                for svc in self.services:
                    svc.reap()
                    if svc.enabled and not svc.alive() and svc.runs and \
                            time.time() - svc.runs[-1]["end"] >= svc.restart_delay:
                        svc.start()


def make_certificate(directory, addresses):
    cert, key = directory / "cert.pem", directory / "key.pem"
    san = ",".join("IP:%s" % a for a in addresses)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=renderq-ha", "-addext", "subjectAltName=" + san,
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


class HaCluster:
    def __init__(self, run_dir, synchronous=True, web_hosts=2, gpu_hosts=3, lease_seconds=2.0,
                 checkpoint_seconds=0.5, responder_threads=4, worker_args=(), fsync=False,
                 restart_delay=0.5):
        self.dir = pathlib.Path(run_dir)
        self.synchronous = synchronous
        self.pg_hosts = ["pg-a", "pg-b"]
        self.web_hosts = ["web-%d" % (i + 1) for i in range(web_hosts)]
        self.gpu_hosts = ["gpu-%d" % (i + 1) for i in range(gpu_hosts)]
        self.hosts = self.pg_hosts + self.web_hosts + self.gpu_hosts + ["client"]
        self.lease_seconds = lease_seconds
        self.checkpoint_seconds = checkpoint_seconds
        self.responder_threads = responder_threads
        self.worker_args = list(worker_args)
        self.fsync = fsync
        self.restart_delay = restart_delay
        self.net = None
        self.pg = None
        self.services = {}
        self.extra_services = []  # unsupervised (twins)
        self.supervisor = None
        self.tokens = {}

    # ---- lifecycle

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self, owners=4):
        for binary in ("renderq-fcgi", "renderqctl", "renderq-worker"):
            if not (BIN_DIR / binary).exists():
                raise ClusterError("%s is not built in %s" % (binary, BIN_DIR))
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "log").mkdir(exist_ok=True)
        self.net = netns.Sandbox(self.hosts)
        self.net.create()
        self.pg = pg_pair.PgPair(self.net, self.dir / "pg", self.pg_hosts,
                                 synchronous=self.synchronous, fsync=self.fsync)
        self.pg.start()
        self.uri = self.pg.uri()
        self.ctl("init")
        self.pg.psql((HERE / "history.sql").read_text())
        for i in range(owners):
            name = "owner-%d" % (i + 1)
            self.tokens[name] = self.ctl("token", "create", name).strip()
        self.cert, self.key = make_certificate(self.dir, [self.net.address(h)
                                                          for h in self.web_hosts])
        for host in self.web_hosts:
            self._add_web_host(host)
        for host in self.gpu_hosts:
            self._add_gpu_host(host)
        for svc in self.services.values():
            svc.start()
        self.supervisor = Supervisor(list(self.services.values()))
        self.supervisor.start()
        self.wait_workers_registered()

    def stop(self):
        """Stops everything; whatever fails on the way, the namespaces go last,
        with every process still inside them."""
        try:
            if self.supervisor is not None:
                self.supervisor.halt.set()
                self.supervisor.join(timeout=5)
                self.supervisor = None
            for svc in list(self.services.values()) + self.extra_services:
                with contextlib.suppress(Exception):
                    svc.stop()
            if self.pg is not None:
                with contextlib.suppress(Exception):
                    self.pg.stop()
        finally:
            if self.net is not None:
                self.net.destroy()
                self.net = None

    # ---- hosts

    def _add_web_host(self, host):
        home = self.dir / "hosts" / host
        (home / "results").mkdir(parents=True, exist_ok=True)
        sock = home / "fcgi.sock"
        self.services[host + "/renderq-fcgi"] = Service(
            self.net, host, "renderq-fcgi",
            [str(BIN_DIR / "renderq-fcgi"), "--db", self.uri, "--socket", str(sock),
             "--threads", str(self.responder_threads), "--results", str(home / "results")],
            self.dir / "log" / ("%s-renderq-fcgi.log" % host), cwd=str(home),
            restart_delay=self.restart_delay)
        conf = render_conf.render_dev(
            home / "nginx", https_port=HTTPS_PORT, http_port=HTTP_PORT, cert=self.cert,
            key=self.key, socket=sock, results=home / "results", listen=self.net.address(host),
            submit_rate="1000000r/s", submit_burst=1000000, worker_processes=1)
        self.services[host + "/nginx"] = Service(
            self.net, host, "nginx",
            ["nginx", "-p", str(home / "nginx"), "-c", str(conf), "-e", "stderr"],
            self.dir / "log" / ("%s-nginx.log" % host), cwd=str(home),
            restart_delay=self.restart_delay)

    def _add_gpu_host(self, host):
        home = self.dir / "hosts" / host
        home.mkdir(parents=True, exist_ok=True)
        self.services[host + "/renderq-worker"] = Service(
            self.net, host, "renderq-worker",
            [str(BIN_DIR / "renderq-worker"), "--device", "cpu", "--name", host, "--db", self.uri,
             "--lease-seconds", str(self.lease_seconds),
             "--checkpoint-seconds", str(self.checkpoint_seconds), "--cpu-threads", "1"]
            + self.worker_args,
            self.worker_log(host), cwd=str(home), env={"TMPDIR": str(home)},
            restart_delay=self.restart_delay)

    def start_twin(self, name, host):
        """A second renderq-worker named `name` on `host`, unsupervised, logging as
        host "twin-<name>" (so the checker tells it from both hosts' own)."""
        svc = self.services[name + "/renderq-worker"]
        home = self.dir / "hosts" / ("twin-" + name)
        home.mkdir(parents=True, exist_ok=True)
        twin = Service(self.net, host, "renderq-worker", svc.argv,
                       self.worker_log("twin-" + name), cwd=str(home), env={"TMPDIR": str(home)})
        twin.host_label = "twin-" + name
        twin.start()
        self.extra_services.append(twin)
        return twin

    def worker_log(self, host):
        return self.dir / "log" / ("%s-renderq-worker.log" % host)

    def service(self, host, program=None):
        if program is None:
            matches = [s for k, s in self.services.items() if k.startswith(host + "/")]
            if len(matches) != 1:
                raise ClusterError("host %s runs %d programs: name one" % (host, len(matches)))
            return matches[0]
        return self.services["%s/%s" % (host, program)]

    def kill_service(self, host, program=None, sig=signal.SIGKILL):
        """Signals a program (its whole process group); the supervisor restarts it."""
        svc = self.service(host, program)
        with self.supervisor.lock:
            return svc.kill(sig)

    # ---- administration

    def ctl(self, *args, host=None):
        out = self.net.run(host or self.web_hosts[0],
                           [str(BIN_DIR / "renderqctl"), "--db", self.uri] + list(args),
                           check=False, timeout=60)
        if out.returncode != 0:
            raise ClusterError("renderqctl %s: exit %d: %s" % (" ".join(args), out.returncode,
                                                               out.stderr.strip()))
        return out.stdout

    def wait_workers_registered(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.pg.psql("SELECT name FROM workers")
            if {r[0] for r in rows} >= set(self.gpu_hosts):
                return
            time.sleep(0.1)
        raise ClusterError("workers did not register: %s" % [
            self.service(h).log_path.read_text()[-500:] for h in self.gpu_hosts])

    def wait_web_ready(self, timeout=60):
        """Until /healthz answers 200 on every web host, asked from the client host."""
        probe = ("import ssl,sys,http.client\n"
                 "c=http.client.HTTPSConnection(sys.argv[1],%d,timeout=3,"
                 "context=ssl.create_default_context(cafile=sys.argv[2]))\n"
                 "c.request('GET','/healthz');sys.exit(0 if c.getresponse().status==200 else 1)"
                 % HTTPS_PORT)
        deadline = time.monotonic() + timeout
        pending = list(self.web_hosts)
        while pending and time.monotonic() < deadline:
            pending = [h for h in pending if self.net.run(
                "client", ["python3", "-c", probe, self.net.address(h), str(self.cert)],
                check=False, timeout=10).returncode != 0]
            if pending:
                time.sleep(0.2)
        if pending:
            raise ClusterError("web hosts %s not ready: %s" % (pending, [
                self.service(h, "renderq-fcgi").log_path.read_text()[-500:] for h in pending]))

    def client_config(self, rate, threads=4, long_share=0.1, seed_base=1, timeout=15.0,
                      tiny=None, long=None):
        return {
            "web": [self.net.address(h) for h in self.web_hosts], "port": HTTPS_PORT,
            "cacert": str(self.cert), "tokens": self.tokens, "rate": rate, "threads": threads,
            "timeout": timeout, "seed_base": seed_base, "long_share": long_share,
            "tiny": tiny or {"width": 16, "height": 12, "min_samples": 1, "max_samples": 4},
            "long": long or {"width": 48, "height": 36, "min_samples": 200, "max_samples": 400},
        }

    def start_client(self, config, history_path):
        path = self.dir / "client.json"
        path.write_text(json.dumps(config))
        log = open(self.dir / "log" / "client.log", "ab")
        return self.net.popen("client", [sys.executable, str(HERE / "client.py"), "load",
                                         str(path), str(history_path)],
                              stdout=log, stderr=subprocess.STDOUT)

    def client_final(self, config, history_path, final_path):
        path = self.dir / "client.json"
        path.write_text(json.dumps(config))
        self.net.run("client", [sys.executable, str(HERE / "client.py"), "final", str(path),
                                str(history_path), str(final_path)], timeout=600)

    # ---- the database's view

    def wait_drained(self, timeout):
        """Until no job is queued or running (True), or timeout (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                left = int(self.pg.psql("SELECT count(*) FROM jobs"
                                        " WHERE state IN ('queued', 'running')")[0][0])
                if left == 0:
                    return True
            except netns.SandboxError:
                pass
            time.sleep(0.25)
        return False

    def listeners(self):
        """Sessions on the primary waiting for the workers' wake-up (LISTEN)."""
        return int(self.pg.psql("SELECT count(*) FROM pg_stat_activity"
                                " WHERE query ILIKE 'LISTEN %'")[0][0])

    def wait_listeners(self, want, timeout):
        """Until `want` LISTEN sessions are on the primary; returns how many are."""
        deadline = time.monotonic() + timeout
        found = 0
        while time.monotonic() < deadline:
            try:
                found = self.listeners()
            except netns.SandboxError:
                found = 0
            if found >= want:
                break
            time.sleep(0.2)
        return found

    def dump_database(self, path):
        """Every job (with the seed of its scene) and the row history, as JSON lines."""
        jobs = self.pg.psql(
            "SELECT json_build_object('id', j.id, 'seq', j.seq, 'state', j.state,"
            " 'attempts', j.attempts, 'stalled_attempts', j.stalled_attempts,"
            " 'etag', j.result_etag, 'error_code', j.error_code, 'worker', j.worker,"
            " 'created_at', j.created_at, 'started_at', j.started_at,"
            " 'finished_at', j.finished_at, 'progress', j.progress,"
            " 'has_result', EXISTS (SELECT 1 FROM job_results r WHERE r.seq = j.seq),"
            " 'seed', (s.input::jsonb ->> 'seed')::bigint)"
            " FROM jobs j LEFT JOIN job_inputs s ON s.seq = j.seq ORDER BY j.seq", timeout=120)
        history = self.pg.psql(
            "SELECT json_build_object('n', n, 'job', job_id, 'seq', seq, 'old_seq', old_seq,"
            " 'old_state', old_state, 'new_state', new_state, 'old_lease', old_lease,"
            " 'new_lease', new_lease, 'worker', worker, 'old_heartbeat', old_heartbeat,"
            " 'attempts', attempts, 'etag', result_etag, 'at_ms', at_ms,"
            " 'commit_us', (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1e6)::bigint)"
            " FROM ha_history ORDER BY n", timeout=120)
        with open(path, "w") as f:
            for (row,) in jobs:
                f.write(json.dumps({"type": "job", **json.loads(row)}) + "\n")
            for (row,) in history:
                f.write(json.dumps({"type": "change", **json.loads(row)}) + "\n")

    def write_service_runs(self, path):
        with open(path, "w") as f:
            services = sorted(self.services.items()) + [
                (s.host_label + "/" + s.name, s) for s in self.extra_services]
            for key, svc in services:
                for run in svc.runs:
                    f.write(json.dumps({"type": "run", "service": key, "host": svc.host_label,
                                        "program": svc.name, **run}) + "\n")

    def keep_logs(self, destination):
        shutil.copytree(self.dir / "log", destination, dirs_exist_ok=True)
