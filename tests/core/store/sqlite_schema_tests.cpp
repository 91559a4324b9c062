// The schema: migrations, connection setup, and the CHECK constraints that keep
// a hand-written statement from storing an impossible state.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/sqlite/sqlite_db.h"
#include "core/sqlite/sqlite_maintenance.h"
#include "core/sqlite/sqlite_migrations.h"
#include "tests/core/store/store_fixture.h"

namespace renderq::testing {
namespace {

std::unique_ptr<SqliteDb> OpenRaw(const std::string& path) {
  auto db = SqliteDb::Open(path, SqliteOptions{});
  BOOST_REQUIRE_MESSAGE(db.ok(), db.status().ToString());
  return std::move(db).value();
}

std::string QueryText(SqliteDb& db, const char* sql) {
  auto statement = db.Prepare(sql);
  BOOST_REQUIRE_MESSAGE(statement.ok(), statement.status().ToString());
  auto row = statement->Step();
  BOOST_REQUIRE(row.ok() && *row);
  return statement->Text(0);
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(StoreSchema, StoreFixture)

BOOST_AUTO_TEST_CASE(MigratesAnEmptyFileAndReopeningIsANoOp) {
  {
    auto db = OpenRaw(database->uri());
    auto found = ApplySqliteMigrations(*db);
    BOOST_REQUIRE(found.ok());
    BOOST_TEST(*found == 0);
    BOOST_TEST(QueryText(*db, "PRAGMA user_version") == std::to_string(LatestSqliteSchemaVersion()));
    BOOST_TEST(
        QueryText(*db,
                  "SELECT count(*) FROM sqlite_schema WHERE name IN "
                  "('jobs','job_inputs','owners','tokens','idempotency_keys','workers','queue',"
                  "'job_counts','recent_failures')") == "9");
  }
  auto db = OpenRaw(database->uri());
  const std::string schema_before =
      QueryText(*db, "SELECT group_concat(sql, ';') FROM sqlite_schema");
  auto again = ApplySqliteMigrations(*db);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(*again == LatestSqliteSchemaVersion());
  BOOST_TEST(QueryText(*db, "SELECT group_concat(sql, ';') FROM sqlite_schema") == schema_before);
  // And the store opens it as it is.
  Open();
  BOOST_TEST(store->Ping().ok());
}

// A database made by schema version 1 (the scene in the jobs row, checkpoint
// paths) opens as it is and keeps every job, key and worker, in line.
BOOST_AUTO_TEST_CASE(UpgradesAVersionOneDatabaseKeepingEverything) {
  {
    auto db = OpenRaw(database->uri());
    auto tx = Transaction::Begin(*db);
    BOOST_REQUIRE(tx.ok());
    BOOST_REQUIRE(db->Exec(SqliteMigrations()[0].sql).ok());
    BOOST_REQUIRE(db->Exec("PRAGMA user_version = 1").ok());
    const std::string rows = R"(
      INSERT INTO owners (id, name, created_at) VALUES (1, 'alice', 0);
      INSERT INTO tokens (owner_id, token_hash, created_at) VALUES (1, ')" +
                             Sha256Hex("rq_old") + R"(', 0);
      INSERT INTO jobs (seq, id, owner_id, state, created_at, finished_at, scene, width, height,
                        samples, max_depth, cost_units, error_code, error_message, attempts)
        VALUES (3, '00000003-0000-4000-8000-000000000000', 1, 'failed', 10, 20, '{"old": 3}',
                8, 8, 4, 2, 512, 'worker_lost', 'lost', 3);
      INSERT INTO jobs (seq, id, owner_id, state, created_at, started_at, scene, width, height,
                        samples, max_depth, cost_units, lease_id, worker, heartbeat_at,
                        checkpoint_path, checkpoint_samples)
        VALUES (5, '00000005-0000-4000-8000-000000000000', 1, 'running', 30, 31, '{"old": 5}',
                8, 8, 4, 2, 512, 7, 'gpu0', 40, '/var/results/x.ckpt', 2);
      INSERT INTO jobs (seq, id, owner_id, created_at, scene, width, height, samples, max_depth,
                        cost_units)
        VALUES (6, '00000006-0000-4000-8000-000000000000', 1, 50, '{"old": 6}', 8, 8, 4, 2, 512);
      UPDATE sqlite_sequence SET seq = 9 WHERE name = 'jobs';
      INSERT INTO idempotency_keys VALUES (1, 'k', ')" +
                             Sha256Hex("{}") + R"(', '00000006-0000-4000-8000-000000000000', )" +
                             std::to_string(kStart - 1000) + R"();
      INSERT INTO workers (name, device, pid, started_at, heartbeat_at, current_job)
        VALUES ('gpu0', 'cpu', 1, 0, 40, '00000005-0000-4000-8000-000000000000');
      UPDATE lease_counter SET last_lease_id = 7;
    )";
    BOOST_REQUIRE(db->Exec(rows.c_str()).ok());
    BOOST_REQUIRE(tx->Commit().ok());
  }
  Open();  // at kStart: the running job's lease lapsed long ago, the key is a second old
  auto owner = store->Authenticate("rq_old");
  BOOST_REQUIRE(owner.ok());
  BOOST_TEST(Get("00000003-0000-4000-8000-000000000000").error_code.value() == "worker_lost");
  const Job queued = Get("00000006-0000-4000-8000-000000000000");
  BOOST_TEST(queued.position.value() == 1);
  // The idempotency key survived the rebuild of jobs (no cascade ran).
  auto replay = store->Submit(Request(owner->id, "k", "{}"));
  BOOST_REQUIRE(replay.ok());
  BOOST_TEST(static_cast<int>(replay->kind) == static_cast<int>(SubmitOutcome::Kind::kReplayed));
  BOOST_TEST(replay->job.id == queued.id);
  auto queue = store->Queue();
  BOOST_REQUIRE(queue.ok());
  BOOST_REQUIRE(queue->workers.size() == 1u);
  BOOST_TEST(queue->workers[0].current_job.value() == "00000005-0000-4000-8000-000000000000");
  // The lapsed job goes back to its place (before seq 6) with its scene and
  // its checkpoint count.
  ClaimedJob first = Claim();
  BOOST_TEST(first.job.id == "00000005-0000-4000-8000-000000000000");
  BOOST_TEST(first.input_json == "{\"old\": 5}");
  BOOST_TEST(first.checkpoint_samples == 2);
  BOOST_TEST(first.lease.lease_id == 8);
  BOOST_TEST(Claim().input_json == "{\"old\": 6}");
  // seq is never reused: the next job comes after the old sequence's 9.
  BOOST_TEST(Submit(owner->id).seq == 10);
  store.reset();
  auto db = OpenRaw(database->uri());
  BOOST_TEST(QueryText(*db, "PRAGMA user_version") == std::to_string(LatestSqliteSchemaVersion()));
  BOOST_TEST(QueryText(*db, "PRAGMA foreign_keys") == "1");
  BOOST_TEST(database->IntegrityProblems()->empty());
}

// A database made by schema version 2 (scene jobs only, their scenes in
// job_scenes) opens as version 3: every job is a scene job with its size, its
// scene is its input, and its place in line is kept.
BOOST_AUTO_TEST_CASE(UpgradesAVersionTwoDatabaseToJobKinds) {
  {
    auto db = OpenRaw(database->uri());
    BOOST_REQUIRE(db->Exec("PRAGMA foreign_keys = OFF").ok());
    auto tx = Transaction::Begin(*db);
    BOOST_REQUIRE(tx.ok());
    BOOST_REQUIRE(db->Exec(SqliteMigrations()[0].sql).ok());
    BOOST_REQUIRE(db->Exec(SqliteMigrations()[1].sql).ok());
    BOOST_REQUIRE(db->Exec("PRAGMA user_version = 2").ok());
    const std::string rows = R"(
      INSERT INTO owners (id, name, created_at) VALUES (1, 'alice', 0);
      INSERT INTO jobs (seq, id, owner_id, created_at, width, height, samples, max_depth,
                        cost_units)
        VALUES (4, '00000004-0000-4000-8000-000000000000', 1, 50, 8, 6, 4, 2, 384);
      INSERT INTO job_scenes (seq, scene) VALUES (4, '{"v2": 4}');
      INSERT INTO jobs (seq, id, owner_id, state, created_at, finished_at, width, height,
                        samples, max_depth, cost_units, error_code, error_message, attempts)
        VALUES (2, '00000002-0000-4000-8000-000000000000', 1, 'failed', 10, 20, 8, 8, 4, 2,
                512, 'worker_lost', 'lost', 3);
      INSERT INTO job_scenes (seq, scene) VALUES (2, '{"v2": 2}');
    )";
    BOOST_REQUIRE(db->Exec(rows.c_str()).ok());
    BOOST_REQUIRE(tx->Commit().ok());
  }
  Open();
  const Job queued = Get("00000004-0000-4000-8000-000000000000");
  BOOST_TEST(queued.kind == "scene");
  BOOST_REQUIRE(queued.scene.has_value());
  BOOST_TEST(queued.scene->width == 8);
  BOOST_TEST(queued.scene->height == 6);
  BOOST_TEST(queued.scene->samples == 4);
  BOOST_TEST(queued.scene->max_depth == 2);
  BOOST_TEST(queued.position.value() == 1);
  BOOST_TEST(Get("00000002-0000-4000-8000-000000000000").kind == "scene");
  const ClaimedJob claimed = Claim();
  BOOST_TEST(claimed.job.id == queued.id);
  BOOST_TEST(claimed.input_json == "{\"v2\": 4}");
  store.reset();
  auto db = OpenRaw(database->uri());
  BOOST_TEST(QueryText(*db, "PRAGMA user_version") == std::to_string(LatestSqliteSchemaVersion()));
  BOOST_TEST(QueryText(*db, "SELECT count(*) FROM job_inputs") == "2");
  BOOST_TEST(database->IntegrityProblems()->empty());
}

BOOST_AUTO_TEST_CASE(RefusesASchemaNewerThanTheBuild) {
  {
    auto db = OpenRaw(database->uri());
    BOOST_REQUIRE(ApplySqliteMigrations(*db).ok());
    BOOST_REQUIRE(db->Exec("PRAGMA user_version = 999").ok());
  }
  auto opened = OpenJobStore(database->uri(), options);
  BOOST_TEST(!opened.ok());
  BOOST_TEST(opened.status().code() == StatusCode::kUnavailable);
}

BOOST_AUTO_TEST_CASE(ConnectionsAreDurableWalWithForeignKeys) {
  auto db = OpenRaw(database->uri());
  BOOST_TEST(QueryText(*db, "PRAGMA journal_mode") == "wal");
  BOOST_TEST(QueryText(*db, "PRAGMA synchronous") == "2");  // FULL
  BOOST_TEST(QueryText(*db, "PRAGMA foreign_keys") == "1");
  BOOST_TEST(QueryText(*db, "PRAGMA busy_timeout") == "5000");
  BOOST_TEST(QueryText(*db, "PRAGMA journal_size_limit") == std::to_string(64 << 20));
}

BOOST_AUTO_TEST_CASE(StatementErrorsCarrySqlitesCodeAndMessage) {
  auto db = OpenRaw(database->uri());
  auto bad = db->Prepare("SELECT * FROM no_such_table");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.status().message().find("no such table") != std::string::npos);
  BOOST_TEST(bad.status().message().find("(code 1)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(TransactionsRollBackUnlessCommitted) {
  auto db = OpenRaw(database->uri());
  BOOST_REQUIRE(db->Exec("CREATE TABLE t (x INTEGER)").ok());
  {
    auto tx = Transaction::Begin(*db);
    BOOST_REQUIRE(tx.ok());
    BOOST_REQUIRE(db->Exec("INSERT INTO t VALUES (1)").ok());
  }  // dropped: rolled back
  {
    auto tx = Transaction::Begin(*db);
    BOOST_REQUIRE(tx.ok());
    BOOST_REQUIRE(db->Exec("INSERT INTO t VALUES (2)").ok());
    {
      auto sp = Savepoint::Begin(*db);
      BOOST_REQUIRE(sp.ok());
      BOOST_REQUIRE(db->Exec("INSERT INTO t VALUES (3)").ok());
    }  // savepoint dropped: only 3 goes
    BOOST_REQUIRE(tx->Commit().ok());
  }
  BOOST_TEST(QueryText(*db, "SELECT group_concat(x) FROM t") == "2");
  BOOST_TEST(!db->InTransaction());
}

// Each row: a statement that would store an impossible state.
struct ImpossibleState {
  const char* what;
  const char* sql;
};

BOOST_AUTO_TEST_CASE(CheckConstraintsRejectImpossibleStates) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Submit(owner);
  Job queued = Submit(owner);
  Claim();  // the first job runs now
  store.reset();

  auto db = OpenRaw(database->uri());
  const std::string q = "(SELECT seq FROM jobs WHERE state = 'queued')";
  const std::string r = "(SELECT seq FROM jobs WHERE state = 'running')";
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"unknown state", "UPDATE jobs SET state = 'paused' WHERE seq = " + q},
      {"progress above 1", "UPDATE jobs SET progress = 1.5 WHERE seq = " + q},
      {"negative progress", "UPDATE jobs SET progress = -0.1 WHERE seq = " + q},
      {"negative attempts", "UPDATE jobs SET attempts = -1 WHERE seq = " + q},
      {"running without lease", "UPDATE jobs SET state = 'running' WHERE seq = " + q},
      {"queued with a lease", "UPDATE jobs SET state = 'queued' WHERE seq = " + r},
      {"queued with started_at", "UPDATE jobs SET started_at = created_at WHERE seq = " + q},
      {"failed without error",
       "UPDATE jobs SET state = 'failed', finished_at = created_at, lease_id = NULL,"
       " heartbeat_at = NULL WHERE seq = " +
           r},
      {"error on a queued job",
       "UPDATE jobs SET error_code = 'x', error_message = 'y' WHERE seq = " + q},
      {"succeeded without result",
       "UPDATE jobs SET state = 'succeeded', progress = 1, finished_at = created_at,"
       " lease_id = NULL, heartbeat_at = NULL, device = 'cpu', render_seconds = 1,"
       " samples_per_second = 1 WHERE seq = " +
           r},
      {"terminal without finished_at", "UPDATE jobs SET state = 'canceled' WHERE seq = " + q},
      {"finished_at on a queued job", "UPDATE jobs SET finished_at = created_at WHERE seq = " + q},
      {"cancel_requested on a queued job", "UPDATE jobs SET cancel_requested = 1 WHERE seq = " + q},
      {"cancel_requested not a boolean", "UPDATE jobs SET cancel_requested = 2 WHERE seq = " + r},
      {"width out of range", "UPDATE jobs SET width = 0 WHERE seq = " + q},
      {"samples out of range", "UPDATE jobs SET samples = 70000 WHERE seq = " + q},
      {"checkpoint kept by a finished job",
       "UPDATE jobs SET state = 'canceled', finished_at = created_at, lease_id = NULL,"
       " heartbeat_at = NULL, cancel_requested = 0, checkpoint_samples = 4 WHERE seq = " +
           r},
      {"checkpoint beyond the samples", "UPDATE jobs SET checkpoint_samples = 17 WHERE seq = " + q},
      {"attempt started past its checkpoint",
       "UPDATE jobs SET attempt_from_samples = 5 WHERE seq = " + q},
      {"more stalled attempts than attempts",
       "UPDATE jobs SET stalled_attempts = 1 WHERE seq = " + q},
      {"input of an unknown job", "INSERT INTO job_inputs (seq, input) VALUES (999, '{}')"},
      {"scene job without its size", "UPDATE jobs SET width = NULL WHERE seq = " + q},
      {"another kind with a scene's size", "UPDATE jobs SET kind = 'povray' WHERE seq = " + q},
      {"kind name out of its alphabet", "UPDATE jobs SET kind = 'Pov Ray' WHERE seq = " + q},
      {"half a scene size",
       "UPDATE jobs SET kind = 'povray', width = NULL, height = NULL WHERE seq = " + q},
      {"id that is not a UUID v4", "UPDATE jobs SET id = 'job-1' WHERE seq = " + q},
      {"text in an integer column (STRICT)", "UPDATE jobs SET attempts = 'many' WHERE seq = " + q},
      {"job of an unknown owner", "UPDATE jobs SET owner_id = 999 WHERE seq = " + q},
      {"token hash that is not SHA-256 hex", "UPDATE tokens SET token_hash = 'secret'"},
      {"second active token for an owner",
       "INSERT INTO tokens (owner_id, token_hash, created_at) SELECT owner_id, "
       "'0000000000000000000000000000000000000000000000000000000000000000', 0 FROM tokens"},
      {"idempotency key for a missing job",
       "INSERT INTO idempotency_keys VALUES (1, 'k', "
       "'0000000000000000000000000000000000000000000000000000000000000000', "
       "'00000000-0000-4000-8000-000000000000', 0)"},
      {"worker with throughput 0",
       "INSERT INTO workers (name, device, pid, started_at, heartbeat_at,"
       " units_per_second) VALUES ('w2', 'cpu', 1, 0, 0, 0)"},
      {"second lease counter", "INSERT INTO lease_counter VALUES (2, 0)"},
  };
  for (const auto& [what, sql] : rows) {
    BOOST_TEST_CONTEXT(what) {
      Status status = db->Exec(sql.c_str());
      BOOST_TEST(!status.ok());
      BOOST_TEST(status.code() == StatusCode::kConflict, status.ToString());
    }
  }
  BOOST_TEST(QueryText(*db, "SELECT count(*) FROM jobs WHERE state = 'queued'") == "1");
  BOOST_TEST(QueryText(*db, "SELECT id FROM jobs WHERE state = 'queued'") == queued.id);
}

BOOST_AUTO_TEST_CASE(ViewsShowTheQueueTheCountsAndTheFailures) {
  Open();
  const std::int64_t owner = NewOwner("alice");
  Submit(owner);
  Submit(owner);
  Submit(owner);
  ClaimedJob first = Claim();
  BOOST_REQUIRE(store->Fail(first.lease, "render_failed", "boom").ok());
  Claim();
  store.reset();

  auto db = OpenRaw(database->uri());
  BOOST_TEST(
      QueryText(*db,
                "SELECT group_concat(state || ':' || coalesce(position, '-'), ',') FROM queue") ==
      "running:-,queued:1");
  BOOST_TEST(QueryText(*db, "SELECT group_concat(state || '=' || jobs, ',') FROM job_counts") ==
             "queued=1,running=1,succeeded=0,failed=1,canceled=0");
  BOOST_TEST(QueryText(*db, "SELECT error_code || ' ' || owner FROM recent_failures") ==
             "render_failed alice");
}

BOOST_AUTO_TEST_SUITE_END()

// SQLite's own maintenance: an online backup while writers go on.
BOOST_FIXTURE_TEST_SUITE(SqliteMaintenance, StoreFixture)

BOOST_AUTO_TEST_CASE(BackupWhileWritingPassesIntegrityCheck) {
  options.rules.limits.max_queued = options.rules.limits.max_queued_per_owner = 100000;
  options.rules.limits.max_drain_seconds = 1e12;
  Open();
  const std::int64_t owner = NewOwner("alice");
  for (int i = 0; i < 100; ++i) Submit(owner);
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    while (!stop) {
      if (store->Submit(Request(owner)).ok()) ++written;
    }
  });
  // The backup starts once the writer is committing, not before its first
  // submit (a slow sanitizer build can finish a 100-row backup sooner).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (written.load() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const int before = written.load();
  const auto backup = dir / "backup.db";
  Status backed_up = BackupSqliteDatabase(db(), backup.string());
  stop = true;
  writer.join();
  BOOST_REQUIRE_MESSAGE(backed_up.ok(), backed_up.ToString());
  BOOST_TEST(before >= 3);
  auto copy = SqliteDb::Open(backup.string(), SqliteOptions{});
  BOOST_REQUIRE(copy.ok());
  auto check = (*copy)->Prepare("PRAGMA integrity_check");
  BOOST_REQUIRE(check->Step().value());
  BOOST_TEST(check->Text(0) == "ok");
  auto count = (*copy)->Prepare("SELECT count(*) FROM jobs");
  BOOST_REQUIRE(count->Step().value());
  BOOST_TEST(count->Int(0) >= 100);
  BOOST_TEST(!std::filesystem::exists(dir / "backup.db.partial"));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renderq::testing
