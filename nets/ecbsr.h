// ECBSR (Zhang, Zeng and Zhang, "Edge-oriented Convolution Block for Real-time Super
// Resolution on Mobile Devices", ACM MM 2021; BasicSR's ecbsr_arch.py), with BasicSR's keys:
//   backbone.0      ECB(num_in_ch -> num_channel), act
//   backbone.1..nb  ECB(num_channel -> num_channel), act                  (num_block of them)
//   backbone.nb+1   ECB(num_channel -> num_out_ch * scale^2), no act
//   out = pixel_shuffle(backbone(x) + repeat_interleave(x, scale^2, channels), scale)
// The shortcut repeats each input channel scale^2 times, so after the shuffle it is the input
// upsampled by nearest neighbour (and, with one input channel, broadcast to every output
// channel, as PyTorch's add broadcasts it).
//
// Each ECB keeps BasicSR's five branches as parameters: conv3x3.{weight, bias};
// conv1x1_3x3.{k0, b0, k1, b1} (a 1x1 to 2 x out channels, then a 3x3); and conv1x1_sbx,
// conv1x1_sby, conv1x1_lpl .{k0, b0, scale, bias, mask} (a 1x1, then a per-channel 3x3 of
// scale x the fixed Sobel x / Sobel y / Laplacian taps in mask); act.weight with PReLU. Its
// forward, in training and in evaluation, is the one 3x3 convolution the branches sum to
// (engine/ops_ecb.h: ecb_weight, ecb_bias), the function BasicSR's training forward computes
// branch by branch and its evaluation forward computes from rep_params(). The masks are
// derived buffers: a file may leave them out; one whose taps differ is refused.
//
// act_type: prelu (a slope per channel, 0.25 at first), relu, or linear (none). BasicSR's rrelu
// and softplus are refused by name. with_idt adds the input to every block whose in and out
// channels agree (the body; the first when num_in_ch == num_channel; the last when
// num_channel == num_out_ch scale^2), BasicSR's rule.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/ops_ecb.h"
#include "layers/conv2d.h"
#include "layers/layer_options.h"
#include "layers/module.h"
#include "layers/sequential.h"

namespace sr {

// conv1x1-conv3x3: k0 (mid, in, 1, 1), b0 (mid), k1 (out, mid, 3, 3), b1 (out), each drawn as
// the nn.Conv2d it comes from is initialised.
class SeqConv1x1Conv3x3 : public Module {
 public:
  SeqConv1x1Conv3x3(int64_t in_ch, int64_t out_ch, int64_t mid_ch);
  std::string type_name() const override { return "SeqConv3x3"; }
  Tensor k0, b0, k1, b1;
};

// conv1x1 then the per-channel edge filter: k0 (out, in, 1, 1), b0 (out) as an nn.Conv2d;
// scale (out, 1, 1, 1) and bias (out) drawn from N(0, 1e-3^2), as BasicSR; mask (out, 1, 3, 3)
// the fixed taps of `edge` (0 Sobel x, 1 Sobel y, 2 Laplacian).
class SeqConv1x1Edge : public Module {
 public:
  SeqConv1x1Edge(int64_t in_ch, int64_t out_ch, int edge);
  std::string type_name() const override { return "SeqConv3x3"; }
  Tensor k0, b0, scale, bias, mask;
};

class ECB : public Module {
 public:
  // with_idt only takes effect when in_ch == out_ch (BasicSR's rule).
  ECB(int64_t in_ch, int64_t out_ch, const std::string& act_type, bool with_idt, const LayerOptions& options);
  std::string type_name() const override { return "ECB"; }
  Tensor forward(const Tensor& x) override;
  // The block's branches as the ops' tensors (its own parameters and masks).
  EcbTensors tensors() const;

  bool identity;
  std::string act_type;
  std::shared_ptr<Conv2d> conv3x3;  // its options and precision are the folded convolution's
  std::shared_ptr<SeqConv1x1Conv3x3> conv1x1_3x3;
  std::shared_ptr<SeqConv1x1Edge> edges[kEcbEdges];  // conv1x1_sbx, conv1x1_sby, conv1x1_lpl
  std::shared_ptr<Module> act;                       // PReLU or ReLU; none for linear
};

class ECBSR : public Module {
 public:
  ECBSR(int64_t num_in_ch, int64_t num_out_ch, int64_t num_block, int64_t num_channel, bool with_idt,
        const std::string& act_type, int scale, const LayerOptions& options = {});
  std::string type_name() const override { return "ECBSR"; }
  Tensor forward(const Tensor& x) override;
  int output_scale() const override { return scale; }

  int64_t num_in_ch, num_out_ch;
  int scale;
  std::shared_ptr<Sequential> backbone;
  std::vector<std::shared_ptr<ECB>> blocks;  // backbone's, in order (backbone.0 .. backbone.{num_block + 1})
};

// The fixed taps of ECBSR's edge branch e, row-major 3x3 (Sobel x, Sobel y, Laplacian).
const double* ecb_edge_taps(int edge);

}  // namespace sr
