"""A PostgreSQL 15 primary and its streaming standby, each on a host of a Sandbox.

    pair = PgPair(net, directory, ("pg-a", "pg-b"), synchronous=True)
    pair.start()                 # initdb on the first host, base backup to the second
    pair.uri()                   # the multi-host URI every program uses
    pair.failover()              # SIGKILL the primary's host, promote the standby,
                                 # rebuild the old primary as the new standby

Debian's PostgreSQL server binaries, run as the `postgres` user from
directories under `directory` (handed to that user), listening on port 5433
of each host and on a unix socket in its own directory (which the test
reaches from outside the namespaces: a unix socket is a file). Programs
connect to port 5432, where tests/ha/delay_proxy.py forwards to the server and
can slow one client host's traffic down; replication goes to 5433 directly.

Durable set-up (synchronous=True): `synchronous_standby_names = 'ANY 1 (pga,
pgb)'` and `synchronous_commit = on` on both nodes, so a COMMIT returns only
once the standby has the commit's WAL; after a promotion the new primary
waits for the rebuilt standby before it acknowledges any commit again (no
window in which one machine's loss loses an acknowledged commit). The control
(synchronous=False) replicates asynchronously.

Both nodes share one postgresql.conf (the base backup copies it); what differs
per node (the socket directory, the name it streams under, where its primary
is) is in node.conf beside it, written before each start. Server-side TCP
keepalives and a user timeout let a primary drop the sessions of a host cut
off by a partition within seconds, releasing the row and advisory locks they
held; the replication timeouts let the standby notice a partition as fast.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

from netns import SandboxError

BIN = pathlib.Path(os.environ.get("RENDERQ_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
PORT = 5432          # what programs connect to: the delay proxy
SERVER_PORT = 5433   # the server itself (replication, base backups, the test's psql)
DATABASE = "renderq"
HERE = pathlib.Path(__file__).resolve().parent

# libpq settings every program's URI carries: try each host for at most 2 s,
# keep only a read-write server (the primary), and notice a silent peer (a
# partition drops packets without a reset) within a few seconds instead of
# TCP's minutes.
URI_SETTINGS = ("target_session_attrs=read-write&sslmode=disable&connect_timeout=2"
                "&keepalives=1&keepalives_idle=1&keepalives_interval=1&keepalives_count=3"
                "&tcp_user_timeout=4000")
CLIENT_TCP = ("connect_timeout=2 keepalives=1 keepalives_idle=1 keepalives_interval=1 "
              "keepalives_count=3 tcp_user_timeout=4000")

SHARED_CONF = """
# --- the sandbox cluster (tests/ha/pg_pair.py) ---
listen_addresses = '*'
port = {port}
max_connections = 300
shared_buffers = 64MB
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
wal_keep_size = '1GB'
synchronous_commit = on
synchronous_standby_names = '{standby_names}'
track_commit_timestamp = on
wal_sender_timeout = '3s'
wal_receiver_timeout = '3s'
wal_receiver_status_interval = '1s'
wal_retrieve_retry_interval = '500ms'
tcp_keepalives_idle = 1
tcp_keepalives_interval = 1
tcp_keepalives_count = 3
tcp_user_timeout = 4000
fsync = {fsync}
log_min_messages = warning
log_line_prefix = '%m [%p] %a '
include_if_exists = 'node.conf'
"""
HBA = """
local all all trust
host all all {subnet}.0/24 trust
host all all 127.0.0.1/32 trust
host replication all {subnet}.0/24 trust
"""


class PgNode:
    def __init__(self, net, host, directory):
        self.net = net
        self.host = host
        self.name = host.replace("-", "")  # the name it streams under (application_name)
        self.dir = directory
        self.data = directory / "data"
        self.socket_dir = directory / "socket"
        self.log = directory / "server.log"
        self.delays = directory / "delays.json"  # the proxy's control file
        self.proxy = None

    @property
    def address(self):
        return self.net.address(self.host)

    def pg(self, tool, *args, check=True, timeout=120):
        """Runs a server program as postgres inside this node's host."""
        return self.net.run(self.host, [str(BIN / tool)] + list(args), user="postgres",
                            check=check, timeout=timeout, cwd=str(self.dir))

    def write_node_conf(self, other):
        conninfo = ("host=%s port=%d user=postgres application_name=%s %s"
                    % (other.address, SERVER_PORT, self.name, CLIENT_TCP))
        (self.data / "node.conf").write_text(
            "unix_socket_directories = '%s'\ncluster_name = '%s'\nprimary_conninfo = '%s'\n"
            % (self.socket_dir, self.name, conninfo))
        shutil.chown(self.data / "node.conf", "postgres", "postgres")

    def start(self, other):
        self.write_node_conf(other)
        out = self.pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                      "start", check=False)
        if out.returncode != 0:
            raise SandboxError("postgres on %s did not start:\n%s" % (self.host, self.log_tail()))
        self.start_proxy()

    def start_proxy(self):
        if self.proxy is not None and self.proxy.poll() is None:
            return
        if not self.delays.exists():
            self.delays.write_text('{"delays": {}}')
        log = open(self.dir / "proxy.log", "ab")
        self.proxy = self.net.popen(self.host, [sys.executable, str(HERE / "delay_proxy.py"),
                                                self.address, str(PORT), "127.0.0.1",
                                                str(SERVER_PORT), str(self.delays)],
                                    stdout=log, stderr=subprocess.STDOUT)
        log.close()
        probe = ("import socket,sys\nsocket.create_connection((sys.argv[1],%d),timeout=1).close()"
                 % PORT)
        deadline = time.monotonic() + 10
        while self.net.run(self.host, [sys.executable, "-c", probe, self.address],
                           check=False).returncode != 0:
            if time.monotonic() > deadline or self.proxy.poll() is not None:
                raise SandboxError("the delay proxy on %s did not start" % self.host)
            time.sleep(0.05)

    def set_delays(self, delays):
        """Seconds of delay each way, by client address ({} for none)."""
        tmp = self.delays.with_suffix(".tmp")
        tmp.write_text(json.dumps({"delays": delays}))
        os.replace(tmp, self.delays)

    def running(self):
        return self.pg("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def log_tail(self, lines=20):
        if not self.log.exists():
            return "(no log)"
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def psql(self, sql, database=DATABASE, timeout=30):
        """Rows of `sql` on this node (its unix socket), as lists of strings."""
        out = subprocess.run([str(BIN / "psql"), "-h", str(self.socket_dir),
                              "-p", str(SERVER_PORT), "-U", "postgres", "-d", database, "-qAtX", "-F", "\t",
                              "-v", "ON_ERROR_STOP=1", "-c", sql],
                             capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise SandboxError("psql on %s: %s" % (self.host, out.stderr.strip()))
        return [line.split("\t") for line in out.stdout.splitlines()]

    def in_recovery(self):
        return self.psql("SELECT pg_is_in_recovery()", database="postgres")[0][0] == "t"


class PgPair:
    def __init__(self, net, directory, hosts=("pg-a", "pg-b"), synchronous=True, fsync=False):
        self.net = net
        self.dir = pathlib.Path(directory)
        self.synchronous = synchronous
        self.fsync = fsync
        self.nodes = [PgNode(net, h, self.dir / h) for h in hosts]
        self.primary, self.standby = self.nodes

    def uri(self):
        hosts = ",".join("%s:%d" % (n.address, PORT) for n in self.nodes)
        return "postgresql://postgres@%s/%s?%s" % (hosts, DATABASE, URI_SETTINGS)

    # ---- set-up

    def start(self):
        for node in self.nodes:
            node.dir.mkdir(parents=True, exist_ok=True)
            node.socket_dir.mkdir(exist_ok=True)
            shutil.chown(node.dir, "postgres", "postgres")
            shutil.chown(node.socket_dir, "postgres", "postgres")
        self._pass_through(self.dir)
        p = self.primary
        p.pg("initdb", "-D", str(p.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--locale=C.UTF-8", "--no-instructions")
        names = "ANY 1 (%s)" % ", ".join(n.name for n in self.nodes) if self.synchronous else ""
        with open(p.data / "postgresql.conf", "a") as conf:
            conf.write(SHARED_CONF.format(port=SERVER_PORT, standby_names=names,
                                          fsync="on" if self.fsync else "off"))
        subnet = p.address.rsplit(".", 1)[0]
        (p.data / "pg_hba.conf").write_text(HBA.format(subnet=subnet))
        p.start(self.standby)
        # The standby first: with synchronous replication no commit returns
        # until it streams (a base backup needs none).
        self.rebuild(self.standby)
        p.psql("CREATE DATABASE %s" % DATABASE, database="postgres")

    def _pass_through(self, directory):
        # The server must reach its directory through every directory above it.
        d = pathlib.Path(directory).resolve()
        while d != d.parent:
            mode = d.stat().st_mode
            if not mode & 0o001:
                os.chmod(d, mode | 0o001)
            d = d.parent

    # ---- roles

    def rebuild(self, node):
        """Makes `node` a fresh standby of the current primary (base backup) and
        waits until it streams (and, synchronous, counts for commits)."""
        primary = self.primary
        if node.data.exists():
            shutil.rmtree(node.data)
        # Without fsync (the servers' own setting here) the copy is not synced
        # either: syncing it was most of a rebuild's time (5 of 7 s), while the
        # faults here kill processes, not the machine's power.
        node.pg("pg_basebackup", "-h", primary.address, "-p", str(SERVER_PORT), "-U", "postgres",
                "-D", str(node.data), "-X", "stream", "-c", "fast",
                *([] if self.fsync else ["--no-sync"]), timeout=300)
        (node.data / "standby.signal").touch()
        shutil.chown(node.data / "standby.signal", "postgres", "postgres")
        node.start(primary)
        self.standby = node
        self.wait_streaming()

    def wait_streaming(self, timeout=60):
        deadline = time.monotonic() + timeout
        want = ("sync", "quorum") if self.synchronous else ("async",)
        rows = []
        while time.monotonic() < deadline:
            try:
                rows = self.primary.psql("SELECT application_name, state, sync_state"
                                         " FROM pg_stat_replication", database="postgres")
            except SandboxError:
                rows = []
            if any(r[0] == self.standby.name and r[1] == "streaming" and r[2] in want
                   for r in rows):
                return
            time.sleep(0.05)
        raise SandboxError("standby %s not streaming after %d s: %s\n%s" % (
            self.standby.host, timeout, rows, self.standby.log_tail()))

    def kill(self, node):
        """SIGKILL of every process of the node's host: the machine is gone.
        Its lock files go too, as a reboot clears them: the PID they name may
        belong to another process by the time the server starts again, and the
        server would then refuse to start."""
        self.net.kill_host(node.host)
        if node.proxy is not None:
            node.proxy.wait(timeout=10)
        for stale in [node.data / "postmaster.pid"] + list(node.socket_dir.glob(".s.PGSQL.*")):
            stale.unlink(missing_ok=True)

    def set_delays(self, delays):
        """Slows the named client addresses' traffic to either server."""
        for node in self.nodes:
            node.set_delays(delays)

    def promote(self, node):
        out = node.pg("pg_ctl", "-D", str(node.data), "-w", "-t", "60", "promote", check=False)
        if out.returncode != 0:
            raise SandboxError("promote on %s failed: %s\n%s" % (node.host, out.stderr,
                                                                  node.log_tail()))
        self.primary, self.standby = node, self.other(node)

    def other(self, node):
        return self.nodes[1] if node is self.nodes[0] else self.nodes[0]

    def failover(self):
        """The primary's machine dies, the standby is promoted (STONITH, then
        promote: the old primary is dead before another takes over), and the old
        primary's host is rebuilt as the new standby. Returns the instants
        (time.time()) when every process of the old primary's host was dead,
        when the standby was promoted and when the rebuilt standby streamed."""
        old, new = self.primary, self.standby
        self.kill(old)
        killed = time.time()  # every process of the host is gone by now
        self.promote(new)
        promoted = time.time()
        self.rebuild(old)
        return killed, promoted, time.time()

    def restart_standby(self):
        """SIGKILL of the standby's machine, then the same standby started again."""
        self.kill(self.standby)
        self.standby.start(self.primary)
        self.wait_streaming()

    def stop(self):
        for node in self.nodes:
            if node.data.exists():
                node.pg("pg_ctl", "-D", str(node.data), "-m", "immediate", "-w", "stop",
                        check=False)

    def psql(self, sql, timeout=30):
        return self.primary.psql(sql, timeout=timeout)
