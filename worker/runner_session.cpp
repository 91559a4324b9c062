#include "worker/runner_session.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <thread>

#include "core/util/unique_fd.h"
#include "worker/runner_files.h"

namespace renderq {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kReadChunk = 64 << 10;
constexpr std::size_t kMaxStderrLine = 4096;
// Between looks at the job's control flags while the runner is quiet.
constexpr milliseconds kPollInterval{50};

std::string Truncated(std::string_view text, std::size_t max = 300) {
  std::string out(text.substr(0, max));
  if (text.size() > max) out += "...";
  return out;
}

bool IsPngOrJpeg(const std::string& bytes) {
  static constexpr char kPng[] = "\x89PNG\r\n\x1a\n";
  return (bytes.size() >= 8 && bytes.compare(0, 8, kPng, 8) == 0) ||
         (bytes.size() >= 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
          static_cast<unsigned char>(bytes[1]) == 0xD8 &&
          static_cast<unsigned char>(bytes[2]) == 0xFF);
}

RunnerJobOutcome Outcome(RunnerJobOutcome::Kind kind, std::string code = {},
                         std::string message = {}) {
  RunnerJobOutcome outcome;
  outcome.kind = kind;
  outcome.code = std::move(code);
  outcome.message = std::move(message);
  return outcome;
}

}  // namespace

const char* RunnerJobOutcomeName(RunnerJobOutcome::Kind kind) {
  using K = RunnerJobOutcome::Kind;
  switch (kind) {
    case K::kDone: return "done";
    case K::kFailed: return "failed";
    case K::kCanceled: return "canceled";
    case K::kDeviceLost: return "device_lost";
    case K::kRunnerFile: return "runner_file";
    case K::kTimeout: return "timeout";
    case K::kRunnerLost: return "runner_lost";
    case K::kLeaseLost: return "lease_lost";
    case K::kStopped: return "stopped";
    case K::kStoreError: return "store_error";
  }
  return "unknown";
}

RunnerSession::RunnerSession(RunnerStartOptions options, Logger& log,
                             std::unique_ptr<RunnerProcess> process)
    : options_(std::move(options)),
      log_(log),
      process_(std::move(process)),
      tokens_(options_.limits.burst_messages),
      tokens_at_(Clock::now()) {}

RunnerSession::~RunnerSession() { Kill(); }

void RunnerSession::Kill() {
  if (process_) process_->KillGroup();
  DrainStderr();
  broken_ = true;
}

Result<std::unique_ptr<RunnerSession>> RunnerSession::Spawn(const RunnerStartOptions& options,
                                                            Logger& log) {
  RunnerCommand command{options.argv, options.env, options.working_dir};
  ASSIGN_OR_RETURN(std::unique_ptr<RunnerProcess> process, RunnerProcess::Spawn(command));
  std::unique_ptr<RunnerSession> session(new RunnerSession(options, log, std::move(process)));
  session->ready_deadline_ = Clock::now() + options.limits.start;
  return session;
}

Result<bool> RunnerSession::PollReady(milliseconds wait) {
  if (ready_) return true;
  if (broken_) return Status::InvalidArgument("the runner was killed");
  const Clock::time_point until = Clock::now() + wait;
  bool last_look = false;
  for (;;) {
    Result<std::optional<std::string>> line = lines_.Next();
    if (!line.ok()) {
      Kill();
      return Status::InvalidArgument("broke the protocol before it was ready: " +
                                     line.status().message());
    }
    if (line.value()) {
      Result<RunnerMessage> message = ParseRunnerMessage(**line);
      if (!message.ok() || !std::holds_alternative<RunnerReady>(*message)) {
        Kill();
        return Status::InvalidArgument(
            "its first line is not {\"ready\": true}: " +
            (message.ok() ? Truncated(**line) : message.status().message()));
      }
      ready_ = true;
      return true;
    }
    if (stdout_closed_) {
      std::optional<int> status;
      for (int i = 0; i < 50 && !(status = process_->PollExit()); ++i) {
        std::this_thread::sleep_for(milliseconds(10));
      }
      Kill();
      std::string why = "exited before it was ready";
      if (status) why += " (status " + std::to_string(*status) + ")";
      if (!last_stderr_line_.empty()) why += ": " + last_stderr_line_;
      return Status::InvalidArgument(why);
    }
    const Clock::time_point now = Clock::now();
    if (now >= ready_deadline_) {
      Kill();
      return Status::InvalidArgument(
          "not ready within start_seconds (" +
          std::to_string(options_.limits.start.count() / 1000.0).substr(0, 6) + " s)");
    }
    if (last_look) return false;
    if (now >= until) {
      Pump(milliseconds(0));  // what arrived meanwhile, then one more look
      last_look = true;
      continue;
    }
    Pump(std::min(std::chrono::duration_cast<milliseconds>(until - now), kPollInterval));
  }
}

Result<std::unique_ptr<RunnerSession>> RunnerSession::Start(const RunnerStartOptions& options,
                                                            Logger& log,
                                                            const std::atomic<bool>* stop) {
  ASSIGN_OR_RETURN(std::unique_ptr<RunnerSession> session, Spawn(options, log));
  for (;;) {
    Result<bool> ready = session->PollReady(kPollInterval);
    if (!ready.ok()) return ready.status();
    if (*ready) return session;
    if (stop != nullptr && stop->load()) {
      session->Kill();
      return Status::Cancelled("stopping");
    }
  }
}

bool RunnerSession::Pump(milliseconds wait) {
  // A closed pipe polls as ready for ever: only the open ones are watched.
  struct pollfd fds[2];
  nfds_t count = 0;
  if (!stdout_closed_) fds[count++] = {process_->stdout_fd(), POLLIN, 0};
  if (!stderr_closed_) fds[count++] = {process_->stderr_fd(), POLLIN, 0};
  if (count > 0) {
    [[maybe_unused]] int ready = poll(fds, count, static_cast<int>(wait.count()));
  } else if (wait.count() > 0) {
    std::this_thread::sleep_for(wait);
  }
  DrainStderr();
  if (stdout_closed_) return false;
  // Read what is there now, a bounded amount per call, so a chatty runner
  // cannot keep this loop from looking at its control flags.
  for (int i = 0; i < 16; ++i) {
    Result<std::optional<std::string>> data = process_->ReadStdout(kReadChunk);
    if (!data.ok()) {
      stdout_closed_ = true;
      return false;
    }
    if (!data.value()) break;
    if (data.value()->empty()) {
      stdout_closed_ = true;
      return false;
    }
    lines_.Feed(**data);
    if (lines_.pending() > kMaxRunnerLineBytes) break;
  }
  return true;
}

void RunnerSession::DrainStderr() {
  if (!process_ || process_->stderr_fd() < 0) return;
  char buffer[8192];
  for (int i = 0; i < 64 && !stderr_closed_; ++i) {
    ssize_t n = read(process_->stderr_fd(), buffer, sizeof buffer);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) stderr_closed_ = true;
    if (n <= 0) break;
    stderr_pending_.append(buffer, static_cast<std::size_t>(n));
    std::size_t newline;
    while ((newline = stderr_pending_.find('\n')) != std::string::npos) {
      LogStderrLine(std::string_view(stderr_pending_).substr(0, newline));
      stderr_pending_.erase(0, newline + 1);
    }
    if (stderr_pending_.size() > kMaxStderrLine) {
      LogStderrLine(stderr_pending_);
      stderr_pending_.clear();
    }
  }
}

void RunnerSession::LogStderrLine(std::string_view line) {
  if (line.empty()) return;
  last_stderr_line_ = Truncated(line, 500);
  log_.Log("runner", "",
           "kind=" + options_.kind + " pid=" + std::to_string(process_->pgid()) + ": " +
               Truncated(line, kMaxStderrLine));
}

bool RunnerSession::TakeMessageToken() {
  const Clock::time_point now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - tokens_at_).count();
  tokens_at_ = now;
  tokens_ = std::min(options_.limits.burst_messages,
                     tokens_ + elapsed * options_.limits.messages_per_second);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

bool RunnerSession::usable() {
  if (broken_ || !process_ || stdout_closed_) return false;
  if (process_->PollExit()) return false;
  // Anything written since the last job ended breaks the protocol.
  Pump(milliseconds(0));
  DrainStderr();
  if (stdout_closed_ || lines_.pending() > 0) {
    log_.Log("runner_protocol_break", "",
             "kind=" + options_.kind + " wrote to stdout between jobs; killed");
    Kill();
    return false;
  }
  Result<std::optional<std::string>> line = lines_.Next();
  if (!line.ok() || line.value()) {
    log_.Log("runner_protocol_break", "",
             "kind=" + options_.kind + " wrote to stdout between jobs; killed");
    Kill();
    return false;
  }
  return true;
}

RunnerJobOutcome RunnerSession::RunJob(const RunnerJob& job, RunnerJobSink& sink,
                                       JobControl& control, const std::atomic<bool>* stop,
                                       double stop_finish_seconds) {
  using K = RunnerJobOutcome::Kind;
  auto lost = [&](std::string_view code, std::string message) {
    Kill();
    return Outcome(K::kRunnerLost, std::string(code), std::move(message));
  };
  int dir_fd = open(job.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return Outcome(K::kStoreError, "", "cannot open " + job.dir + ": " + std::strerror(errno));
  }
  UniqueFd dir(dir_fd);
  const Clock::time_point started = Clock::now();
  if (Status s = process_->WriteAll(RunnerJobLine(job.id, job.input, job.dir, job.checkpoint),
                                    started + options_.limits.write_timeout);
      !s.ok()) {
    return lost(kErrorRunnerProtocol, "the runner did not take its job: " + s.message());
  }
  const Clock::time_point deadline = started + options_.limits.max_job;
  std::optional<Clock::time_point> cancel_sent;
  std::optional<Clock::time_point> last_preview;
  bool finishing = false;
  Clock::time_point finish_by = Clock::time_point::max();
  bool checkpoint_saved = false;
  double first_progress = -1;
  Clock::time_point first_progress_at = started;
  auto ended = [&](RunnerJobOutcome outcome) {
    outcome.checkpoint_saved = checkpoint_saved;
    return outcome;
  };
  for (;;) {
    // The runner's messages, in order.
    for (;;) {
      Result<std::optional<std::string>> line = lines_.Next();
      if (!line.ok()) return ended(lost(kErrorRunnerProtocol, line.status().message()));
      if (!line.value()) break;
      if (!TakeMessageToken()) {
        return ended(lost(kErrorRunnerFlood,
                          "more than " + std::to_string(int(options_.limits.messages_per_second)) +
                              " messages a second"));
      }
      Result<RunnerMessage> parsed = ParseRunnerMessage(**line);
      if (!parsed.ok()) {
        return ended(
            lost(kErrorRunnerProtocol, parsed.status().message() + ": " + Truncated(**line, 120)));
      }
      RunnerMessage& message = *parsed;
      if (std::holds_alternative<RunnerReady>(message)) {
        return ended(lost(kErrorRunnerProtocol, "\"ready\" again while a job runs"));
      }
      if (auto* progress = std::get_if<RunnerProgress>(&message)) {
        control.progress = progress->fraction;
        const Clock::time_point now = Clock::now();
        if (first_progress < 0) {
          first_progress = progress->fraction;
          first_progress_at = now;
        } else if (progress->fraction > first_progress) {
          const double rate = (progress->fraction - first_progress) /
                              std::chrono::duration<double>(now - first_progress_at).count();
          control.remaining_seconds = (1.0 - progress->fraction) / rate;
        }
        continue;
      }
      if (auto* preview = std::get_if<RunnerPreview>(&message)) {
        const Clock::time_point now = Clock::now();
        if (last_preview && now - *last_preview < options_.limits.preview_interval) continue;
        Result<std::string> bytes =
            ReadRunnerFile(dir.get(), preview->file, options_.limits.max_preview_bytes);
        if (!bytes.ok()) {
          Kill();
          return ended(Outcome(K::kRunnerFile, std::string(kErrorRunnerFile),
                               "preview " + bytes.status().message()));
        }
        if (!IsPngOrJpeg(*bytes)) {
          Kill();
          return ended(Outcome(
              K::kRunnerFile, std::string(kErrorRunnerFile),
              "preview \"" + Truncated(preview->file, 100) + "\" is neither a PNG nor a JPEG"));
        }
        last_preview = now;
        sink.Preview(*bytes);
        continue;
      }
      if (auto* checkpoint = std::get_if<RunnerCheckpoint>(&message)) {
        Result<std::string> bytes =
            ReadRunnerFile(dir.get(), checkpoint->file, options_.limits.max_checkpoint_bytes);
        if (!bytes.ok()) {
          Kill();
          return ended(Outcome(K::kRunnerFile, std::string(kErrorRunnerFile),
                               "checkpoint " + bytes.status().message()));
        }
        Status stored = sink.Checkpoint(*bytes);
        if (stored.code() == StatusCode::kConflict) {
          Kill();
          return ended(Outcome(K::kLeaseLost));
        }
        if (!stored.ok()) {
          Kill();
          return ended(Outcome(K::kStoreError, "", "checkpoint: " + stored.ToString()));
        }
        checkpoint_saved = true;
        if (Status s = process_->WriteAll(RunnerCheckpointSavedLine(checkpoint->file),
                                          Clock::now() + options_.limits.write_timeout);
            !s.ok()) {
          return ended(lost(kErrorRunnerProtocol, "checkpoint_saved not taken: " + s.message()));
        }
        continue;
      }
      // An end of the job.
      if (control.cancel_requested.load()) return ended(Outcome(K::kCanceled));
      if (auto* done = std::get_if<RunnerDone>(&message)) {
        Result<std::string> bytes =
            ReadRunnerFile(dir.get(), done->file, options_.limits.max_output_bytes);
        if (!bytes.ok()) {
          return ended(Outcome(K::kRunnerFile, std::string(kErrorRunnerFile),
                               "output " + bytes.status().message()));
        }
        RunnerJobOutcome outcome = Outcome(K::kDone);
        outcome.output = std::move(bytes).value();
        return ended(std::move(outcome));
      }
      auto& failed = std::get<RunnerFailed>(message);
      if (failed.code == kErrorDeviceLost) {
        return ended(Outcome(K::kDeviceLost, failed.code, failed.message));
      }
      RunnerJobOutcome outcome = Outcome(K::kFailed, failed.code, failed.message);
      outcome.retry = failed.retry;
      return ended(std::move(outcome));
    }
    if (stdout_closed_) {
      std::optional<int> status;
      for (int i = 0; i < 20 && !(status = process_->PollExit()); ++i) {
        std::this_thread::sleep_for(milliseconds(10));
      }
      std::string why = "the runner exited";
      if (status) why += " with status " + std::to_string(*status);
      if (!last_stderr_line_.empty()) why += ": " + last_stderr_line_;
      if (control.cancel_requested.load()) {
        Kill();
        return ended(Outcome(K::kCanceled));
      }
      return ended(lost(kErrorRunnerExited, why));
    }
    // The job's control flags.
    const Clock::time_point now = Clock::now();
    // Lost, or not renewed in time (self-fencing): stop before another host
    // can hold the job.
    if (control.lease_lost.load() || control.lease_expired.load()) {
      Kill();
      return ended(Outcome(K::kLeaseLost));
    }
    if (control.cancel_requested.load()) {
      if (!cancel_sent) {
        cancel_sent = now;
        if (!process_->WriteAll(RunnerCancelLine(job.id), now + milliseconds(200)).ok()) {
          Kill();
          return ended(Outcome(K::kCanceled));
        }
      } else if (now - *cancel_sent >= options_.limits.cancel_grace) {
        log_.Log("runner_killed", job.id, "kind=" + options_.kind + " ignored the cancel for 1 s");
        Kill();
        return ended(Outcome(K::kCanceled));
      }
    }
    if (stop != nullptr && stop->load() && !finishing) {
      if (FinishBeforeStop(control.remaining_seconds.load(), stop_finish_seconds)) {
        finishing = true;
        // The estimate comes from the runner's progress; give it twice that.
        finish_by = now + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(2 * stop_finish_seconds + 1));
        control.finishing = true;
        log_.Log("finishing_before_stop", job.id,
                 "remaining_seconds=" + std::to_string(control.remaining_seconds.load()));
      } else {
        Kill();
        return ended(Outcome(K::kStopped));
      }
    }
    if (finishing && now >= finish_by) {
      Kill();
      return ended(Outcome(K::kStopped));
    }
    if (now >= deadline) {
      Kill();
      return ended(Outcome(K::kTimeout, std::string(kErrorTimeout),
                           "ran longer than max_seconds (" +
                               std::to_string(options_.limits.max_job.count() / 1000) + " s)"));
    }
    Pump(kPollInterval);
  }
}

}  // namespace renderq
