#!/usr/bin/env python3
"""End to end over HTTPS through nginx: submit -> 201 + Location -> GET -> list ->
cancel -> 409 on a second cancel; 401 without a token; problem+json shapes; the
security headers nginx adds; the responder socket's mode."""
import http.client
import json
import os
import stat
import sys

import stack

SECURITY_HEADERS = ("strict-transport-security", "x-content-type-options",
                    "content-security-policy")


def check_security_headers(headers, what):
    for name in SECURITY_HEADERS:
        assert name in headers, "%s: no %s header" % (what, name)


def main():
    stack.time_limit(55)
    with stack.Stack() as s:
        mode = stat.S_IMODE(os.stat(s.socket).st_mode)
        assert mode == 0o660, "socket mode %o, want 660" % mode
        token = s.create_token("alice")
        other = s.create_token("mallory")

        # submit
        status, headers, body = s.request("POST", "/api/v1/jobs", stack.scene_body(7), token=token)
        assert status == 201, (status, body)
        job = json.loads(body)
        location = headers["location"]
        assert location == "/api/v1/jobs/" + job["id"], location
        assert job["state"] == "queued" and job["position"] == 1, job
        check_security_headers(headers, "201")

        # get
        status, headers, body = s.request("GET", location, token=token)
        assert status == 200, (status, body)
        assert json.loads(body)["id"] == job["id"]

        # list: own jobs only, newest first
        second = json.loads(s.request("POST", "/api/v1/jobs", stack.scene_body(8), token=token)[2])
        s.request("POST", "/api/v1/jobs", stack.scene_body(9), token=other)
        status, _, body = s.request("GET", "/api/v1/jobs", token=token)
        assert status == 200, (status, body)
        ids = [j["id"] for j in json.loads(body)["jobs"]]
        assert ids == [second["id"], job["id"]], ids

        # another owner's job is 404, never 403
        status, headers, body = s.request("GET", location, token=other)
        assert status == 404, status
        assert stack.problem(headers, body)["status"] == 404

        # cancel, then cancel again
        status, _, body = s.request("DELETE", location, token=token)
        assert status == 200, (status, body)
        assert json.loads(body)["state"] == "canceled"
        status, headers, body = s.request("DELETE", location, token=token)
        assert status == 409, (status, body)
        doc = stack.problem(headers, body)
        assert doc["status"] == 409 and doc["type"].startswith("urn:renderq:problem:"), doc

        # 401 without a token and with a wrong one
        for auth in (None, "rq_not-a-token"):
            status, headers, body = s.request("POST", "/api/v1/jobs", stack.scene_body(1), token=auth)
            assert status == 401, (auth, status)
            assert stack.problem(headers, body)["status"] == 401
            check_security_headers(headers, "401")

        # invalid scene: 422 with every finding by pointer
        bad = json.dumps(dict(stack.SMALL_SCENE, width=0, samples=-1)).encode()
        status, headers, body = s.request("POST", "/api/v1/jobs", bad, token=token)
        assert status == 422, (status, body)
        pointers = {e["pointer"] for e in stack.problem(headers, body)["errors"]}
        assert {"/width", "/samples"} <= pointers, pointers

        # nginx's own answers are problem+json too: body over 4 MiB
        status, headers, body = s.request("POST", "/api/v1/jobs", b" " * (5 << 20), token=token)
        assert status == 413, status
        assert stack.problem(headers, body)["status"] == 413

        # plain HTTP only redirects to HTTPS
        conn = http.client.HTTPConnection("127.0.0.1", s.http_port, timeout=10)
        conn.request("GET", "/api/v1/jobs")
        resp = conn.getresponse()
        assert resp.status == 301, resp.status
        assert resp.getheader("Location") == "https://127.0.0.1:%d/api/v1/jobs" % s.https_port
        conn.close()

        # /metrics from loopback; internal results are not reachable from outside
        assert s.request("GET", "/metrics")[0] == 200
        assert s.request("GET", "/internal/results/%s.png" % job["id"], token=token)[0] == 404

        # renderqctl sees the same database
        assert json.loads(s.ctl("--json", "show", job["id"]))["state"] == "canceled"
        assert len(s.job_ids_in_db()) == 3
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
