// Resampling kernels (see resample.h).
#include "kernels/cpu/resample.h"

#include <algorithm>
#include <vector>

#include "kernels/common/math.h"

namespace sr::cpu {

// Pixel (un)shuffle move whole rows: output row (n, c, h*r + i) of the shuffle
// interleaves the r input rows (n, c*r*r + i*r + j, h), j = 0..r-1, so the index
// arithmetic happens per row and the inner loop is a plain interleave; kR > 0 makes r a
// compile-time constant (2, 3 and 4, the factors the nets use) so that loop vectorises.
// Element-wise index division made them ~1.5x slower than PyTorch.
template <int kR, typename T>
void pixel_shuffle_r(const T* x, T* y, int64_t N, int64_t C, int64_t H, int64_t W, int r_runtime) {
  const int r = kR > 0 ? kR : r_runtime;
  const int64_t Ho = H * r, Wo = W * r;
#pragma omp parallel for collapse(2) if (N * C * Ho * Wo >= (1 << 15))
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t oh = 0; oh < Ho; ++oh) {
        const int64_t h = oh / r, i = oh % r;
        T* yrow = y + ((n * C + c) * Ho + oh) * Wo;
        const T* x0 = x + ((n * C * r * r + c * r * r + i * r) * H + h) * W;  // plane j at x0 + j*H*W
        for (int64_t w = 0; w < W; ++w)
          for (int j = 0; j < r; ++j) yrow[w * r + j] = x0[j * H * W + w];
      }
}

template <int kR, typename T>
void pixel_unshuffle_r(const T* x, T* y, int64_t N, int64_t C, int64_t H, int64_t W, int r_runtime) {
  const int r = kR > 0 ? kR : r_runtime;
  const int64_t Hi = H * r, Wi = W * r;
#pragma omp parallel for collapse(2) if (N * C * Hi * Wi >= (1 << 15))
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t ih = 0; ih < Hi; ++ih) {
        const int64_t h = ih / r, i = ih % r;
        const T* xrow = x + ((n * C + c) * Hi + ih) * Wi;
        T* y0 = y + ((n * C * r * r + c * r * r + i * r) * H + h) * W;
        for (int64_t w = 0; w < W; ++w)
          for (int j = 0; j < r; ++j) y0[j * H * W + w] = xrow[w * r + j];
      }
}

template <typename T>
void pixel_shuffle(const T* x, T* y, int64_t N, int64_t C, int64_t H, int64_t W, int r) {
  if (r == 2) return pixel_shuffle_r<2>(x, y, N, C, H, W, r);
  if (r == 3) return pixel_shuffle_r<3>(x, y, N, C, H, W, r);
  if (r == 4) return pixel_shuffle_r<4>(x, y, N, C, H, W, r);
  pixel_shuffle_r<0>(x, y, N, C, H, W, r);
}

template <typename T>
void pixel_unshuffle(const T* x, T* y, int64_t N, int64_t C, int64_t H, int64_t W, int r) {
  if (r == 2) return pixel_unshuffle_r<2>(x, y, N, C, H, W, r);
  if (r == 3) return pixel_unshuffle_r<3>(x, y, N, C, H, W, r);
  if (r == 4) return pixel_unshuffle_r<4>(x, y, N, C, H, W, r);
  pixel_unshuffle_r<0>(x, y, N, C, H, W, r);
}

// Nearest by r: y[h*r+i][w*r+j] = x[h][w], each input row written r times; the backward
// sums each r x r block of dy in row order (i, then j), the order the CUDA kernel adds in.
// kR > 0 makes r a compile-time constant (2: RRDBNet's; 3 and 4: the x3 and x4 SRVGGNetCompact
// bases) so the inner loops unroll.
template <int kR, typename T>
void upsample_nearest_forward_r(const T* x, T* y, int64_t NC, int64_t H, int64_t W, int r_runtime) {
  const int r = kR > 0 ? kR : r_runtime;
  const int64_t Wo = W * r;
#pragma omp parallel for if (NC * H * W >= (1 << 13))
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t h = 0; h < H; ++h) {
      const T* xrow = x + (p * H + h) * W;
      T* y0 = y + (p * H + h) * r * Wo;  // the first of the r output rows of input row h
      for (int64_t w = 0; w < W; ++w)
        for (int j = 0; j < r; ++j) y0[w * r + j] = xrow[w];
      for (int i = 1; i < r; ++i) std::copy(y0, y0 + Wo, y0 + i * Wo);
    }
}

template <int kR, typename T>
void upsample_nearest_backward_r(const T* dy, T* dx, int64_t NC, int64_t H, int64_t W, int r_runtime) {
  const int r = kR > 0 ? kR : r_runtime;
  const int64_t Wo = W * r;
#pragma omp parallel for if (NC * H * W >= (1 << 13))
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t h = 0; h < H; ++h) {
      const T* dy0 = dy + (p * H + h) * r * Wo;
      T* dxrow = dx + (p * H + h) * W;
      for (int64_t w = 0; w < W; ++w) {
        T acc = T(0);
        for (int i = 0; i < r; ++i)
          for (int j = 0; j < r; ++j) acc += dy0[i * Wo + w * r + j];
        dxrow[w] = acc;
      }
    }
}

template <typename T>
void upsample_nearest_forward(const T* x, T* y, int64_t NC, int64_t H, int64_t W, int r) {
  if (r == 2) return upsample_nearest_forward_r<2>(x, y, NC, H, W, r);
  if (r == 3) return upsample_nearest_forward_r<3>(x, y, NC, H, W, r);
  if (r == 4) return upsample_nearest_forward_r<4>(x, y, NC, H, W, r);
  upsample_nearest_forward_r<0>(x, y, NC, H, W, r);
}

template <typename T>
void upsample_nearest_backward(const T* dy, T* dx, int64_t NC, int64_t H, int64_t W, int r) {
  if (r == 2) return upsample_nearest_backward_r<2>(dy, dx, NC, H, W, r);
  if (r == 3) return upsample_nearest_backward_r<3>(dy, dx, NC, H, W, r);
  if (r == 4) return upsample_nearest_backward_r<4>(dy, dx, NC, H, W, r);
  upsample_nearest_backward_r<0>(dy, dx, NC, H, W, r);
}

namespace {

// 1 / r as PyTorch keeps it (in the tensor's type), the step of the source coordinate per
// output index.
template <typename T>
T inverse_factor(int r) {
  return (T)(1.0 / r);
}

// Separable: each source row is interpolated horizontally once into a scratch row pair,
// then every output row is (1 - lh) * upper + lh * lower, a plain vector loop. At x2 the
// interior taps are fixed: out[2k] = 0.25 a[k-1] + 0.75 a[k], out[2k+1] = 0.75 a[k] +
// 0.25 a[k+1]; the two edge columns take bilinear_taps. The arithmetic per element is the
// same as evaluating (1-lh)((1-lw)a + lw b) + lh((1-lw)c + lw d) directly (0.25 and 0.75
// are exact), without recomputing the taps per element (was ~2x PyTorch). Other factors
// read each output column's taps from a table made once per call.
template <typename T>
void bilinear2x_row(const T* a, T* out, int64_t W) {
  const int64_t Wo = 2 * W;
  auto edge = [&](int64_t ow) {
    int w0, w1;
    T lw;
    math::bilinear_taps((int)ow, (int)W, T(0.5), w0, w1, lw);
    out[ow] = (T(1) - lw) * a[w0] + lw * a[w1];
  };
  edge(0);
#pragma omp simd
  for (int64_t k = 1; k < W; ++k) out[2 * k] = T(0.25f) * a[k - 1] + T(0.75f) * a[k];
#pragma omp simd
  for (int64_t k = 0; k < W - 1; ++k) out[2 * k + 1] = T(0.75f) * a[k] + T(0.25f) * a[k + 1];
  edge(Wo - 1);
}

template <typename T>
struct Taps {
  std::vector<int> i0, i1;
  std::vector<T> w1;
};

template <typename T>
Taps<T> bilinear_tap_table(int64_t out_size, int64_t in_size, int r) {
  Taps<T> t;
  t.i0.resize(out_size);
  t.i1.resize(out_size);
  t.w1.resize(out_size);
  for (int64_t o = 0; o < out_size; ++o)
    math::bilinear_taps((int)o, (int)in_size, inverse_factor<T>(r), t.i0[o], t.i1[o], t.w1[o]);
  return t;
}

template <typename T>
void bilinear_row(const T* a, T* out, int64_t W, int r, const Taps<T>& cols) {
  if (r == 2) return bilinear2x_row(a, out, W);
  for (int64_t ow = 0; ow < W * r; ++ow) {
    const T lw = cols.w1[ow];
    out[ow] = (T(1) - lw) * a[cols.i0[ow]] + lw * a[cols.i1[ow]];
  }
}

}  // namespace

template <typename T>
void upsample_bilinear_forward(const T* x, T* y, int64_t NC, int64_t H, int64_t W, int r) {
  const int64_t Ho = r * H, Wo = r * W;
  const Taps<T> cols = bilinear_tap_table<T>(Wo, W, r), rows_taps = bilinear_tap_table<T>(Ho, H, r);
#pragma omp parallel if (NC * H * W >= (1 << 13))
  {
    std::vector<T> rows(2 * Wo);  // horizontally interpolated source rows h0, h1
#pragma omp for
    for (int64_t p = 0; p < NC; ++p) {
      const T* xp = x + p * H * W;
      T* yp = y + p * Ho * Wo;
      int have0 = -1, have1 = -1;  // source rows now in rows[0..Wo) and rows[Wo..2Wo)
      for (int64_t oh = 0; oh < Ho; ++oh) {
        const int h0 = rows_taps.i0[oh], h1 = rows_taps.i1[oh];
        const T lh = rows_taps.w1[oh];
        if (have0 != h0) {
          if (have1 == h0) std::copy(rows.begin() + Wo, rows.end(), rows.begin());
          else bilinear_row(xp + h0 * W, rows.data(), W, r, cols);
          have0 = h0;
        }
        if (have1 != h1) {
          bilinear_row(xp + h1 * W, rows.data() + Wo, W, r, cols);
          have1 = h1;
        }
        const T* r0 = rows.data();
        const T* r1 = rows.data() + Wo;
        T* yrow = yp + oh * Wo;
        const T a = T(1) - lh, b = lh;
#pragma omp simd
        for (int64_t ow = 0; ow < Wo; ++ow) yrow[ow] = a * r0[ow] + b * r1[ow];
      }
    }
  }
}

template <typename T>
void upsample_bilinear_backward(const T* dy, T* dx, int64_t NC, int64_t H, int64_t W, int r) {
  const int64_t Ho = r * H, Wo = r * W;
  const Taps<T> cols = bilinear_tap_table<T>(Wo, W, r), rows_taps = bilinear_tap_table<T>(Ho, H, r);
#pragma omp parallel for if (NC * H * W >= (1 << 13))
  for (int64_t p = 0; p < NC; ++p) {
    const T* dyp = dy + p * Ho * Wo;
    T* dxp = dx + p * H * W;
    std::fill(dxp, dxp + H * W, T(0));
    for (int64_t oh = 0; oh < Ho; ++oh) {
      const int h0 = rows_taps.i0[oh], h1 = rows_taps.i1[oh];
      const T lh = rows_taps.w1[oh];
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const int w0 = cols.i0[ow], w1 = cols.i1[ow];
        const T lw = cols.w1[ow];
        const T g = dyp[oh * Wo + ow];
        dxp[h0 * W + w0] += (T(1) - lh) * (T(1) - lw) * g;
        dxp[h0 * W + w1] += (T(1) - lh) * lw * g;
        dxp[h1 * W + w0] += lh * (T(1) - lw) * g;
        dxp[h1 * W + w1] += lh * lw * g;
      }
    }
  }
}

#define SR_INSTANTIATE(T)                                                                   \
  template void pixel_shuffle<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, int);     \
  template void pixel_unshuffle<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, int);   \
  template void upsample_nearest_forward<T>(const T*, T*, int64_t, int64_t, int64_t, int);   \
  template void upsample_nearest_backward<T>(const T*, T*, int64_t, int64_t, int64_t, int);  \
  template void upsample_bilinear_forward<T>(const T*, T*, int64_t, int64_t, int64_t, int);  \
  template void upsample_bilinear_backward<T>(const T*, T*, int64_t, int64_t, int64_t, int);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
