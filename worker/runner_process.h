// RunnerProcess: a job kind's runner as a child of the worker (SPEC "The
// runner protocol"; docs/kinds.md), started so that nothing it starts can
// outlive the worker.
//
//   worker ──fork──▶ guard (process group leader, child subreaper)
//                      └──fork+exec──▶ runner ──▶ whatever the runner starts
//
// The guard is a forked copy of the worker that runs only system calls: it
// watches a "lifeline" pipe whose write end only the worker holds, and when
// that pipe closes (the worker closed it, exited or was SIGKILLed) it kills
// its whole process group with SIGKILL, itself included. The runner also gets
// PR_SET_PDEATHSIG(SIGKILL) against the guard. So a runner and its children
// die within milliseconds of the worker, whatever kills it, without systemd
// (whose control group is the production backstop). The guard reaps orphans
// (PR_SET_CHILD_SUBREAPER) and exits with the runner's status when the runner
// exits; what the runner left in the group is killed by the worker's
// KillGroup().
//
// The runner gets stdin and stdout as pipes to the worker, stderr as a third
// pipe (the worker logs it line by line), the given working directory and
// environment, default signal dispositions and an empty signal mask, and no
// other descriptor of the worker's. `argv[0]` must be an absolute path (it is
// not looked up in PATH).
//
// Thread safety: a RunnerProcess is used by one thread at a time. Spawn()
// may run on any thread but PR_SET_PDEATHSIG is not involved on the worker's
// side: the lifeline is the worker process's, not a thread's.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/status.h"

namespace renderq {

struct RunnerCommand {
  std::vector<std::string> argv;  // argv[0]: an absolute path
  std::vector<std::string> env;   // the whole environment, "NAME=value"
  std::string working_dir;
};

class RunnerProcess {
 public:
  // Starts the runner. kInvalidArgument when `command` cannot be run (the
  // program is missing or not executable, the directory is missing), with
  // the reason; kUnavailable for a failure of the system (fork, pipes).
  static Result<std::unique_ptr<RunnerProcess>> Spawn(const RunnerCommand& command);

  ~RunnerProcess();  // KillGroup()
  RunnerProcess(const RunnerProcess&) = delete;
  RunnerProcess& operator=(const RunnerProcess&) = delete;

  // The process group (the guard's pid): signal it with kill(-pgid(), ...).
  pid_t pgid() const { return guard_; }
  // Our ends of the runner's stdout and stderr, non-blocking, for poll().
  int stdout_fd() const { return stdout_; }
  int stderr_fd() const { return stderr_; }

  // Writes all of `data` to the runner's stdin. kUnavailable when the runner
  // has closed its stdin or exited, or has not taken the bytes by `deadline`
  // (it stopped reading: a protocol break).
  Status WriteAll(std::string_view data, std::chrono::steady_clock::time_point deadline);
  // Closes the runner's stdin: a runner that follows the protocol exits.
  void CloseStdin();

  // Reads what the runner's stdout has now (up to `max` bytes): the bytes;
  // an empty string at the end of its output; nullopt when nothing is there.
  Result<std::optional<std::string>> ReadStdout(std::size_t max);

  // The runner's exit status once it has exited (the guard's, which passes
  // it on: 128 + N for a runner killed by signal N), else nullopt. Never blocks.
  std::optional<int> PollExit();

  // Kills the whole process group with SIGKILL and reaps the guard.
  // Idempotent; returns once the guard is reaped.
  void KillGroup();

 private:
  RunnerProcess() = default;
  void CloseOurEnds();
  Status WriteAllBlocked(std::string_view data, std::chrono::steady_clock::time_point deadline,
                         bool* broken_pipe);

  pid_t guard_ = -1;
  bool reaped_ = false;
  int exit_status_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
  int stderr_ = -1;
  int lifeline_ = -1;
};

}  // namespace renderq
