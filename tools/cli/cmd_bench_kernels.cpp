// `srengine bench kernels`: kernel microbenchmarks on the shapes that RRDBNet (nf64 nb23
// gc32 x4), UNetDiscriminatorSN (nf64), VGGStyleDiscriminator (nf64, 128 px), the VGG19
// perceptual loss (128 px) and SRVGGNetCompact (nf64) actually run, per op and per variant,
// each against a ceiling measured in the same run.
//
// The cases are the product of three tables below: the layers of the nets (kConvLayers,
// the upsampling, activation, batch-norm and pooling lists, ...), the op kinds (kOpKernels:
// each op and the kernels/registry family that implements it), and the variants of each op
// per device: conv_variants() (the CPU kernels plus every CUDA conv2d variant in the
// registry), cpu_impls() (the CPU kernels) and, in CUDA builds, one CUDA row per registry
// variant of the op's family (bench_cuda_ops.cpp). The registry names the CUDA variants, so
// a registry variant without a bench twin shows up as a missing row, which the test
// bench/kernels_cuda_rows_cover_registry catches from `--list-json` without a GPU.
//
// Method: every input exists `--rotations` times and run i uses set i % rotations, so a
// case that fits in cache is not flattered; `--warmup` untimed runs, then `--repeat` timed
// ones (the device synchronised after each); the median is reported with GFLOP/s for
// compute-bound ops or GB/s for memory-bound ones (bytes = compulsory reads + writes) and
// the percentage of the matching ceiling: a large SGEMM and a large copy, measured first.
//
// `--list-json FILE` writes the cases (name, op, kernel family, parameters, and the
// device variants that have a row) without running anything: tools/peer_torch.py reads
// that file, so PyTorch times exactly the same shapes, and tools/bench_vs_torch.sh joins
// the two JSON outputs by case name.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "kernels/common/math.h"
#include "kernels/cpu/activation.h"
#include "kernels/cpu/batch_norm.h"
#include "kernels/cpu/channel_attention.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/conv2d_bf16.h"
#include "kernels/cpu/conv2d_int8.h"
#include "kernels/cpu/conv2d_rounded.h"
#include "kernels/cpu/ecb_reparameterize.h"
#include "kernels/cpu/upsample_nearest2x_conv2d.h"
#include "kernels/cpu/overlap_window_attention.h"
#include "kernels/cpu/window_attention.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/layer_norm.h"
#include "kernels/cpu/loss.h"
#include "kernels/cpu/optimizer.h"
#include "kernels/cpu/pad_reflect.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/prelu.h"
#include "kernels/cpu/resample.h"
#include "kernels/cpu/simd.h"
#include "kernels/cpu/spectral_norm.h"
#include "kernels/cpu/window_partition.h"
#include "kernels/cpu/transpose_tokens.h"
#include "kernels/registry.h"
#include "tools/cli/args.h"
#include "tools/cli/bench_kernels.h"
#include "tools/cli/bench_rdb.h"
#include "tools/cli/commands.h"
#ifdef SRENGINE_WITH_CUDA
#include "engine/cuda_runtime.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/gemm.h"
#include "tools/cli/bench_cuda_ops.h"
#endif

namespace sr::cli {

namespace kernel_bench {

// RRDBNet nf64 nb23 gc32 x4's parameter tensors (weights and biases), 16.7M floats.
std::vector<int64_t> rrdbnet_param_sizes() {
  std::vector<int64_t> sz;
  auto conv = [&](int64_t cin, int64_t cout) {
    sz.push_back(cout * cin * 9);
    sz.push_back(cout);
  };
  conv(3, 64);
  for (int b = 0; b < 23 * 3; ++b) {
    for (int i = 0; i < 4; ++i) conv(64 + 32 * i, 32);
    conv(192, 64);
  }
  for (int i = 0; i < 4; ++i) conv(64, 64);  // conv_body, conv_up1, conv_up2, conv_hr
  conv(64, 3);
  return sz;
}

}  // namespace kernel_bench

namespace {

using json = nlohmann::json;
using kernel_bench::Buffers;
using kernel_bench::Case;
using kernel_bench::Impl;
using kernel_bench::Maker;
using kernel_bench::Params;
using kernel_bench::Runner;
using kernel_bench::rrdbnet_param_sizes;

// ---- options --------------------------------------------------------------------------------

struct Options {
  std::string device = "cpu";
  std::string filter;
  std::string json_path, list_json_path;
  int repeat = -1, warmup = 2, rotations = 4, batch = -1, threads = -1;
  bool all_variants = false;
  std::string only_variant;  // --variants NAME: only that variant's rows
  bool no_ceilings = false, ceilings_only = false;
};

void print_usage() {
  std::printf(
      "usage: srengine bench kernels [--device cpu|cuda] [--filter REGEX] [--json FILE]\n"
      "                              [--repeat N] [--warmup N] [--batch N] [--rotations N]\n"
      "                              [--threads N] [--variants default|all|NAME] [--list-json FILE]\n\n"
      "Times every kernel on the shapes RRDBNet (nf64 nb23 gc32 x4), UNetDiscriminatorSN and\n"
      "VGGStyleDiscriminator (nf64), the VGG19 perceptual loss and SRVGGNetCompact run: conv\n"
      "forward, backward-data and backward-weight per layer, the dense blocks, pixel (un)shuffle,\n"
      "upsampling, (bias +) LeakyReLU, PReLU, ReLU, elementwise maps, batch norm, max pooling,\n"
      "linear, losses, channel sums, spectral norm, Adam and EMA over RRDBNet's parameters.\n"
      "Median of --repeat runs (default 10 on cpu, 50 on cuda) after --warmup runs, inputs\n"
      "rotated over --rotations copies; GFLOP/s or GB/s and the percentage\n"
      "of a large SGEMM / large copy measured in the same run.\n\n"
      "  --filter REGEX     only cases whose name matches (e.g. 'conv_fwd/rrdb')\n"
      "  --batch N          images per conv/resample case (default 4 on cpu, 16 on cuda)\n"
      "  --variants all     also time the non-default variants (cpu: the im2col reference, and\n"
      "                     implicit_bf16 where the CPU has avx512_bf16)\n"
      "  --variants NAME    only the rows of variant NAME (e.g. wgmma; with SRENGINE_WGMMA_PLAN\n"
      "                     set, one forced wgmma plan: tools/gpu_check.sh)\n"
      "  --json FILE        write the results as JSON (the format tools/peer_torch.py prints)\n"
      "  --list-json FILE   write the case list (shapes) as JSON and exit\n"
      "  --threads N        OpenMP threads (default: all cores)\n"
      "  --no-ceilings      skip the ceiling measurement (no percentages)\n"
      "  --ceilings-only    measure only the ceilings\n");
}

// ---- timing --------------------------------------------------------------------------------

// The device of --device, made current (cuda:N runs on GPU N; a missing one is an error).
Device bench_device(const Options& o) {
  const Device d = parse_device(o.device);
  SR_CHECK(!d.is_simt(), "--device simt: the SIMT interpreter checks kernels, it does not time them (use cpu or cuda)");
  activate_device(d, "--device " + o.device);
  return d;
}

void device_sync(const Device& d) {
#ifdef SRENGINE_WITH_CUDA
  if (d.is_cuda()) cuda::synchronize();
#else
  (void)d;
#endif
}

struct Timing {
  double median_ms = 0, min_ms = 0;
  int runs = 0;
};

Timing time_runs(const Runner& run, const Device& dev, int warmup, int repeat) {
  for (int i = 0; i < warmup; ++i) run(i);
  device_sync(dev);
  std::vector<double> ms;
  for (int i = 0; i < repeat; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    run(warmup + i);
    device_sync(dev);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  Timing t;
  t.runs = repeat;
  t.min_ms = ms.front();
  t.median_ms = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
  return t;
}

// ---- the cases --------------------------------------------------------------------------------

// The layers of the two nets, as conv shapes at input size H x H.
struct ConvLayer {
  const char* name;
  int64_t C, H, K;
  int R, stride, pad;
  bool bias;
};
// RRDBNet nf64 nb23 gc32 x4 (69 dense blocks of five convs at the LR size, then the tail);
// conv_hr has conv_up2's shape. UNetDiscriminatorSN nf64 on 128 x 128 HR patches: the
// spectral-norm convs have no bias.
const ConvLayer kConvLayers[] = {
    {"rrdb.conv_first", 3, 32, 64, 3, 1, 1, true},
    {"rrdb.rdb_conv1", 64, 32, 32, 3, 1, 1, true},
    {"rrdb.rdb_conv2", 96, 32, 32, 3, 1, 1, true},
    {"rrdb.rdb_conv3", 128, 32, 32, 3, 1, 1, true},
    {"rrdb.rdb_conv4", 160, 32, 32, 3, 1, 1, true},
    {"rrdb.rdb_conv5", 192, 32, 64, 3, 1, 1, true},
    {"rrdb.conv_body", 64, 32, 64, 3, 1, 1, true},
    {"rrdb.conv_up1", 64, 64, 64, 3, 1, 1, true},
    {"rrdb.conv_up2", 64, 128, 64, 3, 1, 1, true},
    {"rrdb.conv_last", 64, 128, 3, 3, 1, 1, true},
    {"unet.conv0", 3, 128, 64, 3, 1, 1, true},
    {"unet.conv1", 64, 128, 128, 4, 2, 1, false},
    {"unet.conv2", 128, 64, 256, 4, 2, 1, false},
    {"unet.conv3", 256, 32, 512, 4, 2, 1, false},
    {"unet.conv4", 512, 32, 256, 3, 1, 1, false},
    {"unet.conv5", 256, 64, 128, 3, 1, 1, false},
    {"unet.conv6", 128, 128, 64, 3, 1, 1, false},
    {"unet.conv7", 64, 128, 64, 3, 1, 1, false},
    {"unet.conv9", 64, 128, 1, 3, 1, 1, true},
};

Conv2dShape conv_shape(const Params& p) {
  Conv2dShape s{};
  s.N = (int64_t)p.at("N");
  s.C = (int64_t)p.at("C");
  s.H = (int64_t)p.at("H");
  s.W = (int64_t)p.at("W");
  s.K = (int64_t)p.at("K");
  s.R = s.S = (int64_t)p.at("R");
  s.stride = (int)p.at("stride");
  s.pad = (int)p.at("pad");
  s.P = (s.H + 2 * s.pad - s.R) / s.stride + 1;
  s.Q = (s.W + 2 * s.pad - s.S) / s.stride + 1;
  s.x_batch_stride = s.C * s.H * s.W;
  s.y_batch_stride = s.K * s.P * s.Q;
  return s;
}

using ConvFwd = std::function<void(const Conv2dShape&, const float*, const float*, const float*, float*)>;
using ConvBwdData = std::function<void(const Conv2dShape&, const float*, const float*, float*)>;
using ConvBwdWeight =
    std::function<void(const Conv2dShape&, const float*, const float*, float*, float*)>;
struct ConvFns {
  std::string device, name;
  bool is_default;
  ConvFwd fwd;
  ConvBwdData bwd_data;
  ConvBwdWeight bwd_weight;
};

// Every conv variant: the CPU kernels, then one row per CUDA conv2d variant in the
// registry (so a new CUDA variant shows up here without touching this file).
std::vector<ConvFns> conv_variants() {
  std::vector<ConvFns> v;
  v.push_back({"cpu", SR_CPU_SIMD ? std::string("implicit_") + cpu::simd_isa() : "im2col_eigen", true,
               cpu::conv2d_forward<float>, cpu::conv2d_backward_data<float>,
               cpu::conv2d_backward_weight<float>});
#if SR_CPU_SIMD
  v.push_back({"cpu", "im2col", false, cpu::conv2d_forward_im2col<float>,
               cpu::conv2d_backward_data_im2col<float>, cpu::conv2d_backward_weight_im2col<float>});
#endif
  // precision bf16 (AVX512-BF16): operands rounded to bf16, float32 sums (conv2d_bf16.h).
  if (cpu::cpu_has_avx512_bf16())
    v.push_back({"cpu", "implicit_bf16", false, cpu::conv2d_forward_bf16, cpu::conv2d_backward_data_bf16,
                 cpu::conv2d_backward_weight_bf16});
  // precision tf32 / fp16: operands rounded into copies, the float32 kernel (conv2d_rounded.h).
  for (const Precision p : {Precision::tf32, Precision::fp16}) {
    auto with = [p](Conv2dShape s) {
      s.precision = p;
      return s;
    };
    v.push_back({"cpu", std::string("rounded_") + precision_name(p), false,
                 [with](const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) {
                   cpu::conv2d_forward_rounded(with(s), x, w, b, y);
                 },
                 [with](const Conv2dShape& s, const float* dy, const float* w, float* dx) {
                   cpu::conv2d_backward_data_rounded(with(s), dy, w, dx);
                 },
                 [with](const Conv2dShape& s, const float* x, const float* dy, float* dw, float* db) {
                   cpu::conv2d_backward_weight_rounded(with(s), x, dy, dw, db);
                 }});
  }
#ifdef SRENGINE_WITH_CUDA
  for (const kernels::Variant& kv : kernels::variants_of("conv2d", "cuda")) {
    const cuda::ConvVariant cv = cuda::conv_variant_from_name(kv.name);
    v.push_back({"cuda", kv.name, kv.is_default,
                 [cv](const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) {
                   cuda::ConvEpilogue ep;
                   ep.bias = b;
                   cuda::conv2d_forward_with(cv, s, x, w, ep, y);
                 },
                 [cv](const Conv2dShape& s, const float* dy, const float* w, float* dx) {
                   cuda::conv2d_backward_data_with(cv, s, dy, w, dx);
                 },
                 [cv](const Conv2dShape& s, const float* x, const float* dy, float* dw, float* db) {
                   cuda::conv2d_backward_weight_with(cv, s, x, dy, dw, db);
                 }});
  }
#endif
  return v;
}

// The int8 inference conv (kernels/cpu/conv2d_int8.h) on a conv_fwd case: uint8 input,
// int8 weights, quantised output (as between two convs of an int8 network); its GFLOPS
// column counts int8 multiply-adds as two operations. Stride-1 odd filters only. One row per
// vector path the CPU runs (int8_avx512_vnni, int8_avx_vnni, int8_avx2).
Runner int8_conv_runner(cpu::Int8Isa isa, const Case& c, Buffers&, int rot) {
  const Conv2dShape s = conv_shape(c.p);
  if (s.stride != 1 || s.R % 2 == 0 || s.pad != s.R / 2) return {};
  Generator gen(4321);
  std::vector<int8_t> qw(s.K * s.C * s.R * s.S);
  Tensor wr = Tensor::empty({(int64_t)qw.size()});
  uniform_(wr, -127.0, 127.0, gen);
  for (size_t i = 0; i < qw.size(); ++i) qw[i] = (int8_t)wr.data<float>()[i];
  const std::vector<float> scale(s.K, 0.01f), bias(s.K, 0.1f);
  auto w = std::make_shared<cpu::QuantConvWeights>(
      cpu::pack_conv_weights_int8(qw.data(), scale.data(), bias.data(), s.K, s.C, s.R, s.S));
  auto xs = std::make_shared<std::vector<cpu::QuantActivation>>();
  auto ys = std::make_shared<std::vector<cpu::QuantActivation>>();
  for (int i = 0; i < rot; ++i) {
    cpu::QuantActivation x = cpu::make_quant_activation(s.N, s.C, s.H, s.W, s.pad, 0.02f, 128);
    Tensor xr = Tensor::empty({(int64_t)x.data.size()});
    uniform_(xr, 0.0, 255.0, gen);
    for (size_t j = 0; j < x.data.size(); ++j) x.data[j] = (uint8_t)xr.data<float>()[j];
    xs->push_back(std::move(x));
    ys->push_back(cpu::make_quant_activation(s.N, s.K, s.H, s.W, 1, 0.02f, 128));
  }
  return [=](int i) { cpu::conv2d_int8_forward_isa(isa, (*xs)[i % rot], *w, {nullptr, &(*ys)[i % rot], nullptr}); };
}

std::vector<Impl> conv_impls(const std::string& op) {
  std::vector<Impl> out;
  for (const ConvFns& f : conv_variants()) {
    out.push_back({f.device, f.name, f.is_default, [f, op](const Case& c, Buffers& b, int rot) -> Runner {
                     const Conv2dShape s = conv_shape(c.p);
                     const int64_t nx = s.N * s.C * s.H * s.W, ny = s.N * s.K * s.P * s.Q;
                     const float* w = b.rand(s.K * s.C * s.R * s.S, -0.1, 0.1);
                     if (op == "conv_fwd") {
                       const float* bias = c.p.at("bias") ? b.rand(s.K) : nullptr;
                       auto x = b.rand_sets(rot, nx);
                       auto y = b.rand_sets(rot, ny);
                       return [=](int i) { f.fwd(s, x[i % rot], w, bias, y[i % rot]); };
                     }
                     auto dy = b.rand_sets(rot, ny);
                     if (op == "conv_bwd_data") {
                       auto dx = b.rand_sets(rot, nx);
                       return [=](int i) { f.bwd_data(s, dy[i % rot], w, dx[i % rot]); };
                     }
                     auto x = b.rand_sets(rot, nx);
                     float* dw = b.zeros(s.K * s.C * s.R * s.S);
                     float* db = c.p.at("bias") ? b.zeros(s.K) : nullptr;
                     return [=](int i) { f.bwd_weight(s, x[i % rot], dy[i % rot], dw, db); };
                   }});
  }
  if (op == "conv_fwd")
    for (cpu::Int8Isa isa : cpu::kInt8Isas)
      if (isa != cpu::Int8Isa::reference && cpu::int8_isa_supported(isa))
        out.push_back({"cpu", std::string("int8_") + cpu::int8_isa_name(isa), false,
                       [isa](const Case& c, Buffers& b, int rot) { return int8_conv_runner(isa, c, b, rot); }});
  return out;
}

// upsample_nearest2x_conv2d's CPU rows: the folded kernel (the default) and, beside it, the
// composed baseline (upsample_nearest by 2 into a scratch tensor, then conv2d's kernel). The
// CUDA rows, one per registry variant, are bench_cuda_ops.cpp's.
std::vector<Impl> upsample_nearest2x_conv2d_cpu_impls(const std::string& op) {
  std::vector<Impl> out;
  for (const bool folded : {true, false})
    out.push_back({"cpu", folded ? "phases" : "composed", folded,
                   [op, folded](const Case& c, Buffers& b, int rot) -> Runner {
                     const Conv2dShape s = kernel_bench::upsample_nearest2x_conv2d_shape(c);
                     const int64_t nx = s.N * s.C * s.H * s.W / 4, ny = s.N * s.K * s.P * s.Q;
                     const float* w = b.rand(s.K * s.C * s.R * s.S, -0.1, 0.1);
                     if (op == "upsample_nearest2x_conv2d_fwd") {
                       const float* bias = b.rand(s.K);
                       auto x = b.rand_sets(rot, nx), y = b.rand_sets(rot, ny);
                       if (folded)
                         return [=](int i) { cpu::upsample_nearest2x_conv2d_forward(s, x[i % rot], w, bias, y[i % rot]); };
                       return [=](int i) {
                         cpu::upsample_nearest2x_conv2d_forward_reference(s, x[i % rot], w, bias, y[i % rot]);
                       };
                     }
                     auto dy = b.rand_sets(rot, ny);
                     if (op == "upsample_nearest2x_conv2d_bwd_data") {
                       auto dx = b.rand_sets(rot, nx);
                       if (folded)
                         return [=](int i) { cpu::upsample_nearest2x_conv2d_backward_data(s, dy[i % rot], w, dx[i % rot]); };
                       return [=](int i) {
                         cpu::upsample_nearest2x_conv2d_backward_data_reference(s, dy[i % rot], w, dx[i % rot]);
                       };
                     }
                     auto x = b.rand_sets(rot, nx);
                     float* dw = b.zeros(s.K * s.C * s.R * s.S);
                     float* db = b.zeros(s.K);
                     if (folded)
                       return [=](int i) { cpu::upsample_nearest2x_conv2d_backward_weight(s, x[i % rot], dy[i % rot], dw, db); };
                     return [=](int i) {
                       cpu::upsample_nearest2x_conv2d_backward_weight_reference(s, x[i % rot], dy[i % rot], dw, db);
                     };
                   }});
  return out;
}

// Every op of the cases below and the kernels/registry family that implements it: its
// CUDA rows are the family's CUDA variants (the registry names them), and the case list
// (--list-json) reports the family, so a test can hold the rows against the registry.
struct OpKernel {
  const char* op;
  const char* kernel;
};
const OpKernel kOpKernels[] = {
    {"conv_fwd", "conv2d"}, {"conv_bwd_data", "conv2d"}, {"conv_bwd_weight", "conv2d"},
    {"rdb_fwd_bwd", "rdb"}, {"rrdb_fwd_bwd", "rdb"},
    {"upsample_nearest2x_conv2d_fwd", "upsample_nearest2x_conv2d"},
    {"upsample_nearest2x_conv2d_bwd_data", "upsample_nearest2x_conv2d"},
    {"upsample_nearest2x_conv2d_bwd_weight", "upsample_nearest2x_conv2d"},
    {"pixel_shuffle", "resample"}, {"pixel_unshuffle", "resample"},
    {"upsample_nearest_fwd", "resample"}, {"upsample_nearest_bwd", "resample"},
    {"upsample_bilinear_fwd", "resample"}, {"upsample_bilinear_bwd", "resample"},
    {"bias_lrelu_fwd", "activation"}, {"bias_lrelu_bwd", "activation"},
    {"lrelu_fwd", "activation"}, {"lrelu_bwd", "activation"},
    {"residual_axpby", "elementwise"}, {"add", "elementwise"}, {"sub", "elementwise"},
    {"mul", "elementwise"}, {"scale", "elementwise"}, {"axpy_inplace", "elementwise"},
    {"abs_fwd", "elementwise"}, {"abs_bwd", "elementwise"}, {"relu_fwd", "elementwise"},
    {"relu_bwd", "elementwise"}, {"square_root_fwd", "elementwise"}, {"square_root_bwd", "elementwise"},
    {"sigmoid_fwd", "elementwise"}, {"sigmoid_bwd", "elementwise"},
    {"gelu_fwd", "elementwise"}, {"gelu_bwd", "elementwise"},
    {"prelu_fwd", "prelu"}, {"prelu_bwd", "prelu"},
    {"batch_norm_fwd", "batch_norm"}, {"batch_norm_bwd", "batch_norm"},
    {"max_pool_fwd", "pool"}, {"max_pool_bwd", "pool"},
    {"spatial_mean_fwd", "channel_attention"}, {"spatial_mean_bwd", "channel_attention"},
    {"channel_scale_fwd", "channel_attention"}, {"channel_scale_bwd", "channel_attention"},
    {"window_partition_fwd", "window_partition"}, {"window_partition_bwd", "window_partition"},
    {"pad_reflect_fwd", "pad_reflect"}, {"pad_reflect_bwd", "pad_reflect"}, {"crop_fwd", "pad_reflect"}, {"crop_bwd", "pad_reflect"},
    {"window_attention_fwd", "window_attention"}, {"window_attention_bwd", "window_attention"},
    {"overlap_window_attention_fwd", "overlap_window_attention"},
    {"overlap_window_attention_bwd", "overlap_window_attention"},
    {"ecb_weight_fwd", "ecb_reparameterize"}, {"ecb_weight_bwd", "ecb_reparameterize"},
    {"ecb_bias_fwd", "ecb_reparameterize"}, {"ecb_bias_bwd", "ecb_reparameterize"},
    {"layer_norm_fwd", "layer_norm"}, {"layer_norm_bwd", "layer_norm"},
    {"transpose_fwd", "transpose_tokens"}, {"transpose_bwd", "transpose_tokens"},
    {"linear_fwd", "gemm"}, {"linear_bwd", "gemm"},
    {"l1_loss_fwd", "loss"}, {"l1_loss_bwd", "loss"}, {"hinge_loss_fwd", "loss"}, {"hinge_loss_bwd", "loss"},
    {"channel_sum", "reduce"}, {"dot", "reduce"},
    {"spectral_norm", "spectral_norm"}, {"spectral_norm_bwd", "spectral_norm"},
    {"adam", "optimizer"}, {"ema", "optimizer"}, {"loss_unscale", "optimizer"},
    {"degrade_blur", "degrade_blur"}, {"degrade_jpeg", "degrade_jpeg"}, {"degrade_noise", "degrade_noise"}, {"degrade_resize", "degrade_resize"},
    {"degrade_usm_sharp", "degrade_usm_sharp"}, {"degrade_clamp", "degrade_clamp"},
    {"degrade_pipeline", "degrade_pipeline"},
};

std::string kernel_of(const std::string& op) {
  for (const OpKernel& k : kOpKernels)
    if (op == k.op) return k.kernel;
  fail("bench kernels: op '", op, "' is missing from kOpKernels");
}

// The CPU rows of the ops outside conv2d and rdb (one variant each; linear adds the Eigen
// reference under --variants all).
std::vector<Impl> cpu_impls(const std::string& op);

std::string dims(std::initializer_list<int64_t> d) {
  std::string s;
  for (int64_t x : d) {
    if (!s.empty()) s += 'x';
    s += std::to_string(x);
  }
  return s;
}

std::vector<Case> all_cases(int batch) {
  std::vector<Case> cases;
  const double N = batch;
  for (const ConvLayer& l : kConvLayers) {
    const int64_t P = (l.H + 2 * l.pad - l.R) / l.stride + 1;
    const double flops = 2.0 * N * l.K * l.C * l.R * l.R * P * P;
    const double bx = 4.0 * N * l.C * l.H * l.H, by = 4.0 * N * l.K * P * P, bw = 4.0 * l.K * l.C * l.R * l.R;
    const std::string shape = "n" + std::to_string(batch) + " c" + std::to_string(l.C) + "->" +
                              std::to_string(l.K) + " " + dims({l.H, l.H}) + " k" + std::to_string(l.R) +
                              " s" + std::to_string(l.stride);
    const Params p = {{"N", N}, {"C", (double)l.C}, {"H", (double)l.H}, {"W", (double)l.H},
                      {"K", (double)l.K}, {"R", (double)l.R}, {"stride", (double)l.stride},
                      {"pad", (double)l.pad}, {"bias", l.bias ? 1.0 : 0.0}};
    cases.push_back({std::string("conv_fwd/") + l.name, "conv_fwd", shape, p, flops, bx + bw + by, true});
    cases.push_back({std::string("conv_bwd_data/") + l.name, "conv_bwd_data", shape, p, flops, by + bw + bx, true});
    cases.push_back({std::string("conv_bwd_weight/") + l.name, "conv_bwd_weight", shape, p, flops,
                     bx + by + 2 * bw, true});
  }
  // Memory-bound ops: bytes = elements read + written, 4 bytes each.
  auto mem = [&](const std::string& name, const std::string& op, const std::string& shape, Params p,
                 double bytes) { cases.push_back({name, op, shape, std::move(p), 0.0, bytes, false}); };
  {  // pixel (un)shuffle: RRDBNet x2 / x1 use unshuffle on the input; shuffle r2 as in SR heads
    const double n = N * 256 * 32 * 32;
    mem("pixel_shuffle/r2.c256.32px", "pixel_shuffle", "n" + std::to_string(batch) + " 256x32x32 -> 64x64x64",
        {{"N", N}, {"C", 64}, {"H", 32}, {"W", 32}, {"r", 2}}, 8 * n);
    const double m = N * 3 * 128 * 128;
    mem("pixel_unshuffle/r4.c3.128px", "pixel_unshuffle", "n" + std::to_string(batch) + " 3x128x128 -> 48x32x32",
        {{"N", N}, {"C", 3}, {"H", 32}, {"W", 32}, {"r", 4}}, 8 * m);
    // SRVGGNetCompact x3's head: its last conv's 27 channels shuffled by 3 at LR 64.
    const double k = N * 27 * 64 * 64;
    mem("pixel_shuffle/r3.c27.64px", "pixel_shuffle", "n" + std::to_string(batch) + " 27x64x64 -> 3x192x192",
        {{"N", N}, {"C", 3}, {"H", 64}, {"W", 64}, {"r", 3}}, 8 * k);
  }
  struct Up {
    const char* name;
    const char* mode;
    int64_t C, H, r;
  };
  // The residual bases: SRVGGNetCompact x3's LR input upsampled by 3 (nearest), MSRResNet x4's
  // by 4 (bilinear).
  const Up ups[] = {{"rrdb.up1", "nearest", 64, 32, 2}, {"rrdb.up2", "nearest", 64, 64, 2},
                    {"srvgg.base_x3", "nearest", 3, 64, 3},
                    {"unet.up1", "bilinear", 512, 16, 2}, {"unet.up2", "bilinear", 256, 32, 2},
                    {"unet.up3", "bilinear", 128, 64, 2},  {"msrresnet.base_x4", "bilinear", 3, 64, 4}};
  for (const Up& u : ups) {
    const double n = N * u.C * u.H * u.H, bytes = 4 * (1 + u.r * u.r) * n;  // read x, write r^2 x
    const std::string shape = "n" + std::to_string(batch) + " c" + std::to_string(u.C) + " " + dims({u.H, u.H}) +
                              " x" + std::to_string(u.r);
    const Params p = {{"N", N}, {"C", (double)u.C}, {"H", (double)u.H}, {"W", (double)u.H}, {"r", (double)u.r}};
    mem(std::string("upsample_") + u.mode + "_fwd/" + u.name, std::string("upsample_") + u.mode + "_fwd", shape, p, bytes);
    mem(std::string("upsample_") + u.mode + "_bwd/" + u.name, std::string("upsample_") + u.mode + "_bwd", shape, p, bytes);
  }
  // RRDBNet's conv_up1 / conv_up2: nearest x2 upsampling of the 64-channel LR (then 2x LR)
  // feature map folded into the 3x3 conv; FLOPs and bytes of the conv at the upsampled size,
  // x read at its own size.
  for (const auto& [name, H] : {std::pair<const char*, int64_t>{"rrdb.conv_up1", 32}, {"rrdb.conv_up2", 64}}) {
    const int64_t C = 64, K = 64, R = 3, P = 2 * H;
    const double flops = 2.0 * N * K * C * R * R * P * P;
    const double bx = 4.0 * N * C * H * H, by = 4.0 * N * K * P * P, bw = 4.0 * K * C * R * R;
    const std::string shape = "n" + std::to_string(batch) + " c64->64 " + dims({H, H}) + " x2 -> " + dims({P, P}) + " k3";
    const Params p = {{"N", N}, {"C", (double)C}, {"H", (double)H}, {"W", (double)H}, {"K", (double)K},
                      {"R", (double)R}, {"pad", 1}};
    for (const char* op : {"upsample_nearest2x_conv2d_fwd", "upsample_nearest2x_conv2d_bwd_data",
                           "upsample_nearest2x_conv2d_bwd_weight"})
      cases.push_back({std::string(op) + "/" + name, op, shape, p, flops, bx + by + bw, true});
  }
  struct Act {
    const char* name;
    int64_t C, H;
  };
  const Act acts[] = {{"rrdb.rdb", 32, 32}, {"rrdb.up2", 64, 128}};
  for (const Act& a : acts) {
    const double n = N * a.C * a.H * a.H;
    const std::string shape = "n" + std::to_string(batch) + " c" + std::to_string(a.C) + " " + dims({a.H, a.H});
    const Params p = {{"N", N}, {"C", (double)a.C}, {"H", (double)a.H}, {"W", (double)a.H}};
    mem(std::string("bias_lrelu_fwd/") + a.name, "bias_lrelu_fwd", shape, p, 8 * n);
    mem(std::string("bias_lrelu_bwd/") + a.name, "bias_lrelu_bwd", shape, p, 12 * n);
  }
  {
    const double n = N * 64 * 32 * 32;
    mem("residual_axpby/rrdb.rdb", "residual_axpby", "n" + std::to_string(batch) + " c64 32x32, x + 0.2*y",
        {{"N", N}, {"C", 64}, {"H", 32}, {"W", 32}}, 12 * n);
  }
  // The other maps, on the tensors they see: RRDBNet's trunk and output, the VGG19
  // perceptual loss's first ReLU (128 px GT), VGGStyleDiscriminator's first BN + LeakyReLU,
  // SRVGGNetCompact's PReLU (32 px LR). bytes = 4 * (reads + writes) per element.
  struct Map {
    const char* op;
    const char* name;
    int64_t C, H;
    int words;  // floats read + written per element
    const char* what;
  };
  const Map maps[] = {{"add", "rrdb.trunk", 64, 32, 3, "x + y"},
                      {"sub", "rrdb.out", 3, 128, 3, "x - y"},
                      {"mul", "rrdb.feat", 64, 32, 3, "x * y"},
                      {"scale", "rrdb.feat", 64, 32, 2, "0.2 * x"},
                      {"axpy_inplace", "rrdb.grad_acc", 64, 32, 3, "y += 0.2 * x"},
                      {"abs_fwd", "rrdb.out", 3, 128, 2, "|x|"},
                      {"abs_bwd", "rrdb.out", 3, 128, 3, "dy * sign(x)"},
                      {"relu_fwd", "vgg19.relu1_2", 64, 128, 2, "relu"},
                      {"relu_bwd", "vgg19.relu1_2", 64, 128, 3, "relu' from y"},
                      {"sigmoid_fwd", "rcan.attention", 64, 48, 2, "sigmoid"},
                      {"sigmoid_bwd", "rcan.attention", 64, 48, 3, "sigmoid' from y"},
                      // SwinIR's MLP hidden layer: (B, 48*48 tokens, 360), as (N, 360, 48, 48)
                      {"gelu_fwd", "swinir.block", 360, 48, 2, "erf gelu of the mlp hidden"},
                      {"gelu_bwd", "swinir.block", 360, 48, 3, "gelu' from x"},
                      {"square_root_fwd", "vgg19.relu1_2", 64, 128, 2, "sqrt"},
                      {"square_root_bwd", "vgg19.relu1_2", 64, 128, 3, "sqrt' from y"},
                      {"lrelu_fwd", "vggd.bn0_1", 64, 64, 2, "leaky_relu 0.2"},
                      {"lrelu_bwd", "vggd.bn0_1", 64, 64, 3, "leaky_relu' from y"},
                      {"prelu_fwd", "srvgg.body", 64, 32, 2, "per-channel a"},
                      {"prelu_bwd", "srvgg.body", 64, 32, 3, "dx and da"}};
  for (const Map& m : maps) {
    const double n = N * m.C * m.H * m.H;
    mem(std::string(m.op) + "/" + m.name, m.op,
        "n" + std::to_string(batch) + " c" + std::to_string(m.C) + " " + dims({m.H, m.H}) + ", " + m.what,
        {{"N", N}, {"C", (double)m.C}, {"H", (double)m.H}, {"W", (double)m.H}}, 4.0 * m.words * n);
  }
  // Batch norm (training: batch statistics, running statistics updated) in
  // VGGStyleDiscriminator nf64 on 128 px: after conv0_1 (64 x 64) and conv3_0 (16 x 16).
  // Forward reads x and writes y (the statistics pass re-reads x); backward reads x, dy and
  // writes dx. The CUDA twins copy the C statistics to / from the host, as the op does.
  struct Plane {
    const char* name;
    int64_t C, H;  // channels, height = width
  };
  for (const Plane& bn : {Plane{"vggd.bn0_1", 64, 64}, Plane{"vggd.bn3_0", 512, 16}}) {
    const double n = N * bn.C * bn.H * bn.H;
    const std::string shape = "n" + std::to_string(batch) + " c" + std::to_string(bn.C) + " " + dims({bn.H, bn.H});
    const Params p = {{"N", N}, {"C", (double)bn.C}, {"H", (double)bn.H}, {"W", (double)bn.H}};
    mem(std::string("batch_norm_fwd/") + bn.name, "batch_norm_fwd", shape, p, 8 * n);
    mem(std::string("batch_norm_bwd/") + bn.name, "batch_norm_bwd", shape, p, 12 * n);
  }
  // Max pooling 2x2 / 2 in the VGG19 perceptual loss on 128 px GT patches. bytes include the
  // int64 argmax (written forward, read backward) of the CPU; the CUDA twins keep int32
  // indices in device memory, as the op does (kernels/cuda/pool.h).
  for (const Plane& pl : {Plane{"vgg19.pool1", 64, 128}, Plane{"vgg19.pool3", 256, 32}}) {
    const double n = N * pl.C * pl.H * pl.H, m = n / 4;
    const std::string shape = "n" + std::to_string(batch) + " c" + std::to_string(pl.C) + " " +
                              dims({pl.H, pl.H}) + " -> " + dims({pl.H / 2, pl.H / 2});
    const Params p = {{"N", N}, {"C", (double)pl.C}, {"H", (double)pl.H}, {"W", (double)pl.H}, {"k", 2}, {"s", 2}};
    mem(std::string("max_pool_fwd/") + pl.name, "max_pool_fwd", shape, p, 4 * n + 12 * m);
    mem(std::string("max_pool_bwd/") + pl.name, "max_pool_bwd", shape, p, 12 * m + 4 * n);
  }
  // RCAN's channel attention (nf 64, 48 px LR patches): the squeeze reads a plane and writes
  // one value, its backward the reverse; the excitation reads x and s and writes y, its
  // backward reads x, s, dy and writes dx and ds.
  {
    const Plane ca{"rcan.attention", 64, 48};
    const double n = N * ca.C * ca.H * ca.H, planes = N * ca.C;
    const std::string shape = "n" + std::to_string(batch) + " c" + std::to_string(ca.C) + " " + dims({ca.H, ca.H});
    const Params p = {{"N", N}, {"C", (double)ca.C}, {"H", (double)ca.H}, {"W", (double)ca.H}};
    mem("spatial_mean_fwd/rcan.attention", "spatial_mean_fwd", shape + " -> 1x1", p, 4 * (n + planes));
    mem("spatial_mean_bwd/rcan.attention", "spatial_mean_bwd", shape + " <- 1x1", p, 4 * (n + planes));
    mem("channel_scale_fwd/rcan.attention", "channel_scale_fwd", shape + ", x * s", p, 4 * (2 * n + planes));
    mem("channel_scale_bwd/rcan.attention", "channel_scale_bwd", shape + ", dx and ds", p, 4 * (3 * n + 2 * planes));
  }
  // SwinIR-M's shifted windows (BasicSR train_SwinIR_SRx4_scratch_P48W8: 4 images a GPU, the
  // CPU's default batch; 48x48 LR patches, embed_dim 180, window 8, shift 4 on odd blocks):
  // each direction reads and writes every token row once (N * 2304 rows of 180 floats).
  {
    const int64_t H = 48, C = 180, ws = 8, shift = 4;
    const double n = N * H * H * C;
    const std::string shape = "n" + std::to_string(batch) + " " + dims({H, H}) + " c" + std::to_string(C) + " ws" +
                              std::to_string(ws) + " shift" + std::to_string(shift);
    const Params p = {{"N", N}, {"H", (double)H}, {"W", (double)H}, {"C", (double)C}, {"ws", (double)ws},
                      {"shift", (double)shift}};
    mem("window_partition_fwd/swinir.block", "window_partition_fwd", shape + ", roll + windows", p, 8 * n);
    mem("window_partition_bwd/swinir.block", "window_partition_bwd", shape + ", windows -> roll back (window_merge)",
        p, 8 * n);
  }
  // SwinIR's inference padding: a 1x3x333x500 LR image reflect-padded by 3 rows and 4 columns
  // to 336x504 (multiples of the window 8), and the crop back. Forward and backward each read
  // one of the two sizes and write the other (the crop's backward also zeroes the border).
  {
    const int64_t H = 333, W = 500, Hp = 336, Wp = 504;
    const double small = 3.0 * H * W, big = 3.0 * Hp * Wp;
    const std::string shape = "n1 c3 " + dims({H, W}) + " <-> " + dims({Hp, Wp});
    const Params pad = {{"N", 1}, {"C", 3}, {"H", (double)H}, {"W", (double)W}, {"bottom", (double)(Hp - H)},
                        {"right", (double)(Wp - W)}};
    mem("pad_reflect_fwd/swinir.pad8", "pad_reflect_fwd", shape + ", reflect", pad, 4 * (small + big));
    mem("pad_reflect_bwd/swinir.pad8", "pad_reflect_bwd", shape + ", mirrored rows / columns folded back", pad,
        4 * (big + small));
    const Params cr = {{"N", 1}, {"C", 3}, {"H", (double)Hp}, {"W", (double)Wp}, {"height", (double)H},
                       {"width", (double)W}};
    mem("crop_fwd/swinir.pad8", "crop_fwd", shape + ", crop", cr, 8 * small);
    mem("crop_bwd/swinir.pad8", "crop_bwd", shape + ", zero border", cr, 4 * (small + big));
  }
  // SwinIR-M's window attention (BasicSR's train_SwinIR_SRx4_scratch_P48W8: 48 px LR patches,
  // C 180, 6 heads of d 30, window 8, shift 4 on odd blocks): 36 windows of 64 tokens an image.
  // FLOPs: S = q k^T and P V, 4 B_ nh N^2 d forward; the backward recomputes S and computes dP,
  // dV, dQ and dK, 10 B_ nh N^2 d (the CUDA kernel's second recomputation of S and dP for the
  // columns not counted). Bytes: qkv read and out written; qkv and dout read, dqkv written.
  {
    const double Bw = N * 36, Nt = 64, C = 180, nh = 6, d = 30, R2 = 225;
    const std::string shape = "n" + std::to_string(batch) + " 48x48 c180, " + std::to_string((int)Bw) +
                              " windows of 8x8, 6 heads of 30, shift 4";
    const Params p = {{"N", N}, {"H", 48}, {"W", 48}, {"C", C}, {"heads", nh}, {"ws", 8}, {"shift", 4}};
    cases.push_back({"window_attention_fwd/swinir.block", "window_attention_fwd", shape, p,
                     4 * Bw * nh * Nt * Nt * d, 4 * (Bw * Nt * 4 * C + R2 * nh), true});
    cases.push_back({"window_attention_bwd/swinir.block", "window_attention_bwd", shape + ", dqkv and dtable", p,
                     10 * Bw * nh * Nt * Nt * d, 4 * (Bw * Nt * 7 * C + 2 * R2 * nh), true});
  }
  // HAT x4's overlapping cross-attention (train_HAT_SRx4_from_scratch: 64 px LR patches, C 180,
  // 6 heads of d 30, window 16, overlap_ratio 0.5 so key windows of 24): 16 query windows of
  // 256 tokens an image, each against 576 keys. FLOPs: S = q k^T and P V, 4 B nW nh Nq Nkv d
  // forward; the backward recomputes S and computes dP, dV, dQ and dK, 10 B nW nh Nq Nkv d.
  // Bytes: qkv read and out written; qkv and dout read, dqkv written.
  {
    const double Bw = N * 16, Nq = 256, Nkv = 576, L = N * 4096, C = 180, nh = 6, d = 30, R2 = 39 * 39;
    const std::string shape = "n" + std::to_string(batch) + " 64x64 c180, " + std::to_string((int)Bw) +
                              " windows of 16x16 against 24x24, 6 heads of 30";
    const Params p = {{"N", N}, {"H", 64}, {"W", 64}, {"C", C}, {"heads", nh}, {"ws", 16}, {"wse", 24}};
    cases.push_back({"overlap_window_attention_fwd/hat.block", "overlap_window_attention_fwd", shape, p,
                     4 * Bw * nh * Nq * Nkv * d, 4 * (L * 4 * C + R2 * nh), true});
    cases.push_back({"overlap_window_attention_bwd/hat.block", "overlap_window_attention_bwd",
                     shape + ", dqkv and dtable", p, 10 * Bw * nh * Nq * Nkv * d, 4 * (L * 7 * C + 2 * R2 * nh), true});
  }
  // ECBSR's block folded into one 3x3 conv, once per block per training step, at the
  // largest released ECBSR (m16c64: 64 channels, conv1x1-conv3x3 128 wide). FLOPs: K is
  // O I 9 (2 M + 6) and its backward (dk0, dk1) 4 O I M 9; B is O 9 (M + 3) and its backward
  // about as much. Bytes: the branch tensors read, the output (or gradients) written.
  {
    const double O = 64, I = 64, M = 128, branch = O * I * 9 + O + M * I + M + O * M * 9 + O + 3 * (O * I + 4 * O + O * 9);
    const Params p = {{"O", O}, {"I", I}, {"M", M}};
    const std::string shape = "64 -> 64, conv1x1-conv3x3 128 wide";
    cases.push_back({"ecb_weight_fwd/ecbsr.m16c64", "ecb_weight_fwd", shape, p, O * I * 9 * (2 * M + 6),
                     4 * (branch + O * I * 9), true});
    cases.push_back({"ecb_weight_bwd/ecbsr.m16c64", "ecb_weight_bwd", shape + ", every weight-side gradient", p,
                     4 * O * I * M * 9, 4 * (2 * branch), true});
    mem("ecb_bias_fwd/ecbsr.m16c64", "ecb_bias_fwd", shape, p, 4 * (branch + O));
    mem("ecb_bias_bwd/ecbsr.m16c64", "ecb_bias_bwd", shape + ", every bias-side gradient", p, 4 * (2 * branch));
  }
  // SwinIR-M x4's blocks (48 px LR patches: L = 2304 tokens of C = 180). layer_norm: the
  // forward reads x, weight, bias and writes y, mean and rstd; the backward reads x, dy,
  // weight, mean, rstd and writes dx, dweight, dbias. transpose: PatchEmbed's (N, 180, 2304)
  // -> (N, 2304, 180) and its gradient back (PatchUnEmbed's direction); reads and writes n.
  {
    const double L = 48 * 48, C = 180, rows = N * L, n = rows * C;
    const std::string tokens = "n" + std::to_string(batch) + " 2304x180";
    const Params p = {{"N", N}, {"L", L}, {"C", C}};
    mem("layer_norm_fwd/swinir.block", "layer_norm_fwd", tokens + ", affine", p, 4 * (2 * n + 2 * rows + 2 * C));
    mem("layer_norm_bwd/swinir.block", "layer_norm_bwd", tokens + ", dx dw db", p, 4 * (3 * n + 2 * rows + 3 * C));
    mem("transpose_fwd/swinir.block", "transpose_fwd", "n" + std::to_string(batch) + " 180x2304 -> 2304x180", p,
        8 * n);
    mem("transpose_bwd/swinir.block", "transpose_bwd", "n" + std::to_string(batch) + " 2304x180 -> 180x2304", p,
        8 * n);
  }
  {  // VGGStyleDiscriminator's linear1 (512*4*4 -> 100, with bias): small GEMMs.
    const double In = 8192, Out = 100;
    const Params p = {{"N", N}, {"In", In}, {"Out", Out}};
    const std::string shape = "n" + std::to_string(batch) + " 8192 -> 100";
    cases.push_back({"linear_fwd/vggd.linear1", "linear_fwd", shape, p, 2 * N * In * Out,
                     4 * (N * In + Out * In + N * Out), true});
    cases.push_back({"linear_bwd/vggd.linear1", "linear_bwd", shape + ", dx dw db", p, 4 * N * In * Out,
                     4 * (N * Out + 2 * Out * In + 2 * N * In), true});
  }
  // Deterministic channel sums (kernels/cuda/reduce.h), which every CUDA bias gradient
  // runs: the dense block's conv1 and UNet's conv0 dy. The CPU has no separate kernel (each
  // op sums in its own loops), so these cases have CUDA rows only.
  for (const Plane& cs : {Plane{"rrdb.rdb_conv1", 32, 32}, Plane{"unet.conv0", 64, 128}}) {
    const double n = N * cs.C * cs.H * cs.H;
    mem(std::string("channel_sum/") + cs.name, "channel_sum",
        "n" + std::to_string(batch) + " c" + std::to_string(cs.C) + " " + dims({cs.H, cs.H}) + " -> c" +
            std::to_string(cs.C),
        {{"N", N}, {"C", (double)cs.C}, {"H", (double)cs.H}, {"W", (double)cs.H}}, 4 * n);
  }
  {
    const double n = N * 3 * 128 * 128;
    const Params p = {{"N", N}, {"C", 3}, {"H", 128}, {"W", 128}};
    const std::string shape = "n" + std::to_string(batch) + " 3x128x128";
    mem("l1_loss_fwd/rrdb.out", "l1_loss_fwd", shape, p, 8 * n);
    mem("l1_loss_bwd/rrdb.out", "l1_loss_bwd", shape, p, 12 * n);
    const double m = N * 128 * 128;
    const Params q = {{"N", N}, {"C", 1}, {"H", 128}, {"W", 128}};
    mem("hinge_loss_fwd/unet.out", "hinge_loss_fwd", "n" + std::to_string(batch) + " 1x128x128", q, 4 * m);
    mem("hinge_loss_bwd/unet.out", "hinge_loss_bwd", "n" + std::to_string(batch) + " 1x128x128", q, 8 * m);
  }
  // Spectral norm: one power iteration and sigma per UNet weight (rows = out channels);
  // the backward: <g, W>, then dW = g / sigma - c u v^T (reads W, g; writes dW).
  std::vector<ConvLayer> sn_layers;
  for (const ConvLayer& l : kConvLayers)
    if (std::string(l.name).rfind("unet.", 0) == 0 && l.name != std::string("unet.conv0") &&
        l.name != std::string("unet.conv9"))
      sn_layers.push_back(l);
  for (const char* op : {"spectral_norm", "spectral_norm_bwd"})
    for (const ConvLayer& l : sn_layers) {
      const double rows = l.K, cols = (double)l.C * l.R * l.R;
      const bool fwd = op == std::string("spectral_norm");
      cases.push_back({std::string(op) + "/" + l.name, op, dims({l.K, l.C * l.R * l.R}),
                       {{"rows", rows}, {"cols", cols}}, (fwd ? 6 : 5) * rows * cols, 4 * 3 * rows * cols, false});
    }
  // The spectral-norm backward's <g, W> alone: reduce.h's deterministic dot.
  mem("dot/unet.conv3", "dot", "512x4096, <g, W>", {{"rows", 512}, {"cols", 4096}}, 8.0 * 512 * 4096);
  {
    double total = 0;
    for (int64_t s : rrdbnet_param_sizes()) total += (double)s;
    const Params p = {{"params", total}, {"tensors", (double)rrdbnet_param_sizes().size()}};
    const std::string shape = std::to_string(rrdbnet_param_sizes().size()) + " tensors, " +
                              std::to_string((int64_t)total) + " floats";
    // Adam reads p, g, m, v and writes p, m, v; EMA reads e, p and writes e.
    mem("adam/rrdbnet", "adam", shape, p, 28 * total);
    mem("ema/rrdbnet", "ema", shape, p, 12 * total);
    // fp16's unscale reads and writes g.
    mem("loss_unscale/rrdbnet", "loss_unscale", shape, p, 8 * total);
  }
  // Real-ESRGAN's degradation (kernels/cuda/degrade_*.h; CUDA only: the CPU reference is
  // data/degrade/, per sample) on the 400 x 400 GT crops it starts from: USM, the first blur
  // with full 21 x 21 kernels (the worst case: smaller kernels skip their zero padding),
  // the noise and JPEG in place, the final bicubic resize to the x4 LQ and a 1.5x bilinear upscale.
  {
    const int64_t S = 400;
    const double n = N * 3 * S * S;
    const std::string batch3 = "n" + std::to_string(batch) + " c3 ";
    cases.push_back({"degrade_blur/order1.k21", "degrade_blur", batch3 + dims({S, S}) + " k21 per sample",
                     {{"N", N}, {"C", 3}, {"H", (double)S}, {"W", (double)S}, {"k", 21}}, 2.0 * 441 * n, 8 * n, true});
    mem("degrade_noise/gaussian.400px", "degrade_noise", batch3 + dims({S, S}) + " gaussian, in place",
        {{"N", N}, {"H", (double)S}, {"W", (double)S}, {"poisson", 0}}, 8 * n);
    mem("degrade_noise/poisson.400px", "degrade_noise", batch3 + dims({S, S}) + " poisson (levels + noise), in place",
        {{"N", N}, {"H", (double)S}, {"W", (double)S}, {"poisson", 1}}, 12 * n);
    mem("degrade_jpeg/q30-95.400px", "degrade_jpeg", batch3 + dims({S, S}) + " per-sample quality, in place",
        {{"N", N}, {"H", (double)S}, {"W", (double)S}}, 8 * n);
    // USM: four passes through double scratch planes; bytes per element: x read three
    // times (12), y written (4), 8 double reads and writes of the scratch (64).
    mem("degrade_usm_sharp/gt400.r51", "degrade_usm_sharp", batch3 + dims({S, S}) + " radius 51, weight 0.5",
        {{"N", N}, {"H", (double)S}, {"W", (double)S}}, 80 * n);
    mem("degrade_resize/bicubic.400to100", "degrade_resize", batch3 + dims({S, S}) + " -> 100x100 bicubic",
        {{"N", N}, {"C", 3}, {"H", (double)S}, {"W", (double)S}, {"OH", 100}, {"OW", 100}, {"mode", 2}},
        4 * n + 4 * n / 16);
    mem("degrade_resize/bilinear.400to600", "degrade_resize", batch3 + dims({S, S}) + " -> 600x600 bilinear",
        {{"N", N}, {"C", 3}, {"H", (double)S}, {"W", (double)S}, {"OH", 600}, {"OW", 600}, {"mode", 1}},
        4 * n + 4 * n * 2.25);
    mem("degrade_clamp/round.400px", "degrade_clamp", batch3 + dims({S, S}) + " round to k/255, in place",
        {{"N", N}, {"H", (double)S}, {"W", (double)S}}, 8 * n);
  }
  // The whole device degradation of a Real-ESRGAN training batch (datasets.train.degrade_on:
  // device) at the training run's size: batch 48 (the x4plus config's 12 per GPU x 4, or one
  // big GPU), GT patch 256 cut from the 400 x 400 crops the pipeline degrades. One fixed draw
  // with the costliest branches: USM, 21 x 21 kernels in both blurs and the sinc, first
  // resize up 1.5 x (600 x 600), Poisson noise in both orders, second resize up (120 x 120),
  // then the patch cut. FLOPs (67 G FP32 in the blurs, 17 G FP64, ~10 G of noise) and bytes
  // (4.4 GB): the per-step estimate of docs/DEGRADATIONS.md (the device pipeline).
  {
    const double B48 = 48;
    cases.push_back({"degrade_pipeline/b48.gt256", "degrade_pipeline",
                     "n48 c3 400x400 -> lq 64x64, gt 256x256 (worst-case draw)",
                     {{"N", B48}, {"S", 400}, {"gt_size", 256}}, 9.4e10, 4.4e9, true});
  }
  // Dense blocks, fused vs unfused (bench_rdb.h); bytes = the cat copies the fused one avoids.
  for (const RdbBenchCase& r : rdb_bench_cases(batch)) cases.push_back({r.name, r.op, r.shape, r.p, r.flops, r.bytes, true});
  return cases;
}

// The registry's default variant name of a family on a device ("" when it has none).
std::string default_variant(const std::string& kernel, const char* device) {
  for (const kernels::Variant& v : kernels::variants_of(kernel, device))
    if (v.is_default) return v.name;
  return "";
}

// Every row of op on every device in this build (the bench filters by --device).
std::vector<Impl> impls_of(const std::string& op) {
  const std::string kernel = kernel_of(op);
  if (kernel == "conv2d") return conv_impls(op);
  if (kernel == "rdb") {
    std::vector<Impl> out;
    for (const RdbBenchVariant& v : rdb_bench_variants())
      out.push_back({v.device, v.variant, v.is_default, [v](const Case& c, Buffers&, int rot) -> Runner {
                       return make_rdb_bench_runner(rdb_bench_cases((int)c.p.at("N"))[c.op == "rdb_fwd_bwd" ? 0 : 1], v, rot);
                     }});
    return out;
  }
  std::vector<Impl> out = kernel == "upsample_nearest2x_conv2d" ? upsample_nearest2x_conv2d_cpu_impls(op) : cpu_impls(op);
#ifdef SRENGINE_WITH_CUDA
  // One row per CUDA variant of the family that has a twin (bench_cuda_ops.cpp).
  for (const kernels::Variant& v : kernels::variants_of(kernel, "cuda"))
    if (Maker m = kernel_bench::cuda_op_maker(op, v.name)) out.push_back({"cuda", v.name, v.is_default, m});
#endif
  return out;
}

std::vector<Impl> cpu_impls(const std::string& op) {
  const std::string kernel = kernel_of(op);
  if (default_variant(kernel, "cpu").empty()) return {};  // e.g. reduce: CUDA only
  // Named by the registry, except linear, whose float32 GEMM is the packed SIMD SGEMM where
  // the build has one (the registry's "eigen" row is the reference, --variants all).
  auto cpu = [&](Maker make) {
    return std::vector<Impl>{{"cpu", default_variant(kernel, "cpu"), true, std::move(make)}};
  };
  using kernel_bench::param;
  if (op == "pixel_shuffle" || op == "pixel_unshuffle")
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      const int64_t N = param(c, "N"), C = param(c, "C"), H = param(c, "H"), W = param(c, "W");
      const int r = (int)param(c, "r");
      const int64_t n = N * C * H * W * r * r;
      auto x = b.rand_sets(rot, n);
      auto y = b.rand_sets(rot, n);
      if (op == "pixel_shuffle") return [=](int i) { cpu::pixel_shuffle(x[i % rot], y[i % rot], N, C, H, W, r); };
      return [=](int i) { cpu::pixel_unshuffle(x[i % rot], y[i % rot], N, C, H, W, r); };
    });
  if (op.rfind("upsample_", 0) == 0)
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      const int64_t NC = param(c, "N") * param(c, "C"), H = param(c, "H"), W = param(c, "W");
      const int r = (int)param(c, "r");
      auto small = b.rand_sets(rot, NC * H * W);
      auto big = b.rand_sets(rot, NC * H * W * r * r);
      if (op == "upsample_nearest_fwd")
        return [=](int i) { cpu::upsample_nearest_forward(small[i % rot], big[i % rot], NC, H, W, r); };
      if (op == "upsample_nearest_bwd")
        return [=](int i) { cpu::upsample_nearest_backward(big[i % rot], small[i % rot], NC, H, W, r); };
      if (op == "upsample_bilinear_fwd")
        return [=](int i) { cpu::upsample_bilinear_forward(small[i % rot], big[i % rot], NC, H, W, r); };
      return [=](int i) { cpu::upsample_bilinear_backward(big[i % rot], small[i % rot], NC, H, W, r); };
    });
  if (op == "bias_lrelu_fwd" || op == "bias_lrelu_bwd")
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      const int64_t N = param(c, "N"), C = param(c, "C"), HW = param(c, "H") * param(c, "W");
      auto x = b.rand_sets(rot, N * C * HW);
      auto y = b.rand_sets(rot, N * C * HW);
      float* bias = b.rand(C);
      if (op == "bias_lrelu_fwd")
        return [=](int i) { cpu::bias_leaky_relu_forward(x[i % rot], bias, y[i % rot], N, C, HW, 0.2f, 1.0f); };
      auto dx = b.rand_sets(rot, N * C * HW);
      float* db = b.zeros(C);
      return [=](int i) {
        cpu::bias_leaky_relu_backward(y[i % rot], x[i % rot], dx[i % rot], db, N, C, HW, 0.2f, 1.0f);
      };
    });
  if (kernel == "elementwise" || op == "lrelu_fwd" || op == "lrelu_bwd")
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      const int64_t n = param(c, "N") * param(c, "C") * param(c, "H") * param(c, "W");
      // x and z are inputs, y the output (the input too for axpy_inplace and the backward
      // maps that read the forward's output).
      auto x = b.rand_sets(rot, n), z = b.rand_sets(rot, n), y = b.rand_sets(rot, n);
      if (op == "residual_axpby") return [=](int i) { cpu::axpby(1.0f, x[i % rot], 0.2f, z[i % rot], y[i % rot], n); };
      if (op == "add") return [=](int i) { cpu::add(x[i % rot], z[i % rot], y[i % rot], n); };
      if (op == "sub") return [=](int i) { cpu::sub(x[i % rot], z[i % rot], y[i % rot], n); };
      if (op == "mul") return [=](int i) { cpu::mul(x[i % rot], z[i % rot], y[i % rot], n); };
      if (op == "scale") return [=](int i) { cpu::scale(x[i % rot], 0.2f, y[i % rot], n); };
      if (op == "axpy_inplace") return [=](int i) { cpu::axpy_inplace(y[i % rot], 0.2f, x[i % rot], n); };
      if (op == "abs_fwd") return [=](int i) { cpu::abs_forward(x[i % rot], y[i % rot], n); };
      if (op == "abs_bwd") return [=](int i) { cpu::abs_backward(x[i % rot], z[i % rot], y[i % rot], n); };
      if (op == "relu_fwd") return [=](int i) { cpu::relu_forward(x[i % rot], y[i % rot], n); };
      if (op == "relu_bwd") return [=](int i) { cpu::relu_backward(x[i % rot], z[i % rot], y[i % rot], n); };
      if (op == "sigmoid_fwd") return [=](int i) { cpu::sigmoid_forward(x[i % rot], y[i % rot], n); };
      if (op == "sigmoid_bwd") return [=](int i) { cpu::sigmoid_backward(x[i % rot], z[i % rot], y[i % rot], n); };
      if (op == "gelu_fwd") return [=](int i) { cpu::gelu_forward(x[i % rot], y[i % rot], n); };
      if (op == "gelu_bwd") return [=](int i) { cpu::gelu_backward(x[i % rot], z[i % rot], y[i % rot], n); };
      if (op == "square_root_fwd") return [=](int i) { cpu::square_root_forward(x[i % rot], y[i % rot], n); };
      if (op == "square_root_bwd")
        return [=](int i) { cpu::square_root_backward(x[i % rot], z[i % rot], y[i % rot], n); };
      if (op == "lrelu_fwd") return [=](int i) { cpu::leaky_relu_forward(x[i % rot], y[i % rot], n, 0.2f); };
      if (op == "lrelu_bwd")
        return [=](int i) { cpu::leaky_relu_backward(x[i % rot], z[i % rot], y[i % rot], n, 0.2f); };
      fail("bench kernels: no CPU map for op '", op, "'");
    });
  if (op == "prelu_fwd" || op == "prelu_bwd")
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      const int64_t N = param(c, "N"), C = param(c, "C"), HW = param(c, "H") * param(c, "W");
      auto x = b.rand_sets(rot, N * C * HW), y = b.rand_sets(rot, N * C * HW);
      const float* a = b.rand(C, 0.0, 0.5);
      if (op == "prelu_fwd") return [=](int i) { cpu::prelu_forward(x[i % rot], a, y[i % rot], N, C, HW, false); };
      auto dy = b.rand_sets(rot, N * C * HW);
      float* da = b.zeros(C);
      return [=](int i) { cpu::prelu_backward(x[i % rot], a, dy[i % rot], y[i % rot], da, N, C, HW, false); };
    });
  if (op == "batch_norm_fwd" || op == "batch_norm_bwd")
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      // As engine/ops_batch_norm.cpp in training: statistics, running update, apply.
      const int64_t N = param(c, "N"), C = param(c, "C"), HW = param(c, "H") * param(c, "W");
      auto x = b.rand_sets(rot, N * C * HW), y = b.rand_sets(rot, N * C * HW);
      const float* gamma = b.rand(C, 0.5, 1.5);
      const float* beta = b.rand(C);
      float* rm = b.zeros(C);
      float* rv = b.zeros(C);
      // Per input set: mean and invstd (the forward writes them, the backward reads them).
      auto stats = std::make_shared<std::vector<std::vector<double>>>(2 * rot, std::vector<double>(C));
      auto forward = [=](int i) {
        std::vector<double>& mean = (*stats)[2 * (i % rot)];
        std::vector<double>& invstd = (*stats)[2 * (i % rot) + 1];
        std::vector<double> var(C);
        cpu::batch_norm_stats(x[i % rot], N, C, HW, mean.data(), var.data());
        const double M = double(N * HW), momentum = 0.1;
        for (int64_t k = 0; k < C; ++k) {
          rm[k] = float((1 - momentum) * rm[k] + momentum * mean[k]);
          rv[k] = float((1 - momentum) * rv[k] + momentum * var[k] * M / (M - 1));
          invstd[k] = 1.0 / std::sqrt(var[k] + 1e-5);
        }
        cpu::batch_norm_apply(x[i % rot], mean.data(), invstd.data(), gamma, beta, y[i % rot], N, C, HW);
      };
      if (op == "batch_norm_fwd") return forward;
      for (int i = 0; i < rot; ++i) forward(i);
      auto dy = b.rand_sets(rot, N * C * HW);
      float* dgamma = b.zeros(C);
      float* dbeta = b.zeros(C);
      return [=](int i) {
        const std::vector<double>& mean = (*stats)[2 * (i % rot)];
        const std::vector<double>& invstd = (*stats)[2 * (i % rot) + 1];
        cpu::batch_norm_backward(x[i % rot], dy[i % rot], mean.data(), invstd.data(), gamma, y[i % rot], dgamma,
                                 dbeta, N, C, HW, true);
      };
    });
  if (op == "max_pool_fwd" || op == "max_pool_bwd")
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      const int64_t NC = param(c, "N") * param(c, "C"), H = param(c, "H"), W = param(c, "W");
      const int k = (int)param(c, "k"), s = (int)param(c, "s");
      const int64_t P = (H - k) / s + 1, Q = (W - k) / s + 1;
      auto x = b.rand_sets(rot, NC * H * W), y = b.rand_sets(rot, NC * P * Q);
      auto argmax = std::make_shared<std::vector<std::vector<int64_t>>>(rot, std::vector<int64_t>(NC * P * Q));
      auto forward = [=](int i) {
        cpu::max_pool2d_forward(x[i % rot], y[i % rot], (*argmax)[i % rot].data(), NC, H, W, k, s);
      };
      if (op == "max_pool_fwd") return forward;
      for (int i = 0; i < rot; ++i) forward(i);
      auto dx = b.rand_sets(rot, NC * H * W);
      return [=](int i) {
        cpu::max_pool2d_backward(y[i % rot], (*argmax)[i % rot].data(), dx[i % rot], NC, H, W, P, Q);
      };
    });
  if (op == "spatial_mean_fwd" || op == "spatial_mean_bwd" || op == "channel_scale_fwd" || op == "channel_scale_bwd")
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      const int64_t NC = param(c, "N") * param(c, "C"), HW = param(c, "H") * param(c, "W");
      auto x = b.rand_sets(rot, NC * HW), y = b.rand_sets(rot, NC * HW), dy = b.rand_sets(rot, NC * HW);
      auto s = b.rand_sets(rot, NC), ds = b.rand_sets(rot, NC);
      if (op == "spatial_mean_fwd") return [=](int i) { cpu::spatial_mean_forward(x[i % rot], s[i % rot], NC, HW); };
      if (op == "spatial_mean_bwd") return [=](int i) { cpu::spatial_mean_backward(s[i % rot], y[i % rot], NC, HW); };
      if (op == "channel_scale_fwd")
        return [=](int i) { cpu::channel_scale_forward(x[i % rot], s[i % rot], y[i % rot], NC, HW); };
      return [=](int i) {
        cpu::channel_scale_backward(x[i % rot], s[i % rot], dy[i % rot], y[i % rot], ds[i % rot], NC, HW);
      };
    });
  if (op == "window_partition_fwd" || op == "window_partition_bwd")
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      const int64_t N = param(c, "N"), H = param(c, "H"), W = param(c, "W"), C = param(c, "C");
      const int ws = (int)param(c, "ws"), shift = (int)param(c, "shift");
      auto x = b.rand_sets(rot, N * H * W * C), y = b.rand_sets(rot, N * H * W * C);
      if (op == "window_partition_fwd")
        return [=](int i) { cpu::window_partition_forward(x[i % rot], y[i % rot], N, H, W, C, ws, shift); };
      return [=](int i) { cpu::window_partition_backward(x[i % rot], y[i % rot], N, H, W, C, ws, shift); };
    });
  if (op == "pad_reflect_fwd" || op == "pad_reflect_bwd" || op == "crop_fwd" || op == "crop_bwd")
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      const int64_t NC = param(c, "N") * param(c, "C"), H = param(c, "H"), W = param(c, "W");
      if (op == "crop_fwd" || op == "crop_bwd") {
        const int64_t h = param(c, "height"), w = param(c, "width");
        auto big = b.rand_sets(rot, NC * H * W), small = b.rand_sets(rot, NC * h * w);
        if (op == "crop_fwd") return [=](int i) { cpu::crop_forward(big[i % rot], small[i % rot], NC, H, W, h, w); };
        return [=](int i) { cpu::crop_backward(small[i % rot], big[i % rot], NC, H, W, h, w); };
      }
      const int bottom = (int)param(c, "bottom"), right = (int)param(c, "right");
      auto small = b.rand_sets(rot, NC * H * W), big = b.rand_sets(rot, NC * (H + bottom) * (W + right));
      if (op == "pad_reflect_fwd")
        return [=](int i) { cpu::pad_reflect_forward(small[i % rot], big[i % rot], NC, H, W, bottom, right); };
      return [=](int i) { cpu::pad_reflect_backward(big[i % rot], small[i % rot], NC, H, W, bottom, right); };
    });
  if (op == "window_attention_fwd" || op == "window_attention_bwd")
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      const WindowAttentionShape s = window_attention_shape(c);
      const int64_t rows = s.windows * s.tokens(), C = s.channels(), nt = (int64_t)s.table_rows() * s.heads;
      auto qkv = b.rand_sets(rot, rows * 3 * C), out = b.rand_sets(rot, rows * C), table = b.rand_sets(rot, nt);
      if (op == "window_attention_fwd")
        return [=](int i) { cpu::window_attention_forward(qkv[i % rot], table[i % rot], out[i % rot], s); };
      auto dqkv = b.rand_sets(rot, rows * 3 * C), dtable = b.rand_sets(rot, nt);
      return [=](int i) {
        cpu::window_attention_backward(qkv[i % rot], table[i % rot], out[i % rot], dqkv[i % rot], dtable[i % rot], s);
      };
    });
  if (op == "overlap_window_attention_fwd" || op == "overlap_window_attention_bwd")
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      const OverlapWindowAttentionShape s = overlap_window_attention_shape(c);
      const int64_t rows = s.images * s.H * s.W, C = s.channels(), nt = (int64_t)s.table_rows() * s.heads;
      auto qkv = b.rand_sets(rot, rows * 3 * C), out = b.rand_sets(rot, rows * C), table = b.rand_sets(rot, nt);
      if (op == "overlap_window_attention_fwd")
        return [=](int i) { cpu::overlap_window_attention_forward(qkv[i % rot], table[i % rot], out[i % rot], s); };
      auto dqkv = b.rand_sets(rot, rows * 3 * C), dtable = b.rand_sets(rot, nt);
      return [=](int i) {
        cpu::overlap_window_attention_backward(qkv[i % rot], table[i % rot], out[i % rot], dqkv[i % rot],
                                               dtable[i % rot], s);
      };
    });
  if (op == "ecb_weight_fwd" || op == "ecb_weight_bwd" || op == "ecb_bias_fwd" || op == "ecb_bias_bwd")
    return cpu([op](const Case& c, Buffers& b, int) -> Runner {
      // One block's tensors (a few hundred KB: they stay in cache, as in training).
      const EcbShape s = ecb_shape(c);
      const EcbBranches<float> p = ecb_branches(b, s);
      float* K = b.zeros(s.out_channels * s.in_channels * 9);
      float* B = b.zeros(s.out_channels);
      if (op == "ecb_weight_fwd") return [=](int) { cpu::ecb_weight_forward(p, s, K); };
      if (op == "ecb_bias_fwd") return [=](int) { cpu::ecb_bias_forward(p, s, B); };
      const bool weight_side = op == "ecb_weight_bwd";
      const EcbGrads<float> g = ecb_grads(b, s, weight_side);
      if (weight_side) return [=](int) { cpu::ecb_weight_backward(p, s, K, g); };
      return [=](int) { cpu::ecb_bias_backward(p, s, B, g); };
    });
  if (op == "layer_norm_fwd" || op == "layer_norm_bwd")
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      const int64_t M = param(c, "N") * param(c, "L"), C = param(c, "C");
      auto x = b.rand_sets(rot, M * C), y = b.rand_sets(rot, M * C), dy = b.rand_sets(rot, M * C);
      auto mean = b.rand_sets(rot, M), rstd = b.rand_sets(rot, M);
      const float* w = b.rand(C, 0.5, 1.5);
      const float* bias = b.rand(C, -0.5, 0.5);
      float* dw = b.zeros(C);
      float* db = b.zeros(C);
      if (op == "layer_norm_fwd")
        return [=](int i) { cpu::layer_norm_forward(x[i % rot], w, bias, y[i % rot], mean[i % rot], rstd[i % rot], M, C, 1e-5); };
      return [=](int i) {
        cpu::layer_norm_backward(x[i % rot], w, mean[i % rot], rstd[i % rot], dy[i % rot], y[i % rot], dw, db, M, C);
      };
    });
  if (op == "transpose_fwd" || op == "transpose_bwd")
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      // transpose_fwd: (N, C, L) -> (N, L, C); transpose_bwd: its gradient (N, L, C) -> (N, C, L).
      const int64_t N = param(c, "N"), L = param(c, "L"), C = param(c, "C");
      auto x = b.rand_sets(rot, N * L * C), y = b.rand_sets(rot, N * L * C);
      if (op == "transpose_fwd") return [=](int i) { cpu::transpose_forward(x[i % rot], y[i % rot], N, C, L); };
      return [=](int i) { cpu::transpose_backward(x[i % rot], y[i % rot], N, C, L); };
    });
  if (op == "linear_fwd" || op == "linear_bwd") {
    // As engine/ops_conv.cpp's linear: GEMMs, then the bias (forward) or its gradient.
    using Gemm = void (*)(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t,
                          float*, int64_t, bool);
    auto make = [op](Gemm gemm) -> Maker {
      return [op, gemm](const Case& c, Buffers& b, int rot) -> Runner {
        const int64_t N = param(c, "N"), In = param(c, "In"), Out = param(c, "Out");
        auto x = b.rand_sets(rot, N * In), y = b.rand_sets(rot, N * Out);
        const float* w = b.rand(Out * In, -0.05, 0.05);
        float* bias = b.rand(Out);
        if (op == "linear_fwd")
          return [=](int i) {
            float* yi = y[i % rot];
            gemm(false, true, N, Out, In, x[i % rot], In, w, In, yi, Out, false);
            for (int64_t n = 0; n < N; ++n)
              for (int64_t o = 0; o < Out; ++o) yi[n * Out + o] += bias[o];
          };
        auto dx = b.rand_sets(rot, N * In);
        float* dw = b.zeros(Out * In);
        float* db = b.zeros(Out);
        return [=](int i) {
          const float* g = y[i % rot];
          gemm(false, false, N, In, Out, g, Out, w, In, dx[i % rot], In, false);
          gemm(true, false, Out, In, N, g, Out, x[i % rot], In, dw, In, false);
          for (int64_t n = 0; n < N; ++n)
            for (int64_t o = 0; o < Out; ++o) db[o] += g[n * Out + o];
        };
      };
    };
    std::vector<Impl> v{{"cpu", SR_CPU_SIMD ? std::string("sgemm_") + cpu::simd_isa() : "eigen", true,
                         make(&cpu::gemm<float>)}};
    if (SR_CPU_SIMD) v.push_back({"cpu", "eigen", false, make(&cpu::gemm_eigen<float>)});
    return v;
  }
  if (op.rfind("l1_loss", 0) == 0 || op.rfind("hinge_loss", 0) == 0)
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      const int64_t n = param(c, "N") * param(c, "C") * param(c, "H") * param(c, "W");
      const bool l1 = op.rfind("l1_loss", 0) == 0;
      const math::PointLoss kind = l1 ? math::PointLoss::abs_diff : math::PointLoss::hinge_real;
      auto x = b.rand_sets(rot, n, -2.0, 2.0);
      std::vector<float*> t = l1 ? b.rand_sets(rot, n) : std::vector<float*>(rot, nullptr);
      if (op.find("_fwd") != std::string::npos)
        return [=](int i) {
          volatile double s = cpu::loss_sum(kind, x[i % rot], t[i % rot], n, 0.0);
          (void)s;
        };
      auto dx = b.rand_sets(rot, n);
      return [=](int i) { cpu::loss_backward<float>(kind, x[i % rot], t[i % rot], dx[i % rot], nullptr, n, 0.0, 1.0 / n); };
    });
  if (op == "spectral_norm" || op == "spectral_norm_bwd")
    return cpu([op](const Case& c, Buffers& b, int rot) -> Runner {
      const int64_t rows = param(c, "rows"), cols = param(c, "cols");
      auto W = b.rand_sets(rot, rows * cols, -0.1, 0.1);
      float* u = b.rand(rows);
      float* v = b.rand(cols);
      if (op == "spectral_norm")
        return [=](int i) {
          cpu::spectral_norm_power_iteration(W[i % rot], u, v, rows, cols, 1, 1e-12);
          volatile double s = cpu::spectral_norm_sigma(W[i % rot], u, v, rows, cols);
          (void)s;
        };
      auto g = b.rand_sets(rot, rows * cols), dW = b.rand_sets(rot, rows * cols);
      return [=](int i) { cpu::spectral_norm_backward(W[i % rot], g[i % rot], u, v, 1.5, dW[i % rot], rows, cols); };
    });
  if (op == "adam" || op == "ema" || op == "loss_unscale")
    return cpu([op](const Case&, Buffers& b, int) -> Runner {
      // One copy of the state: 16.7M floats x 4 tensors is already far beyond the caches.
      const std::vector<int64_t> sizes = rrdbnet_param_sizes();
      std::vector<float*> p, g, m, v;
      for (int64_t s : sizes) {
        p.push_back(b.rand(s, -0.1, 0.1));
        g.push_back(b.rand(s, -0.01, 0.01));
        m.push_back(b.zeros(s));
        v.push_back(b.zeros(s));
      }
      const int count = (int)sizes.size();
      if (op == "ema")
        return [=](int) {
          cpu::ema_update(0.999, m.data(), p.data(), sizes.data(), count);
        };
      if (op == "loss_unscale") {
        float* found = b.zeros(1);
        return [=](int) {
          cpu::loss_unscale(LossScaleState{65536.0, 1.0 / 65536, 0, 0}, g.data(), sizes.data(), count, found);
        };
      }
      AdamConfig cfg;
      cfg.lr = 1e-4;
      return [=](int i) {
        const AdamStep st = adam_step_scalars(cfg, i + 1);
        cpu::adam_update(st, p.data(), g.data(), m.data(), v.data(), sizes.data(), count);
      };
    });
  fail("bench kernels: op '", op, "' has no CPU row");
}

// ---- ceilings ---------------------------------------------------------------------------------

struct Ceilings {
  double gemm_gflops = 0, copy_gbs = 0, fma_peak_gflops = 0;
  std::string gemm_shape, copy_shape;
};

// The FMA throughput of all threads with nothing but register operands: the machine's
// float32 peak that the kernels' GFLOP/s can be read against (the GEMM ceiling is what a
// real product reaches). 0 without a SIMD build.
double fma_peak_gflops() {
#if SR_CPU_SIMD
  constexpr int kAcc = cpu::simd::kRegisters == 32 ? 24 : 12;  // enough independent chains
  const int64_t iters = 4000000;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    float sink = 0;
#pragma omp parallel reduction(+ : sink)
    {
      cpu::simd::Vec acc[kAcc];
      for (int i = 0; i < kAcc; ++i) acc[i] = cpu::simd::set1(1e-3f * (float)(i + omp_get_thread_num()));
      const cpu::simd::Vec a = cpu::simd::set1(0.999f), b = cpu::simd::set1(1e-4f);
      for (int64_t it = 0; it < iters; ++it)
#pragma GCC unroll 32
        for (int i = 0; i < kAcc; ++i) acc[i] = cpu::simd::fmadd(acc[i], a, b);
      float lanes[16];
      for (int i = 0; i < kAcc; ++i) {
        cpu::simd::storeu(lanes, acc[i]);
        sink += lanes[0];
      }
    }
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    volatile float keep = sink;
    (void)keep;
    best = std::max(best, 2.0 * cpu::simd::kLanes * kAcc * iters * omp_get_max_threads() / sec / 1e9);
  }
  return best;
#else
  return 0.0;
#endif
}

Ceilings measure_ceilings(const Device& dev, int repeat) {
  Ceilings c;
  Buffers b(dev);
  const int64_t n = dev.is_cuda() ? 8192 : 1536;
  const float* A = b.rand(n * n);
  const float* B = b.rand(n * n);
  float* C = b.zeros(n * n);
  Runner gemm = [=](int) { cpu::gemm<float>(false, false, n, n, n, A, n, B, n, C, n, false); };
#ifdef SRENGINE_WITH_CUDA
  if (dev.is_cuda()) {
    const kernels::GemmVariant v = kernels::KernelChoice{}.gemm;  // the default, or SRENGINE_GEMM_IMPL's
    gemm = [=](int) { cuda::gemm_with(v, false, false, n, n, n, A, n, B, n, C, n, false); };
  }
#endif
  const Timing tg = time_runs(gemm, dev, 1, std::max(3, repeat / 2));
  c.gemm_gflops = 2.0 * n * n * n / (tg.median_ms * 1e6);
  c.gemm_shape = "sgemm " + dims({n, n, n});
  const int64_t m = 64ll << 20;  // 64M floats = 256 MB each way
  const float* src = b.rand(m);
  float* dst = b.zeros(m);
  Runner copy = [=](int) {
#pragma omp parallel
    {
      const int nt = omp_get_num_threads(), t = omp_get_thread_num();
      const int64_t lo = m * t / nt, hi = m * (t + 1) / nt;
      std::memcpy(dst + lo, src + lo, (hi - lo) * sizeof(float));
    }
  };
#ifdef SRENGINE_WITH_CUDA
  if (dev.is_cuda())
    copy = [=](int) { cuda::memcpy(dst, src, m * sizeof(float), cuda::CopyKind::device_to_device); };
#endif
  const Timing tc = time_runs(copy, dev, 1, std::max(3, repeat / 2));
  c.copy_gbs = 2.0 * m * sizeof(float) / (tc.median_ms * 1e6);
  c.copy_shape = "copy 256 MB";
  if (!dev.is_cuda()) c.fma_peak_gflops = fma_peak_gflops();
  return c;
}

std::string iso_date() {
  const std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", std::localtime(&t));
  return buf;
}

json case_json(const Case& c) {
  json p = json::object();
  for (const auto& [k, v] : c.p) p[k] = v;
  return {{"name", c.name}, {"op", c.op}, {"kernel", kernel_of(c.op)}, {"shape", c.shape}, {"params", p},
          {"flops", c.flops}, {"bytes", c.bytes}, {"bound", c.compute_bound ? "compute" : "memory"}};
}

}  // namespace

int run_bench_kernels(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&](const char* name) -> std::string {
      SR_CHECK(i + 1 < args.size(), name, " needs a value");
      return args[++i];
    };
    const std::string& a = args[i];
    if (a == "--device") o.device = value("--device");
    else if (a == "--filter") o.filter = value("--filter");
    else if (a == "--json") o.json_path = value("--json");
    else if (a == "--list-json") o.list_json_path = value("--list-json");
    else if (a == "--repeat") o.repeat = parse_int_arg("bench kernels", a, value("--repeat"), 1, 1000000);
    else if (a == "--warmup") o.warmup = parse_int_arg("bench kernels", a, value("--warmup"), 0, 1000000);
    else if (a == "--rotations") o.rotations = parse_int_arg("bench kernels", a, value("--rotations"), 1, 1000000);
    else if (a == "--batch") o.batch = parse_int_arg("bench kernels", a, value("--batch"), 1, 1000000);
    else if (a == "--threads") o.threads = parse_int_arg("bench kernels", a, value("--threads"), 1, kMaxThreads);
    else if (a == "--no-ceilings") o.no_ceilings = true;
    else if (a == "--ceilings-only") o.ceilings_only = true;
    else if (a == "--variants") {
      const std::string v = value("--variants");
      SR_CHECK(!v.empty(), "--variants must be 'default', 'all' or a variant name, got ''");
      o.all_variants = v == "all";
      if (v != "all" && v != "default") o.only_variant = v;
    } else if (a == "--help" || a == "-h") {
      print_usage();
      return 0;
    } else {
      fail("unknown argument '", a, "' (see srengine bench kernels --help)");
    }
  }
  const Device dev = bench_device(o);
#ifdef SRENGINE_WITH_CUDA
  SR_CHECK(!dev.is_cuda() || cuda::available(), "--device cuda: no CUDA device is available");
#else
  SR_CHECK(!dev.is_cuda(), "--device cuda: srengine was built without CUDA");
#endif
  if (o.batch < 0) o.batch = dev.is_cuda() ? 16 : 4;
  if (o.repeat < 0) o.repeat = dev.is_cuda() ? 50 : 10;
  if (!o.json_path.empty()) check_output_file(o.json_path, {}, "bench kernels: --json");
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const int threads = omp_get_max_threads();

  std::regex re;
  try {
    re = std::regex(o.filter.empty() ? ".*" : o.filter);
  } catch (const std::regex_error& e) {
    fail("--filter: invalid regular expression '", o.filter, "': ", e.what());
  }
  std::vector<Case> cases;
  for (Case& c : all_cases(o.batch))
    if (std::regex_search(c.name, re)) cases.push_back(std::move(c));
  SR_CHECK(!cases.empty() || o.ceilings_only, "--filter '", o.filter, "' matches no case");

  if (!o.list_json_path.empty()) {
    json j = {{"batch", o.batch}, {"cases", json::array()}};
    for (const Case& c : cases) {
      json row = case_json(c);
      row["impls"] = json::array();  // every device's rows in this build, whatever --device says
      for (const Impl& impl : impls_of(c.op))
        row["impls"].push_back({{"device", impl.device}, {"variant", impl.variant}, {"default", impl.is_default}});
      j["cases"].push_back(row);
    }
    write_output_file(o.list_json_path, j.dump(1) + "\n", {}, "bench kernels: --list-json");
    std::printf("bench: %zu cases written to %s\n", cases.size(), o.list_json_path.c_str());
    return 0;
  }

  const std::string isa = cpu::simd_isa();
  std::printf("srengine bench kernels: device %s, %d threads, %s, batch %d, median of %d runs after %d warm-up, "
              "%d input rotations\n",
              o.device.c_str(), threads, isa.c_str(), o.batch, o.repeat, o.warmup, o.rotations);
  Ceilings ceil;
  if (!o.no_ceilings) {
    ceil = measure_ceilings(dev, o.repeat);
    std::printf("ceilings: %s %.1f GFLOP/s, %s %.1f GB/s (FMA peak %.1f GFLOP/s)\n", ceil.gemm_shape.c_str(),
                ceil.gemm_gflops, ceil.copy_shape.c_str(), ceil.copy_gbs, ceil.fma_peak_gflops);
  }
  if (o.ceilings_only) cases.clear();
  if (!cases.empty())
    std::printf("\n%-34s %-17s %-28s %10s %9s %8s %6s\n", "case", "variant", "shape", "median ms",
                "GFLOP/s", "GB/s", "%ceil");

  json results = json::array();
  for (const Case& c : cases) {
    const std::vector<Impl> impls = impls_of(c.op);
    const char* device = dev.is_cuda() ? "cuda" : "cpu";
    if (std::none_of(impls.begin(), impls.end(), [&](const Impl& i) { return i.device == device; }))
      std::printf("%-34s %-17s (no %s kernel: the %s family has no %s variant)\n", c.name.c_str(), "-", device,
                  kernel_of(c.op).c_str(), device);
    for (const Impl& impl : impls) {
      if (impl.device != device) continue;
      if (!o.only_variant.empty() ? impl.variant != o.only_variant : !impl.is_default && !o.all_variants) continue;
      Buffers bufs(dev);
      const Runner run = impl.make(c, bufs, o.rotations);
      if (!run) continue;
      const Timing t = time_runs(run, dev, o.warmup, o.repeat);
      const double gflops = c.flops / (t.median_ms * 1e6), gbs = c.bytes / (t.median_ms * 1e6);
      const double pct =
          o.no_ceilings ? 0.0 : 100.0 * (c.compute_bound ? gflops / ceil.gemm_gflops : gbs / ceil.copy_gbs);
      char rate[64], pct_s[16] = "-";
      if (c.compute_bound)
        std::snprintf(rate, sizeof rate, "%9.1f %8s", gflops, "-");
      else
        std::snprintf(rate, sizeof rate, "%9s %8.1f", "-", gbs);
      if (!o.no_ceilings) std::snprintf(pct_s, sizeof pct_s, "%.0f%%", pct);
      std::printf("%-34s %-17s %-28s %10.3f %s %6s\n", c.name.c_str(), impl.variant.c_str(), c.shape.c_str(),
                  t.median_ms, rate, pct_s);
      std::fflush(stdout);
      json r = case_json(c);
      r["variant"] = impl.variant;
      r["device"] = impl.device;
      r["default"] = impl.is_default;
      r["median_ms"] = t.median_ms;
      r["min_ms"] = t.min_ms;
      r["runs"] = t.runs;
      r["gflops"] = gflops;
      r["gbs"] = gbs;
      if (!o.no_ceilings) r["pct_ceiling"] = pct;
      results.push_back(r);
    }
  }
  SR_CHECK(o.only_variant.empty() || !results.empty(), "--variants ", o.only_variant, ": no ", o.device,
           " row of that variant in the cases selected");
  if (!o.json_path.empty()) {
    json j = {{"tool", "srengine"},
              {"version", SRENGINE_VERSION},
              {"device", o.device},
              {"threads", threads},
              {"isa", isa},
              {"batch", o.batch},
              {"repeat", o.repeat},
              {"warmup", o.warmup},
              {"date", iso_date()},
              {"results", results}};
    if (!o.no_ceilings)
      j["ceilings"] = {{"gemm_gflops", ceil.gemm_gflops}, {"gemm", ceil.gemm_shape},
                       {"copy_gbs", ceil.copy_gbs}, {"copy", ceil.copy_shape},
                       {"fma_peak_gflops", ceil.fma_peak_gflops}};
    write_output_file(o.json_path, j.dump(1) + "\n", {}, "bench kernels: --json");
  }
  return 0;
}

}  // namespace sr::cli
