// ECB re-parameterisation on the CPU (see ecb_reparameterize.h). Every element is the double sum
// kernels/common/ecb_reparameterize.h defines, its terms added in that order (the order the CUDA
// kernels use, one element a thread). The bias side, and the small edge gradients, are those
// formulas element by element. The three big sums, K's over m, dk0's over (o, t) and dk1's over
// i (4.7 M multiply-adds each for ECBSR m16c64's block), run over a row of elements at once, i
// or m contiguous, so that they vectorise: 7x faster than an element at a time at one thread.
// (Whether a compiler fuses a multiply-add differs between these loops, the formulas' and
// nvcc's, so the last bits of a double sum may differ; float results round the same double.)
#include "kernels/cpu/ecb_reparameterize.h"

#include <algorithm>
#include <vector>

namespace sr::cpu {

namespace {

// out[j] = f(j) for j < n, over the threads when n is large enough to pay for them.
template <typename T, typename F>
void fill(T* out, int64_t n, F&& f) {
  if (!out) return;
#pragma omp parallel for schedule(static) if (n > 4096)
  for (int64_t j = 0; j < n; ++j) out[j] = f(j);
}

}  // namespace

template <typename T>
void ecb_weight_forward(const EcbBranches<T>& p, const EcbShape& s, T* K) {
  const int64_t O = s.out_channels, I = s.in_channels, M = s.mid_channels;
  // One output channel o per task: acc[t I + i] holds K[o, i, t] in double while W, then the
  // m terms in order, then the edge terms in order, then the identity tap are added.
#pragma omp parallel for schedule(static) if (O * I * M > 16384)
  for (int64_t o = 0; o < O; ++o) {
    std::vector<double> acc(9 * I);
    for (int64_t i = 0; i < I; ++i)
      for (int t = 0; t < 9; ++t) acc[t * I + i] = (double)p.conv3x3[(o * I + i) * 9 + t];
    for (int64_t m = 0; m < M; ++m) {
      const T* k0m = p.k0 + m * I;
      for (int t = 0; t < 9; ++t) {
        const double c = (double)p.k1[(o * M + m) * 9 + t];
        double* a = acc.data() + t * I;
#pragma omp simd
        for (int64_t i = 0; i < I; ++i) a[i] += c * (double)k0m[i];
      }
    }
    for (int e = 0; e < kEcbEdges; ++e)
      for (int t = 0; t < 9; ++t) {
        const double c = (double)p.edge_scale[e][o] * (double)p.edge_mask[e][o * 9 + t];
        const T* k0e = p.edge_k0[e] + o * I;
        double* a = acc.data() + t * I;
        for (int64_t i = 0; i < I; ++i) a[i] += c * (double)k0e[i];
      }
    if (s.identity) acc[4 * I + o] += 1.0;
    for (int64_t i = 0; i < I; ++i)
      for (int t = 0; t < 9; ++t) K[(o * I + i) * 9 + t] = (T)acc[t * I + i];
  }
}

template <typename T>
void ecb_bias_forward(const EcbBranches<T>& p, const EcbShape& s, T* B) {
  fill(B, s.out_channels, [&](int64_t o) { return ecb::bias_at(p, s, o); });
}

template <typename T>
void ecb_weight_backward(const EcbBranches<T>& p, const EcbShape& s, const T* gK, const EcbGrads<T>& g) {
  const int64_t O = s.out_channels, I = s.in_channels, M = s.mid_channels;
  fill(g.conv3x3, O * I * 9, [&](int64_t j) { return gK[j]; });
  if (g.k0) {
    // dk0[m, i] = sum_o sum_t gK[o, i, t] k1[o, m, t], (o, t) in order: for each m the I sums
    // advance together, reading gK transposed to (O, 9, I) so that i is contiguous.
    std::vector<double> gkt(O * 9 * I);
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < I; ++i)
        for (int t = 0; t < 9; ++t) gkt[(o * 9 + t) * I + i] = (double)gK[(o * I + i) * 9 + t];
#pragma omp parallel for schedule(static) if (O * I * M > 16384)
    for (int64_t m = 0; m < M; ++m) {
      std::vector<double> acc(I, 0.0);
      for (int64_t o = 0; o < O; ++o)
        for (int t = 0; t < 9; ++t) {
          const double c = (double)p.k1[(o * M + m) * 9 + t];
          const double* gr = gkt.data() + (o * 9 + t) * I;
#pragma omp simd
          for (int64_t i = 0; i < I; ++i) acc[i] += gr[i] * c;
        }
      for (int64_t i = 0; i < I; ++i) g.k0[m * I + i] = (T)acc[i];
    }
  }
  if (g.k1) {
    // dk1[o, m, t] = sum_i gK[o, i, t] k0[m, i], i in order: for each (o, t) the M sums advance
    // together over i, reading k0 transposed (I, M) so that m is contiguous.
    std::vector<double> k0t(I * M);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t i = 0; i < I; ++i) k0t[i * M + m] = (double)p.k0[m * I + i];
#pragma omp parallel for schedule(static) if (O * I * M > 16384)
    for (int64_t o = 0; o < O; ++o) {
      std::vector<double> acc(M);
      for (int t = 0; t < 9; ++t) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t i = 0; i < I; ++i) {
          const double c = (double)gK[(o * I + i) * 9 + t];
          const double* k = k0t.data() + i * M;
#pragma omp simd
          for (int64_t m = 0; m < M; ++m) acc[m] += c * k[m];
        }
        for (int64_t m = 0; m < M; ++m) g.k1[(o * M + m) * 9 + t] = (T)acc[m];
      }
    }
  }
  for (int e = 0; e < kEcbEdges; ++e) {
    fill(g.edge_k0[e], O * I, [&](int64_t j) { return ecb::weight_grad_edge_k0_at(p, s, gK, e, j); });
    fill(g.edge_scale[e], O, [&](int64_t o) { return ecb::weight_grad_edge_scale_at(p, s, gK, e, o); });
  }
}

template <typename T>
void ecb_bias_backward(const EcbBranches<T>& p, const EcbShape& s, const T* gB, const EcbGrads<T>& g) {
  const int64_t O = s.out_channels, M = s.mid_channels;
  fill(g.conv3x3_bias, O, [&](int64_t o) { return gB[o]; });
  fill(g.b1, O, [&](int64_t o) { return gB[o]; });
  fill(g.b0, M, [&](int64_t m) { return ecb::bias_grad_b0_at(p, s, gB, m); });
  fill(g.k1, O * M * 9, [&](int64_t j) { return ecb::bias_grad_k1_at(p, s, gB, j); });
  for (int e = 0; e < kEcbEdges; ++e) {
    fill(g.edge_bias[e], O, [&](int64_t o) { return gB[o]; });
    fill(g.edge_b0[e], O, [&](int64_t o) { return ecb::bias_grad_edge_b0_at(p, gB, e, o); });
    fill(g.edge_scale[e], O, [&](int64_t o) { return ecb::bias_grad_edge_scale_at(p, gB, e, o); });
  }
}

#define SR_INSTANTIATE(T)                                                                              \
  template void ecb_weight_forward<T>(const EcbBranches<T>&, const EcbShape&, T*);                     \
  template void ecb_bias_forward<T>(const EcbBranches<T>&, const EcbShape&, T*);                       \
  template void ecb_weight_backward<T>(const EcbBranches<T>&, const EcbShape&, const T*, const EcbGrads<T>&); \
  template void ecb_bias_backward<T>(const EcbBranches<T>&, const EcbShape&, const T*, const EcbGrads<T>&);
SR_INSTANTIATE(float)
SR_INSTANTIATE(double)
#undef SR_INSTANTIATE

}  // namespace sr::cpu
