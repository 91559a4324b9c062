#include "fcgi/problem.h"

#include <nlohmann/json.hpp>

namespace renderq {

namespace {

struct ProblemInfo {
  std::string_view name;
  int status;
  std::string_view title;
};

ProblemInfo Info(ProblemType type) {
  switch (type) {
    case ProblemType::kMalformedJson: return {"malformed-json", 400, "Malformed JSON"};
    case ProblemType::kMalformedBody: return {"malformed-body", 400, "Incomplete request body"};
    case ProblemType::kInvalidQuery: return {"invalid-query", 400, "Invalid query parameter"};
    case ProblemType::kInvalidIdempotencyKey:
      return {"invalid-idempotency-key", 400, "Invalid Idempotency-Key"};
    case ProblemType::kUnauthorized: return {"unauthorized", 401, "Missing or unknown token"};
    case ProblemType::kNotFound: return {"not-found", 404, "Not found"};
    case ProblemType::kMethodNotAllowed: return {"method-not-allowed", 405, "Method not allowed"};
    case ProblemType::kIdempotencyConflict:
      return {"idempotency-conflict", 409, "Idempotency-Key reused with a different body"};
    case ProblemType::kJobTerminal: return {"job-terminal", 409, "Job already finished"};
    case ProblemType::kResultNotReady: return {"result-not-ready", 409, "Result not ready"};
    case ProblemType::kJobNotRetryable: return {"job-not-retryable", 409, "Job cannot be retried"};
    case ProblemType::kTooManyWebhooks: return {"too-many-webhooks", 409, "Too many webhooks"};
    case ProblemType::kLengthRequired: return {"length-required", 411, "Content-Length required"};
    case ProblemType::kBodyTooLarge: return {"body-too-large", 413, "Request body too large"};
    case ProblemType::kUnsupportedMediaType:
      return {"unsupported-media-type", 415, "Unsupported media type"};
    case ProblemType::kInvalidScene: return {"invalid-scene", 422, "Invalid scene"};
    case ProblemType::kInvalidInput: return {"invalid-input", 422, "Invalid input"};
    case ProblemType::kTooExpensive: return {"too-expensive", 422, "Scene too expensive"};
    case ProblemType::kInvalidWebhook: return {"invalid-webhook", 422, "Invalid webhook"};
    case ProblemType::kOwnerQueueFull:
      return {"owner-queue-full", 429, "Too many queued jobs for this token"};
    case ProblemType::kInternal: return {"internal", 500, "Internal error"};
    case ProblemType::kQueueFull: return {"queue-full", 503, "Queue full"};
    case ProblemType::kStorageUnavailable:
      return {"storage-unavailable", 503, "Storage unavailable"};
    case ProblemType::kWebhooksUnavailable:
      return {"webhooks-unavailable", 503, "Webhooks unavailable"};
  }
  return {"internal", 500, "Internal error"};
}

}  // namespace

std::string_view ProblemName(ProblemType type) { return Info(type).name; }
int ProblemStatus(ProblemType type) { return Info(type).status; }
std::string_view ProblemTitle(ProblemType type) { return Info(type).title; }

std::string ProblemTypeUri(ProblemType type) {
  std::string uri(kProblemTypePrefix);
  uri += Info(type).name;
  return uri;
}

HttpResponse MakeProblem(ProblemType type, std::string_view detail,
                         const std::vector<ProblemError>& errors) {
  const ProblemInfo info = Info(type);
  // Ordered: `type` first, as RFC 9457's examples and a human reader expect.
  nlohmann::ordered_json body = {
      {"type", ProblemTypeUri(type)},
      {"title", info.title},
      {"status", info.status},
      {"detail", detail},
  };
  if (errors.size() == 1) {
    body["pointer"] = errors.front().pointer;
  } else if (!errors.empty()) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const ProblemError& e : errors)
      list.push_back({{"pointer", e.pointer}, {"detail", e.detail}});
    body["errors"] = std::move(list);
  }
  HttpResponse response;
  response.status = info.status;
  response.SetHeader("Content-Type", "application/problem+json");
  response.SetHeader("Cache-Control", "no-store");
  // Replace, not throw, should a caller ever pass bytes that are not UTF-8.
  response.body = body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return response;
}

}  // namespace renderq
