// NIQE, the Natural Image Quality Evaluator: a no-reference quality score (lower is more
// natural) for validating real-world super-resolution where no GT exists.
//   A. Mittal, R. Soundararajan, A. C. Bovik, "Making a 'Completely Blind' Image Quality
//   Analyzer", IEEE Signal Processing Letters 20(3), 2013.
//
// As BasicSR's calculate_niqe computes it (so its numbers compare with published ones):
//  1. the image is rounded to 8 bits, `crop_border` pixels are cut from every edge, it is
//     reduced to BT.601 Y (metrics.h's float32 steps) and Y is rounded to integers;
//  2. it is cut to whole 96x96 blocks from the top-left;
//  3. at two scales (the image, then MATLAB's bicubic imresize by 1/2 of Y/255, x255) the
//     mean-subtracted contrast-normalised field (I - mu) / (sigma + 1) is formed, mu and
//     sigma being the local mean and deviation under the model's Gaussian window (scipy's
//     convolve with 'nearest' edges), and each block (48x48 at the second scale) yields 18
//     features: an asymmetric generalised Gaussian fit (shape alpha from the moment ratio
//     on the grid 0.2:0.001:10, left and right scales) of the field and of its products with
//     the field shifted by (0,1), (1,0), (1,1), (1,-1) (wrapping, as circshift does);
//  4. the 36-feature rows give a mean (NaNs skipped) and a covariance (rows without NaN,
//     N-1), and NIQE = sqrt((mu_p - mu)^T pinv((S_p + S) / 2) (mu_p - mu)) against the
//     pristine model (mu_p, S_p).
// Steps 1-3 keep BasicSR's float32 arrays: Y, mu, sigma, the field, the products and the
// resized image are float32 (each value the rounding of its float64 sum, as scipy's
// convolve stores it), and the fit's moments are NumPy's float32 pairwise sums. This is not
// a detail: a flat patch of integer Y then has mu equal to its pixels and a field of exact
// zeros, which the fit leaves out, where float64 leaves +-1e-14 that it counts (scores then
// differ by tens of percent on images with flat areas).
// Where BasicSR raises (an image without a block whose features are all finite: a flat image)
// srengine scores inf, the worst value, so validation goes on. With exactly one such block
// BasicSR's np.cov reads the row as one variable and adds its variance to every entry of the
// pristine covariance; srengine does the same.
//
// The pristine model is an .npz of mu_pris_param (36), cov_pris_param (36x36) and
// gaussian_window (k x k, k odd): BasicSR's basicsr/metrics/niqe_pris_params.npz, or one
// fitted to your own pristine images by fit_niqe_model (`srengine niqe-fit`).
#pragma once
#include <string>
#include <vector>

#include "data/image.h"
#include "data/metrics.h"
#include "engine/tensor.h"

namespace sr::data {

constexpr int kNiqeFeatures = 36;  // 18 per scale
constexpr int kNiqeBlock = 96;     // block side at the first scale

struct NiqeModel {
  std::vector<double> mu;      // kNiqeFeatures
  std::vector<double> cov;     // kNiqeFeatures^2, row-major, symmetric
  std::vector<double> window;  // window_size^2, row-major
  int window_size = 0;
};

// Reads and checks a pristine model: the three arrays, their shapes, finite values, a
// symmetric covariance and a window that sums to 1 within 1e-6; errors name the file.
NiqeModel load_niqe_model(const std::string& path);
void save_niqe_model(const std::string& path, const NiqeModel& model);
// The Gaussian window NIQE was defined with: 7x7, sigma 7/6, normalised to sum 1.
std::vector<double> niqe_gaussian_window();

// A float32 plane (row-major), as BasicSR's arrays are.
struct Plane {
  int height = 0, width = 0;
  std::vector<float> v;
};
// Step 1 above: the rounded Y plane NIQE measures.
Plane niqe_luminance(const MetricPlanes& rgb, int crop_border);

// Steps 2-3: one row of kNiqeFeatures per 96x96 block, blocks ordered column by column as
// BasicSR visits them; sharpness[b] is the mean of the first scale's sigma over block b.
struct NiqeBlockFeatures {
  int blocks_high = 0, blocks_wide = 0;
  std::vector<double> features;   // blocks x kNiqeFeatures
  std::vector<double> sharpness;  // blocks
};
NiqeBlockFeatures niqe_block_features(const Plane& y, const NiqeModel& model);
// Step 4 (inf without an all-finite row).
double niqe_from_features(const NiqeBlockFeatures& f, const NiqeModel& model);

// Whether a width x height image can be measured: at least two whole blocks after cropping.
void check_niqe_size(int width, int height, int crop_border);

double calculate_niqe(const Image& img, int crop_border, const NiqeModel& model);
// A float RGB tensor (1, 3, H, W) or (3, H, W) in [0, 1] on any device.
double calculate_niqe(const Tensor& rgb, int crop_border, const NiqeModel& model);

// Fits a pristine model, as the NIQE paper does: from every image the blocks whose
// sharpness exceeds `sharpness_threshold` x the image's sharpest block; mu is their features'
// mean (NaNs skipped), cov the covariance of the rows without NaN. Images as calculate_niqe
// sees them (crop_border 0). An error when fewer than kNiqeFeatures + 1 rows are kept.
class NiqeModelFitter {
 public:
  explicit NiqeModelFitter(double sharpness_threshold = 0.75);
  // Adds one image's blocks; returns how many were kept.
  int add(const Image& img);
  int64_t rows() const { return (int64_t)rows_.size() / kNiqeFeatures; }
  NiqeModel fit() const;

 private:
  double threshold_;
  NiqeModel base_;  // the window
  std::vector<double> rows_;
};

}  // namespace sr::data
