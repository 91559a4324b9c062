// Api: every route of SPEC's "HTTP API", as a pure function from an HttpRequest
// to an HttpResponse.
//
// Routes (fcgi/routes.h): POST/GET /api/v1/jobs, GET/DELETE /api/v1/jobs/{id}
// (fcgi/job_routes.h), GET /api/v1/jobs/{id}/result and /preview
// (fcgi/image_routes.h), GET /api/v1/queue, /healthz, /metrics and
// /api/v1/openapi.json (fcgi/service_routes.h); HEAD is served wherever GET is.
// docs/api.md describes each answer; docs/openapi.yaml is the same as an
// OpenAPI 3.1 document. GETs of a job, the job list and the queue carry a weak
// ETag and answer If-None-Match with 304 (fcgi/conditional.h).
//
// Contract
// - Handle() never throws and never answers 5xx for bad input: bad input gets a
//   4xx problem, storage failures 503 storage-unavailable, and only an exception
//   escaping a handler (a bug) 500. A 201 is answered only after the store
//   reported the job committed.
// - Handle() does not read the socket: the caller passes the body it read (see
//   HttpRequest::body). The caller must not read a body whose content_length is
//   absent or over kMaxBodyBytes; Handle() answers 411/413 for those.
// - Thread safety: Handle() may be called from any number of threads at once;
//   the store must allow that too (JobStore's contract). The store, the clock and
//   the metrics must outlive the Api.
#pragma once

#include "core/model/clock.h"
#include "core/store/job_store.h"
#include "fcgi/http.h"
#include "fcgi/metrics.h"
#include "fcgi/route_context.h"

namespace renderq {

class Api {
 public:
  Api(JobStore* store, Metrics* metrics, const Clock* clock, ApiOptions options);

  HttpResponse Handle(const HttpRequest& request) const noexcept;

 private:
  HttpResponse Dispatch(const HttpRequest& request) const;

  const ApiOptions options_;
  const RouteContext ctx_;
};

}  // namespace renderq
