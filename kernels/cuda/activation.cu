// LeakyReLU kernels on CUDA (see activation.h). Elementwise maps over the shared math of
// kernels/common/math.h; the bias gradient is reduce.h's deterministic channel_sum over dx
// (one extra read of dx instead of atomics).
#include "kernels/common/math.h"
#include "kernels/cuda/activation.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/fast_div.h"
#include "kernels/cuda/reduce.h"

namespace sr::cuda {

namespace {

struct LeakyOp {
  const float* x;
  float* y;
  float slope;
  __device__ void operator()(int64_t i) const { y[i] = math::leaky_relu(x[i], slope); }
};
struct LeakyBackwardOp {
  const float* y;
  const float* dy;
  float* dx;
  float slope;
  __device__ void operator()(int64_t i) const {
    dx[i] = dy[i] * math::leaky_relu_grad_from_output(y[i], slope);
  }
};
// Element i of an (N, C, HW) buffer has channel (i / HW) % C.
struct BiasLeakyOp {
  const float* x;
  const float* bias;
  float* y;
  int64_t HW, C;
  float slope, gain;
  __device__ void operator()(int64_t i) const {
    const float b = bias ? bias[(i / HW) % C] : 0.f;
    y[i] = gain * math::leaky_relu(x[i] + b, slope);
  }
};
struct BiasLeakyBackwardOp {
  const float* y;
  const float* dy;
  float* dx;
  float slope, gain;
  __device__ void operator()(int64_t i) const {
    dx[i] = gain * dy[i] * math::leaky_relu_grad_from_output(y[i], slope);
  }
};

}  // namespace

void leaky_relu_forward(const float* x, float* y, int64_t n, float slope) {
  launch_map("leaky_relu", LeakyOp{x, y, slope}, n);
}

void leaky_relu_backward(const float* y, const float* dy, float* dx, int64_t n, float slope) {
  launch_map("leaky_relu_backward", LeakyBackwardOp{y, dy, dx, slope}, n);
}

void bias_leaky_relu_forward(const float* x, const float* bias, float* y, int64_t N, int64_t C,
                             int64_t HW, float slope, float gain) {
  launch_map("bias_leaky_relu", BiasLeakyOp{x, bias, y, HW, C, slope, gain}, N * C * HW);
}

void bias_leaky_relu_backward(const float* y, const float* dy, float* dx, float* dbias, int64_t N,
                              int64_t C, int64_t HW, float slope, float gain) {
  launch_map("bias_leaky_relu_backward", BiasLeakyBackwardOp{y, dy, dx, slope, gain}, N * C * HW);
  if (dbias) channel_sum(dx, N, C, HW, C * HW, dbias, /*accumulate=*/true);
}

}  // namespace sr::cuda
