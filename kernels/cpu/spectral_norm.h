// Spectral normalisation on the CPU (torch.nn.utils.spectral_norm, dim 0): W is the
// weight viewed as a (rows = out, cols = in*kh*kw) row-major matrix.
#pragma once
#include <cstdint>

namespace sr::cpu {

// `iterations` steps of v = normalize(W^T u), u = normalize(W v), in place, where
// normalize(x) = x / max(|x|_2, eps).
template <typename T>
void spectral_norm_power_iteration(const T* W, T* u, T* v, int64_t rows, int64_t cols,
                                   int iterations, double eps);

// sigma = u . (W v)
template <typename T>
double spectral_norm_sigma(const T* W, const T* u, const T* v, int64_t rows, int64_t cols);

// With g = dL/d(W/sigma): dW = g/sigma - (<g, W>/sigma^2) u v^T (u, v constants).
template <typename T>
void spectral_norm_backward(const T* W, const T* g, const T* u, const T* v, double sigma, T* dW,
                            int64_t rows, int64_t cols);

}  // namespace sr::cpu
