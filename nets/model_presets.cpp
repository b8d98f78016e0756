// The released models' architectures and weight file names (see model_presets.h). The
// architectures are the ones Real-ESRGAN's inference script builds for each -n name; the
// parameter counts (tests/test_model_presets.cpp) are PyTorch's for the same definitions.
#include "nets/model_presets.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "engine/error.h"
#include "engine/suggest.h"

namespace sr {

namespace fs = std::filesystem;

namespace {

nlohmann::json rrdbnet(int scale, int num_block) {
  return {{"type", "RRDBNet"}, {"num_in_ch", 3},         {"num_out_ch", 3},       {"scale", scale},
          {"num_feat", 64},    {"num_block", num_block}, {"num_grow_ch", 32}};
}

nlohmann::json compact(int num_conv) {
  return {{"type", "SRVGGNetCompact"}, {"num_in_ch", 3}, {"num_out_ch", 3},      {"num_feat", 64},
          {"num_conv", num_conv},      {"upscale", 4},   {"act_type", "prelu"}};
}

// BasicSR's EDSR releases: EDSR-M (nf 64, 16 blocks, res_scale 1) and EDSR-L (nf 256, 32 blocks,
// res_scale 0.1), img_range 255 and DIV2K's mean, as its train_EDSR_{M,L}x{2,3,4}.yml build them.
// The file cannot say res_scale (nets/network_from_weights.h), which is why these are presets.
nlohmann::json edsr(int upscale, bool large) {
  return {{"type", "EDSR"},          {"num_in_ch", 3},          {"num_out_ch", 3},
          {"num_feat", large ? 256 : 64}, {"num_block", large ? 32 : 16}, {"upscale", upscale},
          {"res_scale", large ? 0.1 : 1.0}, {"img_range", 255.0},   {"rgb_mean", {0.4488, 0.4371, 0.4040}}};
}

// A release's own file name first, then the plain <name>.pth / .safetensors (what
// `srengine convert` or a user renaming the file would make).
std::vector<std::string> files(const std::string& name, const std::string& released = "") {
  std::vector<std::string> out;
  if (!released.empty()) out.push_back(released);
  out.push_back(name + ".pth");
  out.push_back(name + ".safetensors");
  return out;
}

const std::string kReleases = "https://github.com/xinntao/Real-ESRGAN/releases/download/";
// BasicSR publishes its official models through its model zoo page (Google Drive and Tencent
// Cloud links), not as release assets.
const std::string kBasicsrZoo = "https://github.com/XPixelGroup/BasicSR/blob/master/docs/ModelZoo.md";

}  // namespace

const std::vector<ModelPreset>& model_presets() {
  static const std::vector<ModelPreset> table = {
      {"RealESRGAN_x4plus", rrdbnet(4, 23), files("RealESRGAN_x4plus"), kReleases + "v0.1.0/RealESRGAN_x4plus.pth",
       "x4 RRDBNet (nf 64, 23 blocks), general photos, GAN-trained"},
      {"RealESRNet_x4plus", rrdbnet(4, 23), files("RealESRNet_x4plus"), kReleases + "v0.1.1/RealESRNet_x4plus.pth",
       "x4 RRDBNet (nf 64, 23 blocks), general photos, L1-trained (smoother)"},
      {"RealESRGAN_x4plus_anime_6B", rrdbnet(4, 6), files("RealESRGAN_x4plus_anime_6B"),
       kReleases + "v0.2.2.4/RealESRGAN_x4plus_anime_6B.pth", "x4 RRDBNet (nf 64, 6 blocks), anime illustrations"},
      {"RealESRGAN_x2plus", rrdbnet(2, 23), files("RealESRGAN_x2plus"), kReleases + "v0.2.1/RealESRGAN_x2plus.pth",
       "x2 RRDBNet (nf 64, 23 blocks, pixel-unshuffled input), general photos"},
      {"realesr-animevideov3", compact(16), files("realesr-animevideov3"),
       kReleases + "v0.2.5.0/realesr-animevideov3.pth", "x4 SRVGGNetCompact (nf 64, 16 convs), anime video"},
      {"realesr-general-x4v3", compact(32), files("realesr-general-x4v3"),
       kReleases + "v0.2.5.0/realesr-general-x4v3.pth",
       "x4 SRVGGNetCompact (nf 64, 32 convs), general scenes; -dn blends in realesr-general-wdn-x4v3"},
      {"realesr-general-wdn-x4v3", compact(32), files("realesr-general-wdn-x4v3"),
       kReleases + "v0.2.5.0/realesr-general-wdn-x4v3.pth",
       "the weak-denoise companion of realesr-general-x4v3 (what -dn interpolates towards)"},
      {"ESRGAN_SRx4_DF2KOST", rrdbnet(4, 23),
       files("ESRGAN_SRx4_DF2KOST", "ESRGAN_SRx4_DF2KOST_official-ff704c30.pth"),
       kReleases + "v0.1.1/ESRGAN_SRx4_DF2KOST_official-ff704c30.pth",
       "x4 RRDBNet (nf 64, 23 blocks), ESRGAN trained on DF2K+OST with bicubic degradation"},
      {"EDSR_Mx2_f64b16_DIV2K_official", edsr(2, false),
       files("EDSR_Mx2_f64b16_DIV2K_official", "EDSR_Mx2_f64b16_DIV2K_official-3ba7b086.pth"), kBasicsrZoo,
       "x2 EDSR-M (nf 64, 16 blocks), BasicSR's, bicubic DIV2K"},
      {"EDSR_Mx3_f64b16_DIV2K_official", edsr(3, false),
       files("EDSR_Mx3_f64b16_DIV2K_official", "EDSR_Mx3_f64b16_DIV2K_official-6908f88a.pth"), kBasicsrZoo,
       "x3 EDSR-M (nf 64, 16 blocks), BasicSR's, bicubic DIV2K"},
      {"EDSR_Mx4_f64b16_DIV2K_official", edsr(4, false),
       files("EDSR_Mx4_f64b16_DIV2K_official", "EDSR_Mx4_f64b16_DIV2K_official-0c287733.pth"), kBasicsrZoo,
       "x4 EDSR-M (nf 64, 16 blocks), BasicSR's, bicubic DIV2K"},
      {"EDSR_Lx2_f256b32_DIV2K_official", edsr(2, true),
       files("EDSR_Lx2_f256b32_DIV2K_official", "EDSR_Lx2_f256b32_DIV2K_official-be38e77d.pth"), kBasicsrZoo,
       "x2 EDSR-L (nf 256, 32 blocks, res_scale 0.1), BasicSR's, bicubic DIV2K"},
      {"EDSR_Lx3_f256b32_DIV2K_official", edsr(3, true),
       files("EDSR_Lx3_f256b32_DIV2K_official", "EDSR_Lx3_f256b32_DIV2K_official-3660f70d.pth"), kBasicsrZoo,
       "x3 EDSR-L (nf 256, 32 blocks, res_scale 0.1), BasicSR's, bicubic DIV2K"},
      {"EDSR_Lx4_f256b32_DIV2K_official", edsr(4, true),
       files("EDSR_Lx4_f256b32_DIV2K_official", "EDSR_Lx4_f256b32_DIV2K_official-76ee1c8f.pth"), kBasicsrZoo,
       "x4 EDSR-L (nf 256, 32 blocks, res_scale 0.1), BasicSR's, bicubic DIV2K"},
  };
  return table;
}

std::vector<std::string> model_preset_names() {
  std::vector<std::string> out;
  for (const auto& p : model_presets()) out.push_back(p.name);
  return out;
}

const ModelPreset& find_model_preset(const std::string& name, const ModelOptionNames& names) {
  for (const auto& p : model_presets())
    if (p.name == name) return p;
  std::string known;
  for (const auto& n : model_preset_names()) known += (known.empty() ? "" : ", ") + n;
  fail("unknown model name '", name, "'", did_you_mean(name, model_preset_names()), "; known models: ", known,
       " (or give ", names.weights, " with ", names.config, ", or a file that carries its architecture)");
}

std::vector<std::string> model_search_dirs(const std::string& model_dir) {
  std::vector<std::string> dirs;
  auto add = [&](const std::string& d) {
    if (d.empty()) return;
    for (const auto& e : dirs)
      if (e == d) return;
    dirs.push_back(d);
  };
  add(model_dir);
  if (const char* env = std::getenv("SRENGINE_MODELS")) {
    std::string all = env;
    size_t start = 0;
    while (start <= all.size()) {
      const size_t end = all.find(':', start);
      add(all.substr(start, end == std::string::npos ? std::string::npos : end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  return dirs;
}

std::string locate_model_weights(const ModelPreset& preset, const std::vector<std::string>& dirs,
                                 const ModelOptionNames& names) {
  for (const auto& d : dirs)
    for (const auto& f : preset.file_names) {
      const fs::path p = fs::path(d) / f;
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) return p.string();
    }
  std::string searched;
  for (const auto& d : dirs) searched += (searched.empty() ? "'" : ", '") + d + "'";
  const char* env = std::getenv("SRENGINE_MODELS");
  const std::string first = dirs.empty() ? "weights" : dirs.front();
  fail("model ", preset.name, ": its weights file '", preset.file_names.front(), "' is not in ",
       searched.empty() ? std::string("any folder") : searched, " (", names.model_dir, ", then $SRENGINE_MODELS",
       env ? "" : ", unset", "). srengine downloads nothing: get it from ", preset.url, " and put it in '", first,
       "/' (or point ", names.model_dir, " or SRENGINE_MODELS at its folder, or give ", names.weights, ")");
}

}  // namespace sr
