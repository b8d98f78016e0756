// The exporter's building blocks (see onnx_emit.h): a conv (fp32 / fp16, or its int8 QDQ
// form), activations, resizes, pixel (un)shuffle, concatenation, the mean shifts.
#include "deploy/onnx_emit.h"

#include "engine/error.h"
#include "quant/int8.h"
#include "quant/ptq.h"

namespace sr::deploy {

namespace {

// int8 QDQ form of a conv's operands (quant/int8.h has the arithmetic): the input through
// QuantizeLinear + DequantizeLinear with its calibrated per-tensor scale and zero point; the
// weight stored int8 (symmetric, per output channel on axis 0 or per tensor) and the bias
// int32 (scale = input scale * weight scale), each read through a DequantizeLinear. ONNX
// Runtime recognises this pattern and may run the conv on integers; run as written, in float,
// it computes exactly srengine's fake-quant forward (quant/ptq.h).
struct QdqOperands {
  std::string x, w, b;
};

QdqOperands emit_qdq_operands(OnnxGraph& g, const Conv2d& c, const std::string& path, const std::string& x,
                              const Tensor& weight) {
  const quant::ActivationQParams& q = g.int8->input(path);
  const bool per_channel = g.int8->options.per_channel;
  QdqOperands r;
  const std::string xs = g.add_float32(path + ".input_scale", {q.scale}, {});
  const std::string xz = g.add_int8(path + ".input_zero_point", {int8_t(q.zero_point)}, {});
  const std::string xq = g.add_node("QuantizeLinear", {x, xs, xz}, path + ".input_quantized").output(0);
  r.x = g.add_node("DequantizeLinear", {xq, xs, xz}, path + ".input_dequantized").output(0);

  const quant::WeightQuant wq = quant::quantize_weight(weight, per_channel);
  const int64_t out = weight.size(0);
  const std::vector<int64_t> scale_dims = per_channel ? std::vector<int64_t>{out} : std::vector<int64_t>{};
  const std::string wv = g.add_int8(path + ".weight_quantized", wq.values, wq.shape);
  const std::string ws = g.add_float32(path + ".weight_scale", wq.scale, scale_dims);
  const std::string wz = g.add_int8(path + ".weight_zero_point", std::vector<int8_t>(wq.scale.size(), 0), scale_dims);
  onnx::NodeProto& wd = g.add_node("DequantizeLinear", {wv, ws, wz}, path + ".weight");
  if (per_channel) set_attr(wd, "axis", int64_t(0));
  r.w = wd.output(0);

  if (c.bias.defined()) {
    const quant::BiasQuant bq = quant::quantize_bias(c.bias, q.scale, wq, path + ".bias");
    const std::string bv = g.add_int32(path + ".bias_quantized", bq.values, {out});
    const std::string bs = g.add_float32(path + ".bias_scale", bq.scale, scale_dims);
    // No zero point: an int32 DequantizeLinear's is 0 by definition.
    onnx::NodeProto& bd = g.add_node("DequantizeLinear", {bv, bs}, path + ".bias");
    if (per_channel) set_attr(bd, "axis", int64_t(0));
    r.b = bd.output(0);
  }
  return r;
}

// A Resize node scaling the two spatial axes by an integer factor; the caller sets its mode.
onnx::NodeProto& add_resize_by(OnnxGraph& g, const std::string& x, int factor, const std::string& name) {
  // roi is unused by these modes but an input before opset 13: an empty tensor.
  const std::string roi = g.shared_float32("resize_roi", {}, {0});
  const float f = float(factor);
  const std::string scales = g.shared_float32("resize_scales_x" + std::to_string(factor), {1, 1, f, f}, {4});
  return g.add_node("Resize", {x, roi, scales}, name);
}

}  // namespace

std::string join(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}

// Conv: any square or rectangular kernel, stride, zero padding, bias; OIHW weights as stored.
// `weight` replaces the module's (RRDBNet's conv_first after pixel unshuffle).
std::string emit_conv(OnnxGraph& g, const Conv2d& c, const std::string& path, const std::string& x,
                      const Tensor& weight) {
  SR_CHECK(weight.dim() == 4, "ONNX export: ", path, ".weight must be OIHW, got ", weight.shape().str());
  QdqOperands ops;
  if (g.int8) {
    ops = emit_qdq_operands(g, c, path, x, weight);
  } else {
    ops.x = x;
    ops.w = g.add_weight(path + ".weight", weight);
    if (c.bias.defined()) ops.b = g.add_weight(path + ".bias", c.bias);
  }
  onnx::NodeProto* n;
  if (!ops.b.empty()) {
    n = &g.add_node("Conv", {ops.x, ops.w, ops.b}, path);
  } else {
    n = &g.add_node("Conv", {ops.x, ops.w}, path);
  }
  set_attr(*n, "kernel_shape", std::vector<int64_t>{weight.size(2), weight.size(3)});
  set_attr(*n, "strides", std::vector<int64_t>{c.stride, c.stride});
  set_attr(*n, "pads", std::vector<int64_t>{c.padding, c.padding, c.padding, c.padding});
  return n->output(0);
}

std::string emit_conv(OnnxGraph& g, const Conv2d& c, const std::string& path, const std::string& x) {
  return emit_conv(g, c, path, x, c.weight);
}

std::string emit_leaky_relu(OnnxGraph& g, const std::string& x, float slope, const std::string& name) {
  onnx::NodeProto& n = g.add_node("LeakyRelu", {x}, name);
  set_attr(n, "alpha", slope);
  return n.output(0);
}

// Conv2d::forward_leaky_relu: conv, then LeakyReLU (ONNX runtimes fuse the pair themselves).
std::string emit_conv_lrelu(OnnxGraph& g, const Conv2d& c, const std::string& path, const std::string& x,
                            float slope) {
  return emit_leaky_relu(g, emit_conv(g, c, path, x), slope, path + ".lrelu");
}

// y = scale * a + b (the residual blocks' axpby): Mul by a scalar, then Add.
std::string emit_scaled_add(OnnxGraph& g, const std::string& a, float scale, const std::string& b,
                            const std::string& path) {
  const std::string s = g.shared_scalar("residual_scale", scale);
  const std::string m = g.add_node("Mul", {a, s}, path + ".scale").output(0);
  return g.add_node("Add", {m, b}, path + ".residual").output(0);
}

// Nearest upsampling by an integer factor: out[y][x] = in[y / f][x / f], which is Resize
// with nearest mode, asymmetric coordinates and floor rounding (PyTorch's 'nearest').
std::string emit_upsample_nearest(OnnxGraph& g, const std::string& x, int factor, const std::string& name) {
  onnx::NodeProto& n = add_resize_by(g, x, factor, name);
  set_attr(n, "mode", std::string("nearest"));
  set_attr(n, "coordinate_transformation_mode", std::string("asymmetric"));
  set_attr(n, "nearest_mode", std::string("floor"));
  return n.output(0);
}

// Bilinear upsampling by an integer factor, align_corners=false: Resize in linear mode with
// pytorch_half_pixel coordinates (x_src = (x + 0.5) / f - 0.5, the source clamped to the
// image as PyTorch clamps it).
std::string emit_upsample_bilinear(OnnxGraph& g, const std::string& x, int factor, const std::string& name) {
  onnx::NodeProto& n = add_resize_by(g, x, factor, name);
  set_attr(n, "mode", std::string("linear"));
  set_attr(n, "coordinate_transformation_mode", std::string("pytorch_half_pixel"));
  return n.output(0);
}

// Concatenation along channels, in the order given (BasicSR's: x, x1, x2, ...).
std::string emit_concat(OnnxGraph& g, const std::vector<std::string>& parts, const std::string& name) {
  onnx::NodeProto& cat = g.add_node("Concat", {}, name);
  for (const std::string& p : parts) cat.add_input(p);
  set_attr(cat, "axis", int64_t(1));
  return cat.output(0);
}

// torch's pixel_shuffle by r is DepthToSpace in CRD mode: channel c * r^2 + dy * r + dx goes to
// (c, y r + dy, x r + dx).
std::string emit_pixel_shuffle(OnnxGraph& g, const std::string& x, int r, const std::string& name) {
  onnx::NodeProto& d2s = g.add_node("DepthToSpace", {x}, name);
  set_attr(d2s, "blocksize", int64_t(r));
  set_attr(d2s, "mode", std::string("CRD"));
  return d2s.output(0);
}

MeanShiftNames emit_mean_shift_constants(OnnxGraph& g, const RgbMeanShift& shift, const std::string& path) {
  const int64_t c = (int64_t)shift.rgb_mean.size();
  std::vector<float> mean_values;
  for (double v : shift.rgb_mean) mean_values.push_back(float(v));
  return {g.add_weight(join(path, "rgb_mean"), mean_values, {1, c, 1, 1}),
          g.add_weight(join(path, "img_range"), {float(shift.img_range)}, {})};
}

std::string emit_mean_shift_in(OnnxGraph& g, const MeanShiftNames& k, const std::string& path, const std::string& x) {
  const std::string h = g.add_node("Sub", {x, k.mean}, join(path, "sub_mean")).output(0);
  return g.add_node("Mul", {h, k.range}, join(path, "mul_img_range")).output(0);
}

std::string emit_mean_shift_out(OnnxGraph& g, const MeanShiftNames& k, const std::string& path, const std::string& y) {
  const std::string h = g.add_node("Div", {y, k.range}, join(path, "div_img_range")).output(0);
  return g.add_node("Add", {h, k.mean}, join(path, "add_mean")).output(0);
}

// layers/pixel_shuffle_upsample.h: each step's conv, then DepthToSpace by its factor.
std::string emit_pixel_shuffle_upsample(OnnxGraph& g, const PixelShuffleUpsample& up, const std::string& path,
                                        std::string x) {
  for (size_t i = 0; i < up.size(); ++i) {
    const std::string name = join(path, "upsample." + up.name(i));
    x = emit_conv(g, as<Conv2d>(up[i]), name, x);
    x = emit_pixel_shuffle(g, x, up.factors()[i], name + ".pixel_shuffle");
  }
  return x;
}

}  // namespace sr::deploy
