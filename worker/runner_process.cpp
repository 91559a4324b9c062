#include "worker/runner_process.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace renderq {
namespace {

// What the runner's side reports through the exec-error pipe when it cannot
// start: the stage, then errno.
enum : unsigned char { kStageChdir = 1, kStageExec = 2, kStageSetup = 3 };

// Descriptor numbers inside the guard (and the runner, for 0-2 and 4).
constexpr int kLifelineFd = 3;
constexpr int kExecErrorFd = 4;

void Report(unsigned char stage) {
  unsigned char message[1 + sizeof(int)];
  int err = errno;
  message[0] = stage;
  std::memcpy(message + 1, &err, sizeof err);
  ssize_t ignored = write(kExecErrorFd, message, sizeof message);
  (void)ignored;
}

void CloseFrom(unsigned first) {
  if (syscall(SYS_close_range, first, ~0U, 0) == 0) return;
  for (int fd = static_cast<int>(first); fd < 65536; ++fd) close(fd);  // kernels before 5.9
}

// The guard: between fork() and _exit(), system calls only (the worker is
// multi-threaded, so nothing that may take a lock another thread held).
[[noreturn]] void GuardMain(const int (&fds)[5], char* const* argv, char* const* envp,
                            const char* working_dir, pid_t worker) {
  setpgid(0, 0);
  // Our five descriptors to fixed numbers (via high numbers, so no dup2
  // overwrites one still to be moved), then every other one closed: the
  // worker's database, lock files, sockets and other runners' lifelines.
  int high[5];
  for (int i = 0; i < 5; ++i) {
    high[i] = fcntl(fds[i], F_DUPFD, 256);
    if (high[i] < 0) _exit(127);
  }
  for (int i = 0; i < 5; ++i) {
    if (dup2(high[i], i) < 0) _exit(127);
  }
  CloseFrom(5);
  fcntl(kLifelineFd, F_SETFD, FD_CLOEXEC);
  fcntl(kExecErrorFd, F_SETFD, FD_CLOEXEC);
  // A fresh process's signal state: the worker blocks its stop signals for
  // its sigwait thread and ignores SIGPIPE.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  const pid_t guard = getpid();
  if (getppid() != worker) _exit(127);  // the worker died while we started

  pid_t runner = vfork();
  if (runner == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != guard) _exit(127);
    close(kLifelineFd);
    if (chdir(working_dir) != 0) {
      Report(kStageChdir);
      _exit(127);
    }
    execve(argv[0], argv, envp);
    Report(kStageExec);
    _exit(127);
  }
  if (runner < 0) {
    Report(kStageSetup);
    _exit(127);
  }
  // The runner holds stdin, stdout and stderr now; our copies would keep the
  // worker from seeing its end of output.
  close(0);
  close(1);
  close(2);
  close(kExecErrorFd);
  for (;;) {
    struct pollfd lifeline = {kLifelineFd, POLLIN, 0};
    int ready = poll(&lifeline, 1, 100);
    if (ready > 0) {
      // The worker never writes: readable or hung up means it closed the
      // lifeline or is gone. Take the whole group down, ourselves last.
      kill(0, SIGKILL);
      _exit(137);
    }
    int status = 0;
    pid_t reaped;
    while ((reaped = waitpid(-1, &status, WNOHANG)) > 0) {
      if (reaped == runner) {
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
      }
    }
  }
}

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

Status SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return Status::Unavailable(std::string("fcntl: ") + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<RunnerProcess>> RunnerProcess::Spawn(const RunnerCommand& command) {
  if (command.argv.empty() || command.argv[0].empty() || command.argv[0][0] != '/') {
    return Status::InvalidArgument("the runner's program must be an absolute path");
  }
  // Everything the children need, built before fork().
  std::vector<char*> argv;
  for (const std::string& arg : command.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& var : command.env) envp.push_back(const_cast<char*>(var.c_str()));
  envp.push_back(nullptr);

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, life[2] = {-1, -1},
      exec_error[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in, out, err, life, exec_error}) {
      CloseFd(p[0]);
      CloseFd(p[1]);
    }
  };
  for (int* p : {in, out, err, life, exec_error}) {
    if (pipe2(p, O_CLOEXEC) != 0) {
      Status s = Status::Unavailable(std::string("pipe: ") + std::strerror(errno));
      close_all();
      return s;
    }
  }
  const pid_t worker = getpid();
  const int child_fds[5] = {in[0], out[1], err[1], life[0], exec_error[1]};
  pid_t guard = fork();
  if (guard < 0) {
    Status s = Status::Unavailable(std::string("fork: ") + std::strerror(errno));
    close_all();
    return s;
  }
  if (guard == 0)
    GuardMain(child_fds, argv.data(), envp.data(), command.working_dir.c_str(), worker);
  setpgid(guard, guard);  // also done by the guard: whichever runs first

  std::unique_ptr<RunnerProcess> process(new RunnerProcess());
  process->guard_ = guard;
  process->stdin_ = in[1];
  process->stdout_ = out[0];
  process->stderr_ = err[0];
  process->lifeline_ = life[1];
  in[1] = out[0] = err[0] = life[1] = -1;
  CloseFd(in[0]);
  CloseFd(out[1]);
  CloseFd(err[1]);
  CloseFd(life[0]);
  CloseFd(exec_error[1]);

  // The runner's exec closes the error pipe (close-on-exec); a failure
  // writes the stage and errno first. Either way this read ends.
  unsigned char report[1 + sizeof(int)];
  std::size_t got = 0;
  while (got < sizeof report) {
    ssize_t n = read(exec_error[0], report + got, sizeof report - got);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  CloseFd(exec_error[0]);
  if (got == sizeof report) {
    int error = 0;
    std::memcpy(&error, report + 1, sizeof error);
    process->KillGroup();
    std::string what = report[0] == kStageChdir  ? "cannot enter " + command.working_dir
                       : report[0] == kStageExec ? "cannot run " + command.argv[0]
                                                 : std::string("cannot start the runner");
    return Status::InvalidArgument(what + ": " + std::strerror(error));
  }
  for (int fd : {process->stdin_, process->stdout_, process->stderr_}) {
    Status s = SetNonBlocking(fd);
    if (!s.ok()) return s;
  }
  return process;
}

RunnerProcess::~RunnerProcess() { KillGroup(); }

Status RunnerProcess::WriteAll(std::string_view data,
                               std::chrono::steady_clock::time_point deadline) {
  // A runner that closed its stdin must cost an EPIPE, not the worker's life:
  // SIGPIPE is held back in this thread while it writes, and taken if raised.
  sigset_t pipe_signal, previous;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
  bool broken_pipe = false;
  Status written = WriteAllBlocked(data, deadline, &broken_pipe);
  if (broken_pipe) {
    const struct timespec now {};
    while (sigtimedwait(&pipe_signal, nullptr, &now) == SIGPIPE) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return written;
}

Status RunnerProcess::WriteAllBlocked(std::string_view data,
                                      std::chrono::steady_clock::time_point deadline,
                                      bool* broken_pipe) {
  while (!data.empty()) {
    if (stdin_ < 0) return Status::Unavailable("the runner's stdin is closed");
    ssize_t n = write(stdin_, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) {
      *broken_pipe = errno == EPIPE;
      return Status::Unavailable(errno == EPIPE ? "the runner closed its stdin"
                                                : std::string("write: ") + std::strerror(errno));
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Unavailable("the runner does not read its stdin");
    struct pollfd p = {stdin_, POLLOUT, 0};
    poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
  }
  return Status::Ok();
}

void RunnerProcess::CloseStdin() { CloseFd(stdin_); }

Result<std::optional<std::string>> RunnerProcess::ReadStdout(std::size_t max) {
  if (stdout_ < 0) return std::optional<std::string>(std::string());
  std::string buffer(max, '\0');
  for (;;) {
    ssize_t n = read(stdout_, buffer.data(), buffer.size());
    if (n >= 0) {
      buffer.resize(static_cast<std::size_t>(n));
      return std::optional<std::string>(std::move(buffer));
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return std::optional<std::string>();
    return Status::Unavailable(std::string("read: ") + std::strerror(errno));
  }
}

std::optional<int> RunnerProcess::PollExit() {
  if (!reaped_ && guard_ > 0) {
    int status = 0;
    pid_t r = waitpid(guard_, &status, WNOHANG);
    if (r == guard_) {
      reaped_ = true;
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }
  if (!reaped_) return std::nullopt;
  return exit_status_;
}

void RunnerProcess::KillGroup() {
  if (guard_ <= 0) return;
  CloseFd(stdin_);
  if (!reaped_) {
    kill(-guard_, SIGKILL);  // the runner and everything it started
    kill(guard_, SIGKILL);   // the guard, if setpgid had not happened yet
  } else {
    kill(-guard_, SIGKILL);  // what the runner left behind in its group
  }
  CloseFd(lifeline_);
  if (!reaped_) {
    int status = 0;
    while (waitpid(guard_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  CloseOurEnds();
}

void RunnerProcess::CloseOurEnds() {
  CloseFd(stdin_);
  CloseFd(stdout_);
  CloseFd(stderr_);
  CloseFd(lifeline_);
}

}  // namespace renderq
