// Metrics: the responder's counters and the Prometheus text of GET /metrics.
//
// Counters live in the process (one relaxed atomic increment per event, no
// lock); gauges that describe the queue and the workers are read from the store
// at scrape time and passed to Render().
//
// The render duration histogram (renderq_render_duration_seconds) is computed
// at scrape time from the database: the render_seconds of the jobs that
// succeeded in the last kRenderWindowMs, through the finished_at index. It is
// therefore a snapshot of the last hour, not a counter since start: query it
// with histogram_quantile() directly, not over rate(). Nothing is kept in
// memory or written on Finish, so every responder process reports the same
// values and a restart loses nothing.
//
// Thread safety: every method may be called from any thread at once.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/model/job.h"
#include "core/store/job_store.h"

namespace renderq {

// What became of a POST /api/v1/jobs, counted once per request.
enum class SubmitResult {
  kCreated,
  kReplayed,
  kRejected,  // 4xx before the store was asked (bad body, too expensive, ...)
  kKeyConflict,
  kOwnerQueueFull,
  kQueueFull,
  kStorageError,
  kCount,  // not a result: the number of results
};

const char* SubmitResultName(SubmitResult result);  // "created", ...

class Metrics {
 public:
  void CountResponse(int status);
  void CountSubmit(SubmitResult result);

  std::uint64_t Responses(int status) const;
  std::uint64_t Submits(SubmitResult result) const;

  // Jobs that succeeded this long ago or less feed the duration histogram.
  static constexpr TimeMs kRenderWindowMs = 3600 * 1000;
  // The histogram's upper bounds in seconds, ascending (+Inf is implied).
  static const std::vector<double>& RenderBuckets();

  // Prometheus text exposition format 0.0.4. `queue` and `stats` are null when
  // the store could not be read (stats counted against RenderBuckets());
  // `now` is used for heartbeat ages.
  std::string Render(const QueueSnapshot* queue, const JobStats* stats, TimeMs now) const;

  // Reads the queue and the job stats from `store` and renders them.
  std::string Scrape(JobStore& store, TimeMs now) const;

 private:
  static constexpr int kMinStatus = 100;
  static constexpr int kMaxStatus = 599;

  std::array<std::atomic<std::uint64_t>, kMaxStatus - kMinStatus + 1> responses_{};
  std::array<std::atomic<std::uint64_t>, static_cast<int>(SubmitResult::kCount)> submits_{};
};

}  // namespace renderq
