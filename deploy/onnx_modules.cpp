// The exporter's op table (see onnx_modules.h). Each emitter mirrors the module's forward()
// op by op, in the unfused form (layers/rrdb.h: the fused residual dense block computes the
// same function). Tensor names are the modules' dotted paths, weights keep BasicSR's keys.
#include "deploy/onnx_modules.h"

#include <map>

#include "deploy/onnx_emit.h"
#include "deploy/onnx_hat.h"
#include "deploy/onnx_swinir.h"
#include "engine/error.h"
#include "layers/activation.h"
#include "layers/conv2d.h"
#include "layers/rrdb.h"
#include "layers/sequential.h"
#include "nets/ecbsr.h"
#include "nets/ecbsr_deploy.h"
#include "nets/edsr.h"
#include "nets/msrresnet.h"
#include "nets/rcan.h"
#include "nets/rrdbnet.h"
#include "nets/srvgg_compact.h"
#include "nets/hat.h"
#include "nets/swinir.h"

namespace sr::deploy {

namespace {

constexpr float kRrdbSlope = 0.2f;     // RRDBNet's LeakyReLU slope (nets/rrdbnet.cpp)
constexpr float kRrdbResidual = 0.2f;  // residual scaling in RDB and RRDB (layers/rrdb.cpp)

std::string emit_sequential(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  const Sequential& s = as<Sequential>(m);
  std::string y = x;
  for (size_t i = 0; i < s.size(); ++i) y = emit_module(g, s[i], join(path, s.name(i)), y);
  return y;
}

std::string emit_conv2d(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  return emit_conv(g, as<Conv2d>(m), path, x);
}

std::string emit_leaky_relu_module(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  return emit_leaky_relu(g, x, float(as<LeakyReLU>(m).slope), path);
}

std::string emit_relu(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  return g.add_node("Relu", {x}, path).output(0);
}

// PReLU: one slope per channel, stored (C); ONNX broadcasts the slope against NCHW from the
// right, so it is given as (C, 1, 1).
std::string emit_prelu(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  const PReLU& p = as<PReLU>(m);
  const int64_t c = p.weight.numel();
  const std::string slope = g.add_weight(path + ".weight", p.weight, c == 1 ? std::vector<int64_t>{1}
                                                                            : std::vector<int64_t>{c, 1, 1});
  return g.add_node("PRelu", {x, slope}, path).output(0);
}

// x1..x4 = lrelu(conv_k(cat(x, x1, .., x_{k-1}))), x5 = conv5(cat(x, x1..x4)), out = 0.2 x5 + x.
std::string emit_rdb(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  const ResidualDenseBlock& b = as<ResidualDenseBlock>(m);
  const Conv2d* convs[4] = {b.conv1.get(), b.conv2.get(), b.conv3.get(), b.conv4.get()};
  std::vector<std::string> feats = {x};
  for (int k = 0; k < 4; ++k) {
    const std::string name = join(path, "conv" + std::to_string(k + 1));
    const std::string in = k == 0 ? x : emit_concat(g, feats, name + ".input");
    feats.push_back(emit_conv_lrelu(g, *convs[k], name, in, kRrdbSlope));
  }
  const std::string name = join(path, "conv5");
  const std::string x5 = emit_conv(g, *b.conv5, name, emit_concat(g, feats, name + ".input"));
  return emit_scaled_add(g, x5, kRrdbResidual, x, path);
}

// out = 0.2 rdb3(rdb2(rdb1(x))) + x.
std::string emit_rrdb(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  const RRDB& b = as<RRDB>(m);
  std::string y = emit_rdb(g, *b.rdb1, join(path, "rdb1"), x);
  y = emit_rdb(g, *b.rdb2, join(path, "rdb2"), y);
  y = emit_rdb(g, *b.rdb3, join(path, "rdb3"), y);
  return emit_scaled_add(g, y, kRrdbResidual, x, path);
}

// torch's pixel_unshuffle puts input channel c, offset k = dy * r + dx at c * r^2 + k;
// ONNX's SpaceToDepth puts it at k * C + c. Rather than reorder the activations (a
// Reshape/Transpose pair whose shapes would have to be computed for dynamic sizes), the
// conv that reads them gets its input channels reordered: the same function, exactly.
Tensor reorder_for_space_to_depth(const Tensor& weight, int64_t channels, int r) {
  const Tensor w = weight.detach().to(Device::cpu()).to(DType::f32).contiguous();
  const int64_t out = w.size(0), in = w.size(1), khw = w.size(2) * w.size(3), rr = int64_t(r) * r;
  SR_CHECK(in == channels * rr, "ONNX export: conv_first takes ", in, " channels, not ", channels, " x ", rr);
  Tensor o = Tensor::empty(w.shape(), DType::f32);
  const float* src = w.data<float>();
  float* dst = o.data<float>();
  for (int64_t oc = 0; oc < out; ++oc)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t k = 0; k < rr; ++k)
        for (int64_t i = 0; i < khw; ++i)
          dst[(oc * in + k * channels + c) * khw + i] = src[(oc * in + c * rr + k) * khw + i];
  return o;
}

// nets/rrdbnet.h: [pixel unshuffle] conv_first, body + conv_body with the long skip, two
// nearest x2 + conv + lrelu, conv_hr + lrelu, conv_last.
std::string emit_rrdbnet(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  const RRDBNet& net = as<RRDBNet>(m);
  const int r = net.unshuffle_factor();
  std::string feat;
  if (r > 1) {
    onnx::NodeProto& s2d = g.add_node("SpaceToDepth", {x}, join(path, "pixel_unshuffle"));
    set_attr(s2d, "blocksize", int64_t(r));
    const int64_t channels = net.conv_first->weight.size(1) / (int64_t(r) * r);
    feat = emit_conv(g, *net.conv_first, join(path, "conv_first"), s2d.output(0),
                     reorder_for_space_to_depth(net.conv_first->weight, channels, r));
  } else {
    feat = emit_conv(g, *net.conv_first, join(path, "conv_first"), x);
  }
  const std::string body = emit_module(g, *net.body, join(path, "body"), feat);
  const std::string trunk = emit_conv(g, *net.conv_body, join(path, "conv_body"), body);
  feat = g.add_node("Add", {feat, trunk}, join(path, "body_skip")).output(0);
  feat = emit_upsample_nearest(g, feat, 2, join(path, "upsample1"));
  feat = emit_conv_lrelu(g, *net.conv_up1, join(path, "conv_up1"), feat, kRrdbSlope);
  feat = emit_upsample_nearest(g, feat, 2, join(path, "upsample2"));
  feat = emit_conv_lrelu(g, *net.conv_up2, join(path, "conv_up2"), feat, kRrdbSlope);
  feat = emit_conv_lrelu(g, *net.conv_hr, join(path, "conv_hr"), feat, kRrdbSlope);
  return emit_conv(g, *net.conv_last, join(path, "conv_last"), feat);
}

// nets/srvgg_compact.h: pixel_shuffle(body(x)) + nearest(x).
std::string emit_srvgg(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  const SRVGGNetCompact& net = as<SRVGGNetCompact>(m);
  const std::string body = emit_module(g, *net.body, join(path, "body"), x);
  const std::string out = emit_pixel_shuffle(g, body, net.upscale, join(path, "pixel_shuffle"));
  const std::string base = emit_upsample_nearest(g, x, net.upscale, join(path, "upsample_input"));
  return g.add_node("Add", {out, base}, join(path, "add_upsampled_input")).output(0);
}

// nets/ecbsr.h in its deployment form: each ECB as the one 3x3 Conv its five branches fold to
// (K, B: nets/ecbsr_deploy.h), its activation (PRelu / Relu; none for act_type linear and after
// the last block), DepthToSpace, plus the nearest-upsampled input (Concat'ed to num_out_ch copies
// when one input channel feeds every output, as the forward's cat_channels; the input itself at
// scale 1). One emitter for every ECBSR rather than a conversion to SRVGGNetCompact first: the
// linear, gray-to-RGB and x1 nets have no SRVGGNetCompact form, and the graph keeps ECBSR's
// names (backbone.i, backbone.i.act.weight) so a graph viewer matches the training checkpoint.
// The graph is op for op what ecbsr_to_srvgg's net exports where that exists.
std::string emit_ecbsr(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  const ECBSR& net = as<ECBSR>(m);
  std::string y = x;
  for (size_t i = 0; i < net.blocks.size(); ++i) {
    const ECB& block = *net.blocks[i];
    const std::string name = join(path, "backbone." + std::to_string(i));
    y = emit_conv(g, *ecb_to_conv2d(block), name, y);
    if (block.act) y = emit_module(g, *block.act, join(name, "act"), y);
  }
  std::string base = x;
  if (net.scale > 1) {
    y = emit_pixel_shuffle(g, y, net.scale, join(path, "pixel_shuffle"));
    base = emit_upsample_nearest(g, x, net.scale, join(path, "upsample_input"));
  }
  if (net.num_out_ch > net.num_in_ch)
    base = emit_concat(g, std::vector<std::string>(net.num_out_ch, base), join(path, "broadcast_input"));
  return g.add_node("Add", {y, base}, join(path, "add_upsampled_input")).output(0);
}

// nets/edsr.h's ResidualBlockNoBN: x + res_scale * conv2(relu(conv1(x))) (a plain Add at 1).
std::string emit_residual_block_no_bn(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  const ResidualBlockNoBN& b = as<ResidualBlockNoBN>(m);
  std::string y = emit_conv(g, *b.conv1, join(path, "conv1"), x);
  y = g.add_node("Relu", {y}, join(path, "relu")).output(0);
  y = emit_conv(g, *b.conv2, join(path, "conv2"), y);
  if (b.res_scale == 1.0) return g.add_node("Add", {x, y}, join(path, "residual")).output(0);
  return emit_scaled_add(g, y, float(b.res_scale), x, path);
}

// EDSR's and RCAN's frame, in BasicSR's order: the mean shift in, conv_first, body +
// conv_after_body with the long skip, the upsample stages, conv_last, the mean shift out.
template <typename Net>
std::string emit_mean_shifted_net(OnnxGraph& g, const Net& net, const std::string& path, const std::string& x) {
  const MeanShiftNames k = emit_mean_shift_constants(g, net.mean_shift(), path);
  const std::string h = emit_conv(g, *net.conv_first, join(path, "conv_first"), emit_mean_shift_in(g, k, path, x));
  const std::string body = emit_module(g, *net.body, join(path, "body"), h);
  const std::string trunk = emit_conv(g, *net.conv_after_body, join(path, "conv_after_body"), body);
  const std::string res = g.add_node("Add", {trunk, h}, join(path, "body_skip")).output(0);
  const std::string up = emit_pixel_shuffle_upsample(g, *net.upsample, path, res);
  return emit_mean_shift_out(g, k, path, emit_conv(g, *net.conv_last, join(path, "conv_last"), up));
}

std::string emit_edsr(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  return emit_mean_shifted_net(g, as<EDSR>(m), path, x);
}

std::string emit_rcan(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  return emit_mean_shifted_net(g, as<RCAN>(m), path, x);
}

// nets/rcan.h's channel attention: x * Sigmoid(conv(Relu(conv(GlobalAveragePool(x))))), the
// 1x1 convs at attention.1 and attention.3.
std::string emit_channel_attention(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  const ChannelAttention& ca = as<ChannelAttention>(m);
  std::string a = g.add_node("GlobalAveragePool", {x}, join(path, "attention.0")).output(0);
  a = emit_conv(g, as<Conv2d>((*ca.attention)[0]), join(path, "attention.1"), a);
  a = g.add_node("Relu", {a}, join(path, "attention.2")).output(0);
  a = emit_conv(g, as<Conv2d>((*ca.attention)[1]), join(path, "attention.3"), a);
  a = g.add_node("Sigmoid", {a}, join(path, "attention.4")).output(0);
  return g.add_node("Mul", {x, a}, join(path, "scale")).output(0);
}

// nets/rcan.h's RCAB: x + res_scale * CA(conv(relu(conv(x)))) (a plain Add at 1).
std::string emit_rcab(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  const RCAB& b = as<RCAB>(m);
  std::string y = emit_conv(g, as<Conv2d>((*b.rcab)[0]), join(path, "rcab.0"), x);
  y = g.add_node("Relu", {y}, join(path, "rcab.1")).output(0);
  y = emit_conv(g, as<Conv2d>((*b.rcab)[1]), join(path, "rcab.2"), y);
  y = emit_channel_attention(g, (*b.rcab)[2], join(path, "rcab.3"), y);
  if (b.res_scale == 1.0) return g.add_node("Add", {x, y}, join(path, "residual")).output(0);
  return emit_scaled_add(g, y, float(b.res_scale), x, path);
}

// nets/rcan.h's ResidualGroup: x + conv(RCAB chain(x)).
std::string emit_residual_group(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  const ResidualGroup& rg = as<ResidualGroup>(m);
  const std::string chain = emit_module(g, *rg.residual_group, join(path, "residual_group"), x);
  const std::string y = emit_conv(g, *rg.conv, join(path, "conv"), chain);
  return g.add_node("Add", {x, y}, join(path, "residual")).output(0);
}

// nets/msrresnet.h: lrelu(conv_first), the blocks, the upconv + pixel shuffle steps with lrelu,
// lrelu(conv_hr), conv_last, plus the input upsampled bilinearly.
std::string emit_msrresnet(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  const MSRResNet& net = as<MSRResNet>(m);
  constexpr float kSlope = 0.1f;  // nets/msrresnet.cpp
  std::string out = emit_conv_lrelu(g, *net.conv_first, join(path, "conv_first"), x, kSlope);
  out = emit_module(g, *net.body, join(path, "body"), out);
  const int r1 = net.upscale == 4 ? 2 : net.upscale;
  out = emit_conv_lrelu(g, *net.upconv1, join(path, "upconv1"), out, kSlope);
  out = emit_pixel_shuffle(g, out, r1, join(path, "upconv1.pixel_shuffle"));
  if (net.upconv2) {
    out = emit_conv_lrelu(g, *net.upconv2, join(path, "upconv2"), out, kSlope);
    out = emit_pixel_shuffle(g, out, 2, join(path, "upconv2.pixel_shuffle"));
  }
  out = emit_conv_lrelu(g, *net.conv_hr, join(path, "conv_hr"), out, kSlope);
  out = emit_conv(g, *net.conv_last, join(path, "conv_last"), out);
  const std::string base = emit_upsample_bilinear(g, x, net.upscale, join(path, "upsample_input"));
  return g.add_node("Add", {out, base}, join(path, "add_upsampled_input")).output(0);
}

using Emitter = std::string (*)(OnnxGraph&, const Module&, const std::string&, const std::string&);

const std::map<std::string, Emitter>& emitters() {
  static const std::map<std::string, Emitter> table = {
      {"Conv2d", &emit_conv2d},       {"LeakyReLU", &emit_leaky_relu_module},
      {"ReLU", &emit_relu},           {"PReLU", &emit_prelu},
      {"Sequential", &emit_sequential}, {"ResidualDenseBlock", &emit_rdb},
      {"RRDB", &emit_rrdb},           {"RRDBNet", &emit_rrdbnet},
      {"SRVGGNetCompact", &emit_srvgg}, {"EDSR", &emit_edsr},
      {"ResidualBlockNoBN", &emit_residual_block_no_bn}, {"MSRResNet", &emit_msrresnet},
      {"RCAN", &emit_rcan},           {"ResidualGroup", &emit_residual_group},
      {"RCAB", &emit_rcab},           {"ChannelAttention", &emit_channel_attention},
      {"SwinIR", &emit_swinir},       {"HAT", &emit_hat},
      {"ECBSR", &emit_ecbsr},
  };
  return table;
}

}  // namespace

std::vector<std::string> exportable_module_types() {
  std::vector<std::string> out;
  for (const auto& [k, v] : emitters()) out.push_back(k);
  return out;
}

std::string emit_module(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  const auto it = emitters().find(m.type_name());
  if (it == emitters().end()) {
    std::string known;
    for (const std::string& t : exportable_module_types()) known += (known.empty() ? "" : ", ") + t;
    fail("ONNX export: op ", m.type_name(), path.empty() ? std::string() : " at '" + path + "'",
         " has no ONNX mapping in srengine's exporter (it maps ", known, ")");
  }
  return it->second(g, m, path, x);
}

GeneratorInterface generator_interface(const Module& net) {
  GeneratorInterface io;
  if (const auto* r = dynamic_cast<const RRDBNet*>(&net)) {
    io.scale = r->scale;
    io.divisor = r->unshuffle_factor();
    io.in_channels = r->conv_first->weight.size(1) / (int64_t(io.divisor) * io.divisor);
    io.out_channels = r->conv_last->weight.size(0);
  } else if (const auto* s = dynamic_cast<const SRVGGNetCompact*>(&net)) {
    io.scale = s->upscale;
    const auto& first = as<Conv2d>((*s->body)[0]);
    io.in_channels = first.weight.size(1);
    io.out_channels = io.in_channels;  // the upsampled input is added to the output
  } else if (const auto* mr = dynamic_cast<const MSRResNet*>(&net)) {
    io.scale = mr->upscale;
    io.in_channels = mr->conv_first->weight.size(1);
    io.out_channels = mr->conv_last->weight.size(0);
  } else if (const auto* e = dynamic_cast<const EDSR*>(&net)) {
    io.scale = e->upscale;
    io.in_channels = e->conv_first->weight.size(1);
    io.out_channels = e->conv_last->weight.size(0);
  } else if (const auto* rc = dynamic_cast<const RCAN*>(&net)) {
    io.scale = rc->upscale;
    io.in_channels = rc->conv_first->weight.size(1);
    io.out_channels = rc->conv_last->weight.size(0);
  } else if (const auto* sw = dynamic_cast<const SwinIR*>(&net)) {
    io.scale = sw->output_scale();
    io.in_channels = io.out_channels = sw->options.in_chans;
  } else if (const auto* h = dynamic_cast<const HAT*>(&net)) {
    io.scale = h->output_scale();
    io.in_channels = io.out_channels = h->options.in_chans;
  } else if (const auto* ec = dynamic_cast<const ECBSR*>(&net)) {
    io.scale = ec->scale;
    io.in_channels = ec->num_in_ch;
    io.out_channels = ec->num_out_ch;  // one input channel may feed every output channel
  } else {
    fail("ONNX export: network ", net.type_name(), " has no ONNX mapping: srengine exports the generators "
         "RRDBNet, SRVGGNetCompact, EDSR, MSRResNet, RCAN, SwinIR, HAT and ECBSR");
  }
  io.name = net.type_name() + " x" + std::to_string(io.scale);
  return io;
}

}  // namespace sr::deploy
