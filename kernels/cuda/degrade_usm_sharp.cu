// USM sharpening (see degrade_usm_sharp.h): four one-thread-per-element passes over the
// batch, each the CPU reference's loop (data/degrade/usm_sharp.cpp) with the same double
// sums in the same order:
//   1. rows:    R1[y][x] = sum_t g[t] x[y][refl(x + t - pad)]
//   2. columns: B[y][x]  = sum_t g[t] R1[refl(y + t - pad)][x];  M = |x - B| 255 > threshold
//   3. rows of M, 4. columns of those = S; y = S clamp(x + w (x - B), 0, 1) + (1 - S) x.
// Scratch: three double planes per input plane (R1 then reused for M's rows, B, M).
// Cost at 51 taps: 4 x 51 double FMAs per element, 4.7 G FMA for 48 x 3 x 400 x 400 (about
// 0.3 ms of an H200's FP64) and ~1 GB of traffic; the taps hit L1 (neighbouring threads
// read neighbouring pixels).
#include <cmath>

#include "kernels/common/degrade_math.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/degrade_usm_sharp.h"

namespace sr::cuda {

namespace {

constexpr int kMaxTaps = 101;

struct Gauss {
  double g[kMaxTaps];
  int taps;
};

// dst[y][x] = sum_t g[t] src[y][refl(x + t - pad)], every plane.
template <class T>
__global__ void degrade_usm_rows_kernel(const T* __restrict__ src, double* __restrict__ dst, int64_t total, int H,
                                        int W, Gauss g) {
  const int pad = g.taps / 2;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t row = i / W;
    const int x = (int)(i - row * W);
    const T* r = src + row * W;
    double s = 0;
    for (int t = 0; t < g.taps; ++t) s += g.g[t] * r[degrade_math::reflect101(x + t - pad, W)];
    dst[i] = s;
  }
}

// Columns of the rows pass. Pass 2 (soft == nullptr): blurred = the sum, mask = its
// threshold test. Pass 4: soft mask = the sum, y = the mix.
__global__ void degrade_usm_cols_kernel(const double* __restrict__ rows, const float* __restrict__ x,
                                        double* __restrict__ blurred, double* __restrict__ mask,
                                        float* __restrict__ y, int64_t total, int H, int W, Gauss g, double weight,
                                        double threshold, int final_pass) {
  const int pad = g.taps / 2;
  const int64_t hw = (int64_t)H * W;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t plane = i / hw;
    const int64_t rem = i - plane * hw;
    const int yy = (int)(rem / W), xx = (int)(rem % W);
    const double* col = rows + plane * hw + xx;
    double s = 0;
    for (int t = 0; t < g.taps; ++t) s += g.g[t] * col[(int64_t)degrade_math::reflect101(yy + t - pad, H) * W];
    const double in = x[i];
    if (!final_pass) {
      blurred[i] = s;
      mask[i] = fabs(in - s) * 255 > threshold ? 1.0 : 0.0;
    } else {
      double sharp = in + weight * (in - blurred[i]);
      sharp = sharp < 0.0 ? 0.0 : (sharp > 1.0 ? 1.0 : sharp);
      y[i] = (float)(s * sharp + (1 - s) * in);
    }
  }
}

}  // namespace

void degrade_usm_sharp(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int radius, double weight,
                       double threshold) {
  if (radius % 2 == 0) radius += 1;
  SR_CHECK(radius >= 1 && radius <= kMaxTaps, "degrade_usm_sharp: radius must be in [1, ", kMaxTaps, "], got ",
           radius);
  SR_CHECK(NC >= 0 && H >= 1 && W >= 1, "degrade_usm_sharp: bad shape NC ", NC, " H ", H, " W ", W);
  const int pad = radius / 2;
  SR_CHECK(pad < H && pad < W, "degrade_usm_sharp: a ", W, "x", H, " image is too small for radius ", radius,
           " (sides must exceed ", pad, ")");
  SR_CHECK(H <= INT32_MAX / 2 && W <= INT32_MAX / 2, "degrade_usm_sharp: sides above 2^30 are not supported");
  SR_CHECK(std::isfinite(weight) && std::isfinite(threshold), "degrade_usm_sharp: weight ", weight, " and threshold ",
           threshold, " must be finite");
  const int64_t total = NC * H * W;
  if (total == 0) return;
  // The CPU's Gaussian: OpenCV's automatic sigma, normalised in double.
  Gauss g{};
  g.taps = radius;
  const double sigma = 0.3 * ((radius - 1) * 0.5 - 1) + 0.8;
  double sum = 0;
  for (int t = 0; t < radius; ++t) sum += g.g[t] = std::exp(-(t - pad) * (t - pad) / (2 * sigma * sigma));
  for (int t = 0; t < radius; ++t) g.g[t] /= sum;
  DeviceScratch rows(total * sizeof(double)), blurred(total * sizeof(double)), mask(total * sizeof(double));
  const unsigned grid = grid_for(total);
  launch_kernel(degrade_usm_rows_kernel<float>, grid, kBlock, 0, current_stream(), x, rows.as<double>(), total,
                (int)H, (int)W, g);
  CUDA_CHECK_LAUNCH("degrade_usm_sharp (blur rows)");
  launch_kernel(degrade_usm_cols_kernel, grid, kBlock, 0, current_stream(), (const double*)rows.as<double>(), x,
                blurred.as<double>(), mask.as<double>(), y, total, (int)H, (int)W, g, weight, threshold, 0);
  CUDA_CHECK_LAUNCH("degrade_usm_sharp (blur columns, mask)");
  launch_kernel(degrade_usm_rows_kernel<double>, grid, kBlock, 0, current_stream(), (const double*)mask.as<double>(),
                rows.as<double>(), total, (int)H, (int)W, g);
  CUDA_CHECK_LAUNCH("degrade_usm_sharp (mask rows)");
  launch_kernel(degrade_usm_cols_kernel, grid, kBlock, 0, current_stream(), (const double*)rows.as<double>(), x,
                blurred.as<double>(), mask.as<double>(), y, total, (int)H, (int)W, g, weight, threshold, 1);
  CUDA_CHECK_LAUNCH("degrade_usm_sharp (mask columns, mix)");
}

}  // namespace sr::cuda
