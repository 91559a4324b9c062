#!/usr/bin/env python3
"""docs/openapi.yaml and what the stack answers (through nginx, TLS, the responder
and a CPU worker):

- /api/v1/openapi.json is the YAML document as JSON, needs no token, and
  revalidates to a bodyless 304;
- the contract check that stack.request() applies to every answer catches answers
  the document does not describe (a state it does not list, a missing field, an
  extra one, an undocumented status, a missing Location), so a green e2e run
  means every answer fitted;
- conditional GETs end to end: a job, the job list and the queue answer their
  weak ETag with 304 until something a poller would see changes; the preview
  and the result, sent by nginx, answer theirs with 304 too.
"""
import json
import sys
import time

import openapi_contract
import stack
import worker_stack


def check_document(s):
    status, h, body = s.request("GET", "/api/v1/openapi.json")
    assert status == 200, status
    assert h["content-type"] == "application/json"
    assert json.loads(body) == openapi_contract.contract().doc, "served document differs from the YAML"
    status, h2, body = s.request("GET", "/api/v1/openapi.json", headers={"If-None-Match": h["etag"]})
    assert status == 304 and body == b"" and "content-length" not in h2, (status, h2)


def check_contract_catches(s, token):
    """The checker itself: doctored copies of a real answer must fail it."""
    status, h, body = s.request("POST", "/api/v1/jobs", stack.scene_body(seed=7), token=token)
    assert status == 201
    job = json.loads(body)
    path = "/api/v1/jobs/" + job["id"]
    c = openapi_contract.contract()
    c.check("POST", "/api/v1/jobs", 201, h, body)  # the real one fits
    doctored = [
        ("a state the document does not list", 201, h, dict(job, state="paused")),
        ("a missing field", 201, h, {k: v for k, v in job.items() if k != "attempts"}),
        ("an undocumented field", 201, h, dict(job, priority=1)),
        ("a wrong type", 201, h, dict(job, progress="0")),
        ("an undocumented status", 203, h, job),
        ("no Location", 201, {k: v for k, v in h.items() if k != "location"}, job),
    ]
    for why, code, headers, doc in doctored:
        try:
            c.check("POST", "/api/v1/jobs", code, headers, json.dumps(doc).encode())
        except openapi_contract.ContractError:
            continue
        raise AssertionError("the contract check let %s through" % why)
    try:
        c.check("GET", path, 404, {"content-type": "application/problem+json"},
                json.dumps({"type": "urn:renderq:problem:nope", "title": "x", "status": 404}).encode())
    except openapi_contract.ContractError:
        pass
    else:
        raise AssertionError("the contract check let an unknown problem type through")
    return job["id"]


def revalidates(s, token, path):
    """(etag, 304 answer) for a second GET of `path` with the first one's ETag."""
    status, h, _ = s.request("GET", path, token=token)
    assert status == 200 and h.get("etag"), (path, status, h)
    status, h2, body = s.request("GET", path, token=token, headers={"If-None-Match": h["etag"]})
    return h["etag"], status, body


def check_conditional(s, token):
    workers = worker_stack.WorkerSet(s)
    # Nothing runs yet: job, list and queue are stable between two polls.
    job_id = json.loads(s.request("POST", "/api/v1/jobs", stack.scene_body(seed=8),
                                  token=token)[2])["id"]
    for path in ("/api/v1/jobs/" + job_id, "/api/v1/jobs?state=queued", "/api/v1/queue"):
        etag, status, body = revalidates(s, token, path)
        assert status == 304 and body == b"", (path, status)
        assert etag.startswith('W/"'), etag
    # A change a poller would see (a new job) gives the list and the queue a new tag.
    _, h, _ = s.request("GET", "/api/v1/queue", token=token)
    s.request("POST", "/api/v1/jobs", stack.scene_body(seed=9), token=token)
    status, _, _ = s.request("GET", "/api/v1/queue", token=token,
                             headers={"If-None-Match": h["etag"]})
    assert status == 200, status

    # A slow job: its preview revalidates through nginx while nothing new was written.
    slow = worker_stack.scene(320, 240, 2000, seed=3)  # ~30 s by the default cost model
    slow_id = json.loads(s.request("POST", "/api/v1/jobs", json.dumps(slow).encode(),
                                   token=token)[2])["id"]
    workers.start("cpu")
    deadline = time.monotonic() + 60
    preview = None
    while time.monotonic() < deadline and preview is None:
        status, h, body = s.request("GET", "/api/v1/jobs/%s/preview" % slow_id, token=token)
        if status == 200:
            preview = h
        time.sleep(0.1)
    assert preview is not None, "no preview within 60 s"
    assert "etag" in preview, preview
    status, h, _ = s.request("GET", "/api/v1/jobs/%s/preview" % slow_id, token=token,
                             headers={"If-None-Match": preview["etag"]})
    assert status in (200, 304), status  # 200 when a newer preview landed in between
    s.request("DELETE", "/api/v1/jobs/" + slow_id, token=token)

    worker_stack.wait_terminal(s, token, [job_id], timeout=60)
    status, h, body = s.request("GET", "/api/v1/jobs/%s/result" % job_id, token=token)
    assert status == 200 and "etag" in h, (status, h)
    status, _, body = s.request("GET", "/api/v1/jobs/%s/result" % job_id, token=token,
                                headers={"If-None-Match": h["etag"]})
    assert status == 304 and body == b"", status
    workers.stop_all()


def main():
    stack.require_binaries("renderq-worker")
    stack.time_limit(120)
    with stack.Stack() as s:
        token = s.create_token("alice")
        check_document(s)
        check_contract_catches(s, token)
        check_conditional(s, token)
        print("ok: %d answers checked against docs/openapi.yaml" % openapi_contract.contract().checked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
