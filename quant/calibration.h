// Calibration of int8 activation ranges: statistics of one tensor gathered over the
// calibration images (its min and max, then a histogram of |x|), and the three ways of turning
// them into a clipping range:
//   minmax      [min, max] as observed: nothing clipped, the coarsest steps.
//   percentile  |x| clipped at the p-th percentile of its histogram (default 99.99): a few
//               rare outliers no longer stretch the step of every other value.
//   entropy     |x| clipped at the threshold whose 128-level quantised histogram is closest
//               to the clipped histogram in KL divergence: the calibration of TensorRT,
//               S. Migacz, "8-bit Inference with TensorRT", GPU Technology Conference 2017.
// percentile and entropy choose a threshold T on |x|; the range is [max(min, -T), min(max, T)],
// quantised asymmetrically (quant/int8.h), so a one-signed tensor (an image, a ReLU output)
// keeps all 256 levels.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace sr::quant {

enum class CalibMethod { minmax, percentile, entropy };

// "minmax", "percentile" or "entropy"; anything else is an error naming the value.
CalibMethod parse_calib_method(const std::string& name);
const char* calib_method_name(CalibMethod m);

// The histogram's resolution: TensorRT's 2048 bins of |x| over [0, max |x|].
constexpr int kHistogramBins = 2048;
// The levels one sign of a symmetric int8 tensor has (0..127), the target of the KL search.
constexpr int kEntropyLevels = 128;

struct TensorStats {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  int64_t count = 0;
  double bound = 0;          // the histogram covers |x| in [0, bound]
  std::vector<double> hist;  // kHistogramBins counts, empty until start_histogram()

  // Pass 1: min and max (a NaN or infinity is an error naming `what`).
  void observe_range(const float* p, int64_t n, const std::string& what);
  // Pass 2: fixes the histogram's bound at max(|min|, |max|) of pass 1, then counts |x|.
  void start_histogram();
  void observe_histogram(const float* p, int64_t n);
  bool needs_histogram() const { return !hist.empty(); }
};

// The smallest bin edge T (a multiple of bound / bins) with at least `percentile` % of the
// counts at |x| <= T.
double percentile_threshold(const std::vector<double>& hist, double bound, double percentile);
// TensorRT's KL search: for each i in [128, bins], P = hist[0, i) with the counts beyond
// folded into bin i - 1, Q = hist[0, i) merged into 128 levels and spread back evenly over
// the bins that P does not leave empty; returns i * bound / bins for the i of least KL(P || Q).
double entropy_threshold(const std::vector<double>& hist, double bound);

struct Range {
  double lo = 0, hi = 0;
};

// The clipping range of a tensor by `method` (percentile in (0, 100], used by percentile).
Range calibrated_range(const TensorStats& s, CalibMethod method, double percentile);

}  // namespace sr::quant
