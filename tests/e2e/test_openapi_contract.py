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
  and the result, sent by nginx, answer theirs with 304 too;
- the job kinds' routes (the checkout's kinds.d/): GET /api/v1/kinds (and its
  304), POST /api/v1/kinds/{kind}/jobs answering 201, 404, 415 and 422, and
  kinds/scene/jobs; the checker refuses a kind without its input_schema.
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


def check_kind_routes(s, token):
    status, h, body = s.request("GET", "/api/v1/kinds", token=token)
    assert status == 200, (status, body)
    listed = json.loads(body)
    assert [k["name"] for k in listed["kinds"]][:1] == ["scene"], listed
    assert {"povray", "python-example"} <= {k["name"] for k in listed["kinds"]}, listed
    status, _, body = s.request("GET", "/api/v1/kinds", token=token,
                                headers={"If-None-Match": h["etag"]})
    assert status == 304 and body == b"", status
    route = "/api/v1/kinds/python-example/jobs"
    status, h, body = s.request("POST", route, json.dumps({"size": 16, "steps": 1}).encode(),
                                token=token)
    assert status == 201 and json.loads(body)["kind"] == "python-example", (status, body)
    assert h["location"] == "/api/v1/jobs/" + json.loads(body)["id"], h
    status, _, body = s.request("POST", "/api/v1/kinds/scene/jobs", stack.scene_body(seed=11),
                                token=token)
    assert status == 201 and json.loads(body)["kind"] == "scene", (status, body)
    status, _, body = s.request("POST", "/api/v1/kinds/no-such-kind/jobs", b"{}", token=token)
    assert status == 404, status
    status, _, body = s.request("POST", route, json.dumps({"size": 1, "colour": 2}).encode(),
                                token=token)
    assert status == 422 and len(json.loads(body)["errors"]) == 2, (status, body)
    status, _, body = s.request("POST", route, b"{}", token=token,
                                headers={"Content-Type": "text/plain"})
    assert status == 415, status
    doctored = dict(listed, kinds=[{k: v for k, v in kind.items() if k != "input_schema"}
                                   for kind in listed["kinds"]])
    try:
        openapi_contract.contract().check("GET", "/api/v1/kinds", 200,
                                          {"content-type": "application/json"},
                                          json.dumps(doctored).encode())
    except openapi_contract.ContractError:
        pass
    else:
        raise AssertionError("the contract check let a kind without input_schema through")


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
    with stack.Stack(responder_args=["--kinds-dir", str(stack.SOURCE_DIR / "kinds.d")]) as s:
        token = s.create_token("alice")
        check_document(s)
        check_contract_catches(s, token)
        check_kind_routes(s, token)
        check_conditional(s, token)
        print("ok: %d answers checked against docs/openapi.yaml" % openapi_contract.contract().checked)
    return 0


if __name__ == "__main__":
    sys.exit(main())
