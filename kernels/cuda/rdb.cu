// The fused residual dense block on CUDA (see rdb.h and the math in kernels/cpu/rdb.cpp).
//
// v2 (this file): the convolutions are the caller's conv2d variant's explicit entry points
// on channel-range views of the buffer, with everything elementwise folded into their
// epilogues but two maps (x into the buffer, and dy's scaling for conv5; with the packed twin
// below, neither, but dy's scaling for conv5's bias gradient asked without its weight
// gradient). Without the twin:
//   forward   conv_k writes bias + LeakyReLU (epilogue) into buf's slice k (y_batch_stride);
//             conv5 writes x + residual * (conv5 + b5), and with the RRDB's outer residual
//             outer + outer_scale * (that), straight into y (the epilogue's residual and
//             outer terms);
//   backward  conv5's backward-data overwrites G = dL/d[x | slices] (all nf + 4 gc channels,
//             whatever buf holds); then per conv k, G's slice k is
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
// igemm_v2 and wgmma (the variants that pack their operands), with nf and gc multiples of 8,
// keep the block in one packed twin instead of a float32 buffer: NHWC bf16, all nf + 4 gc
// channels per pixel (igemm_v2_pack_activations' layout; conv2d.h's PackedActivations), the
// caller's memory. In the forward x is packed into it (or is there already: the previous
// block's conv5 stored it, RdbLink), and each growth conv's store writes its slice into it
// (ConvEpilogue::packed) and nothing else: the slices never exist in float32. The five
// convolutions read their channel prefixes from it. The forward saves it for the backward,
// which reads everything from it: the five weight gradients' operands as they are, and the
// signs LeakyReLU's derivative needs (ConvDgradEpilogue's packed y). Per pixel that is
// (nf + 4 gc) bf16 saved instead of (nf + 4 gc) floats (at nf 64, gc 32: 384 bytes instead of
// 768); in the backward one packing, conv5's dy (its backward-data and weight gradient
// read it; none when the next block's backward stored it: RdbBackwardLink), the growth convs'
// dy being packed by the backward-data store that finishes each slice
// (ConvDgradEpilogue::packed), which then stores no float32 copy of it (packed_only: nothing
// reads it, but a bias gradient asked without its weight gradient); in the forward x's packing
// alone (none inside the trunk) and no float32 slice written. The bf16 values, and so the
// convolutions' results, are the per-conv packing's bit for bit; the derivative reads
// bf16(y)'s sign, y's own but for a positive y <= 2^-134 (conv2d.h). conv5's dy, residual *
// identity * dy, is scaled as it is packed, so the twin's backward needs no float32 copy of it
// (one map fewer).
#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/conv2d_variants.h"
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

Conv2dShape rdb_conv_shape(const RdbShape& s, int k, int64_t x_batch, int64_t y_batch) {
  const int64_t cin = s.nf + k * s.gc, cout = k == 4 ? s.nf : s.gc;
  Conv2dShape c = make_conv2d_shape(s.N, cin, s.H, s.W, cout, 3, 3, 1, 1);
  c.x_batch_stride = x_batch;
  c.y_batch_stride = y_batch;
  return c;
}

// The packed twin of the block's buffer, [N][H][W][nf + 4 gc] (x and all the slices), the
// caller's memory (saved for the backward), when the block keeps one.
class BufferTwin {
 public:
  BufferTwin(const RdbShape& s, uint16_t* data) : s_(s), data_(data) {}
  bool on() const { return data_ != nullptr; }
  // Channels [c_begin, c_begin + C) of every pixel from `src` (NCHW, images batch apart).
  void pack(const float* src, int64_t batch, int64_t c_begin, int64_t C) const {
    detail::igemm_v2_pack_activations(src, batch, s_.N, C, s_.H * s_.W, data_, s_.channels(), c_begin);
  }
  PackedActivations view() const { return on() ? PackedActivations{data_, s_.channels()} : PackedActivations{}; }
  // A convolution's epilogue that also writes its output into channels [c_begin, c_begin + K)
  // of every pixel (conv2d.h's ConvEpilogue::packed), when the twin is on.
  void receive_output(ConvEpilogue& ep, int64_t c_begin) const {
    if (!on()) return;
    ep.packed = data_;
    ep.packed_ld = s_.channels();
    ep.packed_c_off = c_begin;
  }

 private:
  RdbShape s_;
  uint16_t* data_;
};

// The block's saved state as rdb.h states it: the twin with it, else the float32 buffer.
void check_saved(const char* op, ConvVariant v, const RdbShape& s, const RdbSaved& saved) {
  const bool twin = rdb_keeps_twin(v, s);
  SR_CHECK(twin ? saved.twin && !saved.buf : saved.buf && !saved.twin, op, " (", conv_variant_name(v), ", nf ", s.nf,
           ", gc ", s.gc, "): saves ", twin ? "the packed twin alone" : "the float32 buffer alone", ", got ",
           saved.twin ? "a twin" : "no twin", " and ", saved.buf ? "a buffer" : "no buffer");
}

}  // namespace

bool rdb_keeps_twin(ConvVariant v, const RdbShape& s) {
  return (v == ConvVariant::igemm_v2 || v == ConvVariant::wgmma) && s.nf % 8 == 0 && s.gc % 8 == 0;
}

void rdb_forward(ConvVariant v, const RdbShape& s, const float* x, const RdbWeights& p, const float* outer,
                 float slope, float residual, float outer_scale, const RdbSaved& saved, float* y,
                 const RdbLink& link) {
  if (s.N * s.H * s.W == 0) return;  // (nothing to hold: the pointers may be null)
  check_saved("rdb_forward", v, s, saved);
  SR_CHECK(saved.twin || (!link.twin_holds_x && !link.next_twin), "rdb_forward (", conv_variant_name(v),
           "): a link to the next block needs the packed twin");
  // buf: [x | slices] (CB per image) without the twin; with it no float32 buffer at all.
  const int64_t HW = s.H * s.W, CB = s.channels() * HW, xn = s.nf * HW;
  const BufferTwin twin(s, saved.twin);
  if (!twin.on()) launch_map("rdb_copy_x", CopyIntoView{x, saved.buf, xn, CB}, s.N * xn);
  else if (!link.twin_holds_x) twin.pack(x, xn, 0, s.nf);
  // The convolutions read the twin when there is one (then no float32 prefix exists: no
  // pointer is given), else buf's channel prefix. (x's batch stride is buf's: unused with the twin.)
  const float* prefix = twin.on() ? nullptr : saved.buf;
  auto conv = [&](int k, const ConvEpilogue& ep, float* out) {
    conv2d_forward_with(v, rdb_conv_shape(s, k, CB, k == 4 ? xn : CB), prefix, p.w[k], ep, out, twin.view());
  };
  for (int k = 0; k < 4; ++k) {
    ConvEpilogue ep;
    ep.bias = p.b[k];
    ep.leaky_relu = true;
    ep.slope = slope;
    // Conv k reads the twin's first nf + k gc channels and its store writes the next gc, its
    // only output (no float32 slice).
    twin.receive_output(ep, s.nf + k * s.gc);
    conv(k, ep, twin.on() ? nullptr : saved.buf + (s.nf + k * s.gc) * HW);
  }
  ConvEpilogue ep5;
  ep5.bias = p.b[4];
  ep5.residual = x;
  ep5.residual_batch_stride = xn;
  ep5.residual_scale = residual;
  ep5.outer = outer;  // y = outer + outer_scale * (x + residual * (conv5 + b5))
  ep5.outer_batch_stride = xn;
  ep5.outer_scale = outer_scale;
  if (link.next_twin) {  // y is the next block's x: its twin's first nf channels
    ep5.packed = link.next_twin;
    ep5.packed_ld = s.channels();
    ep5.packed_c_off = 0;
  }
  conv(4, ep5, y);
}

void rdb_backward(ConvVariant v, const RdbShape& s, const RdbSaved& saved, const RdbWeights& p, const float* dy,
                  float slope, float residual, bool has_outer, float outer_scale, float* dx, float* const dw[5],
                  float* const db[5], const RdbBackwardLink& link) {
  if (s.N * s.H * s.W == 0) return;
  check_saved("rdb_backward", v, s, saved);
  SR_CHECK(saved.twin || (!link.dz5_packed && !link.prev_dz5), "rdb_backward (", conv_variant_name(v),
           "): a link to the neighbouring block needs the packed twin");
  SR_CHECK(!link.prev_dz5 || dx, "rdb_backward (", conv_variant_name(v),
           "): the previous block's packed dy is this block's dx, which was not asked for");
  // G = dL/d[x | slices] and the float32 buffer have all nf + 4 gc channels (GB per image).
  const int64_t HW = s.H * s.W, GB = s.channels() * HW, CB = GB, xn = s.nf * HW;
  const float* buf = saved.buf;
  const BufferTwin twin(s, saved.twin);
  const float identity = has_outer ? outer_scale : 1.0f;
  DeviceScratch G(sizeof(float) * s.N * GB);
  float* g = G.as<float>();
  // The saved twin serves the weight gradients as it is. Conv k's packed dy lives in
  // dyp[k % 2]: conv5's is packed (and scaled) from dy below, or was stored by the next block's
  // backward (link.dz5_packed: then dyp holds slices alone, gc wide), and slice k's (k < 4) is
  // written by the backward-data store that finishes it (conv_{k+1}'s:
  // ConvDgradEpilogue::packed) while that convolution reads its own dy from the other buffer.
  const int64_t dy_channels = detail::igemm_v2_packed_channels(link.dz5_packed ? s.gc : std::max(s.nf, s.gc));
  const size_t dyp_bytes = twin.on() ? sizeof(uint16_t) * s.N * HW * dy_channels : 0;
  DeviceScratch dyp0(dyp_bytes), dyp1(dyp_bytes);
  uint16_t* const dyp[2] = {dyp0.as<uint16_t>(), dyp1.as<uint16_t>()};
  // Whether conv k's dy is packed: with the twin, when read by its weight gradient or its
  // backward-data (every conv's but conv1's, which runs only for dx).
  auto packs_dy = [&](int k) { return twin.on() && (dw[k] || k > 0 || dx); };
  // Whether growth conv k's dy (G's slice k) exists only packed: nothing reads its float32 once
  // the store that finishes it has packed it, but a bias gradient asked without the weight
  // gradient (a channel sum of the float32 dy: conv2d_backward_weight_with).
  auto dy_packed_only = [&](int k) { return k < 4 && packs_dy(k) && (dw[k] || !db[k]); };
  // LeakyReLU's derivative on G's slice k (channels nf + k gc .. nf + (k+1) gc of the
  // prefix a backward-data writes), read off the slice's signs in buf, or in the twin (whose
  // columns are G's channels); the finished slice is conv k's dy, packed by the same store.
  auto leaky_slice = [&](int k) {
    ConvDgradEpilogue ep;
    if (twin.on()) {
      ep.y_packed = saved.twin;
      ep.y_packed_ld = s.channels();
    } else {
      ep.y = buf;
      ep.y_batch_stride = CB;
    }
    ep.c_begin = s.nf + k * s.gc;
    ep.c_end = ep.c_begin + s.gc;
    ep.slope = slope;
    if (packs_dy(k)) {
      ep.packed = dyp[k % 2];
      ep.packed_ld = detail::igemm_v2_packed_channels(s.gc);
      ep.packed_c_begin = ep.c_begin;
      ep.packed_c_end = ep.c_end;
      ep.packed_only = dy_packed_only(k);
    }
    return ep;
  };
  const float* prefix = twin.on() ? nullptr : buf;
  // Conv k's weight gradient (when asked) and, when ep is given, its backward-data into dxk
  // with that epilogue, for its dy = dy_scale * dyk: G's slice k (final, a view), or for conv5
  // the scaled dy. With the twin both read the packed dy. The convolutions get the float32 dyk
  // only when it is the dy itself (dy_scale 1) and was stored; otherwise null, as nothing may
  // read it (the caller keeps the scaled dy in float32 where a bias gradient alone needs it).
  auto conv_backward = [&](int k, const float* dyk, float dy_scale, float* dxk, bool accumulate, int64_t dx_bs,
                           const ConvDgradEpilogue* ep) {
    const Conv2dShape c = rdb_conv_shape(s, k, CB, k == 4 ? xn : GB);
    PackedActivations pdy;
    if (packs_dy(k)) {
      if (k == 4 && link.dz5_packed) {  // the next block's backward stored it (RdbBackwardLink)
        pdy = {link.dz5_packed, detail::igemm_v2_packed_channels(c.K)};
      } else {
        if (k == 4) detail::igemm_v2_pack_activations(dyk, c.y_batch_stride, s.N, c.K, HW, dyp[0], 0, 0, dy_scale);
        pdy = {dyp[k % 2], detail::igemm_v2_packed_channels(c.K)};
      }
    }
    const float* dy_float = dy_scale == 1.0f && !dy_packed_only(k) ? dyk : nullptr;
    if (dw[k] || db[k]) conv2d_backward_weight_with(v, c, prefix, dy_float, dw[k], db[k], twin.view(), pdy);
    if (ep) conv2d_backward_data_with(v, c, dy_float, p.w[k], dxk, accumulate, dx_bs, *ep, pdy);
  };
  // conv5's dy is dz5 = residual * identity * dy. The twin scales it as it packs it, so the
  // float32 dz5 (a map reading dy and writing N nf H W floats) exists only when the packed copy
  // cannot serve every reader: no twin, or conv5's bias gradient without its weight gradient.
  const float dz5_scale = rdb_dz5_scale(residual, has_outer, outer_scale);
  const bool dz5_as_float = !twin.on() || (!dw[4] && db[4]);
  DeviceScratch dz5(dz5_as_float ? sizeof(float) * s.N * xn : 0);
  if (dz5_as_float) scale(dy, dz5_scale, dz5.as<float>(), s.N * xn);
  const ConvDgradEpilogue ep5 = leaky_slice(3);
  conv_backward(4, dz5_as_float ? dz5.as<float>() : dy, dz5_as_float ? 1.0f : dz5_scale, g, /*accumulate=*/false, 0,
                &ep5);
  for (int k = 3; k >= 1; --k) {
    const ConvDgradEpilogue ep = leaky_slice(k - 1);
    conv_backward(k, g + (s.nf + k * s.gc) * HW, 1.0f, g, /*accumulate=*/true, GB, &ep);
  }
  // dx = G[:, :nf] + conv1's contribution + identity * dy, x's channels having no LeakyReLU:
  // G's prefix is the source of the accumulate, dy the residual.
  ConvDgradEpilogue ep1;
  ep1.source = g;
  ep1.source_batch_stride = GB;
  ep1.residual = dy;
  ep1.residual_batch_stride = xn;
  ep1.residual_scale = identity;
  if (link.prev_dz5) {  // dx is the previous block's dy: its conv5 dy, scaled and packed
    ep1.packed = link.prev_dz5;
    ep1.packed_ld = detail::igemm_v2_packed_channels(s.nf);
    ep1.packed_c_begin = 0;
    ep1.packed_c_end = s.nf;
    ep1.packed_scale = link.prev_dz5_scale;
  }
  conv_backward(0, g + s.nf * HW, 1.0f, dx, /*accumulate=*/true, xn, dx ? &ep1 : nullptr);
}

}  // namespace sr::cuda
