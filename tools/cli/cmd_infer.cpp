// `srengine infer`: upscales an image or a folder of images with network_g of a config and
// BasicSR-named weights, writing PNGs with the input's file names. A minimal whole-image
// version on the CPU (tiled inference is a separate command). Alpha is dropped; gray
// inputs are replicated to RGB; 16-bit inputs give 16-bit outputs.
#include <chrono>
#include <cstdio>
#include <algorithm>
#include <filesystem>

#include "data/image.h"
#include "data/image_io.h"
#include "engine/autograd.h"
#include "engine/error.h"
#include "nets/factory.h"
#include "nets/load_weights.h"
#include "tools/cli/commands.h"
#include "train/config.h"

namespace sr::cli {

namespace fs = std::filesystem;

namespace {

const char* kUsage =
    "usage: srengine infer --config CFG.json --weights W.safetensors --input IMG_OR_DIR --output DIR\n"
    "                      [--param-key auto|params_ema|params|bare]\n"
    "  Builds network_g from the config, loads the weights (BasicSR names; params_ema-/params-prefixed\n"
    "  keys understood, params_ema preferred), and writes <output>/<input stem>.png for every image.\n";

std::vector<fs::path> list_inputs(const std::string& input) {
  SR_CHECK(fs::exists(input), "infer: input '", input, "' does not exist");
  std::vector<fs::path> out;
  if (fs::is_directory(input)) {
    for (const auto& e : fs::directory_iterator(input))
      if (e.is_regular_file() && data::is_image_file_name(e.path().string())) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    SR_CHECK(!out.empty(), "infer: no .png/.jpg/.jpeg images in folder '", input, "'");
  } else {
    out.push_back(input);
  }
  return out;
}

}  // namespace

int run_infer(const std::vector<std::string>& args) {
  std::string config, weights, input, output, param_key = "auto";
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&](const char* flag) -> std::string {
      SR_CHECK(i + 1 < args.size(), "infer: ", flag, " needs a value (see srengine infer --help)");
      return args[++i];
    };
    if (args[i] == "--config") config = value("--config");
    else if (args[i] == "--weights") weights = value("--weights");
    else if (args[i] == "--input") input = value("--input");
    else if (args[i] == "--output") output = value("--output");
    else if (args[i] == "--param-key") param_key = value("--param-key");
    else if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      fail("infer: unknown argument '", args[i], "' (see srengine infer --help)");
    }
  }
  SR_CHECK(!config.empty() && !weights.empty() && !input.empty() && !output.empty(),
           "infer: --config, --weights, --input and --output are all required (see srengine infer --help)");
  if (param_key == "bare") param_key = "";

  nlohmann::json cfg = train::read_config_file(config);
  SR_CHECK(cfg.contains("network_g"), "infer: config '", config, "' has no network_g section");
  nlohmann::json opt = cfg["network_g"];
  // BasicSR configs carry the scale at the top level; RRDBNet needs it as an argument.
  if (opt.value("type", "") == "RRDBNet" && !opt.contains("scale") && cfg.contains("scale")) opt["scale"] = cfg["scale"];
  std::unique_ptr<Module> net = build_network(opt);
  const std::string used = load_basicsr_weights(*net, weights, param_key, true);
  net->eval();
  std::printf("infer: %s from '%s'%s\n", net->type_name().c_str(), weights.c_str(),
              used.empty() ? "" : (" [" + used + "]").c_str());

  const std::vector<fs::path> inputs = list_inputs(input);
  fs::create_directories(output);
  NoGradGuard no_grad;
  for (const fs::path& in : inputs) {
    const fs::path out = fs::path(output) / (in.stem().string() + ".png");
    SR_CHECK(!fs::exists(out) || !fs::equivalent(in, out), "infer: output '", out.string(),
             "' would overwrite its input; choose another --output folder");
    const auto t0 = std::chrono::steady_clock::now();
    const data::Image img = data::read_image(in.string());
    Tensor y = net->forward(data::image_to_tensor(img));
    data::write_image(out.string(), data::tensor_to_image(y, Tensor(), img.bit_depth));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("  %s (%dx%d) -> %s (%lldx%lld) %.2f s\n", in.filename().c_str(), img.width, img.height,
                out.c_str(), (long long)y.size(3), (long long)y.size(2), s);
  }
  return 0;
}

}  // namespace sr::cli
