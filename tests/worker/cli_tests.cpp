// The renderq-worker command line: defaults, RENDERQ_DB, and bad usage.
#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>
#include <vector>

#include "tests/worker/worker_fixture.h"
#include "worker/cli.h"

namespace renderq {

BOOST_AUTO_TEST_SUITE(WorkerCommandLineParsing)

BOOST_AUTO_TEST_CASE(DefaultsAndDeviceNames) {
  auto cpu = ParseWorkerCommandLine({"--db", "q.db", "--results", "r"}, std::nullopt);
  BOOST_REQUIRE_MESSAGE(cpu.ok(), cpu.status().ToString());
  BOOST_CHECK(!cpu->worker.cuda_device.has_value());
  BOOST_CHECK_EQUAL(cpu->worker.name, "cpu");
  BOOST_CHECK_EQUAL(cpu->db_path, "q.db");
  BOOST_CHECK_EQUAL(cpu->results_dir, "r");
  BOOST_CHECK_EQUAL(cpu->worker.job.checkpoint_seconds, 5.0);
  BOOST_CHECK_EQUAL(cpu->lease_seconds, 15.0);
  // It stops rendering 12 s after its last renewal: before the 15 s lease can pass.
  BOOST_CHECK_EQUAL(cpu->worker.job.heartbeat.self_fence_after.count(), 12000);
  BOOST_CHECK(!cpu->test_accept_stale_finish);

  auto gpu = ParseWorkerCommandLine({"--device", "1", "--results", "r", "--name", "gpu1",
                                     "--checkpoint-seconds", "2.5", "--log-file", "w.log"},
                                    std::string("env.db"));
  BOOST_REQUIRE_MESSAGE(gpu.ok(), gpu.status().ToString());
  BOOST_CHECK(gpu->worker.cuda_device == std::optional<int>(1));
  BOOST_CHECK_EQUAL(gpu->worker.name, "gpu1");
  BOOST_CHECK_EQUAL(gpu->db_path, "env.db");  // RENDERQ_DB when --db is absent
  BOOST_CHECK_EQUAL(gpu->worker.job.checkpoint_seconds, 2.5);
  BOOST_CHECK_EQUAL(gpu->log_file, "w.log");
}

BOOST_AUTO_TEST_CASE(ThePlantedBugIsAHiddenOptionThatTurnsSelfFencingOff) {
  auto planted = ParseWorkerCommandLine(
      {"--db", "postgresql://h/db", "--lease-seconds", "2", "--test-accept-stale-finish"},
      std::nullopt);
  BOOST_REQUIRE_MESSAGE(planted.ok(), planted.status().ToString());
  BOOST_CHECK(planted->test_accept_stale_finish);
  BOOST_CHECK_EQUAL(planted->worker.job.heartbeat.self_fence_after.count(), 0);
  auto help = ParseWorkerCommandLine({"--help"}, std::nullopt);
  BOOST_REQUIRE(help.ok());
  BOOST_CHECK(help->help_text.find("stale") == std::string::npos);
  auto fenced = ParseWorkerCommandLine({"--db", "q.db", "--lease-seconds", "2"}, std::nullopt);
  BOOST_REQUIRE(fenced.ok());
  BOOST_CHECK_EQUAL(fenced->worker.job.heartbeat.self_fence_after.count(), 1500);
}

BOOST_AUTO_TEST_CASE(HelpNamesEveryOption) {
  auto help = ParseWorkerCommandLine({"--help"}, std::nullopt);
  BOOST_REQUIRE(help.ok());
  BOOST_CHECK(help->help);
  for (const char* option : {"--device", "--db", "--results", "--name", "--checkpoint-seconds",
                             "--log-file", "RENDERQ_DB", "SIGTERM", "SIGHUP", ".lock"}) {
    BOOST_TEST_CONTEXT(option) { BOOST_CHECK(help->help_text.find(option) != std::string::npos); }
  }
}

BOOST_AUTO_TEST_CASE(BadUsageIsRefused) {
  const std::vector<std::vector<std::string>> cases = {
      {"--results", "r"},  // no database
      {"--db", "q.db", "--results", "r", "--device", "gpu"},
      {"--db", "q.db", "--results", "r", "--device", "-1"},
      {"--db", "q.db", "--results", "r", "--checkpoint-seconds", "0"},
      {"--db", "q.db", "--results", "r", "--lease-seconds", "nan"},
      {"--db", "q.db", "--results", "r", "--cpu-threads", "-2"},
      {"--db", "q.db", "--results", "r", "--bogus"},
      {"--db", "q.db", "--results", "r", "stray"},
      {"--db", "q.db", "--results", "r", "--name", "../x"},
      {"--db", "q.db", "--results", "r", "--name", ".hidden"},
      {"--db", "q.db", "--results", "r", "--name", std::string(65, 'a')},
  };
  for (const auto& args : cases) {
    auto parsed = ParseWorkerCommandLine(args, std::nullopt);
    BOOST_TEST_CONTEXT(args.back()) {
      BOOST_REQUIRE(!parsed.ok());
      BOOST_CHECK_EQUAL(parsed.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renderq
