#include "worker/job_heartbeat.h"

#include <cmath>

namespace renderq {

bool FinishBeforeStop(double remaining_seconds, double stop_finish_seconds) {
  return std::isfinite(remaining_seconds) && remaining_seconds <= stop_finish_seconds;
}

JobHeartbeat::JobHeartbeat(JobStore& store, Logger& log, std::string worker_name, Lease lease,
                           JobControl& control, const std::atomic<bool>* stop,
                           JobHeartbeatOptions options)
    : store_(store),
      log_(log),
      worker_name_(std::move(worker_name)),
      lease_(std::move(lease)),
      control_(control),
      stop_(stop),
      options_(options),
      last_worker_beat_(std::chrono::steady_clock::now()),
      thread_([this] { Loop(); }) {}

JobHeartbeat::~JobHeartbeat() { Stop(); }

void JobHeartbeat::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JobHeartbeat::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, options_.interval, [this] { return done_; })) {
    lock.unlock();
    Beat();
    lock.lock();
    if (control_.lease_lost.load()) return;  // nothing left to keep alive
  }
}

void JobHeartbeat::Beat() {
  const Result<bool> cancel = store_.Heartbeat(lease_, control_.progress.load());
  if (cancel.ok()) {
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
