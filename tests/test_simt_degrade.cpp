// simt/degrade_*: the Real-ESRGAN degradation's CUDA kernels (kernels/cuda/degrade_*.cu), run
// by the SIMT interpreter, against the CPU reference of data/degrade/ (the cases are
// tests/support/degrade_parity.h, shared with cuda/degrade_*). The interpreter runs the
// same host math for the random draws, the Poisson walk and the resize weights, so noise,
// resize, JPEG and USM must match bitwise; the blur sums in float against the CPU's double.
#include "kernels/simt/kernels.h"  // first: kernels/cuda's headers as sr::simt

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <vector>

#include "support/degrade_parity.h"
#include "support/simt_support.h"

#ifdef SRENGINE_WITH_SIMT

namespace sr::simt_test {

namespace {

// Device buffers of the interpreter (NaN-poisoned when fresh), freed with the backend.
struct SimtDegradeBackend {
  using NoiseSample = sr::simt::DegradeNoiseSample;
  using NoiseKind = sr::simt::DegradeNoiseKind;
  using ResizeMode = sr::simt::DegradeResizeMode;
  static constexpr NoiseKind kGaussian = NoiseKind::gaussian, kPoisson = NoiseKind::poisson;
  static constexpr ResizeMode kArea = ResizeMode::area, kBilinear = ResizeMode::bilinear,
                              kBicubic = ResizeMode::bicubic;
  const char* name = "simt";
  bool exact = true;
  std::vector<std::unique_ptr<Dev>> keep;

  float* upload(const std::vector<float>& v) { return keep.emplace_back(std::make_unique<Dev>(v))->p; }
  float* poisoned(int64_t n) { return keep.emplace_back(std::make_unique<Dev>(n))->p; }
  std::vector<float> download(const float* p, int64_t n) { return std::vector<float>(p, p + n); }
  void blur(const float* x, const float* k, int64_t ks, float* y, int64_t N, int64_t C, int64_t H, int64_t W, int kk) {
    sr::simt::degrade_blur(x, k, ks, y, N, C, H, W, kk);
  }
  void noise(float* x, int64_t N, int64_t H, int64_t W, NoiseKind kind, const NoiseSample* s, uint64_t seed,
             uint64_t gray_stream, bool round) {
    sr::simt::degrade_noise(x, N, H, W, kind, s, seed, gray_stream, round);
  }
  void clamp(float* x, int64_t n, bool round) { sr::simt::degrade_clamp(x, n, round); }
  void jpeg(float* x, int64_t N, int64_t H, int64_t W, const double* quality) {
    sr::simt::degrade_jpeg(x, N, H, W, quality);
  }
  void usm_sharp(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int radius, double weight,
                 double threshold) {
    sr::simt::degrade_usm_sharp(x, y, NC, H, W, radius, weight, threshold);
  }
  void resize(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int64_t OH, int64_t OW, double ry,
              double rx, ResizeMode mode) {
    sr::simt::degrade_resize(x, y, NC, H, W, OH, OW, ry, rx, mode);
  }
};

}  // namespace

void test_degrade_blur() {
  SimtDegradeBackend be;
  degrade_parity::check_degrade_blur(be);
}
void test_degrade_noise() {
  SimtDegradeBackend be;
  degrade_parity::check_degrade_noise(be);
}
void test_degrade_jpeg() {
  SimtDegradeBackend be;
  degrade_parity::check_degrade_jpeg(be);
}
void test_degrade_resize() {
  SimtDegradeBackend be;
  degrade_parity::check_degrade_resize(be);
}

void test_degrade_clamp() {
  SimtDegradeBackend be;
  degrade_parity::check_degrade_clamp(be);
}

void test_degrade_usm_sharp() {
  SimtDegradeBackend be;
  degrade_parity::check_degrade_usm_sharp(be);
}

}  // namespace sr::simt_test

TEST_CASE("simt/degrade_blur") { sr::simt_test::test_degrade_blur(); }
TEST_CASE("simt/degrade_clamp") { sr::simt_test::test_degrade_clamp(); }
TEST_CASE("simt/degrade_jpeg") { sr::simt_test::test_degrade_jpeg(); }
TEST_CASE("simt/degrade_noise") { sr::simt_test::test_degrade_noise(); }
TEST_CASE("simt/degrade_resize") { sr::simt_test::test_degrade_resize(); }
TEST_CASE("simt/degrade_usm_sharp") { sr::simt_test::test_degrade_usm_sharp(); }

#endif  // SRENGINE_WITH_SIMT
