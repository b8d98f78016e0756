// Batch normalisation kernels (see batch_norm.h). Channels are independent, so every
// loop parallelises over c.
#include "kernels/cpu/batch_norm.h"

namespace sr::cpu {

template <typename T>
void batch_norm_stats(const T* x, int64_t N, int64_t C, int64_t HW, double* mean, double* var) {
  const double M = double(N * HW);
#pragma omp parallel for if (N * C * HW >= (1 << 15))
  for (int64_t c = 0; c < C; ++c) {
    double s = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* xi = x + (n * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) s += xi[i];
    }
    const double m = s / M;
    double q = 0;  // two passes: no cancellation in E[x^2] - E[x]^2
    for (int64_t n = 0; n < N; ++n) {
      const T* xi = x + (n * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) q += (xi[i] - m) * (xi[i] - m);
    }
    mean[c] = m;
    var[c] = q / M;
  }
}

template <typename T>
void batch_norm_apply(const T* x, const double* mean, const double* invstd, const T* gamma,
                      const T* beta, T* y, int64_t N, int64_t C, int64_t HW) {
#pragma omp parallel for collapse(2) if (N * C * HW >= (1 << 15))
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const double g = gamma ? (double)gamma[c] : 1.0, b = beta ? (double)beta[c] : 0.0;
      const double scale = invstd[c] * g, shift = b - mean[c] * scale;
      const T* xi = x + (n * C + c) * HW;
      T* yi = y + (n * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) yi[i] = T(xi[i] * scale + shift);
    }
}

template <typename T>
void batch_norm_backward(const T* x, const T* dy, const double* mean, const double* invstd,
                         const T* gamma, T* dx, T* dgamma, T* dbeta, int64_t N, int64_t C,
                         int64_t HW, bool training) {
  const double M = double(N * HW);
#pragma omp parallel for if (N * C * HW >= (1 << 15))
  for (int64_t c = 0; c < C; ++c) {
    const double g = gamma ? (double)gamma[c] : 1.0, m = mean[c], is = invstd[c];
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* xi = x + (n * C + c) * HW;
      const T* dyi = dy + (n * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) {
        sum_dy += dyi[i];
        sum_dy_xhat += dyi[i] * (xi[i] - m) * is;
      }
    }
    if (dgamma) dgamma[c] += T(sum_dy_xhat);
    if (dbeta) dbeta[c] += T(sum_dy);
    if (!dx) continue;
    // mean_M(dxhat) = g * sum_dy / M, mean_M(dxhat * xhat) = g * sum_dy_xhat / M.
    const double a = training ? g * sum_dy / M : 0.0, b = training ? g * sum_dy_xhat / M : 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const T* xi = x + (n * C + c) * HW;
      const T* dyi = dy + (n * C + c) * HW;
      T* dxi = dx + (n * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) {
        const double xhat = (xi[i] - m) * is;
        dxi[i] = T(is * (g * dyi[i] - a - xhat * b));
      }
    }
  }
}

#define SR_INSTANTIATE(T)                                                                        \
  template void batch_norm_stats<T>(const T*, int64_t, int64_t, int64_t, double*, double*);      \
  template void batch_norm_apply<T>(const T*, const double*, const double*, const T*, const T*,   \
                                    T*, int64_t, int64_t, int64_t);                              \
  template void batch_norm_backward<T>(const T*, const T*, const double*, const double*, const T*, \
                                       T*, T*, T*, int64_t, int64_t, int64_t, bool);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
