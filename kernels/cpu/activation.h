// LeakyReLU and the fused bias + LeakyReLU (+ gain) epilogue on the CPU.
#pragma once
#include <cstdint>

namespace sr::cpu {

template <typename T> void leaky_relu_forward(const T* x, T* y, int64_t n, T slope);
// dx = dy * (y > 0 ? 1 : slope), from the output (see kernels/common/math.h).
template <typename T> void leaky_relu_backward(const T* y, const T* dy, T* dx, int64_t n, T slope);

// y[n][c][i] = gain * leaky_relu(x[n][c][i] + bias[c]) over (N, C, HW); bias may be null.
template <typename T>
void bias_leaky_relu_forward(const T* x, const T* bias, T* y, int64_t N, int64_t C, int64_t HW,
                             T slope, T gain);
// dx = gain * dy * leaky'(y); dbias[c] += sum over n, i of dx (dbias may be null).
template <typename T>
void bias_leaky_relu_backward(const T* y, const T* dy, T* dx, T* dbias, int64_t N, int64_t C,
                              int64_t HW, T slope, T gain);

}  // namespace sr::cpu
