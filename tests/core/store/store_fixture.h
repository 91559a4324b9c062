// A fresh SQLite file per test in its own mkdtemp directory, removed afterwards.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>

#include "core/clock.h"
#include "core/sqlite_job_store.h"
#include "core/token.h"

namespace renderq {
// Boost.Test prints the values of failed checks.
inline std::ostream& operator<<(std::ostream& out, StatusCode code) {
  return out << StatusCodeName(code);
}
}  // namespace renderq

namespace renderq::testing {

inline constexpr TimeMs kStart = 1'800'000'000'000;  // 2027-01-15, any fixed instant

struct StoreFixture {
  StoreFixture() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "renderq-store-XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    options.path = (dir / "queue.db").string();
    options.clock = &clock;
  }
  ~StoreFixture() {
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  SqliteJobStore& Open() {
    auto opened = SqliteJobStore::Open(options);
    BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    store = std::move(opened).value();
    return *store;
  }

  // An owner (with a token) to submit as.
  std::int64_t NewOwner(const std::string& name) {
    auto token = store->CreateToken(name);
    BOOST_REQUIRE_MESSAGE(token.ok(), token.status().ToString());
    auto owner = store->Authenticate(*token);
    BOOST_REQUIRE(owner.ok());
    return owner->id;
  }

  static SubmitRequest Request(std::int64_t owner, const std::string& key = "",
                               const std::string& scene = "{}") {
    SubmitRequest r;
    r.owner_id = owner;
    r.scene_json = scene;
    r.idempotency_key = key;
    r.request_hash = Sha256Hex(scene);
    r.width = 64;
    r.height = 32;
    r.samples = 16;
    r.max_depth = 8;
    r.cost_units = 64.0 * 32 * 16 * 8;
    return r;
  }

  // Submits and requires a created job.
  Job Submit(std::int64_t owner, const std::string& key = "") {
    auto outcome = store->Submit(Request(owner, key));
    BOOST_REQUIRE_MESSAGE(outcome.ok(), outcome.status().ToString());
    BOOST_REQUIRE(outcome->kind == SubmitOutcome::Kind::kCreated);
    return outcome->job;
  }

  ClaimedJob Claim(const std::string& worker = "w") {
    auto claimed = store->ClaimNext(worker);
    BOOST_REQUIRE_MESSAGE(claimed.ok(), claimed.status().ToString());
    BOOST_REQUIRE(claimed->has_value());
    return **claimed;
  }

  Job Get(const std::string& id) {
    auto job = store->Get(0, id);
    BOOST_REQUIRE_MESSAGE(job.ok(), job.status().ToString());
    return *job;
  }

  std::filesystem::path dir;
  ManualClock clock{kStart};
  SqliteJobStoreOptions options;
  std::unique_ptr<SqliteJobStore> store;
};

}  // namespace renderq::testing
