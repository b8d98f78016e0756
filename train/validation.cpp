// Validation (see validation.h).
#include "train/validation.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "data/dataset.h"
#include "data/image.h"
#include "data/image_io.h"
#include "data/imresize.h"
#include "data/metrics.h"
#include "engine/autograd.h"
#include "infer/tiled_upscale.h"
#include "train/eval_sets.h"

namespace sr::train {

namespace fs = std::filesystem;

namespace {

// A centred square crop (at most 96 LR pixels wide, times scale) of a (1, 3, H, W) image.
Tensor centre_crop(const Tensor& t, int64_t side) {
  const int64_t H = t.size(2), W = t.size(3);
  side = std::min({side, H, W});
  return t.narrow(2, (H - side) / 2, side).narrow(3, (W - side) / 2, side).contiguous();
}

// Finite weights give a finite output; a NaN or inf here means the training diverged
// (say so, rather than "metrics: non-finite value -nan at element 0").
void check_finite_output(const Tensor& sr, const std::string& set, const std::string& name) {
  const Tensor c = sr.contiguous();
  const float* p = c.data<float>();
  int64_t bad = 0;
  for (int64_t i = 0; i < c.numel(); ++i) bad += !std::isfinite(p[i]);
  if (bad != 0)
    throw DivergedOutput(str_cat("validation: the generator's output for '", set, "/", name, "' has ", bad,
                                 " non-finite values of ", c.numel(), ": the weights diverged (learning rate too "
                                 "high? lower optim_g.lr of this stage and resume from an earlier checkpoint)"));
}

// Puts a module back in the train/eval mode it had, however the scope ends.
class ModeGuard {
 public:
  explicit ModeGuard(Module& m) : m_(m), training_(m.is_training()) {}
  ~ModeGuard() { m_.train(training_); }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

 private:
  Module& m_;
  bool training_;
};

// What follows an SR image's stem: _<tag>.png, or _<tag>_<suffix>.png with val.suffix.
std::string sr_image_tail(const std::string& tag, const std::string& suffix) {
  return "_" + tag + (suffix.empty() ? "" : "_" + suffix) + ".png";
}

}  // namespace

void check_validation_sets(const Config& cfg) {
  const std::vector<const DatasetConfig*> sets = cfg.eval_datasets();
  for (const DatasetConfig* d : sets) {
    const std::string set = "datasets." + d->key;
    if (!data::has_gt(d->data.type))
      for (const MetricConfig& m : cfg.val.metrics)
        SR_CHECK(!m.needs_gt(), "validation set '", set, "' is LQOnlyDataset (LQ images only, BasicSR's "
                 "SingleImageDataset): validation during training measures against GT, as 'val.metrics.", m.name,
                 "' does; validate such a set with calculate_niqe (no reference) only, or give it GT "
                 "(PairedImageDataset, GTOnlyBicubicDataset)");
    const data::Dataset ds(d->data);
    check_metric_sizes(ds, cfg.val.metrics, str_cat("validation set '", set, "'"), false);
    // Two images with one SR name (a.png, a.jpg) would overwrite each other at every validation.
    if (cfg.val.save_img)
      plan_sr_images(ds, "visualization/" + visualization_folder(*d),
                     sr_image_tail("<stage>_<iter>", cfg.val.suffix), str_cat("validation set '", set, "'"));
  }
  if (cfg.val.save_img) check_visualization_folders(sets, "validation");
}

std::string check_training_set(const Config& cfg) {
  const DatasetConfig* train = cfg.find_dataset("train");
  if (!train || !data::has_gt(train->data.type)) return "";  // refused elsewhere, with its own message
  const std::string set = "datasets." + train->key;
  data::Dataset ds = [&] {
    try {
      return data::Dataset(train->data);
    } catch (const Error& e) {
      fail(set, ": ", e.what());
    }
  }();
  std::vector<std::string> problems(ds.size());
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < (int64_t)ds.size(); ++i) problems[i] = ds.train_sample_problem((size_t)i, set + ".gt_size");
  std::vector<std::string> bad;
  for (std::string& p : problems)
    if (!p.empty()) bad.push_back(std::move(p));
  if (bad.empty()) return "";
  // The loader skips them under skip_bad_images (with a warning each), unless none is left.
  if (train->data.skip_bad_images && bad.size() < ds.size())
    return str_cat(set, ": ", bad.size(), " of ", ds.size(), " training images will be skipped (skip_bad_images), "
                   "the first: ", bad[0]);
  // Every image too small is a gt_size for another set, not images to remove.
  const std::string remedy = bad.size() == ds.size() ? "lower " + set + ".gt_size, or fix the images"
                                                     : "fix or remove the image(s)";
  if (bad.size() == 1) fail(set, ": ", bad[0], "; ", remedy, " (checked before the first iteration)");
  std::string all = str_cat(set, ": ", bad.size(), " of ", ds.size(), " training images would stop the run (",
                            remedy, "):");
  for (size_t i = 0; i < bad.size() && i < 10; ++i) all += "\n  " + bad[i];
  if (bad.size() > 10) all += str_cat("\n  ... and ", bad.size() - 10, " more");
  fail(all);
}

ValidationResult validate(Module& net, const Config& cfg, const std::string& dir, const std::string& tag,
                          Device device, BicubicScores* bicubic_scores) {
  ValidationResult result;
  const int scale = cfg.scale;
  const ValConfig& val = cfg.val;
  int report_left = val.report_images;
  NoGradGuard no_grad;
  ModeGuard mode(net);
  net.train(false);
  // Sets are shown by name, as BasicSR tags them (metrics/<name>/<metric>); a name that two
  // sets share is shown as name(key) for each, so no set's means hide another's.
  std::map<std::string, int> name_count;
  for (const DatasetConfig* d : cfg.eval_datasets()) ++name_count[visualization_folder(*d)];
  place_metric_networks(val.metrics, device);
  for (const DatasetConfig* d : cfg.eval_datasets()) {
    const std::string& set = d->key;
    data::Dataset ds(d->data);
    const std::string out_dir = dir + "/visualization/" + visualization_folder(*d);
    std::vector<std::string> sr_paths;
    if (val.save_img) {
      sr_paths = plan_sr_images(ds, out_dir, sr_image_tail(tag, val.suffix), "validation set 'datasets." + set + "'");
      fs::create_directories(out_dir);
    }
    std::map<std::string, double> sums;
    for (size_t i = 0; i < ds.size(); ++i) {
      data::ValSample s = ds.load_val(i);
      Tensor sr;
      try {
        sr = infer::upscale_image(net, s.lq, infer::TileOptions{}, device);  // whole: tile 0
      } catch (const Error& e) {
        fail("validation set '", set, "': image '", s.name, "': ", e.what());
      }
      check_finite_output(sr, set, s.name);
      // The bicubic baseline on the same image, so every log line says what SR gains; made only
      // where a score not measured before or the report needs it.
      Tensor bic;
      auto bicubic = [&]() -> const Tensor& {
        if (!bic.defined()) bic = data::imresize(s.lq, (double)scale);
        return bic;
      };
      for (const MetricConfig& m : val.metrics) {  // an LQ-only set has NIQE only (check_validation_sets)
        sums[m.name] += measure(m, sr, s.gt);
        const std::string key = str_cat(set, "/", i, "/", m.name);
        if (bicubic_scores && bicubic_scores->count(key)) {
          sums[m.name + "_bicubic"] += bicubic_scores->at(key);
          continue;
        }
        const double b = measure(m, bicubic(), s.gt);
        if (bicubic_scores) (*bicubic_scores)[key] = b;
        sums[m.name + "_bicubic"] += b;
      }
      if (val.save_img) data::write_image(sr_paths[i], data::tensor_to_image(sr));
      if (report_left > 0) {
        --report_left;
        const std::string stem = sr_stem(ds.file(i));
        const std::string rdir = dir + "/report_assets";
        fs::create_directories(rdir);
        const int64_t side = 96 * scale;
        ReportImage ri{set + "/" + s.name, rdir + "/" + stem + "_bicubic.png", rdir + "/" + stem + "_sr.png",
                       s.gt.defined() ? rdir + "/" + stem + "_gt.png" : ""};
        data::write_image(ri.bicubic_png, data::tensor_to_image(centre_crop(bicubic(), side)));
        data::write_image(ri.sr_png, data::tensor_to_image(centre_crop(sr, side)));
        if (s.gt.defined()) data::write_image(ri.gt_png, data::tensor_to_image(centre_crop(s.gt, side)));
        result.report_images.push_back(ri);
      }
    }
    const std::string name = visualization_folder(*d);
    const std::string shown = name_count[name] > 1 ? name + "(" + set + ")" : name;
    for (auto& [metric, total] : sums) {
      const double mean = total / std::max<size_t>(1, ds.size());
      result.means[set + "_" + metric] = mean;
      result.by_set[shown][metric] = mean;
    }
  }
  return result;
}

}  // namespace sr::train
