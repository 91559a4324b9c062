// DeviceBuffer<T>: RAII ownership of a cudaMalloc'd array. Only included from
// .cu files. Move-only; the destructor frees and ignores errors (a lost device
// has nothing left to free).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>
#include <vector>

#include "core/model/status.h"
#include "kernels/cuda_check.h"

namespace renderq::kernels {

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() { Reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      Reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // Allocates `count` elements (none for 0) and copies `src` (count elements) in.
  Status Upload(const T* src, size_t count) {
    Reset();
    if (count == 0) return Status::Ok();
    void* p = nullptr;
    RENDERQ_CUDA_RETURN_IF_ERROR(cudaMalloc(&p, count * sizeof(T)));
    ptr_ = static_cast<T*>(p);
    size_ = count;
    RENDERQ_CUDA_RETURN_IF_ERROR(cudaMemcpy(ptr_, src, count * sizeof(T), cudaMemcpyHostToDevice));
    return Status::Ok();
  }
  Status Upload(const std::vector<T>& src) { return Upload(src.data(), src.size()); }

  Status Download(std::vector<T>* dst) const {
    dst->resize(size_);
    if (size_ == 0) return Status::Ok();
    RENDERQ_CUDA_RETURN_IF_ERROR(
        cudaMemcpy(dst->data(), ptr_, size_ * sizeof(T), cudaMemcpyDeviceToHost));
    return Status::Ok();
  }

  T* get() const { return ptr_; }
  size_t size() const { return size_; }

 private:
  void Reset() {
    if (ptr_ != nullptr) cudaFree(ptr_);
    ptr_ = nullptr;
    size_ = 0;
  }

  T* ptr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace renderq::kernels
