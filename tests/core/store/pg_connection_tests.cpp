// PgConn against a real server of the test's own
// (`renderq_store_tests --run_test=PostgresConnection -- --backend=postgres`):
// the URI's settings win over renderq's defaults, and a COMMIT that a
// synchronous standby never confirmed is not reported as a commit.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "core/postgres/pg_conn.h"
#include "tests/core/store/store_fixture.h"

namespace renderq::testing {
namespace {

std::map<std::string, std::string> Settings(PgConn& conn) {
  std::map<std::string, std::string> found;
  PQconninfoOption* options = PQconninfo(conn.handle());
  for (PQconninfoOption* o = options; o != nullptr && o->keyword != nullptr; ++o) {
    if (o->val != nullptr) found[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return found;
}

bool PostgresOnly() {
  if (TestBackendName() == "postgres") return true;
  BOOST_TEST_MESSAGE("PostgreSQL only: run with -- --backend=postgres");
  return false;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(PostgresConnection, StoreFixture)

BOOST_AUTO_TEST_CASE(TheUrisOwnSettingsWinOverRenderqsDefaults) {
  if (!PostgresOnly()) return;
  auto plain = PgConn::Connect(db());
  BOOST_REQUIRE_MESSAGE(plain.ok(), plain.status().ToString());
  auto defaults = Settings(**plain);
  BOOST_TEST(defaults["connect_timeout"] == "10");
  BOOST_TEST(defaults["keepalives_idle"] == "5");
  BOOST_TEST(defaults["tcp_user_timeout"] == "15000");
  BOOST_TEST(defaults["application_name"] == "renderq");
  auto tuned = PgConn::Connect(db() + "&connect_timeout=2&keepalives_idle=1&application_name=w1");
  BOOST_REQUIRE_MESSAGE(tuned.ok(), tuned.status().ToString());
  auto own = Settings(**tuned);
  BOOST_TEST(own["connect_timeout"] == "2");
  BOOST_TEST(own["keepalives_idle"] == "1");
  BOOST_TEST(own["application_name"] == "w1");
  BOOST_TEST(own["tcp_user_timeout"] == "15000");  // what the URI leaves out keeps the default
}

// A server whose synchronous standby never answers: every COMMIT that wrote
// something waits for it. Restored when the test ends, and waiting COMMITs
// with it.
struct StandbyNeverAnswers {
  explicit StandbyNeverAnswers(PgConn& conn) : admin(conn) {
    BOOST_REQUIRE(admin.Exec("ALTER SYSTEM SET synchronous_standby_names = 'nobody'").ok());
    BOOST_REQUIRE(admin.Exec("SELECT pg_reload_conf()").ok());
  }
  ~StandbyNeverAnswers() {
    (void)admin.Exec("ALTER SYSTEM RESET synchronous_standby_names");
    (void)admin.Exec("SELECT pg_reload_conf()");
  }
  PgConn& admin;
};

// A session that writes a row and is about to COMMIT it (the test server runs
// with synchronous_commit off, scripts/pg-cluster --fast: on here).
std::unique_ptr<PgConn> WroteARow(const std::string& uri) {
  auto conn = PgConn::Connect(uri);
  BOOST_REQUIRE_MESSAGE(conn.ok(), conn.status().ToString());
  // The reload reaches a session between commands.
  for (int i = 0; i < 200; ++i) {
    auto shown = (*conn)->Exec("SHOW synchronous_standby_names");
    if (shown.ok() && shown->Text(0, 0) == "nobody") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  BOOST_REQUIRE((*conn)
                    ->Exec("BEGIN; SET LOCAL synchronous_commit = on;"
                           " INSERT INTO probe VALUES (1)")
                    .ok());
  return std::move(conn).value();
}

// The COMMIT waits; past its bound the store gives up on the connection and
// says "unavailable", never "committed".
BOOST_AUTO_TEST_CASE(ACommitThatWaitsTooLongHasAnUnknownOutcome) {
  if (!PostgresOnly()) return;
  auto admin = PgConn::Connect(db());
  BOOST_REQUIRE(admin.ok());
  BOOST_REQUIRE((*admin)->Exec("CREATE TABLE probe (x integer)").ok());
  StandbyNeverAnswers standby(**admin);
  std::unique_ptr<PgConn> c = WroteARow(db());
  const Status committed = c->Commit("COMMIT", std::chrono::milliseconds(300));
  BOOST_TEST(committed.code() == StatusCode::kUnavailable);
  BOOST_TEST(committed.message().find("outcome is unknown") != std::string::npos);
  BOOST_TEST(!c->Healthy());  // a pool drops it
}

// Cancelled while it waits for the standby, PostgreSQL reports the COMMIT done,
// with a WARNING: the row exists on this server only. Commit() calls that a
// failure.
BOOST_AUTO_TEST_CASE(ACommitWhoseWaitWasCancelledIsNotACommit) {
  if (!PostgresOnly()) return;
  auto admin = PgConn::Connect(db());
  BOOST_REQUIRE(admin.ok());
  BOOST_REQUIRE((*admin)->Exec("CREATE TABLE probe (x integer)").ok());
  StandbyNeverAnswers standby(**admin);
  std::unique_ptr<PgConn> c = WroteARow(db());
  auto pid = c->Exec("SELECT pg_backend_pid()");
  BOOST_REQUIRE(pid.ok());
  const std::string backend = pid->Text(0, 0);
  std::thread canceller([&] {
    auto other = PgConn::Connect(db());
    if (!other.ok()) return;
    // Until the COMMIT is seen waiting for the standby, then cancelled.
    for (int i = 0; i < 500; ++i) {
      auto waiting = (*other)->Exec("SELECT count(*) FROM pg_stat_activity WHERE pid = " + backend +
                                    " AND wait_event = 'SyncRep'");
      if (waiting.ok() && waiting->Int(0, 0) > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    (void)(*other)->Exec("SELECT pg_cancel_backend(" + backend + ")");
  });
  const Status committed = c->Commit("COMMIT", std::chrono::seconds(30));
  canceller.join();
  BOOST_TEST(committed.code() == StatusCode::kUnavailable);
  BOOST_TEST(committed.message().find("may exist on this server only") != std::string::npos);
  BOOST_TEST(c->Healthy());
  BOOST_TEST(!c->InTransaction());
  // What makes it dangerous: the row is there, on this server alone.
  auto rows = c->Exec("SELECT count(*) FROM probe");
  BOOST_REQUIRE(rows.ok());
  BOOST_TEST(rows->Int(0, 0) == 1);
  // A COMMIT that needs no standby (nothing written) is a plain success.
  BOOST_REQUIRE(c->Exec("BEGIN").ok());
  BOOST_TEST(c->Commit().ok());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renderq::testing
