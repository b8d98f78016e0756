// Architecture from a weights file: metadata first, then the BasicSR names and shapes
// (see network_from_weights.h).
#include "nets/network_from_weights.h"

#include <fstream>
#include <set>

#include "engine/error.h"
#include "engine/pth_archive.h"
#include "engine/pth_reader.h"
#include "nets/esrgan_names.h"
#include "nets/hat.h"
#include "nets/load_weights.h"

namespace sr {

namespace {

const Tensor* find(const std::map<std::string, const Tensor*>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : it->second;
}

// The shape of `key` as a list, or an error naming the file and the key.
const Tensor& need(const std::map<std::string, const Tensor*>& m, const std::string& key, int dims,
                   const std::string& path) {
  const Tensor* t = find(m, key);
  SR_CHECK(t, "weights '", path, "': looks like ", key.substr(0, key.find('.')), "... but has no '", key, "'");
  SR_CHECK(t->dim() == dims, "weights '", path, "': '", key, "' has shape ", t->shape().str(), ", expected ", dims,
           " dimensions");
  return *t;
}

// The integer n with n * n == v, or 0.
int64_t exact_sqrt(int64_t v) {
  for (int64_t n = 1; n * n <= v; ++n)
    if (n * n == v) return n;
  return 0;
}

nlohmann::json rrdbnet_from(const std::map<std::string, const Tensor*>& m, const std::string& path,
                            const ModelOptionNames& names) {
  const Tensor& first = need(m, "conv_first.weight", 4, path);
  const Tensor& last = need(m, "conv_last.weight", 4, path);
  const int64_t nf = first.size(0), in_unshuffled = first.size(1), out = last.size(0);
  // The input is pixel-unshuffled by 1, 2 or 4 (scale 4, 2, 1): conv_first sees in * f^2 channels.
  const int64_t f = in_unshuffled % out == 0 ? exact_sqrt(in_unshuffled / out) : 0;
  SR_CHECK(f == 1 || f == 2 || f == 4, "weights '", path, "': RRDBNet's conv_first takes ", in_unshuffled,
           " channels and conv_last gives ", out, ": not a scale 4, 2 or 1 net with as many input as output "
           "channels (give ", names.config, ")");
  std::set<int64_t> blocks;
  for (const auto& [k, t] : m) {
    if (k.rfind("body.", 0) != 0) continue;
    const size_t dot = k.find('.', 5);
    if (dot == std::string::npos) continue;
    try {
      blocks.insert(std::stoll(k.substr(5, dot - 5)));
    } catch (const std::exception&) {
      fail("weights '", path, "': unexpected RRDBNet key '", k, "'");
    }
  }
  SR_CHECK(!blocks.empty() && *blocks.begin() == 0 && *blocks.rbegin() == (int64_t)blocks.size() - 1, "weights '",
           path, "': RRDBNet body blocks are not numbered 0..n-1");
  const int64_t gc = need(m, "body.0.rdb1.conv1.weight", 4, path).size(0);
  return {{"type", "RRDBNet"},  {"num_in_ch", out},
          {"num_out_ch", out},  {"scale", f == 1 ? 4 : f == 2 ? 2 : 1},
          {"num_feat", nf},     {"num_block", (int64_t)blocks.size()},
          {"num_grow_ch", gc}};
}

// MSRResNet: every option is in the shapes (no PReLU-style ambiguity): the width from
// conv_first, the blocks from body.{i}.conv1, x4 from upconv2's presence, x2 / x3 from
// upconv1's r^2 nf outputs.
nlohmann::json msrresnet_from(const std::map<std::string, const Tensor*>& m, const std::string& path,
                              const ModelOptionNames& names) {
  const Tensor& first = need(m, "conv_first.weight", 4, path);
  const Tensor& up1 = need(m, "upconv1.weight", 4, path);
  const int64_t in = first.size(1), nf = first.size(0);
  const int64_t r = find(m, "upconv2.weight") ? 4 : up1.size(0) % nf == 0 ? exact_sqrt(up1.size(0) / nf) : 0;
  SR_CHECK(r >= 2 && r <= 4 && (r != 4 || up1.size(0) == 4 * nf), "weights '", path, "': MSRResNet's upconv1 gives ",
           up1.size(0), " channels for ", nf, " features: not an x2, x3 or x4 net (give ", names.config, ")");
  int64_t nb = 0;
  while (find(m, "body." + std::to_string(nb) + ".conv1.weight")) ++nb;
  return {{"type", "MSRResNet"}, {"num_in_ch", in},  {"num_out_ch", in},
          {"num_feat", nf},      {"num_block", nb},  {"upscale", r}};
}

nlohmann::json compact_from(const std::map<std::string, const Tensor*>& m, const std::string& path,
                            const ModelOptionNames& names) {
  const Tensor& first = need(m, "body.0.weight", 4, path);
  int64_t last = 0;
  while (find(m, "body." + std::to_string(last + 2) + ".weight")) last += 2;
  SR_CHECK(last >= 2, "weights '", path, "': SRVGGNetCompact needs at least body.0 and body.2");
  const Tensor& tail = need(m, "body." + std::to_string(last) + ".weight", 4, path);
  const int64_t in = first.size(1), nf = first.size(0);
  const int64_t up = tail.size(0) % in == 0 ? exact_sqrt(tail.size(0) / in) : 0;
  SR_CHECK(up >= 2 && up <= 4, "weights '", path, "': SRVGGNetCompact's last conv gives ", tail.size(0),
           " channels for ", in, " input channels: not an x2, x3 or x4 net with as many input as output channels "
           "(give ", names.config, ")");
  // PReLU keeps one slope per channel at the odd indices; ReLU and LeakyReLU keep nothing, so
  // they cannot be told apart from the file.
  SR_CHECK(find(m, "body.1.weight"), "weights '", path, "': an SRVGGNetCompact without PReLU weights (relu or "
           "leakyrelu cannot be told apart from the file): give ", names.config);
  return {{"type", "SRVGGNetCompact"}, {"num_in_ch", in}, {"num_out_ch", in},      {"num_feat", nf},
          {"num_conv", last / 2 - 1},  {"upscale", up},   {"act_type", "prelu"}};
}

// SwinIR: every option but img_range (and qk_scale, which no released model sets) is in the
// names and shapes. embed_dim and in_chans from conv_first; per RSTB the block count and the
// heads (the bias table's columns); the window from the table's (2 ws - 1)^2 rows; mlp_ratio
// from fc1; the training patch (img_size, which decides only whether one window covers it)
// from the first shifted block's attn_mask (nW = (img_size / ws)^2 windows); a file without
// one (a patch that one window covers, whose tables hold the patch's window rather than the
// net's) needs a config; the head from its keys. img_range is 1 in every
// released SR model and BasicSR option file; the JPEG and denoising nets (upsampler "",
// img_range 255 for JPEG) cannot be told apart, so those need a config.
nlohmann::json swinir_from(const std::map<std::string, const Tensor*>& m, const std::string& path,
                           const ModelOptionNames& names) {
  const Tensor& first = need(m, "conv_first.weight", 4, path);
  const int64_t in = first.size(1), dim = first.size(0);
  std::vector<int64_t> depths, heads;
  int ws = 0;
  int64_t img_h = 0, img_w = 0, hidden = 0;
  for (int64_t i = 0;; ++i) {
    const std::string layer = "layers." + std::to_string(i) + ".residual_group.blocks.";
    int64_t depth = 0;
    while (find(m, layer + std::to_string(depth) + ".norm1.weight")) ++depth;
    if (depth == 0) break;
    const Tensor& table = need(m, layer + "0.attn.relative_position_bias_table", 2, path);
    const int64_t side = exact_sqrt(table.size(0));
    SR_CHECK(side >= 1 && side % 2 == 1, "weights '", path, "': ", layer, "0.attn.relative_position_bias_table has ",
             table.size(0), " rows, not (2 window_size - 1)^2");
    SR_CHECK(ws == 0 || ws == (side + 1) / 2, "weights '", path, "': the RSTBs' windows differ");
    ws = (int)((side + 1) / 2);
    depths.push_back(depth);
    heads.push_back(table.size(1));
    hidden = need(m, layer + "0.mlp.fc1.weight", 2, path).size(0);
    if (img_h == 0 && depth >= 2) {
      // nW = (h / ws) (w / ws) windows: a square patch when nW is a square, else the most
      // square factorisation (only the mask's shape and whether one window covers the patch
      // depend on img_size; the kernels compute the mask of each input's own size).
      // Without a mask the patch fits one window: the blocks' tables then hold the patch's
      // window, and the net's window_size (which pads every input) is not in the file.
      const Tensor* mask = find(m, layer + "1.attn_mask");
      SR_CHECK(mask, "weights '", path, "': ", layer, "1 (a shifted block) has no attn_mask, so its training patch "
               "fits one window and the net's window_size, which pads every input, is not in the file (the bias "
               "tables hold the patch's window); give ", names.config, " with network_g {\"type\": \"SwinIR\", ...}");
      SR_CHECK(mask->dim() == 3 && mask->size(0) > 0, "weights '", path, "': ", layer, "1.attn_mask has shape ",
               mask->shape().str(), ", not (windows, N, N)");
      const int64_t nW = mask->size(0);
      int64_t a = 1;
      for (int64_t f = 1; f * f <= nW; ++f)
        if (nW % f == 0) a = f;
      SR_CHECK(a >= 2, "weights '", path, "': ", layer, "1.attn_mask holds ", nW,
               " windows: a shifted block's patch is at least 2 windows a side");
      img_h = a * ws;
      img_w = nW / a * ws;
    }
  }
  SR_CHECK(!depths.empty() && ws > 0, "weights '", path, "': SwinIR without layers.0.residual_group.blocks.0");
  SR_CHECK(img_h > 0, "weights '", path, "': no RSTB has a second (shifted) block, so whether the training patch fits "
           "one window, and with it the net's window_size, is not in the file; give ", names.config,
           " with network_g {\"type\": \"SwinIR\", ...}");
  nlohmann::json o = {{"type", "SwinIR"},
                      {"in_chans", in},
                      {"embed_dim", dim},
                      {"depths", depths},
                      {"num_heads", heads},
                      {"window_size", ws},
                      {"img_size", img_h == img_w ? nlohmann::json(img_h) : nlohmann::json::array({img_h, img_w})},
                      {"mlp_ratio", (double)hidden / (double)dim},
                      {"img_range", 1.0},
                      {"qkv_bias", find(m, "layers.0.residual_group.blocks.0.attn.qkv.bias") != nullptr},
                      {"patch_norm", find(m, "patch_embed.norm.weight") != nullptr},
                      {"resi_connection", find(m, "conv_after_body.0.weight") ? "3conv" : "1conv"},
                      {"drop_path_rate", 0.0}};
  if (find(m, "conv_up1.weight")) {
    SR_CHECK(find(m, "conv_up2.weight"), "weights '", path, "': a SwinIR nearest+conv head without conv_up2 (an x2 "
             "head): srengine's nearest+conv is BasicSR's, x4 only");
    o["upsampler"] = "nearest+conv";
    o["upscale"] = 4;
    o["num_feat"] = need(m, "conv_up1.weight", 4, path).size(0);
  } else if (find(m, "conv_before_upsample.0.weight")) {
    const int64_t nf = need(m, "conv_before_upsample.0.weight", 4, path).size(0);
    int64_t steps = 0;
    while (find(m, "upsample." + std::to_string(2 * steps) + ".weight")) ++steps;
    const int64_t out0 = need(m, "upsample.0.weight", 4, path).size(0);
    const int64_t up = out0 == 9 * nf && steps == 1 ? 3 : out0 == 4 * nf ? (int64_t{1} << steps) : 0;
    SR_CHECK(up >= 2 && up <= 8, "weights '", path, "': SwinIR's upsample.0 gives ", out0, " channels for ", nf,
             " features over ", steps, " steps: not an x2, x3, x4 or x8 head (give ", names.config, ")");
    o["upsampler"] = "pixelshuffle";
    o["upscale"] = up;
    o["num_feat"] = nf;
  } else if (find(m, "upsample.0.weight")) {
    const int64_t out0 = need(m, "upsample.0.weight", 4, path).size(0);
    const int64_t up = out0 % in == 0 ? exact_sqrt(out0 / in) : 0;
    SR_CHECK(up >= 2 && up <= 4, "weights '", path, "': SwinIR's upsample.0 gives ", out0, " channels for ", in,
             " image channels: not an x2, x3 or x4 pixel-shuffle head (give ", names.config, ")");
    o["upsampler"] = "pixelshuffledirect";
    o["upscale"] = up;
  } else {
    fail("weights '", path, "': a SwinIR without an upsampling head (denoising or JPEG), whose img_range (1 or 255) "
         "is not stored in its weights; give ", names.config, " with network_g {\"type\": \"SwinIR\", ...} as in its "
         "option file");
  }
  return o;
}

// HAT: embed_dim and in_chans from conv_first; per RHAG the block count and the heads (the
// bias tables' columns); the window from a block table's (2 ws - 1)^2 rows, the overlapping
// window wse from the OCAB table's (ws + wse - 1)^2 rows (overlap_ratio (wse - ws) / ws when
// HAT's int(ws * overlap_ratio) gives wse - ws back, else (wse - ws + 0.5) / ws, since the
// division can round below the integer: 11 * (30 / 11) is 29.999...); compress_ratio and squeeze_factor from the CAB's
// widths (C // ratio: the ratio C / width gives the same widths); mlp_ratio from fc1; the head
// from upsample.*. Four options shape no tensor: img_range, conv_scale and qk_scale, which every
// released HAT (HAT-S, HAT, HAT-L, Real_HAT_GAN) and option file sets to 1, 0.01 and null, and
// img_size, which decides only whether a one-window training patch drops the shift; HAT keeps
// no per-block mask, so the released 64 is taken, and a window of 64 or more, where that choice
// would matter, needs a config.
nlohmann::json hat_from(const std::map<std::string, const Tensor*>& m, const std::string& path,
                        const ModelOptionNames& names) {
  const Tensor& first = need(m, "conv_first.weight", 4, path);
  const int64_t in = first.size(1), dim = first.size(0);
  std::vector<int64_t> depths, heads;
  int64_t ws = 0, wse = 0, hidden = 0, compress = 0, squeeze = 0;
  for (int64_t i = 0;; ++i) {
    const std::string group = "layers." + std::to_string(i) + ".residual_group.";
    if (!find(m, group + "overlap_attn.qkv.weight")) break;
    int64_t depth = 0;
    while (find(m, group + "blocks." + std::to_string(depth) + ".norm1.weight")) ++depth;
    const Tensor& oca = need(m, group + "overlap_attn.relative_position_bias_table", 2, path);
    depths.push_back(depth);
    heads.push_back(oca.size(1));
    hidden = need(m, group + "overlap_attn.mlp.fc1.weight", 2, path).size(0);
    if (depth == 0) continue;
    const std::string block = group + "blocks.0.";
    const Tensor& table = need(m, block + "attn.relative_position_bias_table", 2, path);
    const int64_t side = exact_sqrt(table.size(0));
    SR_CHECK(side >= 1 && side % 2 == 1, "weights '", path, "': ", block, "attn.relative_position_bias_table has ",
             table.size(0), " rows, not (2 window_size - 1)^2");
    SR_CHECK(ws == 0 || ws == (side + 1) / 2, "weights '", path, "': the RHAGs' windows differ");
    ws = (side + 1) / 2;
    const int64_t oside = exact_sqrt(oca.size(0));
    SR_CHECK(oside >= 2 * ws - 1 && (oside - 2 * ws + 1) % 2 == 0, "weights '", path, "': ", group,
             "overlap_attn.relative_position_bias_table has ", oca.size(0), " rows, not (window_size + "
             "overlap_window_size - 1)^2 with an even overlap at window_size ", ws);
    wse = oside - ws + 1;
    const int64_t c0 = need(m, block + "conv_block.cab.0.weight", 4, path).size(0);
    const int64_t a1 = need(m, block + "conv_block.cab.3.attention.1.weight", 4, path).size(0);
    compress = dim / c0;
    squeeze = dim / a1;
  }
  SR_CHECK(!depths.empty() && ws > 0, "weights '", path, "': HAT without layers.0.residual_group.blocks.0");
  SR_CHECK(ws < 64, "weights '", path, "': HAT with window_size ", ws, ": whether its training patch (img_size, not in "
           "the file) covers one window, which drops the shifted windows, cannot be told; give ", names.config,
           " with network_g {\"type\": \"HAT\", ...} as in its option file");
  const int64_t nf = need(m, "conv_before_upsample.0.weight", 4, path).size(0);
  int64_t steps = 0;
  while (find(m, "upsample." + std::to_string(2 * steps) + ".weight")) ++steps;
  const int64_t out0 = need(m, "upsample.0.weight", 4, path).size(0);
  const int64_t up = out0 == 9 * nf && steps == 1 ? 3 : out0 == 4 * nf ? (int64_t{1} << steps) : 0;
  SR_CHECK(up >= 2 && up <= 8, "weights '", path, "': HAT's upsample.0 gives ", out0, " channels for ", nf,
           " features over ", steps, " steps: not an x2, x3, x4 or x8 head (give ", names.config, ")");
  return {{"type", "HAT"},
          {"upscale", up},
          {"in_chans", in},
          {"img_size", 64},
          {"window_size", ws},
          {"compress_ratio", compress},
          {"squeeze_factor", squeeze},
          {"conv_scale", 0.01},
          {"overlap_ratio", hat_overlap_ratio_for((int)ws, (int)wse)},
          {"img_range", 1.0},
          {"depths", depths},
          {"embed_dim", dim},
          {"num_heads", heads},
          {"mlp_ratio", (double)hidden / (double)dim},
          {"qkv_bias", find(m, "layers.0.residual_group.overlap_attn.qkv.bias") != nullptr},
          {"patch_norm", find(m, "patch_embed.norm.weight") != nullptr},
          {"upsampler", "pixelshuffle"},
          {"resi_connection", find(m, "conv_after_body.weight") ? "1conv" : "identity"},
          {"num_feat", nf},
          {"drop_path_rate", 0.0}};
}

}  // namespace

nlohmann::json network_from_tensors(const NamedTensors& given, const std::string& path,
                                    const ModelOptionNames& names) {
  NamedTensors tensors = given;  // select_basicsr_weights maps the old ESRGAN names; a direct caller may not
  map_old_esrgan_names(tensors, path);
  std::map<std::string, const Tensor*> m;
  for (const auto& [k, t] : tensors) m[k] = &t;
  // model.N names without the original ESRGAN's layout (map_old_esrgan_names left them).
  const bool legacy_esrgan = find(m, "model.0.weight") != nullptr;
  // HAT's groups end in an overlapping cross-attention block, which SwinIR's lack.
  if (find(m, "layers.0.residual_group.overlap_attn.qkv.weight")) return hat_from(m, path, names);
  // SwinIR shares conv_first and conv_after_body with EDSR and RCAN; its blocks tell it apart.
  if (find(m, "layers.0.residual_group.blocks.0.norm1.weight")) return swinir_from(m, path, names);
  // EDSR and RCAN share conv_first with RRDBNet; their res_scale, img_range and rgb_mean shape
  // no tensor (EDSR-M uses res_scale 1, EDSR-L 0.1), so a guess could run the wrong function
  // silently.
  const bool rcan = find(m, "body.0.residual_group.0.rcab.0.weight") != nullptr;
  SR_CHECK(!find(m, "conv_after_body.weight"), "weights '", path, "': BasicSR's ", rcan ? "RCAN" : "EDSR",
           " (conv_after_body, upsample.*), whose res_scale, img_range and rgb_mean are not stored in its weights; "
           "give ", names.config, " with network_g {\"type\": \"", rcan ? "RCAN" : "EDSR",
           "\", ...} as in its BasicSR option file");
  // ECBSR's with_idt and act_type (relu or linear without PReLU slopes) shape no tensor either.
  SR_CHECK(!find(m, "backbone.0.conv1x1_sbx.k0"), "weights '", path, "': BasicSR's ECBSR (backbone.N.conv1x1_*), "
           "whose with_idt and act_type are not stored in its weights; give ", names.config,
           " with network_g {\"type\": \"ECBSR\", ...} as in its BasicSR option file");
  if (!legacy_esrgan && find(m, "upconv1.weight")) return msrresnet_from(m, path, names);
  if (!legacy_esrgan && find(m, "conv_first.weight")) return rrdbnet_from(m, path, names);
  if (find(m, "body.0.weight")) return compact_from(m, path, names);
  fail("weights '", path, "': the architecture cannot be recognised from its tensor names (",
       tensors.empty() ? std::string("none") : "first: '" + tensors.front().first + "'",
       "); srengine recognises RRDBNet, SRVGGNetCompact, MSRResNet, SwinIR and HAT with BasicSR's names",
       legacy_esrgan ? " (model.N names, as the original ESRGAN's, but without its RRDB blocks "
                       "model.1.sub.N.RDBk)" : "",
       ". Give ", names.config, " (its network_g) or ", names.model_name);
}

WeightsArchitecture detect_weights_architecture(const std::string& path, const std::string& param_key,
                                                const ModelOptionNames& names) {
  std::ifstream in(path, std::ios::binary);
  SR_CHECK(in.good(), "weights '", path, "': cannot open the file (missing or unreadable)");
  uint8_t head[16] = {};
  in.read(reinterpret_cast<char*>(head), sizeof(head));
  const size_t n = (size_t)in.gcount();
  in.close();
  NamedTensors tensors;
  if (sniff_weights_file(head, n) == WeightsFileKind::safetensors) {
    SafetensorsFile f = read_safetensors(path);
    auto it = f.metadata.find(kNetworkMetadataKey);
    if (it != f.metadata.end()) {
      nlohmann::json opt;
      try {
        opt = nlohmann::json::parse(it->second);
      } catch (const std::exception& e) {
        fail("weights '", path, "': metadata '", kNetworkMetadataKey, "' is not valid JSON: ", e.what());
      }
      SR_CHECK(opt.is_object(), "weights '", path, "': metadata '", kNetworkMetadataKey, "' is not a JSON object");
      return {opt, "file metadata"};
    }
    tensors = std::move(f.tensors);
  } else {
    tensors = read_weights_file(path);
  }
  const SelectedWeights w = select_basicsr_weights(tensors, param_key == "bare" ? "" : param_key, path);
  return {network_from_tensors(w.tensors, path, names), "tensor shapes"};
}

}  // namespace sr
