// The responder's routes: which endpoint a path names, which methods each
// allows, and the id a job route carries.
//
// Thread-safe: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace renderq {

enum class Endpoint {
  kJobs,     // /api/v1/jobs
  kJob,      // /api/v1/jobs/{id}
  kResult,   // /api/v1/jobs/{id}/result
  kPreview,  // /api/v1/jobs/{id}/preview
  kQueue,    // /api/v1/queue
  kHealthz,  // /healthz
  kMetrics,  // /metrics
  kOpenApi,  // /api/v1/openapi.json
};

struct Route {
  Endpoint endpoint;
  std::string_view id;  // job routes: the raw path segment
};

std::optional<Route> MatchRoute(std::string_view path);

// The Allow header of an endpoint; HEAD is served wherever GET is.
std::string_view AllowedMethods(Endpoint endpoint);
bool MethodAllowed(Endpoint endpoint, std::string_view method);

// Whether the route answers without a bearer token (health, metrics, the
// OpenAPI document).
bool IsPublic(Endpoint endpoint);

// Canonical 8-4-4-4-12 hex UUID text, returned lowercased; nullopt otherwise.
std::optional<std::string> CanonicalUuid(std::string_view text);

// "/api/v1/jobs/<id>".
std::string JobLocation(std::string_view id);

}  // namespace renderq
