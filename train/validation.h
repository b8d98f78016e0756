// Validation on the val*/test* datasets: the generator (EMA when on) upscales each LQ
// image, PSNR/SSIM are measured with BasicSR's semantics, SR images are saved, and crops
// of bicubic / SR / GT are kept for report.html.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "engine/error.h"
#include "layers/module.h"
#include "train/config_types.h"
#include "train/report.h"

namespace sr::train {

struct ValidationResult {
  // "<dataset>_<metric>" -> mean over the dataset's images, and "<dataset>_<metric>_bicubic"
  // for bicubic upscaling of the same LQ images
  std::map<std::string, double> means;
  // The same means by set name (datasets.X.name, else X; "name(X)" where sets share a name)
  // and metric ("DIV2K" -> "psnr" -> 27.1; the bicubic ones included)
  std::map<std::string, std::map<std::string, double>> by_set;
  std::vector<ReportImage> report_images;
};

// A generator output with NaN or inf: the weights diverged. Its own type, so that the run
// stops without saving a training state of those weights (a later --resume auto would pick it).
class DivergedOutput : public Error {
 public:
  using Error::Error;
};

// Everything validation will need, checked before a run's first iteration: every image of
// every val*/test* dataset is readable and of a size that every metric of val.metrics can
// measure (crop_border, SSIM's 11x11 window), and with val.save_img no two SR images or
// sets share an output (train/eval_sets.h). The error names the dataset, file and metric.
void check_validation_sets(const Config& config);
// Every training image's header (in parallel, no decoding): what would stop the run when its
// sample comes up (a paired LQ that is not GT / scale, an image smaller than gt_size) is an
// error before the first iteration, naming the images (at most 10) and datasets.train.gt_size.
// Under skip_bad_images, where the loader skips such images, it is a note (returned) unless
// every image has a problem; "" when none has.
std::string check_training_set(const Config& config);

// `tag` names the outputs (e.g. "psnr_5000"): with val.save_img the SR images are
// <dir>/visualization/<set name, else key>/<stem>_<tag>[_<val.suffix>].png, the stem the LQ
// file's (the GT's for a GT-only set), as BasicSR names them.
// Each LQ image goes through the net whole, as `srengine test` runs it (infer::upscale_image):
// reflect-padded to the size the net needs (RRDBNet x2 and x1 unshuffle by 2 and 4) and the
// output cropped back to scale x its size, so a val image of any size is measured. The net's
// train/eval mode is restored on return, also by an error. An error names the set and image.
// `bicubic`, when given, keeps the bicubic baseline's scores between the validations of a run
// (they depend on the LQ image and the metric only): measured at the first, reused after, so a
// metric that runs a network (LPIPS) is not paid for twice per image at every validation.
using BicubicScores = std::map<std::string, double>;  // "<set>/<image index>/<metric>"
ValidationResult validate(Module& net, const Config& config, const std::string& experiment_dir,
                          const std::string& tag, Device device, BicubicScores* bicubic = nullptr);

}  // namespace sr::train
