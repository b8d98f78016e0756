// Deterministic loss reductions (see loss.h).
#include "kernels/cpu/loss.h"

#include <algorithm>
#include <vector>

namespace sr::cpu {

template <typename T>
double loss_sum(math::PointLoss kind, const T* x, const T* t, int64_t n, double param) {
  const int64_t blocks = (n + kLossBlock - 1) / kLossBlock;
  std::vector<double> partial(blocks, 0.0);
  const T p = (T)param;
#pragma omp parallel for if (n >= (1 << 16))
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t lo = b * kLossBlock, hi = std::min(n, lo + kLossBlock);
    double acc = 0;
    for (int64_t i = lo; i < hi; ++i) acc += (double)math::point_loss(kind, x[i], t ? t[i] : T(0), p);
    partial[b] = acc;
  }
  double total = 0;
  for (double v : partial) total += v;
  return total;
}

template <typename T>
void loss_backward(math::PointLoss kind, const T* x, const T* t, T* dx, T* dt, int64_t n,
                   double param, double scale) {
  const T p = (T)param, s = (T)scale;
#pragma omp parallel for if (n >= (1 << 15))
  for (int64_t i = 0; i < n; ++i) {
    const T g = s * math::point_loss_grad(kind, x[i], t ? t[i] : T(0), p);
    if (dx) dx[i] = g;
    if (dt) dt[i] = -g;
  }
}

template double loss_sum<float>(math::PointLoss, const float*, const float*, int64_t, double);
template double loss_sum<double>(math::PointLoss, const double*, const double*, int64_t, double);
template void loss_backward<float>(math::PointLoss, const float*, const float*, float*, float*,
                                   int64_t, double, double);
template void loss_backward<double>(math::PointLoss, const double*, const double*, double*,
                                    double*, int64_t, double, double);

}  // namespace sr::cpu
