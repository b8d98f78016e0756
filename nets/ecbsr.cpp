// ECBSR (see ecbsr.h).
#include "nets/ecbsr.h"

#include "engine/ops.h"
#include "engine/random.h"
#include "layers/activation.h"
#include "nets/size_options.h"

namespace sr {

namespace {

// BasicSR's SeqConv3x3 masks, row-major (row, column) 3x3.
constexpr double kEdgeTaps[kEcbEdges][9] = {
    {1, 0, -1, 2, 0, -2, 1, 0, -1},  // Sobel x: +1 +2 +1 in the left column, -1 -2 -1 in the right
    {1, 2, 1, 0, 0, 0, -1, -2, -1},  // Sobel y: the same across the top and bottom rows
    {0, 1, 0, 1, -4, 1, 0, 1, 0},    // Laplacian: the four neighbours minus 4 x the centre
};

// An nn.Conv2d(in, out, k)'s initial weight and bias.
std::pair<Tensor, Tensor> conv_init(int64_t in, int64_t out, int k) {
  Tensor w = Tensor::empty({out, in, k, k}), b = Tensor::empty({out});
  default_init_(w, b);
  return {w, b};
}

}  // namespace

const double* ecb_edge_taps(int edge) {
  SR_CHECK(edge >= 0 && edge < kEcbEdges, "ecb_edge_taps: no edge branch ", edge);
  return kEdgeTaps[edge];
}

SeqConv1x1Conv3x3::SeqConv1x1Conv3x3(int64_t in_ch, int64_t out_ch, int64_t mid_ch) {
  auto [w0, bias0] = conv_init(in_ch, mid_ch, 1);
  auto [w1, bias1] = conv_init(mid_ch, out_ch, 3);
  k0 = register_parameter("k0", w0);
  b0 = register_parameter("b0", bias0);
  k1 = register_parameter("k1", w1);
  b1 = register_parameter("b1", bias1);
}

SeqConv1x1Edge::SeqConv1x1Edge(int64_t in_ch, int64_t out_ch, int edge) {
  auto [w0, bias0] = conv_init(in_ch, out_ch, 1);
  k0 = register_parameter("k0", w0);
  b0 = register_parameter("b0", bias0);
  Tensor s = Tensor::empty({out_ch, 1, 1, 1}), c = Tensor::empty({out_ch});
  normal_(s, 0.0, 1e-3);
  normal_(c, 0.0, 1e-3);
  scale = register_parameter("scale", s);
  bias = register_parameter("bias", c);
  std::vector<double> taps;
  for (int64_t o = 0; o < out_ch; ++o) taps.insert(taps.end(), kEdgeTaps[edge], kEdgeTaps[edge] + 9);
  mask = register_derived_buffer("mask", Tensor::from_vector(taps, {out_ch, 1, 3, 3}, DType::f32));
}

ECB::ECB(int64_t in_ch, int64_t out_ch, const std::string& act_type_, bool with_idt, const LayerOptions& options)
    : identity(with_idt && in_ch == out_ch), act_type(act_type_) {
  SR_CHECK(act_type == "prelu" || act_type == "relu" || act_type == "linear",
           "ECBSR: act_type must be prelu, relu or linear, got '", act_type, "'",
           act_type == "rrelu" || act_type == "softplus" ? " (BasicSR's rrelu and softplus are not supported)" : "");
  conv3x3 = register_module("conv3x3", std::make_shared<Conv2d>(in_ch, out_ch, 3, 1, 1, true, options));
  // depth_multiplier 2: BasicSR's int(out_channels * 2.0).
  conv1x1_3x3 = register_module("conv1x1_3x3", std::make_shared<SeqConv1x1Conv3x3>(in_ch, out_ch, 2 * out_ch));
  const char* names[kEcbEdges] = {"conv1x1_sbx", "conv1x1_sby", "conv1x1_lpl"};
  for (int e = 0; e < kEcbEdges; ++e) edges[e] = register_module(names[e], std::make_shared<SeqConv1x1Edge>(in_ch, out_ch, e));
  if (act_type == "prelu") act = register_module("act", std::make_shared<PReLU>(out_ch));
  if (act_type == "relu") act = register_module("act", std::make_shared<ReLU>());
}

EcbTensors ECB::tensors() const {
  EcbTensors b;
  b.conv3x3_weight = conv3x3->weight;
  b.conv3x3_bias = conv3x3->bias;
  b.k0 = conv1x1_3x3->k0;
  b.b0 = conv1x1_3x3->b0;
  b.k1 = conv1x1_3x3->k1;
  b.b1 = conv1x1_3x3->b1;
  for (int e = 0; e < kEcbEdges; ++e)
    b.edges[e] = {edges[e]->k0, edges[e]->b0, edges[e]->scale, edges[e]->bias, edges[e]->mask};
  return b;
}

Tensor ECB::forward(const Tensor& x) {
  // The five branches as one convolution (training and evaluation alike): its weight and bias
  // are functions of the branch parameters, so the gradients reach all of them.
  const EcbTensors b = tensors();
  Tensor y = conv2d(x, ecb_weight(b, identity), ecb_bias(b), 1, 1, conv3x3->options.kernels, conv3x3->precision);
  return act ? act->forward(y) : y;
}

ECBSR::ECBSR(int64_t num_in_ch_, int64_t num_out_ch_, int64_t num_block, int64_t num_channel, bool with_idt,
             const std::string& act_type, int scale_, const LayerOptions& options)
    : num_in_ch(num_in_ch_), num_out_ch(num_out_ch_), scale(scale_) {
  SR_CHECK(scale >= 1 && scale <= 4, "ECBSR: scale must be 1, 2, 3 or 4 (pixel_shuffle's factors here), got ", scale);
  check_size_options("ECBSR", {{"num_in_ch", num_in_ch, 1}, {"num_out_ch", num_out_ch, 1},
                               {"num_channel", num_channel, 1}, {"num_block", num_block, 0}});
  SR_CHECK(num_in_ch == num_out_ch || num_in_ch == 1, "ECBSR: num_out_ch (", num_out_ch, ") must equal num_in_ch (",
           num_in_ch, "), or num_in_ch be 1: the input, repeated scale^2 times per channel, is added to the output");
  backbone = register_module("backbone", std::make_shared<Sequential>());
  blocks.push_back(backbone->push_back(std::make_shared<ECB>(num_in_ch, num_channel, act_type, with_idt, options)));
  for (int64_t i = 0; i < num_block; ++i)
    blocks.push_back(backbone->push_back(std::make_shared<ECB>(num_channel, num_channel, act_type, with_idt, options)));
  blocks.push_back(
      backbone->push_back(std::make_shared<ECB>(num_channel, num_out_ch * scale * scale, "linear", with_idt, options)));
}

Tensor ECBSR::forward(const Tensor& x) {
  SR_CHECK(x.defined() && x.dim() == 4 && x.size(1) == num_in_ch, "ECBSR: input must be (N, ", num_in_ch,
           ", H, W), got ", x.defined() ? x.shape().str() : "undefined");
  Tensor y = backbone->forward(x);
  if (scale > 1) y = pixel_shuffle(y, scale);
  // The shortcut after the shuffle: repeat_interleave(x, scale^2) shuffled is x upsampled by
  // nearest neighbour; one input channel reaches every output channel.
  Tensor up = scale > 1 ? upsample_nearest(x, scale) : x;
  if (num_out_ch > num_in_ch) up = cat_channels(std::vector<Tensor>(num_out_ch, up));
  return add(y, up);
}

}  // namespace sr
