// The degradation pipeline on a device (see pipeline_device.h): each step is one or two
// batch kernels. Per-batch decisions (resize sizes and modes, noise kind, order) are one
// launch for the whole batch; per-sample ones (kernels, noise amounts and streams, JPEG
// quality) travel as small per-sample arrays.
#include "data/degrade/pipeline_device.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/dispatch.h"
#include "engine/error.h"
#include "kernels/cuda/degrade_blur.h"
#include "kernels/cuda/degrade_clamp.h"
#include "kernels/cuda/degrade_jpeg.h"
#include "kernels/cuda/degrade_noise.h"
#include "kernels/cuda/degrade_resize.h"

namespace sr::data::degrade {

namespace {

// The per-sample kernels of one blur as (B, k, k) on `device`, k the largest kernel of the
// batch: the centre k x k of each 21 x 21 array (smaller kernels keep their zero border,
// which the device kernel skips as filter2d does). Sinc kernels and pulses alike.
Tensor kernels_on_device(const DegradationParams& p, SampledKernel SampleKernels::*which, Device device, int* k_out) {
  int k = 1;
  for (const SampleKernels& s : p.kernels) k = std::max(k, (s.*which).size);
  const int c = kKernelSide / 2, r = k / 2;
  std::vector<float> w;
  w.reserve(p.batch() * k * k);
  for (const SampleKernels& s : p.kernels) {
    const Kernel21& full = (s.*which).weights;
    for (int i = c - r; i <= c + r; ++i)
      for (int j = c - r; j <= c + r; ++j) w.push_back(full[(size_t)i * kKernelSide + j]);
  }
  *k_out = k;
  return Tensor::from_vector(w, {(int64_t)p.batch(), k, k}).to(device);
}

Tensor blur(const Tensor& x, const DegradationParams& p, SampledKernel SampleKernels::*which) {
  int k = 1;
  const Tensor w = kernels_on_device(p, which, x.device(), &k);
  const int64_t B = x.shape()[0], H = x.shape()[2], W = x.shape()[3];
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  SR_ON_DEVICE(x.device(), cuda::degrade_blur(x.data<float>(), w.data<float>(), (int64_t)k * k, y.data<float>(), B,
                                              3, H, W, k));
  return y;
}

// ry, rx: source pixels per output pixel (1/f for a factor, in/out for a size).
Tensor resize(const Tensor& x, int oh, int ow, double ry, double rx, ResizeMode mode) {
  const int64_t B = x.shape()[0], H = x.shape()[2], W = x.shape()[3];
  SR_CHECK(oh >= 1 && ow >= 1, "degrade (device): a ", W, "x", H, " batch would become ", ow, "x", oh);
  Tensor y = Tensor::empty({B, 3, oh, ow}, DType::f32, x.device());
  SR_ON_DEVICE(x.device(), cuda::degrade_resize(x.data<float>(), y.data<float>(), B * 3, H, W, oh, ow, ry, rx,
                                                (cuda::DegradeResizeMode)(int)mode));
  return y;
}

Tensor resize_to(const Tensor& x, int oh, int ow, ResizeMode mode) {
  return resize(x, oh, ow, (double)x.shape()[2] / oh, (double)x.shape()[3] / ow, mode);
}

void noise(const Tensor& x, const NoiseDraw& n, uint64_t seed) {
  const int64_t B = x.shape()[0], H = x.shape()[2], W = x.shape()[3];
  SR_ON_DEVICE(x.device(), {
    std::vector<cuda::DegradeNoiseSample> s(B);
    for (int64_t b = 0; b < B; ++b) {
      s[b].amount = n.samples[b].amount;
      s[b].gray = n.samples[b].gray ? 1 : 0;
      s[b].stream = n.samples[b].stream;
    }
    cuda::degrade_noise(x.data<float>(), B, H, W,
                        n.gaussian ? cuda::DegradeNoiseKind::gaussian : cuda::DegradeNoiseKind::poisson, s.data(),
                        seed, n.gray_stream, false);
  });
}

// clamp, then DiffJPEG with each sample's quality.
void jpeg(const Tensor& x, const std::vector<double>& quality) {
  const int64_t B = x.shape()[0], H = x.shape()[2], W = x.shape()[3];
  SR_ON_DEVICE(x.device(), cuda::degrade_clamp(x.data<float>(), x.numel(), false);
               cuda::degrade_jpeg(x.data<float>(), B, H, W, quality.data()));
}

}  // namespace

Tensor apply_step_device(const Tensor& x, const DegradationParams& p, DegradationStep step) {
  SR_CHECK(x.defined() && (x.device().is_cuda() || x.device().is_simt()),
           "degrade (device): the batch must be on a cuda or simt device, got ", x.defined() ? x.str() : "none");
  SR_CHECK(x.dtype() == DType::f32 && x.is_contiguous() && x.dim() == 4 && x.shape()[1] == 3 &&
               x.shape()[0] == (int64_t)p.batch(),
           "degrade (device): expected a contiguous float32 (", p.batch(), ", 3, H, W) batch, got ", x.str());
  const int lh = p.height / p.scale, lw = p.width / p.scale;
  switch (step) {
    case DegradationStep::blur1: return blur(x, p, &SampleKernels::kernel1);
    case DegradationStep::resize1: {
      const double f = p.resize1.factor;
      return resize(x, (int)std::floor(x.shape()[2] * f), (int)std::floor(x.shape()[3] * f), 1.0 / f, 1.0 / f,
                    p.resize1.mode);
    }
    case DegradationStep::noise1: noise(x, p.noise1, p.seed); return x;
    case DegradationStep::jpeg1: jpeg(x, p.jpeg1); return x;
    case DegradationStep::blur2: return blur(x, p, &SampleKernels::kernel2);
    case DegradationStep::resize2: return resize_to(x, p.resize2_height, p.resize2_width, p.resize2.mode);
    case DegradationStep::noise2: noise(x, p.noise2, p.seed); return x;
    case DegradationStep::final_resize: return resize_to(x, lh, lw, p.final_mode);
    case DegradationStep::sinc: return blur(x, p, &SampleKernels::sinc);
    case DegradationStep::jpeg2: jpeg(x, p.jpeg2); return x;
    case DegradationStep::quantize:
      SR_ON_DEVICE(x.device(), cuda::degrade_clamp(x.data<float>(), x.numel(), true));
      return x;
  }
  fail("degrade (device): unknown step ", (int)step);
}

Tensor degrade_batch_device(const Tensor& gt, const DegradationParams& p) {
  SR_CHECK(gt.defined() && gt.dim() == 4 && gt.shape()[2] == p.height && gt.shape()[3] == p.width,
           "degrade (device): the GT batch ", gt.defined() ? gt.str() : "none", " is not the parameters' ", p.batch(),
           "x3x", p.height, "x", p.width);
  Tensor x = gt.contiguous().clone();
  for (const DegradationStep step : degradation_steps(p)) x = apply_step_device(x, p, step);
  return x;
}

}  // namespace sr::data::degrade
