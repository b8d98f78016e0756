// CPU <-> CUDA parity: every op of the engine core, forward and backward, on fresh random
// inputs, the CUDA float32 result against the CPU float64 result (same inputs, rounded to
// float first so that both sides see identical values), within a tolerance per precision:
//   fp32 (CUDA cores)  |err| <= 1e-5 * max|ref| + 1e-5 * |ref|
//   tf32 (tensor core) |err| <= 2e-3 * max|ref| + 2e-3 * |ref|
//   bf16 (tensor core) |err| <= 1.5e-2 * max|ref| + 1e-2 * |ref|
// A failure prints the worst element, both values and the share of its budget used.
//
// Before each CUDA run the free memory of the stream-ordered pool is filled with NaN (the
// outputs the ops allocate next come from it), so an element a kernel forgets to write
// shows up as NaN. The raw-kernel tests (cuda/conv2d_variants) put sentinels before and
// after every output buffer and check that nothing outside the output was written.
// Every forward also runs twice on the GPU and must be bitwise identical (determinism).
//
// Without a CUDA device (or in a build without CUDA) every test prints
// "SKIPPED: <reason>" and returns; ctest reports them as skipped (tests/CMakeLists.txt
// sets SKIP_REGULAR_EXPRESSION), never as passed.
//
// A case's seed is 1000 + its position in the op table (1-based); SRENGINE_PARITY_SEED
// replaces the 1000, to run the table on other inputs (the default run stays the same).
//
// simt/ops_<family>: the same op table on the simt device (Device::simt: the same kernels
// run by the SIMT interpreter, docs/SIMT.md), on every CI machine. Its fresh device memory
// is NaN already, and it reports out-of-bounds writes itself.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "support/cuda_skip.h"
#include "engine/cuda_runtime.h"
#include "engine/ops.h"
#include "engine/ops_batch_norm.h"
#include "engine/ops_ecb.h"
#include "engine/ops_pool.h"
#include "engine/ops_prelu.h"
#include "engine/ops_rdb.h"
#include "engine/ops_transformer.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/optimizer.h"
#include "kernels/cpu/upsample_nearest2x_conv2d.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/upsample_nearest2x_conv2d.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/optimizer.h"
#include "kernels/registry.h"
#include "support/conv_views.h"
#include "support/parity.h"

using namespace sr;
using sr::Conv2dShape;

namespace {


}  // namespace

#if defined(SRENGINE_WITH_CUDA) || defined(SRENGINE_WITH_SIMT)

namespace {

// The device under test: cuda:0 for the cuda/ tests, simt for simt/ops_*.
Device g_device = Device::cuda();

using namespace sr::parity;

Tol tol_for_precision(const std::string& p) {
  if (p == "tf32") return kTf32;
  if (p == "bf16") return kBf16;
  if (p == "fp16") return kFp16;
  return kFp32;
}

// The tolerance of the default CUDA variant of an op, the one the ops run without a kernel
// choice of their own (from the registry's precision column).
Tol active_tol(const char* op) {
  // A build without CUDA lists no CUDA variants: the interpreter then runs conv2d's tf32
  // and gemm's native variant (kernels/cuda/conv2d.cu, gemm.cu).
  if (kernels::variants_of(op, "cuda").empty()) return std::string(op) == "conv2d" ? kTf32 : kFp32;
  const kernels::KernelChoice defaults;  // the table's, under SRENGINE_CONV_IMPL / SRENGINE_GEMM_IMPL
  const std::string name = std::string(op) == "conv2d" ? kernels::conv_variant_name(defaults.conv2d)
                                                        : kernels::gemm_variant_name(defaults.gemm);
  for (const auto& v : kernels::variants_of(op, "cuda"))
    if (name == v.name) return tol_for_precision(v.precision);
  return kFp32;
}

// got vs ref on the device under test (tests/support/parity.h).
void compare(const std::string& what, const std::vector<double>& got, const std::vector<double>& ref, Tol tol) {
  parity::compare(what, got, ref, tol, g_device.str());
}

void compare_tensors(const std::string& what, const Tensor& got, const Tensor& ref, Tol tol) {
  REQUIRE(got.defined());
  REQUIRE(ref.defined());
  REQUIRE(got.shape() == ref.shape());
  compare(what, got.to_vector(), ref.to_vector(), tol);
}

// Fills the pool's free memory with NaN: the next allocations on this stream reuse it.
// (The simt device's allocations start as NaN.)
void poison_pool() {
  if (g_device.is_cuda()) Tensor t = Tensor::full({int64_t{1} << 24}, kNaN, DType::f32, g_device);
}

enum class Init { normal, positive, uniform };

// Random values rounded to float, held in float64 (so CPU f64 and CUDA f32 see the same).
Tensor random_tensor(const Shape& shape, std::mt19937_64& rng, Init init = Init::normal) {
  std::normal_distribution<double> nd(0.0, 1.0);
  std::uniform_real_distribution<double> ud(-1.0, 1.0);
  std::vector<double> v(shape.numel());
  for (auto& x : v) {
    double r = init == Init::uniform ? ud(rng) : nd(rng);
    if (init == Init::positive) r = 0.5 + std::fabs(r);
    x = (double)(float)r;
  }
  return Tensor::from_vector(v, shape, DType::f64);
}

// ---- The op table -------------------------------------------------------------------------

// An ECB case's inputs: the block's tensors in engine/ops_ecb.cpp's order (W, b, k0, b0, k1,
// b1, then k0, b0, scale, bias, mask of each edge branch), for O out, I in, M mid channels.
std::vector<Shape> ecb_shapes(int64_t O, int64_t I, int64_t M) {
  std::vector<Shape> s = {{O, I, 3, 3}, {O}, {M, I, 1, 1}, {M}, {O, M, 3, 3}, {O}};
  for (int e = 0; e < kEcbEdges; ++e) s.insert(s.end(), {{O, I, 1, 1}, {O}, {O, 1, 1, 1}, {O}, {O, 1, 3, 3}});
  return s;
}
EcbTensors ecb_block(std::vector<Tensor>& x) {
  EcbTensors b{x[0], x[1], x[2], x[3], x[4], x[5], {}};
  for (int e = 0; e < kEcbEdges; ++e) b.edges[e] = {x[6 + 5 * e], x[7 + 5 * e], x[8 + 5 * e], x[9 + 5 * e], x[10 + 5 * e]};
  return b;
}
// The inputs ecb_weight (weight_side) or ecb_bias reads.
std::vector<bool> ecb_grads(bool weight_side) {
  std::vector<bool> g = weight_side ? std::vector<bool>{true, false, true, false, true, false}
                                    : std::vector<bool>{false, true, false, true, true, true};
  for (int e = 0; e < kEcbEdges; ++e)
    g.insert(g.end(), {weight_side, !weight_side, true, !weight_side, false});
  return g;
}

struct OpCase {
  const char* family = "";
  std::string name;
  std::vector<Shape> shapes;
  std::function<Tensor(std::vector<Tensor>&)> fn;
  std::vector<bool> grad;        // which inputs require grad (empty: all)
  Tol tol = kFp32;
  std::vector<Init> init;        // per input (empty: normal)
  bool stateful = false;         // mutates non-grad inputs (compared after the op; no rerun)
  // A float32 CPU reference with the device's rounded conv operands (empty: none).
  std::function<Tensor(std::vector<Tensor>&)> rounded;
  Tol rounded_tol = kFp32;

  OpCase& grads(std::vector<bool> g) { grad = std::move(g); return *this; }
  OpCase& tolerance(Tol t) { tol = t; return *this; }
  OpCase& inits(std::vector<Init> i) { init = std::move(i); return *this; }
  OpCase& with_state() { stateful = true; return *this; }
  OpCase& rounded_reference(std::function<Tensor(std::vector<Tensor>&)> f, Tol t) {
    rounded = std::move(f);
    rounded_tol = t;
    return *this;
  }
};

OpCase& add_case(std::vector<OpCase>& t, const char* family, std::string name, std::vector<Shape> shapes,
                 std::function<Tensor(std::vector<Tensor>&)> fn) {
  OpCase c;
  c.family = family;
  c.name = std::move(name);
  c.shapes = std::move(shapes);
  c.fn = std::move(fn);
  t.push_back(std::move(c));
  return t.back();
}

std::vector<OpCase> op_cases() {
  using V = std::vector<Tensor>;
  std::vector<OpCase> t;
  const Shape a{2, 3, 7, 9};
  // elementwise
  add_case(t, "elementwise", "add", {a, a},
           [](V& x) { return add(x[0], x[1]); });
  add_case(t, "elementwise", "sub", {a, a},
           [](V& x) { return sub(x[0], x[1]); });
  add_case(t, "elementwise", "mul", {a, a},
           [](V& x) { return mul(x[0], x[1]); });
  add_case(t, "elementwise", "scale", {a},
           [](V& x) { return scale(x[0], -0.7); });
  add_case(t, "elementwise", "axpby", {a, a},
           [](V& x) { return axpby(0.3, x[0], -1.25, x[1]); });
  add_case(t, "elementwise", "abs", {a},
           [](V& x) { return sr::abs(x[0]); });
  add_case(t, "elementwise", "relu", {{3, 50000}},
           [](V& x) { return relu(x[0]); });
  add_case(t, "elementwise", "sigmoid", {{3, 50000}},
           [](V& x) { return sigmoid(x[0]); });
  add_case(t, "elementwise", "add_", {a, a},
           [](V& x) { Tensor d = x[0].clone(); add_(d, x[1]); return d; }).grads({false, false});
  add_case(t, "elementwise", "axpy_", {a, a},
           [](V& x) { Tensor d = x[0].clone(); axpy_(d, -0.5, x[1]); return d; }).grads({false, false});
  add_case(t, "elementwise", "scale_", {a},
           [](V& x) { Tensor d = x[0].clone(); scale_(d, 3.0); return d; }).grads({false});
  // activations
  add_case(t, "activation", "leaky_relu", {a},
           [](V& x) { return leaky_relu(x[0], 0.2); });
  add_case(t, "activation", "bias_leaky_relu", {{2, 5, 6, 7}, {5}},
           [](V& x) { return bias_leaky_relu(x[0], x[1], 0.2, std::sqrt(2.0)); });
  add_case(t, "activation", "bias_leaky_relu (large, no bias)", {{4, 3, 64, 70}},
           [](V& x) { return bias_leaky_relu(x[0], Tensor(), 0.1, 1.0); });
  add_case(t, "activation", "bias_leaky_relu (many per channel)", {{16, 2, 40, 40}, {2}},
           [](V& x) { return bias_leaky_relu(x[0], x[1], 0.2); });
  add_case(t, "activation", "prelu (per channel)", {{2, 4, 5, 6}, {4}},
           [](V& x) { return prelu(x[0], x[1]); });
  add_case(t, "activation", "prelu (shared)", {{3, 4, 9, 6}, {1}},
           [](V& x) { return prelu(x[0], x[1]); });
  // layout
  add_case(t, "layout", "pixel_shuffle r2", {{2, 12, 5, 6}},
           [](V& x) { return pixel_shuffle(x[0], 2); });
  add_case(t, "layout", "pixel_shuffle r4", {{1, 32, 3, 4}},
           [](V& x) { return pixel_shuffle(x[0], 4); });
  add_case(t, "layout", "pixel_shuffle r3", {{2, 27, 4, 5}},
           [](V& x) { return pixel_shuffle(x[0], 3); });
  add_case(t, "layout", "pixel_unshuffle r2", {{2, 3, 6, 10}},
           [](V& x) { return pixel_unshuffle(x[0], 2); });
  add_case(t, "layout", "pixel_unshuffle r4", {{1, 2, 8, 12}},
           [](V& x) { return pixel_unshuffle(x[0], 4); });
  add_case(t, "layout", "pixel_unshuffle r3", {{2, 3, 9, 6}},
           [](V& x) { return pixel_unshuffle(x[0], 3); });
  add_case(t, "layout", "upsample_nearest r2", {{2, 3, 5, 7}},
           [](V& x) { return upsample_nearest(x[0], 2); });
  add_case(t, "layout", "upsample_nearest r3", {{2, 3, 5, 7}},
           [](V& x) { return upsample_nearest(x[0], 3); });
  add_case(t, "layout", "upsample_nearest r4", {{1, 3, 4, 3}},
           [](V& x) { return upsample_nearest(x[0], 4); });
  add_case(t, "layout", "upsample_bilinear r2", {{2, 3, 5, 7}},
           [](V& x) { return upsample_bilinear(x[0], 2); });
  add_case(t, "layout", "upsample_bilinear r2 1x1", {{1, 2, 1, 1}},
           [](V& x) { return upsample_bilinear(x[0], 2); });
  add_case(t, "layout", "upsample_bilinear r2 1x6", {{1, 2, 1, 6}},
           [](V& x) { return upsample_bilinear(x[0], 2); });
  add_case(t, "layout", "upsample_bilinear r3", {{2, 3, 5, 7}},
           [](V& x) { return upsample_bilinear(x[0], 3); });
  add_case(t, "layout", "upsample_bilinear r4 1x6", {{1, 2, 1, 6}},
           [](V& x) { return upsample_bilinear(x[0], 4); });
  add_case(t, "layout", "cat_channels", {{2, 3, 4, 5}, {2, 2, 4, 5}},
           [](V& x) { return cat_channels({x[0], x[1]}); });
  add_case(t, "layout", "slice_channels + reshape", {{2, 6, 4, 5}},
           [](V& x) { return reshape(slice_channels(x[0], 1, 3), {2, 60}); });
  // convolution and linear (the active conv variant decides the tolerance)
  const Tol ct = active_tol("conv2d");
  add_case(t, "conv", "conv2d 3x3 s1 p1 + bias", {{2, 16, 9, 11}, {32, 16, 3, 3}, {32}},
           [](V& x) { return conv2d(x[0], x[1], x[2], 1, 1); }).tolerance(ct);
  add_case(t, "conv", "conv2d 4x4 s2 p1", {{2, 8, 12, 12}, {16, 8, 4, 4}},
           [](V& x) { return conv2d(x[0], x[1], Tensor(), 2, 1); }).tolerance(ct);
  add_case(t, "conv", "conv2d 1x1", {{2, 40, 5, 6}, {72, 40, 1, 1}, {72}},
           [](V& x) { return conv2d(x[0], x[1], x[2], 1, 0); }).tolerance(ct);
  add_case(t, "conv", "conv2d 7x7 p3", {{1, 3, 10, 10}, {8, 3, 7, 7}, {8}},
           [](V& x) { return conv2d(x[0], x[1], x[2], 1, 3); }).tolerance(ct);
  add_case(t, "conv", "conv2d 5x5 s2 p2 odd", {{2, 5, 11, 9}, {6, 5, 5, 5}, {6}},
           [](V& x) { return conv2d(x[0], x[1], x[2], 2, 2); }).tolerance(ct);
  add_case(t, "conv", "conv2d on a channel view", {{2, 12, 8, 7}, {20, 8, 3, 3}, {20}},
           [](V& x) { return conv2d(slice_channels(x[0], 2, 8), x[1], x[2], 1, 1); }).tolerance(ct);
  add_case(t, "conv", "upsample_nearest2x_conv2d 3x3 p1 odd", {{2, 11, 5, 7}, {13, 11, 3, 3}, {13}},
           [](V& x) { return upsample_nearest2x_conv2d(x[0], x[1], x[2], 1); }).tolerance(ct);
  add_case(t, "conv", "upsample_nearest2x_conv2d 3x3 p0", {{1, 6, 3, 5}, {9, 6, 3, 3}},
           [](V& x) { return upsample_nearest2x_conv2d(x[0], x[1], Tensor(), 0); }).tolerance(ct);
  add_case(t, "conv", "linear + bias", {{5, 37}, {11, 37}, {11}},
           [](V& x) { return linear(x[0], x[1], x[2]); }).tolerance(active_tol("gemm"));
  add_case(t, "conv", "linear", {{70, 130}, {65, 130}},
           [](V& x) { return linear(x[0], x[1], Tensor()); }).tolerance(active_tol("gemm"));
  // reductions and losses (several 8192-element blocks)
  const Shape l{4, 5, 31, 33};
  add_case(t, "loss", "sum", {l},
           [](V& x) { return sum(x[0]); });
  add_case(t, "loss", "mean", {l},
           [](V& x) { return mean(x[0]); });
  add_case(t, "loss", "l1_loss", {l, l},
           [](V& x) { return l1_loss(x[0], x[1]); });
  add_case(t, "loss", "mse_loss", {l, l},
           [](V& x) { return mse_loss(x[0], x[1]); });
  add_case(t, "loss", "charbonnier_loss", {l, l},
           [](V& x) { return charbonnier_loss(x[0], x[1], 1e-6); });
  add_case(t, "loss", "bce_with_logits", {l},
           [](V& x) { return bce_with_logits(x[0], 0.9); });
  add_case(t, "loss", "hinge_real_loss", {l},
           [](V& x) { return hinge_real_loss(x[0]); });
  add_case(t, "loss", "hinge_fake_loss", {l},
           [](V& x) { return hinge_fake_loss(x[0]); });
  add_case(t, "loss", "hinge_generator_loss", {l},
           [](V& x) { return hinge_generator_loss(x[0]); });
  // spectral norm (u, v are updated in place: compared after the op)
  add_case(t, "spectral_norm", "spectral_norm train 1 step", {{16, 8, 3, 3}, {16}, {72}},
           [](V& x) { return spectral_norm(x[0], x[1], x[2], true, 1); }).grads({true, false, false}).with_state();
  add_case(t, "spectral_norm", "spectral_norm train 3 steps", {{64, 130}, {64}, {130}},
           [](V& x) { return spectral_norm(x[0], x[1], x[2], true, 3); }).grads({true, false, false}).with_state();
  add_case(t, "spectral_norm", "spectral_norm eval", {{8, 4, 4, 4}, {8}, {64}},
           [](V& x) { return spectral_norm(x[0], x[1], x[2], false); }).grads({true, false, false}).with_state();
  // normalisation and pooling
  add_case(t, "norm_pool", "batch_norm train", {{3, 5, 7, 6}, {5}, {5}, {5}, {5}},
           [](V& x) { return batch_norm(x[0], x[1], x[2], x[3], x[4], true, 0.1, 1e-5); }).grads({true, true, true, false, false}).inits({Init::normal, Init::normal, Init::normal, Init::normal, Init::positive}).with_state();
  add_case(t, "norm_pool", "batch_norm eval", {{2, 4, 5, 5}, {4}, {4}, {4}, {4}},
           [](V& x) { return batch_norm(x[0], x[1], x[2], x[3], x[4], false); }).grads({true, true, true, false, false}).inits({Init::normal, Init::normal, Init::normal, Init::normal, Init::positive}).with_state();
  // the fused residual dense block (engine/ops_rdb.h); inputs x, w1..w5, b1..b5 (, outer).
  // The uniform weights are scaled by 1/sqrt(fan_in) (a recorded op, so gradients still
  // reach the raw inputs) to keep the activations of every conv at the scale of x.
  // Tolerance. The forward is compared with the float64 reference within ten single-conv
  // budgets (five chained convs; at most 0.2% of it over seeds 1000..1029 under TF32).
  // The gradients are not: the leaky ReLU's derivative jumps from 1 to the slope at 0, so a
  // pre-activation within rounding error of 0 (some among the 4 x 2 x 8 x 9 x 7 of the
  // block, at every few seeds) takes the other slope under rounded operands than in
  // float64, and the gradients of the convs before it (w1, b1 most) move by a share of
  // their values: under TF32 up to 7.2 times the ten-conv budget over seeds 1000..1029
  // (with slope 1, no jump, 0.06 times), the kernels being right. No elementwise bound of
  // the rounding error covers a jump. The gradients (and the forward) are compared instead
  // with a float32 CPU reference that rounds the conv operands the same way
  // (kernels/cpu/conv2d_rounded: the same slopes are taken), within the single-conv
  // budget: what remains is float32 summation order and the rare operand rounded to the
  // neighbouring value, at most 10% of that budget over seeds 1000..1069. A wrong scale or
  // a missing term is of the order of the values (a 1% error in the gradient of x is 2.5
  // budgets). The CPU rounds tf32 and fp16 everywhere and bf16 only with avx512_bf16:
  // under a bf16 variant the gradients keep the float64 reference and its ten-conv
  // budget. Under SRENGINE_CONV_IMPL=naive (fp32) the reference rounds nothing.
  {
    const Tol rt{10 * ct.abs, 10 * ct.rel, ct.name};
    auto rdb_at = [](Precision prec) {
      return [prec](V& x) {
        RdbParams p;
        for (int k = 0; k < 5; ++k) {
          p.w[k] = scale(x[1 + k], 1.0 / std::sqrt((double)x[1 + k].size(1) * 9.0));
          p.b[k] = x[6 + k];
        }
        return residual_dense_block(x[0], p, 0.2, 0.2, x.size() > 11 ? x[11] : Tensor(), 0.2, {}, prec);
      };
    };
    auto rdb = rdb_at(Precision::device_default);
    Precision rp = Precision::device_default;
    precision_from_name(ct.name, &rp);
    const int64_t nf = 16, gc = 8;
    std::vector<Shape> shapes{{2, nf, 9, 7}};
    for (int k = 0; k < 5; ++k) shapes.push_back({k == 4 ? nf : gc, nf + k * gc, 3, 3});
    for (int k = 0; k < 5; ++k) shapes.push_back({k == 4 ? nf : gc});
    std::vector<Init> inits(shapes.size(), Init::uniform);
    inits[0] = Init::normal;
    OpCase& c1 = add_case(t, "rdb", "residual_dense_block", shapes, rdb).tolerance(rt).inits(inits);
    if (rp != Precision::bf16) c1.rounded_reference(rdb_at(rp), ct);
    shapes.push_back(shapes[0]);
    inits.push_back(Init::normal);
    OpCase& c2 = add_case(t, "rdb", "residual_dense_block + outer residual", shapes, rdb).tolerance(rt).inits(inits);
    if (rp != Precision::bf16) c2.rounded_reference(rdb_at(rp), ct);
  }
  // channel attention (RCAN's CALayer): planes of a partial block and of several passes
  add_case(t, "channel_attention", "spatial_mean", {{2, 5, 9, 13}},
           [](V& x) { return spatial_mean(x[0]); });
  add_case(t, "channel_attention", "spatial_mean (1000 per plane)", {{1, 3, 40, 25}},
           [](V& x) { return spatial_mean(x[0]); });
  add_case(t, "channel_attention", "channel_scale", {{2, 5, 9, 13}, {2, 5, 1, 1}},
           [](V& x) { return channel_scale(x[0], x[1]); });
  add_case(t, "norm_pool", "max_pool2d 2x2", {{2, 3, 9, 8}},
           [](V& x) { return max_pool2d(x[0], 2, 2); });
  add_case(t, "norm_pool", "max_pool2d 3x3 s2 (overlapping)", {{2, 2, 9, 11}},
           [](V& x) { return max_pool2d(x[0], 3, 2); });
  // Appended: a case's seed is its position in this table.
  add_case(t, "elementwise", "square_root", {{2, 3, 7, 9}},
           [](V& x) { return square_root(x[0]); }).inits({Init::positive});
  // Swin's shifted windows: 16-byte words (C 8) and floats (odd C), several windows per side
  add_case(t, "window_partition", "window_partition C8 shift 2", {{2, 54, 8}},
           [](V& x) { return window_partition(x[0], 6, 9, 3, 2); });
  add_case(t, "window_partition", "window_partition C5 shift 0", {{2, 64, 5}},
           [](V& x) { return window_partition(x[0], 8, 8, 4, 0); });
  add_case(t, "window_partition", "window_merge C7 shift 1", {{12, 9, 7}},
           [](V& x) { return window_merge(x[0], 6, 9, 3, 1); });
  // reflect padding (the largest pads, and SwinIR's pad to a multiple of 8) and crop
  add_case(t, "pad_reflect", "pad_reflect bottom 4 right 6", {{2, 3, 5, 7}},
           [](V& x) { return pad_reflect(x[0], 4, 6); });
  add_case(t, "pad_reflect", "pad_reflect to a multiple of 8", {{1, 3, 21, 30}},
           [](V& x) { return pad_reflect(x[0], 3, 2); });
  add_case(t, "pad_reflect", "crop", {{2, 3, 9, 11}},
           [](V& x) { return crop(x[0], 5, 7); });
  add_case(t, "elementwise", "gelu", {{3, 50000}},
           [](V& x) { return gelu(x[0]); });
  // Swin window attention: SwinIR's window and head dim shifted (2 images of 2 windows, 2 heads),
  // an odd small window without a shift; the table's gradient alone.
  add_case(t, "window_attention", "window_attention ws 8 d 30 shift 4", {{4, 64, 180}, {225, 2}},
           [](V& x) { return window_attention(x[0], x[1], 2, 8, 16, 8, 4, 1 / std::sqrt(30.0)); });
  add_case(t, "window_attention", "window_attention ws 3 d 5 no shift", {{12, 9, 45}, {25, 3}},
           [](V& x) { return window_attention(x[0], x[1], 3, 6, 9, 3, 0, 0.4); });
  add_case(t, "window_attention", "window_attention ws 3 shift 1, table only", {{12, 9, 45}, {25, 3}},
           [](V& x) { return window_attention(x[0], x[1], 3, 6, 9, 3, 1, 0.4); })
      .grads({false, true});
  // layer_norm over the last dim (Swin blocks): SwinIR's C = 180 with 9 rows (a block of 8
  // and one of 1), C = 257 without affine terms, 600 rows of C = 7 (three row tiles of the
  // dweight / dbias reduction), weight only and bias only
  add_case(t, "layer_norm", "layer_norm C 180", {{1, 9, 180}, {180}, {180}},
           [](V& x) { return layer_norm(x[0], x[1], x[2]); });
  add_case(t, "layer_norm", "layer_norm C 257, no affine", {{2, 3, 257}},
           [](V& x) { return layer_norm(x[0], Tensor(), Tensor()); });
  add_case(t, "layer_norm", "layer_norm 600 rows of 7", {{600, 7}, {7}, {7}},
           [](V& x) { return layer_norm(x[0], x[1], x[2], 1e-6); });
  add_case(t, "layer_norm", "layer_norm weight only", {{4, 33}, {33}},
           [](V& x) { return layer_norm(x[0], x[1], Tensor()); });
  add_case(t, "layer_norm", "layer_norm bias only", {{4, 33}, {33}},
           [](V& x) { return layer_norm(x[0], Tensor(), x[1]); });
  // transpose (B, M, N) -> (B, N, M): partial 32 x 32 tiles both ways, and dims (2, 1)
  add_case(t, "transpose_tokens", "transpose 1 2", {{2, 37, 45}},
           [](V& x) { return transpose(x[0], 1, 2); });
  add_case(t, "transpose_tokens", "transpose 2 1 (tokens -> image)", {{3, 70, 18}},
           [](V& x) { return transpose(x[0], 2, 1); });
  // HAT's overlapping cross-attention (appended last: the cases above keep their seeds): HAT's
  // windows (16 against 24) and head dim on a 16 x 32 image, every key window past the borders;
  // 4 against 6 on 2 images of 2 x 3 windows (keys in up to 4 windows); wse == ws; the table's
  // gradient alone.
  add_case(t, "overlap_window_attention", "overlap_window_attention ws 16 wse 24 d 30", {{1, 512, 90}, {1521, 1}},
           [](V& x) { return overlap_window_attention(x[0], x[1], 1, 16, 32, 16, 24, 1 / std::sqrt(30.0)); });
  add_case(t, "overlap_window_attention", "overlap_window_attention ws 4 wse 6 d 6", {{2, 96, 36}, {81, 2}},
           [](V& x) { return overlap_window_attention(x[0], x[1], 2, 8, 12, 4, 6, 0.4); });
  add_case(t, "overlap_window_attention", "overlap_window_attention ws 3 wse 3 d 5", {{2, 36, 15}, {25, 1}},
           [](V& x) { return overlap_window_attention(x[0], x[1], 1, 6, 6, 3, 3, 0.45); });
  add_case(t, "overlap_window_attention", "overlap_window_attention ws 2 wse 4, table only", {{1, 24, 36}, {25, 3}},
           [](V& x) { return overlap_window_attention(x[0], x[1], 3, 4, 6, 2, 4, 0.5); })
      .grads({false, true});
  // ECBSR's block folded into one 3x3 convolution (appended last: the cases above keep their
  // seeds). Each case takes the block's 21 tensors in engine/ops_ecb.cpp's order and
  // differentiates the ones its op reads; the masks are random constants (any taps).
  for (const bool identity : {false, true}) {
    const int64_t O = identity ? 5 : 16, I = identity ? 5 : 1, M = 2 * O;
    add_case(t, "ecb", std::string("ecb_weight O ") + std::to_string(O) + " I " + std::to_string(I) +
                           (identity ? " with_idt" : ""), ecb_shapes(O, I, M),
             [identity](V& x) { return ecb_weight(ecb_block(x), identity); })
        .grads(ecb_grads(true));
  }
  add_case(t, "ecb", "ecb_weight ECBSR m4c16 body", ecb_shapes(16, 16, 32),
           [](V& x) { return ecb_weight(ecb_block(x), false); })
      .grads(ecb_grads(true));
  add_case(t, "ecb", "ecb_bias ECBSR m4c16 body", ecb_shapes(16, 16, 32), [](V& x) { return ecb_bias(ecb_block(x)); })
      .grads(ecb_grads(false));
  add_case(t, "ecb", "ecb_bias O 48 M 96", ecb_shapes(48, 3, 96), [](V& x) { return ecb_bias(ecb_block(x)); })
      .grads(ecb_grads(false));
  return t;
}

void run_op_case(const OpCase& c, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const size_t n = c.shapes.size();
  std::vector<Tensor> cpu_in, gpu_in, gpu_in2, r_in;
  std::vector<bool> grad = c.grad.empty() ? std::vector<bool>(n, true) : c.grad;
  for (size_t i = 0; i < n; ++i) {
    Tensor v = random_tensor(c.shapes[i], rng, c.init.empty() ? Init::normal : c.init[i]);
    cpu_in.push_back(v.clone());
    gpu_in.push_back(v.to(DType::f32).to(g_device));
    gpu_in2.push_back(v.to(DType::f32).to(g_device));
    if (c.rounded) r_in.push_back(v.to(DType::f32));
    if (grad[i]) {
      cpu_in.back().set_requires_grad(true);
      gpu_in.back().set_requires_grad(true);
      if (c.rounded) r_in.back().set_requires_grad(true);
    }
  }
  Tensor y_cpu = c.fn(cpu_in);
  Tensor y_r = c.rounded ? c.rounded(r_in) : Tensor();
  poison_pool();
  Tensor y_gpu = c.fn(gpu_in);
  REQUIRE(y_gpu.device() == g_device);
  compare_tensors(c.name + ": forward", y_gpu, y_cpu, c.tol);
  if (c.rounded) compare_tensors(c.name + ": forward (rounded reference)", y_gpu, y_r, c.rounded_tol);
  if (c.stateful) {
    for (size_t i = 0; i < n; ++i)
      if (!grad[i]) compare_tensors(c.name + ": state input " + std::to_string(i) + " after the op", gpu_in[i], cpu_in[i], c.tol);
  } else {
    NoGradGuard no_grad;
    poison_pool();
    Tensor again = c.fn(gpu_in2);
    const std::vector<double> a = y_gpu.to_vector(), b = again.to_vector();
    bool same = a.size() == b.size();
    for (size_t i = 0; same && i < a.size(); ++i) same = a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]));
    INFO(c.name << ": a second forward on the GPU differs (not deterministic)");
    CHECK(same);
  }
  if (!y_cpu.requires_grad()) return;
  Tensor g = random_tensor(y_cpu.shape(), rng);
  y_cpu.backward(g);
  if (c.rounded) y_r.backward(g.to(DType::f32));
  poison_pool();
  y_gpu.backward(g.to(DType::f32).to(g_device));
  for (size_t i = 0; i < n; ++i) {
    if (!grad[i]) continue;
    // With a rounded reference the gradients are checked against it alone (see the rdb cases).
    if (!c.rounded)
      compare_tensors(c.name + ": gradient of input " + std::to_string(i), gpu_in[i].grad(), cpu_in[i].grad(), c.tol);
    else
      compare_tensors(c.name + ": gradient of input " + std::to_string(i) + " (rounded reference)", gpu_in[i].grad(),
                      r_in[i].grad(), c.rounded_tol);
  }
}

void run_family(const char* family, Device device) {
  g_device = device;
  uint64_t seed = 1000;
  if (const char* e = std::getenv("SRENGINE_PARITY_SEED")) seed = std::strtoull(e, nullptr, 10);
  int ran = 0;
  for (const OpCase& c : op_cases()) {
    ++seed;
    if (std::string(c.family) != family) continue;
    ++ran;
    DYNAMIC_SECTION(c.name) { run_op_case(c, seed); }
  }
  CHECK(ran > 0);
}

}  // namespace

#endif  // SRENGINE_WITH_CUDA || SRENGINE_WITH_SIMT

#ifdef SRENGINE_WITH_CUDA

namespace {

// ---- Raw buffers with sentinels ----------------------------------------------------------------

// A float32-vs-float32 budget for sums of k terms: the fp32 budget holds up to 1024 terms
// and grows as sqrt(k) beyond (the statistical growth of rounding error in a sum). Only
// the fp32 pairs grow: TF32 and bf16 budgets are dominated by the rounded operands.
Tol fp32_sum(Tol t, int64_t k) {
  if (std::string(t.name) != "fp32" || k <= 1024) return t;
  const double g = std::sqrt((double)k / 1024.0);
  return {t.abs * g, t.rel * g, t.name};
}

constexpr int64_t kGuard = 256;
constexpr float kSentinel = 12345.0f;

// A device buffer of n floats with kGuard sentinel floats before and after it.
struct Guarded {
  int64_t n;
  Tensor storage;
  explicit Guarded(const std::vector<float>& body) : n((int64_t)body.size()) {
    std::vector<float> all(n + 2 * kGuard, kSentinel);
    std::copy(body.begin(), body.end(), all.begin() + kGuard);
    storage = Tensor::from_vector(all, {n + 2 * kGuard}).to(Device::cuda());
  }
  float* ptr() const { return storage.data<float>() + kGuard; }
  std::vector<float> body(const std::string& what) const {
    const std::vector<double> all = storage.to_vector();
    for (int64_t i = 0; i < kGuard; ++i) {
      if (all[i] != kSentinel) FAIL(what << ": write before the buffer at offset " << i - kGuard);
      if (all[kGuard + n + i] != kSentinel) FAIL(what << ": write after the buffer at offset " << i);
    }
    return std::vector<float>(all.begin() + kGuard, all.begin() + kGuard + n);
  }
};


using test::ConvCase;
using test::conv_shape;
using test::describe;

// One variant on one shape (the data and references of tests/support/conv_views.h): forward
// with the full fused epilogue into a channel view (and again with the outer residual),
// backward-data (overwrite and accumulate, into a channel view; again with the LeakyReLU
// derivative epilogue; and with the whole epilogue: accumulate from a source view, the
// derivative, a residual view), backward-weight (+=) with the bias gradient, with sentinels.
void run_conv_variant(cuda::ConvVariant v, const ConvCase& c, Tol tol, uint64_t seed) {
  test::ConvViewData d(c, seed);
  const std::string ctx = std::string(cuda::conv_variant_name(v)) + " " + describe(c);
  Tensor xg = Tensor::from_vector(d.xbuf, {d.x_len}).to(Device::cuda());
  Tensor wg = Tensor::from_vector(d.w, {(int64_t)d.w.size()}).to(Device::cuda());
  Tensor bg = Tensor::from_vector(d.bias, {c.K}).to(Device::cuda());
  Tensor rg = Tensor::from_vector(d.res, {d.y_len}).to(Device::cuda());
  Tensor dyg = Tensor::from_vector(d.dybuf, {d.y_len}).to(Device::cuda());
  const float* x = xg.data<float>() + d.x_off;
  const float* dy = dyg.data<float>() + d.y_off;

  {  // forward into the view of a NaN buffer
    Guarded y(std::vector<float>(d.y_len, kNaN));
    const auto ep = d.epilogue<cuda::ConvEpilogue>(bg.data<float>(), rg.data<float>());
    cuda::conv2d_forward_with(v, d.s, x, wg.data<float>(), ep, y.ptr() + d.y_off);
    const auto r = d.forward(y.body(ctx + " forward"), ctx);
    compare(ctx + " forward (bias, leaky, gain, residual)", r.got, r.ref, tol);
  }
  for (bool accumulate : {false, true}) {  // backward-data into the view of x's layout
    const std::vector<float> init = accumulate ? random_floats(d.rng, d.x_len) : std::vector<float>(d.x_len, kNaN);
    Guarded dx(init);
    cuda::conv2d_backward_data_with(v, d.s, dy, wg.data<float>(), dx.ptr() + d.x_off, accumulate, d.s.x_batch_stride);
    const auto r = d.backward_data(dx.body(ctx + " backward-data"), init, accumulate, ctx);
    compare(ctx + (accumulate ? " backward-data (accumulate)" : " backward-data"), r.got, r.ref, tol);
  }
  {  // forward with the outer residual (a view of its own buffer) after the residual
    const int64_t o_bs = (c.K + 3) * d.PQ, o_off = 2 * d.PQ;
    const std::vector<float> outer = random_floats(d.rng, c.N * o_bs);
    Tensor og = Tensor::from_vector(outer, {c.N * o_bs}).to(Device::cuda());
    Guarded y(std::vector<float>(d.y_len, kNaN));
    auto ep = d.epilogue<cuda::ConvEpilogue>(bg.data<float>(), rg.data<float>());
    ep.outer = og.data<float>() + o_off;
    ep.outer_batch_stride = o_bs;
    ep.outer_scale = 0.3f;
    cuda::conv2d_forward_with(v, d.s, x, wg.data<float>(), ep, y.ptr() + d.y_off);
    auto r = d.forward(y.body(ctx + " forward (outer residual)"), ctx);
    d.add_outer(r, outer, o_bs, o_off, 0.3);
    compare(ctx + " forward (outer residual)", r.got, r.ref, tol);
  }
  for (bool accumulate : {false, true}) {  // backward-data with LeakyReLU's derivative on channels [C/3, C-1)
    const std::vector<float> act = random_floats(d.rng, d.x_len);
    const std::vector<float> init = accumulate ? random_floats(d.rng, d.x_len) : std::vector<float>(d.x_len, kNaN);
    Tensor ag = Tensor::from_vector(act, {d.x_len}).to(Device::cuda());
    Guarded dx(init);
    auto ep = d.dgrad_epilogue<cuda::ConvDgradEpilogue>(ag.data<float>());
    cuda::conv2d_backward_data_with(v, d.s, dy, wg.data<float>(), dx.ptr() + d.x_off, accumulate, d.s.x_batch_stride,
                                    ep);
    const std::string what = ctx + (accumulate ? " dgrad epilogue (accumulate)" : " dgrad epilogue");
    auto r = d.backward_data(dx.body(what), init, accumulate, ctx);
    d.apply_leaky_grad(r, act, ep.c_begin, ep.c_end, ep.slope);
    compare(what, r.got, r.ref, tol);
  }
  {  // dx = leaky'(act) * (source + conv_T) + (-0.6) * residual, source and residual views of their own
    const int64_t src_bs = (c.C + 3) * d.HW, src_off = 2 * d.HW, res_bs = (c.C + 1) * d.HW, res_off = d.HW;
    const std::vector<float> act = random_floats(d.rng, d.x_len), src = random_floats(d.rng, c.N * src_bs),
                             res = random_floats(d.rng, c.N * res_bs), init(d.x_len, kNaN);
    Tensor ag = Tensor::from_vector(act, {d.x_len}).to(Device::cuda());
    Tensor sg = Tensor::from_vector(src, {c.N * src_bs}).to(Device::cuda());
    Tensor qg = Tensor::from_vector(res, {c.N * res_bs}).to(Device::cuda());
    Guarded dx(init);
    auto ep = d.dgrad_epilogue<cuda::ConvDgradEpilogue>(ag.data<float>());
    ep.source = sg.data<float>() + src_off;
    ep.source_batch_stride = src_bs;
    ep.residual = qg.data<float>() + res_off;
    ep.residual_batch_stride = res_bs;
    ep.residual_scale = -0.6f;
    cuda::conv2d_backward_data_with(v, d.s, dy, wg.data<float>(), dx.ptr() + d.x_off, true, d.s.x_batch_stride, ep);
    const std::string what = ctx + " dgrad epilogue (source + residual)";
    auto r = d.backward_data(dx.body(what), init, false, ctx);
    d.add_dx_term(r, src, src_bs, src_off, 1.0);
    d.apply_leaky_grad(r, act, ep.c_begin, ep.c_end, ep.slope);
    d.add_dx_term(r, res, res_bs, res_off, ep.residual_scale);
    compare(what, r.got, r.ref, tol);
  }
  {  // backward-weight: dw += ..., dbias += ...
    const std::vector<float> dw0 = random_floats(d.rng, (int64_t)d.w.size()), db0 = random_floats(d.rng, c.K);
    Guarded dw(dw0), db(db0);
    cuda::conv2d_backward_weight_with(v, d.s, x, dy, dw.ptr(), db.ptr());
    const auto r = d.backward_weight_ref(dw0, db0);
    compare(ctx + " backward-weight", parity::to_double(dw.body(ctx + " dw")), r.dw, tol);
    // igemm_v2 (and wgmma, through its weight gradient) sums the bias gradient from its bf16 dy
    // tiles; the others run channel_sum.
    compare(ctx + " bias gradient", parity::to_double(db.body(ctx + " dbias")), r.dbias,
            v == cuda::ConvVariant::igemm_v2 || v == cuda::ConvVariant::wgmma ? tol : kFp32);
  }
}

const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> cases = {
      {2, 20, 10, 12, 32, 3, 3, 1, 1, 8, 8},  // dense-block growth conv on views (K = 32 tiles)
      {2, 16, 16, 16, 48, 4, 4, 2, 1},        // discriminator downsampling
      {1, 3, 13, 13, 64, 3, 3, 1, 1},         // first conv: 3 input channels
      {4, 64, 24, 24, 64, 3, 3, 1, 1},        // wgrad with split-K (N*P*Q = 2304)
      {1, 8, 7, 9, 5, 5, 5, 2, 2},            // odd everything
      {2, 6, 9, 9, 70, 1, 1, 1, 0},           // pointwise, K > 64
      {1, 4, 12, 10, 6, 7, 7, 1, 3},          // 7x7
      {2, 5, 8, 8, 3, 2, 3, 2, 1},            // rectangular filter, stride 2
  };
  return cases;
}

// ---- Test bodies ----------------------------------------------------------------------------

void test_conv_variants() {
  uint64_t seed = 77;
  for (const auto& var : kernels::variants_of("conv2d", "cuda")) {
    const cuda::ConvVariant v = cuda::conv_variant_from_name(var.name);
    const Tol tol = tol_for_precision(var.precision);
    for (const ConvCase& c : conv_cases()) {
      ++seed;
      DYNAMIC_SECTION(var.name << " " << describe(c)) { run_conv_variant(v, c, tol, seed); }
    }
  }
}

// upsample_nearest2x_conv2d on every CUDA variant of its registry family (igemm_v2 folds, the
// others compose; tests/test_simt_kernels.cpp's simt/upsample_nearest2x_conv2d is the
// interpreter's twin): forward with bias and leaky ReLU, backward-data, backward-weight with
// the bias gradient, against the CPU's float64 composed reference; fresh inputs, outputs NaN
// inside guard sentinels. The RRDBNet conv_up1 shape at LR 16 and odd small shapes.
void test_upsample_nearest2x_conv2d_variants() {
  const uint64_t seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  struct Case {
    int64_t N, C, H, W, K, R, S;
    int pad;
  };
  const Case cases[] = {{2, 64, 16, 16, 64, 3, 3, 1}, {2, 11, 5, 7, 13, 3, 3, 1}, {1, 6, 3, 5, 9, 3, 3, 0}};
  for (const auto& var : kernels::variants_of("upsample_nearest2x_conv2d", "cuda")) {
    const cuda::ConvVariant v = cuda::conv_variant_from_name(var.name);
    const Tol tol = tol_for_precision(var.precision);
    for (const Case& c : cases) {
      const Conv2dShape s = cpu::make_upsample_nearest2x_conv2d_shape(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.pad);
      const int64_t nx = c.N * c.C * c.H * c.W, ny = s.N * s.K * s.P * s.Q, nw = c.K * c.C * c.R * c.S;
      const std::string ctx = std::string(var.name) + " N" + std::to_string(c.N) + " C" + std::to_string(c.C) + " " +
                              std::to_string(c.H) + "x" + std::to_string(c.W) + " K" + std::to_string(c.K) +
                              " pad " + std::to_string(c.pad);
      const auto x = random_floats(rng, nx), w = random_floats(rng, nw), bias = random_floats(rng, c.K),
                 dy = random_floats(rng, ny), dw0 = random_floats(rng, nw), db0 = random_floats(rng, c.K);
      const auto xd = parity::to_double(x), wd = parity::to_double(w), dyd = parity::to_double(dy);
      Tensor xg = Tensor::from_vector(x, {nx}).to(Device::cuda()), wg = Tensor::from_vector(w, {nw}).to(Device::cuda());
      Tensor bg = Tensor::from_vector(bias, {c.K}).to(Device::cuda()), dyg = Tensor::from_vector(dy, {ny}).to(Device::cuda());
      {
        Guarded y(std::vector<float>(ny, kNaN));
        cuda::ConvEpilogue ep;
        ep.bias = bg.data<float>();
        ep.leaky_relu = true;
        ep.slope = 0.2f;
        cuda::upsample_nearest2x_conv2d_forward_with(v, s, xg.data<float>(), wg.data<float>(), ep, y.ptr());
        std::vector<double> ref(ny);
        cpu::upsample_nearest2x_conv2d_forward_reference<double>(s, xd.data(), wd.data(), nullptr, ref.data());
        for (int64_t i = 0; i < ny; ++i) {
          const double z = ref[i] + bias[(i / (s.P * s.Q)) % s.K];
          ref[i] = z > 0 ? z : 0.2 * z;
        }
        compare(ctx + " forward (bias, leaky)", parity::to_double(y.body(ctx + " forward")), ref, tol);
      }
      {
        Guarded dx(std::vector<float>(nx, kNaN));
        cuda::upsample_nearest2x_conv2d_backward_data(v, s, dyg.data<float>(), wg.data<float>(), dx.ptr());
        std::vector<double> ref(nx);
        cpu::upsample_nearest2x_conv2d_backward_data_reference<double>(s, dyd.data(), wd.data(), ref.data());
        compare(ctx + " backward-data", parity::to_double(dx.body(ctx + " backward-data")), ref, tol);
      }
      {
        Guarded dw(dw0), db(db0);
        cuda::upsample_nearest2x_conv2d_backward_weight(v, s, xg.data<float>(), dyg.data<float>(), dw.ptr(), db.ptr());
        auto rdw = parity::to_double(dw0), rdb = parity::to_double(db0);
        cpu::upsample_nearest2x_conv2d_backward_weight_reference<double>(s, xd.data(), dyd.data(), rdw.data(),
                                                                         rdb.data());
        compare(ctx + " backward-weight", parity::to_double(dw.body(ctx + " dw")), rdw, tol);
        const bool tiles = v == cuda::ConvVariant::igemm_v2 || v == cuda::ConvVariant::wgmma;
        compare(ctx + " bias gradient", parity::to_double(db.body(ctx + " dbias")), rdb, tiles ? tol : kFp32);
      }
    }
  }
}

// Native variants against cuDNN on ESRGAN-sized shapes (the oracle comparison).
void test_native_vs_cudnn() {
  bool have_cudnn = false;
  for (const auto& v : kernels::variants_of("conv2d", "cuda")) have_cudnn = have_cudnn || std::string(v.name) == "cudnn";
  if (!have_cudnn) {
    WARN("SKIPPED: this build has no cuDNN");
    std::printf("SKIPPED: this build has no cuDNN\n");
    return;
  }
  struct Pair {
    cuda::ConvVariant native, oracle;
    Tol tol;
  };
  // naive vs cudnn_fp32 are two float32 sums in different orders; their difference grows
  // with the reduction length, up to N*P*Q = 8192 terms for backward-weight here (the
  // statistical rounding error of a K-term sum is about sqrt(K) units of the last place
  // of the terms' magnitude). fp32_sum() scales the fp32 budget by sqrt(K / 1024) for
  // K > 1024: 2.8 times at 8192 (the first H200 run measured 1.4 for naive vs cudnn_fp32).
  const std::vector<Pair> pairs = {{cuda::ConvVariant::naive, cuda::ConvVariant::cudnn_fp32, kFp32},
                                   {cuda::ConvVariant::tf32, cuda::ConvVariant::cudnn_fp32, kTf32},
                                   {cuda::ConvVariant::bf16, cuda::ConvVariant::cudnn_fp32, kBf16},
                                   {cuda::ConvVariant::igemm_v2, cuda::ConvVariant::cudnn_fp32, kBf16},
                                   {cuda::ConvVariant::fp16, cuda::ConvVariant::cudnn_fp32, kFp16},
                                   {cuda::ConvVariant::tf32, cuda::ConvVariant::cudnn, {4e-3, 4e-3, "tf32 x2"}}};
  const std::vector<ConvCase> shapes = {{4, 96, 32, 32, 32, 3, 3, 1, 1},    // RRDB growth conv
                                        {4, 192, 32, 32, 64, 3, 3, 1, 1},   // RRDB conv5
                                        {2, 64, 64, 64, 128, 4, 4, 2, 1},   // UNet discriminator down
                                        {2, 3, 64, 64, 64, 3, 3, 1, 1}};    // first conv
  std::mt19937_64 rng(5);
  for (const ConvCase& c : shapes) {
    const Conv2dShape s = conv_shape(c);
    const int64_t xl = c.N * s.x_batch_stride, yl = c.N * s.y_batch_stride, wl = c.K * c.C * c.R * c.S;
    Tensor x = Tensor::from_vector(random_floats(rng, xl), {xl}).to(Device::cuda());
    Tensor w = Tensor::from_vector(random_floats(rng, wl), {wl}).to(Device::cuda());
    Tensor dy = Tensor::from_vector(random_floats(rng, yl), {yl}).to(Device::cuda());
    for (const Pair& p : pairs) {
      const std::string ctx = std::string(cuda::conv_variant_name(p.native)) + " vs " +
                              cuda::conv_variant_name(p.oracle) + " " + describe(c);
      auto run = [&](cuda::ConvVariant v, Tensor& y, Tensor& dx, Tensor& dw) {
        y = Tensor::full({yl}, kNaN, DType::f32, Device::cuda());
        dx = Tensor::full({xl}, kNaN, DType::f32, Device::cuda());
        dw = Tensor::zeros({wl}, DType::f32, Device::cuda());
        cuda::conv2d_forward_with(v, s, x.data<float>(), w.data<float>(), {}, y.data<float>());
        cuda::conv2d_backward_data_with(v, s, dy.data<float>(), w.data<float>(), dx.data<float>());
        cuda::conv2d_backward_weight_with(v, s, x.data<float>(), dy.data<float>(), dw.data<float>(), nullptr);
      };
      Tensor y1, dx1, dw1, y2, dx2, dw2;
      run(p.native, y1, dx1, dw1);
      run(p.oracle, y2, dx2, dw2);
      // Reduction lengths: forward and backward-data sum C*R*S resp. K*R*S products,
      // backward-weight sums N*P*Q.
      const int64_t P = (c.H + 2 * c.pad - c.R) / c.stride + 1, Q = (c.W + 2 * c.pad - c.S) / c.stride + 1;
      compare_tensors(ctx + " forward", y1, y2, fp32_sum(p.tol, c.C * c.R * c.S));
      compare_tensors(ctx + " backward-data", dx1, dx2, fp32_sum(p.tol, c.K * c.R * c.S));
      compare_tensors(ctx + " backward-weight", dw1, dw2, fp32_sum(p.tol, c.N * P * Q));
    }
  }
}

// Same inputs, same outputs, bit for bit: the split-K conv, the reductions.
void test_determinism() {
  std::mt19937_64 rng(11);
  const ConvCase c{8, 64, 32, 32, 32, 3, 3, 1, 1};
  const Conv2dShape s = conv_shape(c);
  const int64_t xl = c.N * s.x_batch_stride, yl = c.N * s.y_batch_stride, wl = c.K * c.C * 9;
  Tensor x = Tensor::from_vector(random_floats(rng, xl), {xl}).to(Device::cuda());
  Tensor dy = Tensor::from_vector(random_floats(rng, yl), {yl}).to(Device::cuda());
  for (const char* name : {"tf32", "bf16", "fp16", "naive"}) {
    std::vector<double> first;
    for (int rep = 0; rep < 3; ++rep) {
      Tensor dw = Tensor::zeros({wl}, DType::f32, Device::cuda());
      Tensor db = Tensor::zeros({c.K}, DType::f32, Device::cuda());
      cuda::conv2d_backward_weight_with(cuda::conv_variant_from_name(name), s, x.data<float>(),
                                        dy.data<float>(), dw.data<float>(), db.data<float>());
      std::vector<double> v = dw.to_vector(), b = db.to_vector();
      v.insert(v.end(), b.begin(), b.end());
      if (rep == 0) first = v;
      INFO(name << " backward-weight differs between identical runs");
      CHECK(v == first);
    }
  }
  Tensor a = Tensor::empty({1}, DType::f32, Device::cuda()), b = Tensor::empty({1}, DType::f32, Device::cuda());
  for (Tensor* out : {&a, &b})
    cuda::loss_sum(math::PointLoss::sq_diff, x.data<float>(), x.data<float>() + 7, xl - 7, 0.0, 1.0,
                   out->data<float>());
  CHECK(a.item() == b.item());
}

void test_gemm_variants() {
  std::mt19937_64 rng(3);
  const int64_t M = 37, N = 29, K = 53;
  for (const auto& var : kernels::variants_of("gemm", "cuda")) {
    const cuda::GemmVariant v = cuda::gemm_variant_from_name(var.name);
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (int acc = 0; acc < 2; ++acc) {
          const std::vector<float> A = random_floats(rng, M * K), B = random_floats(rng, K * N),
                                   C0 = random_floats(rng, M * N);
          const int64_t lda = ta ? M : K, ldb = tb ? K : N;
          std::vector<double> Ad(A.begin(), A.end()), Bd(B.begin(), B.end()), ref(C0.begin(), C0.end());
          cpu::gemm<double>(ta, tb, M, N, K, Ad.data(), lda, Bd.data(), ldb, ref.data(), N, acc);
          Tensor Ag = Tensor::from_vector(A, {M * K}).to(Device::cuda());
          Tensor Bg = Tensor::from_vector(B, {K * N}).to(Device::cuda());
          Guarded Cg(C0);
          cuda::gemm_with(v, ta, tb, M, N, K, Ag.data<float>(), lda, Bg.data<float>(), ldb, Cg.ptr(), N, acc);
          const std::vector<float> out = Cg.body("gemm");
          compare(std::string("gemm ") + var.name + " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) +
                      " acc=" + std::to_string(acc),
                  std::vector<double>(out.begin(), out.end()), ref, kFp32);
        }
  }
}

void test_optimizer() {
  std::mt19937_64 rng(21);
  const std::vector<int64_t> sizes = {1, 7, 65536, 65537, 3000, 5};
  for (bool decoupled : {false, true}) {
    AdamConfig cfg;
    cfg.lr = 2e-3;
    cfg.weight_decay = 0.01;
    cfg.decoupled = decoupled;
    std::vector<std::vector<float>> p, g, m, v;
    for (int64_t n : sizes) {
      p.push_back(random_floats(rng, n));
      g.push_back(random_floats(rng, n));
      m.emplace_back(n, 0.f);
      v.emplace_back(n, 0.f);
    }
    std::vector<Tensor> pg, gg, mg, vg;
    for (size_t i = 0; i < sizes.size(); ++i) {
      pg.push_back(Tensor::from_vector(p[i], {sizes[i]}).to(Device::cuda()));
      gg.push_back(Tensor::from_vector(g[i], {sizes[i]}).to(Device::cuda()));
      mg.push_back(Tensor::zeros({sizes[i]}, DType::f32, Device::cuda()));
      vg.push_back(Tensor::zeros({sizes[i]}, DType::f32, Device::cuda()));
    }
    auto ptrs = [](std::vector<std::vector<float>>& a) {
      std::vector<float*> r;
      for (auto& x : a) r.push_back(x.data());
      return r;
    };
    auto dptrs = [](std::vector<Tensor>& a) {
      std::vector<float*> r;
      for (auto& x : a) r.push_back(x.data<float>());
      return r;
    };
    std::vector<float*> hp = ptrs(p), hm = ptrs(m), hv = ptrs(v), dp = dptrs(pg), dm = dptrs(mg), dv = dptrs(vg);
    std::vector<const float*> hg, dg;
    for (size_t i = 0; i < sizes.size(); ++i) {
      hg.push_back(i == 5 ? nullptr : g[i].data());  // the last tensor has no gradient
      dg.push_back(i == 5 ? nullptr : gg[i].data<float>());
    }
    for (int64_t t = 1; t <= 4; ++t) {
      const AdamStep st = adam_step_scalars(cfg, t);
      cpu::adam_update(st, hp.data(), hg.data(), hm.data(), hv.data(), sizes.data(), (int)sizes.size());
      cuda::adam_update(st, dp.data(), dg.data(), dm.data(), dv.data(), sizes.data(), (int)sizes.size());
    }
    for (size_t i = 0; i < sizes.size(); ++i) {
      compare(std::string(decoupled ? "adamw" : "adam") + " param " + std::to_string(i), pg[i].to_vector(),
              std::vector<double>(p[i].begin(), p[i].end()), kFp32);
      compare("adam exp_avg_sq " + std::to_string(i), vg[i].to_vector(),
              std::vector<double>(v[i].begin(), v[i].end()), kFp32);
    }
  }
  // EMA
  std::vector<std::vector<float>> e, q;
  std::vector<Tensor> eg, qg;
  for (int64_t n : sizes) {
    e.push_back(random_floats(rng, n));
    q.push_back(random_floats(rng, n));
    eg.push_back(Tensor::from_vector(e.back(), {n}).to(Device::cuda()));
    qg.push_back(Tensor::from_vector(q.back(), {n}).to(Device::cuda()));
  }
  std::vector<float*> he, de;
  std::vector<const float*> hq, dq;
  for (size_t i = 0; i < sizes.size(); ++i) {
    he.push_back(e[i].data());
    hq.push_back(q[i].data());
    de.push_back(eg[i].data<float>());
    dq.push_back(qg[i].data<float>());
  }
  cpu::ema_update(0.999, he.data(), hq.data(), sizes.data(), (int)sizes.size());
  cuda::ema_update(0.999, de.data(), dq.data(), sizes.data(), (int)sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i)
    compare("ema " + std::to_string(i), eg[i].to_vector(), std::vector<double>(e[i].begin(), e[i].end()), kFp32);
}

void test_memory() {
  const cuda::PoolStats before = cuda::pool_stats(0);
  {
    Tensor t = Tensor::empty({1 << 20}, DType::f32, Device::cuda());
    CHECK(cuda::pool_stats(0).current_bytes >= before.current_bytes + (4u << 20));
  }
  CHECK(cuda::pool_stats(0).peak_bytes >= before.current_bytes + (4u << 20));
  CHECK_THROWS_WITH(Tensor::empty({int64_t{1} << 40}, DType::f32, Device::cuda()),
                    Catch::Contains("CUDA out of memory: requested") && Catch::Contains("Hint"));
}

// The ops of a training step keep their results on the device: the losses (and their
// gradients' scale), the spectral-norm sigma and the max-pool argmax do not make the host
// wait for the GPU (each used to: about 24 sigma syncs and 63 MB of argmax over PCIe per
// GAN iteration). Counted by cuda::host_wait_count(), which every device->host copy,
// synchronize() and StreamMark::wait() of the runtime bumps.
void test_ops_do_not_wait_on_the_host() {
  std::mt19937_64 rng(31);
  auto on_gpu = [&](const Shape& s, bool grad) {
    Tensor t = random_tensor(s, rng).to(DType::f32).to(Device::cuda());
    if (grad) t.set_requires_grad(true);
    return t;
  };
  struct Case {
    const char* name;
    std::function<Tensor()> fn;
  };
  Tensor x = on_gpu({2, 3, 8, 10}, true), t = on_gpu({2, 3, 8, 10}, false);
  Tensor w = on_gpu({16, 8, 3, 3}, true), u = on_gpu({16}, false), v = on_gpu({72}, false);
  Tensor g_pool = on_gpu({2, 3, 4, 5}, false), g_sn = on_gpu({16, 8, 3, 3}, false);
  const std::vector<Case> cases = {
      {"l1_loss", [&] { return l1_loss(x, t); }},
      {"mse_loss", [&] { return mse_loss(x, t); }},
      {"bce_with_logits", [&] { return bce_with_logits(x, 1.0); }},
      {"mean", [&] { return mean(x); }},
      {"max_pool2d", [&] { return max_pool2d(x, 2, 2); }},
      {"spectral_norm train", [&] { return spectral_norm(w, u, v, true, 1); }},
      {"spectral_norm eval", [&] { return spectral_norm(w, u, v, false, 1); }},
  };
  for (const Case& c : cases) {
    cuda::synchronize();
    const uint64_t before = cuda::host_wait_count();
    Tensor y = c.fn();
    const Tensor g = y.numel() == 1 ? Tensor::ones({1}, DType::f32, Device::cuda())
                                    : (y.shape() == g_pool.shape() ? g_pool : g_sn);
    y.backward(g);
    INFO(c.name << ": forward + backward made the host wait for the GPU");
    CHECK(cuda::host_wait_count() == before);
    x.zero_grad();
    w.zero_grad();
  }
}

// cuda:N means GPU N: activate_device makes it current, and an allocation for a GPU that is
// not the thread's current one is refused with both names (it would land on the current one).
void test_device_selection() {
  activate_device(Device::cuda(0), "test");
  CHECK(cuda::current_device() == 0);
  CHECK_THROWS_WITH(Tensor::empty({4}, DType::f32, Device::cuda(1)),
                    Catch::Contains("tensor on cuda:1 would land on cuda:0"));
  if (cuda::device_count() >= 2) {
    activate_device(Device::cuda(1), "test");
    CHECK(cuda::current_device() == 1);
    CHECK(Tensor::full({3}, 2.0, DType::f32, Device::cuda(1)).to_vector() == std::vector<double>{2, 2, 2});
    CHECK_THROWS_WITH(Tensor::empty({4}, DType::f32, Device::cuda(0)),
                      Catch::Contains("tensor on cuda:0 would land on cuda:1"));
    activate_device(Device::cuda(0), "test");
  }
}

}  // namespace

#define CUDA_BODY(f) f()
#else
#define CUDA_BODY(f) (void)0
#endif  // SRENGINE_WITH_CUDA

TEST_CASE("cuda/ops_elementwise") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("elementwise", Device::cuda()); }); }
TEST_CASE("cuda/ops_activation") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("activation", Device::cuda()); }); }
TEST_CASE("cuda/ops_layout") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("layout", Device::cuda()); }); }
TEST_CASE("cuda/ops_conv") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("conv", Device::cuda()); }); }
TEST_CASE("cuda/ops_loss") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("loss", Device::cuda()); }); }
TEST_CASE("cuda/ops_spectral_norm") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("spectral_norm", Device::cuda()); }); }
TEST_CASE("cuda/ops_rdb") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("rdb", Device::cuda()); }); }
TEST_CASE("cuda/ops_norm_pool") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("norm_pool", Device::cuda()); }); }
TEST_CASE("cuda/ops_channel_attention") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("channel_attention", Device::cuda()); }); }
TEST_CASE("cuda/ops_window_partition") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("window_partition", Device::cuda()); }); }
TEST_CASE("cuda/ops_pad_reflect") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("pad_reflect", Device::cuda()); }); }
TEST_CASE("cuda/ops_window_attention") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("window_attention", Device::cuda()); }); }
TEST_CASE("cuda/ops_ecb") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("ecb", Device::cuda()); }); }
TEST_CASE("cuda/ops_overlap_window_attention") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("overlap_window_attention", Device::cuda()); }); }
TEST_CASE("cuda/ops_layer_norm") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("layer_norm", Device::cuda()); }); }
TEST_CASE("cuda/ops_transpose_tokens") { if (sr::test::skip_without_cuda()) return; CUDA_BODY([] { run_family("transpose_tokens", Device::cuda()); }); }
TEST_CASE("cuda/conv2d_variants") { if (sr::test::skip_without_cuda()) return; CUDA_BODY(test_conv_variants); }
TEST_CASE("cuda/upsample_nearest2x_conv2d_variants") { if (sr::test::skip_without_cuda()) return; CUDA_BODY(test_upsample_nearest2x_conv2d_variants); }
TEST_CASE("cuda/conv2d_native_vs_cudnn") { if (sr::test::skip_without_cuda()) return; CUDA_BODY(test_native_vs_cudnn); }
TEST_CASE("cuda/determinism") { if (sr::test::skip_without_cuda()) return; CUDA_BODY(test_determinism); }
TEST_CASE("cuda/gemm_variants") { if (sr::test::skip_without_cuda()) return; CUDA_BODY(test_gemm_variants); }
TEST_CASE("cuda/optimizer") { if (sr::test::skip_without_cuda()) return; CUDA_BODY(test_optimizer); }
TEST_CASE("cuda/memory_pool") { if (sr::test::skip_without_cuda()) return; CUDA_BODY(test_memory); }
TEST_CASE("cuda/device_selection") { if (sr::test::skip_without_cuda()) return; CUDA_BODY(test_device_selection); }
TEST_CASE("cuda/ops_do_not_wait_on_the_host") { if (sr::test::skip_without_cuda()) return; CUDA_BODY(test_ops_do_not_wait_on_the_host); }

#ifdef SRENGINE_WITH_SIMT
TEST_CASE("simt/ops_elementwise") { run_family("elementwise", Device::simt()); }
TEST_CASE("simt/ops_activation") { run_family("activation", Device::simt()); }
TEST_CASE("simt/ops_layout") { run_family("layout", Device::simt()); }
TEST_CASE("simt/ops_conv") { run_family("conv", Device::simt()); }
TEST_CASE("simt/ops_loss") { run_family("loss", Device::simt()); }
TEST_CASE("simt/ops_spectral_norm") { run_family("spectral_norm", Device::simt()); }
TEST_CASE("simt/ops_rdb") { run_family("rdb", Device::simt()); }
TEST_CASE("simt/ops_norm_pool") { run_family("norm_pool", Device::simt()); }
TEST_CASE("simt/ops_channel_attention") { run_family("channel_attention", Device::simt()); }
TEST_CASE("simt/ops_window_partition") { run_family("window_partition", Device::simt()); }
TEST_CASE("simt/ops_pad_reflect") { run_family("pad_reflect", Device::simt()); }
TEST_CASE("simt/ops_window_attention") { run_family("window_attention", Device::simt()); }
TEST_CASE("simt/ops_overlap_window_attention") { run_family("overlap_window_attention", Device::simt()); }
TEST_CASE("simt/ops_ecb") { run_family("ecb", Device::simt()); }
TEST_CASE("simt/ops_layer_norm") { run_family("layer_norm", Device::simt()); }
TEST_CASE("simt/ops_transpose_tokens") { run_family("transpose_tokens", Device::simt()); }
#endif
