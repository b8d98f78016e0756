// Resampling kernels (see resample.h).
#include "kernels/cpu/resample.h"

#include <algorithm>

#include "kernels/common/math.h"

namespace sr::cpu {

template <typename T>
void pixel_shuffle(const T* x, T* y, int64_t N, int64_t C, int64_t H, int64_t W, int r) {
  const int64_t Ho = H * r, Wo = W * r;
#pragma omp parallel for collapse(2) if (N * C * Ho * Wo >= (1 << 15))
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t oh = 0; oh < Ho; ++oh) {
        const int64_t h = oh / r, i = oh % r;
        T* yrow = y + ((n * C + c) * Ho + oh) * Wo;
        for (int64_t ow = 0; ow < Wo; ++ow) {
          const int64_t w = ow / r, j = ow % r;
          yrow[ow] = x[((n * C * r * r + c * r * r + i * r + j) * H + h) * W + w];
        }
      }
}

template <typename T>
void pixel_unshuffle(const T* x, T* y, int64_t N, int64_t C, int64_t H, int64_t W, int r) {
  const int64_t Hi = H * r, Wi = W * r;
#pragma omp parallel for collapse(2) if (N * C * Hi * Wi >= (1 << 15))
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t ih = 0; ih < Hi; ++ih) {
        const int64_t h = ih / r, i = ih % r;
        const T* xrow = x + ((n * C + c) * Hi + ih) * Wi;
        for (int64_t iw = 0; iw < Wi; ++iw) {
          const int64_t w = iw / r, j = iw % r;
          y[((n * C * r * r + c * r * r + i * r + j) * H + h) * W + w] = xrow[iw];
        }
      }
}

template <typename T>
void upsample_nearest2x_forward(const T* x, T* y, int64_t NC, int64_t H, int64_t W) {
#pragma omp parallel for if (NC * H * W >= (1 << 13))
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t oh = 0; oh < 2 * H; ++oh) {
      const T* xrow = x + (p * H + oh / 2) * W;
      T* yrow = y + (p * 2 * H + oh) * 2 * W;
      for (int64_t ow = 0; ow < 2 * W; ++ow) yrow[ow] = xrow[ow / 2];
    }
}

template <typename T>
void upsample_nearest2x_backward(const T* dy, T* dx, int64_t NC, int64_t H, int64_t W) {
#pragma omp parallel for if (NC * H * W >= (1 << 13))
  for (int64_t p = 0; p < NC; ++p)
    for (int64_t h = 0; h < H; ++h) {
      const T* r0 = dy + (p * 2 * H + 2 * h) * 2 * W;
      const T* r1 = r0 + 2 * W;
      T* dxrow = dx + (p * H + h) * W;
      for (int64_t w = 0; w < W; ++w) dxrow[w] = r0[2 * w] + r0[2 * w + 1] + r1[2 * w] + r1[2 * w + 1];
    }
}

template <typename T>
void upsample_bilinear2x_forward(const T* x, T* y, int64_t NC, int64_t H, int64_t W) {
  const int64_t Ho = 2 * H, Wo = 2 * W;
#pragma omp parallel for if (NC * H * W >= (1 << 13))
  for (int64_t p = 0; p < NC; ++p) {
    const T* xp = x + p * H * W;
    T* yp = y + p * Ho * Wo;
    for (int64_t oh = 0; oh < Ho; ++oh) {
      int h0, h1;
      float lh;
      math::bilinear2x_taps((int)oh, (int)H, h0, h1, lh);
      for (int64_t ow = 0; ow < Wo; ++ow) {
        int w0, w1;
        float lw;
        math::bilinear2x_taps((int)ow, (int)W, w0, w1, lw);
        const T a = xp[h0 * W + w0], b = xp[h0 * W + w1], c = xp[h1 * W + w0], d = xp[h1 * W + w1];
        yp[oh * Wo + ow] = (T(1) - lh) * ((T(1) - lw) * a + lw * b) + lh * ((T(1) - lw) * c + lw * d);
      }
    }
  }
}

template <typename T>
void upsample_bilinear2x_backward(const T* dy, T* dx, int64_t NC, int64_t H, int64_t W) {
  const int64_t Ho = 2 * H, Wo = 2 * W;
#pragma omp parallel for if (NC * H * W >= (1 << 13))
  for (int64_t p = 0; p < NC; ++p) {
    const T* dyp = dy + p * Ho * Wo;
    T* dxp = dx + p * H * W;
    std::fill(dxp, dxp + H * W, T(0));
    for (int64_t oh = 0; oh < Ho; ++oh) {
      int h0, h1;
      float lh;
      math::bilinear2x_taps((int)oh, (int)H, h0, h1, lh);
      for (int64_t ow = 0; ow < Wo; ++ow) {
        int w0, w1;
        float lw;
        math::bilinear2x_taps((int)ow, (int)W, w0, w1, lw);
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
  template void upsample_nearest2x_forward<T>(const T*, T*, int64_t, int64_t, int64_t);      \
  template void upsample_nearest2x_backward<T>(const T*, T*, int64_t, int64_t, int64_t);     \
  template void upsample_bilinear2x_forward<T>(const T*, T*, int64_t, int64_t, int64_t);     \
  template void upsample_bilinear2x_backward<T>(const T*, T*, int64_t, int64_t, int64_t);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
