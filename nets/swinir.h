// SwinIR (Liang et al. 2021, "SwinIR: Image Restoration Using Swin Transformer"), BasicSR's
// SwinIR generator with its constructor, defaults and state-dict keys:
//   x     = pad_reflect(x) to a multiple of the window; x = (x - rgb_mean) * img_range
//   f     = conv_first(x);  f = conv_after_body(features(f)) + f
//   features: tokens t = (B, H*W, C) of f, patch_embed.norm(t), then the RSTBs (layers.i), norm,
//           back to an image
//   RSTB:  t + tokens(conv(image(blocks(t))))         conv: "1conv" 3x3, or "3conv" (conv.0/2/4)
//   block: t = t + drop_path(window attention over the (shifted) windows of norm1(t))
//          t = t + drop_path(mlp(norm2(t)))           mlp: fc1, GELU, fc2
//   heads: "pixelshuffle" conv_before_upsample (+ LeakyReLU 0.01), upsample (EDSR's), conv_last;
//          "pixelshuffledirect" one conv to s*s*C channels and a pixel shuffle; "nearest+conv"
//          (x4, real-world SwinIR) conv_before_upsample, 2 x (nearest x2, conv_up, LeakyReLU 0.2),
//          conv_hr, conv_last; "" (upscale 1, denoising / JPEG) x + conv_last(res)
//   out   = head / img_range + rgb_mean, cropped to the input's size times the scale
// Even blocks use plain windows, odd blocks windows shifted by window_size / 2; a block whose
// training patch (img_size) fits one window uses that size and no shift (as BasicSR's). The
// relative_position_index and attn_mask buffers are in the state dict, as in BasicSR's files
// (the kernels compute both from the window size and the image size: the buffers are kept so
// that state dicts go both ways). Windows depend on the whole image's grid, so tiles are not
// exact. SwinIR-M (embed_dim 180, 6 RSTBs of 6 blocks, 6 heads, window 8, mlp_ratio 2, x4
// pixelshuffle): 11,900,199 parameters.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "layers/conv2d.h"
#include "layers/layer_norm.h"
#include "layers/mean_shift.h"
#include "layers/random_step.h"
#include "layers/sequential.h"

namespace sr {

// The pieces of the Swin-based nets (SwinIR here, HAT in nets/hat.cpp):
// (B, C, H, W) -> (B, H*W, C) and back (PatchEmbed's flatten + transpose, PatchUnEmbed);
Tensor image_to_tokens(const Tensor& x);
Tensor tokens_to_image(const Tensor& t, int64_t H, int64_t W);
// a module on (rows, in) run on the last dim of a 3-d (B, L, in) through views;
template <typename M>
Tensor on_rows(M& layer, const Tensor& x) {
  const int64_t B = x.size(0), L = x.size(1), in = x.size(2);
  const Tensor y = layer.forward(reshape(x, {B * L, in}));
  return reshape(y, {B, L, y.size(1)});
}
// Swin's relative_position_index (ws^2, ws^2) as the float tensor BasicSR's state dicts carry,
// from the kernels' own definition (kernels/common/window_attention.h); and the trunc_normal_
// (std 0.02, within +-2: 100 standard deviations, so a plain normal) of the bias tables.
Tensor swin_relative_position_index(int ws);
Tensor swin_normal(const Shape& shape, double std);

// Swin's window attention: qkv and proj linear maps around the op window_attention, with the
// relative position bias table (a parameter) and its index (a buffer). HAT's blocks share one
// index at the top of the net instead (index_buffer false: none here).
class SwinWindowAttention : public Module {
 public:
  SwinWindowAttention(int64_t dim, int window_size, int64_t num_heads, bool qkv_bias, double qk_scale,
                      const LayerOptions& options, bool index_buffer = true);
  std::string type_name() const override { return "WindowAttention"; }
  // windows (B_, ws*ws, C) of an H x W token image shifted by `shift` -> (B_, ws*ws, C).
  Tensor forward_windows(const Tensor& windows, int64_t H, int64_t W, int shift);

  int window_size;
  int64_t num_heads;
  double scale;                         // q's scale: qk_scale, or head_dim ** -0.5
  Tensor relative_position_bias_table;  // ((2 ws - 1)^2, num_heads)
  Tensor relative_position_index;       // (ws*ws, ws*ws), a buffer (undefined without index_buffer)
  std::shared_ptr<Linear> qkv, proj;
};

class SwinMlp : public Module {
 public:
  SwinMlp(int64_t dim, int64_t hidden, const LayerOptions& options);
  std::string type_name() const override { return "Mlp"; }
  Tensor forward(const Tensor& x) override;  // x (M, dim)
  std::shared_ptr<Linear> fc1, fc2;
};

class SwinTransformerBlock : public Module {
 public:
  SwinTransformerBlock(int64_t dim, std::pair<int64_t, int64_t> input_resolution, int64_t num_heads, int window_size,
                       int shift, double mlp_ratio, bool qkv_bias, double qk_scale, double drop_path,
                       const LayerOptions& options);
  std::string type_name() const override { return "SwinTransformerBlock"; }
  // tokens (B, H*W, C) -> (B, H*W, C); drop_step keys the stochastic depth's draws in training.
  Tensor forward_tokens(const Tensor& x, int64_t H, int64_t W);

  int window_size, shift;
  double drop_path;  // the probability that a sample skips the block's branches in training
  uint64_t drop_seed = 0, drop_stream = 0;
  int64_t drop_step = 0;
  int drop_rank = 0;
  Tensor attn_mask;  // (nW, N, N) at input_resolution when shifted (a buffer); undefined otherwise
  std::shared_ptr<LayerNorm> norm1, norm2;
  std::shared_ptr<SwinWindowAttention> attn;
  std::shared_ptr<SwinMlp> mlp;

 private:
  Tensor drop_branch(const Tensor& y, int which);
};

// A residual Swin transformer block: t + tokens(conv(image(blocks(t)))).
class RSTB : public Module {
 public:
  RSTB(int64_t dim, std::pair<int64_t, int64_t> input_resolution, int64_t depth, int64_t num_heads, int window_size,
       double mlp_ratio, bool qkv_bias, double qk_scale, const std::vector<double>& drop_path,
       const std::string& resi_connection,
       const LayerOptions& options);
  std::string type_name() const override { return "RSTB"; }
  Tensor forward_tokens(const Tensor& x, int64_t H, int64_t W);

  std::shared_ptr<Sequential> residual_group;  // holds "blocks" (BasicSR's BasicLayer)
  std::shared_ptr<Sequential> blocks;      // residual_group.blocks.i
  std::shared_ptr<Module> conv;            // Conv2d ("1conv") or Sequential conv.0/2/4 ("3conv")
};

// Stochastic depth (timm's drop_path) of a branch y (B, ...): each sample is kept with
// probability 1 - p and scaled by 1 / (1 - p), or zeroed; sample b's draw is Philox's uniform at
// (seed, stream, index | (b << 1)), keep when it is below 1 - p. 0 <= p < 1.
Tensor drop_path(const Tensor& y, double p, uint64_t seed, uint64_t stream, uint64_t index);

struct SwinIROptions {
  int upscale = 2;
  int64_t in_chans = 3;
  std::pair<int64_t, int64_t> img_size{64, 64};
  int window_size = 7;
  double img_range = 1.0;
  std::vector<int64_t> depths{6, 6, 6, 6};
  int64_t embed_dim = 96;
  std::vector<int64_t> num_heads{6, 6, 6, 6};
  double mlp_ratio = 4.0;
  bool qkv_bias = true;
  double qk_scale = 0;  // the attention's scale; 0: head_dim ** -0.5
  double drop_path_rate = 0.1;
  bool patch_norm = true;
  std::string upsampler;  // "", "pixelshuffle", "pixelshuffledirect", "nearest+conv"
  std::string resi_connection = "1conv";
  int64_t num_feat = 64;  // the width of the pixelshuffle and nearest+conv heads
};

class SwinIR : public Module, public RandomStepped {
 public:
  explicit SwinIR(const SwinIROptions& options, const LayerOptions& layers = {});
  std::string type_name() const override { return "SwinIR"; }
  Tensor forward(const Tensor& x) override;
  int output_scale() const override { return options.upsampler.empty() ? 1 : options.upscale; }
  std::string why_tiles_differ() const override {
    return "attends within windows laid on the whole image's grid (shifted windows)";
  }
  void set_random_step(int64_t iteration, int rank = 0) override;
  const RgbMeanShift& mean_shift() const { return shift_; }

  const SwinIROptions options;
  std::shared_ptr<Conv2d> conv_first;
  std::shared_ptr<Sequential> patch_embed;  // holds "norm" when patch_norm (BasicSR's PatchEmbed)
  std::shared_ptr<LayerNorm> patch_norm;
  std::shared_ptr<Sequential> layers;  // RSTBs
  std::shared_ptr<LayerNorm> norm;
  std::shared_ptr<Module> conv_after_body;
  std::shared_ptr<Module> conv_before_upsample;  // Sequential "0": conv (pixelshuffle, nearest+conv)
  std::shared_ptr<Module> upsample;              // PixelShuffleUpsample, or Sequential "0" (direct)
  std::shared_ptr<Conv2d> conv_up1, conv_up2, conv_hr, conv_last;

 private:
  Tensor features(const Tensor& x);
  RgbMeanShift shift_;
  std::vector<SwinTransformerBlock*> blocks_;
};

}  // namespace sr
