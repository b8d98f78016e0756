// Deterministic loss reductions (see loss.h).
//
// The loss kind is a template parameter of the loops below (dispatched once per call), so
// point_loss's switch folds away and the loops vectorise: with the switch per element
// they stayed scalar, ~4-5x slower than PyTorch on the l1 backward and hinge forward.
#include "kernels/cpu/loss.h"

#include <algorithm>
#include <vector>

namespace sr::cpu {

namespace {

constexpr int64_t kSumParallelMin = 1 << 16, kBackwardParallelMin = 1 << 15;

// Sum of one block [lo, hi) in double: 8 interleaved partial sums (lane j takes elements
// lo + j, lo + j + 8, ...) added in a fixed tree at the end, so the order depends on the
// block alone, never on the thread count, and the loop runs as vector adds.
template <math::PointLoss K, bool kHasTarget, typename T>
double block_sum(const T* x, const T* t, int64_t lo, int64_t hi, T p) {
  auto f = [&](int64_t i) { return (double)math::point_loss(K, x[i], kHasTarget ? t[i] : T(0), p); };
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = lo;
  for (; i + 8 <= hi; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += f(i + j);
  double tail = 0;
  for (; i < hi; ++i) tail += f(i);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail;
}

template <math::PointLoss K, bool kHasTarget, typename T>
double sum_kind(const T* x, const T* t, int64_t n, T p) {
  const int64_t blocks = (n + math::kLossBlock - 1) / math::kLossBlock;
  std::vector<double> partial(blocks, 0.0);
#pragma omp parallel for if (n >= kSumParallelMin)
  for (int64_t b = 0; b < blocks; ++b)
    partial[b] = block_sum<K, kHasTarget>(x, t, b * math::kLossBlock, std::min(n, (b + 1) * math::kLossBlock), p);
  double total = 0;
  for (double v : partial) total += v;
  return total;
}

// dx = s * d loss / dx; dt = -dx. Which outputs exist is decided outside the loop.
template <math::PointLoss K, bool kHasTarget, typename T>
void backward_kind(const T* x, const T* t, T* dx, T* dt, int64_t n, T p, T s) {
  auto g = [&](int64_t i) { return s * math::point_loss_grad(K, x[i], kHasTarget ? t[i] : T(0), p); };
  if (dx && dt) {
#pragma omp parallel for simd if (n >= kBackwardParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      dx[i] = g(i);
      dt[i] = -dx[i];
    }
  } else if (dx) {
#pragma omp parallel for simd if (n >= kBackwardParallelMin)
    for (int64_t i = 0; i < n; ++i) dx[i] = g(i);
  } else if (dt) {
#pragma omp parallel for simd if (n >= kBackwardParallelMin)
    for (int64_t i = 0; i < n; ++i) dt[i] = -g(i);
  }
}

// Calls fn.template operator()<K, has_target>() for the runtime kind.
template <typename Fn>
auto dispatch(math::PointLoss kind, bool has_target, Fn&& fn) {
  using math::PointLoss;
#define SR_CASE(K)                                                   \
  case PointLoss::K:                                                 \
    return has_target ? fn.template operator()<PointLoss::K, true>() \
                      : fn.template operator()<PointLoss::K, false>();
  switch (kind) {
    SR_CASE(identity)
    SR_CASE(abs_diff)
    SR_CASE(sq_diff)
    SR_CASE(charbonnier)
    SR_CASE(bce)
    SR_CASE(hinge_real)
    SR_CASE(hinge_fake)
  }
#undef SR_CASE
  return fn.template operator()<PointLoss::identity, false>();  // unreachable: every kind is listed
}

}  // namespace

template <typename T>
double loss_sum(math::PointLoss kind, const T* x, const T* t, int64_t n, double param) {
  return dispatch(kind, t != nullptr,
                  [&]<math::PointLoss K, bool kHasTarget>() { return sum_kind<K, kHasTarget>(x, t, n, (T)param); });
}

template <typename T>
void loss_backward(math::PointLoss kind, const T* x, const T* t, T* dx, T* dt, int64_t n,
                   double param, double scale) {
  dispatch(kind, t != nullptr, [&]<math::PointLoss K, bool kHasTarget>() {
    backward_kind<K, kHasTarget>(x, t, dx, dt, n, (T)param, (T)scale);
  });
}

template double loss_sum<float>(math::PointLoss, const float*, const float*, int64_t, double);
template double loss_sum<double>(math::PointLoss, const double*, const double*, int64_t, double);
template void loss_backward<float>(math::PointLoss, const float*, const float*, float*, float*,
                                   int64_t, double, double);
template void loss_backward<double>(math::PointLoss, const double*, const double*, double*,
                                    double*, int64_t, double, double);

}  // namespace sr::cpu
