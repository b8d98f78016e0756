// ONNX export of SwinIR (see onnx_swinir.h). The graph mirrors SwinIR::forward op by op. Its
// transformer part keeps the features as (B, H, W, C) instead of BasicSR's (B, H*W, C) tokens:
// the same values in the same order, but with H and W as axes every reshape can be written
// with ONNX's 0 (copy that dimension) and -1 (infer one dimension), so no height or width has
// to be computed from the input's shape except in four places: the padding, the shift mask,
// the windows' count in the masked attention, and the final crop.
#include "deploy/onnx_swinir.h"

#include <cmath>
#include <cstdint>
#include <map>

#include "deploy/onnx_emit.h"
#include "engine/error.h"
#include "kernels/common/window_attention.h"
#include "nets/swinir.h"

namespace sr::deploy {

namespace {

// "To the end" for Slice (ONNX clamps it to the axis).
constexpr int64_t kToEnd = int64_t(1) << 62;

class SwinEmitter {
 public:
  SwinEmitter(OnnxGraph& g, const SwinIR& net, const std::string& path) : g_(g), net_(net), path_(path) {}

  std::string emit(const std::string& input);

 private:
  std::string node(const char* op, std::initializer_list<std::string> in, const std::string& name) {
    return g_.add_node(op, in, name).output(0);
  }
  std::string reshape(const std::string& x, const std::vector<int64_t>& shape, const std::string& name) {
    return node("Reshape", {x, g_.ints(shape)}, name);
  }
  std::string reshape_to(const std::string& x, const std::string& shape, const std::string& name) {
    return node("Reshape", {x, shape}, name);
  }
  std::string transpose(const std::string& x, const std::vector<int64_t>& perm, const std::string& name) {
    onnx::NodeProto& n = g_.add_node("Transpose", {x}, name);
    set_attr(n, "perm", perm);
    return n.output(0);
  }
  std::string slice(const std::string& x, int64_t start, int64_t end, int64_t axis, const std::string& name) {
    return node("Slice", {x, g_.ints({start}), g_.ints({end}), g_.ints({axis})}, name);
  }
  std::string concat(std::initializer_list<std::string> parts, int64_t axis, const std::string& name) {
    onnx::NodeProto& n = g_.add_node("Concat", parts, name);
    set_attr(n, "axis", axis);
    return n.output(0);
  }

  // (B, H, W, C) -> (B, H, Wn, ws, C) -> (B Hn, ws, Wn, ws, C) -> (B Hn, Wn, ws, ws, C) ->
  // (B nW, N, C): Swin's window_partition order. `cut` is the 5-d tensor before the last
  // reshape; window_merge reads its shape to go back.
  struct Windows {
    std::string windows, cut;
  };
  Windows partition(const std::string& x, int ws, int64_t C, const std::string& name) {
    std::string w = reshape(x, {0, 0, -1, ws, C}, name + ".cut_cols");
    w = reshape(w, {-1, ws, 0, 0, 0}, name + ".cut_rows");
    w = transpose(w, {0, 2, 1, 3, 4}, name + ".cut");
    return {reshape(w, {-1, int64_t(ws) * ws, C}, name + ".windows"), w};
  }
  // The inverse, to the shape of `image` (B, H, W, C).
  std::string merge(const std::string& windows, const Windows& cut, const std::string& image, const std::string& name) {
    const std::string w = reshape_to(windows, node("Shape", {cut.cut}, name + ".cut_shape"), name + ".uncut");
    const std::string rows = transpose(w, {0, 2, 1, 3, 4}, name + ".rows");
    return reshape_to(rows, node("Shape", {image}, name + ".image_shape"), name);
  }

  std::string linear(const Linear& l, const std::string& path, const std::string& x);
  std::string layer_norm(const LayerNorm& ln, const std::string& path, const std::string& x);
  std::string gelu(const std::string& x, const std::string& name);
  std::string roll(const std::string& x, int64_t by, const std::string& name);
  std::string shift_mask(int ws, int shift);
  std::string attention(const SwinWindowAttention& a, const std::string& path, const std::string& windows, int shift);
  std::string block(const SwinTransformerBlock& b, const std::string& path, const std::string& t);
  std::string residual_conv(const Module& conv, const std::string& path, const std::string& x);
  std::string head(const std::string& res, const std::string& x);

  OnnxGraph& g_;
  const SwinIR& net_;
  std::string path_;
  std::string padded_;                            // the padded, normalised NCHW input
  std::map<std::pair<int, int>, std::string> masks_;  // (window, shift) -> (nW, 1, N, N)
  std::map<int, std::string> indices_;                // window -> relative position index (N*N)
};

// nn.Linear on the last axis: MatMul by the weight's transpose, stored transposed (in, out) as
// `<key>.T` (a distinct name: a tool that swaps initializers by state-dict key must not put
// PyTorch's (out, in) there, which a square proj's shape would not catch), then the bias.
// ONNX's Gemm takes 2-d inputs only.
std::string SwinEmitter::linear(const Linear& l, const std::string& path, const std::string& x) {
  const Tensor w = l.weight.detach().to(Device::cpu()).to(DType::f32).contiguous();
  const int64_t out = w.size(0), in = w.size(1);
  const float* p = w.data<float>();
  std::vector<float> wt((size_t)(out * in));
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) wt[(size_t)(i * out + o)] = p[o * in + i];
  std::string y = node("MatMul", {x, g_.add_weight(path + ".weight.T", wt, {in, out})}, path);
  if (l.bias.defined()) y = node("Add", {y, g_.add_weight(path + ".bias", l.bias)}, path + ".add_bias");
  return y;
}

// nn.LayerNorm over the last axis: LayerNormalization from opset 17 (its statistics in float32,
// stash_type 1); before it, the same arithmetic written out: (x - mean) / sqrt(var + eps) *
// weight + bias, var the biased mean of squares (as PyTorch's). In a float16 graph the written-out
// statistics are computed in float32 too: (x - mean)^2 overflows float16 once |x - mean| passes
// 256 (SwinIR's img_range 255 features do), and the sum of squares sooner.
std::string SwinEmitter::layer_norm(const LayerNorm& ln, const std::string& path, const std::string& x) {
  const std::string w = g_.add_weight(path + ".weight", ln.weight);
  const std::string b = g_.add_weight(path + ".bias", ln.bias);
  if (g_.opset >= 17) {
    onnx::NodeProto& n = g_.add_node("LayerNormalization", {x, w, b}, path);
    set_attr(n, "axis", int64_t(-1));
    set_attr(n, "epsilon", float(ln.eps));
    return n.output(0);
  }
  auto cast = [&](const std::string& v, int64_t to, const std::string& name) {
    onnx::NodeProto& n = g_.add_node("Cast", {v}, name);
    set_attr(n, "to", to);
    return n.output(0);
  };
  auto mean = [&](const std::string& v, const std::string& name) {
    onnx::NodeProto& n = g_.add_node("ReduceMean", {v}, name);
    set_attr(n, "axes", std::vector<int64_t>{-1});
    set_attr(n, "keepdims", int64_t(1));
    return n.output(0);
  };
  const std::string xf = g_.half() ? cast(x, onnx::TensorProto::FLOAT, path + ".to_fp32") : x;
  const std::string d = node("Sub", {xf, mean(xf, path + ".mean")}, path + ".centered");
  const std::string var = mean(node("Mul", {d, d}, path + ".squared"), path + ".variance");
  const std::string eps = g_.add_float32(path + ".eps", std::vector<float>{float(ln.eps)}, {});  // float32 always
  const std::string sd = node("Sqrt", {node("Add", {var, eps}, path + ".add_eps")}, path + ".std");
  std::string y = node("Div", {d, sd}, path + ".normalized");
  if (g_.half()) y = cast(y, onnx::TensorProto::FLOAT16, path + ".to_fp16");
  return node("Add", {node("Mul", {y, w}, path + ".scale"), b}, path);
}

// The exact GELU, x Phi(x) = x (1 + erf(x / sqrt 2)) / 2 (ONNX's Gelu op needs opset 20).
std::string SwinEmitter::gelu(const std::string& x, const std::string& name) {
  const std::string scaled = node("Mul", {x, g_.shared_scalar("gelu_inv_sqrt2", float(M_SQRT1_2))}, name + ".div_sqrt2");
  const std::string e = node("Erf", {scaled}, name + ".erf");
  const std::string p = node("Add", {e, g_.shared_scalar("gelu_one", 1.0f)}, name + ".add_one");
  return node("Mul", {node("Mul", {x, p}, name + ".mul_x"), g_.shared_scalar("gelu_half", 0.5f)}, name);
}

// torch.roll(x, (by, by), dims=(1, 2)) of (B, H, W, C): along each axis, x[m:] then x[:m] with
// m = -by (ONNX has no Roll; Slice counts negative bounds from the end).
std::string SwinEmitter::roll(const std::string& x, int64_t by, const std::string& name) {
  const int64_t m = -by;
  std::string y = x;
  for (int64_t axis : {1, 2}) {
    const std::string a = name + ".axis" + std::to_string(axis);
    y = concat({slice(y, m, kToEnd, axis, a + ".tail"), slice(y, 0, m, axis, a + ".head")}, axis, a);
  }
  return y;
}

// Swin's calculate_mask on the padded image's Hp x Wp grid, as a graph: each coordinate's region
// along an axis of size n is [c >= n - ws] + [c >= n - shift] (the slices (0, -ws), (-ws, -shift),
// (-shift, None) as 0, 1, 2), a pixel's label is 3 row region + column region, the labels are cut
// into windows as the features are, and token pairs of different labels get -100:
// (nW, 1, N, N), the 1 broadcasting over the heads. Built once per (window, shift).
std::string SwinEmitter::shift_mask(int ws, int shift) {
  const auto key = std::make_pair(ws, shift);
  if (auto it = masks_.find(key); it != masks_.end()) return it->second;
  const std::string name = join(path_, "attn_mask_w" + std::to_string(ws) + "_s" + std::to_string(shift));
  const std::string shape = node("Shape", {padded_}, name + ".input_shape");
  auto regions = [&](int64_t axis, const std::string& axis_name) {
    const std::string a = name + "." + axis_name;
    const std::string n = node("Gather", {shape, g_.int_scalar(axis)}, a + ".size");
    const std::string c = node("Range", {g_.int_scalar(0), n, g_.int_scalar(1)}, a + ".coordinates");
    std::string r;
    for (int64_t from : {int64_t(ws), int64_t(shift)}) {
      const std::string edge = node("Sub", {n, g_.int_scalar(from)}, a + ".edge");
      // c >= edge as Not(c < edge): GreaterOrEqual needs opset 12.
      const std::string in = node("Not", {node("Less", {c, edge}, a + ".before_edge")}, a + ".past_edge");
      onnx::NodeProto& cast = g_.add_node("Cast", {in}, a + ".past_edge_int");
      set_attr(cast, "to", int64_t(onnx::TensorProto::INT64));
      r = r.empty() ? cast.output(0) : node("Add", {r, cast.output(0)}, a + ".region");
    }
    return r;
  };
  // Labels (1, Hp, Wp, 1), cut into windows as the features are.
  const std::string rows = reshape(regions(2, "rows"), {1, -1, 1, 1}, name + ".row_regions");
  const std::string cols = reshape(regions(3, "cols"), {1, 1, -1, 1}, name + ".col_regions");
  const std::string labels =
      node("Add", {node("Mul", {rows, g_.int_scalar(3)}, name + ".row_label"), cols}, name + ".labels");
  const int64_t N = int64_t(ws) * ws;
  const std::string w = reshape(partition(labels, ws, 1, name).windows, {-1, N}, name + ".window_labels");
  // Equal broadcasts (nW, N, 1) against (nW, 1, N) straight to bool: no (nW, N, N) int64 difference.
  const std::string label_i = reshape(w, {-1, N, 1}, name + ".label_i"), label_j = reshape(w, {-1, 1, N}, name + ".label_j");
  const std::string same = node("Equal", {label_i, label_j}, name + ".same_region");
  const std::string mask = node("Where", {same, g_.shared_scalar("attn_mask_keep", 0.0f),
                                          g_.shared_scalar("attn_mask_value", float(swin::kMaskValue))},
                                name + ".values");
  return masks_[key] = reshape(mask, {-1, 1, N, N}, name);
}

// WindowAttention on windows (B', N, C): qkv split into heads, q k^T scaled, plus the relative
// position bias (the table gathered by Swin's index, from the kernels' own definition), plus
// the shift mask when shifted, softmax over keys, times v, heads merged, proj.
std::string SwinEmitter::attention(const SwinWindowAttention& a, const std::string& path, const std::string& windows,
                                   int shift) {
  const int ws = a.window_size;
  const int64_t N = int64_t(ws) * ws, heads = a.num_heads;
  const int64_t C = a.qkv->weight.size(1), d = C / heads;
  const std::string qkv =
      reshape(linear(*a.qkv, join(path, "qkv"), windows), {0, 0, 3, heads, d}, join(path, "qkv_heads"));
  const std::string split = transpose(qkv, {2, 0, 3, 1, 4}, join(path, "qkv_split"));  // (3, B', heads, N, d)
  auto part = [&](int64_t i, const char* name) {
    onnx::NodeProto& n = g_.add_node("Gather", {split, g_.int_scalar(i)}, join(path, name));
    set_attr(n, "axis", int64_t(0));
    return n.output(0);
  };
  const std::string scale = g_.add_weight(join(path, "scale"), std::vector<float>{float(a.scale)}, {});
  const std::string q = node("Mul", {part(0, "q"), scale}, join(path, "q_scaled"));
  const std::string kt = transpose(part(1, "k"), {0, 1, 3, 2}, join(path, "k_transposed"));
  std::string s = node("MatMul", {q, kt}, join(path, "scores"));

  // The index depends on the window only: one constant per window size, shared by the blocks.
  std::string& idx = indices_[ws];
  if (idx.empty()) {
    std::vector<int64_t> index((size_t)(N * N));
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j) index[(size_t)(i * N + j)] = swin::relative_index(i, j, ws);
    idx = g_.add_int64(join(path_, "relative_position_index_w" + std::to_string(ws)), index, {N * N});
  }
  const std::string table = g_.add_weight(join(path, "relative_position_bias_table"), a.relative_position_bias_table);
  const std::string bias = node("Gather", {table, idx}, join(path, "relative_position_bias_rows"));  // (N*N, heads)
  const std::string bias_hnn =
      transpose(reshape(bias, {N, N, heads}, join(path, "relative_position_bias_nnh")), {2, 0, 1},
                join(path, "relative_position_bias"));
  s = node("Add", {s, bias_hnn}, join(path, "add_bias"));

  if (shift > 0) {
    // (B nW, heads, N, N) -> (B, nW, heads, N, N) + mask (nW, 1, N, N) -> back.
    const std::string mask = shift_mask(ws, shift);
    const std::string mask_shape = node("Shape", {mask}, join(path, "mask_shape"));
    const std::string nw = slice(mask_shape, 0, 1, 0, join(path, "windows_per_image"));
    const std::string shape5 = concat({g_.ints({-1}), nw, g_.ints({heads, N, N})}, 0, join(path, "per_image_shape"));
    const std::string s5 = reshape_to(s, shape5, join(path, "scores_per_image"));
    s = reshape(node("Add", {s5, mask}, join(path, "add_mask")), {-1, heads, N, N}, join(path, "masked_scores"));
  }
  onnx::NodeProto& sm = g_.add_node("Softmax", {s}, join(path, "softmax"));
  set_attr(sm, "axis", int64_t(-1));  // the last axis: the same in Softmax's 2-d form before opset 13
  // (B', heads, N, d) -> (B', N, heads, d) -> (B', N, C)
  const std::string o = node("MatMul", {sm.output(0), part(2, "v")}, join(path, "weighted_values"));
  const std::string merged = reshape(transpose(o, {0, 2, 1, 3}, join(path, "heads_last")), {0, 0, C},
                                     join(path, "heads_merged"));
  return linear(*a.proj, join(path, "proj"), merged);
}

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

  const SwinMlp& mlp = *b.mlp;
  std::string m = layer_norm(*b.norm2, join(path, "norm2"), x);
  m = linear(*mlp.fc1, join(path, "mlp.fc1"), m);
  m = linear(*mlp.fc2, join(path, "mlp.fc2"), gelu(m, join(path, "mlp.act")));
  return node("Add", {x, m}, join(path, "mlp_residual"));
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
  // Reflect padding at the bottom and right to a multiple of the window: (ws - side % ws) % ws.
  const std::string input_shape = node("Shape", {input}, join(path_, "input_shape"));
  const std::string sides = slice(input_shape, 2, 4, 0, join(path_, "input_sides"));
  const std::string ws_t = g_.ints({ws});
  const std::string rest = node("Mod", {sides, ws_t}, join(path_, "sides_mod_window"));
  const std::string to_window = node("Sub", {ws_t, rest}, join(path_, "to_window"));
  const std::string pad_hw = node("Mod", {to_window, ws_t}, join(path_, "padding"));
  const std::string pads = concat({g_.ints({0, 0, 0, 0, 0, 0}), pad_hw}, 0, join(path_, "pads"));
  onnx::NodeProto& pad = g_.add_node("Pad", {input, pads}, join(path_, "pad_to_window"));
  set_attr(pad, "mode", std::string("reflect"));

  const MeanShiftNames k = emit_mean_shift_constants(g_, n.mean_shift(), path_);
  padded_ = emit_mean_shift_in(g_, k, path_, pad.output(0));
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
  // The crop back to the input's size times the scale.
  const std::string ends = node("Mul", {sides, g_.ints({n.output_scale()})}, join(path_, "output_sides"));
  return node("Slice", {y, g_.ints({0, 0}), ends, g_.ints({2, 3})}, join(path_, "crop"));
}

}  // namespace

std::string emit_swinir(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  SR_CHECK(!g.int8, "int8 export: SwinIR has no int8 form in srengine (its attention and MLP are not convolutions); "
                    "export it in fp32 or fp16");
  return SwinEmitter(g, as<SwinIR>(m), path).emit(x);
}

}  // namespace sr::deploy
