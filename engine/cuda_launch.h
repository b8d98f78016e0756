// The one way srengine launches a CUDA kernel:
//   launch_kernel(kernel, grid, block, shared_bytes, stream, args...)
// is exactly `kernel<<<grid, block, shared_bytes, stream>>>(args...)` under nvcc (an inline
// template: nothing is added to the launch), and in the SIMT interpreter build
// (SRENGINE_SIMT, kernels/simt/) runs the kernel's threads as fibers on the CPU. Follow it
// with CUDA_CHECK_LAUNCH(op) as before. No `<<<` appears anywhere else.
#pragma once
#include <cstddef>
#include <utility>

#include "engine/cuda_check.h"

namespace sr::cuda {

template <class... Params, class... Args>
inline void launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
                          cudaStream_t stream, Args&&... args) {
#if defined(SRENGINE_SIMT)
  (void)stream;  // the interpreter runs every launch to completion, in call order
  ::simt::launch(kernel, grid, block, shared_bytes, std::forward<Args>(args)...);
#else
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
#endif
}

}  // namespace sr::cuda
