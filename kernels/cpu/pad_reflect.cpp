// Reflect padding and crop on the CPU (see pad_reflect.h).
#include "kernels/cpu/pad_reflect.h"

#include <algorithm>

namespace sr::cpu {

namespace {

// m_n(i): the source of padded index i (n <= i < 2n - 1 mirrors about n - 1).
inline int64_t mirror(int64_t i, int64_t n) { return i < n ? i : 2 * (n - 1) - i; }

}  // namespace

template <typename T>
void pad_reflect_forward(const T* x, T* y, int64_t NC, int64_t H, int64_t W, int bottom, int right) {
  const int64_t Ho = H + bottom, Wo = W + right;
#pragma omp parallel for schedule(static) if (NC * Ho * Wo > 65536)
  for (int64_t r = 0; r < NC * Ho; ++r) {  // output row r = (plane p, row i)
    const int64_t p = r / Ho, i = r % Ho;
    const T* src = x + (p * H + mirror(i, H)) * W;
    T* dst = y + r * Wo;
    std::copy_n(src, W, dst);
    for (int64_t j = W; j < Wo; ++j) dst[j] = src[2 * (W - 1) - j];
  }
}

template <typename T>
void pad_reflect_backward(const T* dy, T* dx, int64_t NC, int64_t H, int64_t W, int bottom, int right) {
  const int64_t Ho = H + bottom, Wo = W + right;
#pragma omp parallel for schedule(static) if (NC * Ho * Wo > 65536)
  for (int64_t r = 0; r < NC * H; ++r) {  // dx row r = (plane p, row i)
    const int64_t p = r / H, i = r % H, i2 = 2 * (H - 1) - i;
    const T* d0 = dy + (p * Ho + i) * Wo;
    // The mirror row i2 = 2(H-1) - i is a padded row when H <= i2 < Ho.
    const T* d1 = (i2 >= H && i2 < Ho) ? dy + (p * Ho + i2) * Wo : nullptr;
    T* out = dx + r * W;
    for (int64_t j = 0; j < W; ++j) {
      const int64_t j2 = 2 * (W - 1) - j;
      const bool has_j2 = j2 >= W && j2 < Wo;
      T acc = d0[j];
      if (has_j2) acc += d0[j2];
      if (d1) {
        acc += d1[j];
        if (has_j2) acc += d1[j2];
      }
      out[j] = acc;
    }
  }
}

template <typename T>
void crop_forward(const T* x, T* y, int64_t NC, int64_t H, int64_t W, int64_t height, int64_t width) {
#pragma omp parallel for schedule(static) if (NC * height * width > 65536)
  for (int64_t r = 0; r < NC * height; ++r) {
    const int64_t p = r / height, i = r % height;
    std::copy_n(x + (p * H + i) * W, width, y + r * width);
  }
}

template <typename T>
void crop_backward(const T* dy, T* dx, int64_t NC, int64_t H, int64_t W, int64_t height, int64_t width) {
#pragma omp parallel for schedule(static) if (NC * H * W > 65536)
  for (int64_t r = 0; r < NC * H; ++r) {
    const int64_t p = r / H, i = r % H;
    T* out = dx + r * W;
    if (i < height) {
      std::copy_n(dy + (p * height + i) * width, width, out);
      std::fill(out + width, out + W, T(0));
    } else {
      std::fill(out, out + W, T(0));
    }
  }
}

#define SR_INSTANTIATE(T)                                                                        \
  template void pad_reflect_forward<T>(const T*, T*, int64_t, int64_t, int64_t, int, int);      \
  template void pad_reflect_backward<T>(const T*, T*, int64_t, int64_t, int64_t, int, int);     \
  template void crop_forward<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, int64_t);     \
  template void crop_backward<T>(const T*, T*, int64_t, int64_t, int64_t, int64_t, int64_t);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
