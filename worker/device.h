// Which device the worker renders on, and how it checks that a GPU works.
//
// `--device N` asks for CUDA device N. The worker uses it only when the CUDA
// backend is compiled in, the device is present and a one-sample smoke render
// on it succeeds; otherwise it falls back to the CPU and says why (the log and
// the workers table carry the fallback). The same check runs again after a
// GPU fault, before the worker claims its next job.
//
// Thread-safe: no shared state (ProbeCudaDevices() is thread-safe).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/scene.h"
#include "core/status.h"
#include "kernels/renderer.h"

namespace renderq {

// Creates the renderer for a job. Tests pass their own to inject device faults.
using RendererFactory = std::function<Result<std::unique_ptr<Renderer>>(
    const SceneDescription& scene, const RendererOptions& options)>;
Result<std::unique_ptr<Renderer>> CreateRenderer(const SceneDescription& scene,
                                                 const RendererOptions& options);

// Checks that CUDA device `ordinal` renders; returns its name ("cuda:0 NVIDIA
// H100 ...") or why it cannot be used.
using DeviceProbe = std::function<Result<std::string>(int ordinal)>;
Result<std::string> ProbeCudaDevice(int ordinal);

struct DeviceChoice {
  RendererOptions options;  // what Renderer::Create gets
  std::string label;        // "cpu" or "cuda:0 NVIDIA H100 ..."
  bool fallback = false;    // a GPU was asked for and the CPU is used instead
  std::string reason;       // why, when fallback
};

// `cuda_device` nullopt: the CPU was asked for.
DeviceChoice ChooseDevice(std::optional<int> cuda_device, int cpu_threads,
                          const DeviceProbe& probe);

// A valid 1×1, one-sample scene (the smoke render, and tests).
SceneDescription SmokeTestScene();

}  // namespace renderq
