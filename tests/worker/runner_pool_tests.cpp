// RunnerPool with real runner processes: warm runners start in the
// background and make their kind claimable once ready, come back with
// back-off after they die, restart on a device change; cold kinds get a
// fresh runner per job; runners see the worker's device.
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "worker/runner_pool.h"

namespace renderq::testing {
namespace {

using std::chrono::milliseconds;
namespace fs = std::filesystem;

const std::string kHostile = std::string(RENDERQ_SOURCE_DIR) + "/tests/worker/hostile_runner.py";

struct NullSink final : RunnerJobSink {
  void Preview(const std::string&) override {}
  Status Checkpoint(const std::string&) override { return Status::Ok(); }
};

KindSpec Kind(const std::string& name, const std::string& mode, bool warm) {
  std::string text = nlohmann::json{
      {"command", {"/usr/bin/python3", kHostile, mode}},
      {"input_schema", nlohmann::json::object()},
      {"estimate_seconds", 1},
      {"start_seconds", 5},
      {"warm", warm}}.dump();
  auto kind = ParseKindFile("/kinds/" + name + ".json", text);
  BOOST_REQUIRE_MESSAGE(kind.ok(), kind.status().ToString());
  return *kind;
}

class PoolFixture {
 public:
  PoolFixture() : log_("test") {
    scratch_ = fs::temp_directory_path() / ("renderq-pool-" + std::to_string(getpid()));
  }
  ~PoolFixture() { fs::remove_all(scratch_); }

  std::unique_ptr<RunnerPool> Pool(std::vector<KindSpec> kinds) {
    RunnerPoolOptions options;
    options.runners_dir = "/unused";
    options.scratch_dir = scratch_.string();
    options.environment = {"PATH=/usr/bin:/bin", "RENDERQ_DEVICE=stale", "KEEP=me"};
    options.first_backoff = milliseconds(200);
    options.max_backoff = milliseconds(400);
    auto pool = RunnerPool::Create(log_, std::move(kinds), options);
    BOOST_REQUIRE(pool.ok());
    return std::move(pool).value();
  }

  // Tends the pool until `kind` is claimable (or 20 s pass).
  bool WaitClaimable(RunnerPool& pool, const std::string& kind) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      pool.Tend(milliseconds(50));  // returns at once when no runner is starting
      auto kinds = pool.ClaimableKinds();
      if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end()) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  }

  RunnerJobOutcome Run(RunnerPool& pool, const std::string& kind, const std::string& id) {
    auto session = pool.Acquire(kind, [] { return false; });
    BOOST_REQUIRE_MESSAGE(session.ok(), session.status().ToString());
    auto dir = pool.MakeJobDir(kind, id);
    BOOST_REQUIRE(dir.ok());
    NullSink sink;
    JobControl control;
    RunnerJobOutcome outcome = (*session)->RunJob(RunnerJob{id, {{"id", id}}, *dir, std::nullopt},
                                                  sink, control, nullptr, 3.0);
    pool.Release(kind, outcome.kind == RunnerJobOutcome::Kind::kDone);
    pool.RemoveJobDir(*dir);
    return outcome;
  }

  Logger log_;
  fs::path scratch_;
};

BOOST_FIXTURE_TEST_SUITE(RunnerPools, PoolFixture)

BOOST_AUTO_TEST_CASE(a_named_scratch_directory_with_foreign_files_is_left_alone) {
  // --scratch-dir pointed at a directory of other files: refused, nothing removed.
  fs::create_directories(scratch_);
  std::ofstream(scratch_ / "notes.txt") << "someone's";
  RunnerPoolOptions options;
  options.runners_dir = "/unused";
  options.scratch_dir = scratch_.string();
  options.scratch_dir_named = true;
  auto refused = RunnerPool::Create(log_, {Kind("echo", "good", true)}, options);
  BOOST_TEST_REQUIRE(!refused.ok());
  BOOST_TEST((refused.status().code() == StatusCode::kInvalidArgument));
  BOOST_TEST(refused.status().message().find("holds files") != std::string::npos,
             refused.status().message());
  BOOST_TEST(fs::exists(scratch_ / "notes.txt"));
  // An empty one is taken and marked; a marked one is emptied on the next start.
  fs::remove(scratch_ / "notes.txt");
  {
    auto pool = RunnerPool::Create(log_, {Kind("echo", "good", true)}, options);
    BOOST_TEST_REQUIRE(pool.ok(), pool.status().ToString());
  }
  BOOST_TEST(fs::exists(scratch_ / RunnerPool::kScratchMarker));
  std::ofstream(scratch_ / "echo" / "left-over") << "x";
  auto again = RunnerPool::Create(log_, {Kind("echo", "good", true)}, options);
  BOOST_TEST_REQUIRE(again.ok(), again.status().ToString());
  BOOST_TEST(!fs::exists(scratch_ / "echo" / "left-over"));
}

BOOST_AUTO_TEST_CASE(warm_kinds_are_claimable_at_once_and_a_job_waits_for_its_runner) {
  KindSpec stuck = Kind("stuck", "never_ready", true);
  stuck.start_seconds = 1;
  auto pool = Pool({Kind("echo", "good", true), stuck});
  BOOST_TEST(pool->Kinds() == (std::vector<std::string>{"echo", "stuck"}));
  // Starting counts as claimable: the line's order holds while runners start.
  BOOST_TEST(pool->ClaimableKinds() == (std::vector<std::string>{"echo", "stuck"}));
  pool->Tend(milliseconds(0));  // both spawned
  BOOST_TEST(pool->Starting());
  for (const std::string id : {"1", "2"}) {
    BOOST_TEST(RunnerJobOutcomeName(Run(*pool, "echo", id).kind) == "done");
  }
  // A runner that never says ready: the job's wait ends, and the kind backs off.
  auto session = pool->Acquire("stuck", [] { return false; });
  BOOST_TEST(!session.ok());
  BOOST_TEST((session.status().code() == StatusCode::kUnavailable));
  BOOST_TEST(pool->ClaimableKinds() == std::vector<std::string>{"echo"});
  BOOST_REQUIRE(WaitClaimable(*pool, "stuck"));  // due to start again
}

BOOST_AUTO_TEST_CASE(a_runner_lost_in_a_job_comes_back_after_its_backoff) {
  auto pool = Pool({Kind("crashy", "exits_mid_job", true)});
  BOOST_TEST(RunnerJobOutcomeName(Run(*pool, "crashy", "1").kind) == "runner_lost");
  BOOST_TEST(pool->ClaimableKinds().empty());  // backing off, not claimed meanwhile
  BOOST_REQUIRE(WaitClaimable(*pool, "crashy"));
  BOOST_TEST(RunnerJobOutcomeName(Run(*pool, "crashy", "2").kind) == "runner_lost");
}

BOOST_AUTO_TEST_CASE(giving_up_ends_the_wait_for_a_starting_runner) {
  auto pool = Pool({Kind("stuck", "never_ready", true)});
  int asked = 0;
  auto session = pool->Acquire("stuck", [&] { return ++asked > 3; });
  BOOST_TEST((session.status().code() == StatusCode::kCancelled));
}

BOOST_AUTO_TEST_CASE(a_cold_kind_runs_a_fresh_runner_per_job) {
  auto pool = Pool({Kind("once", "good", false)});
  BOOST_TEST(pool->ClaimableKinds() == std::vector<std::string>{"once"});
  for (const std::string id : {"a", "b"}) {
    BOOST_TEST(RunnerJobOutcomeName(Run(*pool, "once", id).kind) == "done");
  }
  auto broken = Pool({Kind("never", "exits_before_ready", false)});
  auto session = broken->Acquire("never", [] { return false; });
  BOOST_TEST(!session.ok());
  BOOST_TEST(session.status().message().find("exited before it was ready") != std::string::npos);
  BOOST_TEST(broken->ClaimableKinds().empty());  // backing off
}

BOOST_AUTO_TEST_CASE(runners_see_the_workers_device_and_a_change_restarts_them) {
  // A runner that reports its environment as its output.
  fs::create_directories(scratch_.parent_path());
  const fs::path script =
      fs::temp_directory_path() / ("renderq-env-runner-" + std::to_string(getpid()) + ".py");
  std::ofstream(script) << "import json, os, sys\n"
                           "print(json.dumps({'ready': True}), flush=True)\n"
                           "for line in sys.stdin:\n"
                           "    job = json.loads(line)['job']\n"
                           "    keys = ['RENDERQ_DEVICE', 'CUDA_VISIBLE_DEVICES', 'RENDERQ_KIND', "
                           "'KEEP']\n"
                           "    env = {k: os.environ.get(k) for k in keys}\n"
                           "    env['cwd'] = os.getcwd()\n"
                           "    open(os.path.join(job['dir'], 'o'), 'w').write(json.dumps(env))\n"
                           "    print(json.dumps({'done': 'o'}), flush=True)\n";
  std::string text = nlohmann::json{
      {"command", {"/usr/bin/python3", script.string()}},
      {"input_schema", nlohmann::json::object()},
      {"estimate_seconds",
       1}}.dump();
  auto pool = Pool({*ParseKindFile("/kinds/env.json", text)});
  pool->SetDevice("cuda:3", 3);
  auto first = nlohmann::json::parse(Run(*pool, "env", "1").output);
  BOOST_TEST(first["RENDERQ_DEVICE"] == "cuda:3");
  BOOST_TEST(first["CUDA_VISIBLE_DEVICES"] == "3");
  BOOST_TEST(first["RENDERQ_KIND"] == "env");
  BOOST_TEST(first["KEEP"] == "me");
  BOOST_TEST(first["cwd"] == (scratch_ / "env").string());
  pool->SetDevice("cpu", std::nullopt);  // the GPU failed its check
  BOOST_TEST(!pool->Starting());         // killed; started again when next tended
  auto second = nlohmann::json::parse(Run(*pool, "env", "2").output);
  BOOST_TEST(second["RENDERQ_DEVICE"] == "cpu");
  BOOST_TEST(second["CUDA_VISIBLE_DEVICES"] == "");
  fs::remove(script);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::testing
