// ECB re-parameterisation on CUDA (see ecb_reparameterize.h): one grid-stride map per output
// tensor, a thread per element, each element's double sum from
// kernels/common/ecb_reparameterize.h. The tensors are a few thousand to a few hundred
// thousand elements (ECBSR m16c64's K: 36,864, its longest sums 1,152 terms), so a map per
// tensor, launched once per block per step, is all they need.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ecb_reparameterize.h"

namespace sr::cuda {

namespace {

// The element formulas of kernels/common/ecb_reparameterize.h, by which output they fill.
enum class Part { weight, bias, copy, dk0, dk1_weight, dedge_k0, dedge_scale_weight, db0, dk1_bias, dedge_b0,
                  dedge_scale_bias };

struct EcbMap {
  EcbBranches<float> p;
  EcbShape s;
  const float* g;  // gK or gB (the backward parts)
  float* out;
  Part part;
  int e;  // the edge branch of the dedge_* parts
  __device__ void operator()(int64_t j) const {
    switch (part) {
      case Part::weight: out[j] = ecb::weight_at(p, s, j); break;
      case Part::bias: out[j] = ecb::bias_at(p, s, j); break;
      case Part::copy: out[j] = g[j]; break;
      case Part::dk0: out[j] = ecb::weight_grad_k0_at(p, s, g, j); break;
      case Part::dk1_weight: out[j] = ecb::weight_grad_k1_at(p, s, g, j); break;
      case Part::dedge_k0: out[j] = ecb::weight_grad_edge_k0_at(p, s, g, e, j); break;
      case Part::dedge_scale_weight: out[j] = ecb::weight_grad_edge_scale_at(p, s, g, e, j); break;
      case Part::db0: out[j] = ecb::bias_grad_b0_at(p, s, g, j); break;
      case Part::dk1_bias: out[j] = ecb::bias_grad_k1_at(p, s, g, j); break;
      case Part::dedge_b0: out[j] = ecb::bias_grad_edge_b0_at(p, g, e, j); break;
      case Part::dedge_scale_bias: out[j] = ecb::bias_grad_edge_scale_at(p, g, e, j); break;
    }
  }
};

void run(const char* name, const EcbBranches<float>& p, const EcbShape& s, const float* g, float* out, Part part,
         int64_t n, int e = 0) {
  if (out) launch_map(name, EcbMap{p, s, g, out, part, e}, n);
}

}  // namespace

void ecb_weight_forward(const EcbBranches<float>& p, const EcbShape& s, float* K) {
  run("ecb_weight", p, s, nullptr, K, Part::weight, s.out_channels * s.in_channels * 9);
}

void ecb_bias_forward(const EcbBranches<float>& p, const EcbShape& s, float* B) {
  run("ecb_bias", p, s, nullptr, B, Part::bias, s.out_channels);
}

void ecb_weight_backward(const EcbBranches<float>& p, const EcbShape& s, const float* gK,
                         const EcbGrads<float>& g) {
  const int64_t O = s.out_channels, I = s.in_channels, M = s.mid_channels;
  run("ecb_weight_backward", p, s, gK, g.conv3x3, Part::copy, O * I * 9);
  run("ecb_weight_backward", p, s, gK, g.k0, Part::dk0, M * I);
  run("ecb_weight_backward", p, s, gK, g.k1, Part::dk1_weight, O * M * 9);
  for (int e = 0; e < kEcbEdges; ++e) {
    run("ecb_weight_backward", p, s, gK, g.edge_k0[e], Part::dedge_k0, O * I, e);
    run("ecb_weight_backward", p, s, gK, g.edge_scale[e], Part::dedge_scale_weight, O, e);
  }
}

void ecb_bias_backward(const EcbBranches<float>& p, const EcbShape& s, const float* gB, const EcbGrads<float>& g) {
  const int64_t O = s.out_channels, M = s.mid_channels;
  run("ecb_bias_backward", p, s, gB, g.conv3x3_bias, Part::copy, O);
  run("ecb_bias_backward", p, s, gB, g.b1, Part::copy, O);
  run("ecb_bias_backward", p, s, gB, g.b0, Part::db0, M);
  run("ecb_bias_backward", p, s, gB, g.k1, Part::dk1_bias, O * M * 9);
  for (int e = 0; e < kEcbEdges; ++e) {
    run("ecb_bias_backward", p, s, gB, g.edge_bias[e], Part::copy, O);
    run("ecb_bias_backward", p, s, gB, g.edge_b0[e], Part::dedge_b0, O, e);
    run("ecb_bias_backward", p, s, gB, g.edge_scale[e], Part::dedge_scale_bias, O, e);
  }
}

}  // namespace sr::cuda
