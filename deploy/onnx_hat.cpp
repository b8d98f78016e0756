// ONNX export of HAT (see onnx_hat.h): the graph mirrors HAT::forward op by op, from the Swin
// pieces of onnx_swin_graph.h (features kept as (B, H, W, C)). The overlapping cross-attention's
// key / value windows are built without nn.Unfold (ONNX has no unfold / im2col op): the image cut into ws x ws blocks, each block row extended by the
// last p rows of the block above and the first p rows of the block below (zero blocks padded
// around the image supply the border's zeros), then each block column alike, so window (r, c)
// holds rows r ws - p .. r ws + ws + p - 1 and columns alike: nn.Unfold(wse, stride ws,
// padding p)'s windows, p = (wse - ws) / 2.
#include "deploy/onnx_hat.h"

#include <cstdint>
#include <map>

#include "deploy/onnx_emit.h"
#include "deploy/onnx_modules.h"
#include "deploy/onnx_swin_graph.h"
#include "engine/error.h"
#include "kernels/common/overlap_window_attention.h"
#include "nets/hat.h"

namespace sr::deploy {

namespace {

class HatEmitter : public SwinGraph {
 public:
  HatEmitter(OnnxGraph& g, const HAT& net, const std::string& path) : SwinGraph(g, path), net_(net) {}

  std::string emit(const std::string& input);

 private:
  std::string cab(const CAB& c, const std::string& path, const std::string& image);
  std::string hab(const HAB& b, const std::string& path, const std::string& t);
  std::string extend(const std::string& blocks, int64_t block_axis, int ws, int p, int rank, const std::string& name);
  std::string overlap_windows(const std::string& kv, int ws, int wse, int64_t C2, const std::string& name);
  std::string ocab(const OCAB& o, const std::string& path, const std::string& t);

  const HAT& net_;
  std::map<std::pair<int, int>, std::string> oca_indices_;  // (ws, wse) -> index (Nq * Nkv)
};

// CAB on an NCHW image: conv, GELU, conv, RCAN's channel attention (cab.0, cab.2, cab.3).
std::string HatEmitter::cab(const CAB& c, const std::string& path, const std::string& image) {
  const Sequential& s = *c.cab;
  std::string y = emit_conv(g_, as<Conv2d>(s[0]), join(path, "cab.0"), image);
  y = gelu(y, join(path, "cab.1"));
  y = emit_conv(g_, as<Conv2d>(s[1]), join(path, "cab.2"), y);
  return emit_module(g_, s[2], join(path, "cab.3"), y);
}

// HAB on (B, H, W, C): t + window attention over the (shifted) windows of n = norm1(t)
// + conv_scale CAB(n), then + mlp(norm2(.)).
std::string HatEmitter::hab(const HAB& b, const std::string& path, const std::string& t) {
  const int ws = b.window_size, shift = b.shift;
  const int64_t C = b.norm1->weight.numel();
  const std::string n = layer_norm(*b.norm1, join(path, "norm1"), t);
  const std::string image = transpose(n, {0, 3, 1, 2}, join(path, "to_image"));
  const std::string conv = transpose(cab(*b.conv_block, join(path, "conv_block"), image), {0, 2, 3, 1},
                                     join(path, "conv_block.to_tokens"));
  const std::string h = shift > 0 ? roll(n, -shift, join(path, "roll")) : n;
  const Windows w = partition(h, ws, C, join(path, "window_partition"));
  std::string y = merge(attention(*b.attn, join(path, "attn"), w.windows, shift), w, h, join(path, "window_merge"));
  if (shift > 0) y = roll(y, shift, join(path, "roll_back"));
  const std::string scale = g_.add_weight(join(path, "conv_scale"), std::vector<float>{float(b.conv_scale)}, {});
  const std::string x = node("Add", {node("Add", {t, y}, join(path, "attention_residual")),
                                     node("Mul", {conv, scale}, join(path, "conv_scaled"))},
                             join(path, "conv_residual"));
  return mlp_residual(*b.norm2, *b.mlp, path, x);
}

// One axis of the overlapping windows. `blocks` is a rank-`rank` tensor whose axis block_axis
// counts the ws-blocks and axis block_axis + 1 runs inside a block; the result's inner axis is
// ws + 2p long: the block above's last p entries, the block, the block below's first p entries,
// zeros beyond the image (one zero block padded at each end of the block axis first).
std::string HatEmitter::extend(const std::string& blocks, int64_t block_axis, int ws, int p, int rank,
                               const std::string& name) {
  std::vector<int64_t> pads(2 * rank, 0);
  pads[block_axis] = 1;         // a zero block before the first
  pads[rank + block_axis] = 1;  // and after the last
  const std::string padded = node("Pad", {blocks, g_.ints(pads)}, name + ".zero_blocks");
  const int64_t inner = block_axis + 1;
  const std::string above =
      slice(slice(padded, 0, -2, block_axis, name + ".blocks_above"), ws - p, kToEnd, inner, name + ".above");
  const std::string below =
      slice(slice(padded, 2, kToEnd, block_axis, name + ".blocks_below"), 0, p, inner, name + ".below");
  return concat({above, blocks, below}, inner, name);
}

// (B, H, W, C2) -> the wse x wse windows around each ws x ws block, zero outside the image:
// (B nW, wse * wse, C2), windows row-major as partition's.
std::string HatEmitter::overlap_windows(const std::string& kv, int ws, int wse, int64_t C2, const std::string& name) {
  const int p = (wse - ws) / 2;
  // (B, H, W, C2) -> (B, H, Wn, ws, C2) -> (B, Hn, ws, Wn, ws, C2): B and Wn read off the shape.
  const std::string cols = reshape(kv, {0, 0, -1, ws, C2}, name + ".cut_cols");
  const std::string s5 = node("Shape", {cols}, name + ".cut_cols_shape");
  const std::string shape6 = concat({slice(s5, 0, 1, 0, name + ".batch"), g_.ints({-1, ws}),
                                     slice(s5, 2, 3, 0, name + ".blocks_per_row"), g_.ints({ws, C2})},
                                    0, name + ".blocks_shape");
  std::string x = reshape_to(cols, shape6, name + ".blocks");
  if (p > 0) {
    x = extend(x, 1, ws, p, 6, name + ".rows");  // (B, Hn, wse, Wn, ws, C2)
    x = extend(x, 3, ws, p, 6, name + ".cols");  // (B, Hn, wse, Wn, wse, C2)
  }
  x = transpose(x, {0, 1, 3, 2, 4, 5}, name + ".window_major");  // (B, Hn, Wn, wse, wse, C2)
  return reshape(x, {-1, int64_t(wse) * wse, C2}, name);
}

// OCAB on (B, H, W, C): t + proj(attention of the ws x ws query windows of qkv(norm1(t)) against
// the wse x wse key / value windows around them, with the relative position bias), then
// + mlp(norm2(.)).
std::string HatEmitter::ocab(const OCAB& o, const std::string& path, const std::string& t) {
  const int ws = o.window_size, wse = o.overlap_window_size;
  const int64_t Nq = int64_t(ws) * ws, Nkv = int64_t(wse) * wse, heads = o.num_heads;
  const int64_t C = o.norm1->weight.numel(), d = C / heads;
  const std::string n = layer_norm(*o.norm1, join(path, "norm1"), t);
  const std::string qkv = linear(*o.qkv, join(path, "qkv"), n);  // (B, H, W, 3C)
  const std::string q_image = slice(qkv, 0, C, 3, join(path, "q"));
  const std::string kv_image = slice(qkv, C, 3 * C, 3, join(path, "kv"));
  const Windows qw = partition(q_image, ws, C, join(path, "q_windows"));
  const std::string kvw = overlap_windows(kv_image, ws, wse, 2 * C, join(path, "kv_windows"));

  // Heads: q (B', heads, Nq, d) scaled, k^T (B', heads, d, Nkv), v (B', heads, Nkv, d).
  const std::string scale = g_.add_weight(join(path, "scale"), std::vector<float>{float(o.scale)}, {});
  const std::string q = node("Mul", {transpose(reshape(qw.windows, {0, 0, heads, d}, join(path, "q_heads")),
                                               {0, 2, 1, 3}, join(path, "q_heads_first")),
                                     scale},
                             join(path, "q_scaled"));
  const std::string k_heads = reshape(slice(kvw, 0, C, 2, join(path, "k")), {0, 0, heads, d}, join(path, "k_heads"));
  const std::string v_heads =
      reshape(slice(kvw, C, 2 * C, 2, join(path, "v")), {0, 0, heads, d}, join(path, "v_heads"));
  const std::string kt = transpose(k_heads, {0, 2, 3, 1}, join(path, "k_transposed"));
  const std::string v = transpose(v_heads, {0, 2, 1, 3}, join(path, "v_heads_first"));
  std::string s = node("MatMul", {q, kt}, join(path, "scores"));

  // The bias: the table gathered by HAT's index (one constant per (ws, wse), shared).
  std::string& idx = oca_indices_[{ws, wse}];
  if (idx.empty()) {
    std::vector<int64_t> index((size_t)(Nq * Nkv));
    for (int i = 0; i < Nq; ++i)
      for (int j = 0; j < Nkv; ++j) index[(size_t)(i * Nkv + j)] = hat::overlap_relative_index(i, j, ws, wse);
    idx = g_.add_int64(join(path_, "relative_position_index_OCA_w" + std::to_string(ws) + "_" + std::to_string(wse)),
                       index, {Nq * Nkv});
  }
  const std::string table = g_.add_weight(join(path, "relative_position_bias_table"), o.relative_position_bias_table);
  const std::string rows = node("Gather", {table, idx}, join(path, "relative_position_bias_rows"));
  const std::string bias =
      transpose(reshape(rows, {Nq, Nkv, heads}, join(path, "relative_position_bias_qkh")), {2, 0, 1},
                join(path, "relative_position_bias"));
  s = node("Add", {s, bias}, join(path, "add_bias"));
  onnx::NodeProto& sm = g_.add_node("Softmax", {s}, join(path, "softmax"));
  set_attr(sm, "axis", int64_t(-1));
  const std::string out = node("MatMul", {sm.output(0), v}, join(path, "weighted_values"));  // (B', heads, Nq, d)
  const std::string merged =
      reshape(transpose(out, {0, 2, 1, 3}, join(path, "heads_last")), {0, 0, C}, join(path, "heads_merged"));
  const std::string a = merge(merged, qw, n, join(path, "window_merge"));
  const std::string x = node("Add", {linear(*o.proj, join(path, "proj"), a), t}, join(path, "attention_residual"));
  return mlp_residual(*o.norm2, *o.mlp, path, x);
}

std::string HatEmitter::emit(const std::string& input) {
  const HAT& n = net_;
  const int ws = n.options.window_size;
  const std::string padded = pad_to_window(input, ws);
  const MeanShiftNames k = emit_mean_shift_constants(g_, n.mean_shift(), path_);
  padded_ = emit_mean_shift_in(g_, k, path_, padded);
  const std::string f = emit_conv(g_, *n.conv_first, join(path_, "conv_first"), padded_);

  // features: (B, C, H, W) -> (B, H, W, C), patch_embed.norm, the RHAGs, norm, back to NCHW.
  std::string t = transpose(f, {0, 2, 3, 1}, join(path_, "patch_embed"));
  if (n.patch_norm) t = layer_norm(*n.patch_norm, join(path_, "patch_embed.norm"), t);
  for (size_t i = 0; i < n.layers->size(); ++i) {
    const RHAG& r = as<RHAG>((*n.layers)[i]);
    const std::string rp = join(path_, "layers." + std::to_string(i));
    std::string u = t;
    for (size_t j = 0; j < r.blocks->size(); ++j)
      u = hab(as<HAB>((*r.blocks)[j]), join(rp, "residual_group.blocks." + std::to_string(j)), u);
    u = ocab(*r.overlap_attn, join(rp, "residual_group.overlap_attn"), u);
    if (r.conv) {
      const std::string img = transpose(u, {0, 3, 1, 2}, join(rp, "patch_unembed"));
      u = transpose(emit_conv(g_, *r.conv, join(rp, "conv"), img), {0, 2, 3, 1}, join(rp, "patch_embed"));
    }
    t = node("Add", {u, t}, join(rp, "residual"));
  }
  t = layer_norm(*n.norm, join(path_, "norm"), t);
  std::string res = transpose(t, {0, 3, 1, 2}, join(path_, "patch_unembed"));
  if (n.conv_after_body) res = emit_conv(g_, *n.conv_after_body, join(path_, "conv_after_body"), res);
  res = node("Add", {res, f}, join(path_, "body_skip"));

  // The head: conv_before_upsample + LeakyReLU 0.01, the pixel-shuffle steps, conv_last.
  std::string h = emit_conv_lrelu(g_, as<Conv2d>(as<Sequential>(*n.conv_before_upsample)[0]),
                                  join(path_, "conv_before_upsample.0"), res, 0.01f);
  h = emit_pixel_shuffle_upsample(g_, as<PixelShuffleUpsample>(*n.upsample), path_, h);
  h = emit_conv(g_, *n.conv_last, join(path_, "conv_last"), h);
  return crop_to_input(emit_mean_shift_out(g_, k, path_, h), n.output_scale());
}

}  // namespace

std::string emit_hat(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x) {
  SR_CHECK(!g.int8, "int8 export: HAT has no int8 form in srengine (its attention and MLP are not convolutions); "
                    "export it in fp32 or fp16");
  const HAT& net = as<HAT>(m);
  // The key windows take p rows from the block above and below; one neighbour holds ws.
  const int ws = net.options.window_size, p = (net.overlap_window_size - ws) / 2;
  SR_CHECK(p <= ws, "ONNX export: HAT's key windows of ", net.overlap_window_size, " reach ", p,
           " rows past each window of ", ws, " (overlap_ratio ", net.options.overlap_ratio,
           "); the graph builds them from the neighbouring windows and takes at most one window's width, ",
           "overlap_ratio 2 or less (HAT's releases use 0.5)");
  return HatEmitter(g, net, path).emit(x);
}

}  // namespace sr::deploy
