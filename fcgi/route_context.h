// What every route handler works with: the store, the metrics, the clock and
// the responder's options. Handlers are free functions of a RouteContext and
// a request value; they never touch the socket.
#pragma once

#include <string>

#include "core/model/clock.h"
#include "core/store/job_store.h"
#include "fcgi/metrics.h"

namespace renderq {

struct ApiOptions {
  // nginx's internal location that serves the results directory, where the
  // store keeps the images it answers with a file name (StoreOptions::results_dir).
  std::string internal_results_prefix = "/internal/results/";
};

struct RouteContext {
  JobStore& store;
  Metrics& metrics;
  const Clock& clock;
  const ApiOptions& options;
};

}  // namespace renderq
