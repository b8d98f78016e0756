// Channel attention's squeeze and excitation on CUDA (see channel_attention.h).
#include "kernels/cuda/channel_attention.h"
#include "kernels/cuda/common.cuh"

namespace sr::cuda {

namespace {

constexpr int kPlaneThreads = 256;

// out[p] = (sum_i a[p, i] (* b[p, i] when b)) / divisor: thread t sums i = t, t + 256, ... in
// double (a product of two floats is exact in double), then the block's fixed tree adds the
// 256 partials. The division (not a multiplication by 1 / HW) is the CPU's.
__global__ void __launch_bounds__(kPlaneThreads)
    plane_sum_kernel(const float* __restrict__ a, const float* __restrict__ b, int64_t HW, double divisor,
                     float* __restrict__ out) {
  const int64_t p = blockIdx.x;
  const float* ap = a + p * HW;
  const float* bp = b ? b + p * HW : nullptr;
  double acc = 0;
  for (int64_t i = threadIdx.x; i < HW; i += kPlaneThreads) acc += bp ? (double)ap[i] * (double)bp[i] : (double)ap[i];
  acc = block_sum<double, kPlaneThreads>(acc);
  if (threadIdx.x == 0) out[p] = (float)(acc / divisor);
}

void plane_sums(const char* name, const float* a, const float* b, int64_t NC, int64_t HW, double divisor,
                float* out) {
  if (NC <= 0) return;
  SR_CHECK(NC < (int64_t{1} << 31), name, ": ", NC, " planes exceed the grid");
  launch_kernel(plane_sum_kernel, dim3((unsigned)NC), kPlaneThreads, 0, current_stream(), a, b, HW, divisor, out);
  CUDA_CHECK_LAUNCH(name);
}

struct SpatialMeanBackwardOp {
  const float* dy;
  float* dx;
  int64_t HW;
  __device__ void operator()(int64_t i) const { dx[i] = dy[i / HW] / (float)HW; }
};

// y[p, i] = x[p, i] s[p] (also dx = dy s in the backward).
struct ChannelScaleOp {
  const float* x;
  const float* s;
  float* y;
  int64_t HW;
  __device__ void operator()(int64_t i) const { y[i] = x[i] * s[i / HW]; }
};

}  // namespace

void spatial_mean_forward(const float* x, float* y, int64_t NC, int64_t HW) {
  plane_sums("spatial_mean", x, nullptr, NC, HW, (double)HW, y);
}

void spatial_mean_backward(const float* dy, float* dx, int64_t NC, int64_t HW) {
  launch_map("spatial_mean_backward", SpatialMeanBackwardOp{dy, dx, HW}, NC * HW);
}

void channel_scale_forward(const float* x, const float* s, float* y, int64_t NC, int64_t HW) {
  launch_map("channel_scale", ChannelScaleOp{x, s, y, HW}, NC * HW);
}

void channel_scale_backward(const float* x, const float* s, const float* dy, float* dx, float* ds, int64_t NC,
                            int64_t HW) {
  if (dx) launch_map("channel_scale_backward", ChannelScaleOp{dy, s, dx, HW}, NC * HW);
  if (ds) plane_sums("channel_scale_backward", dy, x, NC, HW, 1.0, ds);
}

}  // namespace sr::cuda
