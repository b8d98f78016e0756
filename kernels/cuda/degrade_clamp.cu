// Clamp / final rounding of the degradation model (see degrade_clamp.h). CPU reference:
// data/degrade/planes.cpp (clamp01, quantize_u8); both call degrade_math.h's per-element
// functions, so the results are bitwise equal.
#include "kernels/common/degrade_math.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/degrade_clamp.h"

namespace sr::cuda {

namespace {

// grid-stride over the n elements.
__global__ void degrade_clamp_kernel(float* __restrict__ x, int64_t n, int round_to_u8) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    x[i] = round_to_u8 ? degrade_math::quantize_u8_value(x[i]) : degrade_math::clamp01_value(x[i]);
}

}  // namespace

void degrade_clamp(float* x, int64_t n, bool round_to_u8) {
  SR_CHECK(n >= 0, "degrade_clamp: bad element count ", n);
  if (n == 0) return;
  launch_kernel(degrade_clamp_kernel, grid_for(n), kBlock, 0, current_stream(), x, n, round_to_u8 ? 1 : 0);
  CUDA_CHECK_LAUNCH("degrade_clamp");
}

}  // namespace sr::cuda
