// renderq-bench-render [--threads N] [--examples DIR] [--budgets 1,4,16]
//                      [--reference-factor F] [--cache DIR] [--only throughput|convergence]
//
// Throughput: CPU samples/s of the renderer (kernels/, BVH) against the
// reference tracer without acceleration structure (reference_tracer.h), per
// example scene, same scene, same samples, same thread count; then a
// 1,000,000-triangle BVH build. The mesh scene's baseline runs on a reduced
// image (it would take hours at full size); samples/s is a per-sample rate
// either way and is labelled so.
//
// Convergence: for the Cornell box, the sky-lit spheres and the dim room, the
// relative MSE against a converged reference after 1, 4 and 16 s of CPU time
// (all threads) of: the renderer with next-event estimation and MIS, the same
// renderer with BSDF sampling only (the estimator before light sampling), and
// the reference tracer without BVH; then the ratios and the efficiency
// 1 / (relMSE x CPU seconds). relMSE is averaged over independent renders (16
// of 1 s, 4 of 4 s, 1 of 16 s: the same work per budget), each with a seed of
// its own. The reference is the renderer itself (next-event estimation,
// unbiased: tests/kernels/unbiased_tests.cpp) run for reference-factor (10)
// times the largest budget in two halves with seeds of their own, cached under
// --cache; its own noise, estimated from the halves, is subtracted.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/render/convergence.h"
#include "bench/render/reference_tracer.h"
#include "core/model/scene_json.h"
#include "kernels/flat_scene.h"
#include "kernels/renderer.h"

namespace {

using renderq::SceneDescription;

bool Load(const std::string& path, SceneDescription* out, std::string* text = nullptr) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream body;
  body << in.rdbuf();
  if (text != nullptr) *text = body.str();
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

struct ConvergenceScene {
  const char* name;
  int width;  // the image is scaled to this width (aspect kept) so it converges in minutes
};

// relMSE against the reference with the reference's own noise taken out,
// averaged over `repeats` independent renders (seeds MeasuredSeed(k)).
struct Averaged {
  double cpu_seconds = 0, wall_seconds = 0, spp = 0, rel_mse = 0;
};

template <typename RenderOnce>
Averaged Average(int repeats, const renderq::bench::Reference& reference, RenderOnce render) {
  Averaged a;
  for (int k = 0; k < repeats; ++k) {
    const renderq::bench::TimedRender r = render(k);
    a.cpu_seconds += r.cpu_seconds / repeats;
    a.wall_seconds += r.wall_seconds / repeats;
    a.spp += r.samples_per_pixel / repeats;
    a.rel_mse +=
        (renderq::bench::RelativeMse(r.image, reference.image) - reference.noise_floor) / repeats;
  }
  return a;
}

void Convergence(const std::string& dir, const ConvergenceScene& c, int threads,
                 const std::vector<double>& budgets, double reference_factor,
                 const std::string& cache) {
  SceneDescription s;
  std::string text;
  if (!Load(dir + "/" + c.name + ".json", &s, &text)) return;
  s.height = std::max(1, s.height * c.width / s.width);
  s.width = c.width;
  const double reference_seconds = reference_factor * budgets.back();
  const auto t0 = std::chrono::steady_clock::now();
  const renderq::bench::Reference reference =
      renderq::bench::ConvergedReference(s, text, threads, reference_seconds, cache);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "\n%s %dx%d depth %d; reference: renderq nee-mis, %.0f s CPU in two halves (%s), "
      "its own noise %.2e (taken out below)\n"
      "  budget  repeats  estimator            CPU s     wall s       spp      relMSE   "
      "1/(relMSE*s) | bsdf/nee relMSE | eff vs baseline\n",
      c.name, s.width, s.height, s.max_depth, reference_seconds,
      reference.from_cache
          ? "cached"
          : ("rendered in " + std::to_string(static_cast<int>(took)) + " s wall").c_str(),
      reference.noise_floor);
  for (double budget : budgets) {
    // Equal work per budget: 16 one-second renders, 4 of four seconds, one of 16.
    const int repeats = std::max(1, static_cast<int>(std::lround(budgets.back() / budget)));
    auto ours = [&](renderq::Estimator e) {
      return Average(repeats, reference, [&](int k) {
        SceneDescription seeded = s;
        seeded.seed = renderq::bench::MeasuredSeed(s.seed, k);
        return renderq::bench::RenderForCpuTime(seeded, e, threads, budget);
      });
    };
    const Averaged nee = ours(renderq::Estimator::kNextEventMis);
    const Averaged bsdf = ours(renderq::Estimator::kBsdfSampling);
    const Averaged base = Average(repeats, reference, [&](int k) {
      SceneDescription seeded = s;
      seeded.seed = renderq::bench::MeasuredSeed(s.seed, k);
      return renderq::bench::RenderBaselineForCpuTime(seeded, threads, budget);
    });
    auto eff = [](const Averaged& a) { return 1.0 / (a.rel_mse * a.cpu_seconds); };
    auto row = [&](const char* label, const Averaged& a, const std::string& ratio) {
      std::printf("  %5.4g s %8d  %-20s %7.2f %10.2f %9.0f %11.3e %14.4g | %15s | %14.1fx\n",
                  budget, repeats, label, a.cpu_seconds, a.wall_seconds, a.spp, a.rel_mse, eff(a),
                  ratio.c_str(), eff(a) / eff(base));
    };
    char ratio[32];
    std::snprintf(ratio, sizeof ratio, "%.2fx", bsdf.rel_mse / nee.rel_mse);
    row("nee-mis (new)", nee, ratio);
    row("bsdf (before)", bsdf, "");
    row("baseline (no BVH)", base, "");
  }
}

std::vector<double> ParseBudgets(const std::string& list) {
  std::vector<double> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    const double v = std::atof(item.c_str());
    if (v > 0) out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string dir = std::string(RENDERQ_SOURCE_DIR) + "/examples";
  std::vector<double> budgets = {1, 4, 16};
  double reference_factor = 10;
  std::string cache = std::string(RENDERQ_BINARY_DIR) + "/bench-render-cache";
  std::string only;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--threads") {
      threads = std::atoi(argv[i + 1]);
    } else if (a == "--examples") {
      dir = argv[i + 1];
    } else if (a == "--budgets") {
      budgets = ParseBudgets(argv[i + 1]);
    } else if (a == "--reference-factor") {
      reference_factor = std::atof(argv[i + 1]);
    } else if (a == "--cache") {
      cache = argv[i + 1];
    } else if (a == "--only") {
      only = argv[i + 1];
    } else {
      only = "?";
    }
  }
  if ((argc % 2) == 0 || threads < 1 || budgets.empty() || reference_factor <= 0 ||
      !(only.empty() || only == "throughput" || only == "convergence")) {
    std::fprintf(stderr,
                 "usage: renderq-bench-render [--threads N] [--examples DIR] [--budgets 1,4,16]\n"
                 "                            [--reference-factor F] [--cache DIR]\n"
                 "                            [--only throughput|convergence]\n");
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when redirected too
  std::printf("renderq-bench-render: CPU, %d threads\n", threads);
  if (only != "throughput") {
    std::printf("convergence at equal CPU time; relMSE = mean (x - ref)^2 / (ref^2 + %g)\n",
                renderq::bench::kRelMseEpsilon);
    for (const ConvergenceScene& c :
         {ConvergenceScene{"cornell_box", 128}, ConvergenceScene{"spheres", 160},
          ConvergenceScene{"dim_room", 128}}) {
      Convergence(dir, c, threads, budgets, reference_factor, cache);
    }
    if (only == "convergence") return 0;
    std::printf("\n");
  }
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
