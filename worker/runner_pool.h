// RunnerPool: the runners one worker keeps for the job kinds it serves
// (SPEC "Your own GPU program: job kinds"; docs/kinds.md).
//
// - A warm kind (the default) has one long-lived runner per worker. It is
//   spawned when the pool starts and watched from the worker's loop (Tend()),
//   so a slow setup() delays none of the worker's other kinds; its kind is
//   claimable once the runner said it is ready. A runner that dies, breaks
//   the protocol or cannot start is started again after 1, 2, 4 ... 60 s
//   (RunnerPoolOptions::max_backoff), and its kind is not claimed meanwhile,
//   so a broken runner spends no job's attempts; the back-off resets once a
//   runner has finished a job.
// - A cold kind ("warm": false) gets a fresh runner per job, started by
//   Acquire() (the wait for "ready" is part of the job's attempt) and killed
//   by Release(); failed starts back off the same way.
// - Every runner sees RENDERQ_DEVICE and CUDA_VISIBLE_DEVICES for the
//   worker's device (SetDevice(); a change restarts the warm runners) and
//   RENDERQ_KIND, in an environment that is otherwise the worker's. Its
//   working directory is <scratch>/<kind>/, emptied when the pool starts; a
//   job's DIR is <scratch>/<kind>/jobs/<id>/, made empty by MakeJobDir().
//
// Thread safety: one thread (the worker's loop) uses a pool.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/model/kind_file.h"
#include "core/model/status.h"
#include "worker/log.h"
#include "worker/runner_session.h"

namespace renderq {

struct RunnerPoolOptions {
  std::string runners_dir;  // {runners_dir}
  std::string scratch_dir;  // this worker's own (its name lock proves it)
  // The operator named scratch_dir (--scratch-dir): it is emptied only when it
  // is empty already or carries kScratchMarker from an earlier start, never a
  // directory that holds anything else (a mistyped --scratch-dir /var/tmp).
  bool scratch_dir_named = false;
  std::vector<std::string> environment;  // the worker's, "NAME=value"
  RunnerLimits limits;                   // start/max_job/sizes are taken from each kind
  std::chrono::milliseconds first_backoff{1000};
  std::chrono::milliseconds max_backoff{60000};
};

class RunnerPool {
 public:
  // The file that marks a directory as a worker's scratch directory.
  static constexpr const char* kScratchMarker = ".renderq-scratch";

  // Empties the scratch directory (creating it) and marks it. kUnavailable
  // when it cannot; kInvalidArgument for a named directory that holds files
  // and no marker.
  static Result<std::unique_ptr<RunnerPool>> Create(Logger& log, std::vector<KindSpec> kinds,
                                                    RunnerPoolOptions options);
  ~RunnerPool();  // kills every runner

  // The device the runners use: "cuda:N" with its index, or "cpu". A change
  // kills the warm runners; Tend() starts them again with the new device.
  void SetDevice(const std::string& renderq_device, std::optional<int> cuda_index);

  // Spawns the warm runners that are due and reads what the starting ones
  // wrote, waiting at most `wait` in all.
  void Tend(std::chrono::milliseconds wait);

  // Kinds whose jobs this worker can take now, sorted: every kind but those
  // whose runner is backing off after a failure (a warm runner that is still
  // starting counts: the job waits for it, so the line's order holds).
  std::vector<std::string> ClaimableKinds() const;
  // Whether a warm runner is starting (spawned, not ready yet).
  bool Starting() const;
  // Every kind the pool serves (the workers table's `kinds`), sorted.
  std::vector<std::string> Kinds() const;
  const KindSpec* Find(const std::string& kind) const;

  // The runner for a job of `kind`: the warm one, waited for while it starts
  // (kUnavailable when it is backing off after a failure, or fails to start
  // now), or a fresh cold one, waited for up to the kind's start_seconds
  // (kInvalidArgument with the reason when it fails to start). kCancelled as
  // soon as `give_up()` says so. The pointer stays valid until Release().
  Result<RunnerSession*> Acquire(const std::string& kind, const std::function<bool()>& give_up);
  // After a job: keeps a warm runner that is still usable; otherwise kills
  // it and schedules its restart. `finished_a_job` resets the back-off.
  void Release(const std::string& kind, bool finished_a_job);

  // Makes DIR for a job, empty. kUnavailable on I/O trouble.
  Result<std::string> MakeJobDir(const std::string& kind, const std::string& job_id);
  // Removes a job's DIR and what the runner left in it (links not followed).
  void RemoveJobDir(const std::string& dir);
  // Where a job's stored checkpoint is written for its runner to read.
  std::string CheckpointPath(const std::string& kind, const std::string& job_id) const;

 private:
  struct Slot {
    KindSpec spec;
    std::unique_ptr<RunnerSession> session;
    bool ready = false;
    int failures = 0;
    std::chrono::steady_clock::time_point next_start{};
  };
  RunnerPool(Logger& log, RunnerPoolOptions options);
  RunnerStartOptions StartOptions(const Slot& slot) const;
  void Failed(Slot& slot, const std::string& why);

  Logger& log_;
  RunnerPoolOptions options_;
  std::map<std::string, Slot> slots_;
  std::string device_ = "cpu";
  std::optional<int> cuda_index_;
};

}  // namespace renderq
