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
// Self-fencing: a worker that cannot renew its lease (the database is away,
// slow, or cut off from it by a partition) stops rendering before the lease
// can pass to another host. Each renewal that succeeds moves a deadline to
// the instant it was sent plus `self_fence_after` (SelfFenceAfterMs: the
// lease timeout less a margin), by this process's monotonic clock; the first
// deadline counts from the claim's sending. A watchdog thread of its own (the
// heartbeat thread may be stuck in a call to an unreachable database) sets
// `lease_expired` and the renderer's interrupt when the deadline passes. The
// database's heartbeat of a renewal is no earlier than its sending, and the
// next claimer requeues only once that heartbeat is a whole lease old, so the
// holder has stopped first.
//
// Thread safety: JobControl's fields are atomics shared by the job thread and
// these threads. Stop() (also run by the destructor) joins them promptly.
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
  std::atomic<bool> lease_expired{false};     // not renewed in time: stop before it can pass
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
  // Stop rendering this long after the last renewal that succeeded was sent
  // (SelfFenceAfterMs of the lease timeout); zero turns self-fencing off.
  std::chrono::milliseconds self_fence_after{0};
};

// Whether a job with `remaining_seconds` left should be finished before exiting.
bool FinishBeforeStop(double remaining_seconds, double stop_finish_seconds);

class JobHeartbeat {
 public:
  // `stop` (not owned, may be null) is the process-wide stop request.
  // `renewed_at`: when the claim that made the lease was sent.
  JobHeartbeat(JobStore& store, Logger& log, std::string worker_name, Lease lease,
               JobControl& control, const std::atomic<bool>* stop, JobHeartbeatOptions options,
               std::chrono::steady_clock::time_point renewed_at);
  ~JobHeartbeat();
  JobHeartbeat(const JobHeartbeat&) = delete;
  JobHeartbeat& operator=(const JobHeartbeat&) = delete;

  void Stop();

 private:
  void Loop();
  void Beat();
  void Watch();
  void Expire();  // tells rendering to stop and logs lease_expired
  void ExtendDeadline(std::chrono::steady_clock::time_point renewal_sent);

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
  std::chrono::steady_clock::time_point deadline_;          // guarded by mu_
  std::condition_variable deadline_moved_;
  std::chrono::steady_clock::time_point last_worker_beat_;  // heartbeat thread only
  std::thread thread_;
  std::thread watchdog_;  // only with self-fencing
};

}  // namespace renderq
