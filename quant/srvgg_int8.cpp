// SRVGGNetCompact in int8 (see srvgg_int8.h).
#include "quant/srvgg_int8.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "layers/activation.h"
#include "layers/conv2d.h"
#include "quant/int8.h"

namespace sr::quant {

namespace {

// The activation after a conv as one slope per channel: y = max(v, 0) + slope * min(v, 0).
std::vector<float> activation_slopes(Module* act, int64_t channels) {
  if (!act) return {};
  if (auto* p = dynamic_cast<PReLU*>(act)) {
    const Tensor w = p->weight.detach().to(Device::cpu()).to(DType::f32).contiguous();
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

}  // namespace

SRVGGNetCompactInt8::SRVGGNetCompactInt8(SRVGGNetCompact& net, const QuantTable& table) : upscale_(net.upscale) {
  const Sequential& body = *net.body;
  for (size_t i = 0; i < body.size(); ++i) {
    auto* conv = dynamic_cast<Conv2d*>(&body[i]);
    if (!conv) continue;
    const std::string path = "body." + body.name(i);
    const Shape& ws = conv->weight.shape();
    SR_CHECK(conv->stride == 1 && conv->padding == 1 && ws[2] == 3 && ws[3] == 3, "SRVGGNetCompact int8: ", path,
             " is not a 3x3 stride-1 conv");
    const ActivationQParams& in = table.input(path);
    const WeightQuant wq = quantize_weight(conv->weight, table.options.per_channel);
    std::vector<float> scale = wq.scale;
    if (!wq.per_channel) scale.assign(ws[0], wq.scale[0]);
    // The QDQ graph's bias: int32 at scale (input scale x weight scale), dequantised.
    std::vector<float> bias;
    if (conv->bias.defined()) {
      const Tensor b = dequantize_bias(quantize_bias(conv->bias, in.scale, wq, path), ws[0]);
      bias.assign(b.data<float>(), b.data<float>() + ws[0]);
    }
    Layer l;
    l.w = cpu::pack_conv_weights_int8(wq.values.data(), scale.data(), bias.empty() ? nullptr : bias.data(), ws[0],
                                      ws[1], ws[2], ws[3]);
    l.slope = activation_slopes(i + 1 < body.size() ? &body[i + 1] : nullptr, ws[0]);
    l.in_scale = in.scale;
    l.in_zero_point = in.zero_point + 128;
    convs_.push_back(std::move(l));
  }
  SR_CHECK(!convs_.empty(), "SRVGGNetCompact int8: the network has no convs");
  in_ch_ = convs_.front().w.C;
}

Tensor SRVGGNetCompactInt8::forward(const Tensor& x_in) const { return forward(x_in, cpu::conv2d_int8_selected_isa()); }

Tensor SRVGGNetCompactInt8::forward(const Tensor& x_in, cpu::Int8Isa isa) const {
  SR_CHECK(x_in.defined() && x_in.dim() == 4 && x_in.shape()[1] == in_ch_, "SRVGGNetCompact int8: input must be N x ",
           in_ch_, " x H x W, got ", x_in.defined() ? x_in.shape().str() : "undefined");
  NoGradGuard no_grad;
  const Tensor x = x_in.detach().to(Device::cpu()).to(DType::f32).contiguous();
  const int64_t N = x.shape()[0], H = x.shape()[2], W = x.shape()[3];
  cpu::QuantActivation a =
      cpu::make_quant_activation(N, in_ch_, H, W, 1, convs_[0].in_scale, convs_[0].in_zero_point);
  cpu::quantize_activation(x.data<float>(), a);
  // Two activations of the body's width, used in turn: only their border changes between
  // layers (it holds each input's own zero point).
  cpu::QuantActivation next;
  Tensor out;
  for (size_t i = 0; i < convs_.size(); ++i) {
    const Layer& l = convs_[i];
    const float* slope = l.slope.empty() ? nullptr : l.slope.data();
    if (i + 1 < convs_.size()) {
      const Layer& n = convs_[i + 1];
      if (next.N == N && next.C == l.w.K && next.H == H && next.W == W) {
        next.scale = n.in_scale;
        next.zero_point = n.in_zero_point;
        cpu::fill_border(next);
      } else {
        next = cpu::make_quant_activation(N, l.w.K, H, W, 1, n.in_scale, n.in_zero_point);
      }
      cpu::conv2d_int8_forward_isa(isa, a, l.w, {slope, &next, nullptr});
      std::swap(a, next);
    } else {
      out = Tensor::empty({N, l.w.K, H, W});
      cpu::conv2d_int8_forward_isa(isa, a, l.w, {slope, nullptr, out.data<float>()});
    }
  }
  return add(pixel_shuffle(out, upscale_), upsample_nearest(x, upscale_));
}

}  // namespace sr::quant
