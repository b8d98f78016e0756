// CPU convolution: which kernel runs a Conv2dShape (conv2d.h). float32 goes to the fast
// kernels (AVX512-BF16, rounded-operand, implicit-GEMM SIMD) when the build and the shape's
// precision allow; everything else, float64 included, to the im2col reference
// (conv2d_reference.cpp).
#include "kernels/cpu/conv2d.h"

#include <type_traits>

#include "kernels/cpu/conv2d_bf16.h"
#include "kernels/cpu/conv2d_implicit.h"
#include "kernels/cpu/conv2d_rounded.h"
#include "kernels/cpu/simd.h"

namespace sr::cpu {

// float32 takes the bf16 kernels or the rounded-operand (tf32, fp16) kernels when the shape
// asks for them, else the implicit-GEMM kernels where the build has them; float64 ignores
// the precision (gradient checks stay exact).
template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  if constexpr (std::is_same_v<T, float>)
    if (s.precision == Precision::bf16) return conv2d_forward_bf16(s, x, w, bias, y);
  if constexpr (std::is_same_v<T, float>)
    if (s.precision == Precision::tf32 || s.precision == Precision::fp16)
      return conv2d_forward_rounded(s, x, w, bias, y);
#if SR_CPU_SIMD
  if constexpr (std::is_same_v<T, float>) return conv2d_forward_implicit(s, x, w, bias, y);
#endif
  conv2d_forward_im2col(s, x, w, bias, y);
}

template <typename T>
void conv2d_backward_data(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  if constexpr (std::is_same_v<T, float>)
    if (s.precision == Precision::bf16) return conv2d_backward_data_bf16(s, dy, w, dx);
  if constexpr (std::is_same_v<T, float>)
    if (s.precision == Precision::tf32 || s.precision == Precision::fp16)
      return conv2d_backward_data_rounded(s, dy, w, dx);
#if SR_CPU_SIMD
  if constexpr (std::is_same_v<T, float>) return conv2d_backward_data_implicit(s, dy, w, dx);
#endif
  conv2d_backward_data_im2col(s, dy, w, dx);
}

template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* dbias) {
  if constexpr (std::is_same_v<T, float>)
    if (s.precision == Precision::bf16) return conv2d_backward_weight_bf16(s, x, dy, dw, dbias);
  if constexpr (std::is_same_v<T, float>)
    if (s.precision == Precision::tf32 || s.precision == Precision::fp16)
      return conv2d_backward_weight_rounded(s, x, dy, dw, dbias);
#if SR_CPU_SIMD
  if constexpr (std::is_same_v<T, float>) return conv2d_backward_weight_implicit(s, x, dy, dw, dbias);
#endif
  conv2d_backward_weight_im2col(s, x, dy, dw, dbias);
}

#define SR_INSTANTIATE_CONV(T)                                                              \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*);   \
  template void conv2d_backward_data<T>(const Conv2dShape&, const T*, const T*, T*);       \
  template void conv2d_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*, T*);
SR_INSTANTIATE_CONV(float)
SR_INSTANTIATE_CONV(double)
#undef SR_INSTANTIATE_CONV

}  // namespace sr::cpu
