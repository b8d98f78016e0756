// What validation during training and `srengine test` both settle about the val*/test*
// sets before the first image is upscaled: each set's visualization folder, the file name
// of each SR image, and whether every image can be measured by every metric. A problem
// here is one error naming the set and the file(s), not a failure halfway through a run
// (or an output silently overwritten by another).
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/metrics.h"
#include "train/config_types.h"

namespace sr::train {

// The set's folder under visualization/: datasets.<key>.name, else the key (BasicSR's
// visualization/<name>/).
std::string visualization_folder(const DatasetConfig& d);

// Every set's folder is one file-name component, and no two sets share one (an error
// starting with `what` and naming both keys).
void check_visualization_folders(const std::vector<const DatasetConfig*>& sets, const std::string& what);

// A val.metrics entry as the metric functions take it, and its value for one SR image.
data::MetricOptions metric_options(const MetricConfig& m);
double measure(const MetricConfig& m, const Tensor& sr, const Tensor& gt);
// Puts the metrics' networks (LPIPS) on `device`, where the generator runs: the SR and GT images
// come back to the host (infer::upscale_image) and calculate_lpips sends them to its network.
void place_metric_networks(const std::vector<MetricConfig>& metrics, Device device);

// The stem an SR image is named by: BasicSR's, the LQ file's (im0x4 of a paired set with
// filename_tmpl '{}x4'); the GT file's where the set has no LQ files (GT-only, bicubic LQ).
std::string sr_stem(const data::FilePair& f);

// <dir>/<sr_stem><tail> for every image of `ds` (tail: "_<suffix>.png"), in image order;
// refused as a whole when two images would share an output (a.png and a.jpg), naming both.
std::vector<std::string> plan_sr_images(const data::Dataset& ds, const std::string& dir, const std::string& tail,
                                        const std::string& what);

// Every image of `ds` is readable and has a size every metric can measure (crop_border
// leaves something, SSIM's 11x11 window fits, NIQE's two 96x96 blocks; an LQ-only set only
// by NIQE, the metric needing no GT), read from the file headers; one error starting with `what` lists every image that
// has not. `skip_unreadable`: a file whose header cannot be read is left to fail when it is
// loaded (srengine test goes on with the other images).
void check_metric_sizes(const data::Dataset& ds, const std::vector<MetricConfig>& metrics, const std::string& what,
                        bool skip_unreadable);

}  // namespace sr::train
