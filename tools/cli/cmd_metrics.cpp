// `srengine metrics`: BasicSR-identical PSNR/SSIM and LPIPS of SR images against GT images and
// the no-reference NIQE of SR images, per image and averaged, optionally written as JSON.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "data/evaluate.h"
#include "data/image_io.h"
#include "data/niqe.h"
#include "engine/error.h"
#include "infer/lpips_score.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/net_setup.h"

namespace sr::cli {
namespace fs = std::filesystem;

int run_metrics(const std::vector<std::string>& args) {
  std::string gt, sr, json_path, suffix, niqe_path, lpips_path, backbone_path, device = "cpu";
  data::MetricOptions opt;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&](const char* name) -> std::string {
      SR_CHECK(i + 1 < args.size(), name, " needs a value");
      return args[++i];
    };
    if (args[i] == "--gt") {
      gt = value("--gt");
    } else if (args[i] == "--sr") {
      sr = value("--sr");
    } else if (args[i] == "--crop-border") {
      opt.crop_border = parse_int_arg("metrics", "--crop-border", value("--crop-border"), 0, 100000);
    } else if (args[i] == "--y-channel") {
      opt.test_y_channel = true;
    } else if (args[i] == "--json") {
      json_path = value("--json");
    } else if (args[i] == "--niqe") {
      niqe_path = value("--niqe");
    } else if (args[i] == "--lpips") {
      lpips_path = value("--lpips");
    } else if (args[i] == "--lpips-backbone") {
      backbone_path = value("--lpips-backbone");
    } else if (args[i] == "--device") {
      device = value("--device");
    } else if (args[i] == "--sr-suffix") {
      suffix = value("--sr-suffix");
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::printf(
          "usage: srengine metrics --gt DIR --sr DIR [--crop-border N] [--y-channel] [--json FILE]\n"
          "                        [--sr-suffix S] [--niqe MODEL.npz]\n"
          "                        [--lpips LIN.pth [--lpips-backbone NET.pth] [--device cpu|cuda[:N]]]\n"
          "       srengine metrics --sr DIR --niqe MODEL.npz [--crop-border N] [--json FILE]\n\n"
          "PSNR and SSIM exactly as BasicSR's calculate_psnr / calculate_ssim (images rounded to\n"
          "8 bits, N border pixels cropped, optionally on BT.601 Y). Files are paired by name\n"
          "stem (SR stem = GT stem + S, e.g. --sr-suffix _ESRGAN). --gt and --sr may also be\n"
          "two image files. Every pair is checked from the file headers before any is measured\n"
          "(partners, sizes, crop_border, SSIM's 11x11 window); the error lists every bad pair.\n"
          "Gray images: on RGB (the default) a gray image counts as R = G = B, as cv2.imread in colour\n"
          "mode reads it, also beside a colour image. With --y-channel a colour image is measured on its\n"
          "BT.601 Y (studio swing, 16..235 of 255) and a gray image on its own values, as BasicSR's\n"
          "calculate_psnr_ssim.py does (srengine test saves a one-channel network's Y results as gray\n"
          "images); a gray image beside a colour one is refused there, the two being on different ranges.\n"
          "--niqe adds the no-reference NIQE of each SR image (lower is more natural; BasicSR's\n"
          "calculate_niqe, on rounded Y, N border pixels cropped; at least two 96x96 blocks) against\n"
          "a pristine model: BasicSR's niqe_pris_params.npz or one made by `srengine niqe-fit`;\n"
          "without --gt, NIQE is all that is measured.\n"
          "--lpips adds LPIPS v0.1 against GT (lower is more alike; the lpips package's numbers, as BasicSR's\n"
          "calculate_lpips.py; on the 8-bit RGB images, N border pixels cropped): LIN.pth is the package's\n"
          "weights/v0.1/vgg.pth or alex.pth (the net is told from it), --lpips-backbone torchvision's\n"
          "ImageNet weights of that net (vgg16-397923af.pth, alexnet-owt-7be5be79.pth), not needed when\n"
          "LIN.pth is a whole LPIPS state dict. The net runs on --device (default cpu).\n"
          "--json writes {mean_psnr, mean_ssim, mean_lpips, mean_niqe, images: [{name, psnr, ssim, lpips,\n"
          "niqe}]}, the scores measured.\n");
      return 0;
    } else {
      fail("unknown argument '", args[i], "' (see srengine metrics --help)");
    }
  }
  SR_CHECK(!sr.empty() && (!gt.empty() || !niqe_path.empty()),
           "metrics: --sr and --gt are required, or --sr and --niqe (see srengine metrics --help)");
  SR_CHECK(lpips_path.empty() || !gt.empty(), "metrics: --lpips compares SR with GT images: give --gt");
  SR_CHECK(!lpips_path.empty() || backbone_path.empty(), "metrics: --lpips-backbone is the backbone of --lpips; "
           "give --lpips too");
  SR_CHECK(!lpips_path.empty() || device == "cpu", "metrics: --device places the LPIPS network; give --lpips too");
  if (!gt.empty()) SR_CHECK(fs::exists(gt), "metrics: --gt '", gt, "' does not exist");
  SR_CHECK(fs::exists(sr), "metrics: --sr '", sr, "' does not exist");
  if (!json_path.empty())
    check_output_file(json_path, {gt, sr, niqe_path, lpips_path, backbone_path}, "metrics: --json");
  std::unique_ptr<data::NiqeModel> niqe;
  if (!niqe_path.empty()) niqe = std::make_unique<data::NiqeModel>(data::load_niqe_model(niqe_path));
  std::shared_ptr<Lpips> lpips;
  std::unique_ptr<data::NetworkMetric> lpips_metric;
  if (!lpips_path.empty()) {
    const Device d = resolve_infer_device(device);
    lpips = Lpips::from_files(lpips_path, backbone_path);
    lpips->to(d);
    lpips_metric = std::make_unique<data::NetworkMetric>(lpips_network_metric(*lpips, opt.crop_border));
  }
  data::FolderScores scores;
  if (gt.empty()) {
    SR_CHECK(!opt.test_y_channel, "metrics: --y-channel chooses what PSNR/SSIM measure; NIQE always measures Y "
             "(drop it, or give --gt)");
    SR_CHECK(suffix.empty(), "metrics: --sr-suffix pairs SR with GT files; without --gt there is nothing to pair");
    scores = data::evaluate_niqe(sr, opt.crop_border, *niqe);
  } else if (!fs::is_directory(gt) && !fs::is_directory(sr)) {
    const std::string problem = data::pair_problem(gt, sr, opt, niqe != nullptr, lpips_metric.get());
    SR_CHECK(problem.empty(), "metrics: ", problem);
    const data::Image a = data::read_image(gt), b = data::read_image(sr);
    SR_CHECK(a.width == b.width && a.height == b.height, "metrics: SR '", sr, "' is ", b.size_str(), " but GT '", gt,
             "' is ", a.size_str());
    scores.has_niqe = niqe != nullptr;
    scores.has_lpips = lpips_metric != nullptr;
    scores.images.push_back({fs::path(gt).filename().string(), data::calculate_psnr(a, b, opt),
                             data::calculate_ssim(a, b, opt), niqe ? data::calculate_niqe(b, opt.crop_border, *niqe) : 0.0,
                             lpips_metric ? lpips_metric->measure(a, b) : 0.0});
    scores.mean_psnr = scores.images[0].psnr;
    scores.mean_ssim = scores.images[0].ssim;
    scores.mean_niqe = scores.images[0].niqe;
    scores.mean_lpips = scores.images[0].lpips;
  } else {
    SR_CHECK(fs::is_directory(gt) && fs::is_directory(sr), "metrics: --gt and --sr must both be folders or both "
             "files: --gt '", gt, "' is a ", fs::is_directory(gt) ? "folder" : "file", ", --sr '", sr, "' a ",
             fs::is_directory(sr) ? "folder" : "file");
    scores = data::evaluate_folders(gt, sr, opt, suffix, niqe.get(), lpips_metric.get());
  }
  auto line = [&](const std::string& name, const data::ImageScore& s) {
    std::string text = str_cat(name);
    if (text.size() < 40) text.resize(40, ' ');
    char buf[96];
    if (scores.has_gt) {
      std::snprintf(buf, sizeof buf, " PSNR %8.4f dB  SSIM %.4f", s.psnr, s.ssim);
      text += buf;
    }
    if (scores.has_lpips) {
      std::snprintf(buf, sizeof buf, "  LPIPS %.6f", s.lpips);
      text += buf;
    }
    if (scores.has_niqe) {
      std::snprintf(buf, sizeof buf, "  NIQE %.4f", s.niqe);
      text += buf;
    }
    return text;
  };
  for (const auto& s : scores.images) std::printf("%s\n", line(s.name, s).c_str());
  const data::ImageScore mean{"mean", scores.mean_psnr, scores.mean_ssim, scores.mean_niqe, scores.mean_lpips};
  std::printf("%s  (%zu images, crop_border %d%s)\n", line("mean", mean).c_str(), scores.images.size(), opt.crop_border,
              scores.has_gt ? (opt.test_y_channel ? ", Y channel" : ", RGB") : "");
  if (!json_path.empty())
    write_output_file(json_path, data::scores_to_json(scores).dump(1) + "\n",
                      {gt, sr, niqe_path, lpips_path, backbone_path}, "metrics: --json");
  return 0;
}

}  // namespace sr::cli
