// A fresh database of the backend under test (tests/core/store/test_database.h)
// per test, in its own mkdtemp directory, removed afterwards; the store is
// opened through OpenJobStore as every program opens it, on a ManualClock.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/model/clock.h"
#include "core/store/open_job_store.h"
#include "core/store/token.h"
#include "tests/core/store/test_database.h"

namespace renderq {
// Boost.Test prints the values of failed checks.
inline std::ostream& operator<<(std::ostream& out, StatusCode code) {
  return out << StatusCodeName(code);
}
}  // namespace renderq

namespace renderq::testing {

inline constexpr TimeMs kStart = 1'800'000'000'000;  // 2027-01-15, any fixed instant

inline std::vector<std::uint8_t> Bytes(const std::string& text) {
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

struct StoreFixture {
  StoreFixture() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "renderq-store-XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    std::filesystem::create_directory(dir / "results");
    database = NewTestDatabase(dir);
    options.results_dir = (dir / "results").string();
    options.clock = &clock;
  }
  ~StoreFixture() {
    store.reset();
    database.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  const std::string& db() const { return database->uri(); }

  // An image's bytes, from its file in the results directory or the bytes the
  // store handed back.
  std::vector<std::uint8_t> ArtifactBytes(const Artifact& artifact) const {
    if (artifact.file.empty()) return artifact.bytes;
    std::ifstream in(std::filesystem::path(options.results_dir) / artifact.file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  JobStore& Open() {
    auto opened = OpenJobStore(db(), options);
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
    r.spec.input_json = scene;
    r.idempotency_key = key;
    r.request_hash = Sha256Hex(scene);
    r.spec.scene = SceneShape{64, 32, 16, 8};
    r.spec.cost_units = 64.0 * 32 * 16 * 8;
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

  // A finish with a stand-in PNG (the store keeps bytes; it does not decode them).
  static FinishRequest Finished(const std::vector<std::uint8_t>& png, const std::string& device,
                                double seconds, double samples_per_second,
                                const std::string& etag) {
    FinishRequest f;
    f.device = device;
    f.render_seconds = seconds;
    f.samples_per_second = samples_per_second;
    f.result_etag = etag;
    f.png = png;
    return f;
  }

  std::filesystem::path dir;
  std::unique_ptr<TestDatabase> database;
  ManualClock clock{kStart};
  StoreOptions options;
  std::unique_ptr<JobStore> store;
};

}  // namespace renderq::testing
