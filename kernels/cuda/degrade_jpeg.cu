// DiffJPEG of the degradation model (see degrade_jpeg.h): one fused kernel, one block of 64
// threads per 16 x 16 macroblock of one sample (4 luma blocks + one Cb + one Cr block after
// 4:2:0). The block stages its RGB pixels in shared memory, converts them to the six 8 x 8
// blocks, and runs the four matrix products of the forward and inverse DCT with the
// quantisation between them, one coefficient per thread and block, barrier between
// stages; then writes the pixels inside the image back as RGB. CPU reference:
// data/degrade/diff_jpeg.cpp, whose sums (in double) this kernel computes in the same order,
// with the same DCT basis and tables (computed on the host, passed by value).
//
// Cost per 16 x 16 macroblock: 6 blocks x 4 products x 512 FMAs = 12 K double FMAs for 3 KB
// read and written: at 400 x 400 x 48 samples 30 K macroblocks, 0.74 GFLOP of FP64, 184 MB
// moved: a fraction of a millisecond on an H100/H200 (slow on GPUs with little FP64).
#include <cmath>
#include <numbers>
#include <vector>

#include "kernels/common/degrade_math.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/degrade_jpeg.h"

namespace sr::cuda {

namespace {

// The DCT basis and the quantisation tables, by value (1.5 KB of kernel parameters).
struct JpegTables {
  double basis[8][8];   // basis[x][u] = 1/2 a(u) cos((2x+1) u pi / 16); C = B^T P B
  double luma[8][8];    // ITU-T T.81 Annex K luma table as printed (rows = vertical frequency)
  double chroma[8][8];  // the chroma table, likewise
};

JpegTables make_tables() {
  JpegTables t;
  for (int x = 0; x < 8; ++x)
    for (int u = 0; u < 8; ++u) {
      t.basis[x][u] = 0.5 * (u == 0 ? 1 / std::numbers::sqrt2 : 1.0) * std::cos((2 * x + 1) * u * std::numbers::pi / 16);
      t.luma[x][u] = degrade_math::kJpegLuma[x][u];
      t.chroma[x][u] = degrade_math::jpeg_chroma_table(x, u);
    }
  return t;
}

constexpr int kThreads = 64;  // one per coefficient of an 8 x 8 block
constexpr int kBlocks = 6;    // Y (0,0) (0,8) (8,0) (8,8), Cb, Cr

// grid (ceil(W/16), ceil(H/16), N), block 64.
__global__ void __launch_bounds__(kThreads)
    degrade_jpeg_kernel(float* __restrict__ x, int H, int W, const double* __restrict__ factor, JpegTables tab) {
  SR_SHARED(double, rgb, [3][16][16]);
  SR_SHARED(double, pl, [kBlocks][8][8]);
  SR_SHARED(double, tmp, [kBlocks][8][8]);
  const int t = threadIdx.x, r = t / 8, c = t % 8;
  const int64_t n = blockIdx.z;
  const int y0 = blockIdx.y * 16, x0 = blockIdx.x * 16;
  const int64_t hw = (int64_t)H * W;
  float* xs = x + n * 3 * hw;
  const double f = factor[n];

  // 0..255 RGB of the macroblock; zero (black) outside the image.
  for (int i = t; i < 3 * 256; i += kThreads) {
    const int ch = i / 256, yy = (i / 16) % 16, xx = i % 16, gy = y0 + yy, gx = x0 + xx;
    rgb[ch][yy][xx] = gy < H && gx < W ? 255.0 * (double)xs[ch * hw + (int64_t)gy * W + gx] : 0.0;
  }
  __syncthreads();
  // Y, level-shifted, into the four luma blocks; Cb and Cr as 2 x 2 means (the CPU's sums).
  for (int i = t; i < 256; i += kThreads) {
    const int yy = i / 16, xx = i % 16;
    const double lum = 0.299 * rgb[0][yy][xx] + 0.587 * rgb[1][yy][xx] + 0.114 * rgb[2][yy][xx];
    pl[(yy / 8) * 2 + xx / 8][yy % 8][xx % 8] = lum - 128.0;
  }
  {
    double cb = 0, cr = 0;
    for (int dy = 0; dy < 2; ++dy)
      for (int dx = 0; dx < 2; ++dx) {
        const double R = rgb[0][2 * r + dy][2 * c + dx], G = rgb[1][2 * r + dy][2 * c + dx],
                     B = rgb[2][2 * r + dy][2 * c + dx];
        cb += -0.168736 * R - 0.331264 * G + 0.5 * B + 128;
        cr += 0.5 * R - 0.418688 * G - 0.081312 * B + 128;
      }
    pl[4][r][c] = cb / 4 - 128.0;
    pl[5][r][c] = cr / 4 - 128.0;
  }
  __syncthreads();
  // tmp[u][y] = sum_x B[x][u] P[x][y]   (thread: u = r, y = c)
  for (int b = 0; b < kBlocks; ++b) {
    double s = 0;
    for (int k = 0; k < 8; ++k) s += tab.basis[k][r] * pl[b][k][c];
    tmp[b][r][c] = s;
  }
  __syncthreads();
  // C[u][v] = sum_y tmp[u][y] B[y][v], quantised with step T[v][u] f (the transposed table),
  // round half to even   (thread: u = r, v = c)
  for (int b = 0; b < kBlocks; ++b) {
    double s = 0;
    for (int k = 0; k < 8; ++k) s += tmp[b][r][k] * tab.basis[k][c];
    const double step = (b < 4 ? tab.luma[c][r] : tab.chroma[c][r]) * f;
    pl[b][r][c] = rint(s / step) * step;
  }
  __syncthreads();
  // tmp[x][v] = sum_u B[x][u] C[u][v]   (thread: x = r, v = c)
  for (int b = 0; b < kBlocks; ++b) {
    double s = 0;
    for (int k = 0; k < 8; ++k) s += tab.basis[r][k] * pl[b][k][c];
    tmp[b][r][c] = s;
  }
  __syncthreads();
  // P[x][y] = sum_v tmp[x][v] B[y][v] + 128   (thread: x = r, y = c)
  for (int b = 0; b < kBlocks; ++b) {
    double s = 0;
    for (int k = 0; k < 8; ++k) s += tmp[b][r][k] * tab.basis[c][k];
    pl[b][r][c] = s + 128.0;
  }
  __syncthreads();
  // Back to RGB with the chroma replicated over 2 x 2, clamped, for the pixels in the image.
  for (int i = t; i < 256; i += kThreads) {
    const int yy = i / 16, xx = i % 16, gy = y0 + yy, gx = x0 + xx;
    if (gy >= H || gx >= W) continue;
    const double lum = pl[(yy / 8) * 2 + xx / 8][yy % 8][xx % 8];
    const double cb = pl[4][yy / 2][xx / 2] - 128, cr = pl[5][yy / 2][xx / 2] - 128;
    const double R = lum + 1.402 * cr, G = lum - 0.344136 * cb - 0.714136 * cr, B = lum + 1.772 * cb;
    const int64_t at = (int64_t)gy * W + gx;
    xs[at] = (float)(fmin(fmax(R, 0.0), 255.0) / 255.0);
    xs[hw + at] = (float)(fmin(fmax(G, 0.0), 255.0) / 255.0);
    xs[2 * hw + at] = (float)(fmin(fmax(B, 0.0), 255.0) / 255.0);
  }
}

}  // namespace

void degrade_jpeg(float* x, int64_t N, int64_t H, int64_t W, const double* quality) {
  SR_CHECK(N >= 0 && H >= 1 && W >= 1, "degrade_jpeg: bad shape N ", N, " H ", H, " W ", W);
  if (N == 0) return;
  SR_CHECK(N <= 65535, "degrade_jpeg: batch ", N, " exceeds 65535 samples");
  SR_CHECK(ceil_div(H, 16) <= 65535 && W <= INT32_MAX - 16, "degrade_jpeg: a ", W, "x", H,
           " image exceeds the grid (at most ", 65535 * 16, " rows)");
  std::vector<double> factor(N);
  for (int64_t n = 0; n < N; ++n) {
    const double q = quality[n];
    SR_CHECK(std::isfinite(q) && q > 0 && q < 100, "degrade_jpeg: sample ", n, " has quality ", q,
             " (must be in (0, 100); at 100 the table factor 2 - q/50 is 0)");
    factor[n] = q < 50 ? 50.0 / q : 2.0 - q / 50.0;
  }
  DeviceScratch dev_factor(N * sizeof(double));
  memcpy(dev_factor.as<void>(), factor.data(), N * sizeof(double), CopyKind::host_to_device);
  const dim3 grid((unsigned)ceil_div(W, 16), (unsigned)ceil_div(H, 16), (unsigned)N);
  launch_kernel(degrade_jpeg_kernel, grid, kThreads, 0, current_stream(), x, (int)H, (int)W,
                (const double*)dev_factor.as<double>(), make_tables());
  CUDA_CHECK_LAUNCH("degrade_jpeg");
}

}  // namespace sr::cuda
