// LPIPS of images and validation tensors (see lpips_score.h).
#include "infer/lpips_score.h"

#include "data/metrics.h"
#include "engine/error.h"

namespace sr {

namespace {

double lpips_of_planes(const data::MetricPlanes& gt, const data::MetricPlanes& sr, int crop_border, Lpips& lpips) {
  data::MetricOptions opt;
  opt.crop_border = crop_border;
  const data::MetricPlanes a = data::prepare_planes(gt, opt), b = data::prepare_planes(sr, opt);
  SR_CHECK(a.width == b.width && a.height == b.height, "LPIPS: SR is ", b.width, "x", b.height, " but GT is ", a.width,
           "x", a.height);
  check_lpips_size(gt.width, gt.height, crop_border, lpips.net());
  const Tensor like = lpips.parameters().front();
  auto signed_unit = [&](const data::MetricPlanes& p) {
    std::vector<double> v(p.v.size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = (p.v[i] / 255.0 - 0.5) / 0.5;
    return Tensor::from_vector(v, {1, 3, p.height, p.width}, like.dtype()).to(like.device());
  };
  // LPIPS(x0, x1) is symmetric; BasicSR passes (restored, gt), and so does this.
  return lpips.distance(signed_unit(b), signed_unit(a)).front();
}

}  // namespace

double calculate_lpips(const data::Image& gt, const data::Image& sr, int crop_border, Lpips& lpips) {
  return lpips_of_planes(data::quantize_for_metrics(gt), data::quantize_for_metrics(sr), crop_border, lpips);
}

double calculate_lpips(const Tensor& sr, const Tensor& gt, int crop_border, Lpips& lpips) {
  return lpips_of_planes(data::quantize_for_metrics(gt), data::quantize_for_metrics(sr), crop_border, lpips);
}

void check_lpips_size(int width, int height, int crop_border, LpipsNet net) {
  data::MetricOptions opt;
  opt.crop_border = crop_border;
  data::check_metric_size(width, height, opt, false);
  try {
    Lpips::check_size(net, width - 2 * crop_border, height - 2 * crop_border);
  } catch (const Error& e) {
    if (crop_border == 0) throw;
    fail(e.what(), " (a ", width, "x", height, " image with crop_border ", crop_border, ")");
  }
}

data::NetworkMetric lpips_network_metric(Lpips& lpips, int crop_border) {
  data::NetworkMetric m;
  m.name = "LPIPS";
  m.check_size = [net = lpips.net(), crop_border](int w, int h) { check_lpips_size(w, h, crop_border, net); };
  m.measure = [&lpips, crop_border](const data::Image& gt, const data::Image& sr) {
    return calculate_lpips(gt, sr, crop_border, lpips);
  };
  return m;
}

}  // namespace sr
