// RunnerSession: one started runner of a job kind, and the protocol spoken
// with it (SPEC "The runner protocol"; docs/kinds.md).
//
//   Start()   spawns the runner (RunnerProcess) in its working directory and
//             waits up to the kind's start_seconds for {"ready": true};
//   RunJob()  sends one job and serves the runner's messages until the job
//             ends: progress to JobControl, previews and checkpoints to the
//             sink (a checkpoint is answered once the sink has stored it),
//             the output read from DIR. It watches the job's control flags
//             all along: a cancel is passed on and enforced after 1 s, a lost
//             lease or a stop signal ends the job here, max_seconds is
//             enforced, and a runner that exits, breaks the protocol or
//             floods is killed with its process group.
//   usable()  whether the runner may take another job (a warm runner).
//
// The runner's stderr is logged line by line ("runner kind=povray: ...") while
// a session reads it (during Start and RunJob); between jobs it waits in the
// pipe.
//
// Thread safety: one thread drives a session. JobControl is shared with the
// heartbeat thread (atomics).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/model/status.h"
#include "worker/job_heartbeat.h"
#include "worker/log.h"
#include "worker/runner_process.h"
#include "worker/runner_protocol.h"

namespace renderq {

// Error codes of the jobs a runner could not finish (SPEC: error codes that
// name what happened).
inline constexpr std::string_view kErrorRunnerFile = "runner_file";
inline constexpr std::string_view kErrorTimeout = "timeout";
inline constexpr std::string_view kErrorRunnerExited = "runner_exited";
inline constexpr std::string_view kErrorRunnerProtocol = "runner_protocol";
inline constexpr std::string_view kErrorRunnerFlood = "runner_flood";
inline constexpr std::string_view kErrorRunnerStart = "runner_start_failed";
inline constexpr std::string_view kErrorCanceled = "canceled";
inline constexpr std::string_view kErrorDeviceLost = "device_lost";

struct RunnerLimits {
  std::chrono::milliseconds start{60000};
  std::chrono::milliseconds max_job{3600000};
  std::uint64_t max_output_bytes = std::uint64_t{256} << 20;
  std::uint64_t max_checkpoint_bytes = std::uint64_t{64} << 20;
  std::uint64_t max_preview_bytes = std::uint64_t{16} << 20;
  std::chrono::milliseconds cancel_grace{1000};      // SPEC: 1 s after the cancel
  std::chrono::milliseconds write_timeout{10000};    // for the runner to take a line
  std::chrono::milliseconds preview_interval{1000};  // previews stored at most this often
  // A runner may send this many messages at once, and this many a second
  // after that; more is a flood (runner_flood).
  double burst_messages = 5000;
  double messages_per_second = 1000;
};

// Where a running job's bytes go (the worker's store, behind its lease).
class RunnerJobSink {
 public:
  virtual ~RunnerJobSink() = default;
  // Not durable; errors are the sink's to log.
  virtual void Preview(const std::string& bytes) = 0;
  // Durable before it returns OK. kConflict: the lease is lost.
  virtual Status Checkpoint(const std::string& bytes) = 0;
};

struct RunnerJob {
  std::string id;
  nlohmann::json input;
  std::string dir;                        // empty, this job's; created by the caller
  std::optional<std::string> checkpoint;  // path of the stored checkpoint's bytes
};

struct RunnerJobOutcome {
  enum class Kind {
    kDone,        // output holds the result
    kFailed,      // the runner's failed message: code, message, retry
    kCanceled,    // a cancel was requested and the job ended (or was killed)
    kDeviceLost,  // failed with code device_lost: requeue without an attempt
    kRunnerFile,  // a FILE that is not a regular file in DIR, or over its limit
    kTimeout,     // ran past max_seconds
    kRunnerLost,  // exited, broke the protocol, flooded: code says which
    kLeaseLost,   // the store gave the job to someone else
    kStopped,     // the worker is stopping; the job goes back without an attempt
    kStoreError,  // a checkpoint could not be stored
  };
  Kind kind = Kind::kRunnerLost;
  std::string output;
  std::string code;
  std::string message;
  bool retry = false;
  bool checkpoint_saved = false;  // this attempt stored a new checkpoint
};
const char* RunnerJobOutcomeName(RunnerJobOutcome::Kind kind);

struct RunnerStartOptions {
  std::string kind;
  std::vector<std::string> argv;  // {runners_dir} replaced
  std::vector<std::string> env;   // the whole environment
  std::string working_dir;        // exists; the runner's own
  RunnerLimits limits;
};

class RunnerSession {
 public:
  // kInvalidArgument (the message says why: cannot run, exited, not ready in
  // time, broke the protocol) when the runner could not be started;
  // `stop` (may be null) ends the wait early with kCancelled.
  static Result<std::unique_ptr<RunnerSession>> Start(const RunnerStartOptions& options,
                                                      Logger& log, const std::atomic<bool>* stop);
  // Start() in two steps, for a caller with other things to do meanwhile:
  // Spawn() starts the process; PollReady() reads what it wrote for up to
  // `wait` and says whether it is ready (false: not yet), or why it failed
  // (start_seconds counts from Spawn()).
  static Result<std::unique_ptr<RunnerSession>> Spawn(const RunnerStartOptions& options,
                                                      Logger& log);
  Result<bool> PollReady(std::chrono::milliseconds wait);
  ~RunnerSession();  // kills the group

  RunnerJobOutcome RunJob(const RunnerJob& job, RunnerJobSink& sink, JobControl& control,
                          const std::atomic<bool>* stop, double stop_finish_seconds);

  // Whether this runner may take the next job: alive, following the
  // protocol, nothing written since its last job ended.
  bool usable();
  pid_t pgid() const { return process_->pgid(); }

 private:
  RunnerSession(RunnerStartOptions options, Logger& log, std::unique_ptr<RunnerProcess> process);
  // Reads what the runner wrote (stdout into the line reader, stderr into the
  // log), waiting up to `wait`. false at the end of the runner's stdout.
  bool Pump(std::chrono::milliseconds wait);
  void DrainStderr();
  void LogStderrLine(std::string_view line);
  bool TakeMessageToken();
  void Kill();

  RunnerStartOptions options_;
  Logger& log_;
  std::unique_ptr<RunnerProcess> process_;
  RunnerLineReader lines_;
  std::string stderr_pending_;
  std::string last_stderr_line_;
  bool broken_ = false;
  bool ready_ = false;
  std::chrono::steady_clock::time_point ready_deadline_;
  bool stdout_closed_ = false;
  bool stderr_closed_ = false;
  double tokens_ = 0;
  std::chrono::steady_clock::time_point tokens_at_;
};

}  // namespace renderq
