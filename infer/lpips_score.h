// LPIPS (nets/lpips.h) of images as srengine's other metrics see them (data/metrics.h):
// rounded to 8 bits, `crop_border` pixels cut from every edge (BasicSR's calculate_lpips.py
// cuts none), gray replicated to RGB and alpha dropped, then mapped to [-1, 1] as BasicSR
// does (v / 255, normalised with mean and std 0.5). The net runs on its own device and dtype.
#pragma once
#include "data/evaluate.h"
#include "data/image.h"
#include "nets/lpips.h"

namespace sr {

double calculate_lpips(const data::Image& gt, const data::Image& sr, int crop_border, Lpips& lpips);
// Float RGB tensors (1, 3, H, W) or (3, H, W) in [0, 1] on any device (validation's SR and GT).
double calculate_lpips(const Tensor& sr, const Tensor& gt, int crop_border, Lpips& lpips);
// Whether a width x height image is measured by `net` after cropping; the error says why not.
void check_lpips_size(int width, int height, int crop_border, LpipsNet net);
// LPIPS as the folder evaluation's network metric (data/evaluate.h); `lpips` must outlive it.
data::NetworkMetric lpips_network_metric(Lpips& lpips, int crop_border);

}  // namespace sr
