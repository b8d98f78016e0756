// Sums and pointwise losses on the CPU, reduced deterministically: fixed blocks of
// math::kLossBlock elements summed in double, then the block sums added in order, so the
// result does not depend on the thread count.
#pragma once
#include <cstdint>

#include "kernels/common/math.h"

namespace sr::cpu {

// sum_i point_loss(kind, x[i], t[i], param); t may be null for the one-input kinds.
template <typename T>
double loss_sum(math::PointLoss kind, const T* x, const T* t, int64_t n, double param);

// dx[i] = scale * point_loss_grad(kind, x[i], t[i], param); dt[i] = -dx[i] when dt is
// non-null (difference losses only).
template <typename T>
void loss_backward(math::PointLoss kind, const T* x, const T* t, T* dx, T* dt, int64_t n,
                   double param, double scale);

}  // namespace sr::cpu
