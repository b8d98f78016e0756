// Post-training static int8 quantisation of a generator: calibration of every conv input's
// range on a folder of images (quant/calibration.h), and the fake-quant forward that
// computes what the int8 QDQ ONNX graph (deploy/onnx_export.h with `int8` set) computes:
// each conv's input quantised per tensor, its weights per output channel (or per tensor), its
// bias to int32, all dequantised back to float32 before a float convolution, exactly as
// QuantizeLinear / DequantizeLinear / Conv do. `srengine quantize` joins the two.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "layers/module.h"
#include "quant/calibration.h"
#include "quant/conv_walk.h"
#include "quant/int8.h"

namespace sr::quant {

struct CalibrationOptions {
  CalibMethod method = CalibMethod::percentile;
  double percentile = 99.99;
  bool per_channel = true;  // weights: one scale per output channel, else one per tensor
  bool symmetric = false;   // activations: zero point 0 (TensorRT's rule), else asymmetric
};

// What the int8 model needs: per conv (by dotted path) the range and int8 parameters of its
// input; the weight layout. The weights themselves are quantised from the net's on demand.
struct QuantTable {
  CalibrationOptions options;
  std::map<std::string, Range> ranges;
  std::map<std::string, ActivationQParams> inputs;
  // Conv inputs that held one value on every calibration image (a dead channel path, a flat
  // set): their int8 scale is a placeholder; the CLI warns, naming them.
  std::vector<std::string> constant_inputs;

  const ActivationQParams& input(const std::string& path) const;  // error naming a missing path
};

// Gathers the statistics of every conv input over the images fed to it (each a (N, C, H, W)
// float32 tensor): observe_ranges over all of them, then, for percentile and entropy,
// observe_histograms over the same images again.
class Calibrator {
 public:
  Calibrator(Module& net, const CalibrationOptions& options);
  void observe_ranges(const Tensor& x);
  bool needs_histograms() const { return options_.method != CalibMethod::minmax; }
  void observe_histograms(const Tensor& x);
  QuantTable table() const;
  const std::map<std::string, TensorStats>& stats() const { return stats_; }

 private:
  Module& net_;
  CalibrationOptions options_;
  std::map<std::string, TensorStats> stats_;
  std::string first_conv_;  // the conv that reads the network's input: its range covers [0, 1]
  bool histograms_started_ = false;
};

// Both passes over `images`.
QuantTable calibrate(Module& net, const std::vector<Tensor>& images, const CalibrationOptions& options);

// The int8 model's forward, by quantise-dequantise of every conv's input, weight and bias.
class FakeQuantForward {
 public:
  FakeQuantForward(Module& net, QuantTable table);
  Tensor operator()(const Tensor& x);
  const QuantTable& table() const { return table_; }

 private:
  Tensor conv(const Conv2d& c, const std::string& path, const Tensor& x);
  Module& net_;
  QuantTable table_;
  std::map<std::string, std::pair<Tensor, Tensor>> params_;  // dequantised weight and bias by path
};

// An image's centre crop for calibration and validation: at most `max_side` pixels a side,
// rounded down to a multiple of `divisor` (RRDBNet x2 / x1 pixel-unshuffle their input).
struct ImageCrop {
  std::string name;  // the file name
  Tensor lq;         // (1, 3, h, w) float32 in [0, 1]
  int64_t y0 = 0, x0 = 0;      // where the crop starts
  int64_t full_h = 0, full_w = 0;  // the image's size
};

// The largest image (width x height) a calibration or validation folder may hold: its
// centre crop alone is decoded, so this bounds decoding time, not memory.
constexpr int64_t kCalibrationMaxPixels = 1000000000;

// Every image of `dir` (sorted by name), cropped. A folder that does not exist, is not a
// folder, or holds no images is an error naming `what` and the path.
std::vector<ImageCrop> load_image_crops(const std::string& dir, const std::string& what, int64_t max_side,
                                        int64_t divisor);

// The region of a ground-truth image that matches `crop` at `scale` (the GT must be exactly
// scale times the LQ image's size: an error naming the file otherwise).
Tensor crop_ground_truth(const Tensor& gt, const ImageCrop& crop, int scale, const std::string& gt_path);

}  // namespace sr::quant
