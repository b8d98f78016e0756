// `srengine infer`: upscales an image or a folder of images with a released model (-n), or
// network_g of a config, or a weights file that carries its architecture, with BasicSR-named
// weights (infer/open_model.h), tiled and blended in bounded memory (infer/upscale_file.h). An
// unreadable image is reported by name and the rest are still done (exit 1 at the end);
// an output folder that cannot be written stops the command before any work.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <unordered_map>

#include "data/image_io.h"
#include "data/output_names.h"
#include "engine/autograd.h"
#include "engine/cuda_runtime.h"
#include "engine/error.h"
#include "infer/upscale_file.h"
#include "infer/open_model.h"
#include "infer/video.h"
#include "layers/precision.h"
#include "nets/model_presets.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/net_setup.h"
#include "tools/cli/progress_bar.h"

namespace sr::cli {

namespace fs = std::filesystem;

namespace {

const char* kUsage =
    "usage: srengine infer [-n MODEL_NAME | --weights W [--config CFG.json]] [-i IMG_OR_DIR] [-o DIR] [options]\n"
    "  Upscales an image or every image of a folder: <output>/<input stem>[_<suffix>].<ext>\n"
    "  (PNG, JPEG, WebP, TIFF, BMP; gray stays gray, alpha is kept). Real-ESRGAN's flags are accepted\n"
    "  (inference_realesrgan.py's spellings are listed after srengine's), as are its defaults: -n\n"
    "  RealESRGAN_x4plus, -i inputs, -o results; and --name=value or -s2 as well as --name value.\n"
    "model:\n"
    "  -n, --model-name NAME   a released model: %s.\n"
    "                          Its weights (e.g. RealESRGAN_x4plus.pth) are looked for in --model-dir,\n"
    "                          then in the folders of $SRENGINE_MODELS; nothing is downloaded\n"
    "  --model-dir D           where -n looks first (default weights)\n"
    "  --weights W             (--model_path) the weights file: safetensors or a PyTorch .pth (read\n"
    "                          without Python); with -n it replaces the lookup; alone, the architecture\n"
    "                          is the file's own record (srengine's safetensors) or read off its tensor\n"
    "                          shapes (RRDBNet, SRVGGNetCompact with PReLU, MSRResNet)\n"
    "  --config CFG            a config whose network_g is the architecture (with --weights)\n"
    "  --param-key K           auto (default: params_ema, else params, else bare keys), params_ema, params, bare\n"
    "  -dn, --denoise_strength D   realesr-general-x4v3 only: D x its weights + (1 - D) x those of\n"
    "                          realesr-general-wdn-x4v3 (default 0.5, as Real-ESRGAN; 1 uses one file)\n"
    "  --dni W1 W2 ALPHA       blend two weight files of one architecture: (1 - ALPHA) W1 + ALPHA W2\n"
    "input and output:\n"
    "  -i, --input P           an image, or a folder (its images, sorted; other files are named and skipped);\n"
    "                          default inputs\n"
    "  -o, --output DIR        output folder (created; default results)\n"
    "  -s, --outscale S        output scale, any number > 0: the net's scale, then a Lanczos-4 resize\n"
    "                          (cv2.INTER_LANCZOS4's definition, as Real-ESRGAN) to int(W S) x int(H S)\n"
    "  --suffix S              photo.png -> photo_S.png (default none: photo.png)\n"
    "  --ext E                 auto (the input's format; default), png, jpg, webp, tif, bmp; an image\n"
    "                          with alpha asked for as jpg is written as png. 16-bit input stays 16-bit\n"
    "                          in png and tif\n"
    "  --jpeg-quality Q        JPEG quality (default 95)\n"
    "  --webp-quality Q        WebP: 1..100 lossy, 101 lossless (default, as cv2 writes WebP)\n"
    "video (.mp4 .mkv .mov .avi .webm ...; needs the ffmpeg and ffprobe programs):\n"
    "                          frames are decoded by ffmpeg, upscaled, and encoded to <stem>[_<suffix>].mp4\n"
    "                          (H.264, yuv420p, sides cut to even; the audio is copied)\n"
    "  --crf N                 H.264 quality, 0..51 (default 18; lower is better)\n"
    "  --alpha A               the alpha channel by bicubic (default: MATLAB's), linear (cv2's bilinear), or\n"
    "                          through the net: net, or Real-ESRGAN's name for it, realesrgan.\n"
    "                          --alpha_upsampler A: Real-ESRGAN's flag, with its meanings: realesrgan, or\n"
    "                          bicubic, which is cv2's bilinear there (so linear here)\n"
    "tiling and device:\n"
    "  -t, --tile T            core tile side in input pixels; memory then follows T, not the image. 0 (the\n"
    "                          default) runs the whole image at once: memory grows with it (a 4000x3000 x4\n"
    "                          photo needs tens of GB), so use e.g. --tile 256 for large photos\n"
    "  --tile-pad P            (--tile_pad) least context any output pixel gets from its tile (default 10);\n"
    "                          tiles overlap and are blended over P pixels across each core boundary\n"
    "  --pre-pad P             (--pre_pad) reflect padding around the image, cropped off again (default 0)\n"
    "  --no-blend              paste tile cores instead of blending them (Real-ESRGAN's scheme)\n"
    "  -x, --tta               8-way flip/rotate ensemble: 8x the work, usually slightly better\n"
    "  --device D              cpu, cuda or cuda:N (default cuda when this build has CUDA and a GPU, else cpu),\n"
    "                          or simt: the CUDA kernels on the CPU interpreter (slow; for checking kernels)\n"
    "  -g, --gpu-id N          the same as --device cuda:N\n"
    "precision (the convolutions'; other ops, the images and the blending stay float32):\n"
    "  --precision P           default (float32 on the CPU; TF32 tensor cores on CUDA, as PyTorch's\n"
    "                          default), fp32, tf32, bf16 (the CPU's fast path where it has AVX512-BF16;\n"
    "                          bf16 tensor cores on CUDA) or fp16 (fp16 tensor cores on CUDA; on the\n"
    "                          CPU, operands rounded to fp16 and multiplied in float32: no faster)\n"
    "  --half                  (Real-ESRGAN's flag) the same as --precision fp16\n"
    "  --fp32                  (Real-ESRGAN's flag against its fp16 default) accepted: srengine's default\n"
    "                          is not fp16 (float32 on the CPU, TF32 on CUDA); refused beside --half\n";

// The inputs of --input: the file itself, or the images and videos of a folder, sorted.
// Hidden files (names starting with '.') are skipped, as datasets skip them, and counted in
// *hidden; every other entry that is skipped is named on stderr, so nothing is skipped
// silently. An image or video entry whose type cannot be read (a symlink loop, a link to
// nothing) is kept, so that it fails by name while the rest of the folder is done.
std::vector<std::string> list_inputs(const std::string& input, int* hidden) {
  std::error_code ec;
  const fs::file_status st = fs::status(input, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) fail("infer: --input '", input, "': ", ec.message());
  SR_CHECK(fs::exists(st), "infer: --input '", input, "' does not exist");
  std::vector<std::string> out;
  if (fs::is_directory(st)) {
    std::vector<std::pair<std::string, std::string>> skipped;
    for (const auto& e : fs::directory_iterator(input)) {
      const std::string name = e.path().filename().string();
      const bool media = data::is_image_file_name(name) || infer::is_video_file_name(name);
      if (!name.empty() && name[0] == '.' && media) {
        ++*hidden;
        continue;
      }
      std::error_code type_ec;
      const bool regular = e.is_regular_file(type_ec);
      if (media && (regular || type_ec)) out.push_back(e.path().string());
      else if (std::error_code dir_ec; e.is_directory(dir_ec))
        skipped.emplace_back(e.path().string(), "a folder (folders are not searched)");
      else if (!regular) skipped.emplace_back(e.path().string(), "not a regular file");
      else
        skipped.emplace_back(e.path().string(), "not an image or video extension (" + data::image_extensions_text() +
                                                    ", videos: .mp4 .mkv .mov .avi .webm ...)");
    }
    std::sort(out.begin(), out.end());
    std::sort(skipped.begin(), skipped.end());
    for (const auto& [p, why] : skipped)
      std::fprintf(stderr, "infer: skipping '%s': %s\n", p.c_str(), why.c_str());
    SR_CHECK(!out.empty(), "infer: no images (", data::image_extensions_text(), ") or videos in folder '", input, "'");
  } else {
    out.push_back(input);
  }
  return out;
}

double parse_double_arg(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  SR_CHECK(!v.empty() && *end == 0 && std::isfinite(x), "infer: ", flag, " expects a number, got '", v, "'");
  return x;
}

}  // namespace

int run_infer(const std::vector<std::string>& words) {
  // Real-ESRGAN's argparse also takes a value glued to its short options (-s2, -t256, -dn0.5).
  const std::vector<std::string> args = split_option_values(words, {"-dn", "-i", "-o", "-n", "-s", "-t", "-g"});
  std::string input, output, device, alpha = "bicubic";
  infer::ModelSpec spec;
  infer::FileOptions fo;
  // --precision and --half name one precision: the first one given, and any other must agree
  // with it. --fp32 (Real-ESRGAN's "not fp16") allows any precision but fp16.
  std::optional<Precision> precision;
  std::string precision_flag;
  bool not_fp16 = false;
  auto choose_precision = [&](Precision p, const std::string& flag) {
    SR_CHECK(!precision || *precision == p, "infer: ", flag, " (", precision_name(p), ") contradicts ",
             precision_flag, " (", precision_name(*precision), ")");
    precision = p;
    precision_flag = flag;
  };
  int crf = 18;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      SR_CHECK(i + 1 < args.size(), "infer: ", a, " needs a value (see srengine infer --help)");
      return args[++i];
    };
    auto is = [&](std::initializer_list<const char*> names) {
      for (const char* n : names)
        if (a == n) return true;
      return false;
    };
    if (parse_model_flag(a, value, spec)) continue;
    if (is({"-dn", "--denoise_strength", "--denoise-strength"})) {
      spec.denoise_strength = parse_double_arg(a, value());
      SR_CHECK(spec.denoise_strength >= 0 && spec.denoise_strength <= 1, "infer: ", a, " must be in [0, 1], got ",
               spec.denoise_strength);
    } else if (is({"--dni"})) {
      SR_CHECK(i + 3 < args.size(), "infer: --dni needs three values: W1 W2 ALPHA (see srengine infer --help)");
      spec.weights = args[++i];
      spec.dni_weights = args[++i];
      spec.dni_alpha = parse_double_arg("--dni ALPHA", args[++i]);
    } else if (is({"-i", "--input"})) input = value();
    else if (is({"-o", "--output"})) output = value();
    else if (is({"-s", "--outscale"})) {
      fo.outscale = parse_double_arg(a, value());
      SR_CHECK(fo.outscale > 0, "infer: ", a, " must be > 0, got ", fo.outscale);
    } else if (is({"-t", "--tile"})) fo.tile.tile = parse_int_arg("infer", "--tile", value());
    else if (is({"--tile-pad", "--tile_pad"})) fo.tile.tile_pad = parse_int_arg("infer", "--tile-pad", value());
    else if (is({"--pre-pad", "--pre_pad"})) fo.tile.pre_pad = parse_int_arg("infer", "--pre-pad", value());
    else if (is({"--suffix"})) fo.suffix = value();
    else if (is({"--ext"})) fo.ext = value();
    else if (is({"--alpha"})) alpha = value();
    else if (is({"--alpha_upsampler", "--alpha-upsampler"})) {
      // Real-ESRGAN's flag keeps Real-ESRGAN's meaning: its 'bicubic' is cv2's bilinear resize.
      alpha = value();
      if (alpha == "bicubic") alpha = "linear";
    }
    else if (is({"--device"})) device = value();
    else if (is({"-g", "--gpu-id", "--gpu_id"}))
      device = "cuda:" + std::to_string(parse_int_arg("infer", a, value(), 0));
    else if (is({"--jpeg-quality", "--jpeg_quality"})) fo.jpeg_quality = parse_int_arg("infer", a, value());
    else if (is({"--webp-quality", "--webp_quality"})) fo.webp_quality = parse_int_arg("infer", a, value());
    else if (is({"--crf"})) crf = parse_int_arg("infer", a, value(), 0, 51);
    else if (is({"-x", "--tta"})) fo.tta = true;
    else if (is({"--fp32"})) not_fp16 = true;
    else if (is({"--half"})) choose_precision(Precision::fp16, a);
    else if (is({"--precision"})) choose_precision(parse_precision(value(), "infer: --precision"), a);
    else if (is({"--no-blend"})) fo.tile.blend = false;
    else if (is({"--face_enhance", "--face-enhance"}))
      fail("infer: --face_enhance is not available: srengine has no face restoration network (GFPGAN); run it "
           "separately on srengine's output");
    else if (is({"--help", "-h"})) {
      std::string names;
      for (const auto& n : model_preset_names()) names += (names.empty() ? "" : ", ") + n;
      std::printf(kUsage, names.c_str());
      return 0;
    } else {
      fail("infer: unknown argument '", a, "' (see srengine infer --help)");
    }
  }
  // Real-ESRGAN's defaults, so its command lines run as they are.
  if (input.empty()) {
    input = "inputs";
    SR_CHECK(fs::exists(input), "infer: no -i/--input given, and its default 'inputs' (Real-ESRGAN's) does not "
             "exist here (see srengine infer --help)");
  }
  if (output.empty()) output = "results";
  if (spec.model_name.empty() && spec.weights.empty() && spec.config.empty()) spec.model_name = "RealESRGAN_x4plus";
  // As Real-ESRGAN, -dn is ignored by the models it does not apply to, but here it says so.
  if (spec.denoise_strength >= 0 && spec.model_name != "realesr-general-x4v3") {
    std::fprintf(stderr, "infer: warning: -dn applies only to -n realesr-general-x4v3; ignored for %s\n",
                 spec.model_name.empty() ? "this model" : spec.model_name.c_str());
    spec.denoise_strength = -1;
  }
  // Every option is checked before the net is built or any image read.
  if (fo.ext == "jpeg") fo.ext = "jpg";
  if (fo.ext == "tiff") fo.ext = "tif";
  SR_CHECK(fo.ext == "auto" || data::is_image_file_name("x." + fo.ext),
           "infer: --ext must be auto, png, jpg, webp, tif or bmp, got '", fo.ext, "'");
  SR_CHECK(fo.webp_quality >= 1 && fo.webp_quality <= 101, "infer: --webp-quality must be 1..100, or 101 for "
           "lossless, got ", fo.webp_quality);
  SR_CHECK(fo.jpeg_quality >= 1 && fo.jpeg_quality <= 100, "infer: --jpeg-quality must be 1..100, got ",
           fo.jpeg_quality);
  infer::check_tile_options(fo.tile);
  // Legal but rarely meant: say what they cost.
  if (fo.tile.tile > 0 && fo.tile.tile < 32) {
    // What a tile runs beside its core: tile_pad of context, plus half of it to blend over.
    const int context = fo.tile.tile_pad + (fo.tile.blend ? (fo.tile.tile_pad + 1) / 2 : 0);
    const double work = std::pow((fo.tile.tile + 2.0 * context) / fo.tile.tile, 2);
    std::fprintf(stderr, "infer: warning: --tile %d is small: each tile also runs %d pixels of context on each side, "
                 "up to %.1fx the pixels of an untiled run (and one net call per %dx%d core); 128..512 is usual\n",
                 fo.tile.tile, context, work, fo.tile.tile, fo.tile.tile);
  }
  if (fo.tile.pre_pad > 64)
    std::fprintf(stderr, "infer: warning: --pre-pad %d: the net runs on the padded image, so work and memory grow "
                 "with (side + 2 x pre-pad)^2; a few pixels (e.g. 10) give the border enough context\n",
                 fo.tile.pre_pad);
  fo.alpha = infer::parse_alpha_mode(alpha == "realesrgan" ? "net" : alpha);
  // Real-ESRGAN's default: the GPU when there is one.
  if (device.empty()) device = default_infer_device();
  fo.device = resolve_infer_device(device);
  SR_CHECK(!(not_fp16 && precision == Precision::fp16), "infer: --fp32 contradicts ", precision_flag, " (fp16)");
  if (precision) check_precision_supported(*precision, fo.device, "native", "infer: " + precision_flag);
  if (!spec.model_name.empty()) find_model_preset(spec.model_name);  // a typo fails before any file work
  data::check_name_part(fo.suffix, "infer: --suffix");
  int hidden = 0;
  const std::vector<std::string> inputs = list_inputs(input, &hidden);
  if (hidden)
    std::printf("infer: skipped %d hidden image file(s) in '%s' (names starting with '.', as datasets skip them; "
                "give one as --input to process it)\n", hidden, input.c_str());
  // A video needs ffmpeg: given alone, its absence stops the command before any work; in a
  // folder, each video fails by name (below) and the images are still done.
  const bool folder = fs::is_directory(input);
  std::vector<std::string> videos;
  for (const auto& in : inputs)
    if (infer::is_video_file_name(in)) videos.push_back(in);
  if (!videos.empty() && !folder) infer::check_ffmpeg_available(videos.front());
  if (!videos.empty() && folder) {
    try {
      infer::check_ffmpeg_available(videos.front());
    } catch (const Error& e) {
      std::fprintf(stderr, "infer: warning: %zu video(s) in the folder will fail: %s\n", videos.size(), e.what());
    }
  }
  // The options one input is written with: videos become .mp4; as Real-ESRGAN, an image with
  // alpha asked for as a format without alpha (JPEG) is written as PNG. An unreadable header
  // changes nothing here: that image fails by name in the loop below.
  const auto options_for = [&](const std::string& in) {
    infer::FileOptions o = fo;
    if (infer::is_video_file_name(in)) {
      o.ext = "mp4";
    } else if (fo.ext == "auto" && !data::is_image_file_name(in)) {
      // A file given by name whose extension is no format srengine writes (x.jfif, no
      // extension): its output format must be named, before any work.
      fail("infer: '", in, "' has no image extension srengine writes (",
           fs::path(in).extension().empty() ? "none" : fs::path(in).extension().string(),
           ") to keep with --ext auto: give --ext png (or jpg, webp, tif, bmp)");
    } else if (fo.ext != "auto" && !data::stores_alpha("x." + fo.ext)) {
      try {
        if (data::read_image_info(in).channels % 2 == 0) o.ext = "png";
      } catch (const std::exception&) {
      }
    }
    return o;
  };
  // Once per input: the plan below and the loop read the same options (one header read each).
  std::unordered_map<std::string, infer::FileOptions> file_options;
  for (const std::string& in : inputs) file_options.emplace(in, options_for(in));
  if (!fs::exists(output) && (data::is_image_file_name(output) || infer::is_video_file_name(output)))
    std::fprintf(stderr, "infer: note: -o '%s' is a folder (created now); the outputs are written inside it\n",
                 output.c_str());
  ensure_writable_dir(output, "infer: --output");
  // Every output name is fixed (and checked) before the net is built: none leaves --output,
  // no two inputs share one, none replaces an input.
  const std::vector<data::PlannedOutput> plan = data::plan_outputs(
      inputs, output, [&](const std::string& in) { return infer::output_name(in, file_options.at(in)); }, "infer");

  infer::OpenedModel model = open_cli_model(spec);
  const int net_channels = infer::upscaling_channels(model, "infer");
  std::unique_ptr<Module>& net = model.net;
  net->to(fo.device);
  if (precision) set_precision(*net, *precision);
  const std::string name = spec.model_name.empty() ? "" : " " + spec.model_name;
  const int scale = infer::net_scale(*net);
  const std::string precision_note =
      precision && *precision != Precision::device_default ? std::string(", ") + precision_name(*precision) : "";
  std::printf("infer: %s%s x%d from '%s'%s (architecture from %s) on %s%s, tile %d (pad %d, pre-pad %d)%s\n",
              net->type_name().c_str(), name.c_str(), scale, model.weights.c_str(),
              model.param_key.empty() ? "" : (" [" + model.param_key + "]").c_str(), model.architecture_from.c_str(),
              fo.device.str().c_str(), precision_note.c_str(), fo.tile.tile, fo.tile.tile_pad, fo.tile.pre_pad,
              fo.tta ? ", 8-way TTA" : "");
  // A net trained on Y (num_in_ch = num_out_ch = 1) upscales the Y of every image's YCbCr.
  fo.net_channels = net_channels;
  for (auto& [in, o] : file_options) o.net_channels = net_channels;
  if (net_channels == 1)
    std::printf("infer: network takes one channel: Y by the network, Cb and Cr by bicubic (BT.601 YCbCr, "
                "MATLAB's rgb2ycbcr / ycbcr2rgb)\n");
  if (fo.outscale > 0 && fo.outscale != scale)
    std::printf("infer: output scale %g: the net's x%d, then a Lanczos-4 resize\n", fo.outscale, scale);
  if (fo.tile.tile > 0 && !net->why_tiles_differ().empty())
    std::fprintf(stderr, "infer: note: %s %s, so the result of %d-pixel tiles differs from the whole image's; a "
                 "larger --tile (or 0, whole images) is closer\n", net->type_name().c_str(),
                 net->why_tiles_differ().c_str(), fo.tile.tile);

  NoGradGuard no_grad;
  ProgressBar bar("infer", (long)inputs.size());
  int failed = 0;
  double in_mpix = 0, out_mpix = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t k = 0; k < plan.size(); ++k) {
    const fs::path in = plan[k].input;
    try {
      const std::string& out = plan[k].output;
      const infer::FileOptions& file_fo = file_options.at(plan[k].input);
      if (infer::is_video_file_name(in.string())) {
        infer::check_ffmpeg_available(in.string());
        const auto t1 = std::chrono::steady_clock::now();
        const infer::VideoResult v = infer::upscale_video(*net, in.string(), out, file_fo, crf, [&](int frames) {
          if (frames % 10 == 0) std::fprintf(stderr, "\r  %s: %d frames", in.filename().c_str(), frames);
        });
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
        std::fprintf(stderr, "\r");
        in_mpix += (double)v.in_width * v.in_height * v.frames / 1e6;
        out_mpix += (double)v.out_width * v.out_height * v.frames / 1e6;
        std::printf("  %s (%dx%d, %d frames) -> %s (%dx%d) %.2f s, %.2f frames/s\n", in.filename().c_str(),
                    v.in_width, v.in_height, v.frames, out.c_str(), v.out_width, v.out_height, s, v.frames / s);
        if (folder) bar.update((long)k + 1, failed ? std::to_string(failed) + " failed" : "");
        continue;
      }
      if (file_fo.ext != fo.ext)
        std::fprintf(stderr, "infer: %s has alpha, which %s cannot store: writing PNG\n", in.string().c_str(),
                     fo.ext.c_str());
      const auto t1 = std::chrono::steady_clock::now();
      const infer::FileResult r = infer::upscale_file(*net, in.string(), out, file_fo);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
      in_mpix += (double)r.in_width * r.in_height / 1e6;
      out_mpix += (double)r.out_width * r.out_height / 1e6;
      if (!folder) std::printf("  %s (%dx%d) -> %s (%dx%d) %.2f s\n", in.filename().c_str(), r.in_width,
                               r.in_height, out.c_str(), r.out_width, r.out_height, s);
    } catch (const std::exception& e) {
      ++failed;
      // The library's messages mostly start with the file already; it is said once.
      const std::string what = e.what(), path = in.string();
      std::fprintf(stderr, "%sinfer: FAILED %s%s\n", folder ? "\n" : "",
                   what.rfind(path, 0) == 0 || what.rfind("'" + path + "'", 0) == 0 ? "" : (path + ": ").c_str(),
                   what.c_str());
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
