// LeakyReLU kernels (see activation.h).
#include "kernels/cpu/activation.h"

#include "kernels/common/math.h"

namespace sr::cpu {

template <typename T>
void leaky_relu_forward(const T* x, T* y, int64_t n, T slope) {
#pragma omp parallel for simd if (n >= (1 << 15))
  for (int64_t i = 0; i < n; ++i) y[i] = math::leaky_relu(x[i], slope);
}

template <typename T>
void leaky_relu_backward(const T* y, const T* dy, T* dx, int64_t n, T slope) {
#pragma omp parallel for simd if (n >= (1 << 15))
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * math::leaky_relu_grad_from_output(y[i], slope);
}

template <typename T>
void bias_leaky_relu_forward(const T* x, const T* bias, T* y, int64_t N, int64_t C, int64_t HW,
                             T slope, T gain) {
#pragma omp parallel for collapse(2) if (N * C * HW >= (1 << 15))
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      const T b = bias ? bias[c] : T(0);
      const T* xi = x + (n * C + c) * HW;
      T* yi = y + (n * C + c) * HW;
      for (int64_t i = 0; i < HW; ++i) yi[i] = gain * math::leaky_relu(xi[i] + b, slope);
    }
  }
}

template <typename T>
void bias_leaky_relu_backward(const T* y, const T* dy, T* dx, T* dbias, int64_t N, int64_t C,
                              int64_t HW, T slope, T gain) {
  // y = gain * leaky(z); with gain > 0, sign(y) = sign(z), so leaky'(z) comes from y.
#pragma omp parallel for if (N * C * HW >= (1 << 15))
  for (int64_t c = 0; c < C; ++c) {
    double acc = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* yi = y + (n * C + c) * HW;
      const T* dyi = dy + (n * C + c) * HW;
      T* dxi = dx + (n * C + c) * HW;
      // Two passes so that the sum vectorises: a serial `acc +=` chain is latency-bound.
      for (int64_t i = 0; i < HW; ++i) dxi[i] = gain * dyi[i] * math::leaky_relu_grad_from_output(yi[i], slope);
      if (dbias) {
        T part = 0;
#pragma omp simd reduction(+ : part)
        for (int64_t i = 0; i < HW; ++i) part += dxi[i];
        acc += (double)part;
      }
    }
    if (dbias) dbias[c] += (T)acc;
  }
}

#define SR_INSTANTIATE(T)                                                                   \
  template void leaky_relu_forward<T>(const T*, T*, int64_t, T);                            \
  template void leaky_relu_backward<T>(const T*, const T*, T*, int64_t, T);                 \
  template void bias_leaky_relu_forward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, \
                                           T, T);                                           \
  template void bias_leaky_relu_backward<T>(const T*, const T*, T*, T*, int64_t, int64_t,    \
                                            int64_t, T, T);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
