// HAT (see hat.h).
#include "nets/hat.h"

#include <algorithm>
#include <cmath>

#include "engine/ops.h"
#include "engine/ops_transformer.h"
#include "engine/random.h"
#include "kernels/common/overlap_window_attention.h"
#include "kernels/common/window_attention.h"
#include "layers/pixel_shuffle_upsample.h"
#include "nets/rcan.h"
#include "nets/size_options.h"

namespace sr {

namespace {

// HAT's _init_weights on a Linear: weight N(0, 0.02), bias 0.
void hat_init_linear(Linear& l) {
  normal_(l.weight, 0.0, 0.02);
  if (l.bias.defined()) assign_tensor_in_place(l.bias, Tensor::zeros(l.bias.shape()));
}

// calculate_rpi_oca as HAT stores it: query token (yi, xi) of the ws x ws window against key
// token (yj, xj) of the wse x wse window, (yj - yi + ws - wse + 1) (ws + wse - 1) + (xj - xi +
// ws - wse + 1), negative for keys up and left of the query (PyTorch's indexing then reads the
// table from its end). The kernels index the table with the same entries wrapped into
// [0, (ws + wse - 1)^2) (kernels/common/overlap_window_attention.h); each entry is checked
// against theirs, so the buffer cannot drift from what the op computes.
Tensor rpi_oca_tensor(int ws, int wse) {
  const int N = ws * ws, M = wse * wse;
  const int64_t side = ws + wse - 1, rows = side * side;
  std::vector<double> v((size_t)N * M);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < M; ++j) {
      const int64_t raw = (j / wse - i / ws + ws - wse + 1) * side + (j % wse - i % ws + ws - wse + 1);
      SR_CHECK((raw % rows + rows) % rows == hat::overlap_relative_index(i, j, ws, wse),
               "HAT: relative_position_index_OCA[", i, ", ", j, "] = ", raw, " disagrees with the kernels' index ",
               hat::overlap_relative_index(i, j, ws, wse), " (window ", ws, ", overlapping window ", wse, ")");
      v[(size_t)i * M + j] = (double)raw;
    }
  return Tensor::from_vector(v, {N, M}, DType::f64).to(DType::f32);
}

std::vector<double> hat_rgb_mean(int64_t in_chans) {
  return in_chans == 3 ? std::vector<double>{0.4488, 0.4371, 0.4040} : std::vector<double>((size_t)in_chans, 0.0);
}

}  // namespace

int hat_overlap_window_size(int ws, double overlap_ratio) {
  return (int)std::trunc((double)ws * overlap_ratio) + ws;
}

double hat_overlap_ratio_for(int ws, int wse) {
  const double exact = (double)(wse - ws) / (double)ws;
  return hat_overlap_window_size(ws, exact) == wse ? exact : ((double)(wse - ws) + 0.5) / (double)ws;
}

// ---- CAB ------------------------------------------------------------------------------------

CAB::CAB(int64_t nf, int64_t compress_ratio, int64_t squeeze_factor, const LayerOptions& options) {
  cab = register_module("cab", std::make_shared<Sequential>());
  cab->push_back("0", std::make_shared<Conv2d>(nf, nf / compress_ratio, 3, 1, 1, true, options));
  cab->push_back("2", std::make_shared<Conv2d>(nf / compress_ratio, nf, 3, 1, 1, true, options));
  cab->push_back("3", std::make_shared<ChannelAttention>(nf, squeeze_factor, options));
}

Tensor CAB::forward(const Tensor& x) { return (*cab)[2].forward((*cab)[1].forward(gelu((*cab)[0].forward(x)))); }

// ---- HAB ------------------------------------------------------------------------------------

HAB::HAB(int64_t dim, int64_t nh, int ws, int sh, int64_t compress_ratio, int64_t squeeze_factor, double cs,
         double mlp_ratio, bool qkv_bias, double qk_scale, double dp, const LayerOptions& options)
    : window_size(ws), shift(sh), conv_scale(cs), drop_path(dp) {
  // HAT's order: norm1, attn, conv_block, norm2, mlp (its state dict's order).
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(dim));
  attn = register_module("attn",
                         std::make_shared<SwinWindowAttention>(dim, ws, nh, qkv_bias, qk_scale, options, false));
  conv_block = register_module("conv_block", std::make_shared<CAB>(dim, compress_ratio, squeeze_factor, options));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(dim));
  mlp = register_module("mlp", std::make_shared<SwinMlp>(dim, (int64_t)(dim * mlp_ratio), options));
}

// Stochastic depth as SwinIR's blocks draw it (nets/swinir.cpp): keyed by the run's seed, the
// block and the rank (the stream) and the iteration and branch (the index).
Tensor HAB::drop_branch(const Tensor& y, int which) {
  if (!is_training() || drop_path <= 0) return y;
  const uint64_t stream = drop_stream + ((uint64_t)drop_rank << 32);
  return sr::drop_path(y, drop_path, drop_seed, stream, ((uint64_t)drop_step << 21) | (uint64_t)which);
}

Tensor HAB::forward_tokens(const Tensor& x, int64_t H, int64_t W) {
  const Tensor n = norm1->forward(x);
  const Tensor conv_x = image_to_tokens(conv_block->forward(tokens_to_image(n, H, W)));
  const Tensor windows = window_partition(n, H, W, window_size, shift);
  const Tensor attn_x = window_merge(attn->forward_windows(windows, H, W, shift), H, W, window_size, shift);
  // x + drop_path(attn_x) + conv_scale * conv_x: the conv branch is outside the stochastic depth.
  const Tensor h = axpby(conv_scale, conv_x, 1.0, add(x, drop_branch(attn_x, 0)));
  return add(h, drop_branch(on_rows(*mlp, norm2->forward(h)), 1));
}

// ---- OCAB -----------------------------------------------------------------------------------

OCAB::OCAB(int64_t dim, int ws, int wse, int64_t nh, bool qkv_bias, double qk_scale, double mlp_ratio,
           const LayerOptions& options)
    : window_size(ws), overlap_window_size(wse), num_heads(nh) {
  scale = qk_scale > 0 ? qk_scale : std::pow((double)(dim / nh), -0.5);  // Python's head_dim ** -0.5
  const int64_t side = ws + wse - 1;
  relative_position_bias_table =
      register_parameter("relative_position_bias_table", swin_normal({side * side, nh}, 0.02));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(dim));
  qkv = register_module("qkv", std::make_shared<Linear>(dim, 3 * dim, qkv_bias, options));
  proj = register_module("proj", std::make_shared<Linear>(dim, dim, true, options));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(dim));
  mlp = register_module("mlp", std::make_shared<SwinMlp>(dim, (int64_t)(dim * mlp_ratio), options));
  hat_init_linear(*qkv);
  hat_init_linear(*proj);  // SwinMlp initialises fc1 and fc2 the same way
}

Tensor OCAB::forward_tokens(const Tensor& x, int64_t H, int64_t W) {
  const Tensor q_k_v = on_rows(*qkv, norm1->forward(x));  // (B, H*W, 3C) over every token
  const Tensor a = overlap_window_attention(q_k_v, relative_position_bias_table, (int)num_heads, H, W, window_size,
                                            overlap_window_size, scale);
  const Tensor h = add(on_rows(*proj, a), x);
  return add(h, on_rows(*mlp, norm2->forward(h)));
}

// ---- RHAG -----------------------------------------------------------------------------------

RHAG::RHAG(int64_t dim, int64_t depth, int64_t nh, int ws, bool shifted, int wse, int64_t compress_ratio,
           int64_t squeeze_factor, double conv_scale, double mlp_ratio, bool qkv_bias, double qk_scale,
           const std::vector<double>& dp, const std::string& resi_connection, const LayerOptions& options) {
  residual_group = register_module("residual_group", std::make_shared<Sequential>());
  blocks = residual_group->push_back("blocks", std::make_shared<Sequential>());
  for (int64_t i = 0; i < depth; ++i)
    blocks->push_back(std::make_shared<HAB>(dim, nh, ws, shifted && i % 2 == 1 ? ws / 2 : 0, compress_ratio,
                                            squeeze_factor, conv_scale, mlp_ratio, qkv_bias, qk_scale,
                                            dp.at((size_t)i), options));
  overlap_attn = residual_group->push_back(
      "overlap_attn", std::make_shared<OCAB>(dim, ws, wse, nh, qkv_bias, qk_scale, mlp_ratio, options));
  if (resi_connection == "1conv")
    conv = register_module("conv", std::make_shared<Conv2d>(dim, dim, 3, 1, 1, true, options));
}

Tensor RHAG::forward_tokens(const Tensor& x, int64_t H, int64_t W) {
  Tensor t = x;
  for (size_t i = 0; i < blocks->size(); ++i) t = dynamic_cast<HAB&>((*blocks)[i]).forward_tokens(t, H, W);
  t = overlap_attn->forward_tokens(t, H, W);
  if (conv) t = image_to_tokens(conv->forward(tokens_to_image(t, H, W)));
  return add(t, x);
}

// ---- HAT ------------------------------------------------------------------------------------

namespace {

// The options HAT's constructor would accept and run; each refusal names the key and value.
void check_hat_options(const HATOptions& o) {
  check_size_options("HAT", {{"in_chans", o.in_chans, 1}, {"embed_dim", o.embed_dim, 1},
                             {"window_size", o.window_size, 1}});
  SR_CHECK(o.depths.size() == o.num_heads.size(), "HAT: depths has ", o.depths.size(), " entries and num_heads ",
           o.num_heads.size(), ": one each per RHAG");
  for (size_t i = 0; i < o.depths.size(); ++i) {
    SR_CHECK(o.depths[i] >= 0 && o.num_heads[i] > 0, "HAT: depths[", i, "] ", o.depths[i], " / num_heads[", i, "] ",
             o.num_heads[i], " are not valid");
    SR_CHECK(o.embed_dim % o.num_heads[i] == 0, "HAT: embed_dim ", o.embed_dim, " is not a multiple of num_heads[", i,
             "] ", o.num_heads[i]);
  }
  SR_CHECK(o.drop_path_rate >= 0 && o.drop_path_rate < 1, "HAT: drop_path_rate must be in [0, 1), got ",
           o.drop_path_rate);
  SR_CHECK(o.qk_scale >= 0, "HAT: qk_scale must be positive (or null for head_dim ** -0.5), got ", o.qk_scale);
  SR_CHECK(o.upsampler == "pixelshuffle", "HAT: upsampler must be \"pixelshuffle\", the only head HAT's forward "
           "runs (with any other it returns its input unchanged), got \"", o.upsampler, "\"");
  SR_CHECK(o.resi_connection == "1conv" || o.resi_connection == "identity",
           "HAT: resi_connection must be \"1conv\" or \"identity\", got \"", o.resi_connection, "\"");
  SR_CHECK(o.compress_ratio > 0 && o.embed_dim / o.compress_ratio > 0, "HAT: embed_dim ", o.embed_dim,
           " // compress_ratio ", o.compress_ratio, " leaves no channel in the CAB's first conv");
  SR_CHECK(o.squeeze_factor > 0 && o.embed_dim / o.squeeze_factor > 0, "HAT: embed_dim ", o.embed_dim,
           " // squeeze_factor ", o.squeeze_factor, " leaves no hidden channel in the channel attention");
  SR_CHECK((int64_t)(o.embed_dim * o.mlp_ratio) > 0, "HAT: mlp_ratio ", o.mlp_ratio,
           " leaves no hidden features at embed_dim ", o.embed_dim);
  SR_CHECK(o.img_size.first > 0 && o.img_size.second > 0, "HAT: img_size must be positive");
  const int64_t patch = std::min(o.img_size.first, o.img_size.second);
  SR_CHECK(patch >= o.window_size, "HAT: img_size ", o.img_size.first, "x", o.img_size.second,
           " is smaller than window_size ", o.window_size, ": HAT's blocks would use ", patch, "x", patch,
           " windows with the relative position index of ", o.window_size, "x", o.window_size,
           " windows, which fails in PyTorch; make img_size (the training patch) at least window_size");
  SR_CHECK(o.overlap_ratio >= 0 && std::isfinite(o.overlap_ratio), "HAT: overlap_ratio must be >= 0, got ",
           o.overlap_ratio);
  const int wse = hat_overlap_window_size(o.window_size, o.overlap_ratio);
  SR_CHECK((wse - o.window_size) % 2 == 0, "HAT: overlap_ratio ", o.overlap_ratio, " with window_size ",
           o.window_size, " gives an overlapping window of ", wse, " = window_size + int(window_size * overlap_ratio)",
           ": the overlap ", wse - o.window_size, " is odd, so the key windows (an unfold padded by half the "
           "overlap) are fewer than the query windows and HAT fails in PyTorch; choose an overlap_ratio that makes "
           "int(window_size * overlap_ratio) even");
}

}  // namespace

HAT::HAT(const HATOptions& o, const LayerOptions& lo)
    : options(o), shift_(hat_rgb_mean(o.in_chans), o.img_range, o.in_chans, o.in_chans, "HAT") {
  check_hat_options(o);
  const int ws = o.window_size;
  overlap_window_size = hat_overlap_window_size(ws, o.overlap_ratio);
  int64_t total = 0;
  for (int64_t d : o.depths) total += d;
  // Stochastic depth grows linearly over the blocks: torch.linspace(0, drop_path_rate, total),
  // float32 values read with .item() (as SwinIR's).
  std::vector<double> dpr((size_t)total, 0.0);
  for (int64_t k = 0; k < total; ++k)
    dpr[(size_t)k] = total > 1 ? (double)(float)(o.drop_path_rate * (double)k / (double)(total - 1)) : 0.0;
  // A training patch of one window: HAT's blocks drop the shift (their window stays the net's).
  const bool shifted = std::min(o.img_size.first, o.img_size.second) > ws;

  // HAT's state dict starts with its own buffers, then the modules in construction order.
  relative_position_index_SA = register_derived_buffer("relative_position_index_SA", swin_relative_position_index(ws));
  relative_position_index_OCA =
      register_derived_buffer("relative_position_index_OCA", rpi_oca_tensor(ws, overlap_window_size));
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
    layers->push_back(std::make_shared<RHAG>(o.embed_dim, o.depths[i], o.num_heads[i], ws, shifted,
                                             overlap_window_size, o.compress_ratio, o.squeeze_factor, o.conv_scale,
                                             o.mlp_ratio, o.qkv_bias, o.qk_scale, d, o.resi_connection, L));
  }
  norm = register_module("norm", std::make_shared<LayerNorm>(o.embed_dim));
  if (o.resi_connection == "1conv")
    conv_after_body =
        register_module("conv_after_body", std::make_shared<Conv2d>(o.embed_dim, o.embed_dim, 3, 1, 1, true, L));
  conv_before_upsample = register_module("conv_before_upsample", std::make_shared<Sequential>());
  conv_before_upsample->push_back("0", std::make_shared<Conv2d>(o.embed_dim, o.num_feat, 3, 1, 1, true, L));
  upsample = register_module("upsample", std::make_shared<PixelShuffleUpsample>(o.num_feat, o.upscale, "HAT", L));
  conv_last = register_module("conv_last", std::make_shared<Conv2d>(o.num_feat, o.in_chans, 3, 1, 1, true, L));

  // Each block's stochastic depth draws from its own Philox stream under the run's seed.
  const uint64_t seed = default_generator().seed();
  for (size_t i = 0; i < layers->size(); ++i) {
    auto& rhag = dynamic_cast<RHAG&>((*layers)[i]);
    for (size_t j = 0; j < rhag.blocks->size(); ++j) {
      auto* b = &dynamic_cast<HAB&>((*rhag.blocks)[j]);
      b->drop_seed = seed;
      b->drop_stream = 0x4A70'0000'0000ULL + blocks_.size();
      blocks_.push_back(b);
    }
  }
}

void HAT::set_random_step(int64_t iteration, int rank) {
  for (HAB* b : blocks_) {
    b->drop_step = iteration;
    b->drop_rank = rank;
  }
}

Tensor HAT::features(const Tensor& x) {
  const int64_t H = x.size(2), W = x.size(3);
  Tensor t = image_to_tokens(x);
  if (patch_norm) t = patch_norm->forward(t);
  for (size_t i = 0; i < layers->size(); ++i) t = dynamic_cast<RHAG&>((*layers)[i]).forward_tokens(t, H, W);
  return tokens_to_image(norm->forward(t), H, W);
}

Tensor HAT::forward(const Tensor& x_in) {
  SR_CHECK(x_in.defined() && x_in.dim() == 4, "HAT: input must be NCHW, got ",
           x_in.defined() ? x_in.shape().str() : "undefined");
  const int64_t H = x_in.size(2), W = x_in.size(3);
  const int ws = options.window_size;
  // HATModel's padding: reflect to the next multiple of the window, crop the output back.
  const int ph = (int)((ws - H % ws) % ws), pw = (int)((ws - W % ws) % ws);
  SR_CHECK(ph < H && pw < W, "HAT: a ", H, "x", W, " input is too small to reflect-pad to a multiple of window_size ",
           ws, " (needs more than ", ph, " rows and ", pw, " columns)");
  const Tensor x = shift_.normalize(ph || pw ? pad_reflect(x_in, ph, pw) : x_in);
  const Tensor f = conv_first->forward(x);
  const Tensor body = features(f);
  const Tensor res = add(conv_after_body ? conv_after_body->forward(body) : body, f);
  auto& before = dynamic_cast<Conv2d&>((*conv_before_upsample)[0]);
  Tensor y = conv_last->forward(upsample->forward(before.forward_leaky_relu(res, 0.01)));
  y = shift_.denormalize(y);
  const int64_t s = options.upscale;
  return ph || pw ? crop(y, H * s, W * s) : y;
}

}  // namespace sr
