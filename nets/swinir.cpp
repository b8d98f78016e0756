// SwinIR (see swinir.h).
#include "nets/swinir.h"

#include <cmath>

#include "engine/ops.h"
#include "engine/ops_transformer.h"
#include "engine/philox.h"
#include "engine/random.h"
#include "kernels/common/window_attention.h"
#include "layers/pixel_shuffle_upsample.h"
#include "nets/size_options.h"

namespace sr {

// ---- The pieces HAT shares (nets/swinir.h) ----

Tensor image_to_tokens(const Tensor& x) {
  return transpose(reshape(x, {x.size(0), x.size(1), x.size(2) * x.size(3)}), 1, 2);
}
Tensor tokens_to_image(const Tensor& t, int64_t H, int64_t W) {
  return reshape(transpose(t, 1, 2), {t.size(0), t.size(2), H, W});
}

Tensor swin_relative_position_index(int ws) {
  const int N = ws * ws;
  std::vector<double> v((size_t)N * N);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) v[(size_t)i * N + j] = swin::relative_index(i, j, ws);
  return Tensor::from_vector(v, {N, N}, DType::f64).to(DType::f32);
}

Tensor swin_normal(const Shape& shape, double std) {
  Tensor t = Tensor::empty(shape);
  normal_(t, 0.0, std);
  return t;
}

namespace {

// Swin's calculate_mask as a tensor: the buffer BasicSR's state dicts carry, from the kernels'
// own definition (kernels/common/window_attention.h), which computes it on the fly.
Tensor shift_mask_tensor(int64_t H, int64_t W, int ws, int shift) {
  const int64_t nW = (H / ws) * (W / ws);
  const int N = ws * ws;
  std::vector<double> v((size_t)(nW * N * N));
  size_t k = 0;
  for (int64_t w = 0; w < nW; ++w)
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j)
        v[k++] = swin::region(w, i, H, W, ws, shift) == swin::region(w, j, H, W, ws, shift) ? 0.0 : swin::kMaskValue;
  return Tensor::from_vector(v, {nW, N, N}, DType::f64).to(DType::f32);
}

// "3conv": conv dim -> dim/4 3x3, LeakyReLU 0.2, conv 1x1, LeakyReLU 0.2, conv dim/4 -> dim 3x3,
// keys .0 .2 .4 (BasicSR's nn.Sequential with the activations at 1 and 3).
std::shared_ptr<Module> residual_conv(int64_t dim, const std::string& kind, const LayerOptions& options) {
  if (kind == "1conv") return std::make_shared<Conv2d>(dim, dim, 3, 1, 1, true, options);
  SR_CHECK(kind == "3conv", "SwinIR: resi_connection must be \"1conv\" or \"3conv\", got \"", kind, "\"");
  SR_CHECK(dim / 4 > 0, "SwinIR: resi_connection \"3conv\" needs embed_dim >= 4, got ", dim);
  auto s = std::make_shared<Sequential>();
  s->push_back("0", std::make_shared<Conv2d>(dim, dim / 4, 3, 1, 1, true, options));
  s->push_back("2", std::make_shared<Conv2d>(dim / 4, dim / 4, 1, 1, 0, true, options));
  s->push_back("4", std::make_shared<Conv2d>(dim / 4, dim, 3, 1, 1, true, options));
  return s;
}

Tensor run_residual_conv(Module& conv, const Tensor& x) {
  if (auto* c = dynamic_cast<Conv2d*>(&conv)) return c->forward(x);
  auto& s = dynamic_cast<Sequential&>(conv);
  auto& c0 = dynamic_cast<Conv2d&>(s[0]);
  auto& c2 = dynamic_cast<Conv2d&>(s[1]);
  return s[2].forward(c2.forward_leaky_relu(c0.forward_leaky_relu(x, 0.2), 0.2));
}

}  // namespace

// ---- Window attention -------------------------------------------------------------------------

SwinWindowAttention::SwinWindowAttention(int64_t dim, int ws, int64_t nh, bool qkv_bias, double qk_scale,
                                         const LayerOptions& options, bool index_buffer)
    : window_size(ws), num_heads(nh) {
  SR_CHECK(nh > 0 && dim % nh == 0, "SwinIR: embed_dim ", dim, " is not a multiple of num_heads ", nh);
  SR_CHECK(qk_scale >= 0, "SwinIR: qk_scale must be positive (or null for head_dim ** -0.5), got ", qk_scale);
  scale = qk_scale > 0 ? qk_scale : std::pow((double)(dim / nh), -0.5);  // as Python's head_dim ** -0.5
  // trunc_normal_(std=0.02) within +-2 (absolute): 100 standard deviations, a plain normal.
  relative_position_bias_table =
      register_parameter("relative_position_bias_table", swin_normal({(int64_t)(2 * ws - 1) * (2 * ws - 1), nh}, 0.02));
  if (index_buffer)
    relative_position_index = register_buffer("relative_position_index", swin_relative_position_index(ws));
  qkv = register_module("qkv", std::make_shared<Linear>(dim, 3 * dim, qkv_bias, options));
  proj = register_module("proj", std::make_shared<Linear>(dim, dim, true, options));
  // BasicSR's _init_weights: linear weights trunc_normal(std 0.02), biases 0.
  for (Linear* l : {qkv.get(), proj.get()}) {
    normal_(l->weight, 0.0, 0.02);
    if (l->bias.defined()) assign_tensor_in_place(l->bias, Tensor::zeros(l->bias.shape()));
  }
}

Tensor SwinWindowAttention::forward_windows(const Tensor& windows, int64_t H, int64_t W, int shift) {
  const Tensor a = window_attention(on_rows(*qkv, windows), relative_position_bias_table, (int)num_heads, H, W,
                                    window_size, shift, scale);
  return on_rows(*proj, a);
}

SwinMlp::SwinMlp(int64_t dim, int64_t hidden, const LayerOptions& options) {
  fc1 = register_module("fc1", std::make_shared<Linear>(dim, hidden, true, options));
  fc2 = register_module("fc2", std::make_shared<Linear>(hidden, dim, true, options));
  for (Linear* l : {fc1.get(), fc2.get()}) {
    normal_(l->weight, 0.0, 0.02);
    assign_tensor_in_place(l->bias, Tensor::zeros(l->bias.shape()));
  }
}

Tensor SwinMlp::forward(const Tensor& x) { return fc2->forward(gelu(fc1->forward(x))); }

// ---- Block ------------------------------------------------------------------------------------

SwinTransformerBlock::SwinTransformerBlock(int64_t dim, std::pair<int64_t, int64_t> res, int64_t nh, int ws, int sh,
                                           double mlp_ratio, bool qkv_bias, double qk_scale, double dp,
                                           const LayerOptions& options)
    : window_size(ws), shift(sh), drop_path(dp) {
  // A training patch that one window covers: that window, no shift (BasicSR's rule, on img_size).
  if (std::min(res.first, res.second) <= ws) {
    window_size = (int)std::min(res.first, res.second);
    shift = 0;
    // The input is padded to a multiple of the net's window_size; this block's windows must tile it.
    SR_CHECK(window_size > 0 && ws % window_size == 0, "SwinIR: img_size ", res.first, "x", res.second,
             " is smaller than window_size ", ws, ", so its blocks use ", window_size, "x", window_size,
             " windows, which do not tile inputs padded to a multiple of ", ws,
             ": make img_size at least window_size (the training patch size), or a divisor of it");
  }
  SR_CHECK(window_size > 0 && shift >= 0 && shift < window_size, "SwinIR: window_size ", window_size, " and shift ",
           shift, " are not valid");
  // Own buffers come before the children in PyTorch's state dict, as here.
  if (shift > 0) {
    SR_CHECK(res.first % window_size == 0 && res.second % window_size == 0, "SwinIR: img_size ", res.first, "x",
             res.second, " is not a multiple of window_size ", window_size);
    attn_mask = register_buffer("attn_mask", shift_mask_tensor(res.first, res.second, window_size, shift));
  }
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(dim));
  attn = register_module("attn", std::make_shared<SwinWindowAttention>(dim, window_size, nh, qkv_bias, qk_scale, options));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(dim));
  const auto hidden = (int64_t)(dim * mlp_ratio);
  SR_CHECK(hidden > 0, "SwinIR: mlp_ratio ", mlp_ratio, " leaves no hidden features at embed_dim ", dim);
  mlp = register_module("mlp", std::make_shared<SwinMlp>(dim, hidden, options));
}

Tensor drop_path(const Tensor& y, double p, uint64_t seed, uint64_t stream, uint64_t index) {
  SR_CHECK(p >= 0 && p < 1, "drop_path: probability ", p, " is not in [0, 1)");
  const int64_t B = y.size(0);
  const double keep = 1.0 - p;
  std::vector<double> s((size_t)B);
  for (int64_t b = 0; b < B; ++b)
    s[(size_t)b] = philox::uniform_at(seed, stream, index | ((uint64_t)b << 1), 0.0, 1.0) < keep ? 1.0 / keep : 0.0;
  const Tensor scale = Tensor::from_vector(s, {B, 1, 1, 1}, DType::f64).to(y.dtype()).to(y.device());
  const int64_t rest = y.numel() / std::max<int64_t>(B, 1);
  return reshape(channel_scale(reshape(y, {B, 1, rest, 1}), scale), y.shape());
}

// In training each sample skips each of the block's two branches with the block's probability;
// the draws are keyed by the run's seed, the block and the rank (the stream) and the iteration
// and branch (the index), so a step's masks depend on nothing else.
Tensor SwinTransformerBlock::drop_branch(const Tensor& y, int which) {
  if (!is_training() || drop_path <= 0) return y;
  const uint64_t stream = drop_stream + ((uint64_t)drop_rank << 32);
  return sr::drop_path(y, drop_path, drop_seed, stream, ((uint64_t)drop_step << 21) | (uint64_t)which);
}

Tensor SwinTransformerBlock::forward_tokens(const Tensor& x, int64_t H, int64_t W) {
  const Tensor windows = window_partition(norm1->forward(x), H, W, window_size, shift);
  const Tensor y = window_merge(attn->forward_windows(windows, H, W, shift), H, W, window_size, shift);
  const Tensor h = add(x, drop_branch(y, 0));
  return add(h, drop_branch(on_rows(*mlp, norm2->forward(h)), 1));
}

// ---- RSTB ------------------------------------------------------------------------------------

RSTB::RSTB(int64_t dim, std::pair<int64_t, int64_t> res, int64_t depth, int64_t nh, int ws, double mlp_ratio,
           bool qkv_bias, double qk_scale, const std::vector<double>& dp, const std::string& resi_connection,
           const LayerOptions& options) {
  residual_group = register_module("residual_group", std::make_shared<Sequential>());
  blocks = residual_group->push_back("blocks", std::make_shared<Sequential>());
  for (int64_t i = 0; i < depth; ++i)
    blocks->push_back(std::make_shared<SwinTransformerBlock>(dim, res, nh, ws, i % 2 == 0 ? 0 : ws / 2, mlp_ratio,
                                                             qkv_bias, qk_scale, dp.at((size_t)i), options));
  conv = register_module("conv", residual_conv(dim, resi_connection, options));
}

Tensor RSTB::forward_tokens(const Tensor& x, int64_t H, int64_t W) {
  Tensor t = x;
  for (size_t i = 0; i < blocks->size(); ++i)
    t = dynamic_cast<SwinTransformerBlock&>((*blocks)[i]).forward_tokens(t, H, W);
  return add(image_to_tokens(run_residual_conv(*conv, tokens_to_image(t, H, W))), x);
}

// ---- SwinIR ----------------------------------------------------------------------------------

namespace {

std::vector<double> zero_mean_unless_rgb(int64_t in_chans) {
  return in_chans == 3 ? std::vector<double>{0.4488, 0.4371, 0.4040} : std::vector<double>((size_t)in_chans, 0.0);
}

}  // namespace

SwinIR::SwinIR(const SwinIROptions& o, const LayerOptions& lo)
    : options(o), shift_(zero_mean_unless_rgb(o.in_chans), o.img_range, o.in_chans, o.in_chans, "SwinIR") {
  check_size_options("SwinIR", {{"in_chans", o.in_chans, 1}, {"embed_dim", o.embed_dim, 1},
                                {"window_size", o.window_size, 1}});
  SR_CHECK(o.depths.size() == o.num_heads.size(), "SwinIR: depths has ", o.depths.size(), " entries and num_heads ",
           o.num_heads.size(), ": one each per RSTB");
  SR_CHECK(o.drop_path_rate >= 0 && o.drop_path_rate < 1, "SwinIR: drop_path_rate must be in [0, 1), got ",
           o.drop_path_rate);
  SR_CHECK(o.img_size.first > 0 && o.img_size.second > 0, "SwinIR: img_size must be positive");
  const std::string& up = o.upsampler;
  SR_CHECK(up.empty() || up == "pixelshuffle" || up == "pixelshuffledirect" || up == "nearest+conv",
           "SwinIR: upsampler must be \"pixelshuffle\", \"pixelshuffledirect\", \"nearest+conv\" or \"\", got \"", up,
           "\"");
  SR_CHECK(up != "nearest+conv" || o.upscale == 4, "SwinIR: upsampler \"nearest+conv\" is x4 only, got upscale ",
           o.upscale);
  SR_CHECK(!up.empty() || o.upscale == 1, "SwinIR: upsampler \"\" (denoising, JPEG) keeps the size: upscale must be 1, got ",
           o.upscale);
  SR_CHECK(up.empty() || o.upscale >= 2, "SwinIR: upscale must be at least 2 with upsampler \"", up, "\", got ",
           o.upscale);
  SR_CHECK(up != "pixelshuffledirect" || (o.upscale >= 2 && o.upscale <= 4),
           "SwinIR: upsampler \"pixelshuffledirect\" (one pixel shuffle) takes upscale 2, 3 or 4, got ", o.upscale,
           " (\"pixelshuffle\" also takes 8)");
  int64_t total = 0;
  for (size_t i = 0; i < o.depths.size(); ++i) {
    SR_CHECK(o.depths[i] >= 0 && o.num_heads[i] > 0, "SwinIR: depths[", i, "] ", o.depths[i], " / num_heads[", i,
             "] ", o.num_heads[i], " are not valid");
    total += o.depths[i];
  }
  // Stochastic depth grows linearly over the blocks: torch.linspace(0, drop_path_rate, total),
  // whose float32 values BasicSR reads with .item().
  std::vector<double> dpr((size_t)total, 0.0);
  for (int64_t k = 0; k < total; ++k)
    dpr[(size_t)k] = total > 1 ? (double)(float)(o.drop_path_rate * (double)k / (double)(total - 1)) : 0.0;

  const LayerOptions& L = lo;
  conv_first = register_module("conv_first", std::make_shared<Conv2d>(o.in_chans, o.embed_dim, 3, 1, 1, true, L));
  if (o.patch_norm) {
    patch_embed = register_module("patch_embed", std::make_shared<Sequential>());
    patch_norm = patch_embed->push_back("norm", std::make_shared<LayerNorm>(o.embed_dim));
  }
  layers = register_module("layers", std::make_shared<Sequential>());
  int64_t first = 0;
  for (size_t i = 0; i < o.depths.size(); ++i) {
    const std::vector<double> d(dpr.begin() + first, dpr.begin() + first + o.depths[i]);
    first += o.depths[i];
    layers->push_back(std::make_shared<RSTB>(o.embed_dim, o.img_size, o.depths[i], o.num_heads[i], o.window_size,
                                             o.mlp_ratio, o.qkv_bias, o.qk_scale, d, o.resi_connection, L));
  }
  norm = register_module("norm", std::make_shared<LayerNorm>(o.embed_dim));
  conv_after_body = register_module("conv_after_body", residual_conv(o.embed_dim, o.resi_connection, L));
  if (up == "pixelshuffle" || up == "nearest+conv") {
    auto s = std::make_shared<Sequential>();
    s->push_back("0", std::make_shared<Conv2d>(o.embed_dim, o.num_feat, 3, 1, 1, true, L));
    conv_before_upsample = register_module("conv_before_upsample", s);
  }
  if (up == "pixelshuffle") {
    upsample = register_module("upsample", std::make_shared<PixelShuffleUpsample>(o.num_feat, o.upscale, "SwinIR", L));
    conv_last = register_module("conv_last", std::make_shared<Conv2d>(o.num_feat, o.in_chans, 3, 1, 1, true, L));
  } else if (up == "pixelshuffledirect") {
    auto s = std::make_shared<Sequential>();
    s->push_back("0", std::make_shared<Conv2d>(o.embed_dim, (int64_t)o.upscale * o.upscale * o.in_chans, 3, 1, 1,
                                               true, L));
    upsample = register_module("upsample", s);
  } else if (up == "nearest+conv") {
    conv_up1 = register_module("conv_up1", std::make_shared<Conv2d>(o.num_feat, o.num_feat, 3, 1, 1, true, L));
    conv_up2 = register_module("conv_up2", std::make_shared<Conv2d>(o.num_feat, o.num_feat, 3, 1, 1, true, L));
    conv_hr = register_module("conv_hr", std::make_shared<Conv2d>(o.num_feat, o.num_feat, 3, 1, 1, true, L));
    conv_last = register_module("conv_last", std::make_shared<Conv2d>(o.num_feat, o.in_chans, 3, 1, 1, true, L));
  } else {
    conv_last = register_module("conv_last", std::make_shared<Conv2d>(o.embed_dim, o.in_chans, 3, 1, 1, true, L));
  }
  // Each block's stochastic depth draws from its own Philox stream under the run's seed.
  const uint64_t seed = default_generator().seed();
  for (size_t i = 0; i < layers->size(); ++i) {
    auto& rstb = dynamic_cast<RSTB&>((*layers)[i]);
    for (size_t j = 0; j < rstb.blocks->size(); ++j) {
      auto* b = &dynamic_cast<SwinTransformerBlock&>((*rstb.blocks)[j]);
      b->drop_seed = seed;
      b->drop_stream = 0x5317'0000'0000ULL + blocks_.size();
      blocks_.push_back(b);
    }
  }
}

void SwinIR::set_random_step(int64_t iteration, int rank) {
  for (SwinTransformerBlock* b : blocks_) {
    b->drop_step = iteration;
    b->drop_rank = rank;
  }
}

Tensor SwinIR::features(const Tensor& x) {
  const int64_t H = x.size(2), W = x.size(3);
  Tensor t = image_to_tokens(x);
  if (patch_norm) t = patch_norm->forward(t);
  for (size_t i = 0; i < layers->size(); ++i) t = dynamic_cast<RSTB&>((*layers)[i]).forward_tokens(t, H, W);
  return tokens_to_image(norm->forward(t), H, W);
}

Tensor SwinIR::forward(const Tensor& x_in) {
  SR_CHECK(x_in.defined() && x_in.dim() == 4, "SwinIR: input must be NCHW, got ",
           x_in.defined() ? x_in.shape().str() : "undefined");
  const int64_t H = x_in.size(2), W = x_in.size(3);
  const int ws = options.window_size;
  const int ph = (int)((ws - H % ws) % ws), pw = (int)((ws - W % ws) % ws);
  SR_CHECK(ph < H && pw < W, "SwinIR: a ", H, "x", W, " input is too small to reflect-pad to a multiple of window_size ",
           ws, " (needs more than ", ph, " rows and ", pw, " columns)");
  const Tensor x = shift_.normalize(ph || pw ? pad_reflect(x_in, ph, pw) : x_in);
  const Tensor f = conv_first->forward(x);
  const Tensor res = add(run_residual_conv(*conv_after_body, features(f)), f);
  const std::string& up = options.upsampler;
  Tensor y;
  if (up == "pixelshuffle") {
    auto& before = dynamic_cast<Conv2d&>(dynamic_cast<Sequential&>(*conv_before_upsample)[0]);
    y = conv_last->forward(upsample->forward(before.forward_leaky_relu(res, 0.01)));
  } else if (up == "pixelshuffledirect") {
    y = pixel_shuffle(dynamic_cast<Sequential&>(*upsample)[0].forward(res), options.upscale);
  } else if (up == "nearest+conv") {
    auto& before = dynamic_cast<Conv2d&>(dynamic_cast<Sequential&>(*conv_before_upsample)[0]);
    Tensor h = before.forward_leaky_relu(res, 0.01);
    h = conv_up1->forward_upsample_nearest2x_leaky_relu(h, 0.2);
    h = conv_up2->forward_upsample_nearest2x_leaky_relu(h, 0.2);
    y = conv_last->forward(conv_hr->forward_leaky_relu(h, 0.2));
  } else {
    y = add(x, conv_last->forward(res));
  }
  y = shift_.denormalize(y);
  const int64_t s = output_scale();
  return ph || pw ? crop(y, H * s, W * s) : y;
}

}  // namespace sr
