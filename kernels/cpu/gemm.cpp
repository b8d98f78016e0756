// Eigen-backed GEMM (see gemm.h).
#include "kernels/cpu/gemm.h"

#include <Eigen/Core>

namespace sr::cpu {

namespace {
template <typename T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstMap = Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>>;
template <typename T>
using MutMap = Eigen::Map<RowMat<T>, 0, Eigen::OuterStride<>>;
}  // namespace

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
          const T* B, int64_t ldb, T* C, int64_t ldc, bool accumulate) {
  MutMap<T> c(C, M, N, Eigen::OuterStride<>(ldc));
  if (K == 0) {
    if (!accumulate) c.setZero();
    return;
  }
  // A stored as (rows x cols) = trans_a ? (K x M) : (M x K); likewise B.
  ConstMap<T> a(A, trans_a ? K : M, trans_a ? M : K, Eigen::OuterStride<>(lda));
  ConstMap<T> b(B, trans_b ? N : K, trans_b ? K : N, Eigen::OuterStride<>(ldb));
  auto run = [&](const auto& aa, const auto& bb) {
    if (accumulate)
      c.noalias() += aa * bb;
    else
      c.noalias() = aa * bb;
  };
  if (!trans_a && !trans_b) run(a, b);
  if (!trans_a && trans_b) run(a, b.transpose());
  if (trans_a && !trans_b) run(a.transpose(), b);
  if (trans_a && trans_b) run(a.transpose(), b.transpose());
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t,
                          const float*, int64_t, float*, int64_t, bool);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, const double*, int64_t,
                           const double*, int64_t, double*, int64_t, bool);

}  // namespace sr::cpu
