// The degradation kernels' parity cases (kernels/cuda/degrade_*.cu against the CPU reference
// of data/degrade/), written once for the two devices that run them: the SIMT interpreter
// (simt/degrade_*, tests/test_simt_degrade.cpp) and a GPU (cuda/degrade_*,
// tests/test_cuda_degrade.cpp). A Backend supplies device buffers and the entry points:
//   float* upload(const std::vector<float>&);  float* poisoned(int64_t n);   (NaN-filled)
//   std::vector<float> download(const float*, int64_t n);
//   blur(...), noise(...), resize(...), jpeg(...), usm_sharp(...), clamp(...): the sr::simt:: or sr::cuda::
//   functions;
//   types NoiseSample, NoiseKind, ResizeMode: that namespace's parameter types;
//   name: "simt" or "cuda"; exact: whether results must be bitwise equal (the interpreter
//   runs the same host math; nvcc fuses multiply-adds, so a GPU gets float tolerances).
// Every case draws fresh random inputs and per-sample parameters, uses odd sizes that leave
// partial tiles, and starts from NaN outputs, so an element a kernel forgets shows.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "data/degrade/diff_jpeg.h"
#include "data/degrade/filter2d.h"
#include "data/degrade/noise.h"
#include "data/degrade/planes.h"
#include "data/degrade/random_stream.h"
#include "data/degrade/resize.h"
#include "data/degrade/usm_sharp.h"
#include "support/parity.h"

namespace sr::degrade_parity {

using namespace sr::parity;
namespace dg = sr::data::degrade;

inline std::vector<float> uniform_floats(std::mt19937_64& rng, int64_t n, float lo, float hi) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// Sample n of an N x C x H x W batch as planes, and back.
inline dg::Planes sample_planes(const std::vector<float>& batch, int n, int C, int H, int W) {
  dg::Planes p(C, H, W);
  const size_t len = (size_t)C * H * W;
  std::copy(batch.begin() + n * len, batch.begin() + (n + 1) * len, p.v.begin());
  return p;
}
inline void append(std::vector<double>& out, const dg::Planes& p) { out.insert(out.end(), p.v.begin(), p.v.end()); }

// A k x k kernel with support 2r+1 <= k centred (zero-padded like the sampled kernels), mostly
// positive with negative taps (as sinc kernels have), summing to 1.
inline std::vector<float> random_kernel(std::mt19937_64& rng, int k, int r) {
  std::vector<float> w((size_t)k * k, 0.0f);
  std::uniform_real_distribution<float> d(-0.15f, 1.0f);
  double sum = 0;
  const int c = k / 2;
  for (int i = c - r; i <= c + r; ++i)
    for (int j = c - r; j <= c + r; ++j) sum += (w[(size_t)i * k + j] = d(rng));
  for (float& x : w) x = (float)(x / sum);
  return w;
}

// ---- degrade_blur: per-sample kernels against data/degrade/filter2d, sample by sample ----------
template <class B>
void check_degrade_blur(B& be) {
  std::mt19937_64 rng(std::random_device{}());
  struct Shape {
    int N, C, H, W, k;
    bool shared;
  };
  // Partial tiles (37 x 45), a plane smaller than one tile with the largest pad (11 x 13,
  // k 21: pad 10), a kernel smaller than 21 as such (k 7), one kernel for the batch.
  for (const Shape s : {Shape{3, 3, 37, 45, 21, false}, Shape{2, 3, 11, 13, 21, false}, Shape{4, 1, 33, 9, 7, false},
                        Shape{2, 3, 29, 70, 21, true}}) {
    const std::string what = std::string("degrade_blur ") + std::to_string(s.N) + "x" + std::to_string(s.C) + "x" +
                             std::to_string(s.H) + "x" + std::to_string(s.W) + " k" + std::to_string(s.k) +
                             (s.shared ? " shared kernel" : "");
    const int64_t n = (int64_t)s.N * s.C * s.H * s.W;
    const std::vector<float> x = uniform_floats(rng, n, -0.05f, 1.05f);
    std::vector<float> kernels;
    for (int b = 0; b < (s.shared ? 1 : s.N); ++b) {
      // Reach drawn per sample; sample 0 of a batch of several gets the pulse (an exact identity).
      const int r = std::uniform_int_distribution<int>(0, s.k / 2)(rng);
      std::vector<float> w = random_kernel(rng, s.k, r);
      if (b == 0 && !s.shared && s.N > 1) {
        std::fill(w.begin(), w.end(), 0.0f);
        w[(size_t)(s.k / 2) * s.k + s.k / 2] = 1.0f;
      }
      kernels.insert(kernels.end(), w.begin(), w.end());
    }
    float* X = be.upload(x);
    float* K = be.upload(kernels);
    float* Y = be.poisoned(n);
    be.blur(X, K, s.shared ? 0 : (int64_t)s.k * s.k, Y, s.N, s.C, s.H, s.W, s.k);
    std::vector<double> ref;
    for (int b = 0; b < s.N; ++b)
      append(ref, dg::filter2d(sample_planes(x, b, s.C, s.H, s.W), kernels.data() + (s.shared ? 0 : b * s.k * s.k),
                               s.k));
    // float sums of up to 441 taps against the CPU's double sums
    compare(what, be.download(Y, n), ref, kFp32, be.name);
    if (!s.shared && s.N > 1) {  // the pulse: bitwise identity
      const std::vector<float> y = be.download(Y, n);
      const size_t len = (size_t)s.C * s.H * s.W;
      std::vector<double> in0(x.begin(), x.begin() + len);
      compare(what + " pulse sample", std::vector<float>(y.begin(), y.begin() + len), in0, kExact, be.name);
    }
  }
  // Errors name the op and the bad value.
  float* X = be.upload(std::vector<float>(2 * 8 * 8, 0.5f));
  float* K = be.upload(std::vector<float>(2 * 21 * 21, 0.0f));
  float* Y = be.poisoned(2 * 8 * 8);
  CHECK_THROWS_WITH(be.blur(X, K, 441, Y, 2, 1, 8, 8, 21), Catch::Contains("degrade_blur") && Catch::Contains("8x8"));
  CHECK_THROWS_WITH(be.blur(X, K, 441, Y, 2, 1, 8, 8, 4), Catch::Contains("odd"));
}

// ---- degrade_noise: Gaussian and Poisson, colour and gray, per-sample sigma / scale -------------
template <class B>
void check_degrade_noise(B& be) {
  std::mt19937_64 rng(std::random_device{}());
  using Sample = typename B::NoiseSample;
  const int N = 5, H = 19, W = 23;
  const int64_t hw = (int64_t)H * W, n = N * 3 * hw;
  const uint64_t seed = rng();
  const uint64_t batch_key = rng();
  const Tol tol = be.exact ? kExact : Tol{1e-6, 0, "fp32, fused multiply-add"};
  for (int kind = 0; kind < 2; ++kind)
    for (int round = 0; round < 2; ++round) {
      const std::string what = std::string("degrade_noise ") + (kind ? "poisson" : "gaussian") +
                               (round ? " + round" : "") + " " + std::to_string(N) + "x3x" + std::to_string(H) +
                               "x" + std::to_string(W);
      std::vector<float> x = uniform_floats(rng, n, -0.05f, 1.05f);
      // Sample 3 has 3 levels (V = 4), sample 4 is black (no Poisson noise at level 0).
      for (int64_t i = 3 * 3 * hw; i < 4 * 3 * hw; ++i) x[i] = (float)(rng() % 3) * 0.5f + 0.0004f;
      for (int64_t i = 4 * 3 * hw; i < n; ++i) x[i] = 0.0f;
      std::vector<Sample> samples(N);
      const uint64_t gray_stream = dg::stream_id(dg::StreamTag::noise_field, batch_key, 1000 + kind);
      for (int b = 0; b < N; ++b) {
        samples[b].amount = kind ? std::uniform_real_distribution<double>(0.05, 3.0)(rng)
                                 : std::uniform_real_distribution<double>(1.0, 30.0)(rng);
        samples[b].gray = (b % 2 == 1) ? 1 : 0;
        samples[b].stream = dg::stream_id(dg::StreamTag::noise_field, batch_key, (uint64_t)(kind * 100 + b));
      }
      float* X = be.upload(x);
      be.noise(X, N, H, W, kind ? B::kPoisson : B::kGaussian, samples.data(), seed, gray_stream, round != 0);
      std::vector<double> ref;
      for (int b = 0; b < N; ++b) {
        dg::Planes p = sample_planes(x, b, 3, H, W);
        const dg::FieldKey own{seed, samples[b].stream}, gray{seed, gray_stream};
        if (kind)
          dg::add_poisson_noise(p, samples[b].amount, samples[b].gray != 0, own);
        else
          dg::add_gaussian_noise(p, samples[b].amount, samples[b].gray != 0, own, gray);
        if (round) dg::quantize_u8(p);
        append(ref, p);
      }
      const std::vector<float> got = be.download(X, n);
      // With rounding, one ulp of a fused multiply-add can move a value across a level.
      compare(what, got, ref, round && !be.exact ? Tol{1.0 / 255 + 1e-6, 0, "one level"} : tol, be.name);
      // The noise is there: most values moved (the black sample only under Gaussian noise).
      int64_t moved = 0;
      for (int64_t i = 0; i < n; ++i) moved += std::fabs(got[i] - std::clamp(x[i], 0.0f, 1.0f)) > 1e-7f;
      CHECK(moved > n / 2);
    }
  float* X = be.upload(std::vector<float>(3 * 4 * 4, 0.5f));
  std::vector<Sample> bad(1);
  bad[0].amount = -1.0;
  CHECK_THROWS_WITH(be.noise(X, 1, 4, 4, B::kGaussian, bad.data(), 1, 2, false),
                    Catch::Contains("degrade_noise") && Catch::Contains("sigma -1"));
}

// ---- degrade_resize: area / bilinear / bicubic, by factor and to a size ---------------------------
template <class B>
void check_degrade_resize(B& be) {
  std::mt19937_64 rng(std::random_device{}());
  const int NC = 5, H = 37, W = 45;
  const int64_t n = (int64_t)NC * H * W;
  const std::vector<float> x = uniform_floats(rng, n, -0.05f, 1.05f);
  float* X = be.upload(x);
  const dg::Planes planes = sample_planes(x, 0, NC, H, W);
  const Tol tol = be.exact ? kExact : kFp32;
  const dg::ResizeMode modes[] = {dg::ResizeMode::area, dg::ResizeMode::bilinear, dg::ResizeMode::bicubic};
  const typename B::ResizeMode dev_modes[] = {B::kArea, B::kBilinear, B::kBicubic};
  for (int m = 0; m < 3; ++m) {
    // By a factor drawn from the pipeline's ranges (down to 0.15, up to 1.5), and to sizes.
    const double factors[] = {std::uniform_real_distribution<double>(0.15, 1.0)(rng),
                              std::uniform_real_distribution<double>(1.0, 1.5)(rng), 0.15};
    for (double f : factors) {
      const dg::Planes r = dg::resize_by_factor(planes, f, modes[m]);
      float* Y = be.poisoned((int64_t)NC * r.height * r.width);
      be.resize(X, Y, NC, H, W, r.height, r.width, 1.0 / f, 1.0 / f, dev_modes[m]);
      compare(std::string("degrade_resize ") + dg::resize_mode_name(modes[m]) + " by " + std::to_string(f),
              be.download(Y, (int64_t)NC * r.height * r.width), std::vector<double>(r.v.begin(), r.v.end()), tol,
              be.name);
    }
    for (const auto& [oh, ow] : {std::pair{16, 11}, std::pair{50, 61}, std::pair{37, 45}}) {
      const dg::Planes r = dg::resize_to(planes, oh, ow, modes[m]);
      float* Y = be.poisoned((int64_t)NC * oh * ow);
      be.resize(X, Y, NC, H, W, oh, ow, (double)H / oh, (double)W / ow, dev_modes[m]);
      compare(std::string("degrade_resize ") + dg::resize_mode_name(modes[m]) + " to " + std::to_string(ow) + "x" +
                  std::to_string(oh),
              be.download(Y, (int64_t)NC * oh * ow), std::vector<double>(r.v.begin(), r.v.end()), tol, be.name);
    }
  }
  float* Y = be.poisoned(4);
  CHECK_THROWS_WITH(be.resize(X, Y, NC, H, W, 0, 4, 1.0, 1.0, B::kBilinear),
                    Catch::Contains("degrade_resize") && Catch::Contains("4x0"));
}

// ---- degrade_jpeg: DiffJPEG with a quality per sample against data/degrade/diff_jpeg -----------
template <class B>
void check_degrade_jpeg(B& be) {
  std::mt19937_64 rng(std::random_device{}());
  // nvcc fuses the double multiply-adds of the colour conversion and the DCTs: the GPU's
  // error stays far below a float ulp of 255 (the output is float).
  const Tol tol = be.exact ? kExact : kFp32;
  struct Shape {
    int N, H, W;
  };
  // Padding on both sides (37 x 45 -> 48 x 48), a sample smaller than one macroblock, and a
  // multiple of 16 (no padding).
  for (const Shape s : {Shape{3, 37, 45}, Shape{2, 5, 7}, Shape{2, 32, 16}}) {
    const int64_t n = (int64_t)s.N * 3 * s.H * s.W;
    const std::vector<float> x = uniform_floats(rng, n, 0.0f, 1.0f);
    std::vector<double> quality(s.N);
    for (double& q : quality) q = std::uniform_real_distribution<double>(30.0, 95.0)(rng);  // jpeg_range
    float* X = be.upload(x);
    be.jpeg(X, s.N, s.H, s.W, quality.data());
    std::vector<double> ref;
    for (int b = 0; b < s.N; ++b) {
      dg::Planes p = sample_planes(x, b, 3, s.H, s.W);
      dg::diff_jpeg(p, quality[b]);
      append(ref, p);
    }
    compare("degrade_jpeg " + std::to_string(s.N) + "x3x" + std::to_string(s.H) + "x" + std::to_string(s.W), be.download(X, n),
            ref, tol, be.name);
  }
  {  // The spec's golden value (J1): constant gray 0.3 at q 50 becomes 76/255 on every channel.
    float* X = be.upload(std::vector<float>(3 * 16 * 16, 0.3f));
    const double q = 50.0;
    be.jpeg(X, 1, 16, 16, &q);
    compare("degrade_jpeg constant 0.3 at q 50", be.download(X, 3 * 16 * 16), std::vector<double>(3 * 16 * 16, 76.0 / 255.0),
            Tol{1e-6, 0, "1e-6"}, be.name);
  }
  float* X = be.upload(std::vector<float>(3 * 4 * 4, 0.5f));
  const double q100 = 100.0;
  CHECK_THROWS_WITH(be.jpeg(X, 1, 4, 4, &q100), Catch::Contains("degrade_jpeg") && Catch::Contains("quality 100"));
}

// ---- degrade_usm_sharp: against data/degrade/usm_sharp, and the spec's golden row -------------
template <class B>
void check_degrade_usm_sharp(B& be) {
  std::mt19937_64 rng(std::random_device{}());
  // A smooth pattern plus noise, so that the mask (|x - blur(x)| 255 > threshold) has both
  // values; nvcc's fused double multiply-adds can flip it only within ~1e-13 of the threshold.
  const Tol tol = be.exact ? kExact : kFp32;
  struct Shape {
    int N, H, W, radius;
  };
  for (const Shape s : {Shape{2, 31, 53, 50}, Shape{3, 27, 26, 50}, Shape{1, 12, 9, 10}}) {
    const int64_t n = (int64_t)s.N * 3 * s.H * s.W;
    std::vector<float> x = uniform_floats(rng, n, -0.03f, 0.03f);
    const double fx = std::uniform_real_distribution<double>(0.1, 0.6)(rng);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t xx = i % s.W, yy = (i / s.W) % s.H;
      x[i] = std::clamp(x[i] + (float)(0.5 + 0.3 * std::sin(fx * xx) * std::cos(0.7 * fx * yy)), 0.0f, 1.0f);
    }
    const double threshold = std::uniform_real_distribution<double>(5.0, 15.0)(rng);
    float* X = be.upload(x);
    float* Y = be.poisoned(n);
    be.usm_sharp(X, Y, s.N * 3, s.H, s.W, s.radius, 0.5, threshold);
    std::vector<double> ref;
    for (int b = 0; b < s.N; ++b) append(ref, dg::usm_sharp(sample_planes(x, b, 3, s.H, s.W), s.radius, 0.5, threshold));
    compare("degrade_usm_sharp " + std::to_string(s.N) + "x3x" + std::to_string(s.H) + "x" + std::to_string(s.W) +
                " radius " + std::to_string(s.radius),
            be.download(Y, n), ref, tol, be.name);
  }
  {  // The spec's golden row (U1): 64 x 64, columns 0-31 at 0.25, 32-63 at 0.75; row 32, columns 24-39.
    std::vector<float> x(3 * 64 * 64);
    for (size_t i = 0; i < x.size(); ++i) x[i] = i % 64 < 32 ? 0.25f : 0.75f;
    float* X = be.upload(x);
    float* Y = be.poisoned(3 * 64 * 64);
    be.usm_sharp(X, Y, 3, 64, 64, 50, 0.5, 10);
    const std::vector<float> y = be.download(Y, 3 * 64 * 64);
    const double golden[16] = {0.221359, 0.213659, 0.204863, 0.195091, 0.184541, 0.173485, 0.162261, 0.151254,
                               0.848747, 0.837739, 0.826515, 0.815459, 0.804909, 0.795137, 0.786342, 0.778642};
    std::vector<float> got;
    std::vector<double> want;
    for (int c = 0; c < 3; ++c)
      for (int j = 0; j < 16; ++j) {
        got.push_back(y[(size_t)c * 4096 + 32 * 64 + 24 + j]);
        want.push_back(golden[j]);
      }
    compare("degrade_usm_sharp golden row", got, want, Tol{1.5e-6, 0, "6 decimals"}, be.name);
  }
  float* X = be.upload(std::vector<float>(3 * 20 * 20, 0.5f));
  float* Y = be.poisoned(3 * 20 * 20);
  CHECK_THROWS_WITH(be.usm_sharp(X, Y, 3, 20, 20, 50, 0.5, 10),
                    Catch::Contains("degrade_usm_sharp") && Catch::Contains("20x20"));
}

// ---- degrade_clamp: clamp01 and quantize_u8 of data/degrade/planes, bitwise on both devices ----
template <class B>
void check_degrade_clamp(B& be) {
  std::mt19937_64 rng(std::random_device{}());
  const int64_t n = 3 * 37 * 45 + 5;  // not a multiple of the block
  for (int round = 0; round < 2; ++round) {
    std::vector<float> x = uniform_floats(rng, n, -0.3f, 1.3f);
    x[0] = 0.5f / 255;  // exact halves round to even
    x[1] = 1.5f / 255;
    float* X = be.upload(x);
    be.clamp(X, n, round != 0);
    dg::Planes p(1, 1, (int)n);
    p.v = x;
    if (round)
      dg::quantize_u8(p);
    else
      dg::clamp01(p);
    compare(std::string("degrade_clamp") + (round ? " round to k/255" : " [0, 1]"), be.download(X, n),
            std::vector<double>(p.v.begin(), p.v.end()), kExact, be.name);
  }
}

}  // namespace sr::degrade_parity
