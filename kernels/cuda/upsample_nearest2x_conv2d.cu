// upsample_nearest2x_conv2d on CUDA: the dispatcher over the conv2d variants (see
// upsample_nearest2x_conv2d.h). igemm_v2 runs the op as convolutions at x's size with tap-summed
// filters (conv2d_igemm_v2.cu, igemm_v2_upsample_nearest2x_*), wgmma its forward's phases and its
// stride-2 backward-data on its own kernel and the weight gradient on igemm_v2's; the other
// variants compose with
// resample.cu's upsample_nearest(x, 2) kernels through a scratch tensor of the upsampled size. No
// kernels of its own.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv2d_variants.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/resample.h"
#include "kernels/cuda/upsample_nearest2x_conv2d.h"

namespace sr::cuda {

namespace {

// The upsampled input (N, C, 2H, 2W) of the composing paths.
size_t upsampled_bytes(const Conv2dShape& s) { return (size_t)(s.N * s.C * s.H * s.W) * sizeof(float); }

void check_shape(const char* op, const Conv2dShape& s) {
  SR_CHECK(s.stride == 1 && s.H % 2 == 0 && s.W % 2 == 0 && s.x_batch_stride == s.C * s.H * s.W &&
               s.y_batch_stride == s.K * s.P * s.Q,
           op, ": the shape must be make_upsample_nearest2x_conv2d_shape's (stride 1, even upsampled size ", s.H,
           " x ", s.W, ", contiguous)");
}

}  // namespace

void upsample_nearest2x_conv2d_forward_with(ConvVariant v, const Conv2dShape& s, const float* x, const float* w,
                                            const ConvEpilogue& ep, float* y) {
  check_shape("upsample_nearest2x_conv2d_forward", s);
  if (s.N * s.K * s.P * s.Q == 0) return;
  check_packed_output("upsample_nearest2x_conv2d_forward", s, ep);
  if (v == ConvVariant::igemm_v2 || v == ConvVariant::wgmma) {
    // The phase stores do not write ep.packed: y is packed after them.
    ConvEpilogue phases = ep;
    phases.packed = nullptr;
    if (v == ConvVariant::igemm_v2)
      detail::igemm_v2_upsample_nearest2x_forward(s, x, w, phases, y);
    else
      detail::wgmma_upsample_nearest2x_forward(s, x, w, phases, y);
    conv2d_pack_output(s, ep, y);
    return;
  }
  DeviceScratch xu(upsampled_bytes(s));
  upsample_nearest_forward(x, xu.as<float>(), s.N * s.C, s.H / 2, s.W / 2, 2);
  conv2d_forward_with(v, s, xu.as<float>(), w, ep, y);
}

void upsample_nearest2x_conv2d_forward(ConvVariant v, const Conv2dShape& s, const float* x, const float* w,
                                       const float* bias, float* y) {
  ConvEpilogue ep;
  ep.bias = bias;
  upsample_nearest2x_conv2d_forward_with(v, s, x, w, ep, y);
}

void upsample_nearest2x_conv2d_backward_data(ConvVariant v, const Conv2dShape& s, const float* dy, const float* w,
                                             float* dx) {
  check_shape("upsample_nearest2x_conv2d_backward_data", s);
  if (s.N * s.C * s.H * s.W == 0) return;
  if (v == ConvVariant::igemm_v2) {
    detail::igemm_v2_upsample_nearest2x_backward_data(s, dy, w, dx);
    return;
  }
  if (v == ConvVariant::wgmma) {
    detail::wgmma_upsample_nearest2x_backward_data(s, dy, w, dx);
    return;
  }
  // dx[h][w] = sum over a, b in {0, 1} of dxu[2h + a][2w + b], dxu = conv_transpose(dy, w).
  DeviceScratch dxu(upsampled_bytes(s));
  conv2d_backward_data_with(v, s, dy, w, dxu.as<float>());
  upsample_nearest_backward(dxu.as<float>(), dx, s.N * s.C, s.H / 2, s.W / 2, 2);
}

void upsample_nearest2x_conv2d_backward_weight(ConvVariant v, const Conv2dShape& s, const float* x, const float* dy,
                                               float* dw, float* dbias) {
  check_shape("upsample_nearest2x_conv2d_backward_weight", s);
  if ((v == ConvVariant::igemm_v2 || v == ConvVariant::wgmma) && dw && s.K * s.C * s.R * s.S != 0) {
    // The GEMM's pixels are x's and dy is the gathered operand, so the bias gradient is
    // channel_sum's.
    if (v == ConvVariant::wgmma)
      detail::wgmma_upsample_nearest2x_backward_weight(s, x, dy, dw);
    else
      detail::igemm_v2_upsample_nearest2x_backward_weight(s, x, dy, dw);
    if (dbias) channel_sum(dy, s.N, s.K, s.P * s.Q, s.y_batch_stride, dbias, /*accumulate=*/true);
    return;
  }
  if (!dw || s.K * s.C * s.R * s.S == 0) {  // the bias gradient alone reads no x
    conv2d_backward_weight_with(v, s, x, dy, nullptr, dbias);
    return;
  }
  DeviceScratch xu(upsampled_bytes(s));
  upsample_nearest_forward(x, xu.as<float>(), s.N * s.C, s.H / 2, s.W / 2, 2);
  conv2d_backward_weight_with(v, s, xu.as<float>(), dy, dw, dbias);
}

}  // namespace sr::cuda
