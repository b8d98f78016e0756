// 2-D convolution on CUDA: forward, backward-data and backward-weight, float32 tensors,
// NCHW activations and OIHW weights at the API (the CPU twin is kernels/cpu/conv2d.h;
// the shapes and the channel-range-view conventions are the same Conv2dShape).
//
// Every direction has several variants behind one entry point; the caller names one
// (the op passes its kernels::KernelChoice's, kernels/kernel_choice.h):
//   naive       v1: one thread per output element, direct loops, fp32 FMA (the CUDA oracle)
//   tf32        v2: implicit GEMM on tensor cores, mma.sync m16n8k8 TF32, fp32 accumulate
//   bf16        v3: implicit GEMM on tensor cores, mma.sync m16n8k16 bf16 operands, fp32 accumulate
//   igemm_v2    v4: bf16 operands packed channels-last (NHWC, C padded to 8), cp.async 3-stage
//               shared ring, ldmatrix fragments, mma.sync m16n8k16, fp32 accumulate; tiles
//               and split-K planned per problem and SM count
//   wgmma       v5 (sm_90a only): igemm_v2's packing, TMA tiled loads into 128B-swizzled
//               shared memory, a 4-stage mbarrier ring, wgmma.mma_async m64nNk16, fp32
//               accumulate; strides 2 .. 8 through the tensor map's element strides,
//               backward-data's phase convolutions, backward-weight from MN-major operands
//               (strides above 8 and a backward-data with phases without taps run
//               igemm_v2's kernels)
//   fp16        v3 with IEEE fp16 operands: with IEEE fp16 operands (mma.sync m16n8k16 .f16), fp32 accumulate
//   cudnn       cuDNN 9 (legacy conv API), default math: TF32 allowed (the PyTorch default)
//   cudnn_fp32  cuDNN 9 restricted to FMA math: the fp32 oracle for the native kernels
// All variants are deterministic: no float atomics anywhere (cuDNN algorithms are filtered
// to the deterministic ones).
//
// Plain C++ header (no CUDA types), so engine/ops_conv.cpp can call it.
#pragma once
#include <string>

#include "kernels/common/conv2d_shape.h"
#include "kernels/kernel_choice.h"

namespace sr::cuda {

using ConvVariant = kernels::ConvVariant;
using kernels::conv_variant_from_name;
using kernels::conv_variant_name;

// The fused forward epilogue, applied to z = conv(x, w) per output element (n, k, p, q):
//   z += bias[k]                          (bias may be null)
//   z  = gain * leaky_relu(z, slope)      (when leaky_relu)
//   y  = residual[n][k][p][q] + residual_scale * z   (when residual is non-null)
//   y  = outer[n][k][p][q] + outer_scale * y         (when outer is non-null)
// residual and outer have y's (K, P, Q) layout, each with its own batch stride (0 means
// K*P*Q), so either can be a channel-range view: the dense block's `x + 0.2 * conv5`, and
// the RRDB's outer residual around it, `outer + 0.2 * (x + 0.2 * conv5)`, in one store.
// packed (optional): y also stored as bf16 (round to nearest even) channels-last,
//   packed[(n P Q + p Q + q) * packed_ld + packed_c_off + k] = bf16(y[n][k][p][q]),
// igemm_v2_pack_activations' layout and values (the dense block's twin receives each growth
// slice as its conv writes it). K, packed_ld and packed_c_off multiples of 8 (whole 16-byte
// chunks), packed_c_off + K <= packed_ld, packed 16-byte aligned; it must not overlap the
// channels the convolution reads (a PackedActivations x of the same rows: packed_c_off at or
// past x's channels); igemm_v2 and wgmma write it in their store, the
// other variants (and wgmma with an outer residual, applied after its store) pack y after.
// Where the store writes it, y may be null: the packed copy is then the only output (the dense
// block's growth slices, which nothing reads in float32).
struct ConvEpilogue {
  const float* bias = nullptr;
  bool leaky_relu = false;
  float slope = 0.2f;
  float gain = 1.0f;
  const float* residual = nullptr;
  int64_t residual_batch_stride = 0;
  float residual_scale = 1.0f;
  const float* outer = nullptr;
  int64_t outer_batch_stride = 0;
  float outer_scale = 1.0f;
  uint16_t* packed = nullptr;
  int64_t packed_ld = 0, packed_c_off = 0;
};

// The fused backward-data epilogue, applied per dx element (n, c, h, w) to
// conv = conv_transpose(dy, w)[n][c][h][w], in this order:
//   v  = conv + (accumulate ? prior : 0)    prior = source[n][c][h][w] when source is
//                                           non-null, else dx's own old value
//   v *= leaky'(y[n][c][h][w])              on the channels [c_begin, c_end) only
//   dx = v + residual_scale * residual[n][c][h][w]   (when residual is non-null)
// with leaky'(y) = 1 for y > 0, else slope (slope > 0, so the sign of y is the sign of the
// pre-activation). y, source and residual have dx's (C, H, W) layout (c indexes them from
// dx's channel 0; y from y_first_channel: its first plane is dx's channel y_first_channel,
// at most c_begin, so y may hold the derivative's channels alone), each with its own batch
// stride (0 means contiguous: C*H*W, for y (C - y_first_channel)*H*W), so each can be a
// channel-range view; none may share dx's memory (the check catches a source or residual
// that is dx itself, not an overlapping view). c_begin == c_end: no derivative. A source
// is read only when accumulating (the value the convolution adds to; without accumulate it
// is an error). The dense block's backward: slice k of G = dL/dbuf is final once
// conv_{k+1}'s backward-data has added into it, so that conv's store applies the slice's
// derivative; and conv1's backward-data reads G's prefix as its source and writes the
// block's dx = (G[:, :nf] + its contribution) + identity * dy, dy being the residual.
// y may instead be given as bf16 channels-last (y_packed: pixel n H W + h W + w's row of
// y_packed_ld values, dx's channel c at column c; y_first_channel 0): the dense block's
// packed twin, which it saves for its backward instead of a float32 buffer. The derivative
// then reads the sign of bf16(y), which is y's but for a positive y of at most 2^-134 (half
// bf16's smallest denormal), which rounds to +0.
// packed (optional): dx's channels [packed_c_begin, packed_c_end), once final, also stored
// scaled as bf16 (round to nearest even) channels-last,
// packed[(n H W + h W + w) * packed_ld + c - packed_c_begin] = bf16(packed_scale * dx[n][c][h][w]),
// as igemm_v2_pack_activations packs with that scale (the count and packed_ld multiples of 8,
// a 16-byte aligned buffer; the columns past the count are not written): the dense block's
// next dy (a finished slice, scale 1), or the previous block's conv5 dy (its dx, scaled by that
// block's residual: rdb.h's RdbBackwardLink). It must not overlap the packed dy the same call
// reads (checked): the dense block alternates two buffers. packed_only (with packed): the
// range's final values are stored packed alone, and dx's float32 elements there are left
// unspecified (igemm_v2's store leaves them as they were; the map variants, which convolve into
// dx first, with the convolution's partial values): the dense block's finished slices, which
// nothing reads in float32 once their packed dy exists.
struct ConvDgradEpilogue {
  const float* y = nullptr;
  int64_t y_batch_stride = 0;
  int64_t y_first_channel = 0;
  const uint16_t* y_packed = nullptr;
  int64_t y_packed_ld = 0;
  uint16_t* packed = nullptr;
  int64_t packed_ld = 0;
  int64_t packed_c_begin = 0, packed_c_end = 0;
  float packed_scale = 1.0f;
  bool packed_only = false;
  int64_t c_begin = 0, c_end = 0;
  float slope = 0.2f;
  const float* source = nullptr;
  int64_t source_batch_stride = 0;
  const float* residual = nullptr;
  int64_t residual_batch_stride = 0;
  float residual_scale = 1.0f;
};

// An activation operand already packed the way igemm_v2 and wgmma pack theirs (NHWC bf16,
// kernels/cuda/conv2d_variants.h's igemm_v2_pack_activations), inside a wider buffer: pixel p's
// channel c at data[p * ld + c], the convolution reading the first C (rounded up to 8) channels
// of each pixel. ld is a multiple of 8 and at least that. The fused dense block keeps x and its
// growth slices in one such twin for its five convolutions and saves it for their weight
// gradients (kernels/cuda/rdb.cu). igemm_v2 and wgmma read it instead of packing x (or dy)
// again (the float32 pointer may then be null); the other variants read the float32 tensor and
// ignore it, so it must hold that tensor's values rounded to bf16. data == nullptr: none.
struct PackedActivations {
  const uint16_t* data = nullptr;
  int64_t ld = 0;
};

// ---- The ops' entry points: CPU semantics ---------------------------------------------------
// y = conv(x, w) + bias (bias may be null). Overwrites y (batch stride s.y_batch_stride).
void conv2d_forward(ConvVariant v, const Conv2dShape& s, const float* x, const float* w,
                    const float* bias, float* y);
// dx = conv_transpose(dy, w). Overwrites dx (contiguous (N, C, H, W)).
void conv2d_backward_data(ConvVariant v, const Conv2dShape& s, const float* dy, const float* w,
                          float* dx);
// dw += correlation(x, dy); dbias += sum over N, P, Q of dy (dw, dbias may be null).
void conv2d_backward_weight(ConvVariant v, const Conv2dShape& s, const float* x, const float* dy,
                            float* dw, float* dbias);

// ---- With an epilogue and views (tests, benchmarks, fused blocks) ----------------------------
// dy always has y's layout: images s.y_batch_stride apart, channels P*Q apart.
// px, pdy: x, dy already packed (PackedActivations above; ignored by the variants that do not pack).
void conv2d_forward_with(ConvVariant v, const Conv2dShape& s, const float* x, const float* w,
                         const ConvEpilogue& ep, float* y, const PackedActivations& px = {});
// dx = (accumulate ? dx : 0) + conv_transpose(dy, w); images dx_batch_stride apart
// (0 means C*H*W), so dx may be a channel-range view (dense-block prefix gradients); with
// ep as ConvDgradEpilogue says (igemm_v2 in its store; every other variant runs the
// convolution, overwriting dx when ep has a source, then ep as one map: the same result, but
// in a packed_only range, whose float32 elements are unspecified).
void conv2d_backward_data_with(ConvVariant v, const Conv2dShape& s, const float* dy,
                               const float* w, float* dx, bool accumulate = false,
                               int64_t dx_batch_stride = 0, const ConvDgradEpilogue& ep = {},
                               const PackedActivations& pdy = {});
// dw += correlation(x, dy) (when dw is non-null); dbias += sum of dy (when non-null).
void conv2d_backward_weight_with(ConvVariant v, const Conv2dShape& s, const float* x,
                                 const float* dy, float* dw, float* dbias,
                                 const PackedActivations& px = {}, const PackedActivations& pdy = {});

// y = epilogue(y) in place (the cuDNN variants' epilogue; also a standalone fused op).
void conv2d_apply_epilogue(const Conv2dShape& s, const ConvEpilogue& ep, float* y);
// ep.packed's refusals (conv2d_forward_with's: the layout the ConvEpilogue comment states),
// and its copy of y packed after the fact (the variants whose store does not write it).
void check_packed_output(const char* op, const Conv2dShape& s, const ConvEpilogue& ep);
// Whether variant v's store writes ep's packed copy itself (then y may be null).
bool stores_packed_output(ConvVariant v, const Conv2dShape& s, const ConvEpilogue& ep);
void conv2d_pack_output(const Conv2dShape& s, const ConvEpilogue& ep, const float* y);
// The backward-data epilogue of the variants that do not fuse it, in place on a dx that
// holds the convolution (plus dx's old value, when accumulating without a source):
//   dx = leaky'(y) * (dx + (add_source ? source : 0)) + residual_scale * residual
// (add_source: the convolution ran with accumulate and ep has a source); dx's images
// dx_batch_stride apart (0 means C*H*W). Only ep's channel range and its packed copy's (the
// channels between them too) when ep has neither a source nor a residual, else all of dx. It
// writes ep's packed copy too, and no float32 element of a packed_only range.
void conv2d_apply_dgrad_epilogue(const Conv2dShape& s, const ConvDgradEpilogue& ep, float* dx,
                                 int64_t dx_batch_stride = 0, bool add_source = false);

}  // namespace sr::cuda
