// The CUDA backend: the scene and BVH copied to the device as they are, one
// thread per pixel, TracePixelSample (kernels/trace.h) as on the CPU.
#include <cuda_runtime.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "kernels/backends.h"
#include "kernels/cuda_check.h"
#include "kernels/device_buffer.h"
#include "kernels/flat_scene.h"
#include "kernels/trace.h"

namespace renderq {

bool CudaBackendCompiled() { return true; }

std::vector<CudaDeviceInfo> ProbeCudaDevices() {
  std::vector<CudaDeviceInfo> out;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the error so later runtime calls start clean
    return out;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    out.push_back(CudaDeviceInfo{i, prop.name, static_cast<std::uint64_t>(prop.totalGlobalMem),
                                 prop.major, prop.minor});
  }
  return out;
}

namespace kernels {
namespace {

constexpr int kBlockX = 16;
constexpr int kBlockY = 8;

// Adds samples [first, first + count) to each pixel's sum, in order.
__global__ void RenderKernel(SceneView scene, float* sums, uint32_t first, int count) {
  const int x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const int y = static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
  if (x >= scene.width || y >= scene.height) return;
  float* sum = sums + (static_cast<size_t>(y) * scene.width + x) * 3;
  float r = sum[0], g = sum[1], b = sum[2];
  for (int s = 0; s < count; ++s) {
    const Vec3 l = TracePixelSample(scene, x, y, first + static_cast<uint32_t>(s));
    r += l.x;
    g += l.y;
    b += l.z;
  }
  sum[0] = r;
  sum[1] = g;
  sum[2] = b;
}

class CudaRenderer final : public Renderer {
 public:
  CudaRenderer(const SceneDescription& desc, const FlatScene& scene, int device, std::string name)
      : Renderer(desc, scene.Fingerprint()), device_(device), name_(std::move(name)) {}

  Status Upload(const FlatScene& scene) {
    RENDERQ_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
    RETURN_IF_ERROR(materials_.Upload(scene.materials));
    RETURN_IF_ERROR(spheres_.Upload(scene.spheres));
    RETURN_IF_ERROR(quads_.Upload(scene.quads));
    RETURN_IF_ERROR(triangles_.Upload(scene.triangles));
    RETURN_IF_ERROR(prims_.Upload(scene.prims));
    RETURN_IF_ERROR(nodes_.Upload(scene.nodes));
    std::vector<float> zeros(static_cast<size_t>(width()) * height() * 3, 0.0f);
    RETURN_IF_ERROR(sums_.Upload(zeros));
    view_ = scene.View();
    view_.materials = materials_.get();
    view_.spheres = spheres_.get();
    view_.quads = quads_.get();
    view_.triangles = triangles_.get();
    view_.prims = prims_.get();
    view_.nodes = nodes_.get();
    return Status::Ok();
  }

  std::string device_name() const override { return name_; }

  // One launch per sample: each launch covers every pixel, so stopping
  // between launches leaves whole samples in the buffer.
  Status RenderPass(int samples, const std::atomic<bool>* cancel) override {
    if (samples < 1) return Status::InvalidArgument("a pass needs at least one sample");
    RENDERQ_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
    const dim3 block(kBlockX, kBlockY);
    const dim3 grid((width() + kBlockX - 1) / kBlockX, (height() + kBlockY - 1) / kBlockY);
    const auto start = std::chrono::steady_clock::now();
    int done = 0;
    bool cancelled = false;
    while (done < samples) {
      if (cancel != nullptr && cancel->load()) {
        cancelled = true;
        break;
      }
      RenderKernel<<<grid, block>>>(view_, sums_.get(), static_cast<uint32_t>(samples_done()), 1);
      RENDERQ_CUDA_RETURN_IF_ERROR(cudaGetLastError());
      RENDERQ_CUDA_RETURN_IF_ERROR(cudaDeviceSynchronize());
      set_samples_done(samples_done() + 1);
      ++done;
    }
    AddPassStats(done,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return cancelled ? Status::Cancelled("render pass cancelled") : Status::Ok();
  }

  Result<std::vector<float>> Accumulation() override {
    RENDERQ_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
    std::vector<float> out;
    RETURN_IF_ERROR(sums_.Download(&out));
    return out;
  }

 protected:
  Status SetAccumulation(std::span<const float> sums) override {
    RENDERQ_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
    return sums_.Upload(sums.data(), sums.size());
  }

 private:
  int device_;
  std::string name_;
  DeviceBuffer<Material> materials_;
  DeviceBuffer<Sphere> spheres_;
  DeviceBuffer<Quad> quads_;
  DeviceBuffer<Triangle> triangles_;
  DeviceBuffer<uint32_t> prims_;
  DeviceBuffer<BvhNode> nodes_;
  DeviceBuffer<float> sums_;
  SceneView view_{};
};

Status CheckDevice(int device, std::string* name) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return Status::Unavailable(std::string("no CUDA device: ") + cudaGetErrorString(err));
  }
  if (device < 0 || device >= count) {
    return Status::Unavailable("CUDA device " + std::to_string(device) + " does not exist (" +
                               std::to_string(count) + " present)");
  }
  cudaDeviceProp prop{};
  RENDERQ_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&prop, device));
  *name = "cuda:" + std::to_string(device) + " " + prop.name;
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Renderer>> CreateCudaRenderer(const SceneDescription& scene, int device) {
  std::string name;
  RETURN_IF_ERROR(CheckDevice(device, &name));
  const FlatScene flat = BuildFlatScene(scene);
  auto r = std::make_unique<CudaRenderer>(scene, flat, device, std::move(name));
  RETURN_IF_ERROR(r->Upload(flat));
  return std::unique_ptr<Renderer>(std::move(r));
}

}  // namespace kernels
}  // namespace renderq
