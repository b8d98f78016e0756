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

}  // namespace

void check_validation_sets(const Config& cfg) {
  for (const DatasetConfig* d : cfg.eval_datasets()) {
    const std::string set = "datasets." + d->key;
    SR_CHECK(data::has_gt(d->data.type), "validation set '", set, "' is LQOnlyDataset (LQ images only, BasicSR's "
             "SingleImageDataset): validation during training measures against GT; upscale it with `srengine test`, "
             "or give it GT (PairedImageDataset, GTOnlyBicubicDataset)");
    data::Dataset ds(d->data);
    for (size_t i = 0; i < ds.size(); ++i) {
      const auto [w, h] = ds.probe_val(i);
      for (const MetricConfig& m : cfg.val.metrics) {
        data::MetricOptions mo;
        mo.crop_border = m.crop_border;
        mo.test_y_channel = m.test_y_channel;
        try {
          data::check_metric_size(w, h, mo, m.type == "calculate_ssim");
        } catch (const Error& e) {
          fail("validation set '", set, "': image '", ds.file(i).gt_path, "' (", w, "x", h,
               " when measured) cannot be measured by 'val.metrics.", m.name, "': ", e.what(),
               "; remove the image, or lower crop_border");
        }
      }
    }
  }
}

ValidationResult validate(Module& net, const Config& cfg, const std::string& dir, const std::string& tag,
                          Device device) {
  ValidationResult result;
  const int scale = cfg.scale;
  const ValConfig& val = cfg.val;
  int report_left = val.report_images;
  NoGradGuard no_grad;
  ModeGuard mode(net);
  net.train(false);
  for (const DatasetConfig* d : cfg.eval_datasets()) {
    const std::string& set = d->key;
    data::Dataset ds(d->data);
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
      // The bicubic baseline on the same image, so every log line says what SR gains.
      Tensor bic = data::imresize(s.lq, (double)scale);
      for (const MetricConfig& m : val.metrics) {
        data::MetricOptions mo;
        mo.crop_border = m.crop_border;
        mo.test_y_channel = m.test_y_channel;
        const bool psnr = m.type == "calculate_psnr";
        sums[m.name] += psnr ? data::calculate_psnr(sr, s.gt, mo) : data::calculate_ssim(sr, s.gt, mo);
        sums[m.name + "_bicubic"] += psnr ? data::calculate_psnr(bic, s.gt, mo) : data::calculate_ssim(bic, s.gt, mo);
      }
      const std::string stem = fs::path(s.name).stem().string();
      const std::string out_dir = dir + "/visualization/" + set;
      if (val.save_img) {
        fs::create_directories(out_dir);
        data::write_image(out_dir + "/" + stem + "_" + tag + val.suffix + ".png", data::tensor_to_image(sr));
      }
      if (report_left > 0) {
        --report_left;
        const std::string rdir = dir + "/report_assets";
        fs::create_directories(rdir);
        const int64_t side = 96 * scale;
        ReportImage ri{set + "/" + s.name, rdir + "/" + stem + "_bicubic.png", rdir + "/" + stem + "_sr.png",
                       rdir + "/" + stem + "_gt.png"};
        data::write_image(ri.bicubic_png, data::tensor_to_image(centre_crop(bic, side)));
        data::write_image(ri.sr_png, data::tensor_to_image(centre_crop(sr, side)));
        data::write_image(ri.gt_png, data::tensor_to_image(centre_crop(s.gt, side)));
        result.report_images.push_back(ri);
      }
    }
    for (auto& [metric, total] : sums) result.means[set + "_" + metric] = total / std::max<size_t>(1, ds.size());
  }
  return result;
}

}  // namespace sr::train
