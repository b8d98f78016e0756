// Spectral normalisation on CUDA (torch.nn.utils.spectral_norm, dim 0): the twins of
// kernels/cpu/spectral_norm.h. W is the weight as a row-major (rows = out, cols = in*kh*kw)
// matrix; u (rows) and v (cols) live on the device. All sums are deterministic (fixed
// trees, no atomics), so every rank of a data-parallel run evolves identical u and v.
#pragma once
#include <cstdint>

namespace sr::cuda {

// `iterations` steps of v = normalize(W^T u), u = normalize(W v), in place;
// normalize(x) = x / max(|x|_2, eps).
void spectral_norm_power_iteration(const float* W, float* u, float* v, int64_t rows, int64_t cols,
                                   int iterations, double eps);

// sigma = u . (W v) into *sigma, one double in device memory: no host wait (a discriminator
// forward has one per SN conv, about 24 per GAN iteration).
void spectral_norm_sigma(const float* W, const float* u, const float* v, int64_t rows,
                         int64_t cols, double* sigma);

// y = W / sigma with sigma read on the device, as scale(W, 1/sigma): y = (float)(1/sigma) * W.
void spectral_norm_divide(const float* W, const double* sigma, float* y, int64_t n);

// With g = dL/d(W/sigma): dW = g/sigma - (<g, W>/sigma^2) u v^T (u, v constants; sigma on
// the device).
void spectral_norm_backward(const float* W, const float* g, const float* u, const float* v,
                            const double* sigma, float* dW, int64_t rows, int64_t cols);

}  // namespace sr::cuda
