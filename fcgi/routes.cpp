#include "fcgi/routes.h"

namespace renderq {
namespace {

constexpr std::string_view kJobsPath = "/api/v1/jobs";
constexpr std::string_view kJobPrefix = "/api/v1/jobs/";

}  // namespace

std::optional<Route> MatchRoute(std::string_view path) {
  using E = Endpoint;
  if (path == kJobsPath) return Route{E::kJobs, {}};
  if (path == "/api/v1/queue") return Route{E::kQueue, {}};
  if (path == "/healthz") return Route{E::kHealthz, {}};
  if (path == "/metrics") return Route{E::kMetrics, {}};
  if (path == "/api/v1/openapi.json") return Route{E::kOpenApi, {}};
  if (!path.starts_with(kJobPrefix)) return std::nullopt;
  std::string_view rest = path.substr(kJobPrefix.size());
  const std::size_t slash = rest.find('/');
  const std::string_view id = rest.substr(0, slash);
  if (id.empty()) return std::nullopt;
  if (slash == std::string_view::npos) return Route{E::kJob, id};
  const std::string_view tail = rest.substr(slash);
  if (tail == "/result") return Route{E::kResult, id};
  if (tail == "/preview") return Route{E::kPreview, id};
  return std::nullopt;
}

std::string_view AllowedMethods(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kJobs: return "GET, HEAD, POST";
    case Endpoint::kJob: return "GET, HEAD, DELETE";
    default: return "GET, HEAD";
  }
}

bool MethodAllowed(Endpoint endpoint, std::string_view method) {
  if (method == "GET" || method == "HEAD") return true;
  if (method == "POST") return endpoint == Endpoint::kJobs;
  if (method == "DELETE") return endpoint == Endpoint::kJob;
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

std::string JobLocation(std::string_view id) {
  std::string location(kJobPrefix);
  location += id;
  return location;
}

}  // namespace renderq
