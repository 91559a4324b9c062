// A temp directory with a fresh SQLite store (real clock) and its results
// directory, plus helpers to submit scenes and inspect jobs and files.
#pragma once

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "core/store/open_job_store.h"
#include "core/model/scene_json.h"
#include "kernels/png_writer.h"
#include "worker/log.h"
#include "worker/worker.h"

namespace renderq {
inline std::ostream& operator<<(std::ostream& out, StatusCode code) {
  return out << StatusCodeName(code);
}
inline std::ostream& operator<<(std::ostream& out, JobState state) {
  return out << JobStateName(state);
}
inline std::ostream& operator<<(std::ostream& out, JobOutcome o) {
  return out << JobOutcomeName(o);
}
}  // namespace renderq

namespace renderq::testing {

// A SPEC scene: one red sphere on a grey floor under the default sky.
inline std::string SceneJson(int width, int height, int samples, int seed = 0) {
  return "{\"width\": " + std::to_string(width) + ", \"height\": " + std::to_string(height) +
         ", \"samples\": " + std::to_string(samples) +
         ", \"max_depth\": 4, \"seed\": " + std::to_string(seed) +
         ", \"camera\": {\"position\": [0, 1, 5], \"look_at\": [0, 0.5, 0]},"
         " \"materials\": [{\"name\": \"red\", \"type\": \"lambertian\", \"albedo\": [0.8, 0.1, "
         "0.1]},"
         " {\"name\": \"grey\", \"type\": \"lambertian\", \"albedo\": [0.5, 0.5, 0.5]}],"
         " \"objects\": [{\"type\": \"sphere\", \"center\": [0, 0.5, 0], \"radius\": 0.5, "
         "\"material\": \"red\"},"
         " {\"type\": \"quad\", \"corner\": [-5, 0, -5], \"u\": [10, 0, 0], \"v\": [0, 0, 10], "
         "\"material\": \"grey\"}]}";
}

inline std::vector<std::uint8_t> ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Waits (bounded) until `done` holds; false on timeout.
inline bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

struct WorkerFixture {
  WorkerFixture() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "renderq-worker-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    dir = pattern;
    results = dir / "results";
    std::filesystem::create_directory(results);
    StoreOptions options;
    options.results_dir = results.string();
    auto opened = OpenJobStore((dir / "queue.db").string(), options);
    BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    store = std::move(opened).value();
    auto token = store->CreateToken("tester");
    BOOST_REQUIRE(token.ok());
    auto owner = store->Authenticate(*token);
    BOOST_REQUIRE(owner.ok());
    owner_id = owner->id;
    BOOST_REQUIRE(log.Open((dir / "worker.log").string()).ok());
  }
  ~WorkerFixture() {
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  // Submits a scene body as the responder would (unvalidated bodies too).
  Job Submit(const std::string& scene_json) {
    SubmitRequest r;
    r.owner_id = owner_id;
    r.spec.input_json = scene_json;
    const SceneParseResult parsed = ParseScene(scene_json);
    const SceneDescription scene = parsed.ok() ? parsed.scene() : SmokeTestScene();
    r.spec.scene = SceneShape{scene.width, scene.height, scene.samples, scene.max_depth};
    r.spec.cost_units = 1.0 * scene.width * scene.height * scene.samples * scene.max_depth;
    auto outcome = store->Submit(r);
    BOOST_REQUIRE_MESSAGE(outcome.ok(), outcome.status().ToString());
    BOOST_REQUIRE(outcome->kind == SubmitOutcome::Kind::kCreated);
    return outcome->job;
  }

  Job Get(const std::string& id) {
    auto job = store->Get(0, id);
    BOOST_REQUIRE_MESSAGE(job.ok(), job.status().ToString());
    return *job;
  }

  WorkerOptions Options(const std::string& name = "cpu") const {
    WorkerOptions o;
    o.name = name;
    o.job.checkpoint_seconds = 0.2;
    o.idle_wait = std::chrono::milliseconds(200);
    return o;
  }

  // The names in the results directory (temps included).
  std::vector<std::string> ResultFiles() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(results)) {
      names.push_back(e.path().filename().string());
    }
    return names;
  }

  // The scene rendered in one go on the CPU, encoded as the worker encodes it.
  static std::vector<std::uint8_t> CleanRender(const std::string& scene_json);

  std::filesystem::path dir;
  std::filesystem::path results;
  std::unique_ptr<JobStore> store;
  std::int64_t owner_id = 0;
  Logger log{"test"};
  std::atomic<bool> stop{false};
};

inline std::vector<std::uint8_t> WorkerFixture::CleanRender(const std::string& scene_json) {
  const SceneParseResult parsed = ParseScene(scene_json);
  BOOST_REQUIRE(parsed.ok());
  auto renderer = Renderer::Create(parsed.scene(), RendererOptions{});
  BOOST_REQUIRE_MESSAGE(renderer.ok(), renderer.status().ToString());
  BOOST_REQUIRE((*renderer)->RenderPass(parsed.scene().samples, nullptr).ok());
  auto rgb = (*renderer)->ImageRgb8();
  BOOST_REQUIRE(rgb.ok());
  auto png = EncodePngRgb8((*renderer)->width(), (*renderer)->height(), *rgb);
  BOOST_REQUIRE(png.ok());
  return *png;
}

}  // namespace renderq::testing
