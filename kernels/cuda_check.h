// CUDA runtime errors as renderq::Status: every CUDA call goes through
// RENDERQ_CUDA_RETURN_IF_ERROR, which records the expression, file and line.
// Only included from .cu files.
#pragma once

#include <cuda_runtime.h>

#include <atomic>
#include <string>

#include "core/model/status.h"

namespace renderq::kernels {

// Set once any CUDA call of this process returned a sticky error (read by
// CudaContextLost() in kernels/renderer.h).
inline std::atomic<bool>& CudaContextLostFlag() {
  static std::atomic<bool> lost{false};
  return lost;
}

// The errors after which, says the CUDA runtime's documentation, "the process
// must be terminated and relaunched": the context is corrupt and every later
// call fails the same way. ECC errors are treated alike.
inline bool IsStickyCudaError(cudaError_t err) {
  switch (err) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchTimeout:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorLaunchFailure:
    case cudaErrorTensorMemoryLeak:
    case cudaErrorMpsClientTerminated:
    case cudaErrorExternalDevice:
    case cudaErrorContained:
    case cudaErrorECCUncorrectable: return true;
    default: return false;
  }
}

// kUnavailable when there is no usable device or driver (nothing to retry on
// this machine's GPU); kDeviceFault for everything else: out of memory, a
// failed launch, an illegal address, a lost device. A sticky error also marks
// the process's CUDA context as lost.
inline Status CudaStatus(cudaError_t err, const char* expr, const char* file, int line) {
  std::string msg = std::string(expr) + " failed at " + file + ":" + std::to_string(line) + ": " +
                    cudaGetErrorString(err) + " (" + cudaGetErrorName(err) + ")";
  if (IsStickyCudaError(err)) {
    CudaContextLostFlag().store(true);
    msg += "; the CUDA context is lost until the process restarts";
  }
  switch (err) {
    case cudaErrorNoDevice:
    case cudaErrorInvalidDevice:
    case cudaErrorInsufficientDriver: return Status::Unavailable(std::move(msg));
    default: return Status::DeviceFault(std::move(msg));
  }
}

}  // namespace renderq::kernels

#define RENDERQ_CUDA_RETURN_IF_ERROR(expr)                                                 \
  do {                                                                                     \
    const cudaError_t renderq_cuda_err_ = (expr);                                          \
    if (renderq_cuda_err_ != cudaSuccess)                                                  \
      return ::renderq::kernels::CudaStatus(renderq_cuda_err_, #expr, __FILE__, __LINE__); \
  } while (0)
