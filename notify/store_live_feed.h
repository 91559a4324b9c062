// The live hub's feed (live_feed.h) over the queue's store: the outbox's
// events in commit order, and the running jobs' progress, read at most every
// `progress_every_ms` (progress is not an event of the outbox: a worker
// reports it five times a second, and streams show one a second).
#pragma once

#include <map>
#include <set>

#include "core/model/clock.h"
#include "core/store/job_store.h"
#include "notify/live_feed.h"

namespace renderq::notify {

class StoreLiveFeed final : public LiveFeed {
 public:
  StoreLiveFeed(JobStore* store, const Clock* clock, TimeMs progress_every_ms = 500)
      : store_(store), clock_(clock), progress_every_ms_(progress_every_ms) {}

  Result<LiveSnapshot> Snapshot() override;
  Result<std::vector<LiveEvent>> ReadAfter(std::int64_t position, std::size_t limit) override;
  void PrepareWait() override { store_->PrepareWaitForChange(); }
  void WaitForChange(TimeMs timeout_ms) override;

 private:
  Status AddProgress(std::int64_t position, std::vector<LiveEvent>& events);

  JobStore* store_;
  const Clock* clock_;
  TimeMs progress_every_ms_;
  TimeMs progress_read_at_ = 0;
  // Jobs whose running state the feed has handed on: only theirs get progress
  // events, so a stream never sees progress before the job's `running`.
  std::map<std::string, std::int64_t> running_;  // job id -> owner
  std::map<std::string, double> reported_;       // job id -> progress last handed on
};

}  // namespace renderq::notify
