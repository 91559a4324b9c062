// KindJobRunner: runs one claimed job of an operator's kind (SPEC "Your own
// GPU program: job kinds") on its runner, holding the lease the whole time,
// and turns how it ended into the store's terms (docs/kinds.md "How a job
// of a kind ends"):
//
//   done           -> Finish: the output stored durably (served with the
//                     kind's media type and an ETag), then succeeded
//   failed         -> Fail with the runner's code; retry: Release spending an
//                     attempt; device_lost: Release without one (kDeviceFault)
//   canceled       -> MarkCanceled
//   runner_file, timeout -> Fail with that code
//   the runner lost (exited, protocol, flood, cold start) -> ReleaseLost,
//                     which counts the attempt as a lost worker would
//   lease lost     -> nothing more is written
//   stop signal    -> Release without an attempt (it resumes from its last
//                     checkpoint)
//
// The job's stored checkpoint (its last one, from any host) is written to a
// file in the runner's scratch for `checkpoint`; the runner's checkpoints go
// to the store with an increasing count, so an attempt that saved one does
// not count toward worker_lost (QueueRules).
//
// Thread safety: used by the worker's loop thread only.
#pragma once

#include <chrono>
#include <atomic>
#include <string>

#include "core/store/job_store.h"
#include "worker/device.h"
#include "worker/job_runner.h"
#include "worker/log.h"
#include "worker/runner_pool.h"

namespace renderq {

class KindJobRunner {
 public:
  // `pool` and `stop` are not owned; `stop` may be null.
  KindJobRunner(JobStore& store, Logger& log, JobRunnerOptions options, RunnerPool& pool,
                const std::atomic<bool>* stop);

  // `claim_sent`: when the claim that made the lease was sent (the lease's
  // start, for self-fencing, as JobRunner::Run).
  JobReport Run(const ClaimedJob& claim, const DeviceChoice& device,
                std::chrono::steady_clock::time_point claim_sent);

 private:
  JobStore& store_;
  Logger& log_;
  const JobRunnerOptions options_;
  RunnerPool& pool_;
  const std::atomic<bool>* stop_;
};

}  // namespace renderq
