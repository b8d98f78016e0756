// Max pooling kernels on CUDA (see pool.h). Forward: one thread per output scans its window
// with the CPU's comparison (v < x or x is NaN, and a NaN, once taken, stays). Backward: one
// thread per input element visits the windows containing it, rows i in
// [ceil((h - k + 1) / s), floor(h / s)], columns likewise, in ascending output order, and
// adds dy where the window's argmax is this element.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/pool.h"

namespace sr::cuda {

namespace {

struct MaxPoolOp {  // over the output (NC, P, Q)
  const float* x;
  float* y;
  int32_t* argmax;
  int64_t H, W, P, Q;
  int k, s;
  __device__ void operator()(int64_t o) const {
    const int64_t j = o % Q, i = (o / Q) % P, p = o / (P * Q);
    const float* xp = x + p * H * W;
    int64_t best = i * s * W + j * s;
    float v = xp[best];
    for (int di = 0; di < k; ++di)
      for (int dj = 0; dj < k; ++dj) {
        const int64_t idx = (i * s + di) * W + (j * s + dj);
        const float xv = xp[idx];
        if (xv > v || isnan(xv)) {
          if (isnan(v)) continue;
          v = xv;
          best = idx;
        }
      }
    y[o] = v;
    argmax[o] = (int32_t)best;  // < H*W <= INT32_MAX (checked by the launcher)
  }
};

struct MaxPoolBackwardOp {  // over the input (NC, H, W)
  const float* dy;
  const int32_t* argmax;
  float* dx;
  int64_t H, W, P, Q;
  int k, s;
  __device__ void operator()(int64_t e) const {
    const int64_t w = e % W, h = (e / W) % H, p = e / (H * W);
    const int32_t self = (int32_t)(h * W + w);
    const int64_t i_lo = h - k + 1 > 0 ? (h - k + 1 + s - 1) / s : 0, i_hi = min(h / s, P - 1);
    const int64_t j_lo = w - k + 1 > 0 ? (w - k + 1 + s - 1) / s : 0, j_hi = min(w / s, Q - 1);
    const int64_t base = p * P * Q;
    float acc = 0.f;
    for (int64_t i = i_lo; i <= i_hi; ++i)
      for (int64_t j = j_lo; j <= j_hi; ++j) {
        const int64_t o = base + i * Q + j;
        if (argmax[o] == self) acc += dy[o];
      }
    dx[e] = acc;
  }
};

}  // namespace

void max_pool2d_forward(const float* x, float* y, int32_t* argmax, int64_t NC, int64_t H,
                        int64_t W, int k, int s) {
  SR_CHECK(H * W <= INT32_MAX, "max_pool2d: an input plane of ", H, " x ", W,
           " pixels is too large for the int32 argmax indices (at most ", INT32_MAX, " pixels)");
  const int64_t P = (H - k) / s + 1, Q = (W - k) / s + 1, n = NC * P * Q;
  launch_map("max_pool2d", MaxPoolOp{x, y, argmax, H, W, P, Q, k, s}, n);
}

void max_pool2d_backward(const float* dy, const int32_t* argmax, float* dx, int64_t NC,
                         int64_t H, int64_t W, int64_t P, int64_t Q, int k, int s) {
  launch_map("max_pool2d_backward", MaxPoolBackwardOp{dy, argmax, dx, H, W, P, Q, k, s}, NC * H * W);
}

}  // namespace sr::cuda
