// Validation on the val*/test* datasets: the generator (EMA when on) upscales each LQ
// image, PSNR/SSIM are measured with BasicSR's semantics, SR images are saved, and crops
// of bicubic / SR / GT are kept for report.html.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "train/config_types.h"

#include "layers/module.h"
#include "train/report.h"

namespace sr::train {

struct ValidationResult {
  // "<dataset>_<metric>" -> mean over the dataset's images, and "<dataset>_<metric>_bicubic"
  // for bicubic upscaling of the same LQ images
  std::map<std::string, double> means;
  std::vector<ReportImage> report_images;
};

// Everything validation will need, checked before a run's first iteration: every image of
// every val*/test* dataset is readable and of a size that every metric of val.metrics can
// measure (crop_border, SSIM's 11x11 window). The error names the dataset, file and metric.
void check_validation_sets(const Config& config);

// `tag` names the outputs (e.g. "psnr_5000"); images go to <dir>/visualization/<dataset>/.
ValidationResult validate(Module& net, const Config& config, const std::string& experiment_dir,
                          const std::string& tag, Device device);

}  // namespace sr::train
