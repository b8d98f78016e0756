// Reflect padding and crop on CUDA (see pad_reflect.h).
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/pad_reflect.h"

namespace sr::cuda {

namespace {

// m_n(i): the source of padded index i (n <= i < 2n - 1 mirrors about n - 1).
__device__ __forceinline__ int64_t mirror(int64_t i, int64_t n) { return i < n ? i : 2 * (n - 1) - i; }

struct PadReflectOp {  // over y (NC, Ho, Wo)
  const float* x;
  float* y;
  int64_t H, W, Ho, Wo;
  __device__ void operator()(int64_t o) const {
    const int64_t j = o % Wo, i = (o / Wo) % Ho, p = o / (Wo * Ho);
    y[o] = x[(p * H + mirror(i, H)) * W + mirror(j, W)];
  }
};

struct PadReflectBackwardOp {  // over dx (NC, H, W)
  const float* dy;
  float* dx;
  int64_t H, W, Ho, Wo;
  __device__ void operator()(int64_t o) const {
    const int64_t j = o % W, i = (o / W) % H, p = o / (W * H);
    const int64_t i2 = 2 * (H - 1) - i, j2 = 2 * (W - 1) - j;
    const bool has_i2 = i2 >= H && i2 < Ho, has_j2 = j2 >= W && j2 < Wo;
    const float* d0 = dy + (p * Ho + i) * Wo;
    float acc = d0[j];
    if (has_j2) acc += d0[j2];
    if (has_i2) {
      const float* d1 = dy + (p * Ho + i2) * Wo;
      acc += d1[j];
      if (has_j2) acc += d1[j2];
    }
    dx[o] = acc;
  }
};

struct CropOp {  // over y (NC, height, width)
  const float* x;
  float* y;
  int64_t H, W, height, width;
  __device__ void operator()(int64_t o) const {
    const int64_t j = o % width, i = (o / width) % height, p = o / (width * height);
    y[o] = x[(p * H + i) * W + j];
  }
};

struct CropBackwardOp {  // over dx (NC, H, W)
  const float* dy;
  float* dx;
  int64_t H, W, height, width;
  __device__ void operator()(int64_t o) const {
    const int64_t j = o % W, i = (o / W) % H, p = o / (W * H);
    dx[o] = i < height && j < width ? dy[(p * height + i) * width + j] : 0.f;
  }
};

}  // namespace

void pad_reflect_forward(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int bottom, int right) {
  const int64_t Ho = H + bottom, Wo = W + right;
  launch_map("pad_reflect", PadReflectOp{x, y, H, W, Ho, Wo}, NC * Ho * Wo);
}

void pad_reflect_backward(const float* dy, float* dx, int64_t NC, int64_t H, int64_t W, int bottom, int right) {
  launch_map("pad_reflect_backward", PadReflectBackwardOp{dy, dx, H, W, H + bottom, W + right}, NC * H * W);
}

void crop_forward(const float* x, float* y, int64_t NC, int64_t H, int64_t W, int64_t height, int64_t width) {
  launch_map("crop", CropOp{x, y, H, W, height, width}, NC * height * width);
}

void crop_backward(const float* dy, float* dx, int64_t NC, int64_t H, int64_t W, int64_t height, int64_t width) {
  launch_map("crop_backward", CropBackwardOp{dy, dx, H, W, height, width}, NC * H * W);
}

}  // namespace sr::cuda
