#include "fcgi/routes.h"

#include <algorithm>

namespace renderq {
namespace {

constexpr std::string_view kJobsPath = "/api/v1/jobs";
constexpr std::string_view kJobPrefix = "/api/v1/jobs/";
constexpr std::string_view kWebhooksPath = "/api/v1/webhooks";
constexpr std::string_view kWebhookPrefix = "/api/v1/webhooks/";
constexpr std::string_view kKindPrefix = "/api/v1/kinds/";

}  // namespace

std::optional<Route> MatchRoute(std::string_view path) {
  using E = Endpoint;
  if (path == kJobsPath) return Route{E::kJobs, {}};
  if (path == "/api/v1/queue") return Route{E::kQueue, {}};
  if (path == "/healthz") return Route{E::kHealthz, {}};
  if (path == "/metrics") return Route{E::kMetrics, {}};
  if (path == "/api/v1/openapi.json") return Route{E::kOpenApi, {}};
  if (path == "/api/v1/events") return Route{E::kEvents, {}};
  if (path == kWebhooksPath) return Route{E::kWebhooks, {}};
  if (path.starts_with(kWebhookPrefix)) {
    std::string_view rest = path.substr(kWebhookPrefix.size());
    const std::size_t slash = rest.find('/');
    const std::string_view id = rest.substr(0, slash);
    if (id.empty()) return std::nullopt;
    if (slash == std::string_view::npos) return Route{E::kWebhook, id};
    if (rest.substr(slash) == "/deliveries") return Route{E::kDeliveries, id};
    return std::nullopt;
  }
  if (path == "/api/v1/kinds") return Route{E::kKinds, {}};
  if (path.starts_with(kKindPrefix) && path.ends_with("/jobs")) {
    const std::string_view kind =
        path.substr(kKindPrefix.size(), path.size() - kKindPrefix.size() - 5);
    if (!kind.empty() && kind.find('/') == std::string_view::npos) {
      return Route{E::kKindJobs, kind};
    }
    return std::nullopt;
  }
  if (!path.starts_with(kJobPrefix)) return std::nullopt;
  std::string_view rest = path.substr(kJobPrefix.size());
  const std::size_t slash = rest.find('/');
  const std::string_view id = rest.substr(0, slash);
  if (id.empty()) return std::nullopt;
  if (slash == std::string_view::npos) return Route{E::kJob, id};
  const std::string_view tail = rest.substr(slash);
  if (tail == "/result") return Route{E::kResult, id};
  if (tail == "/preview") return Route{E::kPreview, id};
  if (tail == "/retry") return Route{E::kRetry, id};
  if (tail == "/events") return Route{E::kJobEvents, id};
  return std::nullopt;
}

std::string_view AllowedMethods(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kJobs: return "GET, HEAD, POST";
    case Endpoint::kJob: return "GET, HEAD, DELETE";
    case Endpoint::kRetry: return "POST";
    case Endpoint::kWebhooks: return "GET, HEAD, POST";
    case Endpoint::kWebhook: return "DELETE";
    case Endpoint::kKindJobs: return "POST";
    default: return "GET, HEAD";
  }
}

bool MethodAllowed(Endpoint endpoint, std::string_view method) {
  if (method == "GET" || method == "HEAD") {
    return endpoint != Endpoint::kRetry && endpoint != Endpoint::kWebhook &&
           endpoint != Endpoint::kKindJobs;
  }
  if (method == "POST") {
    return endpoint == Endpoint::kJobs || endpoint == Endpoint::kRetry ||
           endpoint == Endpoint::kWebhooks || endpoint == Endpoint::kKindJobs;
  }
  if (method == "DELETE") return endpoint == Endpoint::kJob || endpoint == Endpoint::kWebhook;
  return false;
}

bool IsPublic(Endpoint endpoint) {
  return endpoint == Endpoint::kHealthz || endpoint == Endpoint::kMetrics ||
         endpoint == Endpoint::kOpenApi;
}

std::optional<std::string> CanonicalUuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string id(text);
  for (std::size_t i = 0; i < id.size(); ++i) {
    const bool dash_place = i == 8 || i == 13 || i == 18 || i == 23;
    char& c = id[i];
    if (dash_place) {
      if (c != '-') return std::nullopt;
    } else if (c >= 'A' && c <= 'F') {
      c = static_cast<char>(c - 'A' + 'a');
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return std::nullopt;
    }
  }
  return id;
}

bool IsWebhookId(std::string_view text) {
  if (text.size() != 35 || !text.starts_with("wh_")) return false;
  return std::all_of(text.begin() + 3, text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string JobLocation(std::string_view id) {
  std::string location(kJobPrefix);
  location += id;
  return location;
}

}  // namespace renderq
