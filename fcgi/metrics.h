// Metrics: the responder's counters and the Prometheus text of GET /metrics.
//
// Counters live in the process (one relaxed atomic increment per event, no
// lock); gauges that describe the queue and the workers are read from the store
// at scrape time and passed to Render().
//
// Thread safety: every method may be called from any thread at once.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "core/job.h"
#include "core/job_store.h"

namespace renderq {

// What became of a POST /api/v1/jobs, counted once per request.
enum class SubmitResult {
  kCreated,
  kReplayed,
  kRejected,       // 4xx before the store was asked (bad body, too expensive, ...)
  kKeyConflict,
  kOwnerQueueFull,
  kQueueFull,
  kStorageError,
  kCount,          // not a result: the number of results
};

const char* SubmitResultName(SubmitResult result);  // "created", ...

class Metrics {
 public:
  void CountResponse(int status);
  void CountSubmit(SubmitResult result);

  std::uint64_t Responses(int status) const;
  std::uint64_t Submits(SubmitResult result) const;

  // Prometheus text exposition format 0.0.4. `queue` is null when the store
  // could not be read; `now` is used for heartbeat ages.
  std::string Render(const QueueSnapshot* queue, TimeMs now) const;

 private:
  static constexpr int kMinStatus = 100;
  static constexpr int kMaxStatus = 599;

  std::array<std::atomic<std::uint64_t>, kMaxStatus - kMinStatus + 1> responses_{};
  std::array<std::atomic<std::uint64_t>, static_cast<int>(SubmitResult::kCount)> submits_{};
};

}  // namespace renderq
