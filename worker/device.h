// Which device the worker renders on, and how it checks that a GPU works.
//
// `--device N` asks for CUDA device N. The worker uses it only when the CUDA
// backend is compiled in, the device is present and a one-sample smoke render
// on it succeeds; otherwise it falls back to the CPU and says why (the log and
// the workers table carry the fallback). The same check runs again after a
// GPU fault, before the worker claims its next job, and every recheck
// interval while the worker is on the CPU fallback, so a GPU that comes back
// (driver loaded late, memory freed) is used again without a restart.
//
// A sticky CUDA error (illegal address, launch failure, ECC: CudaContextLost())
// leaves the process's CUDA context unusable for good: no recheck can succeed.
// If this process had the GPU working, the worker then exits for a fresh
// process (systemd restarts it, Restart=always) instead of staying on the CPU;
// a process whose very first check met a lost context stays on the CPU, so a
// GPU that breaks every context does not make it restart in a loop.
//
// Thread-safe: no shared state (ProbeCudaDevices() is thread-safe).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/model/scene.h"
#include "core/model/status.h"
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

// Whether this process's CUDA context is lost (CudaContextLost() in
// kernels/renderer.h); tests pass their own.
using ContextLostCheck = std::function<bool()>;

struct DeviceChoice {
  RendererOptions options;    // what Renderer::Create gets
  std::string label;          // "cpu" or "cuda:0 NVIDIA H100 ..."
  bool fallback = false;      // a GPU was asked for and the CPU is used instead
  std::string reason;         // why, when fallback
  bool context_lost = false;  // fallback because only a new process can use the GPU
};

// `cuda_device` nullopt: the CPU was asked for.
DeviceChoice ChooseDevice(std::optional<int> cuda_device, int cpu_threads, const DeviceProbe& probe,
                          const ContextLostCheck& context_lost = CudaContextLost);

// Whether to check the GPU again now: a GPU was asked for, the CPU fallback
// is in use for a reason a recheck can cure, and `interval` has passed since
// the last check.
bool GpuRecheckDue(const DeviceChoice& current, std::optional<int> cuda_device,
                   std::chrono::steady_clock::duration since_last_check,
                   std::chrono::steady_clock::duration interval);

// Whether the worker should exit so that a fresh process gets the GPU back:
// the context is lost and the GPU worked earlier in this process.
bool NeedsFreshProcess(const DeviceChoice& current, bool gpu_worked_before);

// A valid 1×1, one-sample scene (the smoke render, and tests).
SceneDescription SmokeTestScene();

}  // namespace renderq
