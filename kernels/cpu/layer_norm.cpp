// Layer normalisation on the CPU (see layer_norm.h).
#include "kernels/cpu/layer_norm.h"

#include <cmath>
#include <vector>

namespace sr::cpu {

namespace {

// sum_c f(c) for c < C, in double: eight interleaved partial sums (c mod 8) added in order at
// the end, so the adds are independent and vectorise (one running sum waits on each add);
// a fixed order, so the same result on every run.
template <typename F>
double row_sum(int64_t C, F f) {
  constexpr int kLanes = 8;
  double acc[kLanes] = {};
  const int64_t body = C - C % kLanes;
  for (int64_t c = 0; c < body; c += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += f(c + l);
  for (int64_t c = body; c < C; ++c) acc[c - body] += f(c);
  double total = 0;
  for (int l = 0; l < kLanes; ++l) total += acc[l];
  return total;
}

}  // namespace

template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd, int64_t M, int64_t C,
                        double eps) {
#pragma omp parallel for schedule(static) if (M * C > 65536)
  for (int64_t r = 0; r < M; ++r) {
    const T* xr = x + r * C;
    // Two passes in double: the mean first, then the squared deviations from it (no
    // E[x^2] - E[x]^2 cancellation when |mean| >> std).
    const double mu = row_sum(C, [&](int64_t c) { return (double)xr[c]; }) / (double)C;
    const double var = row_sum(C, [&](int64_t c) {
                         const double d = (double)xr[c] - mu;
                         return d * d;
                       }) / (double)C;
    const double rs = 1.0 / std::sqrt(var + eps);
    mean[r] = (T)mu;
    rstd[r] = (T)rs;
    T* yr = y + r * C;
    for (int64_t c = 0; c < C; ++c) {
      const double xhat = ((double)xr[c] - mu) * rs;
      yr[c] = (T)(xhat * (weight ? (double)weight[c] : 1.0) + (bias ? (double)bias[c] : 0.0));
    }
  }
}

template <typename T>
void layer_norm_backward(const T* x, const T* weight, const T* mean, const T* rstd, const T* dy, T* dx, T* dweight,
                         T* dbias, int64_t M, int64_t C) {
  // Rows in blocks of kLayerNormRowChunk: block k writes its dw, db column sums to partial row
  // k (double), summed in block order below, so the result does not depend on the threads.
  const bool columns = dweight || dbias;
  const int64_t chunks = (M + kLayerNormRowChunk - 1) / kLayerNormRowChunk;
  std::vector<double> pw(columns ? chunks * C : 0), pb(columns ? chunks * C : 0);
#pragma omp parallel for schedule(static) if (M * C > 65536)
  for (int64_t k = 0; k < chunks; ++k) {
    const int64_t r1 = (k + 1) * kLayerNormRowChunk < M ? (k + 1) * kLayerNormRowChunk : M;
    double* cw = columns ? pw.data() + k * C : nullptr;
    double* cb = columns ? pb.data() + k * C : nullptr;
    for (int64_t r = k * kLayerNormRowChunk; r < r1; ++r) {
      const T* xr = x + r * C;
      const T* gr = dy + r * C;
      const double mu = (double)mean[r], rs = (double)rstd[r];
      auto xhat = [&](int64_t c) { return ((double)xr[c] - mu) * rs; };
      auto g = [&](int64_t c) { return weight ? (double)gr[c] * (double)weight[c] : (double)gr[c]; };
      if (columns)
        for (int64_t c = 0; c < C; ++c) {
          cw[c] += (double)gr[c] * xhat(c);  // dy xhat
          cb[c] += (double)gr[c];
        }
      if (!dx) continue;
      // mean_c g and mean_c g xhat, g = dy w: the projections dx removes (the gradient of the
      // row's shift and scale).
      const double mg = row_sum(C, g) / (double)C;
      const double mgx = row_sum(C, [&](int64_t c) { return g(c) * xhat(c); }) / (double)C;
      T* dxr = dx + r * C;
      for (int64_t c = 0; c < C; ++c) dxr[c] = (T)(rs * (g(c) - mg - xhat(c) * mgx));
    }
  }
  if (!columns) return;
#pragma omp parallel for schedule(static) if (chunks * C > 65536)
  for (int64_t c = 0; c < C; ++c) {
    double w = 0, b = 0;
    for (int64_t k = 0; k < chunks; ++k) {
      w += pw[k * C + c];
      b += pb[k * C + c];
    }
    if (dweight) dweight[c] = (T)w;
    if (dbias) dbias[c] = (T)b;
  }
}

#define SR_INSTANTIATE(T)                                                                                         \
  template void layer_norm_forward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, double);      \
  template void layer_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*, int64_t, \
                                       int64_t);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
