// Elementwise math shared by the CPU and CUDA kernels: one definition, compiled for both.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define SR_HD __host__ __device__ __forceinline__
#else
#define SR_HD inline
#endif

// SR_DEVICE_CODE: the device branch of a host/device function is being compiled: nvcc's
// device pass, or the SIMT interpreter build (kernels/simt/), which compiles the device
// branches (intrinsics, inline PTX wrappers) for the CPU so that CI runs them.
#if defined(__CUDA_ARCH__) || defined(SRENGINE_SIMT)
#define SR_DEVICE_CODE 1
#endif

namespace sr::math {

// The block of the deterministic sums (losses, dot products): kLossBlock elements are summed
// per block, then the block sums in order, on the CPU and on CUDA alike, so both devices
// reduce in the same order whatever their thread counts.
constexpr int64_t kLossBlock = 8192;

template <typename T>
SR_HD T leaky_relu(T x, T slope) {
  return x > T(0) ? x : x * slope;
}

// d leaky_relu / dx recovered from the output alone: y > 0 exactly when x > 0 (slope > 0),
// and at x == 0 PyTorch uses the slope too, so no pre-activation needs saving.
template <typename T>
SR_HD T leaky_relu_grad_from_output(T y, T slope) {
  return y > T(0) ? T(1) : slope;
}

// d sqrt(x) / dx = 1 / (2 sqrt(x)) from the output y = sqrt(x). At y = 0 the divisor is
// held at 2e-30 (finite): a norm of zeros, sqrt(sum(d^2)), then passes 0 back through d^2
// (torch.norm's gradient there) where the exact inf would give inf * 0 = NaN.
template <typename T>
SR_HD T square_root_grad_from_output(T y, T dy) {
  return dy / (T(2) * (y > T(1e-30) ? y : T(1e-30)));
}

template <typename T>
SR_HD T sign(T x) {
  return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
}

// Numerically stable BCE-with-logits for one element with label t:
// max(x, 0) - x*t + log(1 + exp(-|x|)); its derivative is sigmoid(x) - t.
template <typename T>
SR_HD T bce_with_logits(T x, T t) {
  return (x > T(0) ? x : T(0)) - x * t + log1p(exp(-fabs(x)));
}
template <typename T>
SR_HD T sigmoid(T x) {
  return x >= T(0) ? T(1) / (T(1) + exp(-x)) : exp(x) / (T(1) + exp(x));
}
// d sigmoid / dx = y (1 - y) from the output y = sigmoid(x).
template <typename T>
SR_HD T sigmoid_grad_from_output(T y, T dy) {
  return dy * y * (T(1) - y);
}

// GELU, the exact form (F.gelu with approximate='none'): gelu(x) = x Phi(x), Phi the standard
// normal CDF, Phi(x) = (1 + erf(x / sqrt(2))) / 2. Its derivative needs x (not the output):
// d gelu / dx = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi) the normal density.
template <typename T>
SR_HD T gelu(T x) {
  return T(0.5) * x * (T(1) + erf(x * T(0.70710678118654752440)));  // 1 / sqrt(2)
}
template <typename T>
SR_HD T gelu_grad(T x, T dy) {
  const T cdf = T(0.5) * (T(1) + erf(x * T(0.70710678118654752440)));
  const T pdf = T(0.39894228040143267794) * exp(T(-0.5) * x * x);  // 1 / sqrt(2 pi)
  return dy * (cdf + x * pdf);
}

// Bilinear upsampling by an integer factor r with align_corners=false (PyTorch's
// interpolate(scale_factor=r, mode='bilinear')): output index o maps to the source coordinate
// (o + 0.5) * inv_r - 0.5, clamped at 0, where inv_r is 1 / r rounded to the tensor's type A
// and the coordinate is computed in float64 from it, as PyTorch computes it; the weight of the
// second tap is its fraction, rounded to A. At r = 2 and 4 every value is exact; at r = 3 the
// float32 weights follow PyTorch's (not those of a float32 coordinate), and the float64 ones
// too. Returns the two taps and the weight of the second one.
template <typename A>
SR_HD void bilinear_taps(int o, int in_size, A inv_r, int& i0, int& i1, A& w1) {
  double src = (o + 0.5) * (double)inv_r - 0.5;
  if (src < 0.0) src = 0.0;
  i0 = (int)src;
  if (i0 > in_size - 1) i0 = in_size - 1;
  i1 = i0 + 1 < in_size ? i0 + 1 : in_size - 1;
  w1 = (A)(src - (double)i0);
}

}  // namespace sr::math

namespace sr::math {

// Pointwise loss terms, reduced by a sum (and divided by n for the mean) in the kernels.
// `param` is the Charbonnier eps or the BCE target label.
enum class PointLoss : int { identity = 0, abs_diff, sq_diff, charbonnier, bce, hinge_real, hinge_fake };

template <typename T>
SR_HD T point_loss(PointLoss kind, T x, T t, T param) {
  switch (kind) {
    case PointLoss::identity: return x;
    case PointLoss::abs_diff: return fabs(x - t);
    case PointLoss::sq_diff: return (x - t) * (x - t);
    case PointLoss::charbonnier: return sqrt((x - t) * (x - t) + param);
    case PointLoss::bce: return bce_with_logits(x, param);
    case PointLoss::hinge_real: return x < T(1) ? T(1) - x : T(0);
    case PointLoss::hinge_fake: return x > T(-1) ? T(1) + x : T(0);
  }
  return T(0);
}

// d point_loss / dx (the target gradient is its negative for the difference losses).
template <typename T>
SR_HD T point_loss_grad(PointLoss kind, T x, T t, T param) {
  switch (kind) {
    case PointLoss::identity: return T(1);
    case PointLoss::abs_diff: return sign(x - t);
    case PointLoss::sq_diff: return T(2) * (x - t);
    case PointLoss::charbonnier: return (x - t) / sqrt((x - t) * (x - t) + param);
    case PointLoss::bce: return sigmoid(x) - param;
    case PointLoss::hinge_real: return x < T(1) ? T(-1) : T(0);
    case PointLoss::hinge_fake: return x > T(-1) ? T(1) : T(0);
  }
  return T(0);
}

}  // namespace sr::math
