#include "bench/render/convergence.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench/render/reference_tracer.h"

namespace renderq::bench {
namespace {

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Sizes passes so that each takes about a twentieth of the budget and the last
// one ends near it; `render(k)` renders k more samples per pixel.
template <typename RenderMore>
double SpendCpu(double cpu_budget, RenderMore render) {
  const double start = ProcessCpuSeconds();
  double per_sample = 0;  // CPU seconds per sample per pixel, from the last pass
  int k = 1;
  double total = 0;
  for (;;) {
    const double spent = ProcessCpuSeconds() - start;
    if (per_sample > 0) {
      const double left = cpu_budget - spent;
      if (left < per_sample / 2) break;
      k = static_cast<int>(std::clamp(std::min(cpu_budget / 20, left) / per_sample, 1.0, 1e6));
    }
    const double before = ProcessCpuSeconds();
    render(k);
    total += k;
    per_sample = std::max(ProcessCpuSeconds() - before, 1e-9) / k;
  }
  return total;
}

LinearImage Normalised(int width, int height, const std::vector<double>& sums, double samples) {
  LinearImage image{width, height, sums};
  for (double& v : image.rgb) v /= samples;
  return image;
}

std::uint64_t Fnv1a(const std::string& text, std::uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double RelativeMse(const LinearImage& image, const LinearImage& reference) {
  double sum = 0;
  for (size_t i = 0; i < image.rgb.size(); ++i) {
    const double d = image.rgb[i] - reference.rgb[i];
    sum += d * d / (reference.rgb[i] * reference.rgb[i] + kRelMseEpsilon);
  }
  return image.rgb.empty() ? 0.0 : sum / static_cast<double>(image.rgb.size());
}

TimedRender RenderForCpuTime(const SceneDescription& scene, Estimator estimator, int threads,
                             double cpu_budget) {
  RendererOptions options;
  options.cpu_threads = threads;
  options.estimator = estimator;
  auto renderer = Renderer::Create(scene, options);
  TimedRender out;
  if (!renderer.ok()) return out;
  Renderer& r = **renderer;
  const double cpu0 = ProcessCpuSeconds(), wall0 = WallSeconds();
  out.samples_per_pixel = SpendCpu(cpu_budget, [&](int k) { (void)r.RenderPass(k, nullptr); });
  out.cpu_seconds = ProcessCpuSeconds() - cpu0;
  out.wall_seconds = WallSeconds() - wall0;
  auto sums = r.Accumulation();
  if (!sums.ok()) return out;
  out.image = Normalised(scene.width, scene.height, std::vector<double>(sums->begin(), sums->end()),
                         r.samples_done());
  return out;
}

TimedRender RenderBaselineForCpuTime(const SceneDescription& scene, int threads,
                                     double cpu_budget) {
  TimedRender out;
  std::vector<double> sums;
  int pass = 0;
  const double cpu0 = ProcessCpuSeconds(), wall0 = WallSeconds();
  out.samples_per_pixel =
      SpendCpu(cpu_budget, [&](int k) { RenderReferencePass(scene, k, threads, pass++, &sums); });
  out.cpu_seconds = ProcessCpuSeconds() - cpu0;
  out.wall_seconds = WallSeconds() - wall0;
  out.image = Normalised(scene.width, scene.height, sums, out.samples_per_pixel);
  return out;
}

Reference ConvergedReference(const SceneDescription& scene, const std::string& scene_text,
                             int threads, double cpu_seconds, const std::string& cache_dir) {
  const std::uint64_t key =
      Fnv1a("halves v2 " + std::to_string(scene.width) + "x" + std::to_string(scene.height) + "@" +
                std::to_string(cpu_seconds),
            Fnv1a(scene_text));
  char name[64];
  std::snprintf(name, sizeof name, "reference-%016llx.bin", static_cast<unsigned long long>(key));
  const std::filesystem::path path = std::filesystem::path(cache_dir) / name;
  const size_t values = static_cast<size_t>(scene.width) * scene.height * 3;
  std::vector<double> halves(2 * values);
  Reference out;
  {
    std::ifstream in(path, std::ios::binary);
    out.from_cache = static_cast<bool>(in.read(reinterpret_cast<char*>(halves.data()),
                                               static_cast<std::streamsize>(halves.size() * 8)));
  }
  if (!out.from_cache) {
    for (int h = 0; h < 2; ++h) {
      SceneDescription half = scene;
      half.seed = scene.seed ^ (0x5eed0000u + static_cast<std::uint32_t>(h));
      const TimedRender r =
          RenderForCpuTime(half, Estimator::kNextEventMis, threads, cpu_seconds / 2);
      std::copy(r.image.rgb.begin(), r.image.rgb.end(), halves.begin() + h * values);
    }
    std::error_code ec;
    std::filesystem::create_directories(cache_dir, ec);
    const std::filesystem::path tmp = path.string() + ".tmp";
    {
      std::ofstream file(tmp, std::ios::binary);
      file.write(reinterpret_cast<const char*>(halves.data()),
                 static_cast<std::streamsize>(halves.size() * 8));
    }
    std::filesystem::rename(tmp, path, ec);
  }
  out.image = {scene.width, scene.height, std::vector<double>(values)};
  double floor = 0;
  for (size_t i = 0; i < values; ++i) {
    const double a = halves[i], b = halves[values + i], r = 0.5 * (a + b);
    out.image.rgb[i] = r;
    floor += 0.25 * (a - b) * (a - b) / (r * r + kRelMseEpsilon);
  }
  out.noise_floor = values > 0 ? floor / static_cast<double>(values) : 0.0;
  return out;
}

}  // namespace renderq::bench
