// NIQE (see niqe.h for the steps and the paper).
#include "data/niqe.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "data/imresize.h"
#include "data/npz.h"
#include "engine/error.h"

namespace sr::data {

namespace {

constexpr int kF = kNiqeFeatures;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The shape grid 0.2, 0.201, .., 10 and r(a) = Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)), the
// ratio (E|x|)^2 / E[x^2] of a generalised Gaussian of shape a. The grid's points are
// 0.2 + i * ((0.2 + 0.001) - 0.2), how NumPy's arange(0.2, 10.001, 0.001) forms them, so
// alpha takes the same values as BasicSR's.
struct ShapeGrid {
  std::vector<double> alpha, ratio;
  ShapeGrid() {
    const double start = 0.2, step = (0.2 + 0.001) - 0.2;
    const int n = (int)std::ceil((10.001 - 0.2) / 0.001);
    for (int i = 0; i < n; ++i) {
      const double a = start + i * step, r = 1.0 / a;
      const double g2 = std::tgamma(r * 2);
      alpha.push_back(a);
      ratio.push_back(g2 * g2 / (std::tgamma(r) * std::tgamma(r * 3)));
    }
  }
};
const ShapeGrid& shape_grid() {
  static const ShapeGrid g;
  return g;
}

// NumPy's sum of a contiguous float32 array (add.reduce's pairwise summation): under 8
// values one by one; up to 128 in eight interleaved float32 partial sums combined as
// ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the remainder; longer arrays
// split at half (rounded down to a multiple of 8) and the halves added.
float numpy_sum(const float* a, size_t n) {
  if (n < 8) {
    float r = 0;
    for (size_t i = 0; i < n; ++i) r += a[i];
    return r;
  }
  if (n <= 128) {
    float r[8];
    for (int k = 0; k < 8; ++k) r[k] = a[k];
    size_t i = 8;
    for (; i < n - n % 8; i += 8)
      for (int k = 0; k < 8; ++k) r[k] += a[i + k];
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t half = n / 2;
  half -= half % 8;
  return numpy_sum(a, half) + numpy_sum(a + half, n - half);
}

// np.mean of a float32 array: the float32 sum divided in float32; NaN when empty.
float numpy_mean(const std::vector<float>& v) {
  if (v.empty()) return std::numeric_limits<float>::quiet_NaN();
  return numpy_sum(v.data(), v.size()) / (float)v.size();
}

// An asymmetric generalised Gaussian fit of v (shape alpha, left and right scales), by the
// moment matching of Lasmar et al.: the left / right deviations give gamma_hat, the moment
// ratio r_hat = E|x|^2 / E[x^2] is corrected for the asymmetry and matched against the grid.
// The moments are float32 (NumPy's means of the float32 block); from gamma_hat on, the
// arithmetic is float64, as NumPy promotes float32 scalars met with Python numbers. An
// empty side (a flat block: its field is exactly 0) leaves NaN, and then alpha is the
// grid's first point, as NumPy's argmin returns the first NaN.
struct Aggd {
  double alpha, beta_left, beta_right;
};
Aggd fit_aggd(const std::vector<float>& v, std::vector<float>& scratch) {
  scratch.clear();
  for (float x : v)
    if (x < 0) scratch.push_back(x * x);
  const float left_std = std::sqrt(numpy_mean(scratch));
  scratch.clear();
  for (float x : v)
    if (x > 0) scratch.push_back(x * x);
  const float right_std = std::sqrt(numpy_mean(scratch));
  const double gamma_hat = (double)(left_std / right_std);
  scratch.clear();
  for (float x : v) scratch.push_back(std::fabs(x));
  const double mean_abs = numpy_mean(scratch);
  scratch.clear();
  for (float x : v) scratch.push_back(x * x);
  const double r_hat = mean_abs * mean_abs / (double)numpy_mean(scratch);
  const double r_hat_norm = r_hat * (gamma_hat * gamma_hat * gamma_hat + 1) * (gamma_hat + 1) /
                            ((gamma_hat * gamma_hat + 1) * (gamma_hat * gamma_hat + 1));
  const ShapeGrid& g = shape_grid();
  size_t best = 0;
  if (!std::isnan(r_hat_norm)) {
    double best_d = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < g.ratio.size(); ++i) {
      const double d = (g.ratio[i] - r_hat_norm) * (g.ratio[i] - r_hat_norm);
      if (d < best_d) best_d = d, best = i;  // the first of equal minima
    }
  }
  const double a = g.alpha[best];
  const double scale = std::sqrt(std::tgamma(1 / a) / std::tgamma(3 / a));
  return {a, (double)left_std * scale, (double)right_std * scale};
}

// 18 features of one float32 block of the normalised field: the AGGD of the field (alpha
// and the mean scale), then of each neighbour product (alpha, the distribution's mean, both
// scales).
void block_features(const std::vector<float>& block, int bh, int bw, double* out) {
  std::vector<float> scratch;
  scratch.reserve(block.size());
  const Aggd f = fit_aggd(block, scratch);
  out[0] = f.alpha;
  out[1] = (f.beta_left + f.beta_right) / 2;
  const int shifts[4][2] = {{0, 1}, {1, 0}, {1, 1}, {1, -1}};
  std::vector<float> product(block.size());
  for (int s = 0; s < 4; ++s) {
    const int dy = shifts[s][0], dx = shifts[s][1];
    // np.roll(block, (dy, dx)): shifted[y][x] = block[(y - dy) mod bh][(x - dx) mod bw].
    for (int y = 0; y < bh; ++y) {
      const int sy = ((y - dy) % bh + bh) % bh;
      for (int x = 0; x < bw; ++x) {
        const int sx = ((x - dx) % bw + bw) % bw;
        product[(size_t)y * bw + x] = block[(size_t)y * bw + x] * block[(size_t)sy * bw + sx];
      }
    }
    const Aggd p = fit_aggd(product, scratch);
    double* o = out + 2 + 4 * s;
    o[0] = p.alpha;
    o[1] = (p.beta_right - p.beta_left) * (std::tgamma(2 / p.alpha) / std::tgamma(1 / p.alpha));
    o[2] = p.beta_left;
    o[3] = p.beta_right;
  }
}

// scipy.ndimage.convolve(img, window, mode='nearest') of a float32 image for an odd k x k
// window, c = k / 2:
//   out[y][x] = sum over dy, dx in -c..c of w[c - dy][c - dx] img[clamp(y + dy)][clamp(x + dx)],
// summed in float64 in scipy's order (dy, then dx, ascending), without fused multiply-adds
// (this file is compiled with -ffp-contract=off), and stored as float32, as scipy stores it
// for a float32 input.
Plane convolve_nearest(const Plane& img, const std::vector<double>& w, int k) {
  const int c = k / 2, h = img.height, wd = img.width;
  std::vector<std::vector<int>> col(k, std::vector<int>(wd));
  for (int j = 0; j < k; ++j)
    for (int x = 0; x < wd; ++x) col[j][x] = std::clamp(x + j - c, 0, wd - 1);
  Plane out{h, wd, std::vector<float>((size_t)h * wd)};
  std::vector<double> acc(wd);
  for (int y = 0; y < h; ++y) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int i = 0; i < k; ++i) {  // dy = i - c
      const float* row = img.v.data() + (size_t)std::clamp(y + i - c, 0, h - 1) * wd;
      for (int j = 0; j < k; ++j) {  // dx = j - c
        const double wij = w[(size_t)(k - 1 - i) * k + (k - 1 - j)];
        const int* cj = col[j].data();
        for (int x = 0; x < wd; ++x) acc[x] += wij * (double)row[cj[x]];
      }
    }
    float* o = out.v.data() + (size_t)y * wd;
    for (int x = 0; x < wd; ++x) o[x] = (float)acc[x];
  }
  return out;
}

// The normalised field (I - mu) / (sigma + 1) and sigma = sqrt(|conv(I^2) - mu^2|), every
// array float32 as in BasicSR.
void normalise(const Plane& img, const NiqeModel& m, Plane& field, Plane& sigma) {
  Plane sq = img;
  for (float& x : sq.v) x = x * x;
  const Plane mu = convolve_nearest(img, m.window, m.window_size);
  const Plane mu_sq = convolve_nearest(sq, m.window, m.window_size);
  field = img;
  sigma = img;
  for (size_t i = 0; i < img.v.size(); ++i) {
    sigma.v[i] = std::sqrt(std::fabs(mu_sq.v[i] - mu.v[i] * mu.v[i]));
    field.v[i] = (img.v[i] - mu.v[i]) / (sigma.v[i] + 1.0f);
  }
}

// MATLAB's bicubic resize by 1/2 (antialiased: an 8-tap kernel) of a float32 plane, rows
// first, as BasicSR's imresize runs it on a float32 tensor: each output a float32 sum over
// the taps in order, sum = sum + w_k x_k, every product and sum rounded to float32 (torch's
// mv on the reference BLAS sums so; an optimised BLAS may reorder, moving values by an
// ulp). At this scale every weight is a short dyadic fraction, exact in float32.
Plane resize_half(const Plane& img) {
  const int oh = resized_length(img.height, 0.5), ow = resized_length(img.width, 0.5);
  const ResizeWeights wh = resize_weights(img.height, oh, 0.5), ww = resize_weights(img.width, ow, 0.5);
  Plane rows{oh, img.width, std::vector<float>((size_t)oh * img.width, 0.0f)};
  for (int i = 0; i < oh; ++i) {
    float* out = rows.v.data() + (size_t)i * img.width;
    for (int k = 0; k < wh.taps; ++k) {
      const float wk = (float)wh.weights[(size_t)i * wh.taps + k];
      const float* in = img.v.data() + (size_t)mirror_index(wh.first[i] + k, img.height) * img.width;
      for (int x = 0; x < img.width; ++x) out[x] = out[x] + wk * in[x];
    }
  }
  Plane out{oh, ow, std::vector<float>((size_t)oh * ow)};
  for (int i = 0; i < oh; ++i)
    for (int j = 0; j < ow; ++j) {
      float sum = 0.0f;
      for (int k = 0; k < ww.taps; ++k)
        sum = sum + (float)ww.weights[(size_t)j * ww.taps + k] *
                        rows.v[(size_t)i * img.width + mirror_index(ww.first[j] + k, img.width)];
      out.v[(size_t)i * ow + j] = sum;
    }
  return out;
}

// The eigen-decomposition of a symmetric matrix (n x n, row-major) by cyclic Jacobi
// rotations: A = V diag(values) V^T, V's columns the eigenvectors.
struct SymmetricEigen {
  std::vector<double> values, vectors;
};
SymmetricEigen symmetric_eigen(std::vector<double> a, int n) {
  std::vector<double> v((size_t)n * n, 0.0);
  for (int i = 0; i < n; ++i) v[(size_t)i * n + i] = 1;
  auto A = [&](int i, int j) -> double& { return a[(size_t)i * n + j]; };
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0, diag = 0;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) (i == j ? diag : off) += A(i, j) * A(i, j);
    if (off <= 1e-30 * diag || off == 0) break;
    for (int p = 0; p < n - 1; ++p)
      for (int q = p + 1; q < n; ++q) {
        if (A(p, q) == 0) continue;
        // The rotation that zeroes A(p, q): tan(2 theta) = 2 A_pq / (A_qq - A_pp).
        const double theta = (A(q, q) - A(p, p)) / (2 * A(p, q));
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double cs = 1 / std::sqrt(t * t + 1), sn = t * cs;
        for (int k = 0; k < n; ++k) {  // columns p and q
          const double akp = A(k, p), akq = A(k, q);
          A(k, p) = cs * akp - sn * akq;
          A(k, q) = sn * akp + cs * akq;
        }
        for (int k = 0; k < n; ++k) {  // rows p and q
          const double apk = A(p, k), aqk = A(q, k);
          A(p, k) = cs * apk - sn * aqk;
          A(q, k) = sn * apk + cs * aqk;
        }
        for (int k = 0; k < n; ++k) {
          double& vkp = v[(size_t)k * n + p];
          double& vkq = v[(size_t)k * n + q];
          const double x = vkp, y = vkq;
          vkp = cs * x - sn * y;
          vkq = sn * x + cs * y;
        }
      }
  }
  SymmetricEigen e;
  for (int i = 0; i < n; ++i) e.values.push_back(A(i, i));
  e.vectors = std::move(v);
  return e;
}

// The Moore-Penrose inverse of a symmetric matrix: V diag(1/l for |l| > 1e-15 max|l|) V^T,
// NumPy's pinv cut-off (the singular values of a symmetric matrix are |l|).
std::vector<double> symmetric_pinv(const std::vector<double>& a, int n) {
  const SymmetricEigen e = symmetric_eigen(a, n);
  double largest = 0;
  for (double l : e.values) largest = std::max(largest, std::fabs(l));
  std::vector<double> out((size_t)n * n, 0.0);
  for (int k = 0; k < n; ++k) {
    const double l = e.values[k];
    if (!(std::fabs(l) > 1e-15 * largest)) continue;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) out[(size_t)i * n + j] += e.vectors[(size_t)i * n + k] * e.vectors[(size_t)j * n + k] / l;
  }
  return out;
}

// The statistics of feature rows NIQE needs: each column's mean over its non-NaN values
// (nanmean) and the covariance (N - 1) of the rows that hold no NaN about their own mean
// (np.cov of those rows); finite_rows counts them.
struct FeatureMoments {
  std::vector<double> mean, cov;
  int64_t finite_rows = 0;
};
FeatureMoments feature_moments(const double* rows, int64_t n) {
  FeatureMoments m;
  m.mean.assign(kF, 0.0);
  std::vector<int64_t> count(kF, 0);
  std::vector<const double*> finite;
  for (int64_t b = 0; b < n; ++b) {
    const double* row = rows + b * kF;
    bool ok = true;
    for (int k = 0; k < kF; ++k) {
      if (std::isnan(row[k])) {
        ok = false;
        continue;
      }
      m.mean[k] += row[k];
      ++count[k];
    }
    if (ok) finite.push_back(row);
  }
  for (int k = 0; k < kF; ++k) m.mean[k] = count[k] ? m.mean[k] / (double)count[k] : kNaN;
  m.finite_rows = (int64_t)finite.size();
  m.cov.assign((size_t)kF * kF, kNaN);
  if (finite.empty()) return m;
  if (finite.size() == 1) {
    // np.cov(rows, rowvar=False) of a single row does not transpose it: the row is one
    // variable of 36 observations, whose variance (N - 1) fills the matrix when broadcast.
    double mean = 0, var = 0;
    for (int k = 0; k < kF; ++k) mean += finite[0][k];
    mean /= kF;
    for (int k = 0; k < kF; ++k) var += (finite[0][k] - mean) * (finite[0][k] - mean);
    std::fill(m.cov.begin(), m.cov.end(), var / (kF - 1));
    return m;
  }
  std::vector<double> rmean(kF, 0.0);
  for (const double* row : finite)
    for (int k = 0; k < kF; ++k) rmean[k] += row[k];
  for (double& x : rmean) x /= (double)finite.size();
  std::fill(m.cov.begin(), m.cov.end(), 0.0);
  for (const double* row : finite)
    for (int i = 0; i < kF; ++i)
      for (int j = 0; j < kF; ++j) m.cov[(size_t)i * kF + j] += (row[i] - rmean[i]) * (row[j] - rmean[j]);
  for (double& x : m.cov) x /= (double)(finite.size() - 1);
  return m;
}

std::vector<double> gaussian_window(int k, double sigma) {
  std::vector<double> w((size_t)k * k);
  double sum = 0;
  const int c = k / 2;
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j) sum += w[(size_t)i * k + j] = std::exp(-((i - c) * (i - c) + (j - c) * (j - c)) /
                                                                   (2 * sigma * sigma));
  for (double& x : w) x /= sum;
  return w;
}

}  // namespace

std::vector<double> niqe_gaussian_window() { return gaussian_window(7, 7.0 / 6.0); }

NiqeModel load_niqe_model(const std::string& path) {
  const std::map<std::string, NpyArray> arrays = read_npz(path, 1 << 20);
  auto get = [&](const char* name) -> const NpyArray& {
    const auto it = arrays.find(name);
    SR_CHECK(it != arrays.end(), "NIQE model '", path, "' has no array '", name, "' (a pristine model holds "
             "mu_pris_param, cov_pris_param and gaussian_window, as BasicSR's niqe_pris_params.npz)");
    for (double x : it->second.values)
      SR_CHECK(std::isfinite(x) && std::fabs(x) <= 1e100, "NIQE model '", path, "': '", name, "' holds ", x,
               std::isfinite(x) ? ", beyond 1e100 (a model's values are of order 1)" : ", not a finite number");
    return it->second;
  };
  const NpyArray& mu = get("mu_pris_param");
  const NpyArray& cov = get("cov_pris_param");
  const NpyArray& win = get("gaussian_window");
  SR_CHECK(mu.numel() == kF && (mu.shape.size() == 1 || (mu.shape.size() == 2 && (mu.shape[0] == 1 || mu.shape[1] == 1))),
           "NIQE model '", path, "': 'mu_pris_param' must hold ", kF, " values (shape (36,) or (1, 36)), got ",
           mu.numel(), " in ", mu.shape.size(), " dimension(s)");
  SR_CHECK((cov.shape == std::vector<int64_t>{kF, kF}), "NIQE model '", path, "': 'cov_pris_param' must be 36x36");
  for (int i = 0; i < kF; ++i)
    for (int j = 0; j < i; ++j) {
      const double a = cov.values[i * kF + j], b = cov.values[j * kF + i];
      SR_CHECK(std::fabs(a - b) <= 1e-9 * std::max({1.0, std::fabs(a), std::fabs(b)}), "NIQE model '", path,
               "': 'cov_pris_param' is not symmetric (", a, " at [", i, ", ", j, "], ", b, " at [", j, ", ", i, "])");
    }
  // A covariance has no negative variance along any direction: a model with one would give
  // square roots of negative numbers (NaN scores).
  const SymmetricEigen e = symmetric_eigen(cov.values, kF);
  double largest = 0, smallest = 0;
  for (double l : e.values) largest = std::max(largest, std::fabs(l)), smallest = std::min(smallest, l);
  SR_CHECK(smallest >= -1e-9 * largest, "NIQE model '", path, "': 'cov_pris_param' is not a covariance (an eigenvalue "
           "of ", smallest, ", the largest being ", largest, ")");
  SR_CHECK(win.shape.size() == 2 && win.shape[0] == win.shape[1] && win.shape[0] % 2 == 1 && win.shape[0] <= 31,
           "NIQE model '", path, "': 'gaussian_window' must be square with an odd side up to 31");
  double sum = 0;
  for (double x : win.values) sum += x;
  SR_CHECK(std::fabs(sum - 1) <= 1e-6, "NIQE model '", path, "': 'gaussian_window' sums to ", sum, ", not 1");
  NiqeModel m;
  m.mu = mu.values;
  m.cov = cov.values;
  m.window = win.values;
  m.window_size = (int)win.shape[0];
  return m;
}

void save_niqe_model(const std::string& path, const NiqeModel& m) {
  write_npz(path, {{"mu_pris_param", NpyArray{{1, kF}, m.mu}},
                   {"cov_pris_param", NpyArray{{kF, kF}, m.cov}},
                   {"gaussian_window", NpyArray{{m.window_size, m.window_size}, m.window}}});
}

Plane niqe_luminance(const MetricPlanes& rgb, int crop_border) {
  MetricOptions opt;
  opt.crop_border = crop_border;
  opt.test_y_channel = true;
  const MetricPlanes y = prepare_planes(rgb, opt);
  SR_CHECK(y.channels == 1, "NIQE: expected one Y plane");
  Plane p{y.height, y.width, std::vector<float>(y.v.size())};
  // The Y values are float32 already; NumPy's round is half to even.
  for (size_t i = 0; i < y.v.size(); ++i) p.v[i] = std::nearbyint((float)y.v[i]);
  return p;
}

void check_niqe_size(int width, int height, int crop_border) {
  const int w = width - 2 * crop_border, h = height - 2 * crop_border;
  SR_CHECK(w > 0 && h > 0, "NIQE: crop_border ", crop_border, " leaves nothing of a ", width, "x", height, " image");
  SR_CHECK((int64_t)(w / kNiqeBlock) * (h / kNiqeBlock) >= 2, "NIQE needs at least two whole ", kNiqeBlock, "x",
           kNiqeBlock, " blocks (e.g. 192x96) after cropping, got ", w, "x", h, " (a ", width, "x", height,
           " image with crop_border ", crop_border, ")");
}

NiqeBlockFeatures niqe_block_features(const Plane& y, const NiqeModel& m) {
  NiqeBlockFeatures f;
  f.blocks_high = y.height / kNiqeBlock;
  f.blocks_wide = y.width / kNiqeBlock;
  const int blocks = f.blocks_high * f.blocks_wide;
  f.features.assign((size_t)blocks * kF, 0.0);
  f.sharpness.assign(blocks, 0.0);
  if (blocks == 0) return f;
  Plane img{f.blocks_high * kNiqeBlock, f.blocks_wide * kNiqeBlock, {}};
  img.v.resize((size_t)img.height * img.width);
  for (int r = 0; r < img.height; ++r)
    std::copy_n(y.v.data() + (size_t)r * y.width, img.width, img.v.data() + (size_t)r * img.width);
  for (int scale = 1; scale <= 2; ++scale) {
    Plane field, sigma;
    normalise(img, m, field, sigma);
    const int side = kNiqeBlock / scale;
    std::vector<float> block((size_t)side * side);
    int b = 0;
    for (int bx = 0; bx < f.blocks_wide; ++bx)
      for (int by = 0; by < f.blocks_high; ++by, ++b) {
        double sharp = 0;
        for (int r = 0; r < side; ++r)
          for (int c = 0; c < side; ++c) {
            const size_t at = (size_t)(by * side + r) * img.width + bx * side + c;
            block[(size_t)r * side + c] = field.v[at];
            sharp += sigma.v[at];
          }
        if (scale == 1) f.sharpness[b] = sharp / ((double)side * side);
        block_features(block, side, side, f.features.data() + (size_t)b * kF + (scale - 1) * 18);
      }
    if (scale == 1) {
      // BasicSR: imresize(img / 255., 0.5) * 255., in float32.
      for (float& x : img.v) x = x / 255.0f;
      img = resize_half(img);
      for (float& x : img.v) x = x * 255.0f;
    }
  }
  return f;
}

double niqe_from_features(const NiqeBlockFeatures& f, const NiqeModel& m) {
  // With one all-finite row its variance is added to every entry (feature_moments: BasicSR's
  // np.cov); with none there is no covariance (BasicSR's pinv raises): inf, the worst score.
  const FeatureMoments d = feature_moments(f.features.data(), (int64_t)f.sharpness.size());
  if (d.finite_rows == 0) return std::numeric_limits<double>::infinity();
  std::vector<double> avg(d.cov.size());
  for (size_t i = 0; i < avg.size(); ++i) avg[i] = (m.cov[i] + d.cov[i]) / 2;
  const std::vector<double> inv = symmetric_pinv(avg, kF);
  double q = 0;
  for (int i = 0; i < kF; ++i)
    for (int j = 0; j < kF; ++j) q += (m.mu[i] - d.mean[i]) * inv[(size_t)i * kF + j] * (m.mu[j] - d.mean[j]);
  return std::sqrt(q);
}

namespace {
double niqe_of_planes(const MetricPlanes& rgb, int crop_border, const NiqeModel& m) {
  check_niqe_size(rgb.width, rgb.height, crop_border);
  const Plane y = niqe_luminance(rgb, crop_border);
  return niqe_from_features(niqe_block_features(y, m), m);
}
}  // namespace

namespace {
// The plane NIQE measures of an image: Y of its colour, or a gray image as it is (BasicSR's
// to_y_channel converts 3 channels only), not as the Y of three equal channels (16 + 219/255
// of it). Alpha is ignored.
Plane image_luminance(const Image& img, int crop_border) {
  if (img.channels > 2) return niqe_luminance(quantize_for_metrics(img), crop_border);
  SR_CHECK(!img.empty(), "NIQE: empty image");
  SR_CHECK(img.height > 2 * crop_border && img.width > 2 * crop_border, "NIQE: crop_border ", crop_border,
           " leaves nothing of a ", img.width, "x", img.height, " image");
  Plane y{img.height - 2 * crop_border, img.width - 2 * crop_border, {}};
  y.v.reserve((size_t)y.height * y.width);
  for (int r = 0; r < y.height; ++r)
    for (int c = 0; c < y.width; ++c) {
      const float s = img.at(r + crop_border, c + crop_border, 0);
      SR_CHECK(std::isfinite(s), "NIQE: non-finite sample ", s, " at row ", r + crop_border, ", column ", c + crop_border);
      y.v.push_back((float)quantize_u8(s));
    }
  return y;
}
}  // namespace

double calculate_niqe(const Image& img, int crop_border, const NiqeModel& m) {
  check_niqe_size(img.width, img.height, crop_border);
  return niqe_from_features(niqe_block_features(image_luminance(img, crop_border), m), m);
}

double calculate_niqe(const Tensor& rgb, int crop_border, const NiqeModel& m) {
  return niqe_of_planes(quantize_for_metrics(rgb), crop_border, m);
}

NiqeModelFitter::NiqeModelFitter(double sharpness_threshold) : threshold_(sharpness_threshold) {
  SR_CHECK(sharpness_threshold >= 0 && sharpness_threshold < 1, "NIQE fit: the sharpness threshold must be in [0, 1), "
           "got ", sharpness_threshold);
  base_.window = niqe_gaussian_window();
  base_.window_size = 7;
}

int NiqeModelFitter::add(const Image& img) {
  const NiqeBlockFeatures f = niqe_block_features(image_luminance(img, 0), base_);
  if (f.sharpness.empty()) return 0;
  const double most = *std::max_element(f.sharpness.begin(), f.sharpness.end());
  int kept = 0;
  for (size_t b = 0; b < f.sharpness.size(); ++b)
    if (f.sharpness[b] > threshold_ * most) {
      rows_.insert(rows_.end(), f.features.begin() + b * kF, f.features.begin() + (b + 1) * kF);
      ++kept;
    }
  return kept;
}

NiqeModel NiqeModelFitter::fit() const {
  const FeatureMoments d = feature_moments(rows_.data(), rows());
  SR_CHECK(d.finite_rows > kF, "NIQE fit: ", d.finite_rows, " usable ", kNiqeBlock, "x", kNiqeBlock,
           " blocks, fewer than the ", kF + 1, " a 36x36 covariance needs; add more (or larger, textured) pristine "
           "images");
  NiqeModel m = base_;
  m.mu = d.mean;
  m.cov = d.cov;
  return m;
}

}  // namespace sr::data
