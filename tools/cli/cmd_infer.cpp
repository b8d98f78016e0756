// `srengine infer`: upscales an image or a folder of images with network_g of a config and
// BasicSR-named weights, tiled and blended in bounded memory (infer/upscale_file.h). An
// unreadable image is reported by name and the rest are still done (exit 1 at the end);
// an output folder that cannot be written stops the command before any work.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "data/image_io.h"
#include "engine/autograd.h"
#include "engine/cuda_runtime.h"
#include "engine/error.h"
#include "infer/upscale_file.h"
#include "nets/factory.h"
#include "nets/load_weights.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/net_setup.h"
#include "tools/cli/progress_bar.h"

namespace sr::cli {

namespace fs = std::filesystem;

namespace {

const char* kUsage =
    "usage: srengine infer --config CFG.json --weights W.safetensors|W.pth --input IMG_OR_DIR --output DIR\n"
    "                      [--tile T] [--tile-pad P] [--pre-pad P] [--suffix S] [--ext png|jpg|auto]\n"
    "                      [--alpha bicubic|net] [--device cpu|cuda|cuda:N|simt] [--half]\n"
    "                      [--param-key auto|params_ema|params|bare] [--jpeg-quality Q] [--no-blend]\n"
    "  Builds network_g from the config, loads the weights (BasicSR names; params_ema preferred;\n"
    "  safetensors or a PyTorch torch.save .pth, read without Python),\n"
    "  and writes <output>/<input stem><suffix>.<ext> for every image (PNG 8/16-bit, JPEG, gray, RGBA).\n"
    "  --tile T       core tile side in input pixels; memory then follows T, not the image. 0 (the\n"
    "                 default) runs the whole image at once: memory grows with it (a 4000x3000 x4 photo\n"
    "                 needs tens of GB), so use e.g. --tile 256 for large photos\n"
    "  --tile-pad P   least context any output pixel gets from its tile (default 10); tiles overlap\n"
    "                 and are blended over P pixels across each core boundary\n"
    "  --pre-pad P    reflect padding around the image, cropped off again (default 0)\n"
    "  --suffix S     appended to output names (default none)\n"
    "  --ext E        png, jpg, or auto: the input's format (default auto)\n"
    "  --alpha A      alpha channel by MATLAB bicubic (default) or through the net\n"
    "  --device D     cpu (default), cuda, cuda:N or simt (the CUDA kernels on the CPU interpreter)\n"
    "  --no-blend     paste tile cores instead of blending them (Real-ESRGAN's scheme; for comparison)\n"
    "  --half         float16 inference: not available (srengine has no float16 kernels)\n";

std::vector<fs::path> list_inputs(const std::string& input) {
  SR_CHECK(fs::exists(input), "infer: --input '", input, "' does not exist");
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
  std::string config, weights, input, output, param_key = "auto", device = "cpu", alpha = "bicubic";
  infer::FileOptions fo;
  bool half = false;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&](const char* flag) -> std::string {
      SR_CHECK(i + 1 < args.size(), "infer: ", flag, " needs a value (see srengine infer --help)");
      return args[++i];
    };
    const std::string& a = args[i];
    if (a == "--config") config = value("--config");
    else if (a == "--weights") weights = value("--weights");
    else if (a == "--input") input = value("--input");
    else if (a == "--output") output = value("--output");
    else if (a == "--param-key") param_key = value("--param-key");
    else if (a == "--tile") fo.tile.tile = parse_int_arg("infer", a, value("--tile"));
    else if (a == "--tile-pad") fo.tile.tile_pad = parse_int_arg("infer", a, value("--tile-pad"));
    else if (a == "--pre-pad") fo.tile.pre_pad = parse_int_arg("infer", a, value("--pre-pad"));
    else if (a == "--suffix") fo.suffix = value("--suffix");
    else if (a == "--ext") fo.ext = value("--ext");
    else if (a == "--alpha") alpha = value("--alpha");
    else if (a == "--device") device = value("--device");
    else if (a == "--jpeg-quality") fo.jpeg_quality = parse_int_arg("infer", a, value("--jpeg-quality"));
    else if (a == "--half") half = true;
    else if (a == "--no-blend") fo.tile.blend = false;
    else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      fail("infer: unknown argument '", a, "' (see srengine infer --help)");
    }
  }
  SR_CHECK(!config.empty() && !weights.empty() && !input.empty() && !output.empty(),
           "infer: --config, --weights, --input and --output are all required (see srengine infer --help)");
  // Every option is checked before the net is built or any image read.
  SR_CHECK(fo.ext == "png" || fo.ext == "jpg" || fo.ext == "auto", "infer: --ext must be png, jpg or auto, got '",
           fo.ext, "'");
  SR_CHECK(fo.jpeg_quality >= 1 && fo.jpeg_quality <= 100, "infer: --jpeg-quality must be 1..100, got ",
           fo.jpeg_quality);
  infer::check_tile_options(fo.tile);
  fo.alpha = infer::parse_alpha_mode(alpha);
  fo.device = resolve_infer_device(device);
  SR_CHECK(!half, "infer: --half is not available: srengine has no float16 kernels on the CPU or on CUDA "
                  "(DType f16 is reserved); run without --half (float32)");
  const std::vector<fs::path> inputs = list_inputs(input);
  ensure_writable_dir(output, "infer: --output");

  std::unique_ptr<Module> net = build_generator(config);
  const std::string used = load_basicsr_weights(*net, weights, param_key == "bare" ? "" : param_key, true);
  net->to(fo.device);
  net->eval();
  std::printf("infer: %s x%d from '%s'%s on %s, tile %d (pad %d, pre-pad %d)\n", net->type_name().c_str(),
              infer::net_scale(*net), weights.c_str(), used.empty() ? "" : (" [" + used + "]").c_str(),
              fo.device.str().c_str(), fo.tile.tile, fo.tile.tile_pad, fo.tile.pre_pad);

  NoGradGuard no_grad;
  const bool folder = fs::is_directory(input);
  ProgressBar bar("infer", (long)inputs.size());
  int failed = 0;
  double in_mpix = 0, out_mpix = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t k = 0; k < inputs.size(); ++k) {
    const fs::path& in = inputs[k];
    try {
      const std::string out = infer::output_path(in.string(), output, fo);
      SR_CHECK(!fs::exists(out) || !fs::equivalent(in, out), "output '", out,
               "' would overwrite its input; choose another --output folder or a --suffix");
      const auto t1 = std::chrono::steady_clock::now();
      const infer::FileResult r = infer::upscale_file(*net, in.string(), out, fo);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
      in_mpix += (double)r.in_width * r.in_height / 1e6;
      out_mpix += (double)r.out_width * r.out_height / 1e6;
      if (!folder) std::printf("  %s (%dx%d) -> %s (%dx%d) %.2f s\n", in.filename().c_str(), r.in_width,
                               r.in_height, out.c_str(), r.out_width, r.out_height, s);
    } catch (const std::exception& e) {
      ++failed;
      std::fprintf(stderr, "%sinfer: FAILED %s: %s\n", folder ? "\n" : "", in.string().c_str(), e.what());
    }
    if (folder) bar.update((long)k + 1, failed ? std::to_string(failed) + " failed" : "");
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const size_t done = inputs.size() - failed;
  std::printf("infer: %zu image(s) in %.2f s: %.3f images/s, %.3f output megapixels/s (%.3f input MP/s)\n", done,
              secs, done / secs, out_mpix / secs, in_mpix / secs);
  if (failed) {
    std::fprintf(stderr, "infer: %d of %zu image(s) failed (named above)\n", failed, inputs.size());
    return 1;
  }
  return 0;
}

}  // namespace sr::cli
