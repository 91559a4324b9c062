// The PostgreSQL schema's migrations, on a server of the test's own
// (`renderq_store_tests --run_test=PostgresSchema -- --backend=postgres`).
#include <boost/test/unit_test.hpp>

#include <string>

#include "core/postgres/pg_migrations.h"
#include "tests/core/store/store_fixture.h"

namespace renderq::testing {

BOOST_FIXTURE_TEST_SUITE(PostgresSchema, StoreFixture)

// A database made by schema version 1 (scene jobs only, their scenes in
// job_scenes) opens as the latest version: every job is a scene job with its
// size, its scene is its input, and its place in line is kept.
BOOST_AUTO_TEST_CASE(UpgradesAVersionOneDatabaseToJobKinds) {
  if (TestBackendName() != "postgres") {
    BOOST_TEST_MESSAGE("PostgreSQL only: run with -- --backend=postgres");
    return;
  }
  BOOST_REQUIRE(database->Execute(PostgresMigrations()[0].sql).ok());
  BOOST_REQUIRE(database
                    ->Execute("CREATE TABLE renderq_schema_version (version integer NOT NULL "
                              "CHECK (version > 0)); INSERT INTO renderq_schema_version VALUES (1)")
                    .ok());
  BOOST_REQUIRE(database
                    ->Execute(R"(
      INSERT INTO owners (name, created_at) VALUES ('alice', 0);
      INSERT INTO jobs (id, owner_id, created_at, width, height, samples, max_depth, cost_units)
        VALUES ('00000004-0000-4000-8000-000000000000',
                (SELECT id FROM owners WHERE name = 'alice'), 50, 8, 6, 4, 2, 384);
      INSERT INTO job_scenes (seq, scene)
        SELECT seq, '{"v1": 4}' FROM jobs WHERE id = '00000004-0000-4000-8000-000000000000';
    )")
                    .ok());
  Open();
  const Job queued = Get("00000004-0000-4000-8000-000000000000");
  BOOST_TEST(queued.kind == "scene");
  BOOST_REQUIRE(queued.scene.has_value());
  BOOST_TEST(queued.scene->width == 8);
  BOOST_TEST(queued.scene->height == 6);
  BOOST_TEST(queued.scene->samples == 4);
  BOOST_TEST(queued.scene->max_depth == 2);
  BOOST_TEST(queued.position.value() == 1);
  const ClaimedJob claimed = Claim();
  BOOST_TEST(claimed.input_json == "{\"v1\": 4}");
  BOOST_TEST(database->QueryInt("SELECT version FROM renderq_schema_version").value() ==
             static_cast<std::int64_t>(PostgresMigrations().size()));
  // The constraints hold for the new kind column too.
  BOOST_TEST(!database->Execute("UPDATE jobs SET kind = 'Pov Ray'").ok());
  BOOST_TEST(!database->Execute("UPDATE jobs SET kind = 'povray'").ok());  // a scene's size
  BOOST_TEST(database->IntegrityProblems()->empty());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace renderq::testing
