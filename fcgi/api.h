// Api: every route of SPEC's "HTTP API", as a pure function from an HttpRequest
// to an HttpResponse.
//
// Routes: POST/GET /api/v1/jobs, GET/DELETE /api/v1/jobs/{id},
// GET /api/v1/jobs/{id}/result, GET /api/v1/jobs/{id}/preview, GET /api/v1/queue,
// GET /healthz, GET /metrics, GET /api/v1/openapi.json (HEAD is served wherever
// GET is). docs/api.md describes each answer; docs/openapi.yaml is the same as
// an OpenAPI 3.1 document. GETs of a job, the job list and the queue carry a weak
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

#include <atomic>
#include <limits>
#include <string>
#include <string_view>

#include "core/model/clock.h"
#include "core/model/cost_model.h"
#include "core/store/job_store.h"
#include "core/model/scene.h"
#include "fcgi/http.h"
#include "fcgi/metrics.h"

namespace renderq {

struct ApiOptions {
  // SPEC: a scene predicted to render longer than this is 422 too-expensive.
  double max_render_seconds = kDefaultMaxRenderSeconds;
  // nginx's internal location that serves the results directory, where the
  // store keeps the images it answers with a file name (StoreOptions::results_dir).
  std::string internal_results_prefix = "/internal/results/";
  // The workers' measured throughput changes once per finished job; reading it
  // once a second instead of once per submit keeps the submit path to one
  // database round trip. 0: read it every time.
  TimeMs units_per_second_cache_ms = 1000;
};

class Api {
 public:
  Api(JobStore* store, Metrics* metrics, const Clock* clock, ApiOptions options);

  HttpResponse Handle(const HttpRequest& request) const noexcept;

  enum class Endpoint : int;  // the routes; defined in api.cpp

 private:
  HttpResponse Dispatch(const HttpRequest& request) const;
  HttpResponse Authenticated(const HttpRequest& request, Endpoint endpoint,
                             std::string_view raw_id) const;
  HttpResponse JobRoute(const HttpRequest& request, Endpoint endpoint, const Owner& owner,
                        std::string_view raw_id) const;
  HttpResponse StoreProblem(const Status& status) const;
  Result<double> UnitsPerSecond() const;

  HttpResponse Submit(const HttpRequest& request, const Owner& owner) const;
  HttpResponse SubmitScene(const HttpRequest& request, const Owner& owner,
                           const SceneDescription& scene) const;
  HttpResponse ListJobs(const HttpRequest& request, const Owner& owner) const;
  HttpResponse GetJob(const HttpRequest& request, const Owner& owner, const std::string& id) const;
  HttpResponse CancelJob(const Owner& owner, const std::string& id) const;
  HttpResponse JobResult(const Owner& owner, const std::string& id) const;
  HttpResponse JobPreview(const Owner& owner, const std::string& id) const;
  HttpResponse ImageResponse(const std::string& id, ArtifactKind kind) const;
  HttpResponse QueueStatus(const HttpRequest& request, const Owner& owner) const;
  HttpResponse Healthz() const;
  HttpResponse MetricsText() const;
  HttpResponse OpenApi(const HttpRequest& request) const;

  JobStore* store_;
  Metrics* metrics_;
  const Clock* clock_;
  ApiOptions options_;
  mutable std::atomic<double> ups_cached_{0.0};
  mutable std::atomic<TimeMs> ups_cached_at_{std::numeric_limits<TimeMs>::min() / 2};
};

}  // namespace renderq
