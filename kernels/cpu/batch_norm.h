// Batch normalisation on the CPU (nn.BatchNorm2d), per channel c of NCHW over the
// M = N*H*W values of that channel:
//   training: mean_c, var_c = biased batch statistics; y = (x - mean_c) * invstd_c * g_c + b_c
//             with invstd_c = 1 / sqrt(var_c + eps)
//   eval:     the same with the running statistics.
#pragma once
#include <cstdint>

namespace sr::cpu {

// Batch statistics of x (N, C, HW): mean[c] and biased var[c], accumulated in double.
template <typename T>
void batch_norm_stats(const T* x, int64_t N, int64_t C, int64_t HW, double* mean, double* var);

// y = (x - mean[c]) * invstd[c] * gamma[c] + beta[c]; gamma/beta may be null (1 and 0).
template <typename T>
void batch_norm_apply(const T* x, const double* mean, const double* invstd, const T* gamma,
                      const T* beta, T* y, int64_t N, int64_t C, int64_t HW);

// Backward. With xhat = (x - mean) * invstd and dxhat = dy * gamma:
//   training (statistics depend on x):
//     dx = invstd * (dxhat - mean_M(dxhat) - xhat * mean_M(dxhat * xhat))
//   eval (statistics are constants): dx = invstd * dxhat
//   dgamma[c] += sum(dy * xhat), dbeta[c] += sum(dy).
// Any of dx, dgamma, dbeta may be null.
template <typename T>
void batch_norm_backward(const T* x, const T* dy, const double* mean, const double* invstd,
                         const T* gamma, T* dx, T* dgamma, T* dbeta, int64_t N, int64_t C,
                         int64_t HW, bool training);

}  // namespace sr::cpu
