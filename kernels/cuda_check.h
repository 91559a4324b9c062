// CUDA runtime errors as renderq::Status: every CUDA call goes through
// RENDERQ_CUDA_RETURN_IF_ERROR, which records the expression, file and line.
// Only included from .cu files.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "core/status.h"

namespace renderq::kernels {

// kUnavailable when there is no usable device or driver (nothing to retry on
// this machine's GPU); kDeviceFault for everything else: out of memory, a
// failed launch, an illegal address, a lost device.
inline Status CudaStatus(cudaError_t err, const char* expr, const char* file, int line) {
  std::string msg = std::string(expr) + " failed at " + file + ":" + std::to_string(line) + ": " +
                    cudaGetErrorString(err) + " (" + cudaGetErrorName(err) + ")";
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
