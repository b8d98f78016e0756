// int8 quantisation arithmetic shared by the fake-quant forward (quant/ptq.h) and the QDQ
// ONNX export (deploy/onnx_modules.cpp), so the two compute with the very same numbers.
// ONNX's QuantizeLinear:   q = saturate(round_half_even(x / scale) + zero_point)
//        DequantizeLinear: x' = (q - zero_point) * scale
// Activations: int8 [-128, 127], asymmetric (a zero point), one scale per tensor; the range
// always contains 0 so that 0 (the convolutions' zero padding) is exactly representable.
// Weights: int8 [-127, 127], symmetric (zero point 0), one scale per output channel (axis 0)
// or one per tensor. Biases: int32 with scale = input scale * weight scale, zero point 0,
// the layout ONNX Runtime's QDQ fusion expects for an integer convolution.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace sr::quant {

struct ActivationQParams {
  float scale = 1;
  int32_t zero_point = 0;  // in [-128, 127]
};

// Scale and zero point mapping [lo, hi] (widened to contain 0) onto [-128, 127]. A range of
// zero width (an all-zero tensor) gets scale 1 (any scale represents 0 exactly).
// `symmetric`: zero point 0 and scale max(|lo|, |hi|) / 127 (values in [-127, 127]), the only
// activation quantisation TensorRT accepts; half the levels are unused on a one-signed tensor.
ActivationQParams activation_qparams(double lo, double hi, bool symmetric = false);

// QuantizeLinear then DequantizeLinear of one value, in float32 as ONNX Runtime computes it.
float fake_quant_value(float x, const ActivationQParams& q);

// A copy of `x` (float32, CPU) with every value quantised and dequantised.
Tensor fake_quant_activation(const Tensor& x, const ActivationQParams& q);

struct WeightQuant {
  std::vector<int64_t> shape;  // OIHW
  std::vector<float> scale;    // one per output channel, or one (per tensor)
  std::vector<int8_t> values;  // OIHW, row-major
  bool per_channel = true;
};

// Symmetric int8: scale_c = max|w_c| / 127 (1 for an all-zero channel), q = round(w / scale_c).
WeightQuant quantize_weight(const Tensor& weight, bool per_channel);
// q * scale as a float32 tensor of the weight's shape.
Tensor dequantize_weight(const WeightQuant& w);

struct BiasQuant {
  std::vector<float> scale;    // input scale * weight scale (per channel, or one)
  std::vector<int32_t> values;
};

// q_c = round(b_c / (s_x * s_w,c)); a value beyond int32 is an error naming `name`.
BiasQuant quantize_bias(const Tensor& bias, float input_scale, const WeightQuant& w, const std::string& name);
Tensor dequantize_bias(const BiasQuant& b, int64_t channels);

}  // namespace sr::quant
