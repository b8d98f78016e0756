// HAT (Chen et al., CVPR 2023, "Activating More Pixels in Image Super-Resolution Transformer"),
// the generator of XPixelGroup/HAT (built on BasicSR) with its constructor, defaults and
// state-dict keys:
//   x     = pad_reflect(x) to a multiple of window_size; x = (x - rgb_mean) * img_range
//   f     = conv_first(x);  f = conv_after_body(features(f)) + f
//   features: tokens t = (B, H*W, C) of f, patch_embed.norm(t), the RHAGs (layers.i), norm,
//           back to an image
//   RHAG:  t + tokens(conv(image(overlap_attn(blocks(t)))))   conv: "1conv" 3x3, "identity" none
//   HAB (blocks.j), n = norm1(t):
//          t = t + drop_path(window attention over the (shifted) windows of n)
//                + conv_scale * CAB(image(n))                 (the conv branch is never dropped)
//          t = t + drop_path(mlp(norm2(t)))                   mlp: fc1, GELU, fc2
//   CAB:   conv 3x3 C -> C / compress_ratio, GELU, conv 3x3 back to C, RCAN's channel attention
//          (squeeze_factor)                                   keys conv_block.cab.0 / 2 / 3
//   OCAB (overlap_attn), n = norm1(t):
//          t = t + proj(overlap_window_attention(qkv(n)));  t = t + mlp(norm2(t))
//          queries: the ws x ws windows; keys and values: the wse x wse windows centred on them,
//          wse = ws + int(ws * overlap_ratio), zero outside the image (no stochastic depth)
//   head:  "pixelshuffle" (the only one HAT's forward runs): conv_before_upsample + LeakyReLU
//          0.01, upsample (EDSR's), conv_last
//   out   = head / img_range + rgb_mean, cropped to the input's size times the scale
// The padding is HATModel's (its test-time pre_process), done by the net as srengine's SwinIR
// does, so training, validation and inference all see it. Even blocks use plain windows, odd
// blocks windows shifted by window_size / 2, with Swin's mask computed by the kernels for each
// (padded) input size: HAT keeps no per-block mask. A training patch (img_size) of exactly one
// window drops the shift, as HAT's blocks do; a smaller one is refused, since HAT's blocks then
// shrink their windows but index them with the net's relative position index, which fails in
// PyTorch. The two indices (relative_position_index_SA, _OCA) are top-level buffers as in
// HAT's newer files; older files lack them, so they are derived buffers (layers/module.h): a
// file may leave them out, and one that has them must hold these values. Windows depend on the
// whole image's grid and the channel attention averages over the whole input, so tiles are not
// exact. HAT-S (embed_dim 144, 6 RHAGs of 6 blocks, 6 heads, window 16, compress_ratio 24,
// squeeze_factor 24, mlp_ratio 2, x4 pixelshuffle): 9,621,183 parameters; HAT x4 (embed_dim
// 180, compress_ratio 3, squeeze_factor 30, otherwise the same): 20,772,507; HAT-L x4 (HAT's
// with 12 RHAGs): 40,846,575.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/conv2d.h"
#include "layers/layer_norm.h"
#include "layers/mean_shift.h"
#include "layers/random_step.h"
#include "layers/sequential.h"
#include "nets/swinir.h"

namespace sr {

// HAT's channel attention block: conv 3x3 C -> C / compress_ratio, GELU, conv 3x3 back to C,
// then RCAN's ChannelAttention; the children at cab.0, cab.2 and cab.3 (the GELU holds nothing).
class CAB : public Module {
 public:
  CAB(int64_t num_feat, int64_t compress_ratio, int64_t squeeze_factor, const LayerOptions& options);
  std::string type_name() const override { return "CAB"; }
  Tensor forward(const Tensor& x) override;  // x (B, C, H, W)
  std::shared_ptr<Sequential> cab;
};

// The hybrid attention block (see the file comment).
class HAB : public Module {
 public:
  HAB(int64_t dim, int64_t num_heads, int window_size, int shift, int64_t compress_ratio, int64_t squeeze_factor,
      double conv_scale, double mlp_ratio, bool qkv_bias, double qk_scale, double drop_path,
      const LayerOptions& options);
  std::string type_name() const override { return "HAB"; }
  // tokens (B, H*W, C) -> (B, H*W, C); H and W multiples of window_size.
  Tensor forward_tokens(const Tensor& x, int64_t H, int64_t W);

  int window_size, shift;
  double conv_scale;
  double drop_path;  // the probability that a sample skips the attention and mlp branches in training
  uint64_t drop_seed = 0, drop_stream = 0;
  int64_t drop_step = 0;
  int drop_rank = 0;
  std::shared_ptr<LayerNorm> norm1, norm2;
  std::shared_ptr<SwinWindowAttention> attn;  // without an index buffer: the net holds HAT's
  std::shared_ptr<CAB> conv_block;
  std::shared_ptr<SwinMlp> mlp;

 private:
  Tensor drop_branch(const Tensor& y, int which);
};

// The overlapping cross-attention block (see the file comment).
class OCAB : public Module {
 public:
  OCAB(int64_t dim, int window_size, int overlap_window_size, int64_t num_heads, bool qkv_bias, double qk_scale,
       double mlp_ratio, const LayerOptions& options);
  std::string type_name() const override { return "OCAB"; }
  Tensor forward_tokens(const Tensor& x, int64_t H, int64_t W);

  int window_size, overlap_window_size;  // ws, wse
  int64_t num_heads;
  double scale;                         // q's scale: qk_scale, or head_dim ** -0.5
  Tensor relative_position_bias_table;  // ((ws + wse - 1)^2, num_heads)
  std::shared_ptr<LayerNorm> norm1, norm2;
  std::shared_ptr<Linear> qkv, proj;
  std::shared_ptr<SwinMlp> mlp;
};

// A residual hybrid attention group: t + tokens(conv(image(overlap_attn(blocks(t))))).
class RHAG : public Module {
 public:
  RHAG(int64_t dim, int64_t depth, int64_t num_heads, int window_size, bool shifted, int overlap_window_size,
       int64_t compress_ratio, int64_t squeeze_factor, double conv_scale, double mlp_ratio, bool qkv_bias,
       double qk_scale, const std::vector<double>& drop_path, const std::string& resi_connection,
       const LayerOptions& options);
  std::string type_name() const override { return "RHAG"; }
  Tensor forward_tokens(const Tensor& x, int64_t H, int64_t W);

  std::shared_ptr<Sequential> residual_group;  // holds "blocks" and "overlap_attn" (HAT's AttenBlocks)
  std::shared_ptr<Sequential> blocks;          // residual_group.blocks.j (HABs)
  std::shared_ptr<OCAB> overlap_attn;          // residual_group.overlap_attn
  std::shared_ptr<Conv2d> conv;                // "1conv"; null for "identity"
};

struct HATOptions {
  int upscale = 2;
  int64_t in_chans = 3;
  std::pair<int64_t, int64_t> img_size{64, 64};
  int window_size = 7;
  int64_t compress_ratio = 3;
  int64_t squeeze_factor = 30;
  double conv_scale = 0.01;
  double overlap_ratio = 0.5;
  double img_range = 1.0;
  std::vector<int64_t> depths{6, 6, 6, 6};
  int64_t embed_dim = 96;
  std::vector<int64_t> num_heads{6, 6, 6, 6};
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double qk_scale = 0;  // the attentions' scale; 0: head_dim ** -0.5
  double drop_path_rate = 0.1;
  bool patch_norm = true;
  std::string upsampler;  // HAT's default "", refused: "pixelshuffle" is the only head it runs
  std::string resi_connection = "1conv";  // or "identity"
  int64_t num_feat = 64;  // the head's width (HAT's fixed 64; srengine's key)
};

// wse = int(window_size * overlap_ratio) + window_size, as HAT computes it (Python's int()
// truncates toward zero).
int hat_overlap_window_size(int window_size, double overlap_ratio);
// The overlap_ratio that gives back overlap_window_size wse (>= ws) by that rule: (wse - ws) / ws,
// or (wse - ws + 0.5) / ws where the division rounds below (11 * (30 / 11) is 29.999...).
double hat_overlap_ratio_for(int window_size, int overlap_window_size);

class HAT : public Module, public RandomStepped {
 public:
  explicit HAT(const HATOptions& options, const LayerOptions& layers = {});
  std::string type_name() const override { return "HAT"; }
  Tensor forward(const Tensor& x) override;
  int output_scale() const override { return options.upscale; }
  std::string why_tiles_differ() const override {
    return "attends within windows laid on the whole image's grid (shifted and overlapping windows) and its "
           "channel attention averages over the whole input";
  }
  void set_random_step(int64_t iteration, int rank = 0) override;
  const RgbMeanShift& mean_shift() const { return shift_; }

  const HATOptions options;
  int overlap_window_size;                // wse
  Tensor relative_position_index_SA;      // (ws^2, ws^2), a derived buffer
  Tensor relative_position_index_OCA;     // (ws^2, wse^2), a derived buffer
  std::shared_ptr<Conv2d> conv_first;
  std::shared_ptr<Sequential> patch_embed;  // holds "norm" when patch_norm
  std::shared_ptr<LayerNorm> patch_norm;
  std::shared_ptr<Sequential> layers;       // RHAGs
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Conv2d> conv_after_body;  // "1conv"; null for "identity"
  std::shared_ptr<Sequential> conv_before_upsample;  // "0": conv embed_dim -> num_feat
  std::shared_ptr<Module> upsample;                  // PixelShuffleUpsample
  std::shared_ptr<Conv2d> conv_last;

 private:
  Tensor features(const Tensor& x);
  RgbMeanShift shift_;
  std::vector<HAB*> blocks_;
};

}  // namespace sr
