// Equal-time convergence measurements for renderq-bench-render: render a scene
// for a budget of process CPU seconds, then compare the image with a converged
// reference by relative MSE. CPU time (all threads, CLOCK_PROCESS_CPUTIME_ID)
// rather than wall time, so that two renderers compared on a shared machine
// get the same amount of computation whatever else runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/scene.h"
#include "kernels/renderer.h"

namespace renderq::bench {

// Seconds of CPU time this process has used, all threads together.
double ProcessCpuSeconds();

// Mean linear radiance per pixel and channel, rows top to bottom.
struct LinearImage {
  int width = 0;
  int height = 0;
  std::vector<double> rgb;
};

// The epsilon in relMSE = mean over pixels and channels of (x - r)^2 / (r^2 + eps):
// keeps dark pixels from dominating (a common choice in the denoising literature).
inline constexpr double kRelMseEpsilon = 1e-2;
double RelativeMse(const LinearImage& image, const LinearImage& reference);

struct TimedRender {
  LinearImage image;
  double cpu_seconds = 0;
  double wall_seconds = 0;
  double samples_per_pixel = 0;
};

// renderq's CPU backend with `estimator`, in passes sized so that the total
// lands close to `cpu_budget` seconds of CPU time.
TimedRender RenderForCpuTime(const SceneDescription& scene, Estimator estimator, int threads,
                             double cpu_budget);

// The same with the reference tracer without BVH (reference_tracer.h).
TimedRender RenderBaselineForCpuTime(const SceneDescription& scene, int threads, double cpu_budget);

// A converged image: renderq with next-event estimation for `cpu_seconds`,
// as two halves with seeds of their own (so no image being measured shares a
// sample with it), kept in `cache_dir` under a name made of the scene's
// content, size and budget, so that a second run of the benchmark reuses it.
struct Reference {
  LinearImage image;  // the mean of the halves
  // The reference's own contribution to a measured relMSE: its variance in
  // relMSE units, mean of ((A - B) / 2)^2 / (r^2 + eps) over pixels and
  // channels for halves A and B. RelativeMse(x, image) - noise_floor
  // estimates x's relMSE against the true image.
  double noise_floor = 0;
  bool from_cache = false;
};
Reference ConvergedReference(const SceneDescription& scene, const std::string& scene_text,
                             int threads, double cpu_seconds, const std::string& cache_dir);

// Seeds that the measured renders use (repeat k of a budget) and the
// reference's halves: disjoint, so that the measured images are independent
// of the reference.
inline std::uint32_t MeasuredSeed(std::uint32_t scene_seed, int repeat) {
  return scene_seed + 1000u + static_cast<std::uint32_t>(repeat);
}

}  // namespace renderq::bench
