// Power cuts: the real SQLite store (its group-commit writer taking
// concurrent submits and cancels, and two workers' claim, heartbeat,
// checkpoint, finish and fail writes on pooled connections) runs on
// PowerCutVfs (tests/core/store/powercut_vfs.h) until the power is cut at a
// random write, truncate, sync or delete; then every unsynced write is
// dropped, torn or reordered, the store is reopened and checked:
//   - every acknowledged submit (Submit returned created) is there,
//   - every acknowledged finish, fail and cancel left its state, every
//     acknowledged claim and checkpoint its mark (heartbeats are commits that
//     do not wait for the disk, by design: one lost only ages a lease, and the
//     next durable commit makes it durable too; they are not promised here),
//   - PRAGMA integrity_check and foreign_key_check find nothing,
//   - no row breaks a CHECK of the schema (each table's rows are copied into
//     a temporary table made from the table's own CREATE statement).
// Then the next round runs on the same database, so a cut also lands in a
// recovery and in a half-done checkpoint left by the cut before.
//
// The control run forces synchronous=NORMAL on every connection (an
// authorizer makes SQLite skip the store's own synchronous=FULL): the same
// checks must then report lost acknowledged submits, which proves the test
// can see a loss. SQLite's WAL with NORMAL does not sync at commit, so an
// acknowledged commit is lost when the power goes before the next checkpoint.
//
// Cost: RENDERQ_POWERCUT_CUTS (default 1200; 300 in a sanitizer build) cuts
// across the three kinds, and 60 more in the control.
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>
#include <strings.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/store/open_job_store.h"
#include "core/sqlite/sqlite_maintenance.h"
#include "core/store/token.h"
#include "tests/core/store/powercut_vfs.h"

namespace renderq::testing {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr int kDefaultCuts = 300;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr int kDefaultCuts = 300;
#else
constexpr int kDefaultCuts = 1200;
#endif
#else
constexpr int kDefaultCuts = 1200;
#endif
constexpr int kControlCuts = 60;
constexpr int kRoundsPerDatabase = 20;  // then a fresh file, so each stays small
constexpr std::int64_t kMaxOpsBeforeCut = 400;

int CutsToRun() {
  const char* env = std::getenv("RENDERQ_POWERCUT_CUTS");
  return env != nullptr && std::atoi(env) > 0 ? std::atoi(env) : kDefaultCuts;
}

// ---- connection set-up applied to every connection SQLite opens --------------

std::atomic<bool> g_force_normal{false};

int IgnoreSynchronousPragma(void*, int action, const char* name, const char*, const char*,
                            const char*) {
  if (action == SQLITE_PRAGMA && name != nullptr && strcasecmp(name, "synchronous") == 0) {
    return SQLITE_IGNORE;  // the pragma is skipped, silently
  }
  return SQLITE_OK;
}

// An auto-extension runs on each new connection before its opener sees it.
// Checkpoints come 16 times as often as by default, so cuts land in them;
// the control run also pins synchronous=NORMAL.
int SetUpConnection(sqlite3* db, char**, const sqlite3_api_routines*) {
  sqlite3_exec(db, "PRAGMA wal_autocheckpoint = 64", nullptr, nullptr, nullptr);
  if (g_force_normal) {
    sqlite3_exec(db, "PRAGMA synchronous = NORMAL", nullptr, nullptr, nullptr);
    sqlite3_set_authorizer(db, &IgnoreSynchronousPragma, nullptr);
  }
  return SQLITE_OK;
}

// ---- what the callers were told --------------------------------------------

struct Acknowledged {
  std::mutex mu;
  std::vector<std::string> submitted;              // Submit answered kCreated
  std::map<std::string, JobState> terminal;        // Finish, Fail, MarkCanceled, Cancel
  std::set<std::string> claimed;                   // ClaimNext handed it out
  std::map<std::string, std::int64_t> checkpoint;  // SaveCheckpoint accepted these samples

  // A restarted worker requeues its predecessor's jobs: from then on claims
  // and checkpoints of running jobs are no longer promised.
  void ForgetRunning() {
    std::lock_guard lock(mu);
    claimed.clear();
    checkpoint.clear();
  }
};

struct Totals {
  int cuts = 0;
  std::map<CutKind, int> by_kind;
  std::int64_t acked_submits = 0;        // summed over every check
  std::int64_t acked_worker_writes = 0;  // claims, heartbeats, checkpoints, finishes, fails
  std::int64_t lost_submits = 0;
  std::int64_t lost_other = 0;
  std::int64_t integrity_failures = 0;
  std::int64_t forbidden_rows = 0;
  std::int64_t unsynced_writes = 0, landed = 0, torn = 0;
  int cut_by_deadline = 0;            // rounds whose countdown never ran out
  double slowest_round_s = 0;         // wall time of the slowest round
  std::vector<std::string> examples;  // the first few problems, for the log

  void Problem(const std::string& what) {
    if (examples.size() < 5) examples.push_back(what);
  }
  std::string Summary() const {
    std::ostringstream out;
    out << cuts << " cuts (";
    for (const auto& [kind, n] : by_kind) out << CutKindName(kind) << " " << n << ", ";
    out << "unsynced writes " << unsynced_writes << ": landed " << landed << ", torn " << torn
        << "); acknowledged submits checked " << acked_submits << ", worker writes "
        << acked_worker_writes << "; lost submits " << lost_submits << ", lost other writes "
        << lost_other << ", integrity failures " << integrity_failures << ", forbidden rows "
        << forbidden_rows << "; slowest round " << slowest_round_s << " s, " << cut_by_deadline
        << " cut by the deadline";
    return out.str();
  }
};

// A plain connection for the checks (it gets SetUpConnection too, harmlessly).
class CheckDb {
 public:
  explicit CheckDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      BOOST_FAIL("open " << path << ": " << sqlite3_errmsg(db_));
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  ~CheckDb() { sqlite3_close(db_); }
  CheckDb(const CheckDb&) = delete;
  CheckDb& operator=(const CheckDb&) = delete;

  // Rows of a query, each column as text ("" for NULL).
  std::vector<std::vector<std::string>> Rows(const std::string& sql, std::string* error = nullptr) {
    std::vector<std::vector<std::string>> rows;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      if (error != nullptr) *error = sqlite3_errmsg(db_);
      return rows;
    }
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const auto* text = sqlite3_column_text(stmt, i);
        row.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "");
      }
      rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE && error != nullptr) *error = sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    return rows;
  }

  // Rows of every table that its own CHECK, NOT NULL and type rules refuse:
  // each table's CREATE statement, renamed into the temp schema, takes a copy
  // of the rows with INSERT OR IGNORE, which leaves out exactly those.
  std::int64_t ForbiddenRows(std::vector<std::string>* detail) {
    std::int64_t forbidden = 0;
    for (const auto& table : Rows("SELECT name, sql FROM sqlite_schema WHERE type = 'table'"
                                  " AND name NOT LIKE 'sqlite_%'")) {
      const std::string& name = table[0];
      std::string create = table[1];
      const std::string head = "CREATE TABLE " + name;
      if (create.rfind(head, 0) != 0) continue;
      create.replace(0, head.size(), "CREATE TEMP TABLE check_" + name);
      std::string error;
      Rows("DROP TABLE IF EXISTS temp.check_" + name);
      Rows(create, &error);
      Rows("INSERT OR IGNORE INTO temp.check_" + name + " SELECT * FROM main." + name, &error);
      const auto kept = Rows("SELECT (SELECT count(*) FROM main." + name +
                             ") - (SELECT count(*) FROM temp.check_" + name + ")");
      Rows("DROP TABLE temp.check_" + name);
      if (!error.empty()) {
        detail->push_back(name + ": " + error);
        ++forbidden;
      } else if (!kept.empty() && kept[0][0] != "0") {
        detail->push_back(name + ": " + kept[0][0] + " rows break its CHECKs");
        forbidden += std::stoll(kept[0][0]);
      }
    }
    return forbidden;
  }

 private:
  sqlite3* db_ = nullptr;
};

class PowerCutRig {
 public:
  explicit PowerCutRig(std::uint64_t seed) : vfs_(PowerCutVfs::Install()), rng_(seed) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "renderq-powercut-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
  }
  ~PowerCutRig() {
    store_.reset();
    vfs_.Forget();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void Run(int cuts, Totals& totals) {
    for (int round = 0; round < cuts; ++round) {
      if (round % kRoundsPerDatabase == 0) FreshDatabase(round / kRoundsPerDatabase);
      const auto kind = static_cast<CutKind>(round % 3);
      Round(kind, totals);
    }
    store_.reset();
  }

 private:
  void Open() {
    StoreOptions options;
    options.results_dir = (dir_ / "results").string();
    options.busy_timeout_ms = 2000;
    options.rules.lease_timeout_ms = 3600 * 1000;  // no lease lapses during the test
    options.rules.limits.max_queued = 1 << 30;
    options.rules.limits.max_queued_per_owner = 1 << 30;
    options.rules.limits.max_drain_seconds = 1e12;
    std::filesystem::create_directories(options.results_dir);
    auto opened = OpenJobStore(db_path_, options);
    BOOST_REQUIRE_MESSAGE(opened.ok(), "reopen after a cut: " << opened.status().ToString());
    store_ = std::move(opened).value();
  }

  void FreshDatabase(int n) {
    store_.reset();
    vfs_.Forget();
    db_path_ = (dir_ / ("queue-" + std::to_string(n) + ".db")).string();
    ack_ = std::make_unique<Acknowledged>();
    Open();
    auto token = store_->CreateToken("powercut");
    BOOST_REQUIRE(token.ok());
    owner_ = store_->Authenticate(*token)->id;
    // A clean close checkpoints and syncs, so the owner is on disk even in
    // the control run (where the commit alone is not): each round's submits
    // need it.
    store_.reset();
    Open();
  }

  SubmitRequest Request(int thread, int n) const {
    SubmitRequest r;
    r.owner_id = owner_;
    r.spec.input_json = R"({"thread": )" + std::to_string(thread) + R"(, "n": )" + std::to_string(n) +
                   R"(, "pad": ")" + std::string(static_cast<std::size_t>(n % 7) * 150, 'x') +
                   R"("})";
    if (n % 3 == 0) r.idempotency_key = "t" + std::to_string(thread) + "-" + std::to_string(n);
    r.request_hash = Sha256Hex(r.spec.input_json);
    r.spec.scene = SceneShape{32, 32, 8, 4};
    r.spec.cost_units = 32.0 * 32 * 8 * 4;
    return r;
  }

  void Submitter(int thread) {
    for (int n = 0; !vfs_.cut(); ++n) {
      auto outcome = store_->Submit(Request(thread, n + thread * 1000000 + round_ * 10000));
      if (outcome.ok() && outcome->kind == SubmitOutcome::Kind::kCreated) {
        std::lock_guard lock(ack_->mu);
        ack_->submitted.push_back(outcome->job.id);
      }
    }
  }

  void Worker(const std::string& name) {
    ack_->ForgetRunning();
    (void)store_->RequeueWorkerJobs(name, true);  // as a restarted worker does (flock: dead)
    WorkerInfo info;
    info.name = name;
    info.device = "cpu";
    info.pid = ::getpid();
    (void)store_->RegisterWorker(info);
    for (int n = 0; !vfs_.cut(); ++n) {
      auto claimed = store_->ClaimNext(name);
      if (!claimed.ok() || !claimed->has_value()) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      const Lease lease = (*claimed)->lease;
      const std::string id = lease.job_id;
      auto note = [&](auto update) {
        std::lock_guard lock(ack_->mu);
        update();
      };
      note([&] { ack_->claimed.insert(id); });
      auto beat = store_->Heartbeat(lease, 0.25);
      if (!beat.ok()) continue;
      if (*beat) {  // a cancel was requested
        if (store_->MarkCanceled(lease).ok())
          note([&] { ack_->terminal[id] = JobState::kCanceled; });
        continue;
      }
      const std::string state = "state of " + id;
      if (!store_
               ->SaveCheckpoint(
                   lease,
                   std::span(reinterpret_cast<const std::uint8_t*>(state.data()), state.size()), 4)
               .ok()) {
        continue;
      }
      note([&] { ack_->checkpoint[id] = 4; });
      if (!store_->Heartbeat(lease, 0.75).ok()) continue;
      if (n % 5 == 4) {
        if (store_->Fail(lease, "render_failed", "a failure the test asked for").ok()) {
          note([&] { ack_->terminal[id] = JobState::kFailed; });
        }
      } else {
        FinishRequest finish;
        finish.device = "cpu";
        finish.render_seconds = 0.01;
        finish.samples_per_second = 1000;
        finish.result_etag = "\"etag-" + id.substr(0, 8) + "\"";
        static constexpr std::uint8_t kPng[] = {0x89, 'P', 'N', 'G'};
        finish.png = kPng;
        if (store_->Finish(lease, finish).ok()) {
          note([&] { ack_->terminal[id] = JobState::kSucceeded; });
        }
      }
    }
  }

  // Cancels now and then (queued jobs: canceled at once) and reads.
  void Canceller(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    while (!vfs_.cut()) {
      std::string id;
      {
        std::lock_guard lock(ack_->mu);
        if (!ack_->submitted.empty()) {
          id = ack_->submitted[rng() % ack_->submitted.size()];
        }
      }
      if (!id.empty() && rng() % 4 == 0) {
        auto outcome = store_->Cancel(owner_, id);
        if (outcome.ok() && outcome->kind == CancelOutcome::Kind::kCanceled) {
          std::lock_guard lock(ack_->mu);
          ack_->terminal[id] = JobState::kCanceled;
        }
      }
      ListRequest list;
      list.owner_id = owner_;
      list.limit = 10;
      (void)store_->List(list);
      (void)store_->Queue();
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
  }

  void Round(CutKind kind, Totals& totals) {
    ++round_;
    const auto began = std::chrono::steady_clock::now();
    vfs_.ArmCut(std::uniform_int_distribution<std::int64_t>(1, kMaxOpsBeforeCut)(rng_));
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) threads.emplace_back([this, t] { Submitter(t); });
    threads.emplace_back([this] { Worker("pc-a"); });
    threads.emplace_back([this] { Worker("pc-b"); });
    threads.emplace_back([this, seed = rng_()] { Canceller(seed); });
    // The cut comes from the countdown; a round that somehow stops writing is
    // cut after a while all the same.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!vfs_.cut() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    if (!vfs_.cut()) ++totals.cut_by_deadline;
    vfs_.CutNow();
    for (auto& t : threads) t.join();
    store_.reset();  // every connection closes, as when the machine dies

    const PowerCutVfs::RestoreReport report = vfs_.Restore(kind, rng_);
    ++totals.cuts;
    ++totals.by_kind[kind];
    totals.unsynced_writes += report.unsynced_writes;
    totals.landed += report.landed;
    totals.torn += report.torn;

    Open();
    Check(kind, totals);
    totals.slowest_round_s =
        std::max(totals.slowest_round_s,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  }

  void Check(CutKind kind, Totals& totals) {
    const std::string where =
        std::string("after cut ") + std::to_string(round_) + " (" + CutKindName(kind) + ")";
    auto problems = CheckSqliteIntegrity(db_path_);
    BOOST_REQUIRE_MESSAGE(problems.ok(), problems.status().ToString());
    if (!problems->empty()) {
      ++totals.integrity_failures;
      totals.Problem(where + ": integrity: " + problems->front());
    }
    CheckDb db(db_path_);
    std::vector<std::string> detail;
    const std::int64_t forbidden = db.ForbiddenRows(&detail);
    if (forbidden > 0) {
      totals.forbidden_rows += forbidden;
      totals.Problem(where + ": " + detail.front());
    }

    struct Row {
      JobState state;
      double progress;
      std::int64_t checkpoint_samples;
    };
    std::map<std::string, Row> jobs;
    for (const auto& r : db.Rows("SELECT id, state, progress, checkpoint_samples FROM jobs")) {
      jobs[r[0]] =
          Row{ParseJobState(r[1]).value_or(JobState::kQueued), std::stod(r[2]), std::stoll(r[3])};
    }
    std::lock_guard lock(ack_->mu);
    auto lost = [&](std::int64_t& counter, const std::string& what) {
      ++counter;
      totals.Problem(where + ": " + what);
    };
    totals.acked_submits += static_cast<std::int64_t>(ack_->submitted.size());
    for (const std::string& id : ack_->submitted) {
      if (!jobs.contains(id)) lost(totals.lost_submits, "acknowledged job " + id + " is missing");
    }
    totals.acked_worker_writes += static_cast<std::int64_t>(
        ack_->terminal.size() + ack_->claimed.size() + ack_->checkpoint.size());
    for (const auto& [id, state] : ack_->terminal) {
      auto it = jobs.find(id);
      if (it != jobs.end() && it->second.state != state) {
        lost(totals.lost_other, id + " acknowledged " + JobStateName(state) + ", found " +
                                    JobStateName(it->second.state));
      }
    }
    for (const std::string& id : ack_->claimed) {
      auto it = jobs.find(id);
      if (it != jobs.end() && it->second.state == JobState::kQueued) {
        lost(totals.lost_other, id + " acknowledged claimed, found queued");
      }
    }
    for (const auto& [id, samples] : ack_->checkpoint) {
      auto it = jobs.find(id);
      if (it != jobs.end() && it->second.state == JobState::kRunning &&
          it->second.checkpoint_samples < samples) {
        lost(totals.lost_other, id + " acknowledged checkpoint lost");
      }
    }
  }

  PowerCutVfs& vfs_;
  std::mt19937_64 rng_;
  std::filesystem::path dir_;
  std::string db_path_;
  std::unique_ptr<JobStore> store_;
  std::unique_ptr<Acknowledged> ack_;
  std::int64_t owner_ = 0;
  int round_ = 0;
};

struct PowerCutFixture {
  PowerCutFixture() {
    PowerCutVfs::Install();
    sqlite3_auto_extension(reinterpret_cast<void (*)()>(&SetUpConnection));
  }
  ~PowerCutFixture() {
    sqlite3_cancel_auto_extension(reinterpret_cast<void (*)()>(&SetUpConnection));
    g_force_normal = false;
  }
};

std::uint64_t Seed() {
  const char* env = std::getenv("RENDERQ_POWERCUT_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10)
                        : static_cast<std::uint64_t>(
                              std::chrono::steady_clock::now().time_since_epoch().count());
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(powercut, PowerCutFixture)

BOOST_AUTO_TEST_CASE(full_sync_keeps_every_acknowledged_write) {
  const std::uint64_t seed = Seed();
  Totals totals;
  PowerCutRig(seed).Run(CutsToRun(), totals);
  BOOST_TEST_MESSAGE("synchronous=FULL, seed " << seed << ": " << totals.Summary());
  for (const std::string& e : totals.examples) BOOST_TEST_MESSAGE("  " << e);
  BOOST_TEST(totals.cuts == CutsToRun());
  BOOST_TEST(totals.acked_submits > 0);
  BOOST_TEST(totals.lost_submits == 0);
  BOOST_TEST(totals.lost_other == 0);
  BOOST_TEST(totals.integrity_failures == 0);
  BOOST_TEST(totals.forbidden_rows == 0);
  for (const CutKind kind : {CutKind::kDropUnsynced, CutKind::kTorn, CutKind::kReordered}) {
    BOOST_TEST(totals.by_kind[kind] > 0, CutKindName(kind));
  }
  BOOST_TEST(totals.torn > 0);
}

// The same rig with the durability the store asks for taken away: it must see
// the acknowledged jobs that synchronous=NORMAL loses.
BOOST_AUTO_TEST_CASE(normal_sync_control_loses_acknowledged_jobs) {
  g_force_normal = true;
  const std::uint64_t seed = Seed();
  Totals totals;
  PowerCutRig(seed).Run(kControlCuts, totals);
  BOOST_TEST_MESSAGE("control, synchronous=NORMAL, seed " << seed << ": " << totals.Summary());
  for (const std::string& e : totals.examples) BOOST_TEST_MESSAGE("  " << e);
  BOOST_TEST(totals.lost_submits > 0);
  // NORMAL gives up durability, not consistency.
  BOOST_TEST(totals.integrity_failures == 0);
  BOOST_TEST(totals.forbidden_rows == 0);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renderq::testing
