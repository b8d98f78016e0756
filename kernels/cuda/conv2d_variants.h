// The variant implementations behind kernels/cuda/conv2d.h's dispatcher (conv2d.cu), one
// translation unit each so they compile in parallel: conv2d_igemm.cu (v2/v3 tensor cores), conv2d_igemm_v2.cu (v4)
// and conv2d_cudnn.cu (cuDNN). Plain C++.
#pragma once
#include <memory>
#include <vector>

#include "kernels/cuda/conv2d.h"

namespace sr::cuda {
class DeviceScratch;  // kernels/cuda/common.cuh
}

namespace sr::cuda::detail {

// v2 / v3 / v4 implicit GEMM, `v` naming the operand format: tf32 (TF32 m16n8k8), bf16 or
// fp16 (m16n8k16); another variant throws.
void igemm_forward(ConvVariant v, const Conv2dShape& s, const float* x, const float* w,
                   const ConvEpilogue& ep, float* y);
void igemm_backward_data(ConvVariant v, const Conv2dShape& s, const float* dy, const float* w,
                         float* dx, bool accumulate, int64_t dx_batch_stride);
void igemm_backward_weight(ConvVariant v, const Conv2dShape& s, const float* x, const float* dy,
                           float* dw);  // dw += ...

// An activation operand of igemm_v2's and wgmma's GEMMs: the caller's packed buffer (checked:
// ld a multiple of 8, at least pad8(C)), or a copy of x packed here (pitch pad8(C)), held while
// this lives. x: (N, C, HW), images x_bs apart.
class PackedOperand {
 public:
  PackedOperand(const PackedActivations& p, const float* x, int64_t x_bs, int64_t N, int64_t C, int64_t HW,
                const char* op);
  ~PackedOperand();
  PackedOperand(const PackedOperand&) = delete;
  PackedOperand& operator=(const PackedOperand&) = delete;
  const uint16_t* data() const { return data_; }
  int ld() const { return ld_; }

 private:
  std::unique_ptr<DeviceScratch> own_;
  const uint16_t* data_ = nullptr;
  int ld_ = 0;
};

// v4 igemm_v2 (conv2d_igemm_v2.cu): bf16 operands packed channels-last, cp.async + ldmatrix;
// backward-data of any stride (stride x stride phase convolutions). px / pdy: x / dy already
// packed (then x / dy are not read).
void igemm_v2_forward(const Conv2dShape& s, const float* x, const float* w, const ConvEpilogue& ep, float* y,
                      const PackedActivations& px = {});
// Its backward-data applies ep (conv2d.h's ConvDgradEpilogue) in its store, after the
// accumulate (with split-K: to the ordered sum).
void igemm_v2_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx, bool accumulate,
                            int64_t dx_batch_stride, const ConvDgradEpilogue& ep = {},
                            const PackedActivations& pdy = {});
// dw += ...; dbias (when not null) += the sum of dy over the pixels, from the same A tiles
// (bf16-rounded dy, fp32 sums) and split-K reduction, so dy is read once.
void igemm_v2_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw, float* dbias,
                              const PackedActivations& px = {}, const PackedActivations& pdy = {});
// upsample_nearest2x_conv2d (kernels/cuda/upsample_nearest2x_conv2d.h's semantics) as convolutions
// at x's size with tap-summed filters, 4/9 of the composed MACs for 3 x 3 (the derivation is at
// their definition): the forward's 4 output phases through the forward epilogue, backward-data
// one stride-2 convolution of dy, backward-weight one stride-2 weight gradient folded back to
// w's taps (dw +=; the bias gradient is the caller's). s is the convolution over the upsampled
// input, x and dx contiguous (N, C, s.H / 2, s.W / 2).
void igemm_v2_upsample_nearest2x_forward(const Conv2dShape& s, const float* x, const float* w, const ConvEpilogue& ep,
                                         float* y);
// The forward's output phases, shared with wgmma's: the rows (or columns) of parity a of an
// output of P rows, for R filter taps and padding pad, are `count` rows a, a + 2, ... of a
// stride-1 convolution of x with `taps` tap-summed rows at padding `pad` (its tap j is the
// stride-2 filter D's tap e_first - 2 j).
struct UpsamplePhase {
  int count, taps, e_first, pad;
};
// The operands of s's forward phases, held while this lives: x packed (x(), pitch pad8(C)), and
// for each phase (a, b) with an output, rows(a) x cols(b), its filter packed
// [K][rows.taps][cols.taps][pad8(C)] bf16 (the layout of both variants' forward filters).
// for_each_phase(f) calls f(a, b, rows, cols, filter) for each such phase.
class UpsamplePhases {
 public:
  UpsamplePhases(const Conv2dShape& s, const float* x, const float* w, const char* op);
  ~UpsamplePhases();
  UpsamplePhases(const UpsamplePhases&) = delete;
  UpsamplePhases& operator=(const UpsamplePhases&) = delete;
  const uint16_t* x() const { return x_.data(); }
  template <class F>
  void for_each_phase(F&& f) const {
    for (int a = 0; a < 2; ++a)
      for (int b = 0; b < 2; ++b)
        if (rows_[a].count > 0 && cols_[b].count > 0) f(a, b, rows_[a], cols_[b], filter(a, b));
  }

 private:
  const uint16_t* filter(int a, int b) const;
  PackedOperand x_;
  UpsamplePhase rows_[2], cols_[2];
  int64_t offset_[2][2] = {};
  std::unique_ptr<DeviceScratch> filters_;
};
// Backward-data of a convolution of any stride as stride x stride phase convolutions, shared
// by igemm_v2 and wgmma (the derivation at igemm_v2_backward_data). Per axis, the phase of
// residue a writes dx's rows first, first + stride, ... (`count` of them): a stride-1
// convolution of dy with `taps` rows of the flipped sub-filter at padding `pad` (negative: the
// window starts inside dy). taps = 0 (a filter narrower than the stride) still has rows: they
// are written a zero convolution. Stride 1 is the single phase of the whole filter flipped.
struct DgradPhase {
  int first, count, taps, pad;
};
// Each phase's filter packed [C][rows.taps][cols.taps][pad8(K)] bf16 (the forward filters'
// layout with C as the output channels; the sub-filters partition w's taps: one copy of w in
// all), held while this lives. for_each_phase(f) calls f(rows, cols, filter) for each phase
// with an output.
class DgradPhases {
 public:
  DgradPhases(const Conv2dShape& s, const float* w, const char* op);
  ~DgradPhases();
  DgradPhases(const DgradPhases&) = delete;
  DgradPhases& operator=(const DgradPhases&) = delete;
  template <class F>
  void for_each_phase(F&& f) const {
    for (int a = 0; a < stride_; ++a)
      for (int b = 0; b < stride_; ++b)
        if (rows_[a].count > 0 && cols_[b].count > 0) f(rows_[a], cols_[b], filter(a, b));
  }

 private:
  const uint16_t* filter(int a, int b) const;
  int stride_;
  std::vector<DgradPhase> rows_, cols_;
  std::vector<int64_t> offset_;  // [a * stride + b]
  std::unique_ptr<DeviceScratch> filters_;
};
void igemm_v2_upsample_nearest2x_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx);
// Its backward-data filter, D transposed: out[C][R+1][S+1][pad8(K)] bf16 (the stride-2
// convolution of dy that igemm_v2's and wgmma's backward-data run).
void upsample_nearest2x_pack_dgrad_filter(const Conv2dShape& s, const float* w, uint16_t* out, const char* op);
void igemm_v2_upsample_nearest2x_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);
// The weight gradients' split-K reduces (igemm_v2's and wgmma's partial tiles have one layout):
// ws[split][K][(r S + s) Cp + c] (Cp = C rounded up to 8) summed over the splits in order into
// dw (OIHW, +=), and with bias_ws ([split][K]) dbias += its splits' sum; the upsample
// convolution's ws[split][C][(e (S+1) + f) Kp + k] over D's taps, each w tap the sum of its up
// to 4 taps of D (igemm_v2_upsample_nearest2x_backward_weight's derivation).
void igemm_v2_wgrad_reduce(const Conv2dShape& s, const float* ws, const float* bias_ws, int splits, float* dw,
                           float* dbias, const char* op);
void igemm_v2_tap_sum_wgrad_reduce(const Conv2dShape& s, const float* ws, int splits, float* dw, const char* op);
// Its packing (bf16 bit patterns, round to nearest even; padding channels 0):
//   activations  x (N, C, HW), images x_bs apart -> out[N][HW][Cp], Cp = C rounded up to 8,
//                into pixel rows of ld channels at channel c_off (ld 0: Cp; both multiples of
//                8 and c_off + Cp <= ld), so slices can fill one wider buffer; scaled by
//                `scale` first (the fp32 product, as a separate scaling pass would store it)
//   weights      w (K, C, R, S) -> out[K][R][S][Cp]; flip: out[C][R][S][Kp] with
//                out[c][r][s][k] = w[k][c][R-1-r][S-1-s] (backward-data's filters)
void igemm_v2_pack_activations(const float* x, int64_t x_bs, int64_t N, int64_t C, int64_t HW, uint16_t* out,
                               int64_t ld = 0, int64_t c_off = 0, float scale = 1.f);
void igemm_v2_pack_weights(const float* w, int64_t K, int64_t C, int64_t R, int64_t S, bool flip, uint16_t* out);
// The packed copies' channel count (C rounded up to 8: one 16-byte cp.async or TMA chunk of
// bf16), and the check that 32-bit indices inside igemm_v2's and wgmma's kernels and the sizes
// of their packed copies fit (an error naming op and variant otherwise).
inline int igemm_v2_packed_channels(int64_t c) { return (int)((c + 7) / 8 * 8); }
void igemm_v2_check_range(const char* op, const char* variant, const Conv2dShape& s);
// Test hooks of its launch plans (kernels/cuda/conv2d_igemm_v2_plan.h): the SM count the plans
// read (0: the device's; the simt interpreter's is 132), and a forced forward / backward-data
// plan (tile bm x bn of 128 x 64, 128 x 32, 64 x 64 or 64 x 32, and `splits` k splits; bm = 0:
// plan_conv's). Process-wide; the tests restore them.
void igemm_v2_set_sm_count(int n);
void igemm_v2_force_conv_plan(int bm, int bn, int splits);
// The SM count the plans read (igemm_v2's and wgmma's): the override, else the device's.
int igemm_v2_sm_count();

// v5 wgmma (conv2d_wgmma.cu): igemm_v2's packing, TMA tiled loads, an mbarrier ring and
// wgmma.mma_async (sm_90a: a device of another compute capability gets an error naming the
// variant). Its forward takes strides 1 .. wgmma::kMaxStride (the tensor map's element
// strides), its backward-data the same strides as DgradPhases' phase convolutions when every
// phase has taps (R, S >= stride), its backward-weight strides 1 .. kMaxStride (MN-major
// operands: dy's pixels and x's gathered at each tap, split-K over the pixels, igemm_v2's
// reduce); the dispatcher sends the other shapes to igemm_v2.
bool wgmma_forward_supported(const Conv2dShape& s);
bool wgmma_backward_data_supported(const Conv2dShape& s);
bool wgmma_backward_weight_supported(const Conv2dShape& s);
// px / pdy: x / dy already packed (conv2d.h's PackedActivations), read through the tensor map's
// pixel stride.
void wgmma_forward(const Conv2dShape& s, const float* x, const float* w, const ConvEpilogue& ep, float* y,
                   const PackedActivations& px = {});
void wgmma_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx, bool accumulate,
                         int64_t dx_batch_stride, const PackedActivations& pdy = {});
// dw += the weight gradient; dbias += dy's channel sums (from the dy tiles in shared memory)
// when given.
void wgmma_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw, float* dbias,
                           const PackedActivations& px = {}, const PackedActivations& pdy = {});
// upsample_nearest2x_conv2d's forward (kernels/cuda/upsample_nearest2x_conv2d.h's shapes): the
// four output phases of igemm_v2_upsample_nearest2x_forward, each a stride-1 wgmma convolution
// of x at its own size with a tap-summed filter, stored into its rows and columns of y through
// the whole forward epilogue.
void wgmma_upsample_nearest2x_forward(const Conv2dShape& s, const float* x, const float* w, const ConvEpilogue& ep,
                                      float* y);
// Its backward-data: igemm_v2's stride-2 convolution of dy with the tap-summed filter D
// (upsample_nearest2x_pack_dgrad_filter), on wgmma's kernel (the element-strided tensor map).
void wgmma_upsample_nearest2x_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx);
// Its backward-weight: igemm_v2's weight gradient of D (x's pixels against dy gathered at
// stride 2 over D's (R+1) x (S+1) taps), on wgmma's weight-gradient kernel, then the tap-sum
// reduce (dw +=).
void wgmma_upsample_nearest2x_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw);
// Test hook of its launch plans (kernels/cuda/conv2d_wgmma_plan.h): a forced tile bm x bn with
// a tile_h x tile_w pixel rectangle, one of wgmma::kPlans (bm = 0: plan_conv's; another plan
// is an error). Process-wide; the tests restore it. The SM count is igemm_v2_set_sm_count's.
void wgmma_force_conv_plan(int bm, int bn, int tile_h, int tile_w);
// And of its weight gradient's (wgmma::plan_wgrad): a forced tile, bm 64 or 128 of x's channels
// x bn 64 or 32 of dy's (32 only for at most 32 packed channels) over a 64-pixel tile_h x
// tile_w rectangle (8 x 8, 4 x 16), the splits still planned (bm = 0: the rule's).
void wgmma_force_wgrad_tile(int bm, int bn, int tile_h, int tile_w);

// cuDNN (allow_tf32: default math; otherwise FMA math only). Forward writes the plain
// convolution (the dispatcher applies the epilogue); backward-weight adds into dw.
bool cudnn_built();
void cudnn_forward(bool allow_tf32, const Conv2dShape& s, const float* x, const float* w, float* y);
void cudnn_backward_data(bool allow_tf32, const Conv2dShape& s, const float* dy, const float* w,
                         float* dx, bool accumulate, int64_t dx_batch_stride);
void cudnn_backward_weight(bool allow_tf32, const Conv2dShape& s, const float* x, const float* dy,
                           float* dw);

}  // namespace sr::cuda::detail
