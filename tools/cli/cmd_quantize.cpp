// `srengine quantize`: post-training static int8 quantisation of a generator to a QDQ ONNX
// model. Calibrates every conv input's range on a folder of images (quant/ptq.h), writes the
// QDQ graph (deploy/onnx_export.h), and reports PSNR/SSIM of the int8 model against the fp32
// model (and against ground truth when given) on a validation folder, the int8 model computed
// by srengine's fake-quant forward, which ONNX Runtime matches (tests/test_quantize.cpp).
#include <cstdio>
#include <string>
#include <filesystem>

#include "data/dataset.h"
#include "data/image.h"
#include "data/image_io.h"
#include "data/metrics.h"
#include "deploy/onnx_export.h"
#include "engine/autograd.h"
#include "engine/error.h"
#include "infer/open_model.h"
#include "nets/ecbsr_deploy.h"
#include "quant/ptq.h"
#include "tools/cli/args.h"
#include "tools/cli/net_setup.h"
#include "tools/cli/commands.h"

namespace sr::cli {

namespace {

namespace fs = std::filesystem;

const char* kUsage =
    "usage: srengine quantize (--config CFG --weights W | -n MODEL_NAME | --weights W) --calib DIR\n"
    "                         --output MODEL_INT8.onnx [--method minmax|percentile|entropy]\n"
    "                         [--percentile P] [--per-channel | --per-tensor] [--val DIR [--val-gt DIR]]\n"
    "                         [--symmetric] [--crop N]\n"
    "  Post-training int8 quantisation to a QDQ ONNX model (docs/EXPORT.md, \"int8\"): the input of\n"
    "  every Conv int8 per tensor (calibrated on the images of --calib), its weights int8 per output\n"
    "  channel, its bias int32. Then PSNR/SSIM of the int8 model against the fp32 model on --val.\n"
    "  An ECBSR is first folded into the SRVGGNetCompact it equals (each block one 3x3 conv); that\n"
    "  net is calibrated, written and measured.\n"
    "model (as srengine infer):\n"
    "  --config CFG            a config whose network_g is the architecture (with --weights)\n"
    "  --weights W             safetensors or PyTorch .pth weights\n"
    "  -n, --model-name NAME   a released model, found in --model-dir\n"
    "  --model-dir D           where -n looks first (default weights)\n"
    "  --param-key K           auto (default), params_ema, params or bare\n"
    "quantisation:\n"
    "  --calib DIR             calibration images (LQ inputs, as the model will see them)\n"
    "  --method M              activation ranges: minmax, percentile (default) or entropy (KL)\n"
    "  --percentile P          the percentile of |x| kept by --method percentile (default 99.99)\n"
    "  --per-channel           weights: one scale per output channel (the default)\n"
    "  --per-tensor            weights: one scale per tensor\n"
    "  --symmetric             activations with zero point 0 (TensorRT accepts no other)\n"
    "  --crop N                each image's centre crop of at most N pixels a side (default 128)\n"
    "  -o, --output P          the .onnx file (written to a temporary file, then renamed)\n"
    "report:\n"
    "  --val DIR               validation inputs (default: the calibration folder)\n"
    "  --val-gt DIR            their ground truth, same file names, scale times larger (optional)\n";

struct Scores {
  double psnr = 0, ssim = 0;
};

Scores scores(const Tensor& a, const Tensor& b) {
  return {data::calculate_psnr(a, b), data::calculate_ssim(a, b)};
}

}  // namespace

int run_quantize(const std::vector<std::string>& args) {
  infer::ModelSpec spec;
  quant::CalibrationOptions calib_opts;
  std::string output, calib_dir, val_dir, val_gt_dir;
  int64_t crop = 128;
  std::string granularity;  // --per-channel or --per-tensor, when one was given: both contradict
  auto set_granularity = [&](const std::string& flag, bool per_channel) {
    SR_CHECK(granularity.empty() || granularity == flag, "quantize: ", granularity, " and ", flag,
             " contradict each other: give one (weights: one scale per output channel, or one per tensor)");
    granularity = flag;
    calib_opts.per_channel = per_channel;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      SR_CHECK(i + 1 < args.size(), "quantize: ", a, " needs a value (see srengine quantize --help)");
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (parse_model_flag(a, value, spec)) {
    } else if (a == "-o" || a == "--output") {
      output = value();
    } else if (a == "--calib") {
      calib_dir = value();
    } else if (a == "--method") {
      calib_opts.method = quant::parse_calib_method(value());
    } else if (a == "--percentile") {
      const std::string v = value();
      size_t used = 0;
      try {
        calib_opts.percentile = std::stod(v, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      SR_CHECK(used > 0 && used == v.size(), "quantize: --percentile '", v, "' is not a number");
      SR_CHECK(calib_opts.percentile > 0 && calib_opts.percentile <= 100, "quantize: --percentile ",
               calib_opts.percentile, ": must be in (0, 100]");
    } else if (a == "--per-channel" || a == "--per-tensor") {
      set_granularity(a, a == "--per-channel");
    } else if (a == "--symmetric") {
      calib_opts.symmetric = true;
    } else if (a == "--crop") {
      crop = parse_int_arg("quantize", a, value());
      SR_CHECK(crop >= 8, "quantize: --crop ", crop, ": at least 8 pixels");
    } else if (a == "--val") {
      val_dir = value();
    } else if (a == "--val-gt") {
      val_gt_dir = value();
    } else {
      fail("quantize: unknown argument '", a, "' (see srengine quantize --help)");
    }
  }
  SR_CHECK(!output.empty(), "quantize: --output MODEL_INT8.onnx is required (see srengine quantize --help)");
  SR_CHECK(!calib_dir.empty(), "quantize: --calib DIR (calibration images) is required");
  SR_CHECK(val_gt_dir.empty() || !val_dir.empty(), "quantize: --val-gt needs --val (the inputs it is the truth of)");
  deploy::check_onnx_output_path(output);
  SR_CHECK(deploy::onnx_export_built(), "quantize: this srengine was built without ONNX export (CMake found no "
                                        "libonnx-dev / libprotobuf-dev); install them (tools/setup.sh) and rebuild");
  if (val_dir.empty()) val_dir = calib_dir;
  // The folders are checked before the weights are read.
  std::error_code ec;
  for (const auto& [what, dir] : {std::pair{"calibration folder", calib_dir}, std::pair{"--val folder", val_dir},
                                  std::pair{"--val-gt folder", val_gt_dir}}) {
    if (dir.empty()) continue;
    SR_CHECK(fs::exists(dir, ec), "quantize: ", what, " '", dir, "' does not exist");
    SR_CHECK(fs::is_directory(dir, ec), "quantize: ", what, " '", dir, "' is not a folder");
    if (dir != val_gt_dir) {
      try {
        data::list_image_files(dir);  // an error when it holds no images
      } catch (const std::exception& e) {
        fail("quantize: ", what, " '", dir, "': ", e.what());
      }
    }
  }

  // Opened as export opens it (a BasicSR option file as --config, the param_key note).
  const infer::OpenedModel model = open_cli_model(spec);
  for (const char* key : {"num_in_ch", "num_out_ch"}) {
    const int channels = model.network_g.value(key, 3);
    SR_CHECK(channels == 3, "quantize: network_g has ", key, " ", channels, ": quantize calibrates and measures RGB "
             "networks (3 channels in and out); `srengine export` writes this one in fp32 or fp16");
  }
  // ECBSR deploys as the SRVGGNetCompact it folds to (nets/ecbsr_deploy.h): the int8 convs are
  // the folded 3x3 convs, so that net is the one calibrated, exported and measured (fp32 in the
  // report is its forward, equal to the ECBSR's to float32 rounding).
  std::unique_ptr<SRVGGNetCompact> folded;
  if (const auto* ecbsr = dynamic_cast<const ECBSR*>(model.net.get())) {
    try {
      folded = ecbsr_to_srvgg(*ecbsr);
    } catch (const std::exception& e) {
      fail("quantize: ", e.what());
    }
    std::printf("folded ECBSR x%d (%zu ECBs: num_block %zu and the first and last) into SRVGGNetCompact: %zu 3x3 "
                "convs, act %s\n", ecbsr->scale, ecbsr->blocks.size(), ecbsr->blocks.size() - 2, ecbsr->blocks.size(),
                ecbsr->blocks.front()->act_type.c_str());
  }
  Module& net = folded ? *folded : *model.net;
  const quant::NetworkShape shape = quant::network_shape(net);
  const std::vector<quant::ImageCrop> calib =
      quant::load_image_crops(calib_dir, "quantize: calibration folder", crop, shape.divisor);
  const std::vector<quant::ImageCrop> val =
      val_dir == calib_dir ? calib : quant::load_image_crops(val_dir, "quantize: --val folder", crop, shape.divisor);
  // The report's inputs are checked before the calibration runs and the model is written:
  // every output measurable by SSIM, every ground truth present and of the right size.
  std::vector<Tensor> truths;
  for (const auto& v : val) {
    const int64_t oh = v.lq.size(2) * shape.scale, ow = v.lq.size(3) * shape.scale;
    SR_CHECK(oh >= 11 && ow >= 11, "quantize: '", (fs::path(val_dir) / v.name).string(), "' gives a ", ow, "x", oh,
             " output (its ", v.lq.size(3), "x", v.lq.size(2), " crop at x", shape.scale,
             "), under the 11x11 that SSIM needs: give a larger --crop, or a --val folder without it");
    if (val_gt_dir.empty()) continue;
    const std::string gt_path = (fs::path(val_gt_dir) / v.name).string();
    SR_CHECK(fs::exists(gt_path, ec), "quantize: --val-gt: no '", gt_path, "' for the input ", v.name);
    truths.push_back(quant::crop_ground_truth(data::image_to_tensor(data::read_image(gt_path)), v, shape.scale,
                                              gt_path));
  }
  std::vector<Tensor> inputs;
  for (const auto& c : calib) inputs.push_back(c.lq);
  const quant::QuantTable table = quant::calibrate(net, inputs, calib_opts);
  std::printf("calibrated %zu conv inputs on %zu images of %s (centre crops of at most %lld px), method %s",
              table.inputs.size(), calib.size(), calib_dir.c_str(), (long long)crop,
              quant::calib_method_name(calib_opts.method));
  if (calib_opts.method == quant::CalibMethod::percentile) std::printf(" %g", calib_opts.percentile);
  std::printf(", %s activations, weights per %s\n", calib_opts.symmetric ? "symmetric" : "asymmetric",
              calib_opts.per_channel ? "output channel" : "tensor");
  if (!table.constant_inputs.empty())
    std::fprintf(stderr, "quantize: warning: %zu conv input(s) held a single value on every calibration image (first: "
                 "'%s'), so their int8 scale is a placeholder: calibrate on varied photos\n",
                 table.constant_inputs.size(), table.constant_inputs.front().c_str());

  deploy::OnnxExportOptions export_opts;
  export_opts.int8 = &table;
  const deploy::OnnxExportSummary s = deploy::export_onnx(net, export_opts, output);
  std::printf("wrote %s: %s, int8 QDQ, opset %d, %lld nodes, %lld initializers, %lld bytes\n", output.c_str(),
              s.network.c_str(), export_opts.opset, (long long)s.nodes, (long long)s.initializers,
              (long long)s.bytes);

  // The report: the int8 model (fake-quant forward) against the fp32 model, and both against GT.
  quant::FakeQuantForward int8_forward(net, table);
  const bool gt = !val_gt_dir.empty();
  std::printf("validation on %s (%zu images, the same crops)%s\n", val_dir.c_str(), val.size(),
              gt ? (", ground truth " + val_gt_dir).c_str() : "");
  std::printf("  %-32s %16s %14s%s\n", "image", "int8/fp32 PSNR", "SSIM",
              gt ? "   fp32/GT PSNR   SSIM   int8/GT PSNR   SSIM" : "");
  Scores mean_q, mean_f, mean_i;
  for (size_t k = 0; k < val.size(); ++k) {
    const quant::ImageCrop& v = val[k];
    Tensor fp32;
    {
      NoGradGuard no_grad;
      fp32 = net.forward(v.lq);
    }
    const Tensor int8 = int8_forward(v.lq);
    const Scores q = scores(int8, fp32);
    mean_q.psnr += q.psnr / double(val.size());
    mean_q.ssim += q.ssim / double(val.size());
    std::printf("  %-32s %13.3f dB %14.5f", v.name.c_str(), q.psnr, q.ssim);
    if (gt) {
      const Tensor& g = truths[k];
      const Scores f = scores(fp32, g), i8 = scores(int8, g);
      std::printf("   %10.3f dB %7.4f   %10.3f dB %7.4f", f.psnr, f.ssim, i8.psnr, i8.ssim);
      mean_f.psnr += f.psnr / double(val.size());
      mean_f.ssim += f.ssim / double(val.size());
      mean_i.psnr += i8.psnr / double(val.size());
      mean_i.ssim += i8.ssim / double(val.size());
    }
    std::printf("\n");
  }
  std::printf("mean int8 vs fp32: PSNR %.3f dB, SSIM %.5f\n", mean_q.psnr, mean_q.ssim);
  if (gt)
    std::printf("mean vs GT: fp32 PSNR %.3f dB SSIM %.5f, int8 PSNR %.3f dB SSIM %.5f (int8 loses %.3f dB)\n",
                mean_f.psnr, mean_f.ssim, mean_i.psnr, mean_i.ssim, mean_f.psnr - mean_i.psnr);
  return 0;
}

}  // namespace sr::cli
