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
  kJobs,        // /api/v1/jobs
  kJob,         // /api/v1/jobs/{id}
  kResult,      // /api/v1/jobs/{id}/result
  kPreview,     // /api/v1/jobs/{id}/preview
  kRetry,       // /api/v1/jobs/{id}/retry
  kJobEvents,   // /api/v1/jobs/{id}/events
  kEvents,      // /api/v1/events
  kWebhooks,    // /api/v1/webhooks
  kWebhook,     // /api/v1/webhooks/{id}
  kDeliveries,  // /api/v1/webhooks/{id}/deliveries
  kQueue,       // /api/v1/queue
  kHealthz,     // /healthz
  kMetrics,     // /metrics
  kOpenApi,     // /api/v1/openapi.json
  kKinds,       // /api/v1/kinds
  kKindJobs,    // /api/v1/kinds/{kind}/jobs
};

struct Route {
  Endpoint endpoint;
  std::string_view id;  // job and webhook routes: the raw path segment; kind routes: the kind's name
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

// A webhook id ("wh_" and 32 lowercase hex digits); anything else is no webhook.
bool IsWebhookId(std::string_view text);

}  // namespace renderq
