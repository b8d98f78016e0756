// Elementwise CPU kernels (see elementwise.h).
#include "kernels/cpu/elementwise.h"

#include "kernels/common/math.h"

namespace sr::cpu {

namespace {
constexpr int64_t kParallelMin = 1 << 15;
}

#define SR_ELEMENTWISE(expr)                               \
  _Pragma("omp parallel for simd if (n >= kParallelMin)") \
  for (int64_t i = 0; i < n; ++i) expr;

template <typename T> void add(const T* a, const T* b, T* y, int64_t n) { SR_ELEMENTWISE(y[i] = a[i] + b[i]) }
template <typename T> void sub(const T* a, const T* b, T* y, int64_t n) { SR_ELEMENTWISE(y[i] = a[i] - b[i]) }
template <typename T> void mul(const T* a, const T* b, T* y, int64_t n) { SR_ELEMENTWISE(y[i] = a[i] * b[i]) }
template <typename T> void axpby(T a, const T* x, T b, const T* z, T* y, int64_t n) {
  SR_ELEMENTWISE(y[i] = a * x[i] + b * z[i])
}
template <typename T> void scale(const T* x, T s, T* y, int64_t n) { SR_ELEMENTWISE(y[i] = s * x[i]) }
template <typename T> void axpy_inplace(T* y, T a, const T* x, int64_t n) { SR_ELEMENTWISE(y[i] += a * x[i]) }
template <typename T> void abs_forward(const T* x, T* y, int64_t n) { SR_ELEMENTWISE(y[i] = x[i] < T(0) ? -x[i] : x[i]) }
template <typename T> void abs_backward(const T* x, const T* dy, T* dx, int64_t n) {
  SR_ELEMENTWISE(dx[i] = dy[i] * math::sign(x[i]))
}
template <typename T> void relu_forward(const T* x, T* y, int64_t n) { SR_ELEMENTWISE(y[i] = x[i] > T(0) ? x[i] : T(0)) }
template <typename T> void relu_backward(const T* y, const T* dy, T* dx, int64_t n) {
  SR_ELEMENTWISE(dx[i] = y[i] > T(0) ? dy[i] : T(0))
}
template <typename T> void sigmoid_forward(const T* x, T* y, int64_t n) { SR_ELEMENTWISE(y[i] = math::sigmoid(x[i])) }
template <typename T> void sigmoid_backward(const T* y, const T* dy, T* dx, int64_t n) {
  SR_ELEMENTWISE(dx[i] = math::sigmoid_grad_from_output(y[i], dy[i]))
}
template <typename T> void gelu_forward(const T* x, T* y, int64_t n) { SR_ELEMENTWISE(y[i] = math::gelu(x[i])) }
template <typename T> void gelu_backward(const T* x, const T* dy, T* dx, int64_t n) {
  SR_ELEMENTWISE(dx[i] = math::gelu_grad(x[i], dy[i]))
}
// IEEE sqrt is correctly rounded: the same bits as CUDA's sqrtf (no fast-math build).
template <typename T> void square_root_forward(const T* x, T* y, int64_t n) { SR_ELEMENTWISE(y[i] = std::sqrt(x[i])) }
template <typename T> void square_root_backward(const T* y, const T* dy, T* dx, int64_t n) {
  SR_ELEMENTWISE(dx[i] = math::square_root_grad_from_output(y[i], dy[i]))
}
#undef SR_ELEMENTWISE

#define SR_INSTANTIATE(T)                                               \
  template void add<T>(const T*, const T*, T*, int64_t);                \
  template void sub<T>(const T*, const T*, T*, int64_t);                \
  template void mul<T>(const T*, const T*, T*, int64_t);                \
  template void axpby<T>(T, const T*, T, const T*, T*, int64_t);        \
  template void scale<T>(const T*, T, T*, int64_t);                     \
  template void axpy_inplace<T>(T*, T, const T*, int64_t);              \
  template void abs_forward<T>(const T*, T*, int64_t);                  \
  template void abs_backward<T>(const T*, const T*, T*, int64_t);       \
  template void relu_forward<T>(const T*, T*, int64_t);                 \
  template void relu_backward<T>(const T*, const T*, T*, int64_t);      \
  template void sigmoid_forward<T>(const T*, T*, int64_t);              \
  template void sigmoid_backward<T>(const T*, const T*, T*, int64_t);   \
  template void gelu_forward<T>(const T*, T*, int64_t);                 \
  template void gelu_backward<T>(const T*, const T*, T*, int64_t);      \
  template void square_root_forward<T>(const T*, T*, int64_t);          \
  template void square_root_backward<T>(const T*, const T*, T*, int64_t);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
