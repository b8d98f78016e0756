// SRVGGNetCompact's forward in int8 for CPU inference, on conv2d_int8 (kernels/cpu/conv2d_int8.h).
//
// The network is that of an int8 QDQ ONNX graph (QuantizeLinear -> DequantizeLinear before
// every conv's input and weight): each conv reads its input as uint8 with one (scale,
// zero point) per tensor, its weights as int8 with one scale per output channel, sums in
// int32, and its epilogue adds the bias, applies the activation (PReLU / ReLU / LeakyReLU
// as a per-channel slope) and quantises straight into the next conv's input, so no float
// activation is written between two convs. The last conv writes float, followed by the
// float pixel shuffle and the nearest-upsampled input, as in the float network.
//
// The activation parameters come from calibration: one float range [lo, hi] per conv input
// (num_conv + 2 of them, in network order), turned into uint8 parameters the way ONNX
// Runtime's quantiser does (the range widened to contain 0, scale = (hi - lo) / 255, zero
// point = round(-lo / scale)), so that a real 0 (the convs' zero padding) is exact.
#pragma once
#include <utility>
#include <vector>

#include "engine/tensor.h"
#include "kernels/cpu/conv2d_int8.h"
#include "nets/srvgg_compact.h"

namespace sr {

struct ActivationQuant {
  float scale = 1.0f;
  int zero_point = 0;  // uint8
};
ActivationQuant activation_quant_from_range(float lo, float hi);

// Per-tensor min and max of every conv's input over the images of x (float NCHW), from the
// float network: the "minmax" calibration.
std::vector<std::pair<float, float>> srvgg_conv_input_ranges(SRVGGNetCompact& net, const Tensor& x);

class SRVGGNetCompactInt8 {
 public:
  // ranges: one per conv input; per_channel: one weight scale per output channel (else one
  // per conv).
  SRVGGNetCompactInt8(SRVGGNetCompact& net, const std::vector<std::pair<float, float>>& ranges,
                      bool per_channel = true);
  // x: float NCHW in [0, 1] (any size) -> float NCHW, upscale times larger.
  Tensor forward(const Tensor& x) const;

  int64_t num_convs() const { return (int64_t)convs_.size(); }
  const std::vector<ActivationQuant>& input_quant() const { return input_quant_; }

 private:
  struct Layer {
    cpu::QuantConvWeights w;
    std::vector<float> slope;  // empty: no activation after the conv (the last)
  };
  std::vector<Layer> convs_;
  std::vector<ActivationQuant> input_quant_;  // of each conv's input
  int upscale_;
  int64_t in_ch_;
};

}  // namespace sr
