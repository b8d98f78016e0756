// SRVGGNetCompact in int8 (see srvgg_int8.h).
#include "nets/srvgg_int8.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "layers/activation.h"
#include "layers/conv2d.h"

namespace sr {

ActivationQuant activation_quant_from_range(float lo, float hi) {
  SR_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi, "int8 calibration: bad activation range [", lo,
           ", ", hi, "]");
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  ActivationQuant q;
  if (hi - lo <= 0) return q;  // an all-zero tensor: any scale represents it
  q.scale = (hi - lo) / 255.0f;
  q.zero_point = (int)std::clamp(std::nearbyint(-lo / q.scale), 0.0f, 255.0f);
  return q;
}

namespace {

// The body's convs and the activation after each (nullptr after the last).
struct BodyLayer {
  Conv2d* conv;
  Module* act;
};
std::vector<BodyLayer> body_layers(SRVGGNetCompact& net) {
  std::vector<BodyLayer> out;
  const Sequential& body = *net.body;
  for (size_t i = 0; i < body.size(); ++i) {
    if (auto* conv = dynamic_cast<Conv2d*>(&body[i])) {
      SR_CHECK(conv->stride == 1 && conv->padding == 1 && conv->weight.shape()[2] == 3 && conv->weight.shape()[3] == 3,
               "SRVGGNetCompact int8: body.", body.name(i), " is not a 3x3 stride-1 conv");
      out.push_back({conv, i + 1 < body.size() ? &body[i + 1] : nullptr});
    }
  }
  return out;
}

// The activation after a conv as one slope per channel: y = max(v, 0) + slope * min(v, 0).
std::vector<float> activation_slopes(Module* act, int64_t channels) {
  if (!act) return {};
  if (auto* p = dynamic_cast<PReLU*>(act)) {
    const Tensor w = p->weight.contiguous().to(DType::f32);
    std::vector<float> s(w.data<float>(), w.data<float>() + w.numel());
    if (s.size() == 1) s.assign(channels, s[0]);
    SR_CHECK((int64_t)s.size() == channels, "SRVGGNetCompact int8: PReLU has ", s.size(), " slopes for ", channels,
             " channels");
    return s;
  }
  if (dynamic_cast<ReLU*>(act)) return std::vector<float>(channels, 0.0f);
  if (auto* l = dynamic_cast<LeakyReLU*>(act)) return std::vector<float>(channels, (float)l->slope);
  fail("SRVGGNetCompact int8: no int8 epilogue for activation ", act->type_name());
}

std::vector<float> floats_of(const Tensor& t) {
  const Tensor c = t.contiguous().to(DType::f32).to(Device::cpu());
  return std::vector<float>(c.data<float>(), c.data<float>() + c.numel());
}

}  // namespace

std::vector<std::pair<float, float>> srvgg_conv_input_ranges(SRVGGNetCompact& net, const Tensor& x) {
  NoGradGuard no_grad;
  std::vector<std::pair<float, float>> ranges;
  Tensor h = x;
  const Sequential& body = *net.body;
  for (size_t i = 0; i < body.size(); ++i) {
    if (dynamic_cast<Conv2d*>(&body[i])) {
      const std::vector<float> v = floats_of(h);
      const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
      ranges.emplace_back(*lo, *hi);
    }
    h = body[i].forward(h);
  }
  return ranges;
}

SRVGGNetCompactInt8::SRVGGNetCompactInt8(SRVGGNetCompact& net, const std::vector<std::pair<float, float>>& ranges,
                                         bool per_channel)
    : upscale_(net.upscale) {
  const std::vector<BodyLayer> layers = body_layers(net);
  SR_CHECK(ranges.size() == layers.size(), "SRVGGNetCompact int8: ", ranges.size(),
           " calibration ranges for ", layers.size(), " convs");
  in_ch_ = layers.front().conv->weight.shape()[1];
  for (size_t i = 0; i < layers.size(); ++i) {
    const Conv2d& conv = *layers[i].conv;
    const Shape& ws = conv.weight.shape();
    const std::vector<float> w = floats_of(conv.weight);
    std::vector<int8_t> qw;
    std::vector<float> scale;
    cpu::quantize_conv_weights(w.data(), ws[0], ws[1], ws[2], ws[3], per_channel, qw, scale);
    const std::vector<float> bias = conv.bias.defined() ? floats_of(conv.bias) : std::vector<float>();
    Layer l;
    l.w = cpu::pack_conv_weights_int8(qw.data(), scale.data(), bias.empty() ? nullptr : bias.data(), ws[0], ws[1],
                                      ws[2], ws[3]);
    l.slope = activation_slopes(layers[i].act, ws[0]);
    convs_.push_back(std::move(l));
    input_quant_.push_back(activation_quant_from_range(ranges[i].first, ranges[i].second));
  }
}

Tensor SRVGGNetCompactInt8::forward(const Tensor& x_in) const {
  SR_CHECK(x_in.defined() && x_in.dim() == 4 && x_in.shape()[1] == in_ch_, "SRVGGNetCompact int8: input must be N x ",
           in_ch_, " x H x W, got ", x_in.defined() ? x_in.shape().str() : "undefined");
  NoGradGuard no_grad;
  const Tensor x = x_in.contiguous().to(DType::f32).to(Device::cpu());
  const int64_t N = x.shape()[0], H = x.shape()[2], W = x.shape()[3];
  cpu::QuantActivation a = cpu::make_quant_activation(N, in_ch_, H, W, 1, input_quant_[0].scale,
                                                      input_quant_[0].zero_point);
  cpu::quantize_activation(x.data<float>(), a);
  // Two activations of the body's width, used in turn: only their border changes between
  // layers (it holds each input's own zero point).
  cpu::QuantActivation next;
  Tensor out;
  for (size_t i = 0; i < convs_.size(); ++i) {
    const Layer& l = convs_[i];
    const float* slope = l.slope.empty() ? nullptr : l.slope.data();
    if (i + 1 < convs_.size()) {
      const ActivationQuant& q = input_quant_[i + 1];
      if (next.N == N && next.C == l.w.K && next.H == H && next.W == W) {
        next.scale = q.scale;
        next.zero_point = q.zero_point;
        cpu::fill_border(next);
      } else {
        next = cpu::make_quant_activation(N, l.w.K, H, W, 1, q.scale, q.zero_point);
      }
      cpu::conv2d_int8_forward(a, l.w, {slope, &next, nullptr});
      std::swap(a, next);
    } else {
      out = Tensor::empty({N, l.w.K, H, W});
      cpu::conv2d_int8_forward(a, l.w, {slope, nullptr, out.data<float>()});
    }
  }
  Tensor base = upsample_nearest2x(x);
  if (upscale_ == 4) base = upsample_nearest2x(base);
  return add(pixel_shuffle(out, upscale_), base);
}

}  // namespace sr
