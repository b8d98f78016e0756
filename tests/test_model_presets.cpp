// Released models by name (nets/model_presets.h) and architectures read from weight files
// (nets/network_from_weights.h): every preset has the published parameter count, a missing
// weights file is named with where to get it, the models folders are searched in order,
// srengine's safetensors carry their architecture, and `srengine infer -n` / `--weights`
// alone run without a config.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "data/image_io.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "infer/open_model.h"
#include "nets/factory.h"
#include "nets/model_presets.h"
#include "nets/network_from_weights.h"
#include "support/data_support.h"

using namespace sr;
namespace fs = std::filesystem;

namespace {

// Sets an environment variable for one scope and restores the previous value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_) ::setenv(name_.c_str(), old_.c_str(), 1);
    else ::unsetenv(name_.c_str());
  }

 private:
  std::string name_, old_;
  bool had_ = false;
};

}  // namespace

// The published parameter counts, computed by PyTorch from the same definitions
// (tools/realesrgan_reference.py counts, with tools/torch_nets.py's RRDBNet and
// SRVGGNetCompact).
TEST_CASE("presets/parameter_counts_equal_the_published_models") {
  const std::map<std::string, int64_t> published = {
      {"RealESRGAN_x4plus", 16697987},       {"RealESRNet_x4plus", 16697987},
      {"RealESRGAN_x4plus_anime_6B", 4467779}, {"RealESRGAN_x2plus", 16703171},
      {"realesr-animevideov3", 621424},      {"realesr-general-x4v3", 1213296},
      {"realesr-general-wdn-x4v3", 1213296}, {"ESRGAN_SRx4_DF2KOST", 16697987},
      // BasicSR's EDSR (tools/torch_nets.py's EDSR at these widths).
      {"EDSR_Mx2_f64b16_DIV2K_official", 1369859},   {"EDSR_Mx3_f64b16_DIV2K_official", 1554499},
      {"EDSR_Mx4_f64b16_DIV2K_official", 1517571},   {"EDSR_Lx2_f256b32_DIV2K_official", 40729603},
      {"EDSR_Lx3_f256b32_DIV2K_official", 43680003}, {"EDSR_Lx4_f256b32_DIV2K_official", 43089923},
  };
  REQUIRE(model_presets().size() == published.size());
  for (const ModelPreset& p : model_presets()) {
    INFO(p.name);
    REQUIRE(published.count(p.name));
    const std::unique_ptr<Module> net = build_network(p.network_g);
    CHECK(net->num_parameters() == published.at(p.name));
    CHECK_FALSE(p.file_names.empty());
    if (p.network_g["type"] == "EDSR") {
      // EDSR's res_scale is in no tensor: the file alone is refused, the preset is the way in.
      CHECK(p.file_names.front() == p.name + "-" + p.file_names.front().substr(p.name.size() + 1));
      CHECK(p.url == "https://github.com/XPixelGroup/BasicSR/blob/master/docs/ModelZoo.md");
      test::require_error([&] { network_from_tensors(net->state_dict(), p.name); }, {"BasicSR's EDSR", "res_scale"});
      continue;
    }
    // The architecture is also what the file's own shapes say (--weights without -n).
    CHECK(network_from_tensors(net->state_dict(), p.name) == p.network_g);
    CHECK(p.url.rfind("https://github.com/xinntao/Real-ESRGAN/releases/download/", 0) == 0);
    CHECK(p.url.substr(p.url.rfind('/') + 1) == p.file_names.front());
  }
  test::require_error(
      [] { find_model_preset("RealESRGAN_x4pls"); },
      {"unknown model name 'RealESRGAN_x4pls'", "did you mean 'RealESRGAN_x4plus'", "realesr-animevideov3"});
}

TEST_CASE("presets/weights_looked_up_in_model_dir_then_env_and_missing_file_named") {
  test::TempDir dir;
  const std::string a = dir.subdir("a"), b = dir.subdir("b"), c = dir.subdir("c");
  const ModelPreset& p = find_model_preset("RealESRGAN_x4plus");
  {
    ScopedEnv env("SRENGINE_MODELS", nullptr);
    const std::string msg = test::require_error([&] { locate_model_weights(p, model_search_dirs(a)); },
                                                {"RealESRGAN_x4plus.pth", a, "downloads nothing", p.url, "unset"});
    INFO(msg);
  }
  test::write_bytes(b + "/RealESRGAN_x4plus.pth", {1});
  test::write_bytes(c + "/RealESRGAN_x4plus.safetensors", {1});
  {
    ScopedEnv env("SRENGINE_MODELS", (a + ":" + b).c_str());
    CHECK(model_search_dirs(a) == std::vector<std::string>{a, b});  // no repeat
    CHECK(locate_model_weights(p, model_search_dirs(a)) == b + "/RealESRGAN_x4plus.pth");
    // --model-dir wins over the environment; .safetensors is accepted too.
    CHECK(locate_model_weights(p, model_search_dirs(c)) == c + "/RealESRGAN_x4plus.safetensors");
  }
  // The ESRGAN release's own file name.
  test::write_bytes(a + "/ESRGAN_SRx4_DF2KOST_official-ff704c30.pth", {1});
  CHECK(locate_model_weights(find_model_preset("ESRGAN_SRx4_DF2KOST"), {a}) ==
        a + "/ESRGAN_SRx4_DF2KOST_official-ff704c30.pth");
}

// Shapes give RRDBNet's scale (from the unshuffled input width), width, blocks and growth,
// and SRVGGNetCompact's convs and upscale; metadata wins over shapes; what cannot be told
// from the file is an error asking for a config.
TEST_CASE("weights/architecture_from_metadata_or_shapes") {
  manual_seed(3);
  for (int scale : {1, 2, 4}) {
    const nlohmann::json opt = {{"type", "RRDBNet"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"scale", scale},
                                {"num_feat", 8},     {"num_block", 3}, {"num_grow_ch", 4}};
    CHECK(network_from_tensors(build_network(opt)->state_dict(), "x") == opt);
  }
  for (int upscale : {2, 3, 4}) {  // MSRResNet: every option is in the shapes
    const nlohmann::json opt = {{"type", "MSRResNet"}, {"num_in_ch", 3}, {"num_out_ch", 3},
                                {"num_feat", 8},       {"num_block", 3}, {"upscale", upscale}};
    CHECK(network_from_tensors(build_network(opt)->state_dict(), "x") == opt);
  }
  for (int upscale : {2, 3, 4}) {  // PReLU: the slopes tell it apart from ReLU / LeakyReLU
    const nlohmann::json opt = {{"type", "SRVGGNetCompact"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 4},
                                {"num_conv", 2},             {"upscale", upscale}, {"act_type", "prelu"}};
    CHECK(network_from_tensors(build_network(opt)->state_dict(), "x") == opt);
  }
  test::require_error(
      [&] { network_from_tensors({{"body.0.weight", Tensor::zeros({4, 3, 3, 3})}, {"body.1.weight", Tensor::zeros({4})},
                                  {"body.2.weight", Tensor::zeros({75, 4, 3, 3})}}, "x5.pth"); },
      {"x5.pth", "75 channels", "not an x2, x3 or x4 net"});
  test::TempDir dir;
  const nlohmann::json relu = {{"type", "SRVGGNetCompact"}, {"num_in_ch", 3}, {"num_out_ch", 3}, {"num_feat", 4},
                               {"num_conv", 2},             {"upscale", 2},   {"act_type", "relu"}};
  const NamedTensors sd = build_network(relu)->state_dict();
  test::require_error([&] { network_from_tensors(sd, "relu.safetensors"); }, {"relu.safetensors", "--config"});
  write_safetensors(dir.file("plain.safetensors"), sd);
  write_safetensors(dir.file("tagged.safetensors"), sd, {{kNetworkMetadataKey, relu.dump()}});
  test::require_error([&] { detect_weights_architecture(dir.file("plain.safetensors")); }, {"--config"});
  const WeightsArchitecture arch = detect_weights_architecture(dir.file("tagged.safetensors"));
  CHECK(arch.network_g == relu);
  CHECK(arch.source == "file metadata");
  // A .pth from PyTorch (params_ema-wrapped RRDBNet x4, tools/make_pth_fixtures.py).
  const WeightsArchitecture pth =
      detect_weights_architecture(std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/pth/rrdbnet_x4.pth");
  CHECK(pth.source == "tensor shapes");
  CHECK(pth.network_g["type"] == "RRDBNet");
  CHECK(pth.network_g["scale"] == 4);
  test::require_error([&] { network_from_tensors({{"model.0.weight", Tensor::zeros({4, 3, 3, 3})}}, "old.pth"); },
                      {"old.pth", "model.N names", "original ESRGAN"});
}

// `srengine infer -n NAME --model-dir D` finds <NAME>.safetensors; without the file it names
// the file, the folder and the release address and stops before any image is read.
// `srengine convert` records the architecture, so `infer --weights` needs no config.
TEST_CASE("infer/cli_model_name_and_weights_without_config") {
  if (!fs::exists(test::srengine_exe())) {
    WARN("SKIPPED: " << test::srengine_exe() << " is not built");
    return;
  }
  test::TempDir dir;
  const std::string models = dir.subdir("models");
  const std::string in = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/infer/input.png";
  const data::ImageInfo in_info = data::read_image_info(in);
  const std::string base = "SRENGINE_MODELS= " + test::srengine_exe() + " infer -n realesr-animevideov3 --model-dir " + models +
                           " --input " + in;
  const int rc = std::system((base + " --output " + dir.file("o1") + " > " + dir.file("log1.txt") + " 2>&1").c_str());
  const std::string log1 = test::read_text(dir.file("log1.txt"));
  INFO(log1);
  CHECK(rc != 0);
  CHECK(log1.find("realesr-animevideov3.pth") != std::string::npos);
  CHECK(log1.find(models) != std::string::npos);
  CHECK(log1.find("releases/download/v0.2.5.0/realesr-animevideov3.pth") != std::string::npos);

  manual_seed(5);
  const ModelPreset& p = find_model_preset("realesr-animevideov3");
  std::unique_ptr<Module> net = build_network(p.network_g);
  write_safetensors(models + "/realesr-animevideov3.safetensors", net->state_dict());  // no metadata
  REQUIRE(std::system((base + " --output " + dir.file("o2") + " > " + dir.file("log2.txt") + " 2>&1").c_str()) == 0);
  const std::string log2 = test::read_text(dir.file("log2.txt"));
  INFO(log2);
  CHECK(log2.find("realesr-animevideov3") != std::string::npos);
  const data::ImageInfo out = data::read_image_info(dir.file("o2/input.png"));
  CHECK(out.width == 4 * in_info.width);
  CHECK(out.height == 4 * in_info.height);

  // BasicSR's EDSR-M x3 under its released name: the preset supplies res_scale and the mean,
  // which the file cannot; the missing file names BasicSR's model zoo.
  const std::string edsr = "SRENGINE_MODELS= " + test::srengine_exe() + " infer -n EDSR_Mx3_f64b16_DIV2K_official "
                           "--model-dir " + models + " --input " + in;
  CHECK(std::system((edsr + " --output " + dir.file("e1") + " > " + dir.file("elog1.txt") + " 2>&1").c_str()) != 0);
  CHECK_THAT(test::read_text(dir.file("elog1.txt")),
             Catch::Contains("EDSR_Mx3_f64b16_DIV2K_official-6908f88a.pth") && Catch::Contains("BasicSR"));
  std::unique_ptr<Module> e3 = build_network(find_model_preset("EDSR_Mx3_f64b16_DIV2K_official").network_g);
  write_safetensors(models + "/EDSR_Mx3_f64b16_DIV2K_official.safetensors", e3->state_dict());
  REQUIRE(std::system((edsr + " --output " + dir.file("e2") + " > " + dir.file("elog2.txt") + " 2>&1").c_str()) == 0);
  const data::ImageInfo e_out = data::read_image_info(dir.file("e2/input.png"));
  CHECK(e_out.width == 3 * in_info.width);
  CHECK(e_out.height == 3 * in_info.height);

  // convert records the architecture (recognised from the shapes of the .pth); infer then
  // takes the weights alone and gives the same image as with the config.
  const std::string fx = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/";
  REQUIRE(std::system((test::srengine_exe() + " convert " + fx + "pth/rrdbnet_tiny_infer.pth " + dir.file("tiny.safetensors") +
                       " > " + dir.file("log3.txt") + " 2>&1").c_str()) == 0);
  const SafetensorsFile conv = read_safetensors(dir.file("tiny.safetensors"));
  REQUIRE(conv.metadata.count(kNetworkMetadataKey));
  CHECK(nlohmann::json::parse(conv.metadata.at(kNetworkMetadataKey))["type"] == "RRDBNet");
  REQUIRE(std::system((test::srengine_exe() + " infer --weights " + dir.file("tiny.safetensors") + " --input " + in +
                       " --output " + dir.file("o3") + " > " + dir.file("log4.txt") + " 2>&1").c_str()) == 0);
  CHECK(test::read_text(dir.file("log4.txt")).find("architecture from file metadata") != std::string::npos);
  REQUIRE(std::system((test::srengine_exe() + " infer --config " + fx + "infer/config.json --weights " + fx +
                       "pth/rrdbnet_tiny_infer.pth --input " + in + " --output " + dir.file("o4") +
                       " > /dev/null 2>&1").c_str()) == 0);
  CHECK(data::read_file_bytes(dir.file("o3/input.png")) == data::read_file_bytes(dir.file("o4/input.png")));
  // -n and --config together is an error naming the flags; no model at all is Real-ESRGAN's
  // default, RealESRGAN_x4plus, whose file is looked up.
  const int rc5 = std::system((test::srengine_exe() + " infer -n RealESRGAN_x4plus --config " + fx + "infer/config.json --input " +
                               in + " --output " + dir.file("o5") + " > " + dir.file("log5.txt") + " 2>&1").c_str());
  CHECK(rc5 != 0);
  CHECK(test::read_text(dir.file("log5.txt")).find("not both") != std::string::npos);
  const int rc6 = std::system((test::srengine_exe() + " infer --input " + in + " --output " + dir.file("o6") + " > " +
                               dir.file("log6.txt") + " 2>&1").c_str());
  CHECK(rc6 != 0);
  CHECK(test::read_text(dir.file("log6.txt")).find("model RealESRGAN_x4plus: its weights file") != std::string::npos);
}
