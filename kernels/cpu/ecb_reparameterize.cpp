// ECB re-parameterisation on the CPU (see ecb_reparameterize.h): a loop over the elements of
// each output, each element's sum from kernels/common/ecb_reparameterize.h. The largest case
// (ECBSR m16c64: O = I = 64, M = 128) is 4.7 M multiply-adds, under a millisecond a thread.
#include "kernels/cpu/ecb_reparameterize.h"

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
  fill(K, s.out_channels * s.in_channels * 9, [&](int64_t j) { return ecb::weight_at(p, s, j); });
}

template <typename T>
void ecb_bias_forward(const EcbBranches<T>& p, const EcbShape& s, T* B) {
  fill(B, s.out_channels, [&](int64_t o) { return ecb::bias_at(p, s, o); });
}

template <typename T>
void ecb_weight_backward(const EcbBranches<T>& p, const EcbShape& s, const T* gK, const EcbGrads<T>& g) {
  const int64_t O = s.out_channels, I = s.in_channels, M = s.mid_channels;
  fill(g.conv3x3, O * I * 9, [&](int64_t j) { return gK[j]; });
  fill(g.k0, M * I, [&](int64_t j) { return ecb::weight_grad_k0_at(p, s, gK, j); });
  fill(g.k1, O * M * 9, [&](int64_t j) { return ecb::weight_grad_k1_at(p, s, gK, j); });
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
