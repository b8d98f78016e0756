// Resampling kernels on CUDA (see resample.h). Every kernel is a gather: one thread per
// output element reads what it needs, so all writes are plain stores and deterministic.
//
// pixel_shuffle:   y[n][c][h*r+i][w*r+j] = x[n][c*r*r + i*r + j][h][w]
// pixel_unshuffle: the inverse permutation (and each one's backward is the other).
// nearest by r:    y[h*r+i][w*r+j] = x[h][w];  backward dx[h][w] = sum of its r x r block,
//                  added in row order (i, then j) as the CPU adds it.
// bilinear by r:   align_corners=false taps from math::bilinear_taps (shared with the CPU).
//   backward:      output row o reads input rows i0(o) <= i1(o) <= i0(o) + 1, and
//                  i0(o) = floor(max((o + 1/2) / r - 1/2, 0)), so input row h is touched only
//                  by o in [r (h - 1/2) - 1/2, r (h + 3/2) - 1/2); the kernel scans o in
//                  [r h - r, r h + 2r - 1] (clamped; at r = 2: [2h - 2, 2h + 3]) and keeps the
//                  taps that land on h, in ascending (o_row, o_col) order, which is the order
//                  in which the CPU's scatter adds them.
#include "kernels/common/math.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/resample.h"

namespace sr::cuda {

namespace {

struct PixelShuffleOp {  // over the output (N, C, H*r, W*r)
  const float* x;
  float* y;
  int64_t C, H, W;
  int r;
  __device__ void operator()(int64_t o) const {
    const int64_t Wo = W * r, Ho = H * r;
    const int64_t ow = o % Wo, oh = (o / Wo) % Ho, nc = o / (Wo * Ho);
    const int64_t c = nc % C, n = nc / C;
    const int64_t h = oh / r, i = oh % r, w = ow / r, j = ow % r;
    y[o] = x[((n * C * r * r + c * r * r + i * r + j) * H + h) * W + w];
  }
};

struct PixelUnshuffleOp {  // over the output (N, C*r*r, H, W)
  const float* x;
  float* y;
  int64_t C, H, W;
  int r;
  __device__ void operator()(int64_t o) const {
    const int64_t w = o % W, h = (o / W) % H, nc = o / (W * H);
    const int64_t crr = nc % (C * r * r), n = nc / (C * r * r);
    const int64_t c = crr / (r * r), i = (crr / r) % r, j = crr % r;
    y[o] = x[((n * C + c) * H * r + h * r + i) * W * r + w * r + j];
  }
};

struct NearestOp {  // over the output (NC, H*r, W*r)
  const float* x;
  float* y;
  int64_t H, W;
  int r;
  __device__ void operator()(int64_t o) const {
    const int64_t Wo = W * r, Ho = H * r;
    const int64_t ow = o % Wo, oh = (o / Wo) % Ho, p = o / (Wo * Ho);
    y[o] = x[(p * H + oh / r) * W + ow / r];
  }
};

struct NearestBackwardOp {  // over the input (NC, H, W)
  const float* dy;
  float* dx;
  int64_t H, W;
  int r;
  __device__ void operator()(int64_t i) const {
    const int64_t w = i % W, h = (i / W) % H, p = i / (H * W);
    const int64_t Wo = W * r;
    const float* dy0 = dy + (p * H + h) * r * Wo + w * r;
    float acc = 0.f;
    for (int a = 0; a < r; ++a)
      for (int b = 0; b < r; ++b) acc += dy0[a * Wo + b];
    dx[i] = acc;
  }
};

struct BilinearOp {  // over the output (NC, H*r, W*r)
  const float* x;
  float* y;
  int64_t H, W;
  int r;
  float inv_r;  // 1 / r in float, as the CPU and PyTorch keep it
  __device__ void operator()(int64_t o) const {
    const int64_t Wo = r * W, Ho = r * H;
    const int ow = (int)(o % Wo), oh = (int)((o / Wo) % Ho);
    const int64_t p = o / (Ho * Wo);
    int h0, h1, w0, w1;
    float lh, lw;
    math::bilinear_taps(oh, (int)H, inv_r, h0, h1, lh);
    math::bilinear_taps(ow, (int)W, inv_r, w0, w1, lw);
    const float* xp = x + p * H * W;
    const float a = xp[h0 * W + w0], b = xp[h0 * W + w1], c = xp[h1 * W + w0], d = xp[h1 * W + w1];
    y[o] = (1.f - lh) * ((1.f - lw) * a + lw * b) + lh * ((1.f - lw) * c + lw * d);
  }
};

struct BilinearBackwardOp {  // over the input (NC, H, W)
  const float* dy;
  float* dx;
  int64_t H, W;
  int r;
  float inv_r;
  __device__ void operator()(int64_t i) const {
    const int w = (int)(i % W), h = (int)((i / W) % H);
    const int64_t p = i / (H * W);
    const int Ho = r * (int)H, Wo = r * (int)W;
    const float* dyp = dy + p * (int64_t)Ho * Wo;
    // Output o reads h as its first tap when r (h + 1/2) - 1/2 <= o < r (h + 3/2) - 1/2 and as
    // its second one from r (h - 1/2) - 1/2 on: all inside [r h - r, r h + 2r - 1].
    const int oh_lo = max(r * h - r, 0), oh_hi = min(r * h + 2 * r - 1, Ho - 1);
    const int ow_lo = max(r * w - r, 0), ow_hi = min(r * w + 2 * r - 1, Wo - 1);
    float acc = 0.f;
    for (int oh = oh_lo; oh <= oh_hi; ++oh) {
      int h0, h1;
      float lh;
      math::bilinear_taps(oh, (int)H, inv_r, h0, h1, lh);
      if (h0 != h && h1 != h) continue;
      for (int ow = ow_lo; ow <= ow_hi; ++ow) {
        int w0, w1;
        float lw;
        math::bilinear_taps(ow, (int)W, inv_r, w0, w1, lw);
        if (w0 != w && w1 != w) continue;
        const float g = dyp[(int64_t)oh * Wo + ow];
        // The CPU adds the four taps of one output in this order: (h0,w0) (h0,w1) (h1,w0) (h1,w1).
        if (h0 == h && w0 == w) acc += (1.f - lh) * (1.f - lw) * g;
        if (h0 == h && w1 == w) acc += (1.f - lh) * lw * g;
        if (h1 == h && w0 == w) acc += lh * (1.f - lw) * g;
        if (h1 == h && w1 == w) acc += lh * lw * g;
      }
    }
    dx[i] = acc;
  }
};

}  // namespace

void pixel_shuffle(const float* x, float* y, int64_t N, int64_t C, int64_t H, int64_t W, int r) {
  launch_map("pixel_shuffle", PixelShuffleOp{x, y, C, H, W, r}, N * C * H * r * W * r);
}

void pixel_unshuffle(const float* x, float* y, int64_t N, int64_t C, int64_t H, int64_t W, int r) {
  launch_map("pixel_unshuffle", PixelUnshuffleOp{x, y, C, H, W, r}, N * C * r * r * H * W);
}

void upsample_nearest_forward(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int r) {
  launch_map("upsample_nearest", NearestOp{x, y, H, W, r}, NC * H * r * W * r);
}

void upsample_nearest_backward(const float* dy, float* dx, int64_t NC, int64_t H, int64_t W, int r) {
  launch_map("upsample_nearest_backward", NearestBackwardOp{dy, dx, H, W, r}, NC * H * W);
}

void upsample_bilinear_forward(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int r) {
  launch_map("upsample_bilinear", BilinearOp{x, y, H, W, r, (float)(1.0 / r)}, NC * H * r * W * r);
}

void upsample_bilinear_backward(const float* dy, float* dx, int64_t NC, int64_t H, int64_t W, int r) {
  launch_map("upsample_bilinear_backward", BilinearBackwardOp{dy, dx, H, W, r, (float)(1.0 / r)}, NC * H * W);
}

}  // namespace sr::cuda
