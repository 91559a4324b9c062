// The CUDA backend: the scene, BVH and light table copied to the device as
// they are, TracePixelSample (kernels/trace.h) as on the CPU.
//
// Launches. A block is 128 threads; `lanes` consecutive threads (1..128, a
// power of two) share one pixel and trace consecutive samples of it side by
// side, so a small image still puts enough threads on the GPU (a 64x48 image is
// 3,072 pixels; an H100/H200 holds over 100,000 resident threads). After each
// round of `lanes` samples the pixel's first lane adds them to the running sum
// in sample order, which keeps the sum bit-identical to adding one sample at a
// time: the image does not depend on lanes, on launch sizes or on passes.
// One launch covers every pixel with a batch of samples sized to take about
// kLaunchTargetSeconds; two launches are kept queued so the GPU never waits
// for the host, and the host waits for each on a blocking-sync event (it
// sleeps, it does not spin) instead of a device-wide synchronise.
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "kernels/backends.h"
#include "kernels/kernel_info.h"
#include "kernels/cuda_check.h"
#include "kernels/cuda_stream.h"
#include "kernels/device_buffer.h"
#include "kernels/flat_scene.h"
#include "kernels/trace.h"

namespace renderq {
namespace kernels {
namespace {

constexpr int kThreadsPerBlock = 128;
constexpr int kMaxLanes = kThreadsPerBlock;
// Tens of milliseconds per launch: launch overhead (~10-20 us) is noise, and a
// cancel waits for at most two launches.
constexpr double kLaunchTargetSeconds = 0.025;
constexpr int kMaxLaunchGrowth = 4;
constexpr int kLaunchesInFlight = 2;

// Adds samples [first, first + count) to each pixel's sum, in order.
__global__ void __launch_bounds__(kThreadsPerBlock)
    RenderKernel(SceneView scene, float* sums, uint32_t first, int count, int lanes,
                 unsigned long long* rays) {
  __shared__ float partial[kThreadsPerBlock * 3];
  const int tid = static_cast<int>(threadIdx.x);
  const int lane = tid & (lanes - 1);
  const int pixel = static_cast<int>(blockIdx.x) * (kThreadsPerBlock / lanes) + tid / lanes;
  const bool active = pixel < scene.width * scene.height;
  const int x = active ? pixel % scene.width : 0;
  const int y = active ? pixel / scene.width : 0;
  float* sum = sums + static_cast<size_t>(active ? pixel : 0) * 3;
  float r = 0.0f, g = 0.0f, b = 0.0f;
  if (active && lane == 0) {
    r = sum[0];
    g = sum[1];
    b = sum[2];
  }
  uint32_t my_rays = 0;
  // `count` and `lanes` are the same for the whole block, so every thread
  // takes the same number of rounds and reaches every barrier.
  for (int base = 0; base < count; base += lanes) {
    Vec3 l = {0.0f, 0.0f, 0.0f};
    if (active && base + lane < count) {
      l = TracePixelSample(scene, x, y, first + static_cast<uint32_t>(base + lane), my_rays);
    }
    partial[3 * tid + 0] = l.x;
    partial[3 * tid + 1] = l.y;
    partial[3 * tid + 2] = l.z;
    __syncthreads();
    if (active && lane == 0) {
      const int n = min(lanes, count - base);
      for (int j = 0; j < n; ++j) {
        r += partial[3 * (tid + j) + 0];
        g += partial[3 * (tid + j) + 1];
        b += partial[3 * (tid + j) + 2];
      }
    }
    __syncthreads();
  }
  if (active && lane == 0) {
    sum[0] = r;
    sum[1] = g;
    sum[2] = b;
  }
  // One atomic per warp for the ray count.
  unsigned long long warp_rays = my_rays;
  for (int offset = 16; offset > 0; offset /= 2) {
    warp_rays += __shfl_down_sync(0xffffffffu, warp_rays, offset);
  }
  if ((tid & 31) == 0) atomicAdd(rays, warp_rays);
}

struct DeviceProperties {
  std::string name;   // "cuda:0 NVIDIA H100 80GB HBM3"
  uint32_t arch = 0;  // 10 * major + minor
  int sm_count = 0;
  int max_threads_per_sm = 0;
};

Status CheckDevice(int device, DeviceProperties* out) {
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
  out->name = "cuda:" + std::to_string(device) + " " + prop.name;
  out->arch = static_cast<uint32_t>(prop.major * 10 + prop.minor);
  out->sm_count = prop.multiProcessorCount;
  out->max_threads_per_sm = prop.maxThreadsPerMultiProcessor;
  return Status::Ok();
}

// Lanes per pixel: the fewest that give at least as many threads as the GPU
// holds resident at once.
int ChooseLanes(int64_t pixels, int64_t resident_threads) {
  int lanes = 1;
  while (lanes < kMaxLanes && pixels * lanes < resident_threads) lanes *= 2;
  return lanes;
}

class CudaRenderer final : public Renderer {
 public:
  CudaRenderer(const SceneDescription& desc, const FlatScene& scene, int device,
               DeviceProperties props, const RendererOptions& options)
      : Renderer(desc, scene.Fingerprint(),
                 StateOrigin{RenderBackend::kCuda, props.arch, options.estimator}),
        device_(device),
        props_(std::move(props)),
        estimator_(ToEstimatorKind(options.estimator)),
        requested_lanes_(options.cuda_sample_lanes) {}

  Status Upload(const FlatScene& scene) {
    RENDERQ_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
    RETURN_IF_ERROR(stream_.Create());
    for (int i = 0; i < kLaunchesInFlight; ++i) {
      RETURN_IF_ERROR(start_[i].Create(/*blocking=*/false));
      RETURN_IF_ERROR(stop_[i].Create(/*blocking=*/true));
    }
    RETURN_IF_ERROR(materials_.Upload(scene.materials));
    RETURN_IF_ERROR(spheres_.Upload(scene.spheres));
    RETURN_IF_ERROR(quads_.Upload(scene.quads));
    RETURN_IF_ERROR(triangles_.Upload(scene.triangles));
    RETURN_IF_ERROR(prims_.Upload(scene.prims));
    RETURN_IF_ERROR(nodes_.Upload(scene.nodes));
    RETURN_IF_ERROR(lights_.Upload(scene.lights));
    const std::vector<unsigned long long> zero_rays(1, 0ull);
    RETURN_IF_ERROR(rays_.Upload(zero_rays));
    std::vector<float> zeros(static_cast<size_t>(width()) * height() * 3, 0.0f);
    RETURN_IF_ERROR(sums_.Upload(zeros));
    view_ = scene.View();
    view_.materials = materials_.get();
    view_.spheres = spheres_.get();
    view_.quads = quads_.get();
    view_.triangles = triangles_.get();
    view_.prims = prims_.get();
    view_.nodes = nodes_.get();
    view_.lights = lights_.get();
    view_.estimator = estimator_;

    int blocks_per_sm = 0;
    RENDERQ_CUDA_RETURN_IF_ERROR(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
        &blocks_per_sm, RenderKernel, kThreadsPerBlock, 0));
    const int64_t resident =
        static_cast<int64_t>(std::max(blocks_per_sm, 1)) * kThreadsPerBlock * props_.sm_count;
    const int64_t pixels = static_cast<int64_t>(width()) * height();
    lanes_ = requested_lanes_ > 0 ? requested_lanes_ : ChooseLanes(pixels, resident);
    return Status::Ok();
  }

  std::string device_name() const override { return props_.name; }

  Status RenderPass(int samples, const std::atomic<bool>* cancel) override {
    if (samples < 1) return Status::InvalidArgument("a pass needs at least one sample");
    RENDERQ_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_));
    const auto start = std::chrono::steady_clock::now();
    const int64_t pixels = static_cast<int64_t>(width()) * height();
    const int pixels_per_block = kThreadsPerBlock / lanes_;
    const dim3 grid(static_cast<unsigned>((pixels + pixels_per_block - 1) / pixels_per_block));
    const dim3 block(kThreadsPerBlock);
    RENDERQ_CUDA_RETURN_IF_ERROR(
        cudaMemsetAsync(rays_.get(), 0, sizeof(unsigned long long), stream_.get()));

    const int pass_first = samples_done();
    int queued_samples[kLaunchesInFlight] = {};
    int head = 0, queued = 0;
    int launched = 0, done = 0;
    uint64_t launches = 0;
    double kernel_seconds = 0.0;
    bool cancelled = false;
    auto cancel_requested = [&] { return cancel != nullptr && cancel->load(); };
    for (;;) {
      while (!cancelled && queued < kLaunchesInFlight && launched < samples) {
        if (cancel_requested()) {
          cancelled = true;
          break;
        }
        const int count = NextLaunchSamples(samples - launched);
        const int slot = (head + queued) % kLaunchesInFlight;
        RENDERQ_CUDA_RETURN_IF_ERROR(cudaEventRecord(start_[slot].get(), stream_.get()));
        RenderKernel<<<grid, block, 0, stream_.get()>>>(
            view_, sums_.get(), static_cast<uint32_t>(pass_first + launched), count, lanes_,
            rays_.get());
        RENDERQ_CUDA_RETURN_IF_ERROR(cudaGetLastError());
        RENDERQ_CUDA_RETURN_IF_ERROR(cudaEventRecord(stop_[slot].get(), stream_.get()));
        queued_samples[slot] = count;
        last_launch_samples_ = count;
        ++queued;
        ++launches;
        launched += count;
      }
      if (queued == 0) break;
      // The oldest launch: sleep until it is done, then count its samples.
      RENDERQ_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(stop_[head].get()));
      float ms = 0.0f;
      RENDERQ_CUDA_RETURN_IF_ERROR(
          cudaEventElapsedTime(&ms, start_[head].get(), stop_[head].get()));
      const int count = queued_samples[head];
      set_samples_done(samples_done() + count);
      done += count;
      kernel_seconds += ms / 1000.0;
      if (count > 0 && ms > 0.0f) seconds_per_sample_ = ms / 1000.0 / count;
      head = (head + 1) % kLaunchesInFlight;
      --queued;
      if (cancel_requested()) cancelled = true;
    }
    unsigned long long rays = 0;
    RENDERQ_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(&rays, rays_.get(), sizeof rays, cudaMemcpyDeviceToHost, stream_.get()));
    // Waited for on a blocking-sync event too (a stream synchronise may spin).
    RENDERQ_CUDA_RETURN_IF_ERROR(cudaEventRecord(stop_[0].get(), stream_.get()));
    RENDERQ_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(stop_[0].get()));
    AddPassStats(done,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    AddDeviceStats(rays, kernel_seconds, launches);
    return cancelled && done < samples ? Status::Cancelled("render pass cancelled") : Status::Ok();
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
  // Samples for the next launch: about kLaunchTargetSeconds at the measured
  // speed, whole rounds of lanes where possible, growing at most
  // kMaxLaunchGrowth-fold per launch; one round before anything is measured.
  int NextLaunchSamples(int remaining) const {
    int n = lanes_;
    if (seconds_per_sample_ > 0.0) {
      const double wanted = std::floor(kLaunchTargetSeconds / seconds_per_sample_);
      const double cap = static_cast<double>(std::max(last_launch_samples_, 1)) * kMaxLaunchGrowth;
      n = static_cast<int>(std::clamp(std::min(wanted, cap), 1.0, 1e6));
      if (n > lanes_) n -= n % lanes_;
    }
    return std::clamp(n, 1, remaining);
  }

  int device_;
  DeviceProperties props_;
  EstimatorKind estimator_;
  int requested_lanes_;
  int lanes_ = 1;
  double seconds_per_sample_ = 0.0;  // kernel time of one sample of every pixel
  int last_launch_samples_ = 0;
  CudaStream stream_;
  CudaEvent start_[kLaunchesInFlight];
  CudaEvent stop_[kLaunchesInFlight];
  DeviceBuffer<Material> materials_;
  DeviceBuffer<Sphere> spheres_;
  DeviceBuffer<Quad> quads_;
  DeviceBuffer<Triangle> triangles_;
  DeviceBuffer<uint32_t> prims_;
  DeviceBuffer<BvhNode> nodes_;
  DeviceBuffer<Light> lights_;
  DeviceBuffer<unsigned long long> rays_;
  DeviceBuffer<float> sums_;
  SceneView view_{};
};

}  // namespace

Result<std::unique_ptr<Renderer>> CreateCudaRenderer(const SceneDescription& scene,
                                                     const RendererOptions& options) {
  DeviceProperties props;
  RETURN_IF_ERROR(CheckDevice(options.cuda_device, &props));
  const FlatScene flat = BuildFlatScene(scene);
  auto r =
      std::make_unique<CudaRenderer>(scene, flat, options.cuda_device, std::move(props), options);
  RETURN_IF_ERROR(r->Upload(flat));
  return std::unique_ptr<Renderer>(std::move(r));
}

}  // namespace kernels

bool CudaBackendCompiled() { return true; }

bool CudaContextLost() { return kernels::CudaContextLostFlag().load(); }

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

Result<CudaKernelInfo> DescribeCudaKernel(int ordinal) {
  kernels::DeviceProperties props;
  RETURN_IF_ERROR(kernels::CheckDevice(ordinal, &props));
  RENDERQ_CUDA_RETURN_IF_ERROR(cudaSetDevice(ordinal));
  cudaFuncAttributes attr{};
  RENDERQ_CUDA_RETURN_IF_ERROR(cudaFuncGetAttributes(&attr, kernels::RenderKernel));
  CudaKernelInfo info;
  info.registers = attr.numRegs;
  info.local_bytes = static_cast<int>(attr.localSizeBytes);
  info.shared_bytes = static_cast<int>(attr.sharedSizeBytes);
  info.threads_per_block = kernels::kThreadsPerBlock;
  RENDERQ_CUDA_RETURN_IF_ERROR(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
      &info.blocks_per_sm, kernels::RenderKernel, kernels::kThreadsPerBlock, 0));
  info.sm_count = props.sm_count;
  info.max_threads_per_sm = props.max_threads_per_sm;
  return info;
}

}  // namespace renderq
