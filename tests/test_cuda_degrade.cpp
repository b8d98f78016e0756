// cuda/degrade_*: the Real-ESRGAN degradation's CUDA kernels (kernels/cuda/degrade_*.cu) on a
// GPU against the CPU reference of data/degrade/: the cases of
// tests/support/degrade_parity.h, which simt/degrade_* runs on the SIMT interpreter. Fresh
// buffers are filled with NaN before the kernels run. Without a GPU every test prints
// "SKIPPED: <reason>" (ctest reports it as skipped).
#include <catch2/catch.hpp>

#include <cstdio>
#include <limits>
#include <vector>

#include "support/cuda_skip.h"
#include "support/degrade_parity.h"

#ifdef SRENGINE_WITH_CUDA
#include "engine/cuda_runtime.h"
#include "kernels/cuda/degrade_blur.h"
#include "kernels/cuda/degrade_clamp.h"
#include "kernels/cuda/degrade_jpeg.h"
#include "kernels/cuda/degrade_noise.h"
#include "kernels/cuda/degrade_resize.h"
#include "kernels/cuda/degrade_usm_sharp.h"
#endif

namespace {


#ifdef SRENGINE_WITH_CUDA
// Pool-backed device buffers, freed with the backend; copies through the engine's checked
// runtime calls.
struct CudaDegradeBackend {
  using NoiseSample = sr::cuda::DegradeNoiseSample;
  using NoiseKind = sr::cuda::DegradeNoiseKind;
  using ResizeMode = sr::cuda::DegradeResizeMode;
  static constexpr NoiseKind kGaussian = NoiseKind::gaussian, kPoisson = NoiseKind::poisson;
  static constexpr ResizeMode kArea = ResizeMode::area, kBilinear = ResizeMode::bilinear,
                              kBicubic = ResizeMode::bicubic;
  const char* name = "cuda";
  bool exact = false;
  int device = sr::cuda::current_device();
  std::vector<void*> keep;

  ~CudaDegradeBackend() {
    for (void* p : keep) sr::cuda::deallocate(p, device);
  }
  float* alloc(int64_t n) {
    void* p = sr::cuda::allocate(std::max<int64_t>(n, 1) * sizeof(float), device);
    keep.push_back(p);
    return static_cast<float*>(p);
  }
  float* upload(const std::vector<float>& v) {
    float* p = alloc((int64_t)v.size());
    sr::cuda::memcpy(p, v.data(), v.size() * sizeof(float), sr::cuda::CopyKind::host_to_device);
    return p;
  }
  float* poisoned(int64_t n) {
    return upload(std::vector<float>(n, std::numeric_limits<float>::quiet_NaN()));
  }
  std::vector<float> download(const float* p, int64_t n) {
    std::vector<float> v(n);
    sr::cuda::memcpy(v.data(), p, n * sizeof(float), sr::cuda::CopyKind::device_to_host);
    return v;
  }
  void blur(const float* x, const float* k, int64_t ks, float* y, int64_t N, int64_t C, int64_t H, int64_t W, int kk) {
    sr::cuda::degrade_blur(x, k, ks, y, N, C, H, W, kk);
  }
  void noise(float* x, int64_t N, int64_t H, int64_t W, NoiseKind kind, const NoiseSample* s, uint64_t seed,
             uint64_t gray_stream, bool round) {
    sr::cuda::degrade_noise(x, N, H, W, kind, s, seed, gray_stream, round);
  }
  void clamp(float* x, int64_t n, bool round) { sr::cuda::degrade_clamp(x, n, round); }
  void jpeg(float* x, int64_t N, int64_t H, int64_t W, const double* quality) {
    sr::cuda::degrade_jpeg(x, N, H, W, quality);
  }
  void usm_sharp(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int radius, double weight,
                 double threshold) {
    sr::cuda::degrade_usm_sharp(x, y, NC, H, W, radius, weight, threshold);
  }
  void resize(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int64_t OH, int64_t OW, double ry,
              double rx, ResizeMode mode) {
    sr::cuda::degrade_resize(x, y, NC, H, W, OH, OW, ry, rx, mode);
  }
};
#endif

}  // namespace

TEST_CASE("cuda/degrade_blur") {
  if (sr::test::skip_without_cuda()) return;
#ifdef SRENGINE_WITH_CUDA
  CudaDegradeBackend be;
  sr::degrade_parity::check_degrade_blur(be);
#endif
}

TEST_CASE("cuda/degrade_noise") {
  if (sr::test::skip_without_cuda()) return;
#ifdef SRENGINE_WITH_CUDA
  CudaDegradeBackend be;
  sr::degrade_parity::check_degrade_noise(be);
#endif
}

TEST_CASE("cuda/degrade_clamp") {
  if (sr::test::skip_without_cuda()) return;
#ifdef SRENGINE_WITH_CUDA
  CudaDegradeBackend be;
  sr::degrade_parity::check_degrade_clamp(be);
#endif
}

TEST_CASE("cuda/degrade_jpeg") {
  if (sr::test::skip_without_cuda()) return;
#ifdef SRENGINE_WITH_CUDA
  CudaDegradeBackend be;
  sr::degrade_parity::check_degrade_jpeg(be);
#endif
}

TEST_CASE("cuda/degrade_resize") {
  if (sr::test::skip_without_cuda()) return;
#ifdef SRENGINE_WITH_CUDA
  CudaDegradeBackend be;
  sr::degrade_parity::check_degrade_resize(be);
#endif
}

TEST_CASE("cuda/degrade_usm_sharp") {
  if (sr::test::skip_without_cuda()) return;
#ifdef SRENGINE_WITH_CUDA
  CudaDegradeBackend be;
  sr::degrade_parity::check_degrade_usm_sharp(be);
#endif
}
