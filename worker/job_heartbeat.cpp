#include "worker/job_heartbeat.h"

#include <algorithm>
#include <cmath>

namespace renderq {

bool FinishBeforeStop(double remaining_seconds, double stop_finish_seconds) {
  return std::isfinite(remaining_seconds) && remaining_seconds <= stop_finish_seconds;
}

JobHeartbeat::JobHeartbeat(JobStore& store, Logger& log, std::string worker_name, Lease lease,
                           JobControl& control, const std::atomic<bool>* stop,
                           JobHeartbeatOptions options,
                           std::chrono::steady_clock::time_point renewed_at)
    : store_(store),
      log_(log),
      worker_name_(std::move(worker_name)),
      lease_(std::move(lease)),
      control_(control),
      stop_(stop),
      options_(options),
      deadline_(renewed_at + options.self_fence_after),
      last_worker_beat_(std::chrono::steady_clock::now()),
      thread_([this] { Loop(); }) {
  if (options_.self_fence_after.count() == 0) return;
  if (std::chrono::steady_clock::now() >= deadline_) {
    // The claim's answer came after the fence (held up by a partition or a
    // slow link): its lease may already be another host's. Decided before
    // the first pass, not by the watchdog thread, which could run only after
    // a short job had rendered.
    Expire();
    return;
  }
  watchdog_ = std::thread([this] { Watch(); });
}

JobHeartbeat::~JobHeartbeat() { Stop(); }

void JobHeartbeat::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  deadline_moved_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (watchdog_.joinable()) watchdog_.join();
}

void JobHeartbeat::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, options_.interval, [this] { return done_; })) {
    lock.unlock();
    Beat();
    lock.lock();
    if (control_.lease_lost.load() || control_.lease_expired.load()) return;  // nothing to keep
  }
}

void JobHeartbeat::Watch() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!done_) {
    if (std::chrono::steady_clock::now() >= deadline_) {
      // Not renewed in time: whoever claims next may soon requeue the job.
      lock.unlock();
      Expire();
      return;
    }
    deadline_moved_.wait_until(lock, deadline_);
  }
}

// Logged here, the instant rendering is told to stop: the job thread may be
// stuck in a write to the unreachable database for a while.
void JobHeartbeat::Expire() {
  control_.lease_expired = true;
  control_.interrupt = true;
  log_.Log("lease_expired", lease_.job_id,
           "progress=" + std::to_string(control_.progress.load()) +
               " renewal_older_than_ms=" + std::to_string(options_.self_fence_after.count()));
}

void JobHeartbeat::ExtendDeadline(std::chrono::steady_clock::time_point renewal_sent) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Once expired, the attempt is over: a late answer does not revive it.
    if (control_.lease_expired.load()) return;
    deadline_ = std::max(deadline_, renewal_sent + options_.self_fence_after);
  }
  deadline_moved_.notify_all();
}

void JobHeartbeat::Beat() {
  // Before the call: the database stamps the renewal no earlier than this.
  const auto sent = std::chrono::steady_clock::now();
  const Result<bool> cancel = store_.Heartbeat(lease_, control_.progress.load());
  if (cancel.ok()) {
    ExtendDeadline(sent);
    if (*cancel && !control_.cancel_requested.exchange(true)) {
      control_.interrupt = true;
    }
  } else if (cancel.status().code() == StatusCode::kConflict) {
    control_.lease_lost = true;
    control_.interrupt = true;
  } else {
    // Storage trouble: keep rendering and keep trying; if it lasts past the
    // lease timeout the job is requeued and the next write here says so.
    log_.Log("heartbeat_failed", lease_.job_id, cancel.status().ToString());
  }
  const auto now = std::chrono::steady_clock::now();
  if (now - last_worker_beat_ >= options_.worker_interval) {
    last_worker_beat_ = now;
    if (Status s = store_.WorkerHeartbeat(worker_name_); !s.ok()) {
      log_.Log("worker_heartbeat_failed", lease_.job_id, s.ToString());
    }
  }
  if (stop_ != nullptr && stop_->load() && !control_.finishing.load() &&
      !FinishBeforeStop(control_.remaining_seconds.load(), options_.stop_finish_seconds)) {
    control_.interrupt = true;
  }
}

}  // namespace renderq
