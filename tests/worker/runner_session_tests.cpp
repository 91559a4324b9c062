// RunnerSession against real runner processes that misbehave on purpose
// (tests/worker/hostile_runner.py): each way of breaking the protocol ends
// the job as SPEC says, with a code that names what happened, and neither
// crashes nor blocks the worker; a runner and whatever it started die with
// it, also when the worker itself is SIGKILLed.
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "worker/runner_session.h"

namespace renderq::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using K = RunnerJobOutcome::Kind;
namespace fs = std::filesystem;

const std::string kHostile = std::string(RENDERQ_SOURCE_DIR) + "/tests/worker/hostile_runner.py";

struct RecordingSink final : RunnerJobSink {
  std::vector<std::string> checkpoints;
  int previews = 0;
  void Preview(const std::string&) override { ++previews; }
  Status Checkpoint(const std::string& bytes) override {
    checkpoints.push_back(bytes);
    return Status::Ok();
  }
};

// A small file's text (read(2): /proc files have no size to ask for).
std::string ReadSmallFile(const std::string& path) {
  std::string text;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0)
    text.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return text;
}

// Every process whose process group is `pgid` (zombies excepted).
std::vector<pid_t> GroupMembers(pid_t pgid) {
  std::vector<pid_t> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string text = ReadSmallFile((entry.path() / "stat").string());
    const auto close = text.rfind(')');
    if (close == std::string::npos || close + 2 >= text.size()) continue;
    // After the command: state, ppid, pgrp.
    const std::string rest = text.substr(close + 2);
    const char state = rest[0];
    const std::size_t ppid_end = rest.find(' ', 2);
    if (ppid_end == std::string::npos) continue;
    const pid_t group = static_cast<pid_t>(std::atol(rest.c_str() + ppid_end + 1));
    if (group == pgid && state != 'Z') found.push_back(std::stoi(name));
  }
  return found;
}

bool GroupGone(pid_t pgid, milliseconds within) {
  const auto deadline = Clock::now() + within;
  while (!GroupMembers(pgid).empty()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

class SessionFixture {
 public:
  SessionFixture() : log_("test") {
    dir_ = fs::temp_directory_path() /
           ("renderq-session-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(dir_ / "jobs");
  }
  ~SessionFixture() { fs::remove_all(dir_); }

  RunnerStartOptions Options(const std::string& mode) {
    RunnerStartOptions options;
    options.kind = "hostile";
    options.argv = {"/usr/bin/python3", kHostile, mode};
    options.env = {"PATH=/usr/bin:/bin", "RENDERQ_DEVICE=cpu", "CUDA_VISIBLE_DEVICES="};
    options.working_dir = dir_.string();
    options.limits.start = milliseconds(20000);
    options.limits.max_job = milliseconds(20000);
    options.limits.max_output_bytes = 1024;
    options.limits.max_checkpoint_bytes = 1024;
    return options;
  }

  RunnerJob Job(const std::string& id) {
    const fs::path job_dir = dir_ / "jobs" / id;
    fs::create_directories(job_dir);
    return RunnerJob{id, nlohmann::json{{"n", id}}, job_dir.string(), std::nullopt};
  }

  Logger log_;
  fs::path dir_;
  static inline int counter_ = 0;
};

BOOST_FIXTURE_TEST_SUITE(RunnerSessions, SessionFixture)

BOOST_AUTO_TEST_CASE(a_good_runner_takes_job_after_job) {
  auto session = RunnerSession::Start(Options("good"), log_, nullptr);
  BOOST_REQUIRE_MESSAGE(session.ok(), session.status().ToString());
  for (const std::string id : {"a", "b", "c"}) {
    RecordingSink sink;
    JobControl control;
    RunnerJobOutcome outcome = (*session)->RunJob(Job(id), sink, control, nullptr, 3.0);
    BOOST_TEST(RunnerJobOutcomeName(outcome.kind) == "done");
    BOOST_TEST((nlohmann::json::parse(outcome.output) == nlohmann::json({{"n", id}})));
    BOOST_TEST(control.progress.load() == 0.5);
    BOOST_TEST((*session)->usable());
  }
}

BOOST_AUTO_TEST_CASE(runners_that_cannot_start) {
  struct Case {
    std::string mode;
    std::string says;
  };
  const Case cases[] = {
      {"never_ready", "not ready within start_seconds"},
      {"exits_before_ready", "exited before it was ready (status 4): cannot load the model"},
      {"progress_before_ready", "first line is not {\"ready\": true}"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.mode) {
      RunnerStartOptions options = Options(c.mode);
      options.limits.start = milliseconds(1500);
      auto session = RunnerSession::Start(options, log_, nullptr);
      BOOST_REQUIRE(!session.ok());
      BOOST_TEST((session.status().code() == StatusCode::kInvalidArgument));
      BOOST_TEST(session.status().message().find(c.says) != std::string::npos,
                 session.status().message());
    }
  }
  RunnerStartOptions missing = Options("good");
  missing.argv = {"/nonexistent/runner"};
  auto session = RunnerSession::Start(missing, log_, nullptr);
  BOOST_REQUIRE(!session.ok());
  BOOST_TEST(session.status().message().find("cannot run /nonexistent/runner") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(hostile_runners_table) {
  struct Case {
    std::string mode;
    K kind;
    std::string code;
    std::string says;
    bool usable_after;
  };
  const Case cases[] = {
      {"leaves_dir", K::kRunnerFile, "runner_file", "not a relative path inside", true},
      {"absolute_path", K::kRunnerFile, "runner_file", "not a relative path inside", true},
      {"symlink", K::kRunnerFile, "runner_file", "a symbolic link", true},
      {"fifo", K::kRunnerFile, "runner_file", "a FIFO", true},
      {"device", K::kRunnerFile, "runner_file", "", true},
      {"output_too_large", K::kRunnerFile, "runner_file", "over the limit of 1024", true},
      {"checkpoint_too_large", K::kRunnerFile, "runner_file", "over the limit of 1024", false},
      {"bad_preview", K::kRunnerFile, "runner_file", "neither a PNG nor a JPEG", false},
      {"line_too_long", K::kRunnerLost, "runner_protocol", "line over 1048576 bytes", false},
      {"flood", K::kRunnerLost, "runner_flood", "messages a second", false},
      {"invalid_utf8", K::kRunnerLost, "runner_protocol", "not JSON", false},
      {"invalid_json", K::kRunnerLost, "runner_protocol", "not JSON", false},
      {"unknown_message", K::kRunnerLost, "runner_protocol", "unknown message \"hello\"", false},
      {"exits_mid_job", K::kRunnerLost, "runner_exited", "status 139", false},
      {"device_lost", K::kDeviceLost, "device_lost", "Xid 79", true},
      {"retry", K::kFailed, "out_of_memory", "12 GB > 8 GB", true},
      {"fails", K::kFailed, "bad_prompt", "the prompt is empty", true},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.mode) {
      auto session = RunnerSession::Start(Options(c.mode), log_, nullptr);
      BOOST_REQUIRE_MESSAGE(session.ok(), session.status().ToString());
      const pid_t pgid = (*session)->pgid();
      RecordingSink sink;
      JobControl control;
      RunnerJobOutcome outcome = (*session)->RunJob(Job(c.mode), sink, control, nullptr, 3.0);
      BOOST_TEST(RunnerJobOutcomeName(outcome.kind) == RunnerJobOutcomeName(c.kind));
      BOOST_TEST(outcome.code == c.code);
      BOOST_TEST(outcome.message.find(c.says) != std::string::npos, outcome.message);
      BOOST_TEST(outcome.retry == (c.mode == "retry"));
      BOOST_TEST((*session)->usable() == c.usable_after);
      if (!c.usable_after) BOOST_TEST(GroupGone(pgid, milliseconds(5000)));
    }
  }
}

BOOST_AUTO_TEST_CASE(output_after_done_makes_the_runner_unusable) {
  auto session = RunnerSession::Start(Options("writes_after_done"), log_, nullptr);
  BOOST_REQUIRE(session.ok());
  RecordingSink sink;
  JobControl control;
  RunnerJobOutcome outcome = (*session)->RunJob(Job("j"), sink, control, nullptr, 3.0);
  BOOST_TEST(RunnerJobOutcomeName(outcome.kind) == "done");
  std::this_thread::sleep_for(milliseconds(500));  // the stray line arrives
  BOOST_TEST(!(*session)->usable());
}

BOOST_AUTO_TEST_CASE(a_checkpoint_is_answered_once_stored) {
  auto session = RunnerSession::Start(Options("checkpoint"), log_, nullptr);
  BOOST_REQUIRE(session.ok());
  RecordingSink sink;
  JobControl control;
  RunnerJobOutcome outcome = (*session)->RunJob(Job("c1"), sink, control, nullptr, 3.0);
  BOOST_TEST(RunnerJobOutcomeName(outcome.kind) == "done");
  BOOST_TEST(outcome.checkpoint_saved);
  BOOST_TEST(sink.checkpoints == std::vector<std::string>{"state-of-c1"});
  BOOST_TEST(outcome.output == R"({"checkpoint_saved": "state"})");
}

BOOST_AUTO_TEST_CASE(cancel_is_passed_on_and_enforced_after_one_second) {
  for (const std::string mode : {"honours_cancel", "ignores_cancel"}) {
    BOOST_TEST_CONTEXT(mode) {
      auto session = RunnerSession::Start(Options(mode), log_, nullptr);
      BOOST_REQUIRE(session.ok());
      const pid_t pgid = (*session)->pgid();
      RecordingSink sink;
      JobControl control;
      std::thread canceler([&] {
        while (control.progress.load() == 0.0) std::this_thread::sleep_for(milliseconds(5));
        control.cancel_requested = true;
      });
      RunnerJobOutcome outcome = (*session)->RunJob(Job(mode), sink, control, nullptr, 3.0);
      canceler.join();
      BOOST_TEST(RunnerJobOutcomeName(outcome.kind) == "canceled");
      if (mode == "honours_cancel") {
        BOOST_TEST((*session)->usable());
      } else {
        // Killed with its group: the sleep it started too.
        BOOST_TEST(!(*session)->usable());
        BOOST_TEST(GroupGone(pgid, milliseconds(5000)));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(max_seconds_and_a_lost_lease_end_the_job) {
  RunnerStartOptions options = Options("never_ends");
  options.limits.max_job = milliseconds(500);
  auto session = RunnerSession::Start(options, log_, nullptr);
  BOOST_REQUIRE(session.ok());
  RecordingSink sink;
  JobControl control;
  RunnerJobOutcome outcome = (*session)->RunJob(Job("t"), sink, control, nullptr, 3.0);
  BOOST_TEST(RunnerJobOutcomeName(outcome.kind) == "timeout");
  BOOST_TEST(outcome.code == "timeout");

  auto second = RunnerSession::Start(Options("never_ends"), log_, nullptr);
  BOOST_REQUIRE(second.ok());
  JobControl lost;
  lost.lease_lost = true;
  outcome = (*second)->RunJob(Job("l"), sink, lost, nullptr, 3.0);
  BOOST_TEST(RunnerJobOutcomeName(outcome.kind) == "lease_lost");
}

BOOST_AUTO_TEST_CASE(a_stop_releases_a_job_far_from_done) {
  auto session = RunnerSession::Start(Options("never_ends"), log_, nullptr);
  BOOST_REQUIRE(session.ok());
  RecordingSink sink;
  JobControl control;
  std::atomic<bool> stop{true};
  RunnerJobOutcome outcome = (*session)->RunJob(Job("s"), sink, control, &stop, 3.0);
  BOOST_TEST(RunnerJobOutcomeName(outcome.kind) == "stopped");
}

BOOST_AUTO_TEST_CASE(a_runner_that_does_not_read_its_stdin_is_lost_not_waited_for) {
  RunnerStartOptions options = Options("never_reads_stdin");
  options.limits.write_timeout = milliseconds(500);
  auto session = RunnerSession::Start(options, log_, nullptr);
  BOOST_REQUIRE(session.ok());
  RunnerJob job = Job("big");
  job.input = nlohmann::json{{"blob", std::string(4 << 20, 'x')}};  // more than a pipe holds
  RecordingSink sink;
  JobControl control;
  RunnerJobOutcome outcome = (*session)->RunJob(job, sink, control, nullptr, 3.0);
  BOOST_TEST(RunnerJobOutcomeName(outcome.kind) == "runner_lost");
  BOOST_TEST(outcome.code == "runner_protocol");
  BOOST_TEST(outcome.message.find("does not read its stdin") != std::string::npos);
}

// The worker SIGKILLed while its runner (and the runner's own child) work:
// the guard takes the whole group down.
BOOST_AUTO_TEST_CASE(runners_die_with_a_sigkilled_worker) {
  int report[2];
  BOOST_REQUIRE(pipe(report) == 0);
  const pid_t worker = fork();
  if (worker == 0) {
    close(report[0]);
    RunnerCommand command{
        {"/bin/sh", "-c", "sleep 3600 & echo ready; wait"}, {"PATH=/usr/bin:/bin"}, "/"};
    auto process = RunnerProcess::Spawn(command);
    if (!process.ok()) _exit(1);
    const pid_t pgid = (*process)->pgid();
    // Wait for the runner's "ready" so that its child exists, then report.
    for (int i = 0; i < 500; ++i) {
      auto out = (*process)->ReadStdout(64);
      if (out.ok() && out.value() && !out.value()->empty()) break;
      usleep(10000);
    }
    if (write(report[1], &pgid, sizeof pgid) != sizeof pgid) _exit(1);
    pause();
    _exit(0);
  }
  close(report[1]);
  pid_t pgid = 0;
  BOOST_REQUIRE(read(report[0], &pgid, sizeof pgid) == sizeof pgid);
  close(report[0]);
  BOOST_TEST(GroupMembers(pgid).size() >= 3u);  // guard, shell, sleep
  kill(worker, SIGKILL);
  waitpid(worker, nullptr, 0);
  BOOST_TEST(GroupGone(pgid, milliseconds(5000)));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::testing
