// The types `srengine bench kernels` (cmd_bench_kernels.cpp) shares with its CUDA twins
// (bench_cuda_ops.cpp): a case (one shape of one op), an implementation of it (one device
// variant whose make() allocates the buffers and returns the runner), and the buffers,
// which live on the bench device.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"
#include "kernels/common/ecb_reparameterize.h"
#include "kernels/common/overlap_window_attention.h"
#include "kernels/common/window_attention.h"
#include "kernels/cpu/upsample_nearest2x_conv2d.h"

namespace sr::cli::kernel_bench {

using Params = std::map<std::string, double>;
using Runner = std::function<void(int)>;  // runs the kernel on input set i % rotations

// Owns the tensors of one case; rand/zeros hand out raw float pointers on the device.
class Buffers {
 public:
  explicit Buffers(Device d) : dev_(d) {}
  float* rand(int64_t n, double lo = -1.0, double hi = 1.0) {
    Tensor t = Tensor::empty({std::max<int64_t>(n, 1)}, DType::f32, dev_);
    uniform_(t, lo, hi, gen_);
    keep_.push_back(t);
    return t.data<float>();
  }
  float* zeros(int64_t n) {
    Tensor t = Tensor::zeros({std::max<int64_t>(n, 1)}, DType::f32, dev_);
    keep_.push_back(t);
    return t.data<float>();
  }
  // `count` independent random buffers of n floats.
  std::vector<float*> rand_sets(int count, int64_t n, double lo = -1.0, double hi = 1.0) {
    std::vector<float*> v;
    for (int i = 0; i < count; ++i) v.push_back(rand(n, lo, hi));
    return v;
  }
  const Device& device() const { return dev_; }

 private:
  Device dev_;
  Generator gen_{1234};
  std::vector<Tensor> keep_;
};

struct Case {
  std::string name;   // "<op>/<net>.<layer>": what --filter matches and the JSON join key
  std::string op;     // conv_fwd, conv_bwd_data, ..., adam
  std::string shape;  // for people
  Params p;           // for tools/peer_torch.py
  double flops = 0, bytes = 0;
  bool compute_bound = false;
};

// Allocates a case's buffers (its inputs `rotations` times) and returns the runner; an
// empty function when the variant cannot run that case.
using Maker = std::function<Runner(const Case&, Buffers&, int rotations)>;

// One variant of one op on one device.
struct Impl {
  std::string device, variant;
  bool is_default;
  Maker make;
};

inline int64_t param(const Case& c, const char* key) { return (int64_t)c.p.at(key); }

// The convolution over the upsampled input of an upsample_nearest2x_conv2d case (x is N, C, H, W).
inline Conv2dShape upsample_nearest2x_conv2d_shape(const Case& c) {
  return cpu::make_upsample_nearest2x_conv2d_shape(param(c, "N"), param(c, "C"), param(c, "H"), param(c, "W"),
                                                   param(c, "K"), param(c, "R"), param(c, "R"), (int)param(c, "pad"));
}

// The attention of a window_attention case: N images of H x W tokens, C channels in `heads`
// heads, windows ws x ws shifted by `shift`, scale head_dim ** -0.5.
inline WindowAttentionShape window_attention_shape(const Case& c) {
  WindowAttentionShape s;
  s.H = param(c, "H");
  s.W = param(c, "W");
  s.window = (int)param(c, "ws");
  s.shift = (int)param(c, "shift");
  s.heads = (int)param(c, "heads");
  s.head_dim = (int)param(c, "C") / s.heads;
  s.windows = param(c, "N") * s.windows_per_image();
  s.scale = 1 / std::sqrt((double)s.head_dim);
  return s;
}

// The attention of an overlap_window_attention case: N images of H x W tokens, C channels in
// `heads` heads, query windows ws x ws against key windows wse x wse, scale head_dim ** -0.5.
inline OverlapWindowAttentionShape overlap_window_attention_shape(const Case& c) {
  OverlapWindowAttentionShape s;
  s.images = param(c, "N");
  s.H = param(c, "H");
  s.W = param(c, "W");
  s.window = (int)param(c, "ws");
  s.overlap_window = (int)param(c, "wse");
  s.heads = (int)param(c, "heads");
  s.head_dim = (int)param(c, "C") / s.heads;
  s.scale = 1 / std::sqrt((double)s.head_dim);
  return s;
}

// The block of an ecb_* case (O, I, M from its params) and its branch tensors and gradients
// as random device buffers (the masks random too: the kernels' cost does not depend on them).
inline EcbShape ecb_shape(const Case& c) {
  EcbShape s;
  s.out_channels = (int64_t)param(c, "O");
  s.in_channels = (int64_t)param(c, "I");
  s.mid_channels = (int64_t)param(c, "M");
  return s;
}
inline EcbBranches<float> ecb_branches(Buffers& b, const EcbShape& s) {
  const int64_t O = s.out_channels, I = s.in_channels, M = s.mid_channels;
  EcbBranches<float> p;
  p.conv3x3 = b.rand(O * I * 9), p.conv3x3_bias = b.rand(O);
  p.k0 = b.rand(M * I), p.b0 = b.rand(M), p.k1 = b.rand(O * M * 9), p.b1 = b.rand(O);
  for (int e = 0; e < kEcbEdges; ++e) {
    p.edge_k0[e] = b.rand(O * I), p.edge_b0[e] = b.rand(O), p.edge_scale[e] = b.rand(O);
    p.edge_bias[e] = b.rand(O), p.edge_mask[e] = b.rand(O * 9);
  }
  return p;
}
// Every gradient the weight side (or the bias side) writes.
inline EcbGrads<float> ecb_grads(Buffers& b, const EcbShape& s, bool weight_side) {
  const int64_t O = s.out_channels, I = s.in_channels, M = s.mid_channels;
  EcbGrads<float> g;
  g.k1 = b.zeros(O * M * 9);
  for (int e = 0; e < kEcbEdges; ++e) g.edge_scale[e] = b.zeros(O);
  if (weight_side) {
    g.conv3x3 = b.zeros(O * I * 9), g.k0 = b.zeros(M * I);
    for (int e = 0; e < kEcbEdges; ++e) g.edge_k0[e] = b.zeros(O * I);
  } else {
    g.conv3x3_bias = b.zeros(O), g.b0 = b.zeros(M), g.b1 = b.zeros(O);
    for (int e = 0; e < kEcbEdges; ++e) g.edge_b0[e] = b.zeros(O), g.edge_bias[e] = b.zeros(O);
  }
  return g;
}

// RRDBNet nf64 nb23 gc32 x4's parameter tensors (weights and biases), 16.7M floats: the
// Adam and EMA cases' tensors (cmd_bench_kernels.cpp).
std::vector<int64_t> rrdbnet_param_sizes();

}  // namespace sr::cli::kernel_bench
