// `renderqctl kinds` and `renderqctl kinds check`, the real binary on real kind
// files (the checkout's kinds.d/ and broken ones written here) and, for the
// measured mean runtime, a real database whose jobs ran through the real store.
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/store/open_job_store.h"
#include "ctl/cli.h"
#include "tests/ctl/ctl_runner.h"

namespace renderq {
namespace {

using nlohmann::json;
using testing::CtlRun;
using testing::RunCtl;
using testing::TempDir;

const std::string kShippedKinds = std::string(RENDERQ_SOURCE_DIR) + "/kinds.d";
const std::string kShippedRunners = std::string(RENDERQ_SOURCE_DIR) + "/runners";

// A kind file that passes every check: its program is python3 itself.
json GoodKind() {
  return json{{"description", "a kind for the tests"},
              {"command", {"/usr/bin/python3", "-c", "pass"}},
              {"input_schema", {{"type", "object"}}},
              {"estimate_seconds", 7}};
}

struct KindsFixture {
  TempDir dir;
  std::string db = (dir.path() / "queue.db").string();
  std::string results = (dir.path() / "results").string();
  std::filesystem::path kinds = dir.path() / "kinds.d";

  KindsFixture() {
    std::filesystem::create_directories(kinds);
    std::filesystem::create_directories(results);
  }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(kinds / name) << text;
  }
  CtlRun Check(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"kinds",        "check",         "--kinds-dir",
                                     kinds.string(), "--runners-dir", kShippedRunners};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCtl(args);
  }
  CtlRun List(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--db", db, "--results", results};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"kinds", "--kinds-dir", kinds.string()});
    return RunCtl(args);
  }
  // Runs `seconds.size()` jobs of `kind` to success through the store, each
  // reporting its runtime as the worker does.
  void RunJobs(const std::string& kind, const std::vector<double>& seconds) {
    StoreOptions options;
    options.results_dir = results;
    auto store = OpenJobStore(db, options);
    BOOST_TEST_REQUIRE(store.ok(), store.status().ToString());
    auto token = (*store)->CreateToken("kinds-" + kind + "-" + std::to_string(++owners_));
    BOOST_TEST_REQUIRE(token.ok());
    auto owner = (*store)->Authenticate(*token);
    BOOST_TEST_REQUIRE(owner.ok());
    const std::vector<std::uint8_t> output = {'o', 'k'};
    for (double s : seconds) {
      SubmitRequest r;
      r.owner_id = owner->id;
      r.spec.kind = kind;
      r.spec.input_json = "{}";
      r.spec.cost_units = 1;
      auto outcome = (*store)->Submit(r);
      BOOST_TEST_REQUIRE(outcome.ok(), outcome.status().ToString());
      auto claimed = (*store)->ClaimNext("w", {kind});
      BOOST_TEST_REQUIRE(claimed.ok(), claimed.status().ToString());
      BOOST_TEST_REQUIRE(claimed->has_value());
      FinishRequest finish;
      finish.device = "cpu";
      finish.render_seconds = s;
      finish.result_etag = "\"e\"";
      finish.png = output;
      const Status finished = (*store)->Finish((*claimed)->lease, finish);
      BOOST_TEST_REQUIRE(finished.ok(), finished.ToString());
    }
  }
  int owners_ = 0;
};

BOOST_AUTO_TEST_SUITE(ctl_kinds_check)

BOOST_AUTO_TEST_CASE(the_shipped_kinds_pass) {
  const CtlRun run =
      RunCtl({"kinds", "check", "--kinds-dir", kShippedKinds, "--runners-dir", kShippedRunners});
  BOOST_TEST(run.exit_code == kExitOk, run.err);
  BOOST_TEST(run.out.find("ok: 2 kinds in " + kShippedKinds + ": povray, python-example") !=
                 std::string::npos,
             run.out);
  const CtlRun as_json = RunCtl(
      {"--json", "kinds", "check", "--kinds-dir", kShippedKinds, "--runners-dir", kShippedRunners});
  BOOST_TEST_REQUIRE(as_json.exit_code == kExitOk, as_json.err);
  const json report = json::parse(as_json.out);
  BOOST_TEST(report["ok"].get<bool>());
  BOOST_TEST(report["kinds"] == json({"povray", "python-example"}));
  BOOST_TEST(report["problems"].empty());
}

BOOST_FIXTURE_TEST_CASE(every_bad_file_is_named_with_its_key_and_reason, KindsFixture) {
  Write("good.json", GoodKind().dump());
  json unknown_key = GoodKind();
  unknown_key["colour"] = "red";
  Write("unknown-key.json", unknown_key.dump());
  json no_command = GoodKind();
  no_command.erase("command");
  Write("no-command.json", no_command.dump());
  json bad_seconds = GoodKind();
  bad_seconds["max_seconds"] = "long";
  Write("bad-seconds.json", bad_seconds.dump());
  Write("Bad_Name.json", GoodKind().dump());
  Write("scene.json", GoodKind().dump());
  Write("not-json.json", "{\"command\": [");

  const CtlRun run = Check();
  BOOST_TEST(run.exit_code == kExitCheckFailed, run.out + run.err);
  const std::string prefix = kinds.string() + "/";
  for (const std::string& expected : {
           prefix + "unknown-key.json: colour: unknown key",
           prefix + "no-command.json: command: is required",
           prefix + "bad-seconds.json: max_seconds: must be a number of seconds",
           prefix + "Bad_Name.json: the name \"Bad_Name\" does not match",
           prefix + "scene.json: \"scene\" is the built-in kind's name",
           prefix + "not-json.json: not JSON",
       }) {
    BOOST_TEST(run.err.find(expected) != std::string::npos, expected + "\nin:\n" + run.err);
  }
  BOOST_TEST(run.err.find("good.json") == std::string::npos, run.err);
  BOOST_TEST(run.out.empty(), run.out);
  // The responder and the worker refuse to start on the same files; `kinds`
  // (which reads a database) says the same.
  const CtlRun listed = List();
  BOOST_TEST(listed.exit_code != kExitOk);
  BOOST_TEST(listed.err.find("unknown-key.json: colour: unknown key") != std::string::npos,
             listed.err);
}

BOOST_FIXTURE_TEST_CASE(a_program_missing_on_this_host_is_a_problem, KindsFixture) {
  json missing = GoodKind();
  missing["command"] = {"/nonexistent/bin/render"};
  Write("missing-program.json", missing.dump());
  json missing_script = GoodKind();
  missing_script["command"] = {"/usr/bin/python3", "{runners_dir}/no-such/runner.py"};
  Write("missing-script.json", missing_script.dump());

  const CtlRun run = Check();
  BOOST_TEST(run.exit_code == kExitCheckFailed, run.out + run.err);
  BOOST_TEST(run.err.find("missing-program.json: command: /nonexistent/bin/render is not an "
                          "executable file on this host") != std::string::npos,
             run.err);
  BOOST_TEST(run.err.find("missing-script.json: command: " + kShippedRunners +
                          "/no-such/runner.py does not exist") != std::string::npos,
             run.err);
  const CtlRun json_first = RunCtl({"--json", "kinds", "check", "--kinds-dir", kinds.string(),
                                    "--runners-dir", kShippedRunners});
  BOOST_TEST_REQUIRE(json_first.exit_code == kExitCheckFailed, json_first.err);
  const json report = json::parse(json_first.out);
  BOOST_TEST(!report["ok"].get<bool>());
  BOOST_TEST(report["problems"].size() == 2u, report.dump());
}

BOOST_AUTO_TEST_CASE(a_missing_directory_is_not_found) {
  const CtlRun run = RunCtl({"kinds", "check", "--kinds-dir", "/nonexistent/kinds.d"});
  BOOST_TEST(run.exit_code == kExitNotFound, run.err);
  BOOST_TEST(
      run.err.find("kinds directory /nonexistent/kinds.d does not exist") != std::string::npos,
      run.err);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(ctl_kinds, KindsFixture)

BOOST_AUTO_TEST_CASE(lists_each_kind_with_its_measured_mean_runtime) {
  Write("fast.json", GoodKind().dump());
  json slow = GoodKind();
  slow["estimate_seconds"] = 30;
  slow["warm"] = false;
  slow["output_media_type"] = "application/json";
  Write("slow.json", slow.dump());
  BOOST_TEST_REQUIRE(RunCtl({"--db", db, "--results", results, "init"}).exit_code == kExitOk);

  // Nothing measured yet: the estimate only.
  json listed = json::parse(List({"--json"}).out);
  BOOST_TEST_REQUIRE(listed["kinds"].size() == 2u, listed.dump());
  BOOST_TEST(listed["kinds"][0]["name"] == "fast");
  BOOST_TEST(listed["kinds"][0]["estimate_seconds"] == 7);
  BOOST_TEST(listed["kinds"][0]["mean_run_seconds"].is_null());
  BOOST_TEST(listed["kinds"][1]["name"] == "slow");
  BOOST_TEST(listed["kinds"][1]["warm"] == false);
  BOOST_TEST(listed["kinds"][1]["output_media_type"] == "application/json");

  // Two finished jobs are not yet a measurement (SPEC: at least 3).
  RunJobs("fast", {2.0, 4.0});
  listed = json::parse(List({"--json"}).out);
  BOOST_TEST(listed["kinds"][0]["mean_run_seconds"].is_null(), listed.dump());
  RunJobs("fast", {6.0});
  listed = json::parse(List({"--json"}).out);
  BOOST_TEST(listed["kinds"][0]["mean_run_seconds"].get<double>() == 4.0, listed.dump());
  BOOST_TEST(listed["kinds"][1]["mean_run_seconds"].is_null(), listed.dump());

  const CtlRun table = List();
  BOOST_TEST_REQUIRE(table.exit_code == kExitOk, table.err);
  BOOST_TEST(table.out.find("kinds in " + kinds.string()) != std::string::npos, table.out);
  BOOST_TEST(table.out.find("MEAN RUN") != std::string::npos, table.out);
  BOOST_TEST(table.out.find("4.0 s") != std::string::npos, table.out);
  BOOST_TEST(table.out.find("30.0 s") != std::string::npos, table.out);
}

BOOST_AUTO_TEST_CASE(an_empty_directory_lists_none) {
  BOOST_TEST_REQUIRE(RunCtl({"--db", db, "--results", results, "init"}).exit_code == kExitOk);
  const CtlRun run = List();
  BOOST_TEST(run.exit_code == kExitOk, run.err);
  BOOST_TEST(run.out.find("(none: every worker runs scene jobs only)") != std::string::npos,
             run.out);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq
