#include "worker/device.h"

#include <algorithm>

namespace renderq {

Result<std::unique_ptr<Renderer>> CreateRenderer(const SceneDescription& scene,
                                                 const RendererOptions& options) {
  return Renderer::Create(scene, options);
}

SceneDescription SmokeTestScene() {
  SceneDescription scene;
  scene.width = 1;
  scene.height = 1;
  scene.samples = 1;
  scene.max_depth = 2;
  scene.camera.position = {0.0f, 0.0f, 3.0f};
  scene.camera.look_at = {0.0f, 0.0f, 0.0f};
  scene.camera.focus_distance = 3.0f;
  scene.materials.push_back(MaterialDesc{.name = "grey", .albedo = {0.5f, 0.5f, 0.5f}});
  scene.spheres.push_back(SphereDesc{.center = {0.0f, 0.0f, 0.0f}, .radius = 1.0f, .material = 0});
  return scene;
}

Result<std::string> ProbeCudaDevice(int ordinal) {
  if (!CudaBackendCompiled()) return Status::Unavailable("this build has no CUDA backend");
  if (CudaContextLost()) {
    return Status::DeviceFault(
        "the CUDA context of this process is lost after a sticky error; only a new process can "
        "use the GPU");
  }
  const std::vector<CudaDeviceInfo> devices = ProbeCudaDevices();
  const bool present = std::any_of(devices.begin(), devices.end(),
                                   [&](const CudaDeviceInfo& d) { return d.ordinal == ordinal; });
  if (!present) {
    return Status::Unavailable("no CUDA device " + std::to_string(ordinal) + " (" +
                               std::to_string(devices.size()) + " found)");
  }
  RendererOptions options;
  options.backend = RenderBackend::kCuda;
  options.cuda_device = ordinal;
  ASSIGN_OR_RETURN(std::unique_ptr<Renderer> renderer, Renderer::Create(SmokeTestScene(), options));
  RETURN_IF_ERROR(renderer->RenderPass(1, nullptr));
  RETURN_IF_ERROR(renderer->ImageRgb8().status());
  return renderer->device_name();
}

DeviceChoice ChooseDevice(std::optional<int> cuda_device, int cpu_threads, const DeviceProbe& probe,
                          const ContextLostCheck& context_lost) {
  DeviceChoice choice;
  choice.options.backend = RenderBackend::kCpu;
  choice.options.cpu_threads = cpu_threads;
  choice.label = "cpu";
  if (!cuda_device) return choice;
  const Result<std::string> gpu = probe(*cuda_device);
  if (!gpu.ok()) {
    choice.fallback = true;
    choice.reason = gpu.status().ToString();
    choice.context_lost = context_lost();
    return choice;
  }
  choice.options.backend = RenderBackend::kCuda;
  choice.options.cuda_device = *cuda_device;
  choice.label = *gpu;
  return choice;
}

bool GpuRecheckDue(const DeviceChoice& current, std::optional<int> cuda_device,
                   std::chrono::steady_clock::duration since_last_check,
                   std::chrono::steady_clock::duration interval) {
  return cuda_device.has_value() && current.fallback && !current.context_lost &&
         since_last_check >= interval;
}

bool NeedsFreshProcess(const DeviceChoice& current, bool gpu_worked_before) {
  return current.fallback && current.context_lost && gpu_worked_before;
}

}  // namespace renderq
