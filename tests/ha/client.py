#!/usr/bin/env python3
"""The cluster's client: a steady load of submits and polls, and the history of
every answer it saw, as JSON lines. Runs on the sandbox's client host (its own
network namespace), talking HTTPS to the web hosts like any user.

    client.py load CONFIG.json HISTORY.jsonl    until SIGTERM, then waits for the
                                                requests in flight and exits 0
    client.py final CONFIG.json HISTORY.jsonl FINAL.jsonl
                                                every acknowledged job as the API
                                                shows it now (state, ETag of its result)

CONFIG: {"web": ["10.77.0.4", ...], "port": 8443, "cacert": PATH, "tokens": {owner: token},
         "rate": submits/s, "threads": N, "timeout": s, "seed_base": int,
         "long_share": 0..1, "tiny": {scene sizes}, "long": {scene sizes}}

History lines (times are time.time(), the machine's clock, which every host shares):
  {"type": "submit", "op", "seed", "owner", "kind", "scene": {"width", "height", "samples"},
   "web", "t0", "t1",
   "status": 201 | other | null, "job": id | null, "error": null | "timeout" | "..."}
  {"type": "poll", "job", "web", "t0", "t1", "status", "state", "attempts", "etag"}
  ("etag": the first 128 bits of the SHA-256 of the result as downloaded, in
  hex: what the worker logs and stores as the result's ETag)
Every submit has a scene with a seed of its own (seed_base + op), so its job
can be found in the database whatever answer the client got.
Python 3 standard library only.
"""
import concurrent.futures
import hashlib
import http.client
import json
import random
import signal
import socket
import ssl
import sys
import threading
import time

POLL_INTERVAL = 0.05  # between polls, across every job being watched


def scene(seed, width, height, samples, max_depth=3):
    """The scene of every submit: only its size, sample count and seed vary."""
    return {
        "width": width, "height": height, "samples": samples, "max_depth": max_depth,
        "seed": seed,
        "camera": {"position": [0, 1, 5], "look_at": [0, 0.5, 0]},
        "materials": [{"name": "red", "type": "lambertian", "albedo": [0.8, 0.1, 0.1]},
                      {"name": "grey", "type": "lambertian", "albedo": [0.5, 0.5, 0.5]}],
        "objects": [{"type": "sphere", "center": [0, 0.5, 0], "radius": 0.5, "material": "red"},
                    {"type": "quad", "corner": [-5, 0, -5], "u": [10, 0, 0], "v": [0, 0, 10],
                     "material": "grey"}],
    }


class History:
    """Appends one JSON object per line, flushed at once (a crash keeps what was seen)."""

    def __init__(self, path):
        self.file = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def add(self, record):
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self.lock:
            self.file.write(line)


class Web:
    """HTTPS to the web hosts: one kept-alive connection per (thread, host),
    dropped after any failure."""

    def __init__(self, config):
        self.hosts = config["web"]
        self.port = config["port"]
        self.timeout = config["timeout"]
        self.context = ssl.create_default_context(cafile=config["cacert"])
        self.local = threading.local()

    def request(self, host, method, path, body=None, token=None):
        """(status, headers, body) or raises OSError / http.client.HTTPException."""
        conns = self.local.__dict__.setdefault("conns", {})
        conn = conns.get(host)
        if conn is None:
            conn = http.client.HTTPSConnection(host, self.port, timeout=self.timeout,
                                               context=self.context)
            conns[host] = conn
        headers = {"Authorization": "Bearer " + token} if token else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except BaseException:
            conn.close()
            conns.pop(host, None)
            raise
        if resp.getheader("Connection", "").lower() == "close":
            conn.close()
            conns.pop(host, None)
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


def describe(error):
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timeout"
    return "%s: %s" % (type(error).__name__, error)


class Load:
    def __init__(self, config, history):
        self.config = config
        self.history = history
        self.web = Web(config)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.next_op = 0
        self.watch = {}  # job id -> (owner, time it was last polled, times seen succeeded)

    def take_op(self):
        with self.lock:
            self.next_op += 1
            return self.next_op

    def submitter(self, index):
        rng = random.Random(self.config["seed_base"] + index)
        interval = self.config["threads"] / self.config["rate"]
        owners = sorted(self.config["tokens"])
        host_index = index
        next_at = time.monotonic()
        while not self.stop.is_set():
            op = self.take_op()
            seed = self.config["seed_base"] + op
            kind = "long" if rng.random() < self.config["long_share"] else "tiny"
            size = self.config[kind]
            shape = {"width": size["width"], "height": size["height"],
                     "samples": rng.randint(size["min_samples"], size["max_samples"])}
            body = json.dumps(scene(seed, **shape)).encode()
            owner = owners[op % len(owners)]
            host = self.config["web"][host_index % len(self.config["web"])]
            record = {"type": "submit", "op": op, "seed": seed, "owner": owner, "kind": kind,
                      "scene": shape, "web": host, "t0": time.time(), "status": None, "job": None,
                      "error": None}
            try:
                status, headers, data = self.web.request(host, "POST", "/api/v1/jobs", body,
                                                         self.config["tokens"][owner])
                record["status"] = status
                if status == 503:  # SPEC: always with Retry-After
                    record["retry_after"] = headers.get("retry-after")
                if status == 201:
                    record["job"] = json.loads(data)["id"]
            except (OSError, http.client.HTTPException, ValueError) as e:
                record["error"] = describe(e)
            record["t1"] = time.time()
            self.history.add(record)
            if record["job"]:
                with self.lock:
                    self.watch[record["job"]] = [owner, 0.0, 0]
            else:
                host_index += 1  # the next submit goes to the other web host
            next_at = max(next_at + interval, time.monotonic())
            self.stop.wait(max(0.0, next_at - time.monotonic()))

    def poller(self):
        """Polls the acknowledged jobs, oldest poll first, so every job is seen
        while it runs and after it ends; a job is watched until it has been
        seen succeeded twice (the second look checks that it stays so)."""
        host_index = 0
        while not self.stop.is_set():
            with self.lock:
                candidates = [(v[1], k) for k, v in self.watch.items()]
            if not candidates:
                self.stop.wait(0.2)
                continue
            _, job = min(candidates)
            owner = self.watch[job][0]
            host = self.config["web"][host_index % len(self.config["web"])]
            record = poll(self.web, host, self.config["tokens"][owner], job)
            self.history.add(record)
            with self.lock:
                entry = self.watch[job]
                entry[1] = time.time() + (1.0 if record.get("state") == "succeeded" else 0.0)
                if record.get("state") == "succeeded":
                    entry[2] += 1
                    if entry[2] >= 2:
                        del self.watch[job]
            if record["status"] is None or record["status"] >= 500:
                host_index += 1
            self.stop.wait(POLL_INTERVAL)


def poll(web, host, token, job):
    """One look at a job (and its result's ETag once succeeded)."""
    record = {"type": "poll", "job": job, "web": host, "t0": time.time(), "status": None,
              "state": None, "attempts": None, "etag": None, "error": None}
    try:
        status, _, data = web.request(host, "GET", "/api/v1/jobs/" + job, token=token)
        record["status"] = status
        if status == 200:
            doc = json.loads(data)
            record["state"] = doc["state"]
            record["attempts"] = doc["attempts"]
            if doc["state"] == "succeeded":
                status, _, png = web.request(host, "GET", "/api/v1/jobs/%s/result" % job,
                                             token=token)
                if status == 200:
                    # nginx's own ETag names the cached file (time and size) on
                    # that web host; the worker's is the content's: the first
                    # 128 bits of its SHA-256, which the client computes too.
                    record["etag"] = hashlib.sha256(png).hexdigest()[:32]
    except (OSError, http.client.HTTPException, ValueError) as e:
        record["error"] = describe(e)
    record["t1"] = time.time()
    return record


def run_load(config, history_path):
    history = History(history_path)
    load = Load(config, history)
    signal.signal(signal.SIGTERM, lambda *_: load.stop.set())
    signal.signal(signal.SIGINT, lambda *_: load.stop.set())
    threads = [threading.Thread(target=load.submitter, args=(i,), daemon=True)
               for i in range(config["threads"])]
    threads.append(threading.Thread(target=load.poller, daemon=True))
    for t in threads:
        t.start()
    while not load.stop.is_set():
        load.stop.wait(0.5)
    for t in threads:
        t.join(timeout=config["timeout"] + 5)
    return 0


def run_final(config, history_path, final_path):
    """Looks at every acknowledged job once more (8 at a time), through every
    web host in turn until one answers."""
    web = Web(config)
    out = History(final_path)
    acked = []
    with open(history_path) as f:
        for line in f:
            rec = json.loads(line)
            if rec["type"] == "submit" and rec.get("job"):
                acked.append((rec["job"], rec["owner"]))

    def look(item):
        job, owner = item
        for host in config["web"]:
            record = poll(web, host, config["tokens"][owner], job)
            if record["status"] is not None and record["status"] < 500:
                break
        record["type"] = "final"
        out.add(record)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(look, acked))
    return 0


def main(argv):
    if len(argv) < 3 or argv[0] not in ("load", "final"):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        config = json.load(f)
    if argv[0] == "load":
        return run_load(config, argv[2])
    return run_final(config, argv[2], argv[3])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
