// Batch normalisation on CUDA (nn.BatchNorm2d): the twin of kernels/cpu/batch_norm.h.
// The per-channel mean and 1/std the backward needs stay on the device (C doubles each, held
// by the op, engine/ops_batch_norm.cpp): nothing is read back. Per-channel sums are deterministic
// (chunked double partials added in a fixed order, as reduce.h).
#pragma once
#include <cstdint>

namespace sr::cuda {

// training: batch mean and biased variance (two passes, double), running statistics updated
// in place when given (running_var with the unbiased M/(M-1) factor); eval: the running
// statistics. invstd = 1/sqrt(var + eps); y = (x - mean) * invstd * gamma + beta.
// gamma, beta and the running pointers may be null (running ones only in training).
// mean / invstd (C doubles each, device memory) receive the statistics used.
void batch_norm_forward(const float* x, const float* gamma, const float* beta, float* y,
                        float* running_mean, float* running_var, int64_t N, int64_t C, int64_t HW,
                        bool training, double momentum, double eps, double* mean, double* invstd);

// dgamma[c] += sum dy * xhat, dbeta[c] += sum dy; dx as cpu::batch_norm_backward (training:
// through the batch statistics; eval: invstd * gamma * dy). Any output may be null.
// mean / invstd: the forward's, on the device.
void batch_norm_backward(const float* x, const float* dy, const double* mean, const double* invstd,
                         const float* gamma, float* dx, float* dgamma,
                         float* dbeta, int64_t N, int64_t C, int64_t HW, bool training);

}  // namespace sr::cuda
