// The CUDA entry points of a build without nvcc: they report, never fail hard.
#include "kernels/backends.h"
#include "kernels/kernel_info.h"
#include "kernels/renderer.h"

namespace renderq {

bool CudaBackendCompiled() { return false; }
std::vector<CudaDeviceInfo> ProbeCudaDevices() { return {}; }
bool CudaContextLost() { return false; }
Result<CudaKernelInfo> DescribeCudaKernel(int) {
  return Status::Unavailable("this build has no CUDA backend (nvcc was not found)");
}

namespace kernels {
Result<std::unique_ptr<Renderer>> CreateCudaRenderer(const SceneDescription&,
                                                     const RendererOptions&) {
  return Status::Unavailable("this build has no CUDA backend (nvcc was not found)");
}
}  // namespace kernels

}  // namespace renderq
