// JobRunner: runs one claimed job from its scene to a terminal state (or back
// to the queue), holding the lease the whole time.
//
//   ParseScene (a bad stored scene: failed, invalid_scene)
//   -> create the renderer on the chosen device
//   -> resume from the job's checkpoint when there is a usable one
//   -> short passes (PassSizer), with a JobHeartbeat thread sending progress,
//      noticing cancels and lost leases every 200 ms
//   -> a preview PNG every ~2 s, a checkpoint every `checkpoint_seconds`
//   -> the result PNG encoded and handed to JobStore::Finish, which stores it
//      durably and marks the job succeeded (fenced by the lease); the store
//      drops the preview and checkpoint.
//
// How a job ends, by what happened:
//   cancel requested        -> MarkCanceled, preview and checkpoint removed
//   lease lost (kConflict)  -> nothing more is written; the new holder owns it
//   lease not renewed in    -> rendering stops before the lease can pass
//   time (self-fencing)        (JobHeartbeat); a checkpoint and a release are
//                              tried once, both fenced
//   stop signal             -> finished if under stop_finish_seconds are left,
//                              else checkpointed and released (no attempt spent)
//   GPU fault / device gone -> released without spending an attempt; the worker
//                              checks the device before claiming again
//   any other render error  -> failed, render_failed with the message
// Where the bytes go (files beside a SQLite database, rows of PostgreSQL) is
// the store's business; the runner never names a file.
//
// Thread safety: one JobRunner per worker thread; Run() is not reentrant.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "core/store/job_store.h"
#include "worker/device.h"
#include "worker/job_heartbeat.h"
#include "worker/log.h"

namespace renderq {

enum class JobOutcome {
  kSucceeded,
  kFailed,
  kCanceled,
  kReleased,     // handed back (stop signal, or a result that could not be written)
  kDeviceFault,  // handed back without spending an attempt; re-check the device
  kLeaseLost,
  kStoreError,  // the final write did not reach the store; the lease will lapse
};
const char* JobOutcomeName(JobOutcome outcome);

struct JobReport {
  std::string job_id;
  JobOutcome outcome = JobOutcome::kStoreError;
  int resumed_from = 0;  // samples restored from a checkpoint
  int samples_done = 0;  // samples in the buffer when the job ended here
  std::string detail;    // error message, when there is one
};

struct JobRunnerOptions {
  std::string worker_name;
  double pass_target_seconds = 0.25;
  double checkpoint_seconds = 5.0;
  double first_preview_seconds = 1.0;
  double preview_seconds = 2.0;
  // Throughput is recorded only from jobs that rendered at least this long:
  // tiny jobs measure overhead, not the device.
  double min_measured_seconds = 0.2;
  JobHeartbeatOptions heartbeat;
};

class JobRunner {
 public:
  // `stop` (not owned, may be null): the process-wide stop request.
  JobRunner(JobStore& store, Logger& log, JobRunnerOptions options, RendererFactory factory,
            const std::atomic<bool>* stop);

  // `claim_sent`: when the claim that made the lease was sent (the lease's
  // start, for self-fencing).
  JobReport Run(const ClaimedJob& claim, const DeviceChoice& device,
                std::chrono::steady_clock::time_point claim_sent);

 private:
  JobStore& store_;
  Logger& log_;
  const JobRunnerOptions options_;
  const RendererFactory factory_;
  const std::atomic<bool>* stop_;
};

}  // namespace renderq
