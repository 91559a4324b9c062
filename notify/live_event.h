// Live events: what the dispatcher learns from the database and publishes to
// nginx (nchan) for the Server-Sent Event streams of SPEC's "Notifications".
#pragma once

#include <cstdint>
#include <string>

#include "notify/retry_schedule.h"

namespace renderq::notify {

// One change of one job, in commit order.
struct LiveEvent {
  enum class Kind { kState, kProgress };
  std::int64_t seq = 0;  // the outbox's sequence number: the SSE id
  Kind kind = Kind::kState;
  std::string job_id;
  std::int64_t owner_id = 0;
  // kState: the job object as of the change (SPEC's job JSON);
  // kProgress: {"id", "progress", "eta_seconds"}.
  std::string data;
  bool terminal = false;  // kState of a succeeded, failed or canceled job
};

}  // namespace renderq::notify
