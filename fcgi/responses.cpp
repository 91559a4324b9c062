#include "fcgi/responses.h"

#include <algorithm>
#include <cmath>

#include "fcgi/log.h"
#include "fcgi/problem.h"
#include "fcgi/routes.h"

namespace renderq {
namespace {

using Json = nlohmann::json;

constexpr double kStorageRetryAfterSeconds = 1;

}  // namespace

std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

HttpResponse JsonResponse(int status, const Json& body) {
  HttpResponse response;
  response.status = status;
  response.SetHeader("Content-Type", "application/json");
  response.SetHeader("Cache-Control", "no-store");
  response.body = Dump(body);
  return response;
}

HttpResponse JobResponse(int status, const Job& job) {
  HttpResponse response = JsonResponse(status, JobToJson(job));
  response.SetHeader("Location", JobLocation(job.id));
  return response;
}

HttpResponse NotFound(std::string_view detail) {
  return MakeProblem(ProblemType::kNotFound, detail);
}

HttpResponse JobNotFound() { return NotFound("no such job"); }

HttpResponse Unauthorized(std::string_view detail, bool token_was_sent) {
  HttpResponse response = MakeProblem(ProblemType::kUnauthorized, detail);
  response.SetHeader("WWW-Authenticate", token_was_sent
                                             ? R"(Bearer realm="renderq", error="invalid_token")"
                                             : R"(Bearer realm="renderq")");
  return response;
}

std::string RetryAfter(double seconds) {
  if (!std::isfinite(seconds) || seconds < 1) seconds = 1;
  seconds = std::min(std::ceil(seconds), 86400.0);
  return std::to_string(static_cast<long long>(seconds));
}

HttpResponse WithRetryAfter(HttpResponse response, double seconds) {
  response.SetHeader("Retry-After", RetryAfter(seconds));
  return response;
}

HttpResponse StoreProblem(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound: return JobNotFound();
    case StatusCode::kInternal:
      LogLine("store reported a bug: " + status.ToString());
      return MakeProblem(ProblemType::kInternal, "internal error; it has been logged");
    default:
      LogLine("storage unavailable: " + status.ToString());
      return WithRetryAfter(
          MakeProblem(ProblemType::kStorageUnavailable,
                      "the job database is unavailable; nothing was stored, retry later"),
          kStorageRetryAfterSeconds);
  }
}

}  // namespace renderq
