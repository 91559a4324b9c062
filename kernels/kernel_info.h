// The render kernel as compiled for a device, for benchmarks and the
// occupancy check (bench/gpu): registers and local memory per thread, and how
// many of its blocks fit on one SM. Not used by the service.
#pragma once

#include "core/model/status.h"

namespace renderq {

struct CudaKernelInfo {
  int registers = 0;
  int local_bytes = 0;  // per thread: the traversal stacks and spills
  int shared_bytes = 0;
  int threads_per_block = 0;
  int blocks_per_sm = 0;
  int sm_count = 0;
  int max_threads_per_sm = 0;
};

// kUnavailable without a CUDA device or a CUDA build.
Result<CudaKernelInfo> DescribeCudaKernel(int ordinal);

}  // namespace renderq
