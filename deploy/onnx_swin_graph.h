// The Swin transformer's parts as ONNX graph pieces, shared by the exporters of the Swin-based
// nets (onnx_swinir.cpp; HAT's windowed attention reuses them): linear maps, layer norm, GELU,
// rolls, window partition and merge, Swin's shift mask and window attention, the reflect padding
// to the window and the crop back. Features stay (B, H, W, C) instead of BasicSR's (B, H*W, C)
// tokens: the same values in the same order, but with H and W as axes every reshape can be
// written with ONNX's 0 (copy that dimension) and -1 (infer one dimension), so no height or
// width is computed from the input's shape except where a piece says so. Internal to deploy/.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "deploy/onnx_emit.h"
#include "layers/conv2d.h"
#include "layers/layer_norm.h"
#include "nets/swinir.h"

namespace sr::deploy {

// "To the end" for Slice (ONNX clamps it to the axis).
constexpr int64_t kToEnd = int64_t(1) << 62;

class SwinGraph {
 public:
  SwinGraph(OnnxGraph& g, const std::string& path) : g_(g), path_(path) {}

 protected:
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
  // reshape; merge reads its shape to go back.
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
  // Swin's shift mask (nW, 1, N, N) on the grid of padded_.
  std::string shift_mask(int ws, int shift);
  // Swin's WindowAttention (qkv, heads, scores + relative position bias (+ mask), softmax, v,
  // proj) on windows (B nW, N, C).
  std::string attention(const SwinWindowAttention& a, const std::string& path, const std::string& windows, int shift);
  // x + mlp(norm(x)), mlp = fc2(GELU(fc1(.))), on (B, H, W, C).
  std::string mlp_residual(const LayerNorm& norm, const SwinMlp& mlp, const std::string& path, const std::string& x);
  // F.pad(input, (0, ph, 0, pw), 'reflect') to multiples of ws, ph = (ws - H % ws) % ws (and pw
  // alike) computed from the input's shape; sides_ is set to the input's (H, W).
  std::string pad_to_window(const std::string& input, int ws);
  // y[:, :, :H scale, :W scale] for the input's sides (H, W).
  std::string crop_to_input(const std::string& y, int scale);

  OnnxGraph& g_;
  std::string path_;
  std::string padded_;  // the padded, normalised NCHW input: the grid the shift masks are laid on
  std::string sides_;   // the input's (H, W), int64 (2)

 private:
  std::map<std::pair<int, int>, std::string> masks_;  // (window, shift) -> (nW, 1, N, N)
  std::map<int, std::string> indices_;                // window -> relative position index (N*N)
};

}  // namespace sr::deploy
