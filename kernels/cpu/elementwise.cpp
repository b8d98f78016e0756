// Elementwise CPU kernels (see elementwise.h).
#include "kernels/cpu/elementwise.h"

#include <bit>
#include <cmath>
#include <type_traits>

#include "kernels/common/math.h"

namespace sr::cpu {

namespace {
constexpr int64_t kParallelMin = 1 << 15;

// ---- GELU in float32 -------------------------------------------------------------------------
// math::gelu's erf and exp are scalar double calls, which no loop vectorises: float tensors
// take this path instead, in float arithmetic, without branches, so the loop below becomes
// SIMD code (float64 tensors keep math::gelu, the reference). The normal CDF Phi is two pieces
// split at |x| = sqrt 2:
//   |x| <  sqrt 2: Phi(x) = 1/2 + x Pa(x^2)
//   |x| >= sqrt 2: Phi(-|x|) = exp(-x^2/2) t Qb(t), t = 1 / (1 + 0.375 |x|), Phi(|x|) = 1 - that
// (Qb: the form of Abramowitz & Stegun 7.1.26, erfc(z) = exp(-z^2) times a polynomial in
// 1 / (1 + p z), with 9 terms instead of 5, whose 1.5e-7 in erf is 0.63 eps in Phi before any
// rounding). exp(-x^2/2) also gives the density phi(x) = exp(-x^2/2) / sqrt(2 pi) of the
// backward. The coefficients are minimax fits in relative error (tools/fit_gelu_float.py:
// Lawson's algorithm on mpmath values; before rounding to float, Pa 1.2e-9, Qb 1.0e-9, Pe
// 1.9e-9). Evaluated in float, the error against float64 (eps = 2^-23 times max(|ref|, 1)),
// over every float with |x| <= 16: at most 1.04 eps for gelu and 1.14 for gelu' with FMA
// (this build's -march=native on AVX-512), 1.23 and 1.33 without (-march=x86-64); Phi alone
// 0.67 eps in tools/fit_gelu_float.py's float32 emulation; the test
// ops/gelu_float_path_matches_double_reference allows 2. For x < -sqrt 2 Phi keeps a relative
// error of at most 5.1e-6 (largest near x = -13: x^2 is rounded before exp(-x^2/2)); beyond
// x^2 / 2 = 87 (|x| > 13.19, Phi < 1e-39, subnormal) Phi and phi are returned as 0, and so is
// gelu' (whose true value there, x phi(x), is at most 1.2e-37 in magnitude).
constexpr float kGeluPa[] = {0.398942292f,   -0.0664903596f, 0.0099733742f, -0.00118678203f,
                             0.000114646929f, -8.8500974e-06f, 4.33868649e-07f};
constexpr float kGeluQb[] = {0.149599195f,  0.149722472f, 0.127091572f,  0.0968254358f, -0.0128500341f,
                             0.109333493f,  -0.257105529f, 0.182502612f, -0.0451301783f};
constexpr float kExpPe[] = {1.0f, 1.0f, 0.499999911f, 0.166664198f, 0.0416682288f, 0.00837484002f, 0.00138368155f};
constexpr float kGeluSplit = 1.41421356f;  // sqrt 2
constexpr float kGeluTScale = 0.375f;
constexpr float kInvSqrt2Pi = 0.398942280f;

template <size_t N>
inline float horner(const float (&c)[N], float v) {
  float acc = c[N - 1];
  for (size_t k = N - 1; k-- > 0;) acc = acc * v + c[k];
  return acc;
}

// exp(a) for a in [-87, 0] (a normal float result, >= 2^-126): a = n ln 2 + r with
// n = round(a / ln 2) (adding and subtracting 1.5 * 2^23 rounds to an integer), r = a - n ln 2
// with ln 2 split in two (Cody & Waite: 0.693359375 has 9 significant bits, so n times it is
// exact for n of 8 bits, and -2.12194440e-4 is the rest), |r| <= ln2 / 2; exp(a) = Pe(r) 2^n,
// 2^n made from its exponent bits.
inline float exp_nonpositive(float a) {
  const float n = (a * 1.44269504f + 12582912.f) - 12582912.f;
  const float r = (a - n * 0.693359375f) - n * -2.12194440e-4f;
  return horner(kExpPe, r) * std::bit_cast<float>(((int32_t)n + 127) << 23);
}

// Phi(x), and exp(-x^2/2) in *e (0 where it is below 2^-126). Every lane computes both pieces
// and selects; NaN selects the far piece with q = 0, so x Phi and Phi + x phi stay NaN, and at
// x = -inf or +inf (backward) inf * 0 gives NaN as math::gelu's float64 formulas do.
inline float gelu_cdf_f32(float x, float* e) {
  const float x2 = x * x;
  const float a = -0.5f * x2;
  const bool in_range = a > -87.f;  // false for NaN too
  const float ex = exp_nonpositive(in_range ? a : -87.f);
  *e = in_range ? ex : 0.f;
  const float ax = std::fabs(x);
  const float t = 1.f / (1.f + kGeluTScale * ax);
  const float q = *e * t * horner(kGeluQb, t);  // Phi(-|x|)
  const float far = x < 0.f ? q : 1.f - q;
  const float near = 0.5f + x * horner(kGeluPa, x2);
  return ax < kGeluSplit ? near : far;
}
}  // namespace

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
// gelu = x Phi(x), gelu' = Phi(x) + x phi(x): float through gelu_cdf_f32, double the reference.
template <typename T> void gelu_forward(const T* x, T* y, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    SR_ELEMENTWISE({
      float e;
      y[i] = x[i] * gelu_cdf_f32(x[i], &e);
    })
  } else {
    SR_ELEMENTWISE(y[i] = math::gelu(x[i]))
  }
}
template <typename T> void gelu_backward(const T* x, const T* dy, T* dx, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    SR_ELEMENTWISE({
      float e;
      const float cdf = gelu_cdf_f32(x[i], &e);
      dx[i] = dy[i] * (cdf + x[i] * (e * kInvSqrt2Pi));
    })
  } else {
    SR_ELEMENTWISE(dx[i] = math::gelu_grad(x[i], dy[i]))
  }
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
