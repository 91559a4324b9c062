// renderq-bench-store [--db PATH|URI] [--iterations N]
//
// What a job's scene costs the hot paths once it is stored: Get() (every
// client poll) and Heartbeat() (every running job, several times a second)
// of a job whose scene is 4 MiB against one whose scene is about 1 KiB, on
// the same store in the same run. The scene lives in its own table that only
// the claim reads, so the ratios should be 1.0 within noise.
//
// Without --db it runs on a temporary SQLite file. With a postgresql:// URI
// (an empty database: scripts/pg-cluster start DIR PORT gives one) it runs on
// PostgreSQL. Prints µs per call and the ratios, then one JSON line.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/store/open_job_store.h"
#include "core/store/token.h"

namespace {

using renderq::ClaimedJob;
using renderq::JobStore;
using renderq::SubmitRequest;

// A valid scene body of about `bytes` bytes: one small mesh padded with more
// vertices than its triangles use (the store keeps bodies as received).
std::string SceneOfSize(std::size_t bytes) {
  std::string vertices = "[0,0,0],[1,0,0],[0,1,0]";
  while (vertices.size() + 400 < bytes) vertices += ",[0.5,0.25,0.125]";
  return R"({"width":1,"height":1,"samples":1,"camera":{"position":[0,0,5],"look_at":[0,0,0]},)"
         R"("materials":[{"name":"m","type":"lambertian","albedo":[0.5,0.5,0.5]}],)"
         R"("objects":[{"type":"mesh","vertices":[)" +
         vertices + R"(],"triangles":[[0,1,2]],"material":"m"}]})";
}

double MicrosPerCall(int iterations, const std::function<void()>& call) {
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) call();
  const std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - begin;
  return took.count() / iterations;
}

int Fail(const std::string& what, const renderq::Status& s) {
  std::fprintf(stderr, "renderq-bench-store: %s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string db;
  int iterations = 20000;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--db" && i + 1 < argc) {
      db = argv[++i];
    } else if (arg == "--iterations" && i + 1 < argc) {
      iterations = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: renderq-bench-store [--db PATH|URI] [--iterations N]\n");
      return 2;
    }
  }
  std::filesystem::path temp;
  if (db.empty()) {
    temp = std::filesystem::temp_directory_path() /
           ("renderq-bench-store-" + std::to_string(getpid()));
    std::filesystem::create_directories(temp / "results");
    db = (temp / "queue.db").string();
  }
  renderq::StoreOptions options;
  options.results_dir = temp.empty() ? "" : (temp / "results").string();
  auto opened = renderq::OpenJobStore(db, options);
  if (!opened.ok()) return Fail("open " + renderq::RedactedDb(db), opened.status());
  JobStore& store = **opened;
  auto token = store.CreateToken("bench-" + std::to_string(getpid()));
  if (!token.ok()) return Fail("token", token.status());
  const std::int64_t owner = store.Authenticate(*token)->id;

  struct Case {
    const char* name;
    std::string scene;
    ClaimedJob claim;
    double get_us = 0, heartbeat_us = 0;
  };
  std::vector<Case> cases = {{"1 KiB scene", SceneOfSize(1024), {}},
                             {"4 MiB scene", SceneOfSize(4u << 20), {}}};
  for (Case& c : cases) {
    SubmitRequest r;
    r.owner_id = owner;
    r.spec.input_json = c.scene;
    r.request_hash = renderq::Sha256Hex(c.scene);
    r.spec.scene = renderq::SceneShape{1, 1, 1, 8};
    r.spec.cost_units = 8;
    auto submitted = store.Submit(r);
    if (!submitted.ok()) return Fail("submit", submitted.status());
    auto claimed = store.ClaimNext("bench");
    if (!claimed.ok() || !claimed->has_value()) return Fail("claim", claimed.status());
    c.claim = **claimed;
  }
  // Interleaved rounds, so drift in the machine's load hits both alike.
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    for (Case& c : cases) {
      c.get_us += MicrosPerCall(iterations / kRounds,
                                [&] {
                                  if (!store.Get(owner, c.claim.job.id).ok()) std::abort();
                                }) /
                  kRounds;
      c.heartbeat_us += MicrosPerCall(iterations / kRounds,
                                      [&] {
                                        if (!store.Heartbeat(c.claim.lease, 0.5).ok()) std::abort();
                                      }) /
                        kRounds;
    }
  }
  const std::string backend(store.BackendName());
  std::printf("store bench on %s, %d calls each, scene bodies %zu and %zu bytes\n", backend.c_str(),
              iterations, cases[0].scene.size(), cases[1].scene.size());
  for (const Case& c : cases) {
    std::printf("  %-12s  Get %8.1f us   Heartbeat %8.1f us\n", c.name, c.get_us, c.heartbeat_us);
  }
  const double get_ratio = cases[1].get_us / cases[0].get_us;
  const double heartbeat_ratio = cases[1].heartbeat_us / cases[0].heartbeat_us;
  std::printf("  4 MiB / 1 KiB: Get %.2fx, Heartbeat %.2fx (target 1.0 within noise)\n", get_ratio,
              heartbeat_ratio);
  std::printf(
      "{\"backend\": \"%s\", \"get_us\": [%.1f, %.1f], \"heartbeat_us\": [%.1f, %.1f], "
      "\"get_ratio\": %.3f, \"heartbeat_ratio\": %.3f}\n",
      backend.c_str(), cases[0].get_us, cases[1].get_us, cases[0].heartbeat_us,
      cases[1].heartbeat_us, get_ratio, heartbeat_ratio);
  for (Case& c : cases) (void)store.MarkCanceled(c.claim.lease);
  opened->reset();
  if (!temp.empty()) std::filesystem::remove_all(temp);
  return 0;
}
