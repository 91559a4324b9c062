// Renderer: the progressive path tracer the worker drives, on the CPU or a CUDA GPU.
//
// A Renderer owns one scene (converted to flat arrays and a BVH at creation) and
// one accumulation buffer: for every pixel the float sum of the radiance of all
// samples rendered so far, in linear RGB. RenderPass() adds samples; the image is
// the buffer divided by samples_done(), tone-mapped to 8-bit sRGB.
//
// Determinism and resume (see docs/renderer.md): sample s of pixel p is a pure
// function of (scene, seed, p, s) on a given backend. Each pixel adds its samples
// to its sum in increasing sample order, one float addition per sample, so the
// buffer after N samples does not depend on how the N samples were split into
// passes, on the thread count or on the tile order. ExportState() captures
// (samples_done, buffer) exactly; a renderer that imports it and renders the
// remaining samples ends with a buffer, and so an image, byte-identical to an
// uninterrupted render on the same backend.
//
// Thread safety: a Renderer is used by one thread at a time (the worker's job
// thread). RenderPass() parallelises internally. `cancel` may be set from any
// thread. ProbeCudaDevices() is thread-safe.
//
// Errors: creation and every method return Status; kDeviceFault when the GPU
// fails (device lost, out of memory, driver error), kUnavailable when the CUDA
// backend is not compiled in or the device does not exist, kInvalidArgument for
// bad arguments or a state that does not belong to this scene (or was written
// by another backend, device architecture or estimator), kCancelled when a
// pass was stopped.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/model/scene.h"
#include "core/model/status.h"

namespace renderq {

enum class RenderBackend { kCpu, kCuda };

// How a sample is estimated. Not part of the scene format (SPEC): the service
// always uses kNextEventMis. kBsdfSampling is the random walk the renderer used
// before light sampling (lights are found only when a bounce happens to hit
// them): slow to converge but simple, kept as the unbiased reference for the
// tests and the equal-time benchmark.
enum class Estimator { kNextEventMis, kBsdfSampling };

const char* RenderBackendName(RenderBackend backend);  // "cpu", "cuda"
const char* EstimatorName(Estimator estimator);        // "nee-mis", "bsdf"

struct RendererOptions {
  RenderBackend backend = RenderBackend::kCpu;
  int cuda_device = 0;  // CUDA device ordinal, for RenderBackend::kCuda
  int cpu_threads = 0;  // worker threads for the CPU backend; 0 = all cores
  Estimator estimator = Estimator::kNextEventMis;
  // CUDA: samples of one pixel traced side by side by the threads of a block
  // (1..128, a power of two); 0 picks it from the image size so that small
  // images still fill the GPU. The image does not depend on it.
  int cuda_sample_lanes = 0;
};

// What wrote a render state. A render continues byte-identically only on the
// same backend, device architecture and estimator (the CPU and each GPU
// architecture round differently), so ImportState refuses a state whose
// origin differs from the renderer's and the render starts over.
struct StateOrigin {
  RenderBackend backend = RenderBackend::kCpu;
  std::uint32_t device_arch = 0;  // CUDA: 10 * major + minor compute capability; CPU: 0
  Estimator estimator = Estimator::kNextEventMis;

  bool operator==(const StateOrigin&) const = default;
};
std::string StateOriginName(const StateOrigin& origin);  // "cuda sm_90, nee-mis"

// Measurements over every pass of a renderer.
struct RenderStats {
  double render_seconds = 0.0;  // wall seconds inside RenderPass
  // Seconds the device spent in kernels (CUDA, from events); the CPU backend
  // counts its passes' wall time. render_seconds - device_seconds is overhead.
  double device_seconds = 0.0;
  double pixel_samples = 0.0;
  std::uint64_t rays = 0;      // camera, bounce and shadow rays
  std::uint64_t launches = 0;  // kernel launches (CUDA) or passes (CPU)
};

struct CudaDeviceInfo {
  int ordinal = 0;
  std::string name;                // "NVIDIA H100 80GB HBM3"
  std::uint64_t total_memory = 0;  // bytes
  int compute_major = 0;
  int compute_minor = 0;
};

// True when this build contains the CUDA backend.
bool CudaBackendCompiled();

// The CUDA devices present. Never fails: an empty list when the backend is not
// compiled in, no driver is loaded or no GPU is present.
std::vector<CudaDeviceInfo> ProbeCudaDevices();

// True once a CUDA call of this process returned a sticky error (illegal
// address, launch failure, ECC, ...): the CUDA context is then unusable for
// the rest of the process, and only a new process can use the GPU again.
bool CudaContextLost();

class Renderer {
 public:
  // Builds the BVH, uploads the scene (GPU) and zeroes the buffer. `scene` must
  // be a validated SceneDescription (as ParseScene() returns); it is not kept.
  static Result<std::unique_ptr<Renderer>> Create(const SceneDescription& scene,
                                                  const RendererOptions& options);

  virtual ~Renderer() = default;
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Adds `samples` (>= 1) samples to every pixel. `cancel` may be null; when it
  // becomes true the pass stops within a fraction of a second and returns
  // kCancelled. After a cancelled pass the state is still consistent:
  // samples_done() counts exactly the samples in the buffer (the CPU backend
  // rolls the pass back; the CUDA backend keeps the sample batches it finished).
  virtual Status RenderPass(int samples, const std::atomic<bool>* cancel) = 0;

  int width() const { return width_; }
  int height() const { return height_; }
  int max_depth() const { return max_depth_; }
  int samples_done() const { return samples_done_; }

  // "cpu" or "cuda:0 NVIDIA H100 80GB HBM3".
  virtual std::string device_name() const = 0;

  // Pixel samples per second (width × height × samples / rendering seconds),
  // measured over every pass of this renderer; 0 before the first pass. The
  // cost model multiplies by max_depth to get its units per second.
  double samples_per_second() const;
  double render_seconds() const { return stats_.render_seconds; }
  const RenderStats& stats() const { return stats_; }

  // The backend, device architecture and estimator this renderer's states carry.
  const StateOrigin& origin() const { return origin_; }

  // The current image: width × height × 3 bytes, rows top to bottom, sRGB.
  // All black before the first sample.
  Result<std::vector<std::uint8_t>> ImageRgb8();

  // The accumulation buffer: width × height × 3 floats, linear RGB sums.
  virtual Result<std::vector<float>> Accumulation() = 0;

  // The resumable state (samples done + buffer) as bytes, with a fingerprint of
  // the scene so a state is never imported into a different scene, and the
  // origin() that wrote it so it is never continued by another backend,
  // device architecture or estimator (kInvalidArgument, naming both).
  // ImportState also refuses a state with more samples than the scene asks
  // for or with a negative or non-finite sum: no render of the scene writes one.
  Result<std::vector<std::uint8_t>> ExportState();
  Status ImportState(std::span<const std::uint8_t> bytes);

 protected:
  // A renderer whose states carry `origin`; the two-argument form is a CPU
  // renderer with next-event estimation.
  Renderer(const SceneDescription& scene, std::uint64_t fingerprint, const StateOrigin& origin);
  Renderer(const SceneDescription& scene, std::uint64_t fingerprint);

  // Replaces the buffer (size checked by the caller).
  virtual Status SetAccumulation(std::span<const float> sums) = 0;
  // A pass of `samples` samples per pixel that took `seconds` (wall).
  void AddPassStats(int samples, double seconds);
  // What the device reports for the same pass (the CPU backend: its wall time).
  void AddDeviceStats(std::uint64_t rays, double device_seconds, std::uint64_t launches);
  void set_samples_done(int n) { samples_done_ = n; }

 private:
  int width_;
  int height_;
  int max_depth_;
  int scene_samples_;  // what the scene asks for: a state never holds more
  std::uint64_t fingerprint_;
  StateOrigin origin_;
  int samples_done_ = 0;
  RenderStats stats_;
};

}  // namespace renderq
