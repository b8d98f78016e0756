// simt/: the conv epilogues the residual dense block folds its elementwise passes into
// (kernels/cuda/conv2d.h): the forward epilogue's outer residual, the backward-data epilogue
// (LeakyReLU's derivative on a channel range, after the accumulate from dx or from a source
// of its own, then a residual term), and the launches the fused block saves. Each variant is
// checked against a CPU float64 composition of the plain convolution and the elementwise
// terms, on channel views of NaN-poisoned buffers, with fresh random inputs: igemm_v2 fuses
// both epilogues in its stores (split-K and the stride-2 phase convolutions included); tf32
// and naive fuse the forward one and run the backward one as a map; wgmma runs the outer
// residual as a map after its store. The forward's packed copy of its output (the dense
// block's twin receiving each slice). Then the fused block on igemm_v2 and wgmma (with and
// without the packed twin of its buffer) against the same convolutions with those passes done
// separately.
#include "kernels/simt/kernels.h"  // first: kernels/cuda's headers as sr::simt

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/common/bf16_round.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/rdb.h"
#include "kernels/cpu/upsample_nearest2x_conv2d.h"
#include "support/conv_views.h"
#include "support/simt_support.h"

#ifdef SRENGINE_WITH_SIMT

using namespace sr;
using namespace sr::simt_test;
using sr::simt::ConvVariant;
using test::ConvCase;
using test::describe;

namespace {

Tol tolerance(ConvVariant v) {
  switch (v) {
    case ConvVariant::naive: return kFp32;
    case ConvVariant::tf32: return kTf32;
    case ConvVariant::fp16: return kFp16;
    default: return kBf16;
  }
}

// Stride 1 and 2, odd channel counts, input and output channel views (dx_batch_stride).
const std::vector<ConvCase>& cases() {
  static const std::vector<ConvCase> c = {
      {2, 11, 7, 8, 13, 3, 3, 1, 1, 3, 2},  // odd C and K, both sides views
      {2, 9, 9, 7, 5, 3, 3, 2, 1, 2, 0},    // stride 2 (igemm_v2: four phase convolutions), dx a view
      {1, 7, 6, 5, 6, 3, 3, 1, 1},          // contiguous
  };
  return c;
}

// dx = leaky'(y) * ((accumulate ? dx : 0) + conv_transpose(dy, w)) on channels [C/3, C-1) of
// the dx view; y a random activation with dx's buffer layout (its sign picks the slope), or a
// contiguous tensor of channels C/3 - 1 .. C - 1 alone (y_first_channel = C/3 - 1, one below
// the range: a y that holds a later slice's channels alone; batch stride 0), or packed: bf16 channels-last rows of C rounded up to 8 plus
// 8 (the dense block's saved twin), the columns past C of the opposite sign to the channel
// before (a read one column off flips the slope about half the time; so would one row off).
void check_dgrad_epilogue(ConvVariant v, const ConvCase& c, uint64_t seed, const std::string& plan = "") {
  test::ConvViewData d(c, seed);
  const auto act = random_floats(d.rng, d.x_len);
  Dev Wt(d.w), DY(d.dybuf), Y(act);
  const auto whole = d.dgrad_epilogue<sr::simt::ConvDgradEpilogue>(Y.p);
  const int64_t y0 = whole.c_begin - 1, nc = c.C - y0;  // the contiguous y: channels y0 .. C-1
  std::vector<float> range(c.N * nc * d.HW);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t i = 0; i < nc * d.HW; ++i)
      range[n * nc * d.HW + i] = act[n * d.s.x_batch_stride + d.x_off + y0 * d.HW + i];
  Dev YRange(range);
  const int64_t ld = (c.C + 7) / 8 * 8 + 8;
  std::vector<uint16_t> packed(c.N * d.HW * ld);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t hw = 0; hw < d.HW; ++hw)
      for (int64_t ch = 0; ch < ld; ++ch) {
        const float a = act[n * d.s.x_batch_stride + d.x_off + std::min(ch, c.C - 1) * d.HW + hw];
        packed[(n * d.HW + hw) * ld + ch] = sr::bf16_bits(ch < c.C ? a : -a);
      }
  DevT<uint16_t> YPacked(packed);
  enum class YForm { whole, alone, packed };
  for (const YForm form : {YForm::whole, YForm::alone, YForm::packed}) {
    for (bool accumulate : {false, true}) {
      const std::string ctx = std::string(sr::simt::conv_variant_name(v)) + " " + describe(c) + plan +
                              (accumulate ? " dgrad epilogue (accumulate)" : " dgrad epilogue") +
                              (form == YForm::alone    ? " (y from channel C/3 - 1 alone)"
                               : form == YForm::packed ? " (y packed)"
                                                       : "");
      const auto init = accumulate ? random_floats(d.rng, d.x_len) : std::vector<float>(d.x_len, kNaN);
      Dev DX(init);
      auto ep = whole;
      if (form == YForm::alone) {
        ep.y = YRange.p;
        ep.y_batch_stride = 0;  // contiguous: (C - y_first_channel) H W
        ep.y_first_channel = y0;
      } else if (form == YForm::packed) {
        ep.y = nullptr;
        ep.y_batch_stride = 0;
        ep.y_packed = YPacked.p;
        ep.y_packed_ld = ld;
      }
      sr::simt::conv2d_backward_data_with(v, d.s, DY.p + d.y_off, Wt.p, DX.p + d.x_off, accumulate,
                                          d.s.x_batch_stride, ep);
      auto r = d.backward_data(DX.get(), init, accumulate, ctx);  // also: nothing outside the view
      d.apply_leaky_grad(r, act, ep.c_begin, ep.c_end, ep.slope);
      compare(ctx, r.got, r.ref, tolerance(v));
    }
  }
}

// The whole epilogue, the derivative's range and the residual both present:
//   dx = leaky'(y) * ((accumulate ? prior : 0) + conv_transpose(dy, w)) + (-0.6) * residual
// with the prior read from a source (a view of its own buffer, another batch stride and
// offset than dx's: the dense block's G prefix for conv1), from dx itself, or none. With a
// source dx starts NaN, so a read of dx's old value shows; the residual is a third view.
void check_dgrad_source_residual(ConvVariant v, const ConvCase& c, uint64_t seed, const std::string& plan = "") {
  test::ConvViewData d(c, seed);
  const int64_t src_bs = (c.C + 3) * d.HW, src_off = 2 * d.HW, res_bs = (c.C + 1) * d.HW, res_off = d.HW;
  const float res_scale = -0.6f;
  const auto act = random_floats(d.rng, d.x_len);
  const auto src = random_floats(d.rng, c.N * src_bs), res = random_floats(d.rng, c.N * res_bs);
  Dev Wt(d.w), DY(d.dybuf), Y(act), Src(src), Res(res);
  struct Mode {
    const char* name;
    bool accumulate, source;
  };
  for (const Mode m : {Mode{"source + residual", true, true}, Mode{"accumulate + residual", true, false},
                       Mode{"residual", false, false}}) {
    const std::string ctx = std::string(sr::simt::conv_variant_name(v)) + " " + describe(c) + plan +
                            " dgrad epilogue (" + m.name + ")";
    const bool from_dx = m.accumulate && !m.source;
    const auto init = from_dx ? random_floats(d.rng, d.x_len) : std::vector<float>(d.x_len, kNaN);
    Dev DX(init);
    auto ep = d.dgrad_epilogue<sr::simt::ConvDgradEpilogue>(Y.p);
    if (m.source) {
      ep.source = Src.p + src_off;
      ep.source_batch_stride = src_bs;
    }
    ep.residual = Res.p + res_off;
    ep.residual_batch_stride = res_bs;
    ep.residual_scale = res_scale;
    sr::simt::conv2d_backward_data_with(v, d.s, DY.p + d.y_off, Wt.p, DX.p + d.x_off, m.accumulate,
                                        d.s.x_batch_stride, ep);
    auto r = d.backward_data(DX.get(), init, from_dx, ctx);  // also: nothing outside the view
    if (m.source) d.add_dx_term(r, src, src_bs, src_off, 1.0);
    d.apply_leaky_grad(r, act, ep.c_begin, ep.c_end, ep.slope);
    d.add_dx_term(r, res, res_bs, res_off, res_scale);
    compare(ctx, r.got, r.ref, tolerance(v));
  }
}

void test_dgrad_epilogue() {
  uint64_t seed = 1100;
  // wgmma applies the epilogue as a map after its phase convolutions (stride 2 included).
  for (ConvVariant v : {ConvVariant::igemm_v2, ConvVariant::tf32, ConvVariant::naive, ConvVariant::wgmma})
    for (const ConvCase& c : cases()) {
      check_dgrad_epilogue(v, c, ++seed);
      check_dgrad_source_residual(v, c, ++seed);
    }
  // igemm_v2's split-K: the epilogue applies to the ordered sum in the reduce.
  struct Restore {
    ~Restore() { sr::simt::detail::igemm_v2_force_conv_plan(0, 0, 0); }
  } restore;
  sr::simt::detail::igemm_v2_force_conv_plan(64, 32, 2);
  for (const ConvCase& c : {cases()[0], cases()[1]}) {
    check_dgrad_epilogue(ConvVariant::igemm_v2, c, ++seed, " split-K 2");
    check_dgrad_source_residual(ConvVariant::igemm_v2, c, ++seed, " split-K 2");
  }
}

// The backward-data epilogue's packed copy (ConvDgradEpilogue::packed): the derivative's
// finished channels [5, 13) of an accumulating dx view (the dense block's next dy), or the
// channels [0, 8) scaled by 0.2 (the previous block's conv5 dy), also stored as bf16
// channels-last in rows of 16, bit for bit the nearest bf16 of scale * the dx the same call
// wrote (one float product, then ties to even, as the GPU's cvt.rn), columns 8 .. 15
// untouched; dx itself as without the copy.
void check_dgrad_packed_output(ConvVariant v, const ConvCase& c, uint64_t seed, const std::string& plan = "") {
  constexpr int64_t kBegin = 5, kEnd = 13, kLd = 16;
  struct Range {
    int64_t begin, end;
    float scale;
  };
  for (const Range pr : {Range{kBegin, kEnd, 1.0f}, Range{0, 8, 0.2f}}) {
    test::ConvViewData d(c, seed * 2 + (pr.begin == 0 ? 1 : 0));
    const std::string ctx = std::string(sr::simt::conv_variant_name(v)) + " " + describe(c) + plan +
                            " dgrad epilogue packed copy of [" + std::to_string(pr.begin) + ", " +
                            std::to_string(pr.end) + ") x " + std::to_string(pr.scale);
    const auto act = random_floats(d.rng, d.x_len), init = random_floats(d.rng, d.x_len);
    Dev Wt(d.w), DY(d.dybuf), Y(act), DX(init);
    DevT<uint16_t> Packed(std::vector<uint16_t>(c.N * d.HW * kLd, 0xffff));
    auto ep = d.dgrad_epilogue<sr::simt::ConvDgradEpilogue>(Y.p);
    ep.c_begin = kBegin;
    ep.c_end = kEnd;
    ep.packed = Packed.p;
    ep.packed_ld = kLd;
    ep.packed_c_begin = pr.begin;
    ep.packed_c_end = pr.end;
    ep.packed_scale = pr.scale;
    sr::simt::conv2d_backward_data_with(v, d.s, DY.p + d.y_off, Wt.p, DX.p + d.x_off, true, d.s.x_batch_stride, ep);
    auto r = d.backward_data(DX.get(), init, true, ctx);
    d.apply_leaky_grad(r, act, kBegin, kEnd, ep.slope);
    compare(ctx, r.got, r.ref, tolerance(v));
    const std::vector<uint16_t> got = Packed.get();
    int64_t bad = 0, stray = 0;
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t hw = 0; hw < d.HW; ++hw)
        for (int64_t col = 0; col < kLd; ++col) {
          const uint16_t b = got[(n * d.HW + hw) * kLd + col];
          if (col < pr.end - pr.begin)
            bad += b != bf16_rne(pr.scale * (float)r.got[(n * c.C + pr.begin + col) * d.HW + hw]);
          else
            stray += b != 0xffff;
        }
    INFO(ctx << ": " << bad << " packed elements differ from dx's bf16, " << stray << " written past the range");
    CHECK(bad == 0);
    CHECK(stray == 0);
  }
}

// packed_only: the same call (the derivative on channels [5, 13)) storing channels [8, 16)
// packed alone (the dense block's finished slices, there the derivative's own range). The
// packed copy is the full store's bit for bit, and so is dx outside [8, 16); inside it
// igemm_v2's store (and its split-K reduce) leaves dx's old values, as nothing is stored there
// (the map variants leave unspecified values: not compared).
void check_dgrad_packed_only(ConvVariant v, const ConvCase& c, uint64_t seed, const std::string& plan = "") {
  test::ConvViewData d(c, seed * 2 + 1000003);
  const std::string ctx = std::string(sr::simt::conv_variant_name(v)) + " " + describe(c) + plan +
                          " dgrad epilogue packed_only";
  constexpr int64_t kBegin = 5, kEnd = 13, kPackedBegin = 8, kPackedEnd = 16, kLd = 16;
  const auto act = random_floats(d.rng, d.x_len), init = random_floats(d.rng, d.x_len);
  Dev Wt(d.w), DY(d.dybuf), Y(act);
  std::vector<float> dx[2];
  std::vector<uint16_t> packed[2];
  for (int only = 0; only < 2; ++only) {
    Dev DX(init);
    DevT<uint16_t> Packed(std::vector<uint16_t>(c.N * d.HW * kLd, 0xffff));
    auto ep = d.dgrad_epilogue<sr::simt::ConvDgradEpilogue>(Y.p);
    ep.c_begin = kBegin;
    ep.c_end = kEnd;
    ep.packed_c_begin = kPackedBegin;
    ep.packed_c_end = kPackedEnd;
    ep.packed = Packed.p;
    ep.packed_ld = kLd;
    ep.packed_only = only == 1;
    sr::simt::conv2d_backward_data_with(v, d.s, DY.p + d.y_off, Wt.p, DX.p + d.x_off, true, d.s.x_batch_stride, ep);
    dx[only] = DX.get();
    packed[only] = Packed.get();
  }
  CHECK(count_differing(packed[1], packed[0]) == 0);
  const bool in_store = v == ConvVariant::igemm_v2;
  int64_t outside = 0, stored_inside = 0;
  for (int64_t i = 0; i < d.x_len; ++i) {
    const int64_t rel = i - d.x_off, ch = rel >= 0 ? rel % d.s.x_batch_stride / d.HW : -1;
    const bool inside = rel >= 0 && rel / d.s.x_batch_stride < c.N && ch >= kPackedBegin && ch < kPackedEnd;
    if (!inside) outside += !(dx[1][i] == dx[0][i]);
    else if (in_store) stored_inside += !(dx[1][i] == init[i]);
  }
  INFO(ctx << ": " << outside << " dx elements outside [8, 16) differ from the full store's, " << stored_inside
           << " inside it were stored");
  CHECK(outside == 0);
  CHECK(stored_inside == 0);
}

void test_dgrad_packed_output() {
  uint64_t seed = 1190;
  const ConvCase shapes[] = {{2, 17, 6, 5, 9, 3, 3, 1, 1, 2, 1}, {1, 16, 7, 6, 5, 3, 3, 2, 1}};
  for (ConvVariant v : {ConvVariant::igemm_v2, ConvVariant::wgmma, ConvVariant::tf32})
    for (const ConvCase& c : shapes) {
      check_dgrad_packed_output(v, c, ++seed);
      check_dgrad_packed_only(v, c, ++seed);
    }
  struct Restore {  // igemm_v2's split-K: the reduce's store writes it
    ~Restore() { sr::simt::detail::igemm_v2_force_conv_plan(0, 0, 0); }
  } restore;
  sr::simt::detail::igemm_v2_force_conv_plan(64, 32, 2);
  check_dgrad_packed_output(ConvVariant::igemm_v2, shapes[0], ++seed, " split-K 2");
  check_dgrad_packed_only(ConvVariant::igemm_v2, shapes[0], ++seed, " split-K 2");
  // Refused: the packed copy written into the packed dy the convolution reads.
  test::ConvViewData d(shapes[0], ++seed);
  Dev Wt(d.w), DY(d.dybuf), Y(random_floats(d.rng, d.x_len)), DX(d.x_len);
  DevT<uint16_t> Shared(std::vector<uint16_t>(shapes[0].N * std::max(d.HW, d.PQ) * 16, 0));
  auto ep = d.dgrad_epilogue<sr::simt::ConvDgradEpilogue>(Y.p);
  ep.c_begin = ep.packed_c_begin = 5;
  ep.c_end = ep.packed_c_end = 13;
  ep.packed = Shared.p;
  ep.packed_ld = 16;
  CHECK_THROWS_WITH(sr::simt::conv2d_backward_data_with(ConvVariant::igemm_v2, d.s, DY.p + d.y_off, Wt.p,
                                                        DX.p + d.x_off, false, d.s.x_batch_stride, ep, {Shared.p, 16}),
                    Catch::Contains("the epilogue's packed copy") && Catch::Contains("overlaps the packed dy"));
}

// The epilogue's argument checks: each names the op and the bad value.
void test_dgrad_epilogue_checks() {
  const ConvCase c = cases()[2];
  test::ConvViewData d(c, 1150);
  Dev Wt(d.w), DY(d.dybuf), DX(d.x_len), Other(d.x_len);
  auto run = [&](const sr::simt::ConvDgradEpilogue& ep, bool accumulate) {
    sr::simt::conv2d_backward_data_with(ConvVariant::igemm_v2, d.s, DY.p, Wt.p, DX.p, accumulate, 0, ep);
  };
  sr::simt::ConvDgradEpilogue ep;
  ep.source = Other.p;
  CHECK_THROWS_WITH(run(ep, false), Catch::Contains("conv2d_backward_data: epilogue source") &&
                                        Catch::Contains("without accumulate"));
  ep.source = DX.p;
  CHECK_THROWS_WITH(run(ep, true), Catch::Contains("is dx itself"));
  ep = {};
  ep.residual = DX.p;
  CHECK_THROWS_WITH(run(ep, false), Catch::Contains("epilogue residual") && Catch::Contains("is dx itself"));
  ep = {};
  ep.residual = Other.p;
  ep.residual_batch_stride = -4;
  CHECK_THROWS_WITH(run(ep, false), Catch::Contains("batch strides must be >= 0") && Catch::Contains("residual -4"));
  ep = {};
  ep.y = Other.p;
  ep.c_begin = 2;
  ep.c_end = 4;
  ep.y_first_channel = 3;
  CHECK_THROWS_WITH(run(ep, false), Catch::Contains("epilogue y's first channel 3 is not in [0, 2]"));
  ep.y_first_channel = 0;
  DevT<uint16_t> Packed(std::vector<uint16_t>(64 * d.s.N * d.HW, 0));
  ep.y_packed = Packed.p;
  ep.y_packed_ld = 64;
  CHECK_THROWS_WITH(run(ep, false), Catch::Contains("over channels [2, 4) needs the activation y") &&
                                        Catch::Contains("got both"));
  ep.y = nullptr;
  ep.y_packed_ld = 3;
  CHECK_THROWS_WITH(run(ep, false), Catch::Contains("packed y has rows of 3 channels") &&
                                        Catch::Contains("last channel 4"));
  // The packed copy: whole 16-byte chunks of its range, and a range inside dx's channels.
  ep.y_packed_ld = 64;
  DevT<uint16_t> Copy(std::vector<uint16_t>(64 * d.s.N * d.HW, 0));
  ep.packed = Copy.p;
  ep.packed_ld = 8;
  ep.packed_c_begin = 2;
  ep.packed_c_end = 4;
  CHECK_THROWS_WITH(run(ep, false), Catch::Contains("a packed copy of dx's channels [2, 4) in pixel rows of 8"));
  ep.packed_c_begin = ep.packed_c_end = 0;
  CHECK_THROWS_WITH(run(ep, false), Catch::Contains("a packed copy of dx's channels [0, 0): an empty range"));
  ep.packed_c_end = c.C + 8;
  CHECK_THROWS_WITH(run(ep, false), Catch::Contains("a packed copy of dx's channels [0, " + std::to_string(c.C + 8) +
                                                    "): an empty range or outside the input's " + std::to_string(c.C)));
  ep.packed = nullptr;
  ep.packed_only = true;
  CHECK_THROWS_WITH(run(ep, false), Catch::Contains("packed_only without a packed copy"));
}

// A pre-packed operand's checks (conv2d.h's PackedActivations, igemm_v2_pack_activations' pitch
// and offset): each names the op and the bad value, on igemm_v2 and wgmma.
void test_packed_operand_checks() {
  const Conv2dShape s = make_conv2d_shape(1, 8, 4, 4, 8, 3, 3, 1, 1);
  std::mt19937_64 rng(1170);
  Dev X(random_floats(rng, 8 * 16)), Wt(random_floats(rng, 8 * 8 * 9)), Y(8 * 16), Buf(16 * 32);
  uint16_t* packed = reinterpret_cast<uint16_t*>(Buf.p);  // room for 16 pixels of 64 channels
  CHECK_THROWS_WITH(sr::simt::detail::igemm_v2_pack_activations(X.p, 128, 1, 8, 16, packed, 12, 0),
                    Catch::Contains("igemm_v2 pack activations") && Catch::Contains("pixel rows of 12"));
  CHECK_THROWS_WITH(sr::simt::detail::igemm_v2_pack_activations(X.p, 128, 1, 8, 16, packed, 16, 16),
                    Catch::Contains("at channel 16 does not fit pixel rows of 16"));
  CHECK_THROWS_WITH(sr::simt::detail::igemm_v2_pack_activations(X.p, 128, 1, 8, 16, packed + 1, 16, 8),
                    Catch::Contains("16-byte aligned buffer"));
  sr::simt::detail::igemm_v2_pack_activations(X.p, 128, 1, 8, 16, packed, 16, 8);  // a valid slice
  for (ConvVariant v : {ConvVariant::igemm_v2, ConvVariant::wgmma}) {
    const std::string op = std::string("conv2d_forward (") + sr::simt::conv_variant_name(v) + ")";
    CHECK_THROWS_WITH(sr::simt::conv2d_forward_with(v, s, X.p, Wt.p, {}, Y.p, {packed, 4}),
                      Catch::Contains(op) && Catch::Contains("got pitch 4"));
    CHECK_THROWS_WITH(sr::simt::conv2d_forward_with(v, s, X.p, Wt.p, {}, Y.p, {packed + 1, 16}),
                      Catch::Contains(op) && Catch::Contains("16-byte aligned base"));
  }
}

// y = outer + 0.3 * (res + 0.5 * sqrt2 * leaky(conv + bias)) into y's view; outer a view of
// its own buffer (another batch stride and offset than y's and the residual's).
void check_outer_residual(ConvVariant v, const ConvCase& c, uint64_t seed) {
  test::ConvViewData d(c, seed);
  const std::string ctx = std::string(sr::simt::conv_variant_name(v)) + " " + describe(c) + " outer residual";
  const int64_t o_bs = (c.K + 3) * d.PQ, o_off = 2 * d.PQ;
  const auto outer = random_floats(d.rng, c.N * o_bs);
  Dev X(d.xbuf), Wt(d.w), Bias(d.bias), Res(d.res), O(outer), Y(d.y_len);
  auto ep = d.epilogue<sr::simt::ConvEpilogue>(Bias.p, Res.p);
  ep.outer = O.p + o_off;
  ep.outer_batch_stride = o_bs;
  ep.outer_scale = 0.3f;
  sr::simt::conv2d_forward_with(v, d.s, X.p + d.x_off, Wt.p, ep, Y.p + d.y_off);
  auto r = d.forward(Y.get(), ctx);
  d.add_outer(r, outer, o_bs, o_off, 0.3);
  compare(ctx, r.got, r.ref, tolerance(v));
}

// conv2d_apply_epilogue (the cuDNN variants' epilogue, after their plain convolution): the
// same terms on a float32 convolution result already in y's view.
void check_apply_epilogue(const ConvCase& c, uint64_t seed) {
  test::ConvViewData d(c, seed);
  const std::string ctx = describe(c) + " conv2d_apply_epilogue with outer residual";
  std::vector<double> conv(c.N * c.K * d.PQ);
  cpu::conv2d_forward<double>(d.sc, d.xc.data(), d.wd.data(), nullptr, conv.data());
  std::vector<float> y(d.y_len, kNaN);
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t i = 0; i < c.K * d.PQ; ++i) y[n * d.s.y_batch_stride + d.y_off + i] = (float)conv[n * c.K * d.PQ + i];
  const auto outer = random_floats(d.rng, c.N * c.K * d.PQ);
  Dev Bias(d.bias), Res(d.res), O(outer), Y(y);
  auto ep = d.epilogue<sr::simt::ConvEpilogue>(Bias.p, Res.p);
  ep.outer = O.p;  // contiguous: batch stride 0 means K*P*Q
  ep.outer_scale = -0.7f;
  sr::simt::conv2d_apply_epilogue(d.s, ep, Y.p + d.y_off);
  auto r = d.forward(Y.get(), ctx);
  d.add_outer(r, outer, c.K * d.PQ, 0, -0.7);
  compare(ctx, r.got, r.ref, kFp32);
}

void test_outer_residual() {
  uint64_t seed = 1200;
  for (ConvVariant v : {ConvVariant::igemm_v2, ConvVariant::tf32, ConvVariant::naive, ConvVariant::wgmma})
    for (const ConvCase& c : cases()) check_outer_residual(v, c, ++seed);
  check_apply_epilogue(cases()[0], ++seed);
}

// ConvEpilogue::packed: the forward's output also stored as bf16 channels-last into channels
// [c_off, c_off + K) of wider pixel rows. Bit for bit igemm_v2_pack_activations of the y the
// same call wrote, and nothing else of the NaN-poisoned rows written: igemm_v2 and wgmma in
// their stores (igemm_v2 also under split-K, where its reduce stores; wgmma with an outer
// residual, whose final y is packed after its map), tf32 and naive packing after, and the
// upsample convolution's phases; a layout that is not whole 16-byte chunks is refused.
void check_packed_output(ConvVariant v, const ConvCase& c, bool outer, uint64_t seed, const std::string& plan = "") {
  test::ConvViewData d(c, seed);
  const std::string ctx =
      std::string(sr::simt::conv_variant_name(v)) + " " + describe(c) + plan + (outer ? ", outer" : "");
  constexpr int64_t kLd = 40, kOff = 16;  // K = 16 at channels 16 .. 31 of 40 per pixel
  const int64_t pixels = c.N * d.s.P * d.s.Q;
  Dev X(d.xbuf), Wt(d.w), Bias(d.bias), Res(d.res), Y(d.y_len), Outer(random_floats(d.rng, d.y_len));
  DevT<uint16_t> Packed(std::vector<uint16_t>(pixels * kLd, 0xffff)),
      Want(std::vector<uint16_t>(pixels * kLd, 0xffff));
  auto ep = d.epilogue<sr::simt::ConvEpilogue>(Bias.p, Res.p);
  if (outer) {
    ep.outer = Outer.p + d.y_off;
    ep.outer_batch_stride = d.s.y_batch_stride;
    ep.outer_scale = 0.5f;
  }
  ep.packed = Packed.p;
  ep.packed_ld = kLd;
  ep.packed_c_off = kOff;
  sr::simt::conv2d_forward_with(v, d.s, X.p + d.x_off, Wt.p, ep, Y.p + d.y_off);
  sr::simt::detail::igemm_v2_pack_activations(Y.p + d.y_off, d.s.y_batch_stride, c.N, c.K, d.s.P * d.s.Q, Want.p, kLd,
                                              kOff);
  const std::vector<uint16_t> got = Packed.get(), want = Want.get();
  int64_t bad = 0, stray = 0;
  for (int64_t i = 0; i < pixels * kLd; ++i) {
    const int64_t ch = i % kLd;
    if (ch >= kOff && ch < kOff + c.K) bad += got[i] != want[i];
    else stray += got[i] != 0xffff;
  }
  INFO(ctx << ": " << bad << " packed elements differ from y's packing, " << stray << " written outside");
  CHECK(bad == 0);
  CHECK(stray == 0);
  // No y: where the store writes the packed copy it is the only output, the same bits;
  // elsewhere (the copy is packed from y) refused.
  DevT<uint16_t> Alone(std::vector<uint16_t>(pixels * kLd, 0xffff));
  ep.packed = Alone.p;
  if (sr::simt::stores_packed_output(v, d.s, ep)) {
    sr::simt::conv2d_forward_with(v, d.s, X.p + d.x_off, Wt.p, ep, nullptr);
    CHECK(count_differing(Alone.get(), got) == 0);
  } else {
    CHECK_THROWS_WITH(sr::simt::conv2d_forward_with(v, d.s, X.p + d.x_off, Wt.p, ep, nullptr),
                      Catch::Contains("no output y, and this variant packs its output from y"));
  }
}

void test_packed_output() {
  uint64_t seed = 1250;
  // K = 16 on a channel view of y (the view's batch stride), one stride-2 conv.
  const ConvCase shapes[] = {{2, 12, 7, 9, 16, 3, 3, 1, 1, 0, 8}, {1, 10, 9, 11, 16, 4, 4, 2, 1}};
  for (ConvVariant v : {ConvVariant::igemm_v2, ConvVariant::wgmma, ConvVariant::tf32, ConvVariant::naive})
    for (const ConvCase& c : shapes) check_packed_output(v, c, false, ++seed);
  check_packed_output(ConvVariant::wgmma, shapes[0], true, ++seed);
  check_packed_output(ConvVariant::igemm_v2, shapes[0], true, ++seed);
  {  // igemm_v2 under split-K: the reduce's store writes it
    struct Restore {
      ~Restore() { sr::simt::detail::igemm_v2_force_conv_plan(0, 0, 0); }
    } restore;
    sr::simt::detail::igemm_v2_force_conv_plan(64, 32, 3);
    check_packed_output(ConvVariant::igemm_v2, shapes[0], false, ++seed, " split-K 3");
  }
  // The upsample convolution (phase stores, packed after) on igemm_v2 and wgmma.
  for (ConvVariant v : {ConvVariant::igemm_v2, ConvVariant::wgmma}) {
    const auto s = sr::cpu::make_upsample_nearest2x_conv2d_shape(2, 8, 3, 4, 16, 3, 3, 1);
    std::mt19937_64 rng(++seed);
    Dev X(random_floats(rng, s.N * s.C * (s.H / 2) * (s.W / 2))), Wt(random_floats(rng, s.K * s.C * 9)),
        Y(s.N * s.K * s.P * s.Q);
    const int64_t pixels = s.N * s.P * s.Q;
    DevT<uint16_t> Packed(std::vector<uint16_t>(pixels * 16, 0xffff)), Want(pixels * 16);
    sr::simt::ConvEpilogue ep;
    ep.packed = Packed.p;
    ep.packed_ld = 16;
    sr::simt::upsample_nearest2x_conv2d_forward_with(v, s, X.p, Wt.p, ep, Y.p);
    sr::simt::detail::igemm_v2_pack_activations(Y.p, s.K * s.P * s.Q, s.N, s.K, s.P * s.Q, Want.p, 16, 0);
    INFO("upsample_nearest2x_conv2d on " << sr::simt::conv_variant_name(v));
    CHECK(Packed.get() == Want.get());
  }
  // Refused: 12 output channels (not whole chunks), an offset past the row.
  const ConvCase odd = {1, 4, 5, 5, 12, 3, 3, 1, 1};
  test::ConvViewData d(odd, ++seed);
  Dev X(d.xbuf), Wt(d.w), Y(d.y_len);
  DevT<uint16_t> Packed(64 * 25);
  sr::simt::ConvEpilogue ep;
  ep.packed = Packed.p;
  ep.packed_ld = 64;
  CHECK_THROWS_WITH(sr::simt::conv2d_forward_with(ConvVariant::igemm_v2, d.s, X.p + d.x_off, Wt.p, ep, Y.p + d.y_off),
                    Catch::Contains("a packed copy of 12 output channels at channel 0 of pixel rows of 64"));
  d.s.K = 16;
  ep.packed_c_off = 56;
  CHECK_THROWS_WITH(sr::simt::conv2d_forward_with(ConvVariant::igemm_v2, d.s, X.p + d.x_off, Wt.p, ep, Y.p + d.y_off),
                    Catch::Contains("16 output channels at channel 56"));
}

// One dense block's random parameters on the device.
struct RdbDeviceParams {
  std::vector<std::unique_ptr<Dev>> w, b;
  sr::simt::RdbWeights p{};
  RdbDeviceParams(const RdbShape& s, std::mt19937_64& rng) {
    for (int k = 0; k < 5; ++k) {
      const int64_t cin = s.nf + k * s.gc, cout = k == 4 ? s.nf : s.gc;
      auto wk = random_floats(rng, cout * cin * 9);
      for (auto& e : wk) e /= std::sqrt((float)cin * 9.f);
      w.push_back(std::make_unique<Dev>(wk));
      b.push_back(std::make_unique<Dev>(random_floats(rng, cout)));
      p.w[k] = w[k]->p;
      p.b[k] = b[k]->p;
    }
  }
};

// The fused block on igemm_v2 against the same convolutions with the elementwise passes it
// folded into their epilogues done separately (here on the host, between the calls): the
// outer residual after conv5, LeakyReLU's derivative on G's slice before conv k's weight
// gradient and backward-data. The same bf16 convolutions see the same operands, so y, the
// buffer, dx, dw and db agree to float32 rounding (no LeakyReLU kink can flip between the
// two). And the launches: forward and backward (outer residual, every gradient) launch the
// convolutions' kernels plus exactly two maps (x into the buffer, conv5's dy scaled); before
// the epilogues took them, eight (four LeakyReLU' maps, one axpby, and dx = G's prefix +
// identity * dy, now conv1's backward-data store). With nf and gc multiples of 8 the block
// keeps the packed twin instead of a float32 buffer (rdb.cu) and saves it for the backward:
// the twin's values (x and the slices) within bf16 rounding of the reference buffer's, the
// same dx and gradients, 18 fewer packings than the convolutions alone (the forward's 5
// prefixes become x's alone, the growth convs' stores writing their slices into the twin; the
// backward's 5 packings of the prefix and 10 of dy become conv5's dy alone, the backward-data
// stores packing the growth convs' dy as they finish it) and no map at all (x is not copied;
// conv5's dy is scaled as it is packed). The twin starts poisoned, so a channel
// left unwritten shows. wgmma (the twin through its tensor maps) is checked for the values: it
// runs its backward-data epilogues and the outer residual as maps, so its launch count differs.
void check_rdb_fused_epilogues(ConvVariant v, const RdbShape& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const bool twin = s.nf % 8 == 0 && s.gc % 8 == 0;
  const std::string tag = std::string(" (") + sr::simt::conv_variant_name(v) + ", fused epilogues vs maps)";
  INFO("nf " << s.nf << ", gc " << s.gc << (twin ? ": the packed twin" : ": packed per conv"));
  const int64_t HW = s.H * s.W, CB = s.channels() * HW, XB = s.nf * HW, xn = s.N * XB, gn = s.gc * HW;
  const float slope = 0.2f, residual = 0.2f, outer_scale = 0.2f;
  const RdbDeviceParams params(s, rng);
  const sr::simt::RdbWeights& p = params.p;
  std::vector<std::unique_ptr<Dev>> gw, gb, rgw, rgb;
  std::vector<std::vector<float>> gw_init, gb_init;
  float* gwp[5];
  float* gbp[5];
  for (int k = 0; k < 5; ++k) {
    const int64_t cin = s.nf + k * s.gc, cout = k == 4 ? s.nf : s.gc;
    const auto gw0 = random_floats(rng, cout * cin * 9), gb0 = random_floats(rng, cout);
    gw_init.push_back(gw0);
    gb_init.push_back(gb0);
    gw.push_back(std::make_unique<Dev>(gw0));
    gb.push_back(std::make_unique<Dev>(gb0));
    rgw.push_back(std::make_unique<Dev>(gw0));
    rgb.push_back(std::make_unique<Dev>(gb0));
    gwp[k] = gw[k]->p;
    gbp[k] = gb[k]->p;
  }
  const auto x = random_floats(rng, xn), outer = random_floats(rng, xn), dy = random_floats(rng, xn);
  CHECK(sr::simt::rdb_keeps_twin(v, s) == twin);
  // The fused block's saved state: the float32 buffer [x | slices], or the packed twin alone.
  Dev X(x), O(outer), DY(dy), Buf(twin ? 0 : s.N * CB), Y(xn), DX(xn);
  DevT<uint16_t> Twin(std::vector<uint16_t>(twin ? s.N * HW * s.channels() : 0, 0x7fc1));  // NaN
  const sr::simt::RdbSaved saved{twin ? nullptr : Buf.p, twin ? Twin.p : nullptr};
  const uint64_t l0 = ::simt::stats().launches;
  sr::simt::rdb_forward(v, s, X.p, p, O.p, slope, residual, outer_scale, saved, Y.p);
  sr::simt::rdb_backward(v, s, saved, p, DY.p, slope, residual, true, outer_scale, DX.p, gwp, gbp);
  const uint64_t fused = ::simt::stats().launches - l0;

  Dev RBuf(s.N * CB), RY(xn), G(s.N * CB), DZ5(xn);
  auto shape = [&](int k, int64_t y_bs) {
    Conv2dShape c = make_conv2d_shape(s.N, s.nf + k * s.gc, s.H, s.W, k == 4 ? s.nf : s.gc, 3, 3, 1, 1);
    c.x_batch_stride = CB;
    c.y_batch_stride = y_bs;
    return c;
  };
  auto leaky_grad = [&](int k) {  // G's slice k *= leaky'(buf's slice k), on the host
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t i = 0; i < gn; ++i) {
        const int64_t at = n * CB + (s.nf + k * s.gc) * HW + i;
        G.p[at] *= RBuf.p[at] > 0 ? 1.0f : slope;
      }
  };
  const uint64_t l1 = ::simt::stats().launches;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t i = 0; i < XB; ++i) RBuf.p[n * CB + i] = x[n * XB + i];
  for (int k = 0; k < 4; ++k) {
    sr::simt::ConvEpilogue ep;
    ep.bias = p.b[k];
    ep.leaky_relu = true;
    ep.slope = slope;
    sr::simt::conv2d_forward_with(v, shape(k, CB), RBuf.p, p.w[k], ep, RBuf.p + (s.nf + k * s.gc) * HW);
  }
  sr::simt::ConvEpilogue ep5;
  ep5.bias = p.b[4];
  ep5.residual = X.p;
  ep5.residual_batch_stride = XB;
  ep5.residual_scale = residual;
  sr::simt::conv2d_forward_with(v, shape(4, XB), RBuf.p, p.w[4], ep5, RY.p);
  for (int64_t i = 0; i < xn; ++i) RY.p[i] = outer[i] + outer_scale * RY.p[i];
  for (int64_t i = 0; i < xn; ++i) DZ5.p[i] = dy[i] * (residual * outer_scale);
  sr::simt::conv2d_backward_data_with(v, shape(4, XB), DZ5.p, p.w[4], G.p, false, 0);
  sr::simt::conv2d_backward_weight_with(v, shape(4, XB), RBuf.p, DZ5.p, rgw[4]->p, rgb[4]->p);
  for (int k = 3; k >= 0; --k) {
    leaky_grad(k);
    const float* gk = G.p + (s.nf + k * s.gc) * HW;
    sr::simt::conv2d_backward_weight_with(v, shape(k, CB), RBuf.p, gk, rgw[k]->p, rgb[k]->p);
    sr::simt::conv2d_backward_data_with(v, shape(k, CB), gk, p.w[k], G.p, true, CB);
  }
  std::vector<double> rdx(xn);
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t i = 0; i < XB; ++i) rdx[n * XB + i] = (double)(G.p[n * CB + i] + outer_scale * dy[n * XB + i]);
  const uint64_t convs = ::simt::stats().launches - l1;

  compare("rdb y" + tag, Y.get(), to_double(RY.get()), kFp32);
  if (twin) {  // the twin: the reference buffer's nearest bf16, channels-last, bit for bit
    std::vector<uint16_t> want;
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t hw = 0; hw < HW; ++hw)
        for (int64_t c = 0; c < s.channels(); ++c) want.push_back(bf16_rne(RBuf.p[n * CB + c * HW + hw]));
    const int64_t differ = count_differing(Twin.get(), want);
    INFO("rdb twin" << tag << ": " << differ << " of " << want.size() << " values differ");
    CHECK(differ == 0);
  } else {
    compare("rdb buffer" + tag, Buf.get(), to_double(RBuf.get()), kFp32);
  }
  compare("rdb dx" + tag, DX.get(), rdx, kFp32);
  for (int k = 0; k < 5; ++k) {
    compare("rdb dw" + std::to_string(k + 1) + tag, gw[k]->get(),
            to_double(rgw[k]->get()), kFp32);
    compare("rdb db" + std::to_string(k + 1) + tag, gb[k]->get(),
            to_double(rgb[k]->get()), kFp32);
  }
  INFO("rdb forward + backward on " << sr::simt::conv_variant_name(v) << ": " << fused
                                     << " launches, its convolutions alone " << convs);
  if (v == ConvVariant::igemm_v2) CHECK(fused == convs + (twin ? -18 : 2));
  if (!twin) return;
  // The twin's backward with fewer gradients asked: no dx, no weight gradient for conv1 and
  // conv5 (so conv1's dy is not packed, and conv5's bias gradient alone reads a float32 dz5).
  // conv2..conv4's weight gradients and their biases' as in the full backward, bit for bit;
  // conv1's and conv5's bias gradients (channel sums of the float32 dy, not the packed dy's
  // tiles) within bf16 of the reference.
  std::vector<std::unique_ptr<Dev>> pw, pb;
  float* pwp[5];
  float* pbp[5];
  for (int k = 0; k < 5; ++k) {
    pw.push_back(std::make_unique<Dev>(gw_init[k]));
    pb.push_back(std::make_unique<Dev>(gb_init[k]));
    pwp[k] = k == 0 || k == 4 ? nullptr : pw[k]->p;
    pbp[k] = pb[k]->p;
  }
  sr::simt::rdb_backward(v, s, saved, p, DY.p, slope, residual, true, outer_scale, nullptr, pwp, pbp);
  for (int k = 1; k < 4; ++k) {
    INFO("conv" << k + 1 << " with fewer gradients asked" << tag);
    CHECK(count_differing(pw[k]->get(), gw[k]->get()) == 0);
    CHECK(count_differing(pb[k]->get(), gb[k]->get()) == 0);
  }
  compare("rdb db1, no dw1 or dx" + tag, pb[0]->get(), to_double(rgb[0]->get()), kBf16);
  compare("rdb db5, no dw5" + tag, pb[4]->get(), to_double(rgb[4]->get()), kBf16);
  // dx asked, but conv2's and conv4's weight gradients not, their biases' yes: G's slices 1 and 3
  // are then kept in float32 (their channel sums read them), the others packed alone
  // (packed_only). dx and the other gradients as in the full backward, bit for bit; db2 and db4
  // (float32 channel sums) within bf16 of the reference.
  Dev DX2(xn);
  for (int k = 0; k < 5; ++k) {
    pw[k] = std::make_unique<Dev>(gw_init[k]);
    pb[k] = std::make_unique<Dev>(gb_init[k]);
    pwp[k] = k == 1 || k == 3 ? nullptr : pw[k]->p;
    pbp[k] = pb[k]->p;
  }
  sr::simt::rdb_backward(v, s, saved, p, DY.p, slope, residual, true, outer_scale, DX2.p, pwp, pbp);
  CHECK(count_differing(DX2.get(), DX.get()) == 0);
  for (int k : {0, 2, 4}) {
    INFO("conv" << k + 1 << " beside conv2 and conv4 without weight gradients" << tag);
    CHECK(count_differing(pw[k]->get(), gw[k]->get()) == 0);
    CHECK(count_differing(pb[k]->get(), gb[k]->get()) == 0);
  }
  compare("rdb db2, no dw2" + tag, pb[1]->get(), to_double(rgb[1]->get()), kBf16);
  compare("rdb db4, no dw4" + tag, pb[3]->get(), to_double(rgb[3]->get()), kBf16);
}

// One block's backward on the simt device: dx (poisoned first) and the ten parameter gradients
// (zeroed: they accumulate), for dy, with `link`.
struct RdbGradients {
  std::unique_ptr<Dev> dx;
  std::vector<std::unique_ptr<Dev>> dw, db;
  uint64_t launches = 0;
};
RdbGradients rdb_gradients(ConvVariant v, const RdbShape& s, const uint16_t* twin, const sr::simt::RdbWeights& p,
                           const float* dy, bool has_outer, const sr::simt::RdbBackwardLink& link = {}) {
  RdbGradients g;
  g.dx = std::make_unique<Dev>(s.N * s.nf * s.H * s.W);
  float* dw[5];
  float* db[5];
  for (int k = 0; k < 5; ++k) {
    const int64_t cin = s.nf + k * s.gc, cout = k == 4 ? s.nf : s.gc;
    g.dw.push_back(std::make_unique<Dev>(std::vector<float>(cout * cin * 9, 0.f)));
    g.db.push_back(std::make_unique<Dev>(std::vector<float>(cout, 0.f)));
    dw[k] = g.dw[k]->p;
    db[k] = g.db[k]->p;
  }
  const uint64_t l0 = ::simt::stats().launches;
  sr::simt::rdb_backward(v, s, {nullptr, const_cast<uint16_t*>(twin)}, p, dy, 0.2f, 0.2f, has_outer, 0.2f, g.dx->p,
                         dw, db, link);
  g.launches = ::simt::stats().launches - l0;
  return g;
}

int64_t differing_gradients(const RdbGradients& a, const RdbGradients& b) {
  int64_t n = count_differing(a.dx->get(), b.dx->get());
  for (int k = 0; k < 5; ++k)
    n += count_differing(a.dw[k]->get(), b.dw[k]->get()) + count_differing(a.db[k]->get(), b.db[k]->get());
  return n;
}

// Two blocks chained by an RdbLink (the trunk): block A (with or without an outer residual, as
// rdb3 and rdb1/rdb2 of an RRDB) leaves block B its twin with x in it, written by A's conv5
// store; B, told its twin holds x, does not pack it. Against B run alone on A's y (packing x
// itself): the same twin and y bit for bit, and one launch fewer. A's own y is unchanged by the
// link. The backward's half (RdbBackwardLink): B's backward, given A's packed conv5 dy to store,
// writes there bf16(A's dz5 scale * B's dx) bit for bit, B's gradients unchanged; A's backward
// on that dx, given the packed copy, equals A's backward packing it itself bit for bit (dx and
// all ten parameter gradients) with one launch fewer.
void check_rdb_link(ConvVariant v, const RdbShape& s, bool a_outer, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::string tag = std::string(" (") + sr::simt::conv_variant_name(v) + (a_outer ? ", A with outer)" : ")");
  REQUIRE(sr::simt::rdb_keeps_twin(v, s));
  const int64_t xn = s.N * s.nf * s.H * s.W, tn = s.N * s.H * s.W * s.channels();
  RdbDeviceParams pa(s, rng), pb(s, rng);
  Dev X(random_floats(rng, xn)), O(random_floats(rng, xn));
  Dev YA(xn), YA_alone(xn), YB(xn), YB_alone(xn);
  auto poisoned = [&] { return std::vector<uint16_t>(tn, 0x7fc1); };  // a NaN: unwritten shows
  DevT<uint16_t> TA(poisoned()), TA_alone(poisoned()), TB(poisoned()), TB_alone(poisoned());
  const float* outer = a_outer ? O.p : nullptr;
  sr::simt::rdb_forward(v, s, X.p, pa.p, outer, 0.2f, 0.2f, 0.2f, {nullptr, TA.p}, YA.p, {false, TB.p});
  sr::simt::rdb_forward(v, s, X.p, pa.p, outer, 0.2f, 0.2f, 0.2f, {nullptr, TA_alone.p}, YA_alone.p);
  CHECK(count_differing(YA.get(), YA_alone.get()) == 0);
  const uint64_t l0 = ::simt::stats().launches;
  sr::simt::rdb_forward(v, s, YA.p, pb.p, nullptr, 0.2f, 0.2f, 0.2f, {nullptr, TB.p}, YB.p, {true, nullptr});
  const uint64_t linked = ::simt::stats().launches - l0;
  sr::simt::rdb_forward(v, s, YA.p, pb.p, nullptr, 0.2f, 0.2f, 0.2f, {nullptr, TB_alone.p}, YB_alone.p);
  const uint64_t alone = ::simt::stats().launches - l0 - linked;
  INFO("block B" << tag << ": " << linked << " forward launches linked, " << alone << " alone");
  CHECK(linked + 1 == alone);
  CHECK(count_differing(TB.get(), TB_alone.get()) == 0);
  CHECK(count_differing(YB.get(), YB_alone.get()) == 0);

  // The backward: B first, storing A's packed conv5 dy; then A reading it.
  const int64_t pixels = s.N * s.H * s.W;
  Dev DY(random_floats(rng, xn));
  DevT<uint16_t> PZ(std::vector<uint16_t>(pixels * s.nf, 0x7fc1));
  const float a_scale = sr::simt::rdb_dz5_scale(0.2f, a_outer, 0.2f);
  const RdbGradients gb = rdb_gradients(v, s, TB.p, pb.p, DY.p, false, {nullptr, PZ.p, a_scale});
  const RdbGradients gb_alone = rdb_gradients(v, s, TB.p, pb.p, DY.p, false);
  CHECK(differing_gradients(gb, gb_alone) == 0);
  CHECK(gb.launches == gb_alone.launches);
  const std::vector<float> dxb = gb.dx->get();
  const std::vector<uint16_t> pz = PZ.get();
  int64_t bad = 0;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t c = 0; c < s.nf; ++c)
      for (int64_t hw = 0; hw < s.H * s.W; ++hw)
        bad += pz[(n * s.H * s.W + hw) * s.nf + c] != bf16_rne(a_scale * dxb[(n * s.nf + c) * s.H * s.W + hw]);
  INFO("block B's packed dx" << tag << ": " << bad << " of " << pz.size() << " differ from bf16(" << a_scale << " dx)");
  CHECK(bad == 0);
  const RdbGradients ga = rdb_gradients(v, s, TA.p, pa.p, gb.dx->p, a_outer, {PZ.p, nullptr, 1.0f});
  const RdbGradients ga_alone = rdb_gradients(v, s, TA.p, pa.p, gb.dx->p, a_outer);
  INFO("block A's backward" << tag << ": " << ga.launches << " launches linked, " << ga_alone.launches << " alone");
  CHECK(differing_gradients(ga, ga_alone) == 0);
  CHECK(ga.launches + 1 == ga_alone.launches);
  float* no_grads[5] = {};
  CHECK_THROWS_WITH(sr::simt::rdb_backward(v, s, {nullptr, TB.p}, pb.p, DY.p, 0.2f, 0.2f, false, 0.2f, nullptr,
                                           no_grads, no_grads, {nullptr, PZ.p, a_scale}),
                    Catch::Contains("the previous block's packed dy is this block's dx, which was not asked for"));

  // A link needs the twin: the float32 buffer's variants refuse one.
  Dev Buf(s.N * s.channels() * s.H * s.W);
  CHECK_THROWS_WITH(sr::simt::rdb_forward(ConvVariant::tf32, s, X.p, pa.p, nullptr, 0.2f, 0.2f, 0.2f,
                                          {Buf.p, nullptr}, YB.p, {false, TB.p}),
                    Catch::Contains("a link to the next block needs the packed twin"));
  CHECK_THROWS_WITH(sr::simt::rdb_forward(v, s, X.p, pa.p, nullptr, 0.2f, 0.2f, 0.2f, {Buf.p, nullptr}, YB.p),
                    Catch::Contains("saves the packed twin alone, got no twin and a buffer"));
  CHECK_THROWS_WITH(sr::simt::rdb_backward(ConvVariant::tf32, s, {Buf.p, nullptr}, pb.p, DY.p, 0.2f, 0.2f, false, 0.2f,
                                           gb.dx->p, no_grads, no_grads, {PZ.p, nullptr, 1.0f}),
                    Catch::Contains("a link to the neighbouring block needs the packed twin"));
}

void test_rdb_link() {
  check_rdb_link(ConvVariant::igemm_v2, {2, 16, 8, 4, 5}, false, 1310);
  check_rdb_link(ConvVariant::igemm_v2, {1, 8, 16, 5, 3}, true, 1311);
  check_rdb_link(ConvVariant::wgmma, {2, 16, 8, 4, 5}, false, 1312);
  check_rdb_link(ConvVariant::wgmma, {1, 16, 8, 3, 6}, true, 1313);  // outer: packed after the map
}

void test_rdb_fused_epilogues() {
  check_rdb_fused_epilogues(ConvVariant::igemm_v2, {2, 8, 4, 4, 5}, 1300);
  check_rdb_fused_epilogues(ConvVariant::igemm_v2, {2, 16, 8, 4, 5}, 1301);
  check_rdb_fused_epilogues(ConvVariant::igemm_v2, {2, 8, 16, 4, 5}, 1303);  // gc > nf: dy of gc channels
  check_rdb_fused_epilogues(ConvVariant::wgmma, {2, 16, 8, 4, 5}, 1302);
}

}  // namespace

TEST_CASE("simt/conv2d_dgrad_epilogue") { test_dgrad_epilogue(); }
TEST_CASE("simt/conv2d_dgrad_epilogue_checks") { test_dgrad_epilogue_checks(); }
TEST_CASE("simt/conv2d_dgrad_packed_output") { test_dgrad_packed_output(); }
TEST_CASE("simt/conv2d_packed_operand_checks") { test_packed_operand_checks(); }
TEST_CASE("simt/conv2d_outer_residual") { test_outer_residual(); }
TEST_CASE("simt/rdb_fused_epilogues") { test_rdb_fused_epilogues(); }
TEST_CASE("simt/rdb_link") { test_rdb_link(); }
TEST_CASE("simt/conv2d_packed_output") { test_packed_output(); }

#endif
