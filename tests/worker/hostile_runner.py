#!/usr/bin/env python3
"""Runners that misbehave on purpose, one per MODE, for the worker's
hostile-runner tables (runner_session_tests.cpp, kind_job_tests.cpp). They
speak the protocol by hand (no helper), so each can break it exactly one way:

    hostile_runner.py MODE

Standard library only. A mode that needs a job reads one line first.
"""
import json
import os
import subprocess
import sys
import time

MODE = sys.argv[1]


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def raw(data):
    os.write(1, data)


def file(job, name, data):
    with open(os.path.join(job["dir"], name), "wb") as f:
        f.write(data)


def next_job():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)["job"]


if MODE == "never_ready":
    time.sleep(3600)
if MODE == "exits_before_ready":
    print("cannot load the model", file=sys.stderr, flush=True)
    sys.exit(4)
if MODE == "progress_before_ready":
    send({"progress": 0.1})
    time.sleep(3600)
send({"ready": True})
if MODE == "never_reads_stdin":
    time.sleep(3600)

while True:
    job = next_job()
    if MODE == "good":  # echoes its input as the output, job after job
        send({"progress": 0.5})
        file(job, "out.json", json.dumps(job["input"]).encode())
        send({"done": "out.json"})
    elif MODE == "leaves_dir":
        send({"done": "../outside"})
    elif MODE == "absolute_path":
        send({"done": "/etc/passwd"})
    elif MODE == "symlink":
        os.symlink("/etc/passwd", os.path.join(job["dir"], "link"))
        send({"done": "link"})
    elif MODE == "fifo":
        os.mkfifo(os.path.join(job["dir"], "fifo"))
        send({"done": "fifo"})
    elif MODE == "device":
        try:  # a character device like /dev/null, where mknod is allowed (root)
            os.mknod(os.path.join(job["dir"], "dev"), 0o20666, os.makedev(1, 3))
        except PermissionError:
            os.symlink("/dev/null", os.path.join(job["dir"], "dev"))
        send({"done": "dev"})
    elif MODE == "output_too_large":
        file(job, "out", b"x" * 4096)
        send({"done": "out"})
    elif MODE == "checkpoint_too_large":
        file(job, "ckpt", b"x" * 4096)
        send({"checkpoint": "ckpt"})
        time.sleep(3600)
    elif MODE == "line_too_long":
        raw(b'{"progress": 0.' + b"1" * (2 << 20) + b"}\n")
        time.sleep(3600)
    elif MODE == "flood":
        while True:
            raw(b'{"progress": 0.5}\n' * 1000)
    elif MODE == "invalid_utf8":
        raw(b'{"done": "\xff\xfe"}\n')
        time.sleep(3600)
    elif MODE == "invalid_json":
        raw(b"{done: out}\n")
        time.sleep(3600)
    elif MODE == "unknown_message":
        send({"hello": "worker"})
        time.sleep(3600)
    elif MODE == "exits_mid_job":
        send({"progress": 0.3})
        print("segmentation fault (pretend)", file=sys.stderr, flush=True)
        os._exit(139)
    elif MODE == "ignores_cancel":
        # A child in the same process group must die with it.
        subprocess.Popen(["sleep", "3600"])
        send({"progress": 0.1})
        time.sleep(3600)
    elif MODE == "honours_cancel":
        send({"progress": 0.1})
        line = json.loads(sys.stdin.readline())
        assert line == {"cancel": job["id"]}, line
        send({"failed": {"code": "canceled", "message": "stopped on request"}})
    elif MODE == "writes_after_done":
        file(job, "out", b"x")
        send({"done": "out"})
        time.sleep(0.2)
        send({"progress": 1.0})
        time.sleep(3600)
    elif MODE == "checkpoint":
        file(job, "state", b"state-of-" + job["id"].encode())
        send({"checkpoint": "state"})
        answer = json.loads(sys.stdin.readline())
        file(job, "out", json.dumps(answer).encode())
        send({"done": "out"})
    elif MODE == "device_lost":
        send({"failed": {"code": "device_lost", "message": "Xid 79: GPU has fallen off the bus"}})
    elif MODE == "retry":
        send({"failed": {"code": "out_of_memory", "message": "12 GB > 8 GB", "retry": True}})
    elif MODE == "fails":
        send({"failed": {"code": "bad_prompt", "message": "the prompt is empty"}})
    elif MODE == "never_ends":
        send({"progress": 0.1})
        time.sleep(3600)
    elif MODE == "bad_preview":
        file(job, "preview.png", b"not an image")
        send({"preview": "preview.png"})
        time.sleep(3600)
    else:
        sys.exit("unknown mode " + MODE)
