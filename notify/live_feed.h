// Where the dispatcher learns of job changes: the store's outbox of events,
// read in commit order. The store implements it on both backends.
#pragma once

#include <cstdint>
#include <vector>

#include "core/model/status.h"
#include "notify/live_event.h"
#include "notify/retry_schedule.h"

namespace renderq::notify {

struct LiveSnapshot {
  std::vector<LiveEvent> states;  // a kState per queued or running job
  std::int64_t position = 0;      // the last event these states reflect
};

class LiveFeed {
 public:
  virtual ~LiveFeed() = default;

  // The active jobs' states and the position of the events they reflect,
  // read in one consistent snapshot.
  virtual Result<LiveSnapshot> Snapshot() = 0;

  // Up to `limit` events committed after `position`, in commit order; an
  // event never appears after one with a later commit.
  virtual Result<std::vector<LiveEvent>> ReadAfter(std::int64_t position, std::size_t limit) = 0;

  // Arms the wake-up: a commit after PrepareWait() makes the next
  // WaitForChange() return at once. Returns within `timeout_ms` in any case;
  // spurious returns are fine.
  virtual void PrepareWait() = 0;
  virtual void WaitForChange(TimeMs timeout_ms) = 0;
};

}  // namespace renderq::notify
