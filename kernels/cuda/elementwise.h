// Elementwise kernels on contiguous float32 CUDA buffers: the twins of
// kernels/cpu/elementwise.h (same names, same semantics, raw device pointers).
#pragma once
#include <cstdint>

namespace sr::cuda {

void add(const float* a, const float* b, float* y, int64_t n);            // y = a + b
void sub(const float* a, const float* b, float* y, int64_t n);            // y = a - b
void mul(const float* a, const float* b, float* y, int64_t n);            // y = a * b
void axpby(float a, const float* x, float b, const float* z, float* y, int64_t n);  // y = a*x + b*z
void scale(const float* x, float s, float* y, int64_t n);                 // y = s*x (y may be x)
void axpy_inplace(float* y, float a, const float* x, int64_t n);          // y += a*x
void abs_forward(const float* x, float* y, int64_t n);
void abs_backward(const float* x, const float* dy, float* dx, int64_t n);   // dx = dy*sign(x)
void relu_forward(const float* x, float* y, int64_t n);
void relu_backward(const float* y, const float* dy, float* dx, int64_t n);  // from the output
void sigmoid_forward(const float* x, float* y, int64_t n);
void sigmoid_backward(const float* y, const float* dy, float* dx, int64_t n);  // from the output
void gelu_forward(const float* x, float* y, int64_t n);                      // exact erf GELU
void gelu_backward(const float* x, const float* dy, float* dx, int64_t n);   // from the input x
void square_root_forward(const float* x, float* y, int64_t n);               // y = sqrt(x)
void square_root_backward(const float* y, const float* dy, float* dx, int64_t n);  // from the output

}  // namespace sr::cuda
