// Folder-against-folder PSNR/SSIM with name-stem matching.
#include "data/evaluate.h"

#include <cmath>
#include <filesystem>
#include <map>

#include "data/dataset.h"
#include "data/image_io.h"
#include "engine/error.h"

namespace sr::data {
namespace fs = std::filesystem;

namespace {

std::map<std::string, std::string> files_by_stem(const std::string& dir) {
  std::map<std::string, std::string> by_stem;
  for (const std::string& name : list_image_files(dir)) {
    const std::string stem = fs::path(name).stem().string();
    auto [it, fresh] = by_stem.emplace(stem, name);
    SR_CHECK(fresh, dir, ": two images share the stem '", stem, "': '", it->second, "' and '", name, "'");
  }
  return by_stem;
}

nlohmann::json number_or_inf(double v) { return std::isinf(v) ? nlohmann::json("inf") : nlohmann::json(v); }

}  // namespace

FolderScores evaluate_folders(const std::string& gt_dir, const std::string& sr_dir, const MetricOptions& opt,
                              const std::string& sr_suffix) {
  const auto gt = files_by_stem(gt_dir), sr = files_by_stem(sr_dir);
  std::map<std::string, bool> used;
  FolderScores out;
  for (const auto& [stem, gt_name] : gt) {
    const std::string gt_path = (fs::path(gt_dir) / gt_name).string();
    auto it = sr.find(stem + sr_suffix);
    SR_CHECK(it != sr.end(), "metrics: GT '", gt_path, "' has no SR partner named '", stem + sr_suffix,
             ".*' in '", sr_dir, "'");
    used[it->first] = true;
    const std::string sr_path = (fs::path(sr_dir) / it->second).string();
    const Image a = read_image(gt_path), b = read_image(sr_path);
    SR_CHECK(a.width == b.width && a.height == b.height, "metrics: SR '", sr_path, "' is ", b.size_str(),
             " but GT '", gt_path, "' is ", a.size_str());
    out.images.push_back({gt_name, calculate_psnr(a, b, opt), calculate_ssim(a, b, opt)});
  }
  for (const auto& [stem, name] : sr)
    SR_CHECK(used.count(stem), "metrics: SR '", (fs::path(sr_dir) / name).string(), "' has no GT partner in '",
             gt_dir, "'", sr_suffix.empty() ? "" : " (with SR suffix '" + sr_suffix + "')");
  for (const ImageScore& s : out.images) {
    out.mean_psnr += s.psnr;
    out.mean_ssim += s.ssim;
  }
  out.mean_psnr /= (double)out.images.size();
  out.mean_ssim /= (double)out.images.size();
  return out;
}

nlohmann::json scores_to_json(const FolderScores& s) {
  nlohmann::json images = nlohmann::json::array();
  for (const ImageScore& i : s.images)
    images.push_back({{"name", i.name}, {"psnr", number_or_inf(i.psnr)}, {"ssim", i.ssim}});
  return {{"mean_psnr", number_or_inf(s.mean_psnr)}, {"mean_ssim", s.mean_ssim}, {"images", images}};
}

}  // namespace sr::data
