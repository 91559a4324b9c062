// RAII owners of a CUDA stream and events. Only included from .cu files.
// Move-only; destructors release and ignore errors (a lost device has nothing
// left to release).
#pragma once

#include <cuda_runtime.h>

#include <utility>

#include "core/model/status.h"
#include "kernels/cuda_check.h"

namespace renderq::kernels {

class CudaStream {
 public:
  CudaStream() = default;
  ~CudaStream() {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }
  CudaStream(CudaStream&& o) noexcept : stream_(std::exchange(o.stream_, nullptr)) {}
  CudaStream& operator=(CudaStream&&) = delete;
  CudaStream(const CudaStream&) = delete;
  CudaStream& operator=(const CudaStream&) = delete;

  // A blocking stream: it stays ordered with the synchronous cudaMemcpy calls
  // of DeviceBuffer (legacy default stream), so uploads and downloads need no
  // extra synchronisation around its kernels.
  Status Create() {
    RENDERQ_CUDA_RETURN_IF_ERROR(cudaStreamCreate(&stream_));
    return Status::Ok();
  }
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

class CudaEvent {
 public:
  CudaEvent() = default;
  ~CudaEvent() {
    if (event_ != nullptr) cudaEventDestroy(event_);
  }
  CudaEvent(CudaEvent&& o) noexcept : event_(std::exchange(o.event_, nullptr)) {}
  CudaEvent& operator=(CudaEvent&&) = delete;
  CudaEvent(const CudaEvent&) = delete;
  CudaEvent& operator=(const CudaEvent&) = delete;

  // `blocking`: cudaEventSynchronize on it puts the host thread to sleep
  // instead of spinning on the CPU. Both kinds keep timing.
  Status Create(bool blocking) {
    RENDERQ_CUDA_RETURN_IF_ERROR(
        cudaEventCreateWithFlags(&event_, blocking ? cudaEventBlockingSync : cudaEventDefault));
    return Status::Ok();
  }
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

}  // namespace renderq::kernels
