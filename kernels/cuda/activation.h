// LeakyReLU and the fused bias + LeakyReLU (+ gain) on CUDA: the twins of
// kernels/cpu/activation.h (float32, contiguous NCHW device buffers).
#pragma once
#include <cstdint>

namespace sr::cuda {

void leaky_relu_forward(const float* x, float* y, int64_t n, float slope);
// dx = dy * (y > 0 ? 1 : slope), from the output.
void leaky_relu_backward(const float* y, const float* dy, float* dx, int64_t n, float slope);

// y[n][c][i] = gain * leaky_relu(x[n][c][i] + bias[c], slope); bias may be null.
void bias_leaky_relu_forward(const float* x, const float* bias, float* y, int64_t N, int64_t C,
                             int64_t HW, float slope, float gain);
// dx = gain * dy * leaky'(y); dbias[c] += sum over n, i of dx (deterministic two-pass
// per-channel reduction, reduce.h); dbias may be null.
void bias_leaky_relu_backward(const float* y, const float* dy, float* dx, float* dbias, int64_t N,
                              int64_t C, int64_t HW, float slope, float gain);

}  // namespace sr::cuda
