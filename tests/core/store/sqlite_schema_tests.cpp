// The schema: migrations, connection setup, and the CHECK constraints that keep
// a hand-written statement from storing an impossible state.
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "core/sqlite_db.h"
#include "core/sqlite_migrations.h"
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
    auto db = OpenRaw(options.path);
    auto found = ApplyMigrations(*db);
    BOOST_REQUIRE(found.ok());
    BOOST_TEST(*found == 0);
    BOOST_TEST(QueryText(*db, "PRAGMA user_version") == std::to_string(LatestSchemaVersion()));
    BOOST_TEST(
        QueryText(*db,
                  "SELECT count(*) FROM sqlite_schema WHERE name IN "
                  "('jobs','owners','tokens','idempotency_keys','workers','queue','job_counts',"
                  "'recent_failures')") == "8");
  }
  auto db = OpenRaw(options.path);
  const std::string schema_before =
      QueryText(*db, "SELECT group_concat(sql, ';') FROM sqlite_schema");
  auto again = ApplyMigrations(*db);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(*again == LatestSchemaVersion());
  BOOST_TEST(QueryText(*db, "SELECT group_concat(sql, ';') FROM sqlite_schema") == schema_before);
  // And the store opens it as it is.
  Open();
  BOOST_TEST(store->Ping().ok());
}

BOOST_AUTO_TEST_CASE(RefusesASchemaNewerThanTheBuild) {
  {
    auto db = OpenRaw(options.path);
    BOOST_REQUIRE(ApplyMigrations(*db).ok());
    BOOST_REQUIRE(db->Exec("PRAGMA user_version = 999").ok());
  }
  auto opened = SqliteJobStore::Open(options);
  BOOST_TEST(!opened.ok());
  BOOST_TEST(opened.status().code() == StatusCode::kUnavailable);
}

BOOST_AUTO_TEST_CASE(ConnectionsAreDurableWalWithForeignKeys) {
  auto db = OpenRaw(options.path);
  BOOST_TEST(QueryText(*db, "PRAGMA journal_mode") == "wal");
  BOOST_TEST(QueryText(*db, "PRAGMA synchronous") == "2");  // FULL
  BOOST_TEST(QueryText(*db, "PRAGMA foreign_keys") == "1");
  BOOST_TEST(QueryText(*db, "PRAGMA busy_timeout") == "5000");
  BOOST_TEST(QueryText(*db, "PRAGMA journal_size_limit") == std::to_string(64 << 20));
}

BOOST_AUTO_TEST_CASE(StatementErrorsCarrySqlitesCodeAndMessage) {
  auto db = OpenRaw(options.path);
  auto bad = db->Prepare("SELECT * FROM no_such_table");
  BOOST_REQUIRE(!bad.ok());
  BOOST_TEST(bad.status().message().find("no such table") != std::string::npos);
  BOOST_TEST(bad.status().message().find("(code 1)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(TransactionsRollBackUnlessCommitted) {
  auto db = OpenRaw(options.path);
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

  auto db = OpenRaw(options.path);
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
      {"checkpoint samples without a file",
       "UPDATE jobs SET checkpoint_samples = 4 WHERE seq = " + q},
      {"checkpoint beyond the samples",
       "UPDATE jobs SET checkpoint_path = 'x', checkpoint_samples = 17"
       " WHERE seq = " +
           q},
      {"scene that is not JSON", "UPDATE jobs SET scene = '{' WHERE seq = " + q},
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

  auto db = OpenRaw(options.path);
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

}  // namespace renderq::testing
