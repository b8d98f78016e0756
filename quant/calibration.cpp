// Calibration statistics and the minmax / percentile / entropy ranges (see calibration.h).
#include "quant/calibration.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace sr::quant {

CalibMethod parse_calib_method(const std::string& name) {
  if (name == "minmax") return CalibMethod::minmax;
  if (name == "percentile") return CalibMethod::percentile;
  if (name == "entropy") return CalibMethod::entropy;
  fail("--method '", name, "': expected minmax, percentile or entropy");
}

const char* calib_method_name(CalibMethod m) {
  switch (m) {
    case CalibMethod::minmax: return "minmax";
    case CalibMethod::percentile: return "percentile";
    case CalibMethod::entropy: return "entropy";
  }
  return "?";
}

void TensorStats::observe_range(const float* p, int64_t n, const std::string& what) {
  float lo_f = std::numeric_limits<float>::infinity(), hi_f = -lo_f;
  bool finite = true;
  for (int64_t i = 0; i < n; ++i) {
    finite &= std::isfinite(p[i]);
    lo_f = std::min(lo_f, p[i]);
    hi_f = std::max(hi_f, p[i]);
  }
  SR_CHECK(finite, "calibration: ", what, " has a NaN or infinite value (the fp32 model overflows on a calibration image)");
  lo = std::min(lo, double(lo_f));
  hi = std::max(hi, double(hi_f));
  count += n;
}

void TensorStats::start_histogram() {
  SR_CHECK(count > 0, "calibration: a histogram before any range was observed");
  bound = std::max(std::fabs(lo), std::fabs(hi));
  hist.assign(kHistogramBins, 0.0);
}

void TensorStats::observe_histogram(const float* p, int64_t n) {
  if (bound <= 0) {  // all zeros: everything in bin 0
    hist[0] += double(n);
    return;
  }
  const double per = kHistogramBins / bound;
  for (int64_t i = 0; i < n; ++i) {
    // |x| == bound (and anything a rounding puts past it) goes into the last bin.
    const int64_t b = std::min<int64_t>(int64_t(std::fabs(double(p[i])) * per), kHistogramBins - 1);
    hist[b] += 1;
  }
}

double percentile_threshold(const std::vector<double>& hist, double bound, double percentile) {
  SR_CHECK(percentile > 0 && percentile <= 100, "--percentile ", percentile, ": must be in (0, 100]");
  double total = 0;
  for (double c : hist) total += c;
  SR_CHECK(total > 0, "percentile calibration of an empty histogram");
  const double want = total * percentile / 100.0;
  double cum = 0;
  const int64_t bins = int64_t(hist.size());
  for (int64_t i = 0; i < bins; ++i) {
    cum += hist[i];
    if (cum >= want) return double(i + 1) * bound / double(bins);
  }
  return bound;
}

namespace {

// KL(P || Q) of the candidate threshold i (hist[0, i), outliers folded into bin i - 1).
double kl_of_candidate(const std::vector<double>& hist, int64_t i, double outliers, std::vector<double>& p,
                       std::vector<double>& q) {
  p.assign(hist.begin(), hist.begin() + i);
  p[i - 1] += outliers;
  q.assign(i, 0.0);
  // Level j merges bins [j i / 128, (j + 1) i / 128) and spreads its count evenly over those of
  // them where P is not empty (an empty bin stays empty after quantisation too).
  for (int64_t j = 0; j < kEntropyLevels; ++j) {
    const int64_t b0 = j * i / kEntropyLevels, b1 = (j + 1) * i / kEntropyLevels;
    double sum = 0;
    int64_t nonzero = 0;
    for (int64_t b = b0; b < b1; ++b) {
      sum += hist[b];
      nonzero += p[b] != 0;
    }
    if (nonzero == 0) continue;
    for (int64_t b = b0; b < b1; ++b)
      if (p[b] != 0) q[b] = sum / double(nonzero);
  }
  double ps = 0, qs = 0;
  for (int64_t b = 0; b < i; ++b) {
    ps += p[b];
    qs += q[b];
  }
  if (qs <= 0) return std::numeric_limits<double>::infinity();
  // Where P has mass and Q none (outliers folded into an empty last level), Q gets a small
  // floor: a large but finite penalty for clipping there.
  constexpr double kFloor = 1e-6;
  double kl = 0;
  for (int64_t b = 0; b < i; ++b) {
    if (p[b] == 0) continue;
    const double pn = p[b] / ps, qn = std::max(q[b] / qs, kFloor);
    kl += pn * std::log(pn / qn);
  }
  return kl;
}

}  // namespace

double entropy_threshold(const std::vector<double>& hist, double bound) {
  const int64_t bins = int64_t(hist.size());
  SR_CHECK(bins >= kEntropyLevels, "entropy calibration needs at least ", kEntropyLevels, " bins, got ", bins);
  double total = 0;
  for (double c : hist) total += c;
  SR_CHECK(total > 0, "entropy calibration of an empty histogram");
  // outliers[i] = counts in bins [i, bins).
  std::vector<double> beyond(bins + 1, 0.0);
  for (int64_t b = bins - 1; b >= 0; --b) beyond[b] = beyond[b + 1] + hist[b];
  std::vector<double> p, q;
  int64_t best = bins;
  double best_kl = std::numeric_limits<double>::infinity();
  for (int64_t i = kEntropyLevels; i <= bins; ++i) {
    const double kl = kl_of_candidate(hist, i, beyond[i], p, q);
    if (kl < best_kl) {
      best_kl = kl;
      best = i;
    }
  }
  return double(best) * bound / double(bins);
}

Range calibrated_range(const TensorStats& s, CalibMethod method, double percentile) {
  SR_CHECK(s.count > 0, "calibration: a tensor that no calibration image reached");
  if (method == CalibMethod::minmax) return {s.lo, s.hi};
  SR_CHECK(s.needs_histogram(), "calibration: ", calib_method_name(method), " needs the histogram pass");
  const double t = method == CalibMethod::percentile ? percentile_threshold(s.hist, s.bound, percentile)
                                                     : entropy_threshold(s.hist, s.bound);
  return {std::max(s.lo, -t), std::min(s.hi, t)};
}

}  // namespace sr::quant
