// renderq-bench-render [--threads N] [--examples DIR]
//
// CPU samples/s of the renderer (kernels/, BVH) against the reference tracer
// without acceleration structure (reference_tracer.h), per example scene, same
// scene, same samples, same thread count; then a 1,000,000-triangle BVH build.
// The mesh scene's baseline runs on a reduced image (it would take hours at
// full size); samples/s is a per-sample rate either way and is labelled so.
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "bench/render/reference_tracer.h"
#include "core/scene_json.h"
#include "kernels/flat_scene.h"
#include "kernels/renderer.h"

namespace {

using renderq::SceneDescription;

bool Load(const std::string& path, SceneDescription* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream body;
  body << in.rdbuf();
  renderq::SceneParseResult parsed = renderq::ParseScene(body.str());
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), parsed.error().message.c_str());
    return false;
  }
  *out = std::move(parsed).scene();
  return true;
}

struct Measured {
  double seconds = 0;
  double samples_per_second = 0;
};

Measured RenderOurs(const SceneDescription& s, int threads) {
  renderq::RendererOptions o;
  o.cpu_threads = threads;
  auto r = renderq::Renderer::Create(s, o);
  if (!r.ok() || !(*r)->RenderPass(s.samples, nullptr).ok()) return {};
  return {(*r)->render_seconds(), (*r)->samples_per_second()};
}

Measured RenderBaseline(const SceneDescription& s, int threads) {
  double checksum = 0;
  const double seconds = renderq::bench::RenderReference(s, s.samples, threads, &checksum);
  const double pixel_samples = static_cast<double>(s.width) * s.height * s.samples;
  return {seconds, pixel_samples / seconds};
}

void Compare(const std::string& name, const SceneDescription& scene, int threads,
             int baseline_width, int baseline_samples) {
  const Measured ours = RenderOurs(scene, threads);
  SceneDescription small = scene;
  if (baseline_width > 0) {
    small.height = std::max(1, scene.height * baseline_width / scene.width);
    small.width = baseline_width;
    small.samples = baseline_samples;
  }
  const Measured base = RenderBaseline(small, threads);
  std::printf(
      "%-12s %4dx%-4d %3d spp depth %2d | renderer %7.3f s %12.0f samples/s | "
      "baseline%s %8.3f s %10.0f samples/s | ratio %7.1fx\n",
      name.c_str(), scene.width, scene.height, scene.samples, scene.max_depth, ours.seconds,
      ours.samples_per_second,
      baseline_width > 0
          ? (" (" + std::to_string(small.width) + "x" + std::to_string(small.height) + ", " +
             std::to_string(small.samples) + " spp)")
                .c_str()
          : "",
      base.seconds, base.samples_per_second, ours.samples_per_second / base.samples_per_second);
}

// A finely tessellated sphere of about `triangles` triangles.
SceneDescription MillionTriangles(int rings) {
  SceneDescription s;
  s.width = 160;
  s.height = 90;
  s.samples = 4;
  s.max_depth = 4;
  s.camera.position = {0.0f, 0.0f, 3.0f};
  s.camera.look_at = {0.0f, 0.0f, 0.0f};
  s.camera.focus_distance = 3.0f;
  s.materials.push_back({"m", renderq::MaterialType::kLambertian, {0.7f, 0.7f, 0.7f}, 0, 1.5f, {}});
  renderq::MeshDesc m;
  const int segments = 2 * rings;
  for (int i = 0; i <= rings; ++i) {
    const float theta =
        static_cast<float>(M_PI) * static_cast<float>(i) / static_cast<float>(rings);
    for (int j = 0; j < segments; ++j) {
      const float phi =
          2.0f * static_cast<float>(M_PI) * static_cast<float>(j) / static_cast<float>(segments);
      m.vertices.push_back(
          {std::sin(theta) * std::cos(phi), std::cos(theta), std::sin(theta) * std::sin(phi)});
    }
  }
  for (int i = 0; i < rings; ++i) {
    for (int j = 0; j < segments; ++j) {
      const auto a = static_cast<std::uint32_t>(i * segments + j);
      const auto b = static_cast<std::uint32_t>(i * segments + (j + 1) % segments);
      const auto c = a + static_cast<std::uint32_t>(segments),
                 d = b + static_cast<std::uint32_t>(segments);
      m.triangles.push_back({a, c, d});
      m.triangles.push_back({a, d, b});
    }
  }
  s.meshes.push_back(std::move(m));
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string dir = std::string(RENDERQ_SOURCE_DIR) + "/examples";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads") {
      threads = std::atoi(argv[i + 1]);
    } else if (a == "--examples") {
      dir = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: renderq-bench-render [--threads N] [--examples DIR]\n");
      return 2;
    }
  }
  std::printf("renderq-bench-render: CPU, %d threads\n", threads);
  struct Example {
    const char* name;
    int baseline_width;  // 0: the baseline renders the full image
    int baseline_samples;
  };
  for (const Example& e :
       {Example{"cornell_box", 0, 0}, Example{"spheres", 0, 0}, Example{"mesh", 32, 1}}) {
    SceneDescription s;
    if (!Load(dir + "/" + e.name + ".json", &s)) return 1;
    Compare(e.name, s, threads, e.baseline_width, e.baseline_samples);
  }

  const SceneDescription big = MillionTriangles(/*rings=*/500);
  const auto t0 = std::chrono::steady_clock::now();
  const renderq::kernels::FlatScene flat = renderq::kernels::BuildFlatScene(big);
  const double build = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Measured m = RenderOurs(big, threads);
  std::printf(
      "1M triangles: %zu triangles, BVH %zu nodes built in %.2f s; %dx%d %d spp rendered in "
      "%.2f s (%.0f samples/s)\n",
      flat.triangles.size(), flat.nodes.size(), build, big.width, big.height, big.samples,
      m.seconds, m.samples_per_second);
  return 0;
}
