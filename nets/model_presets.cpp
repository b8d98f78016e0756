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
