// Folder evaluation: PSNR/SSIM of every SR image against the GT image with the same
// name stem, as `srengine metrics` reports them.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/metrics.h"

namespace sr::data {

struct ImageScore {
  std::string name;  // the GT file name
  double psnr = 0, ssim = 0;
};

struct FolderScores {
  std::vector<ImageScore> images;  // sorted by GT name
  double mean_psnr = 0, mean_ssim = 0;  // arithmetic means (inf when any PSNR is inf)
};

// Pairs GT and SR files by stem (SR stem = GT stem + sr_suffix, e.g. "_ESRGAN"). A GT
// image without an SR partner, an SR image without a GT partner, two files with one
// stem, or a pair that pair_problem refuses is an error naming the file(s); every such
// problem is found from the file headers first and listed in one error, before any image
// is measured (one bad pair of a large folder costs one run, not one run per pair).
FolderScores evaluate_folders(const std::string& gt_dir, const std::string& sr_dir, const MetricOptions& opt,
                              const std::string& sr_suffix = "");

// Why a GT and an SR file cannot be measured together with `opt`, naming both, or "" when
// they can: a header that cannot be read, two sizes, or a size crop_border leaves nothing
// of or SSIM's 11x11 window does not fit. Reads the headers only.
std::string pair_problem(const std::string& gt_path, const std::string& sr_path, const MetricOptions& opt);

// {"mean_psnr": .., "mean_ssim": .., "images": [{"name", "psnr", "ssim"}, ...]}; an
// infinite PSNR (identical images) is written as the string "inf".
nlohmann::json scores_to_json(const FolderScores& s);
// A metric's value for JSON, which has no infinity: "inf" (identical images' PSNR).
nlohmann::json metric_json(double v);

}  // namespace sr::data
