// The eval sets' output names and size checks (see eval_sets.h).
#include "train/eval_sets.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "data/metrics.h"
#include "data/output_names.h"
#include "engine/error.h"
#include "infer/lpips_score.h"

namespace sr::train {

namespace fs = std::filesystem;

std::string visualization_folder(const DatasetConfig& d) { return d.name.empty() ? d.key : d.name; }

void check_visualization_folders(const std::vector<const DatasetConfig*>& sets, const std::string& what) {
  std::map<std::string, std::string> taken;  // folder -> the key of the set that has it
  for (const DatasetConfig* d : sets) {
    const std::string folder = visualization_folder(*d);
    data::check_file_name_component(folder, str_cat(what, ": datasets.", d->key, ".name"),
                                    "it names the set's folder under visualization/");
    const auto [it, fresh] = taken.emplace(folder, d->key);
    SR_CHECK(fresh, what, ": datasets.", it->second, " and datasets.", d->key, " would both write their SR images to "
             "visualization/", folder, " (a set's folder is its name, else its key); give one another name");
  }
}

data::MetricOptions metric_options(const MetricConfig& m) {
  data::MetricOptions mo;
  mo.crop_border = m.crop_border;
  mo.test_y_channel = m.test_y_channel;
  return mo;
}

double measure(const MetricConfig& m, const Tensor& sr, const Tensor& gt) {
  const data::MetricOptions mo = metric_options(m);
  if (m.type == "calculate_niqe") return data::calculate_niqe(sr, m.crop_border, *m.niqe);
  if (m.type == "calculate_lpips") return calculate_lpips(sr, gt, m.crop_border, *m.lpips);
  return m.type == "calculate_psnr" ? data::calculate_psnr(sr, gt, mo) : data::calculate_ssim(sr, gt, mo);
}

void place_metric_networks(const std::vector<MetricConfig>& metrics, Device device) {
  for (const MetricConfig& m : metrics)
    if (m.lpips && m.lpips->parameters().front().device() != device) m.lpips->to(device);
}

namespace {
// The file (or LMDB record, "<root>:<key>") an SR image is named after.
const std::string& sr_source(const data::FilePair& f) { return f.lq_path.empty() ? f.gt_path : f.lq_path; }
}  // namespace

std::string sr_stem(const data::FilePair& f) {
  // An LMDB record's name is its key, as BasicSR's lq_path is for an lmdb backend, without
  // the key's folders ('sub/b' -> 'b': BasicSR's basename).
  const std::string& key = f.lq_path.empty() ? f.gt_key : f.lq_key;
  return key.empty() ? fs::path(sr_source(f)).stem().string() : fs::path(key).filename().string();
}

std::vector<std::string> plan_sr_images(const data::Dataset& ds, const std::string& dir, const std::string& tail,
                                        const std::string& what) {
  std::vector<std::string> sources;  // the file each SR image is named after
  std::map<std::string, std::string> stems;
  for (size_t i = 0; i < ds.size(); ++i) {
    sources.push_back(sr_source(ds.file(i)));
    stems[sources.back()] = sr_stem(ds.file(i));
  }
  std::vector<std::string> out;
  for (const data::PlannedOutput& p :
       data::plan_outputs(sources, dir, [&](const std::string& in) { return stems.at(in) + tail; }, what))
    out.push_back(p.output);
  return out;
}

void check_metric_sizes(const data::Dataset& ds, const std::vector<MetricConfig>& metrics, const std::string& what,
                        bool skip_unreadable) {
  const bool has_gt = data::has_gt(ds.config().type);
  if (!has_gt && std::all_of(metrics.begin(), metrics.end(), [](const MetricConfig& m) { return m.needs_gt(); }))
    return;  // nothing measures an LQ-only set
  std::vector<std::string> bad;
  for (size_t i = 0; i < ds.size(); ++i) {
    std::pair<int, int> size;
    try {
      size = ds.probe_val(i);
    } catch (const std::exception&) {
      if (skip_unreadable) continue;
      throw;
    }
    const auto [w, h] = size;
    const data::FilePair& f = ds.file(i);
    for (const MetricConfig& m : metrics) {
      if (m.needs_gt() && !has_gt) continue;  // an LQ-only set is measured by NIQE alone
      try {
        if (m.type == "calculate_lpips")
          check_lpips_size(w, h, m.crop_border, m.lpips->net());
        else if (m.needs_gt())
          data::check_metric_size(w, h, metric_options(m), m.type == "calculate_ssim");
        else
          data::check_niqe_size(w, h, m.crop_border);
      } catch (const Error& e) {
        const std::string& named = has_gt ? f.gt_path : f.lq_path;
        const std::string lq = f.lq_path.empty() || !has_gt ? "" : str_cat(" (LQ '", f.lq_path, "')");
        bad.push_back(str_cat("image '", named, "'", lq, " (", w, "x", h, " when measured) cannot be measured by 'val.metrics.", m.name, "': ",
                              e.what()));
      }
    }
  }
  if (bad.empty()) return;
  if (bad.size() == 1) fail(what, ": ", bad[0], "; remove the image, or lower crop_border");
  std::string all = str_cat(what, ": ", bad.size(), " problems (remove the images, or lower crop_border):");
  for (const std::string& b : bad) all += "\n  " + b;
  fail(all);
}

}  // namespace sr::train
