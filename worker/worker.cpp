#include "worker/worker.h"

#include <unistd.h>

#include <algorithm>
#include <thread>

namespace renderq {
namespace {

JobRunnerOptions WithWorkerName(JobRunnerOptions job, const std::string& name) {
  job.worker_name = name;
  return job;
}

}  // namespace

Worker::Worker(JobStore& store, Logger& log, WorkerOptions options, const std::atomic<bool>* stop)
    : store_(store),
      log_(log),
      options_(std::move(options)),
      stop_(stop),
      runner_(store, log, WithWorkerName(options_.job, options_.name), options_.factory, stop) {}

Status Worker::Start() {
  if (options_.name_lock != nullptr) {
    const bool dead = options_.name_lock->ProvesPredecessorDead();
    const Result<int> reclaimed = store_.RequeueWorkerJobs(options_.name, dead);
    last_name_check_ = std::chrono::steady_clock::now();
    if (reclaimed.ok()) {
      if (*reclaimed > 0) {
        log_.Log("reclaimed", "",
                 "jobs=" + std::to_string(*reclaimed) + (dead ? "" : " after=holders_fenced"));
      }
    } else {
      // Not fatal: the leases lapse on their own.
      log_.Log("reclaim_failed", "", reclaimed.status().ToString());
    }
  }
  const Result<SweepReport> swept = store_.Sweep();
  if (!swept.ok()) {
    log_.Log("sweep_failed", "", swept.status().ToString());
  } else if (swept->temps_removed > 0 || swept->stale_files_removed > 0) {
    log_.Log("swept", "",
             "temps_removed=" + std::to_string(swept->temps_removed) +
                 " stale_files_removed=" + std::to_string(swept->stale_files_removed));
  }
  if (!options_.kinds.empty()) {
    ASSIGN_OR_RETURN(pool_, RunnerPool::Create(log_, options_.kinds, options_.runners));
    kind_runner_ = std::make_unique<KindJobRunner>(
        store_, log_, WithWorkerName(options_.job, options_.name), *pool_, stop_);
  }
  CheckDevice(/*initial=*/true);
  return Register();
}

std::vector<std::string> Worker::ClaimableKinds() {
  std::vector<std::string> kinds = {std::string(kSceneKind)};
  if (pool_) {
    pool_->Tend(std::chrono::milliseconds(0));
    for (std::string& kind : pool_->ClaimableKinds()) kinds.push_back(std::move(kind));
  }
  return kinds;
}

Status Worker::Register() {
  WorkerInfo info;
  info.name = options_.name;
  info.device = device_.label;
  info.fallback = device_.fallback;
  info.pid = ::getpid();
  info.kinds = {std::string(kSceneKind)};
  if (pool_) {
    for (std::string& kind : pool_->Kinds()) info.kinds.push_back(std::move(kind));
  }
  std::sort(info.kinds.begin(), info.kinds.end());
  const Status s = store_.RegisterWorker(info);
  if (!s.ok()) {
    log_.Log("register_failed", "", s.ToString());
    return s;
  }
  last_worker_heartbeat_ = std::chrono::steady_clock::now();
  log_.Log("registered", "",
           "device=\"" + device_.label + "\" fallback=" + (device_.fallback ? "true" : "false"));
  return Status::Ok();
}

void Worker::CheckDevice(bool initial) {
  const DeviceChoice before = device_;
  device_ = ChooseDevice(options_.cuda_device, options_.cpu_threads, options_.probe,
                         options_.cuda_context_lost);
  last_device_check_ = std::chrono::steady_clock::now();
  const bool changed = before.label != device_.label || before.fallback != device_.fallback;
  // Logged when it starts, not on every periodic recheck that finds it unchanged.
  if (device_.fallback && (initial || changed)) {
    log_.Log("cpu_fallback", "",
             "requested=cuda:" + std::to_string(*options_.cuda_device) + " reason=\"" +
                 device_.reason + "\"");
  }
  if (device_.options.backend == RenderBackend::kCuda) gpu_worked_ = true;
  if (pool_) {
    // The runners use the device the worker uses: a GPU that failed its
    // check is hidden from them too.
    const bool cuda = device_.options.backend == RenderBackend::kCuda && options_.cuda_device;
    pool_->SetDevice(cuda ? "cuda:" + std::to_string(*options_.cuda_device) : "cpu",
                     cuda ? options_.cuda_device : std::nullopt);
  }
  if (NeedsFreshProcess(device_, gpu_worked_)) {
    fresh_process_needed_ = true;
    log_.Log("gpu_context_lost", "", "reason=\"" + device_.reason + "\" action=exit_for_restart");
    return;
  }
  if (!initial && changed) {
    // The workers table (and so /api/v1/queue) must show the device in use.
    Register().ok();
  }
}

void Worker::MaybeWorkerHeartbeat() {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_worker_heartbeat_ < options_.worker_heartbeat_interval) return;
  last_worker_heartbeat_ = now;
  const Status s = store_.WorkerHeartbeat(options_.name);
  // A row removed behind our back (renderqctl, a restored backup): register again.
  if (s.code() == StatusCode::kNotFound) {
    Register().ok();
  } else if (!s.ok()) {
    log_.Log("worker_heartbeat_failed", "", s.ToString());
  }
}

bool Worker::NameStillOurs() {
  if (options_.name_lock == nullptr || name_taken_) return !name_taken_;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_name_check_ < options_.name_lock_check_interval) return true;
  last_name_check_ = now;
  const Result<bool> verified = options_.name_lock->Verify();
  if (verified.ok()) {
    if (*verified) log_.Log("name_lock_retaken", "");
  } else if (verified.status().code() == StatusCode::kConflict) {
    name_taken_ = true;
    log_.Log("name_lock_lost", "", verified.status().message());
  }
  // kUnavailable: the database is away; the claim below says so too.
  return !name_taken_;
}

Result<std::optional<JobReport>> Worker::RunOnce() {
  if (recheck_device_ || GpuRecheckDue(device_, options_.cuda_device,
                                       std::chrono::steady_clock::now() - last_device_check_,
                                       options_.gpu_recheck_interval)) {
    recheck_device_ = false;
    CheckDevice(/*initial=*/false);
  }
  if (fresh_process_needed_) return std::optional<JobReport>();
  if (!NameStillOurs()) return std::optional<JobReport>();
  MaybeWorkerHeartbeat();
  // The lease starts no earlier than this (self-fencing counts from here).
  const auto claim_sent = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(std::optional<ClaimedJob> claim,
                   store_.ClaimNext(options_.name, ClaimableKinds()));
  if (!claim) return std::optional<JobReport>();
  std::optional<JobReport> report = RefuseRepeatedFault(*claim);
  if (!report) {
    report = claim->job.kind == kSceneKind || !kind_runner_
                 ? runner_.Run(*claim, device_, claim_sent)
                 : kind_runner_->Run(*claim, device_, claim_sent);
  }
  NoteOutcome(claim->lease.job_id, *report);
  return report;
}

std::optional<JobReport> Worker::RefuseRepeatedFault(const ClaimedJob& claim) {
  if (claim.lease.job_id != last_fault_job_ || last_fault_count_ < options_.max_faults_per_job) {
    return std::nullopt;
  }
  const std::string message = "the device failed on this job " + std::to_string(last_fault_count_) +
                              " times in a row: " + last_fault_message_;
  JobReport report;
  report.job_id = claim.lease.job_id;
  const Status s = store_.Fail(claim.lease, std::string(kErrorRenderFailed), message);
  report.outcome = s.ok() ? JobOutcome::kFailed : JobOutcome::kStoreError;
  report.detail = s.ok() ? message : s.ToString();
  log_.Log(s.ok() ? "failed" : "store_error", claim.lease.job_id,
           s.ok() ? "code=render_failed message=\"" + message + "\"" : s.ToString());
  return report;
}

void Worker::NoteOutcome(const std::string& job_id, const JobReport& report) {
  if (report.outcome != JobOutcome::kDeviceFault) {
    if (job_id == last_fault_job_) last_fault_job_.clear();
    return;
  }
  recheck_device_ = true;
  last_fault_count_ = job_id == last_fault_job_ ? last_fault_count_ + 1 : 1;
  last_fault_job_ = job_id;
  last_fault_message_ = report.detail;
}

Status Worker::Run() {
  RETURN_IF_ERROR(Start());
  while (stop_ == nullptr || !stop_->load()) {
    const Result<std::optional<JobReport>> ran = RunOnce();
    if (fresh_process_needed_) {
      return Status::DeviceFault("the GPU's CUDA context is lost (" + device_.reason +
                                 "): exiting so that a new process can use the GPU");
    }
    if (name_taken_) {
      return Status::Conflict("another process took the worker name \"" + options_.name +
                              "\" while this one had lost its lock: exiting");
    }
    if (ran.ok() && ran->has_value()) continue;  // maybe more work: claim again at once
    if (!ran.ok()) {
      log_.Log("claim_failed", "", ran.status().ToString());
      // Storage trouble: do not spin on it.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (stop_ != nullptr && stop_->load()) break;
    // A warm runner that becomes ready commits nothing: look again soon.
    const auto wait = pool_ && pool_->Starting()
                          ? std::min(options_.idle_wait, options_.starting_runner_wait)
                          : options_.idle_wait;
    if (Status s = store_.WaitForChange(wait); !s.ok()) {
      log_.Log("wait_failed", "", s.ToString());
      std::this_thread::sleep_for(options_.idle_wait);
    }
  }
  log_.Log("stopped", "");
  return Status::Ok();
}

}  // namespace renderq
