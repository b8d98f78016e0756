// The edge-oriented convolution block (ECB) of ECBSR folded into one 3x3 convolution: the
// per-element formulas of the ops ecb_weight and ecb_bias (engine/ops_ecb.h), one definition
// for the CPU kernels (kernels/cpu/ecb_reparameterize.h) and the CUDA kernels
// (kernels/cuda/ecb_reparameterize.h).
//
// ECBSR (Zhang, Zeng and Zhang, "Edge-oriented Convolution Block for Real-time Super
// Resolution on Mobile Devices", ACM MM 2021; BasicSR's ecbsr_arch.py) trains each block as
// the sum of five linear branches on the same input x (I channels in, O out):
//   conv3x3:           W * x + b                                   W (O, I, 3, 3)
//   conv1x1-conv3x3:   k1 * pad_b0(k0 x + b0) + b1                 k0 (M, I), k1 (O, M, 3, 3)
//   conv1x1-{sobelx, sobely, laplacian} (edge branches e = 0, 1, 2):
//                      (s_e m_e) *dw pad_b0e(k0_e x + b0_e) + c_e  k0_e (O, I), s_e (O),
//                                                                  m_e (O, 3, 3) fixed taps
// where pad_b0 pads the 1x1 convolution's output with its bias b0 (not zeros) and *dw is the
// depthwise (per-channel) 3x3 convolution; with_idt adds x itself (I == O). Because the border
// is padded with the bias, each branch is exactly one 3x3 convolution of x with zero padding
// (the paper's re-parameterisation), and so is their sum: y = K * x + B with, for tap t of 9,
//   K[o, i, t] = W[o, i, t] + sum_m k1[o, m, t] k0[m, i] + sum_e s_e[o] m_e[o, t] k0_e[o, i]
//                + (with_idt and o == i and t == 4)
//   B[o]       = b[o] + b1[o] + sum_m b0[m] sum_t k1[o, m, t]
//                + sum_e (c_e[o] + b0_e[o] s_e[o] sum_t m_e[o, t])
// (the Sobel and Laplacian taps sum to 0, exactly in double, so the edge branches' b0_e add
// exactly 0 to B here and get a gradient of exactly 0; BasicSR's float sums leave rounding noise). Training runs this one convolution instead of the five branches
// (x is read once, not five times); the gradients reach the branch parameters through the
// transposed formulas below. Sums are in double, in the order written (m, then t, then e), on
// both devices; each output element is one thread's sum, so no result depends on threads.
#pragma once
#include <cstdint>

#include "kernels/common/math.h"

namespace sr {

constexpr int kEcbEdges = 3;  // conv1x1-sobelx, conv1x1-sobely, conv1x1-laplacian, in this order

struct EcbShape {
  int64_t out_channels = 0;  // O
  int64_t in_channels = 0;   // I
  int64_t mid_channels = 0;  // M: conv1x1-conv3x3's width (BasicSR: int(O * depth_multiplier))
  bool identity = false;     // with_idt: the input added (needs O == I)
};

// The branch tensors, contiguous, in the ops' dtype. The weight side reads conv3x3, k0, k1,
// edge_k0, edge_scale and edge_mask; the bias side conv3x3_bias, b0, k1, b1, edge_b0,
// edge_scale, edge_bias and edge_mask.
template <typename T>
struct EcbBranches {
  const T* conv3x3 = nullptr;       // W (O, I, 3, 3)
  const T* conv3x3_bias = nullptr;  // b (O)
  const T* k0 = nullptr;            // (M, I)
  const T* b0 = nullptr;            // (M)
  const T* k1 = nullptr;            // (O, M, 3, 3)
  const T* b1 = nullptr;            // (O)
  const T* edge_k0[kEcbEdges] = {};     // (O, I)
  const T* edge_b0[kEcbEdges] = {};     // (O)
  const T* edge_scale[kEcbEdges] = {};  // (O)
  const T* edge_bias[kEcbEdges] = {};   // c_e (O)
  const T* edge_mask[kEcbEdges] = {};   // (O, 3, 3)
};

// Their gradients (each may be null: not wanted). Written, not accumulated.
template <typename T>
struct EcbGrads {
  T* conv3x3 = nullptr;
  T* conv3x3_bias = nullptr;
  T* k0 = nullptr;
  T* b0 = nullptr;
  T* k1 = nullptr;
  T* b1 = nullptr;
  T* edge_k0[kEcbEdges] = {};
  T* edge_b0[kEcbEdges] = {};
  T* edge_scale[kEcbEdges] = {};
  T* edge_bias[kEcbEdges] = {};
};

namespace ecb {

// Forward. K[o, i, t] for the flat index j = (o I + i) 9 + t of K (O, I, 3, 3).
template <typename T>
SR_HD T weight_at(const EcbBranches<T>& p, const EcbShape& s, int64_t j) {
  const int64_t t = j % 9, oi = j / 9, i = oi % s.in_channels, o = oi / s.in_channels;
  double acc = (double)p.conv3x3[j];
  for (int64_t m = 0; m < s.mid_channels; ++m)
    acc += (double)p.k1[(o * s.mid_channels + m) * 9 + t] * (double)p.k0[m * s.in_channels + i];
  for (int e = 0; e < kEcbEdges; ++e)
    acc += (double)p.edge_scale[e][o] * (double)p.edge_mask[e][o * 9 + t] * (double)p.edge_k0[e][oi];
  if (s.identity && o == i && t == 4) acc += 1.0;
  return (T)acc;
}

// B[o].
template <typename T>
SR_HD T bias_at(const EcbBranches<T>& p, const EcbShape& s, int64_t o) {
  double acc = (double)p.conv3x3_bias[o] + (double)p.b1[o];
  for (int64_t m = 0; m < s.mid_channels; ++m) {
    double taps = 0;
    for (int t = 0; t < 9; ++t) taps += (double)p.k1[(o * s.mid_channels + m) * 9 + t];
    acc += (double)p.b0[m] * taps;
  }
  for (int e = 0; e < kEcbEdges; ++e) {
    double taps = 0;
    for (int t = 0; t < 9; ++t) taps += (double)p.edge_mask[e][o * 9 + t];
    acc += (double)p.edge_bias[e][o] + (double)p.edge_b0[e][o] * (double)p.edge_scale[e][o] * taps;
  }
  return (T)acc;
}

// Backward of ecb_weight, given gK (O, I, 3, 3). dW = gK is a copy.
// dk0[m, i] = sum_o sum_t gK[o, i, t] k1[o, m, t]                     (j = m I + i)
template <typename T>
SR_HD T weight_grad_k0_at(const EcbBranches<T>& p, const EcbShape& s, const T* gK, int64_t j) {
  const int64_t i = j % s.in_channels, m = j / s.in_channels;
  double acc = 0;
  for (int64_t o = 0; o < s.out_channels; ++o)
    for (int t = 0; t < 9; ++t)
      acc += (double)gK[(o * s.in_channels + i) * 9 + t] * (double)p.k1[(o * s.mid_channels + m) * 9 + t];
  return (T)acc;
}

// dk1[o, m, t] = sum_i gK[o, i, t] k0[m, i]                           (j = (o M + m) 9 + t)
template <typename T>
SR_HD T weight_grad_k1_at(const EcbBranches<T>& p, const EcbShape& s, const T* gK, int64_t j) {
  const int64_t t = j % 9, om = j / 9, m = om % s.mid_channels, o = om / s.mid_channels;
  double acc = 0;
  for (int64_t i = 0; i < s.in_channels; ++i)
    acc += (double)gK[(o * s.in_channels + i) * 9 + t] * (double)p.k0[m * s.in_channels + i];
  return (T)acc;
}

// dk0_e[o, i] = s_e[o] sum_t gK[o, i, t] m_e[o, t]                     (j = o I + i)
template <typename T>
SR_HD T weight_grad_edge_k0_at(const EcbBranches<T>& p, const EcbShape& s, const T* gK, int e, int64_t j) {
  const int64_t o = j / s.in_channels;
  double acc = 0;
  for (int t = 0; t < 9; ++t) acc += (double)gK[j * 9 + t] * (double)p.edge_mask[e][o * 9 + t];
  return (T)(acc * (double)p.edge_scale[e][o]);
}

// ds_e[o] = sum_i k0_e[o, i] sum_t gK[o, i, t] m_e[o, t]
template <typename T>
SR_HD T weight_grad_edge_scale_at(const EcbBranches<T>& p, const EcbShape& s, const T* gK, int e, int64_t o) {
  double acc = 0;
  for (int64_t i = 0; i < s.in_channels; ++i) {
    const int64_t oi = o * s.in_channels + i;
    double taps = 0;
    for (int t = 0; t < 9; ++t) taps += (double)gK[oi * 9 + t] * (double)p.edge_mask[e][o * 9 + t];
    acc += (double)p.edge_k0[e][oi] * taps;
  }
  return (T)acc;
}

// Backward of ecb_bias, given gB (O). db = db1 = dc_e = gB are copies.
// db0[m] = sum_o gB[o] sum_t k1[o, m, t]
template <typename T>
SR_HD T bias_grad_b0_at(const EcbBranches<T>& p, const EcbShape& s, const T* gB, int64_t m) {
  double acc = 0;
  for (int64_t o = 0; o < s.out_channels; ++o) {
    double taps = 0;
    for (int t = 0; t < 9; ++t) taps += (double)p.k1[(o * s.mid_channels + m) * 9 + t];
    acc += (double)gB[o] * taps;
  }
  return (T)acc;
}

// dk1[o, m, t] = gB[o] b0[m]                                          (j = (o M + m) 9 + t)
template <typename T>
SR_HD T bias_grad_k1_at(const EcbBranches<T>& p, const EcbShape& s, const T* gB, int64_t j) {
  const int64_t om = j / 9, m = om % s.mid_channels, o = om / s.mid_channels;
  return (T)((double)gB[o] * (double)p.b0[m]);
}

// db0_e[o] = gB[o] s_e[o] sum_t m_e[o, t];  ds_e[o] = gB[o] b0_e[o] sum_t m_e[o, t]
template <typename T>
SR_HD double edge_mask_sum(const EcbBranches<T>& p, int e, int64_t o) {
  double taps = 0;
  for (int t = 0; t < 9; ++t) taps += (double)p.edge_mask[e][o * 9 + t];
  return taps;
}
template <typename T>
SR_HD T bias_grad_edge_b0_at(const EcbBranches<T>& p, const T* gB, int e, int64_t o) {
  return (T)((double)gB[o] * (double)p.edge_scale[e][o] * edge_mask_sum(p, e, o));
}
template <typename T>
SR_HD T bias_grad_edge_scale_at(const EcbBranches<T>& p, const T* gB, int e, int64_t o) {
  return (T)((double)gB[o] * (double)p.edge_b0[e][o] * edge_mask_sum(p, e, o));
}

}  // namespace ecb
}  // namespace sr
