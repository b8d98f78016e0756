// PReLU kernels (see prelu.h).
#include "kernels/cpu/prelu.h"

#include <vector>

namespace sr::cpu {

template <typename T>
void prelu_forward(const T* x, const T* a, T* y, int64_t N, int64_t C, int64_t HW, bool shared) {
#pragma omp parallel for collapse(2) if (N * C * HW >= (1 << 15))
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const T ac = a[shared ? 0 : c];
      const T* xi = x + (n * C + c) * HW;
      T* yi = y + (n * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) yi[i] = xi[i] > T(0) ? xi[i] : ac * xi[i];
    }
}

template <typename T>
void prelu_backward(const T* x, const T* a, const T* dy, T* dx, T* da, int64_t N, int64_t C,
                    int64_t HW, bool shared) {
  // Channels are independent, so they parallelise without races on da.
  std::vector<double> acc(C, 0.0);
#pragma omp parallel for if (N * C * HW >= (1 << 15))
  for (int64_t c = 0; c < C; ++c) {
    const T ac = a[shared ? 0 : c];
    double s = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* xi = x + (n * C + c) * HW;
      const T* dyi = dy + (n * C + c) * HW;
      T* dxi = dx ? dx + (n * C + c) * HW : nullptr;
      for (int64_t i = 0; i < HW; ++i) {
        const bool pos = xi[i] > T(0);
        if (dxi) dxi[i] = pos ? dyi[i] : ac * dyi[i];
        if (!pos) s += (double)dyi[i] * (double)xi[i];
      }
    }
    acc[c] = s;
  }
  if (da)
    for (int64_t c = 0; c < C; ++c) da[shared ? 0 : c] += (T)acc[c];
}

#define SR_INSTANTIATE(T)                                                                        \
  template void prelu_forward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, bool);       \
  template void prelu_backward<T>(const T*, const T*, const T*, T*, T*, int64_t, int64_t, int64_t, \
                                  bool);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
