// Calibration passes, the fake-quant forward and the image crops (see ptq.h).
#include "quant/ptq.h"

#include <algorithm>
#include <filesystem>

#include "data/dataset.h"
#include "data/image.h"
#include "data/image_io.h"
#include "engine/error.h"
#include "engine/ops.h"

namespace sr::quant {

namespace fs = std::filesystem;

const ActivationQParams& QuantTable::input(const std::string& path) const {
  const auto it = inputs.find(path);
  SR_CHECK(it != inputs.end(), "int8 quantisation: no calibrated range for the input of conv '", path,
           "' (the calibration did not reach it)");
  return it->second;
}

namespace {

// A contiguous float32 CPU copy (the statistics read it as one array).
Tensor host(const Tensor& x) { return x.detach().to(Device::cpu()).to(DType::f32).contiguous(); }

}  // namespace

Calibrator::Calibrator(Module& net, const CalibrationOptions& options) : net_(net), options_(options) {
  SR_CHECK(options.percentile > 0 && options.percentile <= 100, "--percentile ", options.percentile,
           ": must be in (0, 100]");
}

void Calibrator::observe_ranges(const Tensor& x) {
  SR_CHECK(!histograms_started_, "calibration: every range pass must come before the histogram pass");
  forward_by_convs(net_, x, [&](const Conv2d& c, const std::string& path, const Tensor& in) {
    const Tensor h = host(in);
    if (first_conv_.empty()) first_conv_ = path;  // the conv that reads the image itself
    stats_[path].observe_range(h.data<float>(), h.numel(), "the input of conv '" + path + "'");
    return plain_conv(c, path, in);
  });
}

void Calibrator::observe_histograms(const Tensor& x) {
  if (!histograms_started_) {
    SR_CHECK(!stats_.empty(), "calibration: the histogram pass needs the range pass first");
    for (auto& [path, s] : stats_) s.start_histogram();
    histograms_started_ = true;
  }
  forward_by_convs(net_, x, [&](const Conv2d& c, const std::string& path, const Tensor& in) {
    const auto it = stats_.find(path);
    SR_CHECK(it != stats_.end(), "calibration: conv '", path, "' was not seen in the range pass");
    const Tensor h = host(in);
    it->second.observe_histogram(h.data<float>(), h.numel());
    return plain_conv(c, path, in);
  });
}

QuantTable Calibrator::table() const {
  SR_CHECK(!stats_.empty(), "calibration: no image was observed");
  SR_CHECK(!needs_histograms() || histograms_started_, "calibration: ", calib_method_name(options_.method),
           " needs the histogram pass");
  QuantTable t;
  t.options = options_;
  for (const auto& [path, s] : stats_) {
    Range r = calibrated_range(s, options_.method, options_.percentile);
    // The first conv reads the image, which is in [0, 1] by the model's contract whatever the
    // calibration photos hold: a dark or flat set must not leave it two levels.
    if (path == first_conv_) r = {std::min(r.lo, 0.0), std::max(r.hi, 1.0)};
    if (!(r.hi > r.lo)) t.constant_inputs.push_back(path);
    t.ranges[path] = r;
    t.inputs[path] = activation_qparams(r.lo, r.hi, options_.symmetric);
  }
  return t;
}

QuantTable calibrate(Module& net, const std::vector<Tensor>& images, const CalibrationOptions& options) {
  SR_CHECK(!images.empty(), "calibration: no images");
  Calibrator c(net, options);
  for (const Tensor& x : images) c.observe_ranges(x);
  if (c.needs_histograms())
    for (const Tensor& x : images) c.observe_histograms(x);
  return c.table();
}

FakeQuantForward::FakeQuantForward(Module& net, QuantTable table) : net_(net), table_(std::move(table)) {}

Tensor FakeQuantForward::conv(const Conv2d& c, const std::string& path, const Tensor& x) {
  const ActivationQParams& q = table_.input(path);
  auto it = params_.find(path);
  if (it == params_.end()) {
    const WeightQuant w = quantize_weight(c.weight, table_.options.per_channel);
    Tensor b;
    if (c.bias.defined()) b = dequantize_bias(quantize_bias(c.bias, q.scale, w, path + ".bias"), c.bias.numel());
    it = params_.emplace(path, std::make_pair(dequantize_weight(w), b)).first;
  }
  const Tensor xq = fake_quant_activation(x, q);
  return conv2d(xq, it->second.first, it->second.second, c.stride, c.padding);
}

Tensor FakeQuantForward::operator()(const Tensor& x) {
  return forward_by_convs(net_, host(x), [&](const Conv2d& c, const std::string& path, const Tensor& in) {
    return conv(c, path, in);
  });
}

std::vector<ImageCrop> load_image_crops(const std::string& dir, const std::string& what, int64_t max_side,
                                        int64_t divisor) {
  SR_CHECK(max_side >= divisor && divisor >= 1, what, ": crop size ", max_side, " is below ", divisor);
  std::error_code ec;
  SR_CHECK(fs::exists(dir, ec), what, " '", dir, "' does not exist");
  SR_CHECK(fs::is_directory(dir, ec), what, " '", dir, "' is not a folder");
  std::vector<std::string> files;
  try {
    files = data::list_image_files(dir);  // an error when there are none
  } catch (const std::exception& e) {
    fail(what, " '", dir, "': ", e.what());
  }
  SR_CHECK(!files.empty(), what, " '", dir, "': no images in folder");
  std::vector<ImageCrop> out;
  for (const std::string& name : files) {
    const std::string f = (fs::path(dir) / name).string();
    const data::ImageInfo info = data::read_image_info(f);
    const int64_t h = info.height, w = info.width;
    const int64_t ch = std::min(h, max_side) / divisor * divisor, cw = std::min(w, max_side) / divisor * divisor;
    SR_CHECK(ch > 0 && cw > 0, what, ": '", f, "' is ", w, "x", h, ", smaller than ", divisor,
             " pixels (the network's input must be a multiple of it)");
    ImageCrop c;
    c.name = name;
    c.y0 = (h - ch) / 2;
    c.x0 = (w - cw) / 2;
    c.full_h = h;
    c.full_w = w;
    // Only the centre crop is decoded (PNG and JPEG stop after its last row), so a large photo
    // costs its crop's memory; the pixel limit is raised to match (kCalibrationMaxPixels).
    data::DecodeOptions d;
    d.max_pixels = kCalibrationMaxPixels;
    d.region = {(int)c.y0, (int)c.x0, (int)ch, (int)cw};
    c.lq = data::image_to_tensor(data::read_image(f, d)).contiguous();
    out.push_back(std::move(c));
  }
  return out;
}

Tensor crop_ground_truth(const Tensor& gt, const ImageCrop& crop, int scale, const std::string& gt_path) {
  const int64_t lq_h = crop.full_h, lq_w = crop.full_w;
  SR_CHECK(gt.size(2) == lq_h * scale && gt.size(3) == lq_w * scale, "--val-gt: '", gt_path, "' is ", gt.size(3),
           "x", gt.size(2), ", not ", scale, " times its input ", crop.name, " (", lq_w, "x", lq_h, ")");
  return gt.narrow(2, crop.y0 * scale, crop.lq.size(2) * scale)
      .narrow(3, crop.x0 * scale, crop.lq.size(3) * scale)
      .contiguous();
}

}  // namespace sr::quant
