// int8 quantisation arithmetic (see int8.h). Rounding is std::nearbyint under the default
// rounding mode, i.e. half to even, as ONNX's QuantizeLinear specifies and ONNX Runtime does.
#include "quant/int8.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/error.h"

namespace sr::quant {

ActivationQParams activation_qparams(double lo, double hi, bool symmetric) {
  SR_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "int8 activation range [", lo, ", ", hi,
           "] is not a finite interval");
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  ActivationQParams q;
  if (hi - lo <= 0) return q;
  if (symmetric) {
    q.scale = float(std::max(-lo, hi) / 127.0);
    return q;
  }
  q.scale = float((hi - lo) / 255.0);
  // lo maps to -128; 0 maps to the integer zero point, so zero padding stays exact.
  q.zero_point = int32_t(std::clamp(std::nearbyint(-128.0 - lo / double(q.scale)), -128.0, 127.0));
  return q;
}

float fake_quant_value(float x, const ActivationQParams& q) {
  const float v = std::clamp(std::nearbyint(x / q.scale) + float(q.zero_point), -128.0f, 127.0f);
  return (v - float(q.zero_point)) * q.scale;
}

Tensor fake_quant_activation(const Tensor& x, const ActivationQParams& q) {
  Tensor c = x.detach().to(Device::cpu()).to(DType::f32).contiguous().clone();
  float* p = c.data<float>();
  const int64_t n = c.numel();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) p[i] = fake_quant_value(p[i], q);
  return c;
}

WeightQuant quantize_weight(const Tensor& weight, bool per_channel) {
  const Tensor w = weight.detach().to(Device::cpu()).to(DType::f32).contiguous();
  SR_CHECK(w.dim() >= 1 && w.numel() > 0, "int8 weight quantisation: weight of shape ", w.shape().str());
  WeightQuant out;
  out.shape = w.shape().vec();
  out.per_channel = per_channel;
  const int64_t channels = per_channel ? w.size(0) : 1;
  const int64_t per = w.numel() / channels;
  const float* p = w.data<float>();
  out.scale.resize(channels);
  out.values.resize(w.numel());
  for (int64_t c = 0; c < channels; ++c) {
    float m = 0;
    for (int64_t i = 0; i < per; ++i) m = std::max(m, std::fabs(p[c * per + i]));
    SR_CHECK(std::isfinite(m), "int8 weight quantisation: a weight of output channel ", c, " is not finite");
    const float s = m > 0 ? m / 127.0f : 1.0f;
    out.scale[c] = s;
    for (int64_t i = 0; i < per; ++i)
      out.values[c * per + i] = int8_t(std::clamp(std::nearbyint(p[c * per + i] / s), -127.0f, 127.0f));
  }
  return out;
}

Tensor dequantize_weight(const WeightQuant& w) {
  Tensor t = Tensor::empty(Shape(w.shape), DType::f32);
  float* p = t.data<float>();
  const int64_t channels = int64_t(w.scale.size()), per = t.numel() / channels;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < per; ++i) p[c * per + i] = float(w.values[c * per + i]) * w.scale[c];
  return t;
}

BiasQuant quantize_bias(const Tensor& bias, float input_scale, const WeightQuant& w, const std::string& name) {
  const Tensor b = bias.detach().to(Device::cpu()).to(DType::f32).contiguous();
  const int64_t channels = b.numel();
  SR_CHECK(w.shape.size() >= 1 && channels == w.shape[0], "int8 bias quantisation of '", name, "': ", channels,
           " values for ", w.shape.empty() ? 0 : w.shape[0], " output channels");
  BiasQuant out;
  out.scale.resize(w.scale.size());
  for (size_t c = 0; c < w.scale.size(); ++c) out.scale[c] = input_scale * w.scale[c];
  out.values.resize(channels);
  const float* p = b.data<float>();
  for (int64_t c = 0; c < channels; ++c) {
    const double s = out.scale[w.per_channel ? c : 0];
    const double q = std::nearbyint(double(p[c]) / s);
    SR_CHECK(std::fabs(q) <= double(std::numeric_limits<int32_t>::max()), "int8 quantisation of '", name,
             "': bias ", p[c], " of channel ", c, " is ", q, " steps of ", s, ", beyond int32");
    out.values[c] = int32_t(q);
  }
  return out;
}

Tensor dequantize_bias(const BiasQuant& b, int64_t channels) {
  Tensor t = Tensor::empty({channels}, DType::f32);
  float* p = t.data<float>();
  for (int64_t c = 0; c < channels; ++c) p[c] = float(b.values[c]) * b.scale[b.scale.size() == 1 ? 0 : c];
  return t;
}

}  // namespace sr::quant
