// Worker: the renderq-worker loop. Claims the oldest queued job, runs it
// (JobRunner), and waits for the next commit when the queue is empty.
//
// Start(): requeues the jobs a process of the same name left running (when
// it holds the name's lock: at once if the lock proves that process dead,
// else once its own fence has stopped it), sweeps what dead processes and finished jobs left
// among the store's files on this host (JobStore::Sweep), chooses the device (a GPU
// that fails its check means the CPU, with the fallback recorded) and
// registers in the workers table. Idle: JobStore::WaitForChange() blocks
// (inotify on the WAL for SQLite, LISTEN for PostgreSQL) until another
// process commits, so a submit is picked up within milliseconds without polling; the wait is
// bounded by `idle_wait` so the worker's own heartbeat and the sweep of lapsed leases (inside
// ClaimNext) still happen on an empty queue. After a GPU fault the device is checked again before
// the next claim; a job that faults `max_faults_per_job` times in a row on a device that passes its
// check is failed (render_failed), so it cannot bounce forever. On the CPU fallback the GPU is
// checked again every `gpu_recheck_interval` between jobs; when the GPU's CUDA context is lost for
// good (worker/device.h) Run() returns kDeviceFault so the process exits and a fresh one gets it.
// Before claiming, at most every `name_lock_check_interval`, the name's lock is
// verified (taken again after a failover or partition lost its session); if
// another process took the name meanwhile, Run() returns kConflict without
// claiming again.
//
// Thread safety: one thread runs the loop; `stop` may be set from any thread
// (the signal thread), and WakeUp() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "core/model/kind_file.h"
#include "core/store/job_store.h"
#include "worker/device.h"
#include "worker/job_runner.h"
#include "worker/kind_job_runner.h"
#include "worker/log.h"
#include "worker/runner_pool.h"

namespace renderq {

struct WorkerOptions {
  std::string name;                // the workers table key, e.g. "cpu", "0"
  std::optional<int> cuda_device;  // nullopt: render on the CPU
  int cpu_threads = 0;             // 0: all cores
  JobRunnerOptions job;            // worker_name is filled in from `name`
  std::chrono::milliseconds idle_wait{1000};
  std::chrono::milliseconds worker_heartbeat_interval{5000};
  int max_faults_per_job = 2;
  std::chrono::milliseconds gpu_recheck_interval{60000};
  RendererFactory factory = CreateRenderer;
  DeviceProbe probe = ProbeCudaDevice;
  ContextLostCheck cuda_context_lost = CudaContextLost;
  // The lock this process holds on `name` (JobStore::LockWorkerName; not
  // owned), or nullptr when it could not be taken (its jobs then wait for
  // their leases to lapse). With it, Start() takes back the jobs still leased
  // to `name` (JobStore::RequeueWorkerJobs) and the loop keeps verifying it.
  WorkerNameLock* name_lock = nullptr;
  std::chrono::milliseconds name_lock_check_interval{5000};
  // The operators' kinds it serves besides scene (SPEC "Your own GPU
  // program"), and how their runners are started (runners_dir, scratch_dir,
  // the environment they inherit).
  std::vector<KindSpec> kinds;
  RunnerPoolOptions runners;
  // How long the idle wait may be while a warm runner starts: its kind
  // becomes claimable without a commit to wake the worker.
  std::chrono::milliseconds starting_runner_wait{100};
};

class Worker {
 public:
  // `stop` (not owned) ends Run() once set.
  Worker(JobStore& store, Logger& log, WorkerOptions options, const std::atomic<bool>* stop);

  // Sweep, the runners' scratch, device choice, registration. Errors when the
  // store refuses the registration or the scratch directory cannot be made
  // (the caller exits non-zero; systemd restarts it).
  Status Start();

  // Claims and runs at most one job; returns its report, or nullopt when the
  // queue was empty. kUnavailable when the claim itself failed.
  Result<std::optional<JobReport>> RunOnce();

  // Start(), then RunOnce() until `stop` is set, or until only a fresh
  // process can use the GPU again (then kDeviceFault, with nothing claimed).
  Status Run();

  const DeviceChoice& device() const { return device_; }
  // The GPU's CUDA context is lost and the GPU worked in this process: the
  // worker claims nothing more and the process should exit to be restarted.
  bool needs_fresh_process() const { return fresh_process_needed_; }

 private:
  Status Register();
  void CheckDevice(bool initial);
  // The kinds this worker can take a job of now (scene and the kinds with a
  // runner ready or startable).
  std::vector<std::string> ClaimableKinds();
  void MaybeWorkerHeartbeat();
  // False once another process holds the name (checked every interval).
  bool NameStillOurs();
  // The report for a job refused before rendering (it faulted too often).
  std::optional<JobReport> RefuseRepeatedFault(const ClaimedJob& claim);
  void NoteOutcome(const std::string& job_id, const JobReport& report);

  JobStore& store_;
  Logger& log_;
  const WorkerOptions options_;
  const std::atomic<bool>* stop_;
  JobRunner runner_;
  std::unique_ptr<RunnerPool> pool_;  // none until Start(), and when no kinds are served
  std::unique_ptr<KindJobRunner> kind_runner_;
  DeviceChoice device_;
  bool recheck_device_ = false;
  bool gpu_worked_ = false;
  bool fresh_process_needed_ = false;
  std::chrono::steady_clock::time_point last_device_check_{};
  std::string last_fault_job_;
  int last_fault_count_ = 0;
  std::string last_fault_message_;
  std::chrono::steady_clock::time_point last_worker_heartbeat_{};
  std::chrono::steady_clock::time_point last_name_check_{};
  bool name_taken_ = false;
};

}  // namespace renderq
