// Folder evaluation, as `srengine metrics` reports it: PSNR/SSIM (and LPIPS) of every SR
// image against the GT image with the same name stem, and/or the no-reference NIQE of every
// SR image.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/metrics.h"
#include "data/niqe.h"

namespace sr::data {

struct ImageScore {
  std::string name;  // the GT file name (the SR file's without GT)
  double psnr = 0, ssim = 0, niqe = 0, lpips = 0;
};

struct FolderScores {
  bool has_gt = true, has_niqe = false, has_lpips = false;  // which of the scores were measured
  std::vector<ImageScore> images;  // sorted by name
  double mean_psnr = 0, mean_ssim = 0, mean_niqe = 0, mean_lpips = 0;  // arithmetic means (inf when any value is inf)
};

// A full-reference score that runs a network, which data/ cannot build: LPIPS
// (infer/lpips_score.h). The folder evaluation checks every pair's size with it first and
// stores its values as ImageScore::lpips.
struct NetworkMetric {
  std::string name;                                       // "LPIPS", for messages
  std::function<void(int width, int height)> check_size;  // throws an Error saying why not
  std::function<double(const Image& gt, const Image& sr)> measure;
};

// Pairs GT and SR files by stem (SR stem = GT stem + sr_suffix, e.g. "_ESRGAN"). A GT
// image without an SR partner, an SR image without a GT partner, two files with one
// stem, or a pair that pair_problem refuses is an error naming the file(s); every such
// problem is found from the file headers first and listed in one error, before any image
// is measured (one bad pair of a large folder costs one run, not one run per pair).
// With `niqe`, each SR image's NIQE (crop_border from opt) is measured too; with `network`,
// each pair's LPIPS.
FolderScores evaluate_folders(const std::string& gt_dir, const std::string& sr_dir, const MetricOptions& opt,
                              const std::string& sr_suffix = "", const NiqeModel* niqe = nullptr,
                              const NetworkMetric* network = nullptr);
// NIQE only, of one image file or of every image of a folder; every header is checked
// against NIQE's size needs first and all problems are listed in one error.
FolderScores evaluate_niqe(const std::string& sr, int crop_border, const NiqeModel& niqe);

// Why a GT and an SR file cannot be measured together with `opt`, naming both, or "" when
// they can: a header that cannot be read, two sizes, a gray and a colour image with
// test_y_channel (metrics.h says why), or a size crop_border leaves nothing of or SSIM's 11x11
// window does not fit. Reads the headers only.
std::string pair_problem(const std::string& gt_path, const std::string& sr_path, const MetricOptions& opt,
                         bool niqe = false, const NetworkMetric* network = nullptr);

// {"mean_psnr": .., "mean_ssim": .., "mean_lpips": .., "mean_niqe": .., "images": [{"name",
// "psnr", "ssim", "lpips", "niqe"}, ...]} with the scores measured; an infinite value (identical images' PSNR, a flat
// image's NIQE) is written as the string "inf".
nlohmann::json scores_to_json(const FolderScores& s);
// A metric's value for JSON, which has no infinity or NaN: "inf" (identical images' PSNR, a
// flat image's NIQE), "-inf" or "nan".
nlohmann::json metric_json(double v);

}  // namespace sr::data
