#include "fcgi/api.h"

#include <exception>
#include <stdexcept>
#include <string>
#include <variant>

#include "fcgi/auth.h"
#include "fcgi/image_routes.h"
#include "fcgi/job_routes.h"
#include "fcgi/log.h"
#include "fcgi/problem.h"
#include "fcgi/responses.h"
#include "fcgi/routes.h"
#include "fcgi/service_routes.h"

namespace renderq {

Api::Api(JobStore* store, Metrics* metrics, const Clock* clock, ApiOptions options)
    : options_(std::move(options)), ctx_{*store, *metrics, *clock, options_} {}

HttpResponse Api::Handle(const HttpRequest& request) const noexcept {
  HttpResponse response;
  try {
    response = Dispatch(request);
  } catch (const std::exception& e) {
    LogLine(std::string("internal error on ") + request.method + " " + request.path + ": " +
            e.what());
    response = MakeProblem(ProblemType::kInternal, "internal error; it has been logged");
  } catch (...) {
    LogLine("internal error on " + request.method + " " + request.path + ": unknown exception");
    response = MakeProblem(ProblemType::kInternal, "internal error; it has been logged");
  }
  ctx_.metrics.CountResponse(response.status);
  return response;
}

HttpResponse Api::Dispatch(const HttpRequest& request) const {
  const std::optional<Route> route = MatchRoute(request.path);
  if (!route) return NotFound("no such resource");
  const Endpoint endpoint = route->endpoint;
  if (!MethodAllowed(endpoint, request.method)) {
    const std::string allowed(AllowedMethods(endpoint));
    HttpResponse response =
        MakeProblem(ProblemType::kMethodNotAllowed,
                    "method " + request.method + " is not allowed here; allowed: " + allowed);
    response.SetHeader("Allow", allowed);
    return response;
  }
  switch (endpoint) {
    case Endpoint::kHealthz: return Healthz(ctx_);
    case Endpoint::kMetrics: return MetricsText(ctx_);
    case Endpoint::kOpenApi: return OpenApi(request);
    default: break;
  }

  const bool submit = endpoint == Endpoint::kJobs && request.method == "POST";
  std::variant<Owner, HttpResponse> who = Authenticate(ctx_.store, request);
  if (HttpResponse* refused = std::get_if<HttpResponse>(&who)) {
    if (submit) {
      ctx_.metrics.CountSubmit(refused->status == 401 ? SubmitResult::kRejected
                                                      : SubmitResult::kStorageError);
    }
    return std::move(*refused);
  }
  const Owner& owner = std::get<Owner>(who);
  switch (endpoint) {
    case Endpoint::kJobs:
      return submit ? SubmitJob(ctx_, request, owner) : ListJobs(ctx_, request, owner);
    case Endpoint::kQueue: return QueueStatus(ctx_, request, owner);
    default: break;
  }

  const std::optional<std::string> id = CanonicalUuid(route->id);
  if (!id) return JobNotFound();
  switch (endpoint) {
    case Endpoint::kJob:
      return request.method == "DELETE" ? CancelJob(ctx_, owner, *id)
                                        : GetJob(ctx_, request, owner, *id);
    case Endpoint::kResult: return JobResult(ctx_, owner, *id);
    case Endpoint::kPreview: return JobPreview(ctx_, owner, *id);
    default: throw std::logic_error("a route without a handler");
  }
}

}  // namespace renderq
