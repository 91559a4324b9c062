// Answers every route builds alike: JSON bodies, a job with its Location, the
// problems for an unknown job, a missing token and storage trouble, and
// Retry-After.
//
// Thread-safe: pure functions (StoreProblem logs).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/model/job.h"
#include "core/model/status.h"
#include "fcgi/http.h"

namespace renderq {

// A JSON body with Cache-Control: no-store. Invalid UTF-8 is replaced.
HttpResponse JsonResponse(int status, const nlohmann::json& body);
// The job object (SPEC "Job object") with its Location.
HttpResponse JobResponse(int status, const Job& job);

HttpResponse NotFound(std::string_view detail);
HttpResponse JobNotFound();
HttpResponse Unauthorized(std::string_view detail, bool token_was_sent);

// Retry-After in whole seconds: at least 1, rounded up, at most a day.
std::string RetryAfter(double seconds);
HttpResponse WithRetryAfter(HttpResponse response, double seconds);

// A store error as the client sees it: kNotFound is "no such job", a bug in
// the store 500, anything else 503 storage-unavailable with a Retry-After.
HttpResponse StoreProblem(const Status& status);

// `json` as compact text, invalid UTF-8 replaced.
std::string Dump(const nlohmann::json& json);

}  // namespace renderq
