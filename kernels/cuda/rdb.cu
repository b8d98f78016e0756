// The fused residual dense block on CUDA (see rdb.h and the math in kernels/cpu/rdb.cpp).
//
// v2 (this file): the convolutions are the caller's conv2d variant's explicit entry points
// on channel-range views of the buffer, with everything elementwise folded into their
// epilogues but two maps (x into the buffer, and dy's scaling for conv5):
//   forward   conv_k writes bias + LeakyReLU (epilogue) into buf's slice k (y_batch_stride);
//             conv5 writes x + residual * (conv5 + b5), and with the RRDB's outer residual
//             outer + outer_scale * (that), straight into y (the epilogue's residual and
//             outer terms);
//   backward  conv5's backward-data overwrites G = dL/dbuf; then per conv k, G's slice k is
//             conv k's dy (a view: y_batch_stride) and its backward-data adds (accumulate)
//             into G's channel prefix (dx_batch_stride). Slice k is final once conv_{k+1}'s
//             backward-data has added into it (conv5's for k = 3), so that conv's
//             backward-data epilogue multiplies it by LeakyReLU's derivative, read off
//             buf's slice k, after the accumulate (ConvDgradEpilogue: igemm_v2 in its store,
//             the other variants as one map). conv1's backward-data (when dx is wanted)
//             reads G's prefix as the epilogue's source, adds its contribution and
//             identity * dy (the residual term) and writes dx, the block's input gradient:
//             G's prefix itself is never written. No float atomics: deterministic like the
//             convolutions.
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/rdb.h"

namespace sr::cuda {

namespace {

// Element i of an (N, per_image) contiguous tensor <-> element of a view whose images are
// `batch` apart.
__device__ __forceinline__ int64_t view_index(int64_t i, int64_t per_image, int64_t batch) {
  return (i / per_image) * batch + i % per_image;
}

struct CopyIntoView {  // view[i] = src[i]
  const float* src;
  float* view;
  int64_t per_image, batch;
  __device__ void operator()(int64_t i) const { view[view_index(i, per_image, batch)] = src[i]; }
};

Conv2dShape rdb_conv_shape(const RdbShape& s, int k, int64_t y_batch) {
  const int64_t cin = s.nf + k * s.gc, cout = k == 4 ? s.nf : s.gc;
  Conv2dShape c = cpu::make_conv2d_shape(s.N, cin, s.H, s.W, cout, 3, 3, 1, 1);
  c.x_batch_stride = s.channels() * s.H * s.W;
  c.y_batch_stride = y_batch;
  return c;
}

}  // namespace

void rdb_forward(ConvVariant v, const RdbShape& s, const float* x, const RdbParams& p, const float* outer,
                 float slope, float residual, float outer_scale, float* buf, float* y) {
  const int64_t HW = s.H * s.W, CB = s.channels() * HW, xn = s.nf * HW;
  launch_map("rdb_copy_x", CopyIntoView{x, buf, xn, CB}, s.N * xn);
  for (int k = 0; k < 4; ++k) {
    ConvEpilogue ep;
    ep.bias = p.b[k];
    ep.leaky_relu = true;
    ep.slope = slope;
    conv2d_forward_with(v, rdb_conv_shape(s, k, CB), buf, p.w[k], ep, buf + (s.nf + k * s.gc) * HW);
  }
  ConvEpilogue ep5;
  ep5.bias = p.b[4];
  ep5.residual = x;
  ep5.residual_batch_stride = xn;
  ep5.residual_scale = residual;
  ep5.outer = outer;  // y = outer + outer_scale * (x + residual * (conv5 + b5))
  ep5.outer_batch_stride = xn;
  ep5.outer_scale = outer_scale;
  conv2d_forward_with(v, rdb_conv_shape(s, 4, xn), buf, p.w[4], ep5, y);
}

void rdb_backward(ConvVariant v, const RdbShape& s, const float* buf, const RdbParams& p, const float* dy,
                  float slope, float residual, bool has_outer, float outer_scale, float* dx,
                  float* const dw[5], float* const db[5]) {
  const int64_t HW = s.H * s.W, CB = s.channels() * HW, xn = s.nf * HW;
  const float identity = has_outer ? outer_scale : 1.0f;
  DeviceScratch G(sizeof(float) * s.N * CB), dz5(sizeof(float) * s.N * xn);
  float* g = G.as<float>();
  scale(dy, residual * identity, dz5.as<float>(), s.N * xn);
  // LeakyReLU's derivative on G's slice k (channels nf + k gc .. nf + (k+1) gc of the
  // prefix a backward-data writes), read off buf's slice k.
  auto leaky_slice = [&](int k) {
    ConvDgradEpilogue ep;
    ep.y = buf;
    ep.y_batch_stride = CB;
    ep.c_begin = s.nf + k * s.gc;
    ep.c_end = ep.c_begin + s.gc;
    ep.slope = slope;
    return ep;
  };
  const Conv2dShape s5 = rdb_conv_shape(s, 4, xn);
  conv2d_backward_data_with(v, s5, dz5.as<float>(), p.w[4], g, false, 0, leaky_slice(3));
  if (dw[4] || db[4]) conv2d_backward_weight_with(v, s5, buf, dz5.as<float>(), dw[4], db[4]);
  for (int k = 3; k >= 0; --k) {
    const int64_t off = (s.nf + k * s.gc) * HW;
    const Conv2dShape sk = rdb_conv_shape(s, k, CB);  // dy = G's slice k (final), a view
    if (dw[k] || db[k]) conv2d_backward_weight_with(v, sk, buf, g + off, dw[k], db[k]);
    if (k > 0) {
      conv2d_backward_data_with(v, sk, g + off, p.w[k], g, /*accumulate=*/true, CB, leaky_slice(k - 1));
    } else if (dx) {
      // dx = G[:, :nf] + conv1's contribution + identity * dy, x's channels having no
      // LeakyReLU: G's prefix is the source of the accumulate, dy the residual.
      ConvDgradEpilogue ep;
      ep.source = g;
      ep.source_batch_stride = CB;
      ep.residual = dy;
      ep.residual_batch_stride = xn;
      ep.residual_scale = identity;
      conv2d_backward_data_with(v, sk, g + off, p.w[0], dx, /*accumulate=*/true, xn, ep);
    }
  }
}

}  // namespace sr::cuda
