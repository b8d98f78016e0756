// PSNR and SSIM exactly as BasicSR's calculate_psnr / calculate_ssim, the numbers the
// super-resolution literature reports. Inputs are first rounded to 8 bits like
// BasicSR's tensor2img (clamp to [0, 1], x255, round half to even), then
// `crop_border` pixels are removed from every edge, optionally reduced to BT.601 Y
// (16 + 65.481 R + 128.553 G + 24.966 B on [0, 1]; kept in float32 as BasicSR does),
// and evaluated in float64:
//   PSNR = 10 log10(255^2 / MSE) over all pixels and channels (inf when MSE = 0);
//   SSIM = per-channel mean of the SSIM map, Gaussian window 11x11 sigma 1.5 'valid',
//          C1 = (0.01*255)^2, C2 = (0.03*255)^2, averaged over channels.
#pragma once
#include <cstdint>
#include <vector>

#include "data/image.h"
#include "engine/tensor.h"

namespace sr::data {

struct MetricOptions {
  int crop_border = 0;
  bool test_y_channel = false;
};

// Images of any channel count, same size, alpha ignored. Without test_y_channel a gray image
// counts as R = G = B (beside a colour image it is replicated; two gray images give the numbers
// of three equal planes, which are those of their one plane). With test_y_channel a colour image
// is measured on its Y and a gray one on its own values, as BasicSR's to_y_channel leaves a
// one-channel image (a one-channel network's saved Y results); a gray image beside a colour one
// is refused there, since the two would be on different ranges (studio-swing Y vs full range).
double calculate_psnr(const Image& a, const Image& b, const MetricOptions& opt = {});
double calculate_ssim(const Image& a, const Image& b, const MetricOptions& opt = {});
// Float RGB tensors (1, 3, H, W) or (3, H, W) in [0, 1] on any device, or one-channel ones
// (1, 1, H, W) or (1, H, W) (a `color: y` dataset's images): measured as they are, also with
// test_y_channel, as BasicSR's to_y_channel leaves a one-channel image; one beside an RGB tensor
// follows the rules of the Image overloads.
double calculate_psnr(const Tensor& a, const Tensor& b, const MetricOptions& opt = {});
double calculate_ssim(const Tensor& a, const Tensor& b, const MetricOptions& opt = {});

// The 8-bit planes the metrics see: (3, H, W), or (1, H, W) for a one-channel tensor, as
// doubles with values 0..255.
struct MetricPlanes {
  int channels = 0, height = 0, width = 0;
  std::vector<double> v;  // channels * height * width
};
MetricPlanes quantize_for_metrics(const Image& img);
MetricPlanes quantize_for_metrics(const Tensor& rgb);
// Whether an image of width x height can be measured with `opt` (crop_border leaves
// something; SSIM: at least 11x11 after cropping); the error says what is missing.
void check_metric_size(int width, int height, const MetricOptions& opt, bool ssim);
// crop + optional Y conversion, as the metrics apply them.
MetricPlanes prepare_planes(const MetricPlanes& p, const MetricOptions& opt);
double psnr_planes(const MetricPlanes& a, const MetricPlanes& b);
double ssim_planes(const MetricPlanes& a, const MetricPlanes& b);

}  // namespace sr::data
