// The ECB ops ecb_weight and ecb_bias (engine/ops_ecb.h): checks, kernel dispatch, autograd
// nodes. Both ops see the block's tensors as one list (kAll's order below); each records, and
// differentiates, only the ones its formula reads. The masks are constants.
#include "engine/ops_ecb.h"

#include <array>
#include <vector>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/cpu/ecb_reparameterize.h"
#include "kernels/cuda/ecb_reparameterize.h"

namespace sr {

namespace {

// The block's tensors in one list: W, b, k0, b0, k1, b1, then per edge branch e
// k0_e, b0_e, scale_e, bias_e, mask_e at 6 + 5e + {0, 1, 2, 3, 4}.
constexpr int kAll = 6 + 5 * kEcbEdges;
constexpr int edge(int e, int field) { return 6 + 5 * e + field; }
constexpr std::array<int, 9> kWeightInputs = {0, 2, 4, edge(0, 0), edge(0, 2), edge(1, 0), edge(1, 2), edge(2, 0), edge(2, 2)};
constexpr std::array<int, 13> kBiasInputs = {1, 3, 4, 5, edge(0, 1), edge(0, 2), edge(0, 3), edge(1, 1), edge(1, 2),
                                             edge(1, 3), edge(2, 1), edge(2, 2), edge(2, 3)};
const char* const kNames[kAll] = {"conv3x3 weight", "conv3x3 bias", "k0", "b0", "k1", "b1",
                                  "sobelx k0", "sobelx b0", "sobelx scale", "sobelx bias", "sobelx mask",
                                  "sobely k0", "sobely b0", "sobely scale", "sobely bias", "sobely mask",
                                  "laplacian k0", "laplacian b0", "laplacian scale", "laplacian bias", "laplacian mask"};

std::vector<Tensor> all_tensors(const EcbTensors& b) {
  std::vector<Tensor> t = {b.conv3x3_weight, b.conv3x3_bias, b.k0, b.b0, b.k1, b.b1};
  for (const EcbEdgeTensors& e : b.edges) t.insert(t.end(), {e.k0, e.b0, e.scale, e.bias, e.mask});
  return t;
}

// Checks every tensor's shape against the block's O, I (from the conv3x3 weight) and M (from
// k0), and their devices and dtypes; the masks must be constants.
EcbShape check_block(const char* op, const std::vector<Tensor>& t, bool identity) {
  const Tensor& W = t[0];
  check_dim(op, W, 4, "conv3x3 weight");
  SR_CHECK(W.size(2) == 3 && W.size(3) == 3, op, ": conv3x3 weight ", W.shape().str(), " must be (O, I, 3, 3)");
  check_dim(op, t[2], 4, "k0");
  EcbShape s;
  s.out_channels = W.size(0);
  s.in_channels = W.size(1);
  s.mid_channels = t[2].size(0);
  s.identity = identity;
  const int64_t O = s.out_channels, I = s.in_channels, M = s.mid_channels;
  const Shape expected[6] = {{O, I, 3, 3}, {O}, {M, I, 1, 1}, {M}, {O, M, 3, 3}, {O}};
  const Shape edge_expected[5] = {{O, I, 1, 1}, {O}, {O, 1, 1, 1}, {O}, {O, 1, 3, 3}};
  for (int k = 0; k < kAll; ++k) {
    const Shape& want = k < 6 ? expected[k] : edge_expected[(k - 6) % 5];
    SR_CHECK(t[k].defined(), op, ": ", kNames[k], " is undefined");
    SR_CHECK(t[k].shape() == want, op, ": ", kNames[k], " is ", t[k].shape().str(), ", expected ", want.str(),
             " for a block of ", O, " out, ", I, " in and ", M, " mid channels");
    check_same_device_dtype(op, W, t[k]);
    if (k >= 6 && (k - 6) % 5 == 4)
      SR_CHECK(!t[k].requires_grad(), op, ": ", kNames[k], " is a constant (the fixed edge taps) and must not require grad");
  }
  SR_CHECK(!identity || O == I, op, ": with_idt needs as many out as in channels, got ", O, " and ", I);
  return s;
}

template <typename T>
EcbBranches<T> branches_of(const std::vector<Tensor>& c) {
  EcbBranches<T> p;
  p.conv3x3 = c[0].data<T>();
  p.conv3x3_bias = c[1].data<T>();
  p.k0 = c[2].data<T>();
  p.b0 = c[3].data<T>();
  p.k1 = c[4].data<T>();
  p.b1 = c[5].data<T>();
  for (int e = 0; e < kEcbEdges; ++e) {
    p.edge_k0[e] = c[edge(e, 0)].data<T>();
    p.edge_b0[e] = c[edge(e, 1)].data<T>();
    p.edge_scale[e] = c[edge(e, 2)].data<T>();
    p.edge_bias[e] = c[edge(e, 3)].data<T>();
    p.edge_mask[e] = c[edge(e, 4)].data<T>();
  }
  return p;
}

template <typename T>
T* ptr(Tensor& g) {
  return g.defined() ? g.data<T>() : nullptr;
}

template <typename T>
EcbGrads<T> grads_of(std::vector<Tensor>& g) {
  EcbGrads<T> d;
  d.conv3x3 = ptr<T>(g[0]);
  d.conv3x3_bias = ptr<T>(g[1]);
  d.k0 = ptr<T>(g[2]);
  d.b0 = ptr<T>(g[3]);
  d.k1 = ptr<T>(g[4]);
  d.b1 = ptr<T>(g[5]);
  for (int e = 0; e < kEcbEdges; ++e) {
    d.edge_k0[e] = ptr<T>(g[edge(e, 0)]);
    d.edge_b0[e] = ptr<T>(g[edge(e, 1)]);
    d.edge_scale[e] = ptr<T>(g[edge(e, 2)]);
    d.edge_bias[e] = ptr<T>(g[edge(e, 3)]);
  }
  return d;
}

// One side of the fold (weight or bias): its forward kernel, then a node over `used`.
template <size_t N, typename Forward, typename CudaForward, typename Backward, typename CudaBackward>
Tensor fold(const char* op, const char* backward_op, const std::vector<Tensor>& in, const EcbShape& s,
            const Shape& out_shape, const std::array<int, N>& used, Forward forward, CudaForward cuda_forward,
            Backward backward, CudaBackward cuda_backward) {
  std::vector<Tensor> c(kAll);
  for (int k = 0; k < kAll; ++k) c[k] = in[k].contiguous().detach();
  Tensor y = Tensor::empty(out_shape, c[0].dtype(), c[0].device());
  dispatch(op, c[0], [&](auto t) {
    using T = decltype(t);
    forward(branches_of<T>(c), s, y.data<T>());
  }, [&] { cuda_forward(branches_of<float>(c), s, y.data<float>()); });
  std::vector<Tensor> inputs;
  std::vector<bool> wanted(kAll, false);
  for (int k : used) {
    inputs.push_back(in[k]);
    wanted[k] = in[k].requires_grad();
  }
  return record(op, y, inputs, [c, s, used, wanted, backward_op, backward, cuda_backward](const Tensor& g_in) {
    const Tensor g = g_in.contiguous();
    std::vector<Tensor> d(kAll);
    for (int k = 0; k < kAll; ++k)
      if (wanted[k]) d[k] = Tensor::empty(c[k].shape(), g.dtype(), g.device());
    dispatch(backward_op, g, [&](auto t) {
      using T = decltype(t);
      backward(branches_of<T>(c), s, g.data<T>(), grads_of<T>(d));
    }, [&] { cuda_backward(branches_of<float>(c), s, g.data<float>(), grads_of<float>(d)); });
    std::vector<Tensor> out;
    for (int k : used) out.push_back(d[k]);
    return out;
  });
}

}  // namespace

Tensor ecb_weight(const EcbTensors& b, bool identity) {
  const std::vector<Tensor> in = all_tensors(b);
  const EcbShape s = check_block("ecb_weight", in, identity);
  return fold(
      "ecb_weight", "ecb_weight_backward", in, s, {s.out_channels, s.in_channels, 3, 3}, kWeightInputs,
      [](const auto& p, const EcbShape& sh, auto* K) { cpu::ecb_weight_forward(p, sh, K); },
      [](const EcbBranches<float>& p, const EcbShape& sh, float* K) { SR_CUDA(cuda::ecb_weight_forward(p, sh, K)); },
      [](const auto& p, const EcbShape& sh, const auto* gK, const auto& g) { cpu::ecb_weight_backward(p, sh, gK, g); },
      [](const EcbBranches<float>& p, const EcbShape& sh, const float* gK, const EcbGrads<float>& g) {
        SR_CUDA(cuda::ecb_weight_backward(p, sh, gK, g));
      });
}

Tensor ecb_bias(const EcbTensors& b) {
  const std::vector<Tensor> in = all_tensors(b);
  const EcbShape s = check_block("ecb_bias", in, false);
  return fold(
      "ecb_bias", "ecb_bias_backward", in, s, {s.out_channels}, kBiasInputs,
      [](const auto& p, const EcbShape& sh, auto* B) { cpu::ecb_bias_forward(p, sh, B); },
      [](const EcbBranches<float>& p, const EcbShape& sh, float* B) { SR_CUDA(cuda::ecb_bias_forward(p, sh, B)); },
      [](const auto& p, const EcbShape& sh, const auto* gB, const auto& g) { cpu::ecb_bias_backward(p, sh, gB, g); },
      [](const EcbBranches<float>& p, const EcbShape& sh, const float* gB, const EcbGrads<float>& g) {
        SR_CUDA(cuda::ecb_bias_backward(p, sh, gB, g));
      });
}

}  // namespace sr
