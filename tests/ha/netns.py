"""Hosts on one machine: Linux network namespaces joined by veth pairs to a bridge.

    with Sandbox(["pg-a", "pg-b", "web-1", "client"]) as net:
        net.address("pg-a")                       # "10.77.0.2"
        proc = net.popen("pg-a", ["psql", ...])   # runs inside pg-a's namespace
        net.partition(["pg-a"], ["web-1"])        # both ways
        net.partition(["web-1"], ["pg-a"], one_way=True)  # web-1 -> pg-a dropped only
        net.heal()

Every namespace, the bridge and every veth live inside namespaces this module
creates: nothing is added to the machine's own network namespace, so the
addresses (a private /24) are reachable only from the sandbox's hosts. The
bridge sits in a "switch" namespace of its own; each host has one interface,
eth0, and its own loopback. Faults are nftables rules in the hosts' own
namespaces (an `inet` table with input and output chains): a host can be cut
off from some hosts and not others, in one direction only, and healed at once.

Names are unique per sandbox (`rqha-<creator pid>-<random>-<host>`), so
several sandboxes, and the machine's own namespaces, never collide. Teardown
(also on an exception, SIGINT or SIGTERM reaching the `with` block) SIGKILLs
every process still inside a namespace and deletes the namespaces; a sandbox
left behind by a creator that was itself SIGKILLed is swept by the next one.

Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), iproute2 and nftables (Debian's
`nftables`, in scripts/install-deps --test). Without them Sandbox() raises
SandboxError with the reason: a test must fail, not pass without its faults.
"""
import contextlib
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import time

PREFIX = "rqha-"
SUBNET = "10.77.0"  # a /24 that exists only inside the sandbox's namespaces
NETNS_DIR = pathlib.Path("/run/netns")


class SandboxError(Exception):
    pass


def _run(argv, stdin=None, check=True):
    out = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
    if check and out.returncode != 0:
        raise SandboxError("%s: exit %d: %s" % (" ".join(argv), out.returncode,
                                                out.stderr.strip()))
    return out


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def namespace_pids(name):
    """The pids of every process inside namespace `name`."""
    out = _run(["ip", "netns", "pids", name], check=False)
    return [int(p) for p in out.stdout.split()]


def kill_namespace(name):
    """SIGKILLs every process inside `name` until none is left, then deletes it."""
    for _ in range(50):
        pids = namespace_pids(name)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    _run(["ip", "netns", "delete", name], check=False)


def sweep_stale():
    """Deletes sandboxes whose creator process is gone (it was SIGKILLed and
    could not clean up); returns their names."""
    if not NETNS_DIR.is_dir():
        return []
    swept = []
    for entry in NETNS_DIR.iterdir():
        parts = entry.name.split("-")
        if not entry.name.startswith(PREFIX) or len(parts) < 4 or not parts[1].isdigit():
            continue
        if _pid_alive(int(parts[1])):
            continue
        kill_namespace(entry.name)
        swept.append(entry.name)
    return swept


def check_privileges():
    """Raises SandboxError unless namespaces, veths and nftables can be used here."""
    missing = [tool for tool in ("ip", "nft") if shutil.which(tool) is None]
    if missing:
        raise SandboxError("not installed: %s (scripts/install-deps --test or --bench installs them)"
                           % ", ".join(missing))
    if os.geteuid() != 0:
        raise SandboxError("network namespaces need root (CAP_SYS_ADMIN, CAP_NET_ADMIN); "
                           "this test runs the cluster's hosts in namespaces of its own")


class Sandbox:
    """Namespaces for `hosts` (names: letters, digits, '-'), host i at SUBNET.(i+2)."""

    def __init__(self, hosts):
        self.hosts = list(hosts)
        if len(set(self.hosts)) != len(self.hosts) or len(self.hosts) > 200:
            raise SandboxError("host names must be unique (at most 200)")
        self.tag = "%s%d-%s" % (PREFIX, os.getpid(), secrets.token_hex(3))
        self.switch = self.tag + "-sw"
        self._addresses = {h: "%s.%d" % (SUBNET, i + 2) for i, h in enumerate(self.hosts)}
        self._made = []
        self._blocked = set()  # (from host, to host): packets from -> to are dropped

    # ---- lifecycle

    def __enter__(self):
        try:
            self.create()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc):
        self.destroy()
        return False

    def create(self):
        check_privileges()
        sweep_stale()
        self._add_namespace(self.switch)
        _run(["ip", "-n", self.switch, "link", "add", "br0", "type", "bridge"])
        _run(["ip", "-n", self.switch, "link", "set", "br0", "up"])
        for i, host in enumerate(self.hosts):
            ns = self.namespace(host)
            self._add_namespace(ns)
            # Made inside the two namespaces at once: the machine's own
            # namespace never holds either end, not even for a moment.
            _run(["ip", "link", "add", "eth0", "netns", ns, "type", "veth",
                  "peer", "name", "h%d" % i, "netns", self.switch])
            _run(["ip", "-n", self.switch, "link", "set", "h%d" % i, "master", "br0", "up"])
            _run(["ip", "-n", ns, "addr", "add", self._addresses[host] + "/24", "dev", "eth0"])
            _run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            _run(["ip", "-n", ns, "link", "set", "lo", "up"])
            self._apply_rules(host)
        self._wait_reachable()

    def destroy(self):
        """Kills what runs inside and deletes every namespace. Safe to call twice."""
        for ns in reversed(self._made):
            kill_namespace(ns)
        self._made = []

    def _add_namespace(self, ns):
        _run(["ip", "netns", "add", ns])
        self._made.append(ns)

    def _wait_reachable(self):
        # A fresh veth can take a moment to pass traffic (carrier, bridge port
        # state): wait until the first host reaches the last one.
        first, last = self.hosts[0], self.hosts[-1]
        deadline = time.monotonic() + 10
        probe = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                 "s.connect((sys.argv[1],9))\nprint(s.getsockname()[0])")
        while time.monotonic() < deadline:
            out = self.run(first, ["python3", "-c", probe, self.address(last)], check=False)
            if out.returncode == 0:
                return
            time.sleep(0.05)
        raise SandboxError("the sandbox's network did not come up")

    # ---- hosts

    def namespace(self, host):
        return "%s-%s" % (self.tag, host)

    def address(self, host):
        return self._addresses[host]

    def exec_prefix(self, host, user=None):
        """argv prefix that runs a command inside `host` (as `user` if given)."""
        argv = ["ip", "netns", "exec", self.namespace(host)]
        if user is not None:
            argv += ["runuser", "-u", user, "--"]
        return argv

    def run(self, host, argv, user=None, check=True, timeout=60, stdin=None, cwd=None):
        out = subprocess.run(self.exec_prefix(host, user) + list(argv), input=stdin, cwd=cwd,
                             capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise SandboxError("on %s: %s: exit %d: %s" % (host, " ".join(argv), out.returncode,
                                                            (out.stderr or out.stdout).strip()))
        return out

    def popen(self, host, argv, user=None, **kwargs):
        """A process inside `host`, in a session of its own (killpg stops it whole)."""
        kwargs.setdefault("start_new_session", True)
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.Popen(self.exec_prefix(host, user) + list(argv), **kwargs)

    def pids(self, host):
        return namespace_pids(self.namespace(host))

    def kill_host(self, host):
        """SIGKILLs every process on `host`, as if it lost power (the namespace stays)."""
        for _ in range(50):
            pids = self.pids(host)
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)
        raise SandboxError("processes on %s survive SIGKILL" % host)

    # ---- faults

    def partition(self, side_a, side_b, one_way=False):
        """Drops packets from every host of side_a to every host of side_b (and
        back, unless one_way). Adds to the partitions already in place."""
        for a in side_a:
            for b in side_b:
                if a == b:
                    continue
                self._blocked.add((a, b))
                if not one_way:
                    self._blocked.add((b, a))
        for host in set(side_a) | set(side_b):
            self._apply_rules(host)

    def isolate(self, host):
        """Cuts `host` off from every other host, both ways."""
        self.partition([host], [h for h in self.hosts if h != host])

    def heal(self):
        """Removes every partition."""
        touched = {h for pair in self._blocked for h in pair}
        self._blocked.clear()
        for host in touched:
            self._apply_rules(host)

    def blocked(self):
        return sorted(self._blocked)

    def _apply_rules(self, host):
        # One ruleset per host, replaced atomically by `nft -f`: each host drops
        # what it would send to a host it is cut off from (output), and what
        # arrives from a host that is cut off from it (input), so a one-way
        # partition is one rule on each side of the missing direction.
        out_to = sorted(self.address(b) for a, b in self._blocked if a == host)
        in_from = sorted(self.address(a) for a, b in self._blocked if b == host)
        lines = ["table inet rqha {",
                 "  chain input { type filter hook input priority 0; policy accept;"]
        lines += ["    ip saddr %s drop" % a for a in in_from]
        lines += ["  }", "  chain output { type filter hook output priority 0; policy accept;"]
        lines += ["    ip daddr %s drop" % a for a in out_to]
        lines += ["  }", "}"]
        ns = self.namespace(host)
        # "add table" first, so the delete always finds one; the file applies as one transaction.
        script = "add table inet rqha\ndelete table inet rqha\n" + "\n".join(lines) + "\n"
        _run(["ip", "netns", "exec", ns, "nft", "-f", "-"], stdin=script)
