// Elementwise kernels on contiguous CPU buffers (forward and the backward pieces that are
// not plain copies). Parallel over OpenMP threads for large n.
#pragma once
#include <cstdint>

namespace sr::cpu {

template <typename T> void add(const T* a, const T* b, T* y, int64_t n);           // y = a + b
template <typename T> void sub(const T* a, const T* b, T* y, int64_t n);           // y = a - b
template <typename T> void mul(const T* a, const T* b, T* y, int64_t n);           // y = a * b
template <typename T> void axpby(T a, const T* x, T b, const T* z, T* y, int64_t n);  // y = a*x + b*z
template <typename T> void scale(const T* x, T s, T* y, int64_t n);                // y = s*x
template <typename T> void axpy_inplace(T* y, T a, const T* x, int64_t n);         // y += a*x
template <typename T> void abs_forward(const T* x, T* y, int64_t n);
template <typename T> void abs_backward(const T* x, const T* dy, T* dx, int64_t n);   // dx = dy*sign(x)
template <typename T> void relu_forward(const T* x, T* y, int64_t n);
template <typename T> void relu_backward(const T* y, const T* dy, T* dx, int64_t n);  // from output
// y = 1 / (1 + exp(-x)), in the form that cannot overflow (exp of a non-positive number only).
template <typename T> void sigmoid_forward(const T* x, T* y, int64_t n);
template <typename T> void sigmoid_backward(const T* y, const T* dy, T* dx, int64_t n);  // dy y (1 - y), from output
// y = x Phi(x), the exact erf GELU (math::gelu); its backward needs x, not the output:
// dx = dy (Phi(x) + x phi(x)). float64 calls math::gelu / gelu_grad (the reference); float32
// takes a vectorised path of polynomials (elementwise.cpp), within 1.0 and 1.32 eps of it.
template <typename T> void gelu_forward(const T* x, T* y, int64_t n);
template <typename T> void gelu_backward(const T* x, const T* dy, T* dx, int64_t n);
template <typename T> void square_root_forward(const T* x, T* y, int64_t n);          // y = sqrt(x)
template <typename T> void square_root_backward(const T* y, const T* dy, T* dx, int64_t n);  // from output

}  // namespace sr::cpu
