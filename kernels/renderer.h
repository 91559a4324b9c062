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
// bad arguments or a state that does not belong to this scene, kCancelled when a
// pass was stopped.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/scene.h"
#include "core/status.h"

namespace renderq {

enum class RenderBackend { kCpu, kCuda };

struct RendererOptions {
  RenderBackend backend = RenderBackend::kCpu;
  int cuda_device = 0;  // CUDA device ordinal, for RenderBackend::kCuda
  int cpu_threads = 0;  // worker threads for the CPU backend; 0 = all cores
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
  double render_seconds() const { return render_seconds_; }

  // The current image: width × height × 3 bytes, rows top to bottom, sRGB.
  // All black before the first sample.
  Result<std::vector<std::uint8_t>> ImageRgb8();

  // The accumulation buffer: width × height × 3 floats, linear RGB sums.
  virtual Result<std::vector<float>> Accumulation() = 0;

  // The resumable state (samples done + buffer) as bytes, with a fingerprint of
  // the scene so a state is never imported into a different scene. ImportState
  // also refuses a state with more samples than the scene asks for or with a
  // negative or non-finite sum: no render of the scene writes one.
  Result<std::vector<std::uint8_t>> ExportState();
  Status ImportState(std::span<const std::uint8_t> bytes);
  // The same through a file; SaveState replaces it atomically and durably
  // (WriteFileAtomically, core/atomic_file.h).
  Status SaveState(const std::string& path);
  Status LoadState(const std::string& path);

 protected:
  Renderer(const SceneDescription& scene, std::uint64_t fingerprint);

  // Replaces the buffer (size checked by the caller).
  virtual Status SetAccumulation(std::span<const float> sums) = 0;
  void AddPassStats(int samples, double seconds);
  void set_samples_done(int n) { samples_done_ = n; }

 private:
  int width_;
  int height_;
  int max_depth_;
  int scene_samples_;  // what the scene asks for: a state never holds more
  std::uint64_t fingerprint_;
  int samples_done_ = 0;
  double render_seconds_ = 0.0;
  double pixel_samples_ = 0.0;
};

}  // namespace renderq
