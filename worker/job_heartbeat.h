// JobHeartbeat: the small thread that keeps a running job's lease alive.
//
// Every `interval` (200 ms) it sends the job's progress through
// JobStore::Heartbeat, which also says whether a cancel was requested, and
// every `worker_interval` the worker's own heartbeat (the workers table shows
// live workers; a long job must not make its worker look dead). It sets
// JobControl's flags and, when the job must stop now, the renderer's interrupt
// flag, so a long pass stops within a fraction of a second of a DELETE, a lost
// lease or a stop signal, without the job thread polling anything.
//
// Thread safety: JobControl's fields are atomics shared by the job thread and
// this thread. Stop() (also run by the destructor) joins the thread promptly.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <string>
#include <thread>

#include "core/store/job_store.h"
#include "worker/log.h"

namespace renderq {

struct JobControl {
  std::atomic<bool> interrupt{false};         // the renderer's cancel flag
  std::atomic<bool> cancel_requested{false};  // a DELETE came in
  std::atomic<bool> lease_lost{false};        // the store no longer knows us as the holder
  std::atomic<bool> finishing{false};         // stop asked, but the job is finished first
  std::atomic<double> progress{0.0};          // 0..1, published after every pass
  // Estimated seconds left, published after every pass; +inf while unknown.
  std::atomic<double> remaining_seconds{std::numeric_limits<double>::infinity()};
};

struct JobHeartbeatOptions {
  std::chrono::milliseconds interval{200};
  std::chrono::milliseconds worker_interval{5000};
  // On a stop signal, a job with at most this much left is finished, not
  // interrupted (SPEC: "or finishes it if under a few seconds left").
  double stop_finish_seconds = 3.0;
};

// Whether a job with `remaining_seconds` left should be finished before exiting.
bool FinishBeforeStop(double remaining_seconds, double stop_finish_seconds);

class JobHeartbeat {
 public:
  // `stop` (not owned, may be null) is the process-wide stop request.
  JobHeartbeat(JobStore& store, Logger& log, std::string worker_name, Lease lease,
               JobControl& control, const std::atomic<bool>* stop, JobHeartbeatOptions options);
  ~JobHeartbeat();
  JobHeartbeat(const JobHeartbeat&) = delete;
  JobHeartbeat& operator=(const JobHeartbeat&) = delete;

  void Stop();

 private:
  void Loop();
  void Beat();

  JobStore& store_;
  Logger& log_;
  const std::string worker_name_;
  const Lease lease_;
  JobControl& control_;
  const std::atomic<bool>* stop_;
  const JobHeartbeatOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;                                       // guarded by mu_
  std::chrono::steady_clock::time_point last_worker_beat_;  // heartbeat thread only
  std::thread thread_;
};

}  // namespace renderq
