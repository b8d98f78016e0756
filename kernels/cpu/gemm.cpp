// GEMM dispatch (see gemm.h): the packed SGEMM for float32 where available, Eigen otherwise.
#include "kernels/cpu/gemm.h"

#include <Eigen/Core>
#include <type_traits>

#include "kernels/cpu/sgemm.h"

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
void gemm_eigen(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
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

// The one dispatch of both: float32 to the packed SGEMM where the build has SIMD, else Eigen
// and the bias in a pass of its own.
template <typename T>
void gemm_bias(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
               const T* B, int64_t ldb, T* C, int64_t ldc, bool accumulate, const T* bias) {
#if SR_CPU_SIMD
  if constexpr (std::is_same_v<T, float>)
    return sgemm_packed(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, accumulate, bias);
#endif
  gemm_eigen<T>(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
  if (bias)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] += bias[j];
}

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
          const T* B, int64_t ldb, T* C, int64_t ldc, bool accumulate) {
  gemm_bias<T>(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, accumulate, nullptr);
}

#define SR_INSTANTIATE_GEMM(T)                                                                 \
  template void gemm_bias<T>(bool, bool, int64_t, int64_t, int64_t, const T*, int64_t, const T*, \
                             int64_t, T*, int64_t, bool, const T*);                            \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, const T*, int64_t, const T*,     \
                        int64_t, T*, int64_t, bool);                                           \
  template void gemm_eigen<T>(bool, bool, int64_t, int64_t, int64_t, const T*, int64_t, const T*, \
                              int64_t, T*, int64_t, bool);
SR_INSTANTIATE_GEMM(float)
SR_INSTANTIATE_GEMM(double)
#undef SR_INSTANTIATE_GEMM

}  // namespace sr::cpu
