// Jobs of operators' kinds through the whole worker (claim, runner, store)
// on a real SQLite store, with runners that misbehave on purpose
// (tests/worker/hostile_runner.py): each misbehaviour ends its job as SPEC
// says, with the error code that names what happened, and the worker goes
// on to finish the scene job queued behind it.
#include <boost/test/unit_test.hpp>

#include "tests/worker/worker_fixture.h"

namespace renderq::testing {
namespace {

using std::chrono::milliseconds;

const std::string kHostile = std::string(RENDERQ_SOURCE_DIR) + "/tests/worker/hostile_runner.py";

struct KindFixture : WorkerFixture {
  KindSpec Kind(const std::string& mode, bool warm = true) {
    nlohmann::json file = {{"command", {"/usr/bin/python3", kHostile, mode}},
                           {"input_schema", nlohmann::json::object()},
                           {"estimate_seconds", 1},
                           {"start_seconds", 5},
                           {"max_seconds", 5},
                           {"max_output_bytes", 1024},
                           {"max_checkpoint_bytes", 1024},
                           {"warm", warm}};
    std::string name = mode;
    for (char& c : name) c = c == '_' ? '-' : c;
    auto kind = ParseKindFile("/kinds/" + name + ".json", file.dump());
    BOOST_REQUIRE_MESSAGE(kind.ok(), kind.status().ToString());
    return *kind;
  }

  Job SubmitKind(const std::string& kind, const std::string& input = "{}") {
    SubmitRequest r;
    r.owner_id = owner_id;
    r.spec.kind = kind;
    r.spec.input_json = input;
    r.spec.cost_units = 1;
    auto outcome = store->Submit(r);
    BOOST_REQUIRE_MESSAGE(outcome.ok(), outcome.status().ToString());
    return outcome->job;
  }

  WorkerOptions KindOptions(std::vector<KindSpec> kinds) {
    WorkerOptions o = Options();
    o.kinds = std::move(kinds);
    o.runners.scratch_dir = (dir / "scratch").string();
    o.runners.environment = {"PATH=/usr/bin:/bin"};
    o.runners.first_backoff = milliseconds(100);
    o.runners.max_backoff = milliseconds(200);
    o.job.heartbeat.stop_finish_seconds = 0;
    return o;
  }

  // Runs the worker until every one of `ids` is terminal (or 60 s pass).
  void RunUntilDone(Worker& worker, const std::vector<std::string>& ids) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    auto all_done = [&] {
      for (const std::string& id : ids) {
        if (!IsTerminal(Get(id).state)) return false;
      }
      return true;
    };
    while (!all_done()) {
      BOOST_REQUIRE(std::chrono::steady_clock::now() < deadline);
      auto ran = worker.RunOnce();
      BOOST_REQUIRE_MESSAGE(ran.ok(), ran.status().ToString());
      if (!ran->has_value()) std::this_thread::sleep_for(milliseconds(20));
    }
  }

  std::atomic<bool> stop{false};
};

BOOST_FIXTURE_TEST_SUITE(KindJobs, KindFixture)

BOOST_AUTO_TEST_CASE(a_good_runners_output_is_the_result) {
  Worker worker(*store, log, KindOptions({Kind("good")}), &stop);
  BOOST_REQUIRE(worker.Start().ok());
  const Job job = SubmitKind("good", R"({"text": "hello"})");
  BOOST_TEST(job.kind == "good");
  RunUntilDone(worker, {job.id});
  const Job done = Get(job.id);
  BOOST_TEST(done.state == JobState::kSucceeded);
  BOOST_TEST(done.render_seconds.has_value());
  BOOST_TEST(!done.samples_per_second.has_value());
  auto result = store->ReadArtifact(job.id, ArtifactKind::kResult);
  BOOST_REQUIRE(result.ok());
  BOOST_TEST(ReadBytes(results / result->file).size() > 0u);
  auto queue = store->Queue();
  BOOST_REQUIRE(queue.ok());
  BOOST_TEST(queue->workers.at(0).kinds == (std::vector<std::string>{"good", "scene"}));
}

// Each runner breaks the protocol one way; the job ends as SPEC says and the
// scene job behind it still renders.
BOOST_AUTO_TEST_CASE(hostile_runners_end_their_jobs_and_nothing_else) {
  struct Case {
    std::string mode;
    JobState state;
    std::string code;  // the final error code ("" when not failed)
  };
  const Case cases[] = {
      {"leaves_dir", JobState::kFailed, "runner_file"},
      {"absolute_path", JobState::kFailed, "runner_file"},
      {"symlink", JobState::kFailed, "runner_file"},
      {"fifo", JobState::kFailed, "runner_file"},
      {"device", JobState::kFailed, "runner_file"},
      {"output_too_large", JobState::kFailed, "runner_file"},
      {"checkpoint_too_large", JobState::kFailed, "runner_file"},
      {"bad_preview", JobState::kFailed, "runner_file"},
      {"never_ends", JobState::kFailed, "timeout"},
      {"fails", JobState::kFailed, "bad_prompt"},
      // Lost attempts: three without progress and the job fails with the
      // code that names what happened (worker_lost's rule).
      {"line_too_long", JobState::kFailed, "runner_protocol"},
      {"invalid_utf8", JobState::kFailed, "runner_protocol"},
      {"invalid_json", JobState::kFailed, "runner_protocol"},
      {"unknown_message", JobState::kFailed, "runner_protocol"},
      {"never_reads_stdin", JobState::kFailed, "runner_protocol"},
      {"flood", JobState::kFailed, "runner_flood"},
      {"exits_mid_job", JobState::kFailed, "runner_exited"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.mode) {
      WorkerOptions options = KindOptions({Kind(c.mode)});
      if (c.mode == "never_reads_stdin") options.runners.limits.write_timeout = milliseconds(500);
      Worker worker(*store, log, options, &stop);
      BOOST_REQUIRE(worker.Start().ok());
      std::string input = "{}";
      if (c.mode == "never_reads_stdin") {
        input = nlohmann::json{{"blob", std::string(1 << 20, 'x')}}.dump();
      }
      const Job job = SubmitKind(Kind(c.mode).name, input);
      const Job scene = Submit(SceneJson(8, 8, 1));
      RunUntilDone(worker, {job.id, scene.id});
      const Job done = Get(job.id);
      BOOST_TEST(done.state == c.state);
      BOOST_TEST(done.error_code.value_or("") == c.code);
      BOOST_TEST(Get(scene.id).state == JobState::kSucceeded);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_cold_runner_that_never_starts_fails_its_job_by_name) {
  KindSpec kind = Kind("never_ready", /*warm=*/false);
  kind.start_seconds = 0.5;
  Worker worker(*store, log, KindOptions({kind}), &stop);
  BOOST_REQUIRE(worker.Start().ok());
  const Job job = SubmitKind(kind.name);
  RunUntilDone(worker, {job.id});
  BOOST_TEST(Get(job.id).state == JobState::kFailed);
  BOOST_TEST(Get(job.id).error_code.value_or("") == "runner_start_failed");
}

BOOST_AUTO_TEST_CASE(a_warm_runner_that_never_starts_holds_no_job_back) {
  KindSpec kind = Kind("never_ready");
  kind.start_seconds = 0.5;
  Worker worker(*store, log, KindOptions({kind}), &stop);
  BOOST_REQUIRE(worker.Start().ok());
  const Job job = SubmitKind(kind.name);
  const Job scene = Submit(SceneJson(8, 8, 1));
  RunUntilDone(worker, {scene.id});
  // Its job was handed back each time without spending an attempt.
  const Job waiting = Get(job.id);
  BOOST_TEST(waiting.state == JobState::kQueued);
  BOOST_TEST(waiting.attempts == 0);
}

BOOST_AUTO_TEST_CASE(retry_and_device_lost_go_back_in_line) {
  Worker worker(*store, log, KindOptions({Kind("retry"), Kind("device_lost")}), &stop);
  BOOST_REQUIRE(worker.Start().ok());
  const Job retry = SubmitKind("retry");
  auto ran = worker.RunOnce();
  BOOST_REQUIRE(ran.ok() && ran->has_value());
  BOOST_TEST(Get(retry.id).state == JobState::kQueued);
  BOOST_TEST(Get(retry.id).attempts == 1);
  BOOST_REQUIRE(store->Cancel(owner_id, retry.id).ok());
  const Job lost = SubmitKind("device-lost");
  ran = worker.RunOnce();
  BOOST_REQUIRE(ran.ok() && ran->has_value());
  BOOST_TEST((*ran)->outcome == JobOutcome::kDeviceFault);
  BOOST_TEST(Get(lost.id).state == JobState::kQueued);
  BOOST_TEST(Get(lost.id).attempts == 0);
}

BOOST_AUTO_TEST_CASE(cancel_within_a_second_even_of_a_runner_that_ignores_it) {
  Worker worker(*store, log, KindOptions({Kind("ignores_cancel")}), &stop);
  BOOST_REQUIRE(worker.Start().ok());
  const Job job = SubmitKind("ignores-cancel");
  std::thread cancel([&] {
    BOOST_REQUIRE(WaitUntil([&] { return Get(job.id).progress > 0; }, milliseconds(20000)));
    BOOST_REQUIRE(store->Cancel(owner_id, job.id).ok());
  });
  auto ran = worker.RunOnce();
  cancel.join();
  BOOST_REQUIRE(ran.ok() && ran->has_value());
  BOOST_TEST((*ran)->outcome == JobOutcome::kCanceled);
  BOOST_TEST(Get(job.id).state == JobState::kCanceled);
}

BOOST_AUTO_TEST_CASE(a_checkpoint_is_stored_and_an_attempt_that_saved_one_is_progress) {
  Worker worker(*store, log, KindOptions({Kind("checkpoint")}), &stop);
  BOOST_REQUIRE(worker.Start().ok());
  const Job job = SubmitKind("checkpoint");
  RunUntilDone(worker, {job.id});
  BOOST_TEST(Get(job.id).state == JobState::kSucceeded);
  auto result = store->ReadArtifact(job.id, ArtifactKind::kResult);
  BOOST_REQUIRE(result.ok());
  const std::vector<std::uint8_t> bytes = ReadBytes(results / result->file);
  BOOST_TEST(std::string(bytes.begin(), bytes.end()) == R"({"checkpoint_saved": "state"})");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq::testing
