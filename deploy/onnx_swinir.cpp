// ONNX export of SwinIR (see onnx_swinir.h): the graph mirrors SwinIR::forward op by op, from
// the Swin pieces of onnx_swin_graph.h (features kept as (B, H, W, C)). Sizes are computed from
// the input's shape in four places only: the padding, the shift mask, the windows' count in the
// masked attention, and the final crop.
#include "deploy/onnx_swinir.h"

#include <cstdint>

#include "deploy/onnx_emit.h"
#include "deploy/onnx_swin_graph.h"
#include "engine/error.h"
#include "nets/swinir.h"

namespace sr::deploy {

namespace {

class SwinEmitter : public SwinGraph {
 public:
  SwinEmitter(OnnxGraph& g, const SwinIR& net, const std::string& path) : SwinGraph(g, path), net_(net) {}

  std::string emit(const std::string& input);

 private:
  std::string block(const SwinTransformerBlock& b, const std::string& path, const std::string& t);
  std::string residual_conv(const Module& conv, const std::string& path, const std::string& x);
  std::string head(const std::string& res, const std::string& x);

  const SwinIR& net_;
};

// SwinTransformerBlock on (B, H, W, C): t + window attention over the (shifted) windows of
// norm1(t), then + mlp(norm2(.)).
std::string SwinEmitter::block(const SwinTransformerBlock& b, const std::string& path, const std::string& t) {
  const int ws = b.window_size, shift = b.shift;
  const int64_t C = b.norm1->weight.numel();
  std::string h = layer_norm(*b.norm1, join(path, "norm1"), t);
  if (shift > 0) h = roll(h, -shift, join(path, "roll"));
  const Windows w = partition(h, ws, C, join(path, "window_partition"));
  const std::string a = attention(*b.attn, join(path, "attn"), w.windows, shift);
  std::string y = merge(a, w, h, join(path, "window_merge"));
  if (shift > 0) y = roll(y, shift, join(path, "roll_back"));
  const std::string x = node("Add", {t, y}, join(path, "attention_residual"));

  return mlp_residual(*b.norm2, *b.mlp, path, x);
}

// "1conv": a 3x3 conv; "3conv": conv, LeakyReLU 0.2, 1x1 conv, LeakyReLU 0.2, conv (.0 .2 .4).
std::string SwinEmitter::residual_conv(const Module& conv, const std::string& path, const std::string& x) {
  if (const auto* c = dynamic_cast<const Conv2d*>(&conv)) return emit_conv(g_, *c, path, x);
  const Sequential& s = as<Sequential>(conv);
  std::string y = emit_conv_lrelu(g_, as<Conv2d>(s[0]), join(path, "0"), x, 0.2f);
  y = emit_conv_lrelu(g_, as<Conv2d>(s[1]), join(path, "2"), y, 0.2f);
  return emit_conv(g_, as<Conv2d>(s[2]), join(path, "4"), y);
}

// The upsampling head on the features `res` (+ conv_first's input `x` without one).
std::string SwinEmitter::head(const std::string& res, const std::string& x) {
  const SwinIR& n = net_;
  const std::string& up = n.options.upsampler;
  const auto before = [&] {
    return emit_conv_lrelu(g_, as<Conv2d>(as<Sequential>(*n.conv_before_upsample)[0]),
                           join(path_, "conv_before_upsample.0"), res, 0.01f);
  };
  if (up == "pixelshuffle") {
    const std::string h = emit_pixel_shuffle_upsample(g_, as<PixelShuffleUpsample>(*n.upsample), path_, before());
    return emit_conv(g_, *n.conv_last, join(path_, "conv_last"), h);
  }
  if (up == "pixelshuffledirect") {
    const std::string h = emit_conv(g_, as<Conv2d>(as<Sequential>(*n.upsample)[0]), join(path_, "upsample.0"), res);
    return emit_pixel_shuffle(g_, h, n.options.upscale, join(path_, "upsample.1"));
  }
  if (up == "nearest+conv") {
    std::string h = before();
    h = emit_conv_lrelu(g_, *n.conv_up1, join(path_, "conv_up1"),
                        emit_upsample_nearest(g_, h, 2, join(path_, "upsample1")), 0.2f);
    h = emit_conv_lrelu(g_, *n.conv_up2, join(path_, "conv_up2"),
                        emit_upsample_nearest(g_, h, 2, join(path_, "upsample2")), 0.2f);
    h = emit_conv_lrelu(g_, *n.conv_hr, join(path_, "conv_hr"), h, 0.2f);
    return emit_conv(g_, *n.conv_last, join(path_, "conv_last"), h);
  }
  return node("Add", {x, emit_conv(g_, *n.conv_last, join(path_, "conv_last"), res)}, join(path_, "add_input"));
}

std::string SwinEmitter::emit(const std::string& input) {
  const SwinIR& n = net_;
  const int ws = n.options.window_size;
  const std::string padded = pad_to_window(input, ws);

  const MeanShiftNames k = emit_mean_shift_constants(g_, n.mean_shift(), path_);
  padded_ = emit_mean_shift_in(g_, k, path_, padded);
  const std::string f = emit_conv(g_, *n.conv_first, join(path_, "conv_first"), padded_);

  // features: (B, C, H, W) -> (B, H, W, C), patch_embed.norm, the RSTBs, norm, back to NCHW.
  std::string t = transpose(f, {0, 2, 3, 1}, join(path_, "patch_embed"));
  if (n.patch_norm) t = layer_norm(*n.patch_norm, join(path_, "patch_embed.norm"), t);
  for (size_t i = 0; i < n.layers->size(); ++i) {
    const RSTB& r = as<RSTB>((*n.layers)[i]);
    const std::string rp = join(path_, "layers." + std::to_string(i));
    std::string u = t;
    for (size_t j = 0; j < r.blocks->size(); ++j)
      u = block(as<SwinTransformerBlock>((*r.blocks)[j]), join(rp, "residual_group.blocks." + std::to_string(j)), u);
    const std::string img = transpose(u, {0, 3, 1, 2}, join(rp, "patch_unembed"));
    const std::string conv = residual_conv(*r.conv, join(rp, "conv"), img);
    const std::string c = transpose(conv, {0, 2, 3, 1}, join(rp, "patch_embed"));
    t = node("Add", {c, t}, join(rp, "residual"));
  }
  t = layer_norm(*n.norm, join(path_, "norm"), t);
  const std::string feats = transpose(t, {0, 3, 1, 2}, join(path_, "patch_unembed"));
  const std::string res =
      node("Add", {residual_conv(*n.conv_after_body, join(path_, "conv_after_body"), feats), f}, join(path_, "body_skip"));

  const std::string y = emit_mean_shift_out(g_, k, path_, head(res, padded_));
  return crop_to_input(y, n.output_scale());  // back to the input's size times the scale
}

}  // namespace

std::string emit_swinir(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  SR_CHECK(!g.int8, "int8 export: SwinIR has no int8 form in srengine (its attention and MLP are not convolutions); "
                    "export it in fp32 or fp16");
  return SwinEmitter(g, as<SwinIR>(m), path).emit(x);
}

}  // namespace sr::deploy
