// renderqctl driven as a user drives it: the real binary on a real database
// file in a fresh temporary directory. Jobs are put in place through the real
// store (the same library the responder and the worker use).
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/store/open_job_store.h"
#include "ctl/cli.h"
#include "tests/ctl/ctl_runner.h"

namespace renderq {
namespace {

using nlohmann::json;
using testing::CtlRun;
using testing::ReadFile;
using testing::RunCtl;
using testing::TempDir;

// A database in a temp dir, and renderqctl pointed at it with --db.
struct CtlFixture {
  TempDir dir;
  std::string db = (dir.path() / "queue.db").string();
  std::string results = (dir.path() / "results").string();

  CtlRun Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--db", db, "--results", results});
    return RunCtl(args);
  }
  json CtlJson(std::vector<std::string> args) {
    args.insert(args.begin(), "--json");
    const CtlRun run = Ctl(args);
    BOOST_TEST_REQUIRE(run.exit_code == 0, run.err);
    return json::parse(run.out);
  }
  // The real store on the same file, opened only while needed.
  std::unique_ptr<JobStore> Store() {
    StoreOptions options;
    options.results_dir = results;
    auto store = OpenJobStore(db, options);
    BOOST_TEST_REQUIRE(store.ok(), store.status().ToString());
    return std::move(*store);
  }
  // Submits `n` (<= 100) jobs for a fresh owner; returns their ids in submit order.
  std::vector<std::string> Submit(int n) {
    auto store = Store();
    auto token = store->CreateToken("submitter-" + std::to_string(next_owner_++));
    BOOST_TEST_REQUIRE(token.ok());
    auto owner = store->Authenticate(*token);
    BOOST_TEST_REQUIRE(owner.ok());
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      SubmitRequest r;
      r.owner_id = owner->id;
      r.spec.input_json = R"({"seed":)" + std::to_string(i) + "}";
      r.spec.scene = SceneShape{64, 48, 4, 8};
      r.spec.cost_units = 64.0 * 48 * 4 * 8;
      auto outcome = store->Submit(r);
      BOOST_TEST_REQUIRE(outcome.ok(), outcome.status().ToString());
      BOOST_TEST_REQUIRE((outcome->kind == SubmitOutcome::Kind::kCreated));
      ids.push_back(outcome->job.id);
    }
    return ids;
  }
  int next_owner_ = 0;
};

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(ctl_usage)

struct UsageCase {
  std::vector<std::string> args;
  std::string message;  // part of the error on stderr
};

BOOST_AUTO_TEST_CASE(bad_command_lines_exit_2_with_a_reason) {
  const std::vector<UsageCase> cases = {
      {{"--db", "x.db"}, "no command given"},
      {{"--db", "x.db", "frobnicate"}, "unknown command 'frobnicate'"},
      {{"--db", "x.db", "show"}, "usage: renderqctl show ID"},
      {{"--db", "x.db", "show", "a", "b"}, "usage: renderqctl show ID"},
      {{"--db", "x.db", "token"}, "unknown command 'token'"},
      {{"--db", "x.db", "token", "create"}, "usage: renderqctl token create NAME"},
      {{"--db", "x.db", "token", "rotate"}, "usage: renderqctl token rotate NAME"},
      {{"--db", "x.db", "purge"}, "purge needs --older-than"},
      {{"--db", "x.db", "jobs", "--older-than", "7d"}, "--older-than belongs to 'purge'"},
      {{"--db", "x.db", "status", "--state", "queued"}, "--state belongs to 'jobs'"},
      {{"--db", "x.db", "jobs", "--limit", "0"}, "--limit must be in 1..10000"},
      {{"--db", "x.db", "jobs", "--limit", "many"}, "limit"},
      {{"--db", "x.db", "--bogus", "status"}, "bogus"},
      {{"status"}, "no database: give --db FILE or set RENDERQ_DB"},
  };
  for (const UsageCase& c : cases) {
    const CtlRun run = RunCtl(c.args);
    BOOST_TEST_CONTEXT(json(c.args).dump()) {
      BOOST_TEST(run.exit_code == kExitUsage);
      BOOST_TEST(run.err.find(c.message) != std::string::npos, run.err);
      BOOST_TEST(run.out.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(help_lists_every_command_and_the_exit_codes) {
  const CtlRun run = RunCtl({"--help"});
  BOOST_TEST(run.exit_code == 0);
  for (const char* word : {"init", "status", "jobs", "show ID", "cancel ID", "retry ID",
                           "purge --older-than", "backup FILE", "check", "token create NAME",
                           "token list", "token revoke NAME", "token rotate NAME", "Exit codes",
                           "3  not found", "5  check found problems", "RENDERQ_DB"}) {
    BOOST_TEST(run.out.find(word) != std::string::npos, word);
  }
}

BOOST_FIXTURE_TEST_CASE(database_comes_from_env_when_no_flag, CtlFixture) {
  const CtlRun run = RunCtl({"init"}, {"RENDERQ_DB=" + db});
  BOOST_TEST(run.exit_code == 0, run.err);
  BOOST_TEST(std::filesystem::exists(db));
}

BOOST_AUTO_TEST_CASE(unopenable_database_is_exit_1) {
  const CtlRun run = RunCtl({"--db", "/nonexistent-dir/queue.db", "status"});
  BOOST_TEST(run.exit_code == kExitError);
  BOOST_TEST(run.err.find("renderqctl: /nonexistent-dir/queue.db") != std::string::npos, run.err);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_FIXTURE_TEST_SUITE(ctl_init, CtlFixture)

BOOST_AUTO_TEST_CASE(creates_the_database_and_is_idempotent) {
  for (int i = 0; i < 2; ++i) {
    const CtlRun run = Ctl({"init"});
    BOOST_TEST(run.exit_code == 0, run.err);
    BOOST_TEST(run.out.find("database ready") != std::string::npos);
  }
  BOOST_TEST(std::filesystem::exists(db));
  BOOST_TEST(CtlJson({"status"})["queued"] == 0);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_FIXTURE_TEST_SUITE(ctl_tokens, CtlFixture)

BOOST_AUTO_TEST_CASE(create_prints_the_token_once_and_stores_only_a_hash) {
  const CtlRun run = Ctl({"token", "create", "alice"});
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.err);
  const std::string token = run.out.substr(0, run.out.find('\n'));
  BOOST_TEST(token.size() >= 32u);
  BOOST_TEST(run.out == token + "\n");  // nothing else on stdout
  BOOST_TEST(Store()->Authenticate(token).ok());
  const std::string files = ReadFile(db) + ReadFile(db + "-wal");
  BOOST_TEST(files.find(token) == std::string::npos);  // never stored in the clear
  const CtlRun list = Ctl({"token", "list"});
  BOOST_TEST(list.out.find("alice") != std::string::npos);
  BOOST_TEST(list.out.find(token) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(json_create_and_list) {
  const json created = CtlJson({"token", "create", "bob"});
  BOOST_TEST(created["name"] == "bob");
  BOOST_TEST(created["token"].get<std::string>().size() >= 32u);
  const json list = CtlJson({"token", "list"});
  BOOST_TEST_REQUIRE(list["tokens"].size() == 1u);
  BOOST_TEST(list["tokens"][0]["name"] == "bob");
  BOOST_TEST(list["tokens"][0]["revoked_at"].is_null());
}

BOOST_AUTO_TEST_CASE(revoke_makes_the_token_useless) {
  const std::string token = CtlJson({"token", "create", "carol"})["token"];
  BOOST_TEST(Ctl({"token", "revoke", "carol"}).exit_code == 0);
  BOOST_TEST(!Store()->Authenticate(token).ok());
  BOOST_TEST(!CtlJson({"token", "list"})["tokens"][0]["revoked_at"].is_null());
}

BOOST_AUTO_TEST_CASE(revoking_an_unknown_name_is_exit_3) {
  const CtlRun run = Ctl({"token", "revoke", "nobody"});
  BOOST_TEST(run.exit_code == kExitNotFound);
  BOOST_TEST(run.err.find("token revoke nobody") != std::string::npos, run.err);
}

BOOST_AUTO_TEST_CASE(a_taken_name_is_refused) {
  BOOST_TEST(Ctl({"token", "create", "dave"}).exit_code == 0);
  const CtlRun again = Ctl({"token", "create", "dave"});
  BOOST_TEST(again.exit_code != 0);
  BOOST_TEST(again.out.empty());
}

BOOST_AUTO_TEST_CASE(rotate_replaces_the_token_for_the_same_owner) {
  const std::string old_token = CtlJson({"token", "create", "erin"})["token"];
  auto owner = Store()->Authenticate(old_token);
  BOOST_TEST_REQUIRE(owner.ok());
  const CtlRun run = Ctl({"token", "rotate", "erin"});
  BOOST_TEST_REQUIRE(run.exit_code == 0, run.err);
  const std::string new_token = run.out.substr(0, run.out.find('\n'));
  BOOST_TEST(run.out == new_token + "\n");  // the token alone on stdout
  BOOST_TEST(new_token != old_token);
  BOOST_TEST(!Store()->Authenticate(old_token).ok());
  auto rotated = Store()->Authenticate(new_token);
  BOOST_TEST_REQUIRE(rotated.ok());
  BOOST_TEST(rotated->id == owner->id);  // same owner: the jobs stay theirs
  const json again = CtlJson({"token", "rotate", "erin"});
  BOOST_TEST(again["name"] == "erin");
  BOOST_TEST(Store()->Authenticate(again["token"].get<std::string>()).ok());
  BOOST_TEST(!Store()->Authenticate(new_token).ok());
  const json list = CtlJson({"token", "list"});
  BOOST_TEST_REQUIRE(list["tokens"].size() == 3u);
  for (int i = 0; i < 3; ++i) BOOST_TEST(list["tokens"][i]["revoked_at"].is_null() == (i == 2));
}

BOOST_AUTO_TEST_CASE(rotate_needs_an_active_token) {
  BOOST_TEST(Ctl({"token", "create", "frank"}).exit_code == 0);
  BOOST_TEST(Ctl({"token", "revoke", "frank"}).exit_code == 0);
  for (const char* name : {"frank", "nobody"}) {
    const CtlRun run = Ctl({"token", "rotate", name});
    BOOST_TEST(run.exit_code == kExitNotFound, name);
    BOOST_TEST(run.out.empty());
    BOOST_TEST(run.err.find(std::string("token rotate ") + name) != std::string::npos, run.err);
  }
  BOOST_TEST(CtlJson({"token", "list"})["tokens"].size() == 1u);  // nothing was created
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_FIXTURE_TEST_SUITE(ctl_jobs, CtlFixture)

BOOST_AUTO_TEST_CASE(jobs_lists_every_owner_newest_first) {
  const auto first = Submit(3);
  const auto second = Submit(2);
  const json list = CtlJson({"jobs"});
  const std::vector<std::string> expected = {second[1], second[0], first[2], first[1], first[0]};
  std::vector<std::string> got;
  for (const json& j : list["jobs"]) got.push_back(j["id"]);
  BOOST_TEST(got == expected, boost::test_tools::per_element());
  const CtlRun text = Ctl({"jobs"});
  BOOST_TEST(text.out.find(first[0]) != std::string::npos);
  BOOST_TEST(text.out.find("queued") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(limit_pages_through_the_store) {
  Submit(65);  // more than one page of 100, from two owners (100 queued each at most)
  Submit(65);
  BOOST_TEST(CtlJson({"jobs", "--limit", "2"})["jobs"].size() == 2u);
  BOOST_TEST(CtlJson({"jobs", "--limit", "125"})["jobs"].size() == 125u);
  BOOST_TEST(CtlJson({"jobs", "--limit", "1000"})["jobs"].size() == 130u);
}

BOOST_AUTO_TEST_CASE(state_filter) {
  const auto ids = Submit(3);
  BOOST_TEST(Ctl({"cancel", ids[1]}).exit_code == 0);
  const json canceled = CtlJson({"jobs", "--state", "canceled"});
  BOOST_TEST_REQUIRE(canceled["jobs"].size() == 1u);
  BOOST_TEST(canceled["jobs"][0]["id"] == ids[1]);
  BOOST_TEST(CtlJson({"jobs", "--state", "queued"})["jobs"].size() == 2u);
  BOOST_TEST(Ctl({"jobs", "--state", "lost"}).exit_code == kExitUsage);
}

BOOST_AUTO_TEST_CASE(show_one_job) {
  const auto ids = Submit(2);
  const json job = CtlJson({"show", ids[1]});
  BOOST_TEST(job["id"] == ids[1]);
  BOOST_TEST(job["state"] == "queued");
  BOOST_TEST(job["position"] == 2);
  const CtlRun text = Ctl({"show", ids[1]});
  BOOST_TEST(text.out.find("state") != std::string::npos);
  BOOST_TEST(Ctl({"show", "00000000-0000-4000-8000-000000000000"}).exit_code == kExitNotFound);
}

BOOST_AUTO_TEST_CASE(cancel_then_cancel_again_is_a_conflict) {
  const auto ids = Submit(1);
  const CtlRun first = Ctl({"cancel", ids[0]});
  BOOST_TEST(first.exit_code == 0, first.err);
  BOOST_TEST(first.out.find("canceled") != std::string::npos);
  const CtlRun second = Ctl({"cancel", ids[0]});
  BOOST_TEST(second.exit_code == kExitConflict);
  BOOST_TEST(second.err.find("already canceled") != std::string::npos, second.err);
  BOOST_TEST(Ctl({"cancel", "00000000-0000-4000-8000-000000000000"}).exit_code == kExitNotFound);
}

BOOST_AUTO_TEST_CASE(cancel_of_a_running_job_asks_the_worker) {
  const auto ids = Submit(1);
  auto store = Store();
  auto claimed = store->ClaimNext("test-worker");
  BOOST_TEST_REQUIRE((claimed.ok() && claimed->has_value()));
  const json job = CtlJson({"cancel", ids[0]});
  BOOST_TEST(job["state"] == "running");
  BOOST_TEST(job["cancel_requested"] == true);
}

BOOST_AUTO_TEST_CASE(retry_requeues_a_canceled_job_only) {
  const auto ids = Submit(1);
  BOOST_TEST(Ctl({"retry", ids[0]}).exit_code == kExitConflict);  // still queued
  BOOST_TEST(Ctl({"cancel", ids[0]}).exit_code == 0);
  const json job = CtlJson({"retry", ids[0]});
  BOOST_TEST(job["state"] == "queued");
  BOOST_TEST(Ctl({"retry", "00000000-0000-4000-8000-000000000000"}).exit_code == kExitNotFound);
}

BOOST_AUTO_TEST_CASE(status_counts_the_queue) {
  Submit(4);
  const json status = CtlJson({"status"});
  BOOST_TEST(status["queued"] == 4);
  BOOST_TEST(status["running"].size() == 0u);
  BOOST_TEST(status["estimated_wait_seconds"].get<double>() > 0.0);
  BOOST_TEST(Ctl({"status"}).out.find("queued:          4") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_FIXTURE_TEST_SUITE(ctl_maintenance, CtlFixture)

void Touch(const std::string& path) { std::ofstream(path) << "png"; }

BOOST_AUTO_TEST_CASE(purge_deletes_old_finished_jobs_and_their_images) {
  const auto ids = Submit(3);
  BOOST_TEST(Ctl({"cancel", ids[0]}).exit_code == 0);
  BOOST_TEST(Ctl({"cancel", ids[1]}).exit_code == 0);
  std::filesystem::create_directories(results);
  Touch(results + "/" + ids[0] + ".png");
  Touch(results + "/" + ids[1] + ".preview.png");
  Touch(results + "/" + ids[1] + ".ckpt");
  BOOST_TEST(CtlJson({"purge", "--older-than", "7d"})["jobs"] == 0);  // too recent
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const json purged = CtlJson({"purge", "--older-than", "5ms"});
  BOOST_TEST(purged["jobs"] == 2);
  BOOST_TEST(purged["files"] == 3);
  BOOST_TEST(!std::filesystem::exists(results + "/" + ids[0] + ".png"));
  BOOST_TEST(!std::filesystem::exists(results + "/" + ids[1] + ".preview.png"));
  BOOST_TEST(!std::filesystem::exists(results + "/" + ids[1] + ".ckpt"));
  BOOST_TEST(Ctl({"show", ids[0]}).exit_code == kExitNotFound);
  BOOST_TEST(Ctl({"show", ids[2]}).exit_code == 0);  // queued jobs stay
  BOOST_TEST(Ctl({"purge", "--older-than", "seven days"}).exit_code == kExitUsage);
}

BOOST_AUTO_TEST_CASE(backup_is_a_consistent_copy) {
  const auto ids = Submit(5);
  const std::string copy = (dir.path() / "copy.db").string();
  BOOST_TEST(Ctl({"backup", copy}).exit_code == 0);
  const CtlRun jobs = RunCtl({"--db", copy, "--json", "jobs"});
  BOOST_TEST(json::parse(jobs.out)["jobs"].size() == 5u);
  BOOST_TEST(Ctl({"backup", copy}).exit_code == kExitConflict);  // never overwrites
}

BOOST_AUTO_TEST_CASE(check_finds_orphan_and_missing_result_files) {
  const auto ids = Submit(2);
  BOOST_TEST(Ctl({"check"}).exit_code == 0);
  std::filesystem::create_directories(results);
  {  // ids[0] succeeds, then its file is lost
    auto store = Store();
    auto claimed = store->ClaimNext("test-worker");
    BOOST_TEST_REQUIRE((claimed.ok() && claimed->has_value()));
    FinishRequest finish;
    finish.device = "cpu";
    finish.result_etag = "\"x\"";
    const std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G'};
    finish.png = png;
    BOOST_TEST_REQUIRE(store->Finish((*claimed)->lease, finish).ok());
  }
  BOOST_TEST_REQUIRE(std::filesystem::remove(results + "/" + ids[0] + ".png"));
  const std::string orphan = results + "/" + ids[1] + ".png";
  Touch(orphan);
  Touch(results + "/" + ids[1] + ".png.tmp");      // a worker's temporary: not an orphan
  Touch(results + "/" + ids[1] + ".preview.png");  // a preview: not an orphan either
  const CtlRun run = Ctl({"--json", "check"});
  BOOST_TEST(run.exit_code == kExitCheckFailed);
  const json report = json::parse(run.out);
  BOOST_TEST(report["integrity"].size() == 0u);
  BOOST_TEST(report["missing_results"] == json::array({ids[0]}));
  BOOST_TEST(report["orphan_files"] == json::array({orphan}));
  Touch(results + "/" + ids[0] + ".png");
  std::filesystem::remove(orphan);
  BOOST_TEST(Ctl({"check"}).exit_code == 0);
}

BOOST_AUTO_TEST_CASE(check_ignores_a_running_jobs_files_and_temporaries) {
  const auto ids = Submit(1);
  {
    auto store = Store();
    auto claimed = store->ClaimNext("test-worker");
    BOOST_TEST_REQUIRE((claimed.ok() && claimed->has_value()));
  }
  std::filesystem::create_directories(results);
  // What a worker leaves beside a running job (worker/job_files.h, worker/atomic_file.h).
  const std::string& id = ids[0];
  for (const std::string& name :
       {id + ".preview.png", id + ".ckpt", "." + id + ".png.tmp-123-0",
        "." + id + ".preview.png.tmp-123-1", "." + id + ".ckpt.tmp-9-2"}) {
    Touch(results + "/" + name);
  }
  const CtlRun run = Ctl({"--json", "check"});
  BOOST_TEST(run.exit_code == 0, run.out);
  const json report = json::parse(run.out);
  BOOST_TEST(report["orphan_files"] == json::array());
  BOOST_TEST(report["missing_results"] == json::array());
}

BOOST_AUTO_TEST_CASE(every_command_speaks_json) {
  const auto ids = Submit(3);
  BOOST_TEST(Ctl({"cancel", ids[2]}).exit_code == 0);
  const std::string copy = (dir.path() / "copy.db").string();
  const std::vector<std::vector<std::string>> commands = {
      {"init"},
      {"status"},
      {"jobs"},
      {"show", ids[0]},
      {"cancel", ids[1]},
      {"retry", ids[2]},
      {"purge", "--older-than", "7d"},
      {"backup", copy},
      {"check"},
      {"token", "create", "gina"},
      {"token", "list"},
      {"token", "rotate", "gina"},
      {"token", "revoke", "gina"},
  };
  for (const auto& command : commands) {
    BOOST_TEST_CONTEXT(json(command).dump()) {
      std::vector<std::string> args = command;
      args.insert(args.begin(), "--json");
      const CtlRun run = Ctl(args);
      BOOST_TEST(run.exit_code == 0, run.err);
      BOOST_TEST(json::accept(run.out), run.out);
      BOOST_TEST(run.out.find('\n') == run.out.size() - 1);  // one document, one line
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace renderq
