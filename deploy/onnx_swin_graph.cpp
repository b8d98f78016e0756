// The Swin transformer's parts as ONNX graph pieces (see onnx_swin_graph.h).
#include "deploy/onnx_swin_graph.h"

#include <cmath>

#include "kernels/common/window_attention.h"

namespace sr::deploy {

// nn.Linear on the last axis: MatMul by the weight's transpose, stored transposed (in, out) as
// `<key>.T` (a distinct name: a tool that swaps initializers by state-dict key must not put
// PyTorch's (out, in) there, which a square proj's shape would not catch), then the bias.
// ONNX's Gemm takes 2-d inputs only.
std::string SwinGraph::linear(const Linear& l, const std::string& path, const std::string& x) {
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
std::string SwinGraph::layer_norm(const LayerNorm& ln, const std::string& path, const std::string& x) {
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
std::string SwinGraph::gelu(const std::string& x, const std::string& name) {
  const std::string scaled = node("Mul", {x, g_.shared_scalar("gelu_inv_sqrt2", float(M_SQRT1_2))}, name + ".div_sqrt2");
  const std::string e = node("Erf", {scaled}, name + ".erf");
  const std::string p = node("Add", {e, g_.shared_scalar("gelu_one", 1.0f)}, name + ".add_one");
  return node("Mul", {node("Mul", {x, p}, name + ".mul_x"), g_.shared_scalar("gelu_half", 0.5f)}, name);
}

// torch.roll(x, (by, by), dims=(1, 2)) of (B, H, W, C): along each axis, x[m:] then x[:m] with
// m = -by (ONNX has no Roll; Slice counts negative bounds from the end).
std::string SwinGraph::roll(const std::string& x, int64_t by, const std::string& name) {
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
std::string SwinGraph::shift_mask(int ws, int shift) {
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
std::string SwinGraph::attention(const SwinWindowAttention& a, const std::string& path, const std::string& windows,
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

// x + mlp(norm(x)): fc1, GELU, fc2.
std::string SwinGraph::mlp_residual(const LayerNorm& norm, const SwinMlp& mlp, const std::string& path,
                                    const std::string& x) {
  std::string m = layer_norm(norm, join(path, "norm2"), x);
  m = linear(*mlp.fc1, join(path, "mlp.fc1"), m);
  m = linear(*mlp.fc2, join(path, "mlp.fc2"), gelu(m, join(path, "mlp.act")));
  return node("Add", {x, m}, join(path, "mlp_residual"));
}

// Reflect padding at the bottom and right to a multiple of the window: (ws - side % ws) % ws.
std::string SwinGraph::pad_to_window(const std::string& input, int ws) {
  const std::string input_shape = node("Shape", {input}, join(path_, "input_shape"));
  sides_ = slice(input_shape, 2, 4, 0, join(path_, "input_sides"));
  const std::string ws_t = g_.ints({ws});
  const std::string rest = node("Mod", {sides_, ws_t}, join(path_, "sides_mod_window"));
  const std::string to_window = node("Sub", {ws_t, rest}, join(path_, "to_window"));
  const std::string pad_hw = node("Mod", {to_window, ws_t}, join(path_, "padding"));
  const std::string pads = concat({g_.ints({0, 0, 0, 0, 0, 0}), pad_hw}, 0, join(path_, "pads"));
  onnx::NodeProto& pad = g_.add_node("Pad", {input, pads}, join(path_, "pad_to_window"));
  set_attr(pad, "mode", std::string("reflect"));
  return pad.output(0);
}

std::string SwinGraph::crop_to_input(const std::string& y, int scale) {
  const std::string ends = node("Mul", {sides_, g_.ints({scale})}, join(path_, "output_sides"));
  return node("Slice", {y, g_.ints({0, 0}), ends, g_.ints({2, 3})}, join(path_, "crop"));
}

}  // namespace sr::deploy
