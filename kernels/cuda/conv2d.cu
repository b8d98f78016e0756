// CUDA convolution: the dispatcher over the variants (see conv2d.h) and v1, the naive
// direct kernels that every faster variant is checked against.
//
// v1 naive (fp32 FMA, deterministic, slow; correct for every shape the op allows: kernel
// 1..7, stride 1..2, any padding, channel-range views through the batch strides):
//   forward          one thread per output (n, k, p, q): sum over c, r, s of x * w,
//                    then the fused epilogue
//   backward-data    one thread per input (n, c, h, w): sum over k, r, s of the taps with
//                    p = (h + pad - r) / stride integral and in range
//   backward-weight  one block of 256 threads per weight (k, c, r, s): the threads stride
//                    over the N*P*Q pixels, block_sum's fixed tree adds them
//   bias gradient    reduce.h's two-pass channel_sum over dy (igemm_v2 and wgmma: from
//                    igemm_v2's weight-gradient tiles)
// v2 tf32 / v3 bf16 and fp16: conv2d_igemm.cu; v4 igemm_v2: conv2d_igemm_v2.cu; v5 wgmma:
// conv2d_wgmma.cu (sm_90a);
// cudnn / cudnn_fp32: conv2d_cudnn.cu.
#include <algorithm>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/conv2d_problems.h"
#include "kernels/cuda/conv2d_variants.h"
#include "kernels/cuda/reduce.h"

namespace sr::cuda {

namespace {

constexpr int kWgradThreads = 256;

struct NaiveForwardOp {  // over the logical output (N, K, P, Q)
  Conv2dShape s;
  const float* x;
  const float* w;
  float* y;
  igemm::Epilogue ep;
  __device__ void operator()(int64_t o) const {
    const int64_t q = o % s.Q, p = (o / s.Q) % s.P, k = (o / (s.P * s.Q)) % s.K,
                  n = o / (s.K * s.P * s.Q);
    const float* xn = x + n * s.x_batch_stride;
    const float* wk = w + k * s.C * s.R * s.S;
    float acc = 0.f;
    for (int64_t c = 0; c < s.C; ++c) {
      for (int64_t r = 0; r < s.R; ++r) {
        const int64_t ih = p * s.stride - s.pad + r;
        if (ih < 0 || ih >= s.H) continue;
        for (int64_t t = 0; t < s.S; ++t) {
          const int64_t iw = q * s.stride - s.pad + t;
          if (iw < 0 || iw >= s.W) continue;
          acc = fmaf(xn[(c * s.H + ih) * s.W + iw], wk[(c * s.R + r) * s.S + t], acc);
        }
      }
    }
    const int64_t pq = p * s.Q + q, PQ = s.P * s.Q;
    y[n * s.y_batch_stride + k * PQ + pq] = ep.apply(acc, (int)k, n, pq, PQ);
  }
};

struct NaiveBackwardDataOp {  // over the logical input (N, C, H, W)
  Conv2dShape s;
  const float* dy;
  const float* w;
  float* dx;
  int64_t dx_bs;
  int accumulate;
  __device__ void operator()(int64_t i) const {
    const int64_t iw = i % s.W, ih = (i / s.W) % s.H, c = (i / (s.H * s.W)) % s.C,
                  n = i / (s.C * s.H * s.W);
    const float* dyn = dy + n * s.y_batch_stride;
    float acc = 0.f;
    for (int64_t k = 0; k < s.K; ++k) {
      const float* wkc = w + (k * s.C + c) * s.R * s.S;
      const float* dyk = dyn + k * s.P * s.Q;
      for (int64_t r = 0; r < s.R; ++r) {
        const int64_t pn = ih + s.pad - r;
        if (pn < 0 || pn % s.stride) continue;
        const int64_t p = pn / s.stride;
        if (p >= s.P) continue;
        for (int64_t t = 0; t < s.S; ++t) {
          const int64_t qn = iw + s.pad - t;
          if (qn < 0 || qn % s.stride) continue;
          const int64_t q = qn / s.stride;
          if (q >= s.Q) continue;
          acc = fmaf(dyk[p * s.Q + q], wkc[r * s.S + t], acc);
        }
      }
    }
    float* d = dx + n * dx_bs + (c * s.H + ih) * s.W + iw;
    *d = accumulate ? *d + acc : acc;
  }
};

__global__ void __launch_bounds__(kWgradThreads)
    naive_backward_weight_kernel(Conv2dShape s, const float* __restrict__ x,
                                 const float* __restrict__ dy, float* __restrict__ dw) {
  const int64_t idx = blockIdx.x;  // (k, c, r, t) of dw
  const int64_t t = idx % s.S, r = (idx / s.S) % s.R, c = (idx / (s.R * s.S)) % s.C,
                k = idx / (s.C * s.R * s.S);
  const int64_t PQ = s.P * s.Q, total = s.N * PQ;
  float acc = 0.f;
  for (int64_t j = threadIdx.x; j < total; j += kWgradThreads) {
    const int64_t n = j / PQ, pq = j % PQ, p = pq / s.Q, q = pq % s.Q;
    const int64_t ih = p * s.stride - s.pad + r, iw = q * s.stride - s.pad + t;
    if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
    acc = fmaf(x[n * s.x_batch_stride + (c * s.H + ih) * s.W + iw],
               dy[n * s.y_batch_stride + k * PQ + pq], acc);
  }
  acc = block_sum<float, kWgradThreads>(acc);
  if (threadIdx.x == 0) dw[idx] += acc;
}

// Element o of the logical output (N, K, P, Q): its image n, channel k and pixel pq, and its
// address in y's view (images s.y_batch_stride apart).
struct OutputElement {
  int64_t n, k, pq, PQ;
  float* p;
};
__device__ __forceinline__ OutputElement output_element(const Conv2dShape& s, float* y, int64_t o) {
  const int64_t PQ = s.P * s.Q, pq = o % PQ, k = (o / PQ) % s.K, n = o / (s.K * PQ);
  return {n, k, pq, PQ, y + n * s.y_batch_stride + k * PQ + pq};
}

struct EpilogueOp {  // over the logical output (N, K, P, Q), in place
  Conv2dShape s;
  float* y;
  igemm::Epilogue ep;
  __device__ void operator()(int64_t o) const {
    const OutputElement e = output_element(s, y, o);
    *e.p = ep.apply(*e.p, (int)e.k, e.n, e.pq, e.PQ);
  }
};

struct OuterResidualOp {  // y = outer + outer_scale * y over the logical output, in place
  Conv2dShape s;
  float* y;
  igemm::Epilogue ep;
  __device__ void operator()(int64_t o) const {
    const OutputElement e = output_element(s, y, o);
    *e.p = ep.outer[e.n * ep.outer_batch_stride + e.k * e.PQ + e.pq] + ep.outer_scale * *e.p;
  }
};

// ConvDgradEpilogue on a dx that holds the convolution, in place, over the channels
// [c0, c0 + nc) of (N, C, H, W); add_source: add source's element (the convolution did not
// accumulate into dx).
struct DgradEpilogueOp {
  Conv2dShape s;
  float* dx;
  int64_t dx_bs, c0, nc;
  int add_source;
  igemm::DgradEpilogue ep;
  __device__ void operator()(int64_t i) const {
    const int64_t HW = s.H * s.W, hw = i % HW, c = c0 + (i / HW) % nc, n = i / (nc * HW);
    float* p = dx + n * dx_bs + c * HW + hw;
    const float out = ep.apply(*p, add_source, p, (int)c, n, hw, HW);
    if (ep.stores_float((int)c)) *p = out;
    ep.store_packed(out, (int)c, n, hw, HW);
  }
};

// Whether [a0, a1) and [b0, b1) share an element.
bool ranges_overlap(const uint16_t* a0, const uint16_t* a1, const uint16_t* b0, const uint16_t* b1) {
  return a0 < b1 && b0 < a1;
}

bool has_epilogue(const ConvEpilogue& ep) { return ep.bias || ep.leaky_relu || ep.residual || ep.outer; }

void check_dgrad_epilogue(const Conv2dShape& s, const ConvDgradEpilogue& ep, bool accumulate, const float* dx) {
  SR_CHECK(!ep.source || accumulate, "conv2d_backward_data: epilogue source ", ep.source,
           " without accumulate (the source is the value the convolution adds to)");
  SR_CHECK(!ep.source || ep.source != dx, "conv2d_backward_data: epilogue source ", ep.source,
           " is dx itself (leave it null to accumulate into dx)");
  SR_CHECK(!ep.residual || ep.residual != dx, "conv2d_backward_data: epilogue residual ", ep.residual,
           " is dx itself (dx is written while the residual is read)");
  SR_CHECK(ep.source_batch_stride >= 0 && ep.residual_batch_stride >= 0 && ep.y_batch_stride >= 0,
           "conv2d_backward_data: epilogue batch strides must be >= 0 (0: contiguous), got source ",
           ep.source_batch_stride, ", residual ", ep.residual_batch_stride, ", y ", ep.y_batch_stride);
  SR_CHECK(!ep.packed_only || ep.packed, "conv2d_backward_data: packed_only without a packed copy (dx's channels [",
           ep.packed_c_begin, ", ", ep.packed_c_end, ") would be stored nowhere)");
  SR_CHECK(!ep.packed || (ep.packed_c_begin >= 0 && ep.packed_c_begin < ep.packed_c_end && ep.packed_c_end <= s.C),
           "conv2d_backward_data: a packed copy of dx's channels [", ep.packed_c_begin, ", ", ep.packed_c_end,
           "): an empty range or outside the input's ", s.C);
  SR_CHECK(!ep.packed || ((ep.packed_c_end - ep.packed_c_begin) % 8 == 0 && ep.packed_ld % 8 == 0 &&
                           ep.packed_ld >= ep.packed_c_end - ep.packed_c_begin &&
                           reinterpret_cast<uintptr_t>(ep.packed) % 16 == 0),
           "conv2d_backward_data: a packed copy of dx's channels [", ep.packed_c_begin, ", ", ep.packed_c_end,
           ") in pixel rows of ", ep.packed_ld, " (the count and the rows multiples of 8, a 16-byte aligned buffer)");
  if (ep.c_begin == ep.c_end) return;
  SR_CHECK(ep.c_begin >= 0 && ep.c_begin < ep.c_end && ep.c_end <= s.C, "conv2d_backward_data: epilogue channels [",
           ep.c_begin, ", ", ep.c_end, ") outside the input's ", s.C);
  SR_CHECK(!ep.y != !ep.y_packed, "conv2d_backward_data: epilogue over channels [", ep.c_begin, ", ", ep.c_end,
           ") needs the activation y, float32 or packed (one of them), got ", ep.y ? "both" : "neither");
  SR_CHECK(!ep.y_packed || ep.y_first_channel == 0, "conv2d_backward_data: epilogue's packed y holds dx's channels at "
           "their own columns, so y_first_channel must be 0, got ", ep.y_first_channel);
  SR_CHECK(!ep.y_packed || ep.y_packed_ld >= ep.c_end, "conv2d_backward_data: epilogue's packed y has rows of ",
           ep.y_packed_ld, " channels, fewer than the derivative's last channel ", ep.c_end, " needs");
  SR_CHECK(ep.y_first_channel >= 0 && ep.y_first_channel <= ep.c_begin, "conv2d_backward_data: epilogue y's first ",
           "channel ", ep.y_first_channel, " is not in [0, ", ep.c_begin, "] (y must hold the channels [",
           ep.c_begin, ", ", ep.c_end, ") the derivative reads)");
  SR_CHECK(ep.slope > 0, "conv2d_backward_data: epilogue slope must be > 0 (the derivative reads the sign of "
           "the output), got ", ep.slope);
}

void require_cudnn(ConvVariant v) {
  SR_CHECK(detail::cudnn_built(), "conv2d: variant ", conv_variant_name(v),
           " needs cuDNN, which this build does not have (choose naive, tf32, bf16 or fp16)");
}

}  // namespace

void check_packed_output(const char* op, const Conv2dShape& s, const ConvEpilogue& ep) {
  if (!ep.packed) return;
  SR_CHECK(s.K % 8 == 0 && ep.packed_ld % 8 == 0 && ep.packed_c_off % 8 == 0 && ep.packed_c_off >= 0 &&
               ep.packed_c_off + s.K <= ep.packed_ld && reinterpret_cast<uintptr_t>(ep.packed) % 16 == 0,
           op, ": a packed copy of ", s.K, " output channels at channel ", ep.packed_c_off, " of pixel rows of ",
           ep.packed_ld, " (all multiples of 8, the channels inside the row, a 16-byte aligned buffer)");
}

bool stores_packed_output(ConvVariant v, const Conv2dShape& s, const ConvEpilogue& ep) {
  return v == ConvVariant::igemm_v2 || (v == ConvVariant::wgmma && (!ep.outer || !detail::wgmma_forward_supported(s)));
}

void conv2d_pack_output(const Conv2dShape& s, const ConvEpilogue& ep, const float* y) {
  if (!ep.packed) return;
  detail::igemm_v2_pack_activations(y, s.y_batch_stride, s.N, s.K, s.P * s.Q, ep.packed, ep.packed_ld,
                                    ep.packed_c_off);
}

void conv2d_apply_epilogue(const Conv2dShape& s, const ConvEpilogue& ep, float* y) {
  if (!has_epilogue(ep)) return;
  launch_map("conv2d epilogue", EpilogueOp{s, y, igemm::make_epilogue(s, ep)}, s.N * s.K * s.P * s.Q);
}

void conv2d_apply_dgrad_epilogue(const Conv2dShape& s, const ConvDgradEpilogue& ep, float* dx,
                                 int64_t dx_batch_stride, bool add_source) {
  check_dgrad_epilogue(s, ep, add_source, dx);
  // Without a source or a residual only the derivative's channels change, and only those and
  // the packed copy's are visited (the hull of the two ranges).
  const bool whole = ep.source || ep.residual;
  int64_t c0 = ep.c_begin, c1 = ep.c_end;
  if (ep.packed && c0 == c1) {  // no derivative: the packed range alone
    c0 = ep.packed_c_begin;
    c1 = ep.packed_c_end;
  } else if (ep.packed) {
    c0 = std::min(c0, ep.packed_c_begin);
    c1 = std::max(c1, ep.packed_c_end);
  }
  if (whole) c0 = 0, c1 = s.C;
  if (c0 == c1) return;
  const int64_t nc = c1 - c0;
  launch_map("conv2d_backward_data epilogue",
             DgradEpilogueOp{s, dx, dx_batch_stride ? dx_batch_stride : s.C * s.H * s.W, c0, nc, add_source ? 1 : 0,
                             igemm::make_dgrad_epilogue(s, ep)},
             s.N * nc * s.H * s.W);
}

void conv2d_forward_with(ConvVariant v, const Conv2dShape& s, const float* x, const float* w,
                         const ConvEpilogue& ep, float* y, const PackedActivations& px) {
  if (s.N * s.K * s.P * s.Q == 0) return;
  check_packed_output("conv2d_forward", s, ep);
  SR_CHECK(y || (ep.packed && stores_packed_output(v, s, ep)), "conv2d_forward (", conv_variant_name(v),
           "): no output y, and ", ep.packed ? "this variant packs its output from y" : "no packed copy either");
  switch (v) {
    case ConvVariant::naive:
      launch_map("conv2d_forward (naive)", NaiveForwardOp{s, x, w, y, igemm::make_epilogue(s, ep)},
                 s.N * s.K * s.P * s.Q);
      conv2d_pack_output(s, ep, y);
      return;
    case ConvVariant::tf32:
    case ConvVariant::bf16:
    case ConvVariant::fp16:
      detail::igemm_forward(v, s, x, w, ep, y);
      conv2d_pack_output(s, ep, y);
      return;
    case ConvVariant::igemm_v2:
      detail::igemm_v2_forward(s, x, w, ep, y, px);  // its store writes the packed copy
      return;
    case ConvVariant::wgmma:
      // Strides above wgmma::kMaxStride: igemm_v2 (the same numeric class).
      if (detail::wgmma_forward_supported(s)) {
        // Its store applies all but the outer residual: that one is a map after it, and then
        // the packed copy (of the final y) is packed after it too.
        ConvEpilogue inner = ep;
        inner.outer = nullptr;
        if (ep.outer) inner.packed = nullptr;
        detail::wgmma_forward(s, x, w, inner, y, px);
        if (ep.outer) {
          launch_map("conv2d_forward (wgmma) outer residual", OuterResidualOp{s, y, igemm::make_epilogue(s, ep)},
                     s.N * s.K * s.P * s.Q);
          conv2d_pack_output(s, ep, y);
        }
      } else {
        detail::igemm_v2_forward(s, x, w, ep, y, px);
      }
      return;
    case ConvVariant::cudnn:
    case ConvVariant::cudnn_fp32:
      require_cudnn(v);
      detail::cudnn_forward(v == ConvVariant::cudnn, s, x, w, y);
      conv2d_apply_epilogue(s, ep, y);
      conv2d_pack_output(s, ep, y);
      return;
  }
}

void conv2d_backward_data_with(ConvVariant v, const Conv2dShape& s, const float* dy,
                               const float* w, float* dx, bool accumulate,
                               int64_t dx_batch_stride, const ConvDgradEpilogue& ep,
                               const PackedActivations& pdy) {
  if (s.N * s.C * s.H * s.W == 0) return;
  check_dgrad_epilogue(s, ep, accumulate, dx);
  // The packed copy is written while the packed dy is read, tile by tile: never the same rows.
  SR_CHECK(!ep.packed || !pdy.data ||
               !ranges_overlap(ep.packed,
                               ep.packed + (s.N * s.H * s.W - 1) * ep.packed_ld + (ep.packed_c_end - ep.packed_c_begin),
                               pdy.data, pdy.data + (s.N * s.P * s.Q - 1) * pdy.ld + s.K),
           "conv2d_backward_data: the epilogue's packed copy ", ep.packed, " overlaps the packed dy ", pdy.data,
           " the convolution reads");
  const int64_t dx_bs = dx_batch_stride ? dx_batch_stride : s.C * s.H * s.W;
  // igemm_v2 (and wgmma's fallback to it) applies ep in its store; the others run
  // the convolution, then ep as one map: the same dx (but a packed_only range's, unspecified
  // either way: the store leaves it, the map the convolution's values). With a source the convolution
  // overwrites dx (every element of the view, whatever the channel range) and the map adds
  // source's element to it, so dx's old value is never read.
  if (v == ConvVariant::igemm_v2 || (v == ConvVariant::wgmma && !detail::wgmma_backward_data_supported(s))) {
    detail::igemm_v2_backward_data(s, dy, w, dx, accumulate, dx_bs, ep, pdy);
    return;
  }
  const bool add_source = accumulate && ep.source;
  accumulate = accumulate && !ep.source;
  switch (v) {
    case ConvVariant::naive:
      launch_map("conv2d_backward_data (naive)",
                 NaiveBackwardDataOp{s, dy, w, dx, dx_bs, accumulate ? 1 : 0}, s.N * s.C * s.H * s.W);
      break;
    case ConvVariant::tf32:
    case ConvVariant::bf16:
    case ConvVariant::fp16:
      detail::igemm_backward_data(v, s, dy, w, dx, accumulate, dx_bs);
      break;
    case ConvVariant::igemm_v2:  // above
      break;
    case ConvVariant::wgmma:  // its phase convolutions (the shapes it cannot take: igemm_v2's, above)
      detail::wgmma_backward_data(s, dy, w, dx, accumulate, dx_bs, pdy);
      break;
    case ConvVariant::cudnn:
    case ConvVariant::cudnn_fp32:
      require_cudnn(v);
      detail::cudnn_backward_data(v == ConvVariant::cudnn, s, dy, w, dx, accumulate, dx_bs);
      break;
  }
  conv2d_apply_dgrad_epilogue(s, ep, dx, dx_bs, add_source);
}

void conv2d_backward_weight_with(ConvVariant v, const Conv2dShape& s, const float* x,
                                 const float* dy, float* dw, float* dbias, const PackedActivations& px,
                                 const PackedActivations& pdy) {
  const bool has_weights = dw && s.K * s.C * s.R * s.S != 0;
  // igemm_v2 and wgmma sum dbias from their weight-gradient dy tiles; the others run
  // channel_sum over dy.
  if (dbias && !((v == ConvVariant::igemm_v2 || v == ConvVariant::wgmma) && has_weights))
    channel_sum(dy, s.N, s.K, s.P * s.Q, s.y_batch_stride, dbias, /*accumulate=*/true);
  if (!has_weights) return;
  switch (v) {
    case ConvVariant::naive: {
      const int64_t blocks = s.K * s.C * s.R * s.S;
      SR_CHECK(blocks < (int64_t{1} << 31), "conv2d_backward_weight: weight too large");
      launch_kernel(naive_backward_weight_kernel, (unsigned)blocks, kWgradThreads, 0, current_stream(), s, x, dy, dw);
      CUDA_CHECK_LAUNCH("conv2d_backward_weight (naive)");
      return;
    }
    case ConvVariant::tf32:
    case ConvVariant::bf16:
    case ConvVariant::fp16:
      detail::igemm_backward_weight(v, s, x, dy, dw);
      return;
    case ConvVariant::wgmma:
      if (detail::wgmma_backward_weight_supported(s)) {
        detail::wgmma_backward_weight(s, x, dy, dw, dbias, px, pdy);
        return;
      }
      [[fallthrough]];  // strides above wgmma::kMaxStride
    case ConvVariant::igemm_v2:
      detail::igemm_v2_backward_weight(s, x, dy, dw, dbias, px, pdy);
      return;
    case ConvVariant::cudnn:
    case ConvVariant::cudnn_fp32:
      require_cudnn(v);
      detail::cudnn_backward_weight(v == ConvVariant::cudnn, s, x, dy, dw);
      return;
  }
}

void conv2d_forward(ConvVariant v, const Conv2dShape& s, const float* x, const float* w,
                    const float* bias, float* y) {
  ConvEpilogue ep;
  ep.bias = bias;
  conv2d_forward_with(v, s, x, w, ep, y);
}

void conv2d_backward_data(ConvVariant v, const Conv2dShape& s, const float* dy, const float* w,
                          float* dx) {
  conv2d_backward_data_with(v, s, dy, w, dx, false, 0);
}

void conv2d_backward_weight(ConvVariant v, const Conv2dShape& s, const float* x, const float* dy,
                            float* dw, float* dbias) {
  conv2d_backward_weight_with(v, s, x, dy, dw, dbias);
}

}  // namespace sr::cuda
