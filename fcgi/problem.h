// RFC 9457 problem details: the body of every error response.
//
// {"type": "urn:renderq:problem:invalid-scene", "title": "Invalid scene",
//  "status": 422, "detail": "...", "errors": [{"pointer": "/objects/3/radius",
//  "detail": "must be > 0"}]}
//
// `type` is `urn:renderq:problem:<name>`; each ProblemType has one name, one
// status and one title (docs/api.md lists them, with the ones nginx answers).
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fcgi/http.h"

namespace renderq {

enum class ProblemType {
  kMalformedJson,          // 400
  kMalformedBody,          // 400: the body is shorter than CONTENT_LENGTH announced
  kInvalidQuery,           // 400
  kInvalidIdempotencyKey,  // 400
  kUnauthorized,           // 401
  kNotFound,               // 404
  kMethodNotAllowed,       // 405
  kIdempotencyConflict,    // 409
  kJobTerminal,            // 409
  kResultNotReady,         // 409
  kJobNotRetryable,        // 409
  kTooManyWebhooks,        // 409
  kLengthRequired,         // 411
  kBodyTooLarge,           // 413
  kUnsupportedMediaType,   // 415
  kInvalidScene,           // 422
  kInvalidInput,           // 422: a kind's input its schema refuses
  kTooExpensive,           // 422
  kInvalidWebhook,         // 422
  kOwnerQueueFull,         // 429
  kInternal,               // 500: a bug in the responder
  kQueueFull,              // 503
  kStorageUnavailable,     // 503
  kWebhooksUnavailable,    // 503: the responder has no key to seal secrets with
};

inline constexpr std::string_view kProblemTypePrefix = "urn:renderq:problem:";

std::string_view ProblemName(ProblemType type);   // "invalid-scene"
int ProblemStatus(ProblemType type);              // 422
std::string_view ProblemTitle(ProblemType type);  // "Invalid scene"
std::string ProblemTypeUri(ProblemType type);     // "urn:renderq:problem:invalid-scene"

struct ProblemError {
  std::string pointer;  // RFC 6901 JSON pointer into the request body
  std::string detail;
};

// A complete error response: status, Content-Type application/problem+json,
// Cache-Control no-store, and the problem body. SPEC lists `errors` only where
// there are several findings: two or more go to `errors`, a single one becomes
// the extension member `pointer` (the caller names it in `detail` too). Invalid
// UTF-8 in the texts is replaced, never thrown on.
HttpResponse MakeProblem(ProblemType type, std::string_view detail,
                         const std::vector<ProblemError>& errors = {});

}  // namespace renderq
