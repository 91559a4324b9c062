#!/usr/bin/env python3
"""Webhooks end to end (SPEC "Notifications"), on SQLite or, with
RENDERQ_E2E_BACKEND=postgres, on PostgreSQL: nginx, renderq-fcgi, a CPU
worker and renderq-notify, receivers on loopback (allowed for the test).

- A receiver gets job.started and job.succeeded for its owner's job, each
  signed as Standard Webhooks (checked here from the specification), the body
  {"type", "timestamp", "data"} with data.state running for job.started; it
  gets nothing of another owner's jobs.
- A receiver that fails twice gets the third attempt with the same
  webhook-id, and the delivery log shows the three attempts, newest first.
- A receiver that hangs does not hold up another webhook's deliveries: the
  other webhook gets each event at about the time a third, healthy receiver
  does. The bound is half an attempt's 10 s timeout, which a dispatcher that
  waited for the hanging receiver would exceed; the measured gap (usually a
  few milliseconds) is printed, and the 1 s figure belongs to a quiet machine.
- renderq-notify SIGKILLed while a delivery is in flight delivers it after
  its restart, with the same webhook-id.
- Routes: secrets shown once and never listed, another owner's webhook 404,
  DELETE 204, a canceled job's job.canceled, retry of a canceled job (200,
  queued again, attempts 0) and of a succeeded one (409).
"""
import json
import pathlib
import shutil
import signal
import sys
import tempfile
import time

import notify_stack as ns
import stack
import worker_stack as ws

LEASE = 12  # seconds: the restarted dispatcher takes the killed one's delivery after this
ATTEMPT_TIMEOUT = 10  # seconds: how long the dispatcher waits for a receiver's answer


def create_webhook(s, token, url, events):
    status, headers, body = s.request("POST", "/api/v1/webhooks",
                                      json.dumps({"url": url, "events": events}).encode(), token)
    assert status == 201, (status, body)
    hook = json.loads(body)
    assert headers["location"] == "/api/v1/webhooks/" + hook["id"]
    return hook


def submit(s, token, seed, samples=4):
    status, job, _ = ws.submit(s, token, ws.scene(32, 24, samples, seed=seed))
    assert status == 201, (status, job)
    return job


def deliveries(s, token, hook_id):
    status, _, body = s.request("GET", "/api/v1/webhooks/%s/deliveries" % hook_id, token=token)
    assert status == 200, (status, body)
    return json.loads(body)["deliveries"]


def check_signed(hook, request):
    ns.verify_signature(hook["secret"], request.headers, request.body)
    assert request.headers["content-type"] == "application/json"


def main():
    stack.time_limit(400)
    stack.require_binaries("renderq-notify", "renderq-worker")
    backend = stack.Stack().backend
    keys_dir = pathlib.Path(tempfile.mkdtemp(prefix="renderq-keys-"))
    keys = ns.SealKeys(keys_dir)
    ok = ns.Receiver(lambda r, i: 200)
    other = ns.Receiver(lambda r, i: 200)
    flaky = ns.Receiver(lambda r, i: 503 if i < 2 else 200)
    hanging = ns.Receiver(lambda r, i: "hang")
    quick = ns.Receiver(lambda r, i: 200)
    slow = ns.Receiver(lambda r, i: (time.sleep(4), 200)[1] if i == 0 else 200)
    receivers = [ok, other, flaky, hanging, quick, slow]
    try:
        with stack.Stack(responder_args=keys.responder_args()) as s:
            notify = ns.Notify(s, keys, extra_args=["--delivery-lease-seconds", str(LEASE)]).start()
            alice = s.create_token("alice")
            bob = s.create_token("bob")
            every = ["job.started", "job.succeeded", "job.failed", "job.canceled"]
            hook_a = create_webhook(s, alice, ok.url, every)
            hook_b = create_webhook(s, bob, other.url, every)
            hook_f = create_webhook(s, alice, flaky.url, ["job.succeeded"])
            assert hook_a["secret"].startswith("whsec_") and hook_a["secret"] != hook_b["secret"]

            # Listing shows no secret; another owner's webhook is 404.
            status, _, body = s.request("GET", "/api/v1/webhooks", token=alice)
            listed = json.loads(body)["webhooks"]
            assert [h["id"] for h in listed] == [hook_a["id"], hook_f["id"]], listed
            assert all("secret" not in h for h in listed)
            assert s.request("GET", "/api/v1/webhooks/%s/deliveries" % hook_a["id"],
                             token=bob)[0] == 404
            assert s.request("DELETE", "/api/v1/webhooks/%s" % hook_a["id"], token=bob)[0] == 404

            workers = ws.WorkerSet(s)
            workers.start("w")
            workers.wait_registered(["w"])

            # ---- started and succeeded, signed; nothing of bob's at alice's receiver
            job_a = submit(s, alice, seed=1)
            job_b = submit(s, bob, seed=2)
            ws.wait_terminal(s, alice, [job_a["id"]], 120)
            ws.wait_terminal(s, bob, [job_b["id"]], 120)
            got = ok.wait_for(lambda rs: len(rs) >= 2, what="alice's two events")
            time.sleep(1)  # anything else that would come, would come now
            got = ok.requests
            types = [(r.json()["type"], r.json()["data"]["id"]) for r in got]
            assert types == [("job.started", job_a["id"]), ("job.succeeded", job_a["id"])], types
            for r in got:
                check_signed(hook_a, r)
                body = r.json()
                assert set(body) == {"type", "timestamp", "data"}, body
                assert body["data"]["state"] == {"job.started": "running",
                                                 "job.succeeded": "succeeded"}[body["type"]]
            assert got[0].headers["webhook-id"] != got[1].headers["webhook-id"]
            theirs = other.wait_for(lambda rs: len(rs) >= 2, what="bob's two events")
            assert all(r.json()["data"]["id"] == job_b["id"] for r in theirs)
            for r in theirs:
                check_signed(hook_b, r)
            print("ok: signed job.started and job.succeeded, owners kept apart")

            # ---- fails twice, the third attempt carries the same webhook-id
            tried = flaky.wait_for(lambda rs: len(rs) >= 3, timeout=60, what="three attempts")
            ids = {r.headers["webhook-id"] for r in tried}
            assert len(ids) == 1, ids
            event_id = ids.pop()
            for r in tried:
                check_signed(hook_f, r)
            # The third attempt is recorded once its answer is in.
            deadline = time.monotonic() + 20
            while len(log := deliveries(s, alice, hook_f["id"])) < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert [(d["attempt"], d["status"]) for d in log] == [(3, 200), (2, 503), (1, 503)], log
            assert log[1]["error"] == "answered 503" and log[0]["error"] is None
            assert all(d["event_id"] == event_id for d in log)
            print("ok: failed twice, delivered on the third attempt with the same webhook-id")

            # ---- a hanging receiver delays another webhook by less than a second
            hook_h = create_webhook(s, alice, hanging.url, every)
            hook_q = create_webhook(s, alice, quick.url, every)
            before = len(ok.requests)
            job_c = submit(s, alice, seed=3)
            ws.wait_terminal(s, alice, [job_c["id"]], 120)
            quick.wait_for(lambda rs: len(rs) >= 2, what="the quick receiver's events")
            ok.wait_for(lambda rs: len(rs) >= before + 2, what="the reference receiver's events")
            assert len(hanging.requests) >= 1
            lags = []
            for event in ("job.started", "job.succeeded"):
                at_ok = next(r.at for r in ok.requests[before:] if r.json()["type"] == event)
                at_q = next(r.at for r in quick.requests if r.json()["type"] == event)
                lags.append(at_q - at_ok)
            print("ok: with a hanging receiver, another webhook got its events %s s after a third"
                  % ", ".join("%.3f" % lag for lag in lags))
            assert all(abs(lag) < ATTEMPT_TIMEOUT / 2 for lag in lags), lags
            for hook in (hook_h, hook_q):
                assert s.request("DELETE", "/api/v1/webhooks/%s" % hook["id"], token=alice)[0] == 204
            assert s.request("DELETE", "/api/v1/webhooks/%s" % hook_h["id"], token=alice)[0] == 404

            # ---- SIGKILL mid-delivery: delivered after the restart, same webhook-id
            hook_s = create_webhook(s, alice, slow.url, ["job.succeeded"])
            job_d = submit(s, alice, seed=4)
            slow.wait_for(lambda rs: len(rs) >= 1, timeout=120, what="the first attempt")
            notify.kill(signal.SIGKILL)
            killed_at = time.monotonic()
            notify.start()
            again = slow.wait_for(lambda rs: len(rs) >= 2, timeout=LEASE + 60,
                                  what="the attempt after the restart")
            assert again[0].headers["webhook-id"] == again[1].headers["webhook-id"]
            for r in again:
                check_signed(hook_s, r)
            print("ok: delivered again %.1f s after the dispatcher was killed mid-delivery"
                  % (again[1].at - killed_at))

            # ---- cancel of a queued job: job.canceled; retry routes
            workers.stop("w")
            job_e = submit(s, alice, seed=5)
            status, _, body = s.request("DELETE", "/api/v1/jobs/" + job_e["id"], token=alice)
            assert status == 200 and json.loads(body)["state"] == "canceled", (status, body)
            canceled = ok.wait_for(
                lambda rs: any(r.json()["type"] == "job.canceled" for r in rs), what="job.canceled")
            check_signed(hook_a, [r for r in canceled if r.json()["type"] == "job.canceled"][0])
            status, _, body = s.request("POST", "/api/v1/jobs/%s/retry" % job_e["id"], token=alice)
            retried = json.loads(body)
            assert status == 200 and retried["state"] == "queued" and retried["attempts"] == 0, body
            assert s.request("POST", "/api/v1/jobs/%s/retry" % job_e["id"], token=bob)[0] == 404
            status, _, body = s.request("POST", "/api/v1/jobs/%s/retry" % job_a["id"], token=alice)
            assert status == 409, (status, body)
            assert json.loads(body)["type"] == "urn:renderq:problem:job-not-retryable"
            assert "succeeded" in json.loads(body)["detail"]
            status, _, body = s.request("POST", "/api/v1/jobs/%s/retry" % job_e["id"], token=alice)
            assert status == 409 and "queued" in json.loads(body)["detail"], (status, body)
            print("ok: job.canceled delivered; retry 200 for a canceled job, 409 otherwise")
            print("ok (%s)" % backend)
            return 0
    finally:
        for r in receivers:
            r.close()
        shutil.rmtree(keys_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
