// SRVGGNetCompact's forward in int8 for CPU inference, on conv2d_int8 (kernels/cpu/conv2d_int8.h).
//
// It computes what the int8 QDQ ONNX graph of `srengine quantize` computes (quant/ptq.h's
// FakeQuantForward, checked against ONNX Runtime), from the same QuantTable: each conv reads
// its input as 8-bit with the table's (scale, zero point), its weights as int8 with one scale
// per output channel (or per tensor), its bias dequantised from int32, sums in int32, and its
// epilogue applies the activation (PReLU / ReLU / LeakyReLU as a per-channel slope) and
// quantises straight into the next conv's input, so no float activation is written between
// two convs. The last conv writes float, followed by the float pixel shuffle and the
// nearest-upsampled input, as in the float network.
//
// The table's activations are int8 ([-128, 127], zero point z); conv2d_int8 reads uint8, so
// every value and zero point is shifted by 128: q + 128 with zero point z + 128 is the same
// real number, and saturation at -128 / 127 becomes saturation at 0 / 255.
#pragma once
#include <vector>

#include "engine/tensor.h"
#include "kernels/cpu/conv2d_int8.h"
#include "nets/srvgg_compact.h"
#include "quant/ptq.h"

namespace sr::quant {

class SRVGGNetCompactInt8 {
 public:
  // table: from calibrate() on this network (every "body.<i>" conv input).
  SRVGGNetCompactInt8(SRVGGNetCompact& net, const QuantTable& table);
  // x: float NCHW in [0, 1] (any size) -> float NCHW, upscale times larger. The convs take
  // conv2d_int8's path `isa`, or without one the path conv2d_int8_forward would take.
  Tensor forward(const Tensor& x) const;
  Tensor forward(const Tensor& x, cpu::Int8Isa isa) const;

  int64_t num_convs() const { return (int64_t)convs_.size(); }

 private:
  struct Layer {
    cpu::QuantConvWeights w;
    std::vector<float> slope;  // empty: no activation after the conv (the last)
    float in_scale = 1;        // the conv input's uint8 parameters
    int in_zero_point = 128;
  };
  std::vector<Layer> convs_;
  int upscale_;
  int64_t in_ch_;
};

}  // namespace sr::quant
