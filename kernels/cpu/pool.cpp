// Max pooling kernels (see pool.h).
#include "kernels/cpu/pool.h"

#include <cmath>

namespace sr::cpu {

template <typename T>
void max_pool2d_forward(const T* x, T* y, int64_t* argmax, int64_t NC, int64_t H, int64_t W,
                        int k, int s) {
  const int64_t P = (H - k) / s + 1, Q = (W - k) / s + 1;
#pragma omp parallel for if (NC * H * W >= (1 << 15))
  for (int64_t p = 0; p < NC; ++p) {
    const T* xp = x + p * H * W;
    for (int64_t i = 0; i < P; ++i)
      for (int64_t j = 0; j < Q; ++j) {
        int64_t best = i * s * W + j * s;
        T v = xp[best];
        for (int di = 0; di < k; ++di)
          for (int dj = 0; dj < k; ++dj) {
            const int64_t idx = (i * s + di) * W + (j * s + dj);
            if (xp[idx] > v || std::isnan(xp[idx])) {
              if (std::isnan(v)) continue;  // the first NaN stays
              v = xp[idx];
              best = idx;
            }
          }
        y[(p * P + i) * Q + j] = v;
        argmax[(p * P + i) * Q + j] = best;
      }
  }
}

template <typename T>
void max_pool2d_backward(const T* dy, const int64_t* argmax, T* dx, int64_t NC, int64_t H, int64_t W,
                         int64_t P, int64_t Q) {
#pragma omp parallel for if (NC * H * W >= (1 << 15))
  for (int64_t p = 0; p < NC; ++p) {
    T* dxp = dx + p * H * W;
    for (int64_t i = 0; i < H * W; ++i) dxp[i] = T(0);
    for (int64_t o = 0; o < P * Q; ++o) dxp[argmax[p * P * Q + o]] += dy[p * P * Q + o];
  }
}

#define SR_INSTANTIATE(T)                                                                          \
  template void max_pool2d_forward<T>(const T*, T*, int64_t*, int64_t, int64_t, int64_t, int, int); \
  template void max_pool2d_backward<T>(const T*, const int64_t*, T*, int64_t, int64_t, int64_t,     \
                                       int64_t, int64_t);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
