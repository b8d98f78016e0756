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

// One error listing every problem found from the headers, before anything is measured.
void fail_on_problems(const std::vector<std::string>& problems) {
  if (problems.size() == 1) fail("metrics: ", problems[0]);
  if (problems.empty()) return;
  std::string all = str_cat("metrics: ", problems.size(), " problems, nothing measured:");
  for (const std::string& p : problems) all += "\n  " + p;
  fail(all);
}

void take_means(FolderScores& out) {
  for (const ImageScore& s : out.images) {
    out.mean_psnr += s.psnr;
    out.mean_ssim += s.ssim;
    out.mean_niqe += s.niqe;
    out.mean_lpips += s.lpips;
  }
  const double n = (double)out.images.size();
  out.mean_psnr /= n;
  out.mean_ssim /= n;
  out.mean_niqe /= n;
  out.mean_lpips /= n;
}

}  // namespace

nlohmann::json metric_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

std::string pair_problem(const std::string& gt_path, const std::string& sr_path, const MetricOptions& opt,
                         bool niqe, const NetworkMetric* network) {
  ImageInfo a, b;
  try {
    a = read_image_info(gt_path);
    b = read_image_info(sr_path);
  } catch (const Error& e) {
    return e.what();  // the reader's message names the file
  }
  if (a.width != b.width || a.height != b.height)
    return str_cat("SR '", sr_path, "' is ", b.width, "x", b.height, " but GT '", gt_path, "' is ", a.width, "x",
                   a.height);
  // metric() refuses this pair too; said here, from the headers, it names both files and comes
  // with every other bad pair of a folder before anything is measured.
  if (opt.test_y_channel && (a.channels <= 2) != (b.channels <= 2)) {
    auto kind = [](const ImageInfo& i) {
      return str_cat(i.channels <= 2 ? "gray" : "colour", i.channels % 2 == 0 ? " + alpha" : "", " (", i.channels,
                     i.channels == 1 ? " channel)" : " channels)");
    };
    return str_cat("GT '", gt_path, "' is ", kind(a), " and SR '", sr_path, "' is ", kind(b),
                   ": with test_y_channel (--y-channel) a colour image is measured on its BT.601 Y (studio swing, "
                   "16..235 of 255) and a gray one on its own values, so the two would be scored on different "
                   "ranges; give both in colour (`srengine infer` writes a one-channel network's results in colour), "
                   "both gray holding the same kind of values, or measure RGB without --y-channel (gray then counts "
                   "as R = G = B)");
  }
  try {
    check_metric_size(a.width, a.height, opt, true);  // SSIM's needs cover PSNR's
  } catch (const Error& e) {
    return str_cat("GT '", gt_path, "' and SR '", sr_path, "' (", a.width, "x", a.height,
                   ") cannot be measured: ", e.what());
  }
  if (niqe) {
    try {
      check_niqe_size(b.width, b.height, opt.crop_border);
    } catch (const Error& e) {
      return str_cat("SR '", sr_path, "': ", e.what());
    }
  }
  if (network) {
    try {
      network->check_size(a.width, a.height);
    } catch (const Error& e) {
      return str_cat("GT '", gt_path, "' and SR '", sr_path, "': ", e.what());
    }
  }
  return "";
}

FolderScores evaluate_folders(const std::string& gt_dir, const std::string& sr_dir, const MetricOptions& opt,
                              const std::string& sr_suffix, const NiqeModel* niqe, const NetworkMetric* network) {
  const auto gt = files_by_stem(gt_dir), sr = files_by_stem(sr_dir);
  std::map<std::string, bool> used;
  struct Pair {
    std::string gt_name, gt_path, sr_path;
  };
  std::vector<Pair> pairs;
  std::vector<std::string> problems;
  for (const auto& [stem, gt_name] : gt) {
    const std::string gt_path = (fs::path(gt_dir) / gt_name).string();
    auto it = sr.find(stem + sr_suffix);
    if (it == sr.end()) {
      problems.push_back(str_cat("GT '", gt_path, "' has no SR partner named '", stem + sr_suffix, ".*' in '", sr_dir,
                                 "'"));
      continue;
    }
    used[it->first] = true;
    const std::string sr_path = (fs::path(sr_dir) / it->second).string();
    const std::string p = pair_problem(gt_path, sr_path, opt, niqe != nullptr, network);
    if (!p.empty()) problems.push_back(p);
    pairs.push_back({gt_name, gt_path, sr_path});
  }
  for (const auto& [stem, name] : sr)
    if (!used.count(stem))
      problems.push_back(str_cat("SR '", (fs::path(sr_dir) / name).string(), "' has no GT partner in '", gt_dir, "'",
                                 sr_suffix.empty() ? "" : " (with SR suffix '" + sr_suffix + "')"));
  fail_on_problems(problems);
  FolderScores out;
  out.has_niqe = niqe != nullptr;
  out.has_lpips = network != nullptr;
  for (const auto& [gt_name, gt_path, sr_path] : pairs) {
    const Image a = read_image(gt_path), b = read_image(sr_path);
    // The headers said one size; the decoded images are checked again (a file may change).
    SR_CHECK(a.width == b.width && a.height == b.height, "metrics: SR '", sr_path, "' is ", b.size_str(),
             " but GT '", gt_path, "' is ", a.size_str());
    out.images.push_back({gt_name, calculate_psnr(a, b, opt), calculate_ssim(a, b, opt),
                          niqe ? calculate_niqe(b, opt.crop_border, *niqe) : 0.0,
                          network ? network->measure(a, b) : 0.0});
  }
  take_means(out);
  return out;
}

FolderScores evaluate_niqe(const std::string& sr, int crop_border, const NiqeModel& niqe) {
  std::vector<std::string> paths;
  if (fs::is_directory(sr)) {
    for (const auto& [stem, name] : files_by_stem(sr)) paths.push_back((fs::path(sr) / name).string());
    SR_CHECK(!paths.empty(), "metrics: no images in '", sr, "'");
  } else {
    paths.push_back(sr);
  }
  std::vector<std::string> problems;
  for (const std::string& p : paths) {
    try {
      const ImageInfo info = read_image_info(p);
      check_niqe_size(info.width, info.height, crop_border);
    } catch (const Error& e) {
      problems.push_back(str_cat("SR '", p, "': ", e.what()));
    }
  }
  fail_on_problems(problems);
  FolderScores out;
  out.has_gt = false;
  out.has_niqe = true;
  for (const std::string& p : paths)
    out.images.push_back({fs::path(p).filename().string(), 0.0, 0.0, calculate_niqe(read_image(p), crop_border, niqe)});
  take_means(out);
  return out;
}

nlohmann::json scores_to_json(const FolderScores& s) {
  nlohmann::json images = nlohmann::json::array(), out = nlohmann::json::object();
  for (const ImageScore& i : s.images) {
    nlohmann::json row = {{"name", i.name}};
    if (s.has_gt) row["psnr"] = metric_json(i.psnr), row["ssim"] = i.ssim;
    if (s.has_lpips) row["lpips"] = metric_json(i.lpips);
    if (s.has_niqe) row["niqe"] = metric_json(i.niqe);
    images.push_back(row);
  }
  if (s.has_gt) out["mean_psnr"] = metric_json(s.mean_psnr), out["mean_ssim"] = s.mean_ssim;
  if (s.has_lpips) out["mean_lpips"] = metric_json(s.mean_lpips);
  if (s.has_niqe) out["mean_niqe"] = metric_json(s.mean_niqe);
  out["images"] = images;
  return out;
}

}  // namespace sr::data
