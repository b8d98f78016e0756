// PReLU kernels on CUDA (see prelu.h): maps for y and dx; the slope gradient as a
// materialised product dy * x (x <= 0) reduced per channel by channel_sum, then one thread
// folds the channel sums into a shared slope in channel order.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/prelu.h"
#include "kernels/cuda/reduce.h"

namespace sr::cuda {

namespace {

struct PreluOp {
  const float* x;
  const float* a;
  float* y;
  int64_t C, HW;
  int shared;
  __device__ void operator()(int64_t i) const {
    const float ac = a[shared ? 0 : (i / HW) % C];
    y[i] = x[i] > 0.f ? x[i] : ac * x[i];
  }
};

struct PreluBackwardOp {
  const float* x;
  const float* a;
  const float* dy;
  float* dx;    // may be null
  float* prod;  // dy * x where x <= 0, else 0; may be null
  int64_t C, HW;
  int shared;
  __device__ void operator()(int64_t i) const {
    const bool pos = x[i] > 0.f;
    if (dx) dx[i] = pos ? dy[i] : a[shared ? 0 : (i / HW) % C] * dy[i];
    if (prod) prod[i] = pos ? 0.f : dy[i] * x[i];
  }
};

__global__ void fold_shared_kernel(const float* __restrict__ sums, int64_t C, float* __restrict__ da) {
  float acc = da[0];
  for (int64_t c = 0; c < C; ++c) acc += sums[c];
  da[0] = acc;
}

}  // namespace

void prelu_forward(const float* x, const float* a, float* y, int64_t N, int64_t C, int64_t HW,
                   bool shared) {
  launch_map("prelu", PreluOp{x, a, y, C, HW, shared ? 1 : 0}, N * C * HW);
}

void prelu_backward(const float* x, const float* a, const float* dy, float* dx, float* da, int64_t N,
                    int64_t C, int64_t HW, bool shared) {
  const int64_t n = N * C * HW;
  DeviceScratch prod(da ? n * sizeof(float) : 0);
  launch_map("prelu_backward",
             PreluBackwardOp{x, a, dy, dx, da ? prod.as<float>() : nullptr, C, HW, shared ? 1 : 0}, n);
  if (!da) return;
  if (!shared) {
    channel_sum(prod.as<float>(), N, C, HW, C * HW, da, /*accumulate=*/true);
    return;
  }
  DeviceScratch sums(C * sizeof(float));
  channel_sum(prod.as<float>(), N, C, HW, C * HW, sums.as<float>(), /*accumulate=*/false);
  launch_kernel(fold_shared_kernel, 1, 1, 0, current_stream(), sums.as<float>(), C, da);
  CUDA_CHECK_LAUNCH("prelu_backward");
}

}  // namespace sr::cuda
