// Elementwise CUDA kernels (see elementwise.h): one grid-stride map per op, the same
// formulas as kernels/cpu/elementwise.cpp (shared math from kernels/common/math.h).
//
// v1 (this file): scalar loads, coalesced across the warp; memory-bound, so the only
// thing that matters is touching each byte once. Deterministic (no reductions).
#include "kernels/common/math.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/elementwise.h"

namespace sr::cuda {

namespace {

struct AxpbyOp {
  float a, b;
  const float* x;
  const float* z;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] = a * x[i] + b * z[i]; }
};
struct MulOp {
  const float* a;
  const float* b;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] = a[i] * b[i]; }
};
struct ScaleOp {
  const float* x;
  float s;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] = s * x[i]; }
};
struct AxpyInplaceOp {
  float* y;
  float a;
  const float* x;
  __device__ void operator()(int64_t i) const { y[i] += a * x[i]; }
};
struct AbsOp {
  const float* x;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] = x[i] < 0.f ? -x[i] : x[i]; }
};
struct AbsBackwardOp {
  const float* x;
  const float* dy;
  float* dx;
  __device__ void operator()(int64_t i) const { dx[i] = dy[i] * math::sign(x[i]); }
};
struct ReluOp {
  const float* x;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] = x[i] > 0.f ? x[i] : 0.f; }
};
struct SquareRootOp {
  const float* x;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] = sqrtf(x[i]); }  // correctly rounded
};
struct SquareRootBackwardOp {
  const float* y;
  const float* dy;
  float* dx;
  __device__ void operator()(int64_t i) const { dx[i] = math::square_root_grad_from_output(y[i], dy[i]); }
};
struct SigmoidOp {
  const float* x;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] = math::sigmoid(x[i]); }
};
struct SigmoidBackwardOp {
  const float* y;
  const float* dy;
  float* dx;
  __device__ void operator()(int64_t i) const { dx[i] = math::sigmoid_grad_from_output(y[i], dy[i]); }
};
struct GeluOp {
  const float* x;
  float* y;
  __device__ void operator()(int64_t i) const { y[i] = math::gelu(x[i]); }
};
struct GeluBackwardOp {
  const float* x;
  const float* dy;
  float* dx;
  __device__ void operator()(int64_t i) const { dx[i] = math::gelu_grad(x[i], dy[i]); }
};
struct ReluBackwardOp {
  const float* y;
  const float* dy;
  float* dx;
  __device__ void operator()(int64_t i) const { dx[i] = y[i] > 0.f ? dy[i] : 0.f; }
};

}  // namespace

void add(const float* a, const float* b, float* y, int64_t n) {
  launch_map("add", AxpbyOp{1.f, 1.f, a, b, y}, n);
}
void sub(const float* a, const float* b, float* y, int64_t n) {
  launch_map("sub", AxpbyOp{1.f, -1.f, a, b, y}, n);
}
void mul(const float* a, const float* b, float* y, int64_t n) { launch_map("mul", MulOp{a, b, y}, n); }
void axpby(float a, const float* x, float b, const float* z, float* y, int64_t n) {
  launch_map("axpby", AxpbyOp{a, b, x, z, y}, n);
}
void scale(const float* x, float s, float* y, int64_t n) { launch_map("scale", ScaleOp{x, s, y}, n); }
void axpy_inplace(float* y, float a, const float* x, int64_t n) {
  launch_map("axpy_", AxpyInplaceOp{y, a, x}, n);
}
void abs_forward(const float* x, float* y, int64_t n) { launch_map("abs", AbsOp{x, y}, n); }
void abs_backward(const float* x, const float* dy, float* dx, int64_t n) {
  launch_map("abs_backward", AbsBackwardOp{x, dy, dx}, n);
}
void relu_forward(const float* x, float* y, int64_t n) { launch_map("relu", ReluOp{x, y}, n); }
void relu_backward(const float* y, const float* dy, float* dx, int64_t n) {
  launch_map("relu_backward", ReluBackwardOp{y, dy, dx}, n);
}
void sigmoid_forward(const float* x, float* y, int64_t n) { launch_map("sigmoid", SigmoidOp{x, y}, n); }
void sigmoid_backward(const float* y, const float* dy, float* dx, int64_t n) {
  launch_map("sigmoid_backward", SigmoidBackwardOp{y, dy, dx}, n);
}
void gelu_forward(const float* x, float* y, int64_t n) { launch_map("gelu", GeluOp{x, y}, n); }
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n) {
  launch_map("gelu_backward", GeluBackwardOp{x, dy, dx}, n);
}
void square_root_forward(const float* x, float* y, int64_t n) { launch_map("square_root", SquareRootOp{x, y}, n); }
void square_root_backward(const float* y, const float* dy, float* dx, int64_t n) {
  launch_map("square_root_backward", SquareRootBackwardOp{y, dy, dx}, n);
}

}  // namespace sr::cuda
