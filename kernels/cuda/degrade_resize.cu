// Resize of the degradation model (see degrade_resize.h): one thread per output element,
// which computes the tap indices and weights of its row and column itself (no tables) and
// sums rows(y) = sum_n wx[n] x[y][ix[n]] for each of its source rows, then
// out = sum_m wy[m] rows(iy[m]), all in double: the CPU reference (data/degrade/resize.cpp)
// computes exactly these double sums in this order, so the results are bitwise equal
// wherever the two libraries' floor / float->int conversions agree (always).
// Taps per output: bilinear 2 x 2, bicubic 4 x 4, area up to (ceil(in/out) + 1)^2
// (64 at the pipeline's smallest factor 0.15). Reads are gathers served by L1/L2; the
// double arithmetic is the cost on GPUs with slow FP64 (not on an H100/H200).
#include <cmath>

#include "kernels/common/degrade_math.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/degrade_resize.h"

namespace sr::cuda {

namespace {

struct Taps {
  int count;
  int first;  // area: the bin's first index; the others follow it
  int idx[4];  // bilinear, bicubic
  double w[4];
  double area_w;
};

// The taps of output d along an axis of `in` source and `out` output pixels (resize.cpp's
// axis_weights).
__device__ Taps axis_taps(int d, int in, int out, double r, int mode) {
  Taps t{};
  if (mode == (int)DegradeResizeMode::area) {
    const int64_t start = (int64_t)d * in / out, end = ((int64_t)(d + 1) * in + out - 1) / out;
    t.count = (int)(end - start);
    t.first = (int)start;
    t.area_w = 1.0 / (double)(end - start);
    return t;
  }
  double s = r * (d + 0.5) - 0.5;
  if (mode == (int)DegradeResizeMode::bilinear) {
    s = s < 0.0 ? 0.0 : s;
    const int i0 = min((int)s, in - 1);
    const double l = s - i0;
    t.count = 2;
    t.idx[0] = i0;
    t.idx[1] = min(i0 + 1, in - 1);
    t.w[0] = 1.0 - l;
    t.w[1] = l;
    return t;
  }
  const int i = (int)floor(s);
  const double f = s - i;
  t.count = 4;
  for (int m = -1; m <= 2; ++m) {
    const int j = i + m;
    t.idx[m + 1] = j < 0 ? 0 : (j > in - 1 ? in - 1 : j);
    t.w[m + 1] = degrade_math::cubic_weight_a075(f - m);
  }
  return t;
}

__device__ __forceinline__ int tap_index(const Taps& t, int m, int mode) {
  return mode == (int)DegradeResizeMode::area ? t.first + m : t.idx[m];
}
__device__ __forceinline__ double tap_weight(const Taps& t, int m, int mode) {
  return mode == (int)DegradeResizeMode::area ? t.area_w : t.w[m];
}

__global__ void degrade_resize_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t total, int H, int W,
                                      int OH, int OW, double ry, double rx, int mode) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t plane = i / ((int64_t)OH * OW);
    const int64_t rem = i - plane * OH * OW;
    const int oy = (int)(rem / OW), ox = (int)(rem % OW);
    const Taps ty = axis_taps(oy, H, OH, ry, mode), tx = axis_taps(ox, W, OW, rx, mode);
    const float* src = x + plane * H * W;
    double acc = 0;
    for (int m = 0; m < ty.count; ++m) {
      const float* row = src + (int64_t)tap_index(ty, m, mode) * W;
      double r = 0;
      for (int n = 0; n < tx.count; ++n) r += tap_weight(tx, n, mode) * row[tap_index(tx, n, mode)];
      acc += tap_weight(ty, m, mode) * r;
    }
    y[i] = (float)acc;
  }
}

}  // namespace

void degrade_resize(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int64_t OH, int64_t OW, double ry,
                    double rx, DegradeResizeMode mode) {
  SR_CHECK(mode == DegradeResizeMode::area || mode == DegradeResizeMode::bilinear ||
               mode == DegradeResizeMode::bicubic,
           "degrade_resize: unknown mode ", (int)mode);
  SR_CHECK(NC >= 0 && H >= 1 && W >= 1, "degrade_resize: bad input shape NC ", NC, " H ", H, " W ", W);
  SR_CHECK(OH >= 1 && OW >= 1, "degrade_resize: a ", W, "x", H, " image would become ", OW, "x", OH);
  SR_CHECK(H <= INT32_MAX / 2 && W <= INT32_MAX / 2 && OH <= INT32_MAX / 2 && OW <= INT32_MAX / 2,
           "degrade_resize: sides above 2^30 are not supported");
  SR_CHECK(std::isfinite(ry) && std::isfinite(rx) && ry > 0 && rx > 0, "degrade_resize: source pixels per output ",
           ry, " x ", rx, " must be positive");
  const int64_t total = NC * OH * OW;
  if (total == 0) return;
  launch_kernel(degrade_resize_kernel, grid_for(total), kBlock, 0, current_stream(), x, y, total, (int)H, (int)W,
                (int)OH, (int)OW, ry, rx, (int)mode);
  CUDA_CHECK_LAUNCH("degrade_resize");
}

}  // namespace sr::cuda
