// `srengine metrics`: BasicSR-identical PSNR/SSIM of SR images against GT images,
// per image and averaged, optionally written as JSON.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "data/evaluate.h"
#include "data/image_io.h"
#include "engine/error.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"

namespace sr::cli {
namespace fs = std::filesystem;

int run_metrics(const std::vector<std::string>& args) {
  std::string gt, sr, json_path, suffix;
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
    } else if (args[i] == "--sr-suffix") {
      suffix = value("--sr-suffix");
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::printf(
          "usage: srengine metrics --gt DIR --sr DIR [--crop-border N] [--y-channel] [--json FILE]\n"
          "                        [--sr-suffix S]\n\n"
          "PSNR and SSIM exactly as BasicSR's calculate_psnr / calculate_ssim (images rounded to\n"
          "8 bits, N border pixels cropped, optionally on BT.601 Y). Files are paired by name\n"
          "stem (SR stem = GT stem + S, e.g. --sr-suffix _ESRGAN). --gt and --sr may also be\n"
          "two image files. Every pair is checked from the file headers before any is measured\n"
          "(partners, sizes, crop_border, SSIM's 11x11 window); the error lists every bad pair.\n"
          "--json writes {mean_psnr, mean_ssim, images: [{name, psnr, ssim}]}.\n");
      return 0;
    } else {
      fail("unknown argument '", args[i], "' (see srengine metrics --help)");
    }
  }
  SR_CHECK(!gt.empty() && !sr.empty(), "both --gt and --sr are required (see srengine metrics --help)");
  SR_CHECK(fs::exists(gt), "metrics: --gt '", gt, "' does not exist");
  SR_CHECK(fs::exists(sr), "metrics: --sr '", sr, "' does not exist");
  data::FolderScores scores;
  if (!fs::is_directory(gt) && !fs::is_directory(sr)) {
    const std::string problem = data::pair_problem(gt, sr, opt);
    SR_CHECK(problem.empty(), "metrics: ", problem);
    const data::Image a = data::read_image(gt), b = data::read_image(sr);
    SR_CHECK(a.width == b.width && a.height == b.height, "metrics: SR '", sr, "' is ", b.size_str(), " but GT '", gt,
             "' is ", a.size_str());
    scores.images.push_back({fs::path(gt).filename().string(), data::calculate_psnr(a, b, opt),
                             data::calculate_ssim(a, b, opt)});
    scores.mean_psnr = scores.images[0].psnr;
    scores.mean_ssim = scores.images[0].ssim;
  } else {
    SR_CHECK(fs::is_directory(gt) && fs::is_directory(sr), "metrics: --gt and --sr must both be folders or both "
             "files: --gt '", gt, "' is a ", fs::is_directory(gt) ? "folder" : "file", ", --sr '", sr, "' a ",
             fs::is_directory(sr) ? "folder" : "file");
    scores = data::evaluate_folders(gt, sr, opt, suffix);
  }
  for (const auto& s : scores.images) std::printf("%-40s PSNR %8.4f dB  SSIM %.4f\n", s.name.c_str(), s.psnr, s.ssim);
  std::printf("%-40s PSNR %8.4f dB  SSIM %.4f  (%zu images, crop_border %d, %s)\n", "mean", scores.mean_psnr,
              scores.mean_ssim, scores.images.size(), opt.crop_border, opt.test_y_channel ? "Y channel" : "RGB");
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    SR_CHECK(out.good(), json_path, ": cannot create");
    out << data::scores_to_json(scores).dump(1) << "\n";
    SR_CHECK(out.good(), json_path, ": write failed");
  }
  return 0;
}

}  // namespace sr::cli
