// Spectral norm kernels (see spectral_norm.h). The matrices are at most 512 x 4608, so
// plain loops with double accumulation are fast enough and deterministic.
#include "kernels/cpu/spectral_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sr::cpu {

namespace {
template <typename T>
void normalize(T* x, int64_t n, double eps) {
  double ss = 0;
  for (int64_t i = 0; i < n; ++i) ss += (double)x[i] * (double)x[i];
  const double inv = 1.0 / std::max(std::sqrt(ss), eps);
  for (int64_t i = 0; i < n; ++i) x[i] = (T)((double)x[i] * inv);
}
}  // namespace

template <typename T>
void spectral_norm_power_iteration(const T* W, T* u, T* v, int64_t rows, int64_t cols,
                                   int iterations, double eps) {
  std::vector<double> acc(cols);
  for (int it = 0; it < iterations; ++it) {
    // v = W^T u: accumulate rows in order.
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      const double ur = u[r];
      const T* wr = W + r * cols;
      for (int64_t c = 0; c < cols; ++c) acc[c] += ur * (double)wr[c];
    }
    for (int64_t c = 0; c < cols; ++c) v[c] = (T)acc[c];
    normalize(v, cols, eps);
    // u = W v
#pragma omp parallel for if (rows * cols >= (1 << 16))
    for (int64_t r = 0; r < rows; ++r) {
      const T* wr = W + r * cols;
      double s = 0;
      for (int64_t c = 0; c < cols; ++c) s += (double)wr[c] * (double)v[c];
      u[r] = (T)s;
    }
    normalize(u, rows, eps);
  }
}

template <typename T>
double spectral_norm_sigma(const T* W, const T* u, const T* v, int64_t rows, int64_t cols) {
  double sigma = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T* wr = W + r * cols;
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += (double)wr[c] * (double)v[c];
    sigma += (double)u[r] * s;
  }
  return sigma;
}

template <typename T>
void spectral_norm_backward(const T* W, const T* g, const T* u, const T* v, double sigma, T* dW,
                            int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  double gw = 0;
  for (int64_t i = 0; i < n; ++i) gw += (double)g[i] * (double)W[i];
  const double a = 1.0 / sigma, b = gw / (sigma * sigma);
#pragma omp parallel for if (n >= (1 << 16))
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      dW[r * cols + c] = (T)(a * (double)g[r * cols + c] - b * (double)u[r] * (double)v[c]);
}

#define SR_INSTANTIATE(T)                                                                      \
  template void spectral_norm_power_iteration<T>(const T*, T*, T*, int64_t, int64_t, int, double); \
  template double spectral_norm_sigma<T>(const T*, const T*, const T*, int64_t, int64_t);       \
  template void spectral_norm_backward<T>(const T*, const T*, const T*, const T*, double, T*,    \
                                          int64_t, int64_t);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
