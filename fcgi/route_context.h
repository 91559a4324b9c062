// What every route handler works with: the store, the metrics, the clock and
// the responder's options. Handlers are free functions of a RouteContext and
// a request value; they never touch the socket.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/model/clock.h"
#include "core/model/kind_file.h"
#include "core/store/job_store.h"
#include "fcgi/metrics.h"
#include "notify/resolver.h"
#include "notify/secret_seal.h"
#include "notify/url_policy.h"

namespace renderq {

struct ApiOptions {
  // nginx's internal location that serves the results directory, where the
  // store keeps the images it answers with a file name (StoreOptions::results_dir).
  std::string internal_results_prefix = "/internal/results/";
  // nginx's internal location that holds the event streams (nchan): the
  // responder answers a stream request with X-Accel-Redirect to
  // <prefix><stream id>/<channel> once it has checked the token.
  std::string internal_events_prefix = "/internal/events/";
  // Where webhooks may point (--webhook-allow, --webhook-allow-http), and how
  // names are resolved to check it.
  notify::UrlPolicyOptions webhook_policy;
  const notify::Resolver* resolver = nullptr;  // nullptr: the system's
  // The dispatcher's public key, to seal new webhooks' secrets with; without
  // it (--webhook-public-key) webhooks cannot be created (503).
  std::optional<notify::SealingKey> webhook_key;
  // The operators' job kinds this responder accepts, by name (scene is built in).
  std::map<std::string, KindSpec, std::less<>> kinds;
};

struct RouteContext {
  JobStore& store;
  Metrics& metrics;
  const Clock& clock;
  const ApiOptions& options;
};

}  // namespace renderq
