// The CUDA twins of `srengine bench kernels`' CPU rows (see bench_cuda_ops.h): each maker
// allocates the case's buffers on the bench device (Buffers) and its runner calls the
// kernel's host entry point in kernels/cuda/*.h, the call the engine's op makes, with the
// CPU row's shapes and arguments. Kept apart from cmd_bench_kernels.cpp so that file stays the
// readable driver; the whole file is empty in CPU-only builds.
#include "tools/cli/bench_cuda_ops.h"

#ifdef SRENGINE_WITH_CUDA

#include <cmath>
#include <cstdlib>
#include <memory>
#include <vector>

#include "data/degrade/batch_device.h"
#include "engine/cuda_runtime.h"
#include "engine/tensor.h"
#include "kernels/common/math.h"
#include "kernels/cuda/activation.h"
#include "kernels/cuda/batch_norm.h"
#include "kernels/cuda/channel_attention.h"
#include "kernels/cuda/degrade_blur.h"
#include "kernels/cuda/degrade_clamp.h"
#include "kernels/cuda/degrade_jpeg.h"
#include "kernels/cuda/degrade_noise.h"
#include "kernels/cuda/degrade_resize.h"
#include "kernels/cuda/degrade_usm_sharp.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/layer_norm.h"
#include "kernels/cuda/loss.h"
#include "kernels/cuda/optimizer.h"
#include "kernels/cuda/overlap_window_attention.h"
#include "kernels/cuda/pool.h"
#include "kernels/cuda/prelu.h"
#include "kernels/cuda/ecb_reparameterize.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/resample.h"
#include "kernels/cuda/spectral_norm.h"
#include "kernels/cuda/transpose_tokens.h"
#include "kernels/cuda/upsample_nearest2x_conv2d.h"
#include "kernels/cuda/pad_reflect.h"
#include "kernels/cuda/window_partition.h"
#include "kernels/cuda/window_attention.h"
#include "kernels/registry.h"

namespace sr::cli::kernel_bench {

namespace {

// A twin is written for one registry variant: `m` when the registry names that variant,
// nothing otherwise (a new CUDA variant needs its own twin, or it shows up as missing).
Maker only_for(const std::string& variant, const char* written_for, Maker m) {
  return variant == written_for ? std::move(m) : Maker{};
}

// ---- resample: "gather" ------------------------------------------------------------------------

Maker resample(const std::string& op) {
  if (op == "pixel_shuffle" || op == "pixel_unshuffle")
    return [op](const Case& c, Buffers& b, int rot) -> Runner {
      const int64_t N = param(c, "N"), C = param(c, "C"), H = param(c, "H"), W = param(c, "W");
      const int r = (int)param(c, "r");
      const int64_t n = N * C * H * W * r * r;
      auto x = b.rand_sets(rot, n);
      auto y = b.rand_sets(rot, n);
      if (op == "pixel_shuffle") return [=](int i) { cuda::pixel_shuffle(x[i % rot], y[i % rot], N, C, H, W, r); };
      return [=](int i) { cuda::pixel_unshuffle(x[i % rot], y[i % rot], N, C, H, W, r); };
    };
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const int64_t NC = param(c, "N") * param(c, "C"), H = param(c, "H"), W = param(c, "W");
    const int r = (int)param(c, "r");
    auto small = b.rand_sets(rot, NC * H * W);
    auto big = b.rand_sets(rot, NC * H * W * r * r);
    if (op == "upsample_nearest_fwd")
      return [=](int i) { cuda::upsample_nearest_forward(small[i % rot], big[i % rot], NC, H, W, r); };
    if (op == "upsample_nearest_bwd")
      return [=](int i) { cuda::upsample_nearest_backward(big[i % rot], small[i % rot], NC, H, W, r); };
    if (op == "upsample_bilinear_fwd")
      return [=](int i) { cuda::upsample_bilinear_forward(small[i % rot], big[i % rot], NC, H, W, r); };
    return [=](int i) { cuda::upsample_bilinear_backward(big[i % rot], small[i % rot], NC, H, W, r); };
  };
}

// ---- activation and elementwise: "map" ---------------------------------------------------------

Maker bias_leaky_relu(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const int64_t N = param(c, "N"), C = param(c, "C"), HW = param(c, "H") * param(c, "W");
    auto x = b.rand_sets(rot, N * C * HW);
    auto y = b.rand_sets(rot, N * C * HW);
    float* bias = b.rand(C);
    if (op == "bias_lrelu_fwd")
      return [=](int i) { cuda::bias_leaky_relu_forward(x[i % rot], bias, y[i % rot], N, C, HW, 0.2f, 1.0f); };
    auto dx = b.rand_sets(rot, N * C * HW);
    float* db = b.zeros(C);
    return [=](int i) {
      cuda::bias_leaky_relu_backward(y[i % rot], x[i % rot], dx[i % rot], db, N, C, HW, 0.2f, 1.0f);
    };
  };
}

// The one-element maps: x and z are inputs, y the output (the input too for axpy_inplace
// and the backward maps that read the forward's output), as the CPU rows.
Maker pointwise(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const int64_t n = param(c, "N") * param(c, "C") * param(c, "H") * param(c, "W");
    auto x = b.rand_sets(rot, n), z = b.rand_sets(rot, n), y = b.rand_sets(rot, n);
    if (op == "residual_axpby") return [=](int i) { cuda::axpby(1.0f, x[i % rot], 0.2f, z[i % rot], y[i % rot], n); };
    if (op == "add") return [=](int i) { cuda::add(x[i % rot], z[i % rot], y[i % rot], n); };
    if (op == "sub") return [=](int i) { cuda::sub(x[i % rot], z[i % rot], y[i % rot], n); };
    if (op == "mul") return [=](int i) { cuda::mul(x[i % rot], z[i % rot], y[i % rot], n); };
    if (op == "scale") return [=](int i) { cuda::scale(x[i % rot], 0.2f, y[i % rot], n); };
    if (op == "axpy_inplace") return [=](int i) { cuda::axpy_inplace(y[i % rot], 0.2f, x[i % rot], n); };
    if (op == "abs_fwd") return [=](int i) { cuda::abs_forward(x[i % rot], y[i % rot], n); };
    if (op == "abs_bwd") return [=](int i) { cuda::abs_backward(x[i % rot], z[i % rot], y[i % rot], n); };
    if (op == "relu_fwd") return [=](int i) { cuda::relu_forward(x[i % rot], y[i % rot], n); };
    if (op == "relu_bwd") return [=](int i) { cuda::relu_backward(x[i % rot], z[i % rot], y[i % rot], n); };
    if (op == "sigmoid_fwd") return [=](int i) { cuda::sigmoid_forward(x[i % rot], y[i % rot], n); };
    if (op == "sigmoid_bwd") return [=](int i) { cuda::sigmoid_backward(x[i % rot], z[i % rot], y[i % rot], n); };
    if (op == "gelu_fwd") return [=](int i) { cuda::gelu_forward(x[i % rot], y[i % rot], n); };
    if (op == "gelu_bwd") return [=](int i) { cuda::gelu_backward(x[i % rot], z[i % rot], y[i % rot], n); };
    if (op == "square_root_fwd") return [=](int i) { cuda::square_root_forward(x[i % rot], y[i % rot], n); };
    if (op == "square_root_bwd")
      return [=](int i) { cuda::square_root_backward(x[i % rot], z[i % rot], y[i % rot], n); };
    if (op == "lrelu_fwd") return [=](int i) { cuda::leaky_relu_forward(x[i % rot], y[i % rot], n, 0.2f); };
    return [=](int i) { cuda::leaky_relu_backward(x[i % rot], z[i % rot], y[i % rot], n, 0.2f); };  // lrelu_bwd
  };
}

// ---- prelu: "map" ------------------------------------------------------------------------------

Maker prelu(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const int64_t N = param(c, "N"), C = param(c, "C"), HW = param(c, "H") * param(c, "W");
    auto x = b.rand_sets(rot, N * C * HW), y = b.rand_sets(rot, N * C * HW);
    const float* a = b.rand(C, 0.0, 0.5);
    if (op == "prelu_fwd") return [=](int i) { cuda::prelu_forward(x[i % rot], a, y[i % rot], N, C, HW, false); };
    auto dy = b.rand_sets(rot, N * C * HW);
    float* da = b.zeros(C);
    return [=](int i) { cuda::prelu_backward(x[i % rot], a, dy[i % rot], y[i % rot], da, N, C, HW, false); };
  };
}

// ---- batch_norm: "chunked" (training; statistics in device doubles, as the op) -----------------

Maker batch_norm(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const int64_t N = param(c, "N"), C = param(c, "C"), HW = param(c, "H") * param(c, "W");
    auto x = b.rand_sets(rot, N * C * HW), y = b.rand_sets(rot, N * C * HW);
    const float* gamma = b.rand(C, 0.5, 1.5);
    const float* beta = b.rand(C);
    float* rm = b.zeros(C);
    float* rv = b.zeros(C);
    // Per input set: mean and invstd, C doubles each on the device (the forward writes, the
    // backward reads), carved from a float buffer of twice the count.
    double* stats = reinterpret_cast<double*>(b.zeros(4 * C * rot));
    auto forward = [=](int i) {
      cuda::batch_norm_forward(x[i % rot], gamma, beta, y[i % rot], rm, rv, N, C, HW, true, 0.1, 1e-5,
                               stats + 2 * C * (i % rot), stats + 2 * C * (i % rot) + C);
    };
    if (op == "batch_norm_fwd") return forward;
    for (int i = 0; i < rot; ++i) forward(i);
    auto dy = b.rand_sets(rot, N * C * HW);
    float* dgamma = b.zeros(C);
    float* dbeta = b.zeros(C);
    return [=](int i) {
      cuda::batch_norm_backward(x[i % rot], dy[i % rot], stats + 2 * C * (i % rot), stats + 2 * C * (i % rot) + C,
                                gamma, y[i % rot], dgamma, dbeta, N, C, HW, true);
    };
  };
}

// ---- pool: "gather" (int32 argmax in device memory, as the op keeps it) ----------------------------

Maker max_pool(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const int64_t NC = param(c, "N") * param(c, "C"), H = param(c, "H"), W = param(c, "W");
    const int k = (int)param(c, "k"), s = (int)param(c, "s");
    const int64_t P = (H - k) / s + 1, Q = (W - k) / s + 1;
    auto x = b.rand_sets(rot, NC * H * W), y = b.rand_sets(rot, NC * P * Q);
    // int32 indices in float-sized device buffers (same size, aligned allocations).
    std::vector<int32_t*> argmax;
    for (float* p : b.rand_sets(rot, NC * P * Q)) argmax.push_back(reinterpret_cast<int32_t*>(p));
    auto forward = [=](int i) { cuda::max_pool2d_forward(x[i % rot], y[i % rot], argmax[i % rot], NC, H, W, k, s); };
    if (op == "max_pool_fwd") return forward;
    for (int i = 0; i < rot; ++i) forward(i);
    auto dx = b.rand_sets(rot, NC * H * W);
    return [=](int i) {
      cuda::max_pool2d_backward(y[i % rot], argmax[i % rot], dx[i % rot], NC, H, W, P, Q, k, s);
    };
  };
}

// ---- channel_attention: "plane_blocks" ---------------------------------------------------------

Maker channel_attention(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const int64_t NC = param(c, "N") * param(c, "C"), HW = param(c, "H") * param(c, "W");
    auto x = b.rand_sets(rot, NC * HW), y = b.rand_sets(rot, NC * HW), dy = b.rand_sets(rot, NC * HW);
    auto s = b.rand_sets(rot, NC), ds = b.rand_sets(rot, NC);
    if (op == "spatial_mean_fwd") return [=](int i) { cuda::spatial_mean_forward(x[i % rot], s[i % rot], NC, HW); };
    if (op == "spatial_mean_bwd") return [=](int i) { cuda::spatial_mean_backward(s[i % rot], y[i % rot], NC, HW); };
    if (op == "channel_scale_fwd")
      return [=](int i) { cuda::channel_scale_forward(x[i % rot], s[i % rot], y[i % rot], NC, HW); };
    return [=](int i) {
      cuda::channel_scale_backward(x[i % rot], s[i % rot], dy[i % rot], y[i % rot], ds[i % rot], NC, HW);
    };
  };
}

// ---- window_partition: "warp_rows" -------------------------------------------------------------

Maker window_partition(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const int64_t N = param(c, "N"), H = param(c, "H"), W = param(c, "W"), C = param(c, "C");
    const int ws = (int)param(c, "ws"), shift = (int)param(c, "shift");
    auto x = b.rand_sets(rot, N * H * W * C), y = b.rand_sets(rot, N * H * W * C);
    if (op == "window_partition_fwd")
      return [=](int i) { cuda::window_partition_forward(x[i % rot], y[i % rot], N, H, W, C, ws, shift); };
    return [=](int i) { cuda::window_partition_backward(x[i % rot], y[i % rot], N, H, W, C, ws, shift); };
  };
}

// ---- pad_reflect (and crop): "gather" ------------------------------------------------------------

Maker pad_reflect(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const int64_t NC = param(c, "N") * param(c, "C"), H = param(c, "H"), W = param(c, "W");
    if (op == "crop_fwd" || op == "crop_bwd") {
      const int64_t h = param(c, "height"), w = param(c, "width");
      auto big = b.rand_sets(rot, NC * H * W), small = b.rand_sets(rot, NC * h * w);
      if (op == "crop_fwd") return [=](int i) { cuda::crop_forward(big[i % rot], small[i % rot], NC, H, W, h, w); };
      return [=](int i) { cuda::crop_backward(small[i % rot], big[i % rot], NC, H, W, h, w); };
    }
    const int bottom = (int)param(c, "bottom"), right = (int)param(c, "right");
    auto small = b.rand_sets(rot, NC * H * W), big = b.rand_sets(rot, NC * (H + bottom) * (W + right));
    if (op == "pad_reflect_fwd")
      return [=](int i) { cuda::pad_reflect_forward(small[i % rot], big[i % rot], NC, H, W, bottom, right); };
    return [=](int i) { cuda::pad_reflect_backward(big[i % rot], small[i % rot], NC, H, W, bottom, right); };
  };
}

// ---- window_attention: "window_blocks" ---------------------------------------------------------

Maker window_attention(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const WindowAttentionShape s = window_attention_shape(c);
    const int64_t rows = s.windows * s.tokens(), C = s.channels(), nt = (int64_t)s.table_rows() * s.heads;
    auto qkv = b.rand_sets(rot, rows * 3 * C), out = b.rand_sets(rot, rows * C), table = b.rand_sets(rot, nt);
    if (op == "window_attention_fwd")
      return [=](int i) { cuda::window_attention_forward(qkv[i % rot], table[i % rot], out[i % rot], s); };
    auto dqkv = b.rand_sets(rot, rows * 3 * C), dtable = b.rand_sets(rot, nt);
    return [=](int i) {
      cuda::window_attention_backward(qkv[i % rot], table[i % rot], out[i % rot], dqkv[i % rot], dtable[i % rot], s);
    };
  };
}

// ---- overlap_window_attention: "window_blocks" -------------------------------------------------

Maker overlap_window_attention(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const OverlapWindowAttentionShape s = overlap_window_attention_shape(c);
    const int64_t rows = s.images * s.H * s.W, C = s.channels(), nt = (int64_t)s.table_rows() * s.heads;
    auto qkv = b.rand_sets(rot, rows * 3 * C), out = b.rand_sets(rot, rows * C), table = b.rand_sets(rot, nt);
    if (op == "overlap_window_attention_fwd")
      return [=](int i) { cuda::overlap_window_attention_forward(qkv[i % rot], table[i % rot], out[i % rot], s); };
    auto dqkv = b.rand_sets(rot, rows * 3 * C), dtable = b.rand_sets(rot, nt);
    return [=](int i) {
      cuda::overlap_window_attention_backward(qkv[i % rot], table[i % rot], out[i % rot], dqkv[i % rot],
                                              dtable[i % rot], s);
    };
  };
}

// ---- ecb_reparameterize: "map" ------------------------------------------------------------------

Maker ecb_reparameterize(const std::string& op) {
  return [op](const Case& c, Buffers& b, int) -> Runner {
    const EcbShape s = ecb_shape(c);
    const EcbBranches<float> p = ecb_branches(b, s);
    float* K = b.zeros(s.out_channels * s.in_channels * 9);
    float* B = b.zeros(s.out_channels);
    if (op == "ecb_weight_fwd") return [=](int) { cuda::ecb_weight_forward(p, s, K); };
    if (op == "ecb_bias_fwd") return [=](int) { cuda::ecb_bias_forward(p, s, B); };
    const bool weight_side = op == "ecb_weight_bwd";
    const EcbGrads<float> g = ecb_grads(b, s, weight_side);
    if (weight_side) return [=](int) { cuda::ecb_weight_backward(p, s, K, g); };
    return [=](int) { cuda::ecb_bias_backward(p, s, B, g); };
  };
}

// ---- layer_norm: "warp_rows" ------------------------------------------------------------------

Maker layer_norm(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const int64_t M = param(c, "N") * param(c, "L"), C = param(c, "C");
    auto x = b.rand_sets(rot, M * C), y = b.rand_sets(rot, M * C), dy = b.rand_sets(rot, M * C);
    auto mean = b.rand_sets(rot, M), rstd = b.rand_sets(rot, M), dw = b.rand_sets(rot, C), db = b.rand_sets(rot, C);
    auto w = b.rand_sets(rot, C), bias = b.rand_sets(rot, C);
    if (op == "layer_norm_fwd")
      return [=](int i) {
        cuda::layer_norm_forward(x[i % rot], w[i % rot], bias[i % rot], y[i % rot], mean[i % rot], rstd[i % rot], M,
                                 C, 1e-5);
      };
    return [=](int i) {
      cuda::layer_norm_backward(x[i % rot], w[i % rot], mean[i % rot], rstd[i % rot], dy[i % rot], y[i % rot],
                                dw[i % rot], db[i % rot], M, C);
    };
  };
}

// ---- transpose_tokens: "smem_tile" -------------------------------------------------------------

Maker transpose_tokens(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    // transpose_fwd: (N, C, L) -> (N, L, C); transpose_bwd: its gradient (N, L, C) -> (N, C, L).
    const int64_t N = param(c, "N"), L = param(c, "L"), C = param(c, "C");
    auto x = b.rand_sets(rot, N * L * C), y = b.rand_sets(rot, N * L * C);
    if (op == "transpose_fwd") return [=](int i) { cuda::transpose_forward(x[i % rot], y[i % rot], N, C, L); };
    return [=](int i) { cuda::transpose_backward(x[i % rot], y[i % rot], N, C, L); };
  };
}

// ---- gemm: every registry variant, through linear_forward / linear_backward ---------------------

// Each row runs its own variant. When SRENGINE_GEMM_IMPL pins one (the debugging override,
// kernels/registry.h), only that one's row runs.
Maker linear(const std::string& op, const std::string& variant) {
  return [op, variant](const Case& c, Buffers& b, int rot) -> Runner {
    const kernels::GemmVariant v = kernels::gemm_variant_from_name(variant);
    const char* pinned = std::getenv(kernels::override_env("gemm"));
    if (pinned && *pinned && kernels::KernelChoice{}.gemm != v) return {};
    const int64_t N = param(c, "N"), In = param(c, "In"), Out = param(c, "Out");
    auto x = b.rand_sets(rot, N * In), y = b.rand_sets(rot, N * Out);
    const float* w = b.rand(Out * In, -0.05, 0.05);
    const float* bias = b.rand(Out);
    if (op == "linear_fwd") return [=](int i) { cuda::linear_forward(v, x[i % rot], w, bias, y[i % rot], N, In, Out); };
    auto dx = b.rand_sets(rot, N * In);
    float* dw = b.zeros(Out * In);
    float* db = b.zeros(Out);
    return [=](int i) { cuda::linear_backward(v, y[i % rot], x[i % rot], w, dx[i % rot], dw, db, N, In, Out); };
  };
}

// ---- loss: "two_pass" ---------------------------------------------------------------------------

Maker loss(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const int64_t n = param(c, "N") * param(c, "C") * param(c, "H") * param(c, "W");
    const bool l1 = op.rfind("l1_loss", 0) == 0;
    const math::PointLoss kind = l1 ? math::PointLoss::abs_diff : math::PointLoss::hinge_real;
    auto x = b.rand_sets(rot, n, -2.0, 2.0);
    std::vector<float*> t = l1 ? b.rand_sets(rot, n) : std::vector<float*>(rot, nullptr);
    // The loss and its upstream gradient are one float each in device memory, as in the op.
    float* value = b.zeros(1);
    if (op.find("_fwd") != std::string::npos)
      return [=](int i) { cuda::loss_sum(kind, x[i % rot], t[i % rot], n, 0.0, 1.0 / n, value); };
    float* g = b.rand(1, 1.0, 1.0);
    auto dx = b.rand_sets(rot, n);
    return [=](int i) { cuda::loss_backward(kind, x[i % rot], t[i % rot], dx[i % rot], nullptr, n, 0.0, g, 1.0 / n); };
  };
}

// ---- reduce: "two_pass" -------------------------------------------------------------------------

Maker reduce(const std::string& op) {
  if (op == "channel_sum")
    return [](const Case& c, Buffers& b, int rot) -> Runner {
      const int64_t N = param(c, "N"), C = param(c, "C"), HW = param(c, "H") * param(c, "W");
      auto dy = b.rand_sets(rot, N * C * HW);
      float* db = b.zeros(C);
      return [=](int i) { cuda::channel_sum(dy[i % rot], N, C, HW, 0, db, /*accumulate=*/true); };
    };
  return [](const Case& c, Buffers& b, int rot) -> Runner {  // dot
    const int64_t n = param(c, "rows") * param(c, "cols");
    auto g = b.rand_sets(rot, n), W = b.rand_sets(rot, n, -0.1, 0.1);
    double* result = reinterpret_cast<double*>(b.zeros(2));  // one device double (allocations are aligned)
    return [=](int i) { cuda::dot_to_device(g[i % rot], W[i % rot], n, result); };
  };
}

// ---- spectral_norm: "fused_steps" ---------------------------------------------------------------

Maker spectral_norm(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const int64_t rows = param(c, "rows"), cols = param(c, "cols");
    auto W = b.rand_sets(rot, rows * cols, -0.1, 0.1);
    float* u = b.rand(rows);
    float* v = b.rand(cols);
    // sigma: one device double (allocations are aligned), as the op keeps it.
    double* sigma = reinterpret_cast<double*>(b.zeros(2));
    if (op == "spectral_norm")  // as the CPU row: one power iteration and sigma (on the device)
      return [=](int i) {
        cuda::spectral_norm_power_iteration(W[i % rot], u, v, rows, cols, 1, 1e-12);
        cuda::spectral_norm_sigma(W[i % rot], u, v, rows, cols, sigma);
      };
    cuda::spectral_norm_sigma(W[0], u, v, rows, cols, sigma);
    auto g = b.rand_sets(rot, rows * cols), dW = b.rand_sets(rot, rows * cols);
    return [=](int i) { cuda::spectral_norm_backward(W[i % rot], g[i % rot], u, v, sigma, dW[i % rot], rows, cols); };
  };
}

// ---- optimizer: "multi_tensor" ------------------------------------------------------------------

Maker optimizer(const std::string& op) {
  return [op](const Case&, Buffers& b, int) -> Runner {
    // One copy of the state (16.7M floats x 4 tensors), as the CPU row; host arrays of
    // device pointers, one launch per call.
    const std::vector<int64_t> sizes = rrdbnet_param_sizes();
    std::vector<float*> p, g, m, v;
    for (int64_t s : sizes) {
      p.push_back(b.rand(s, -0.1, 0.1));
      g.push_back(b.rand(s, -0.01, 0.01));
      m.push_back(b.zeros(s));
      v.push_back(b.zeros(s));
    }
    const int count = (int)sizes.size();
    if (op == "ema") return [=](int) { cuda::ema_update(0.999, m.data(), p.data(), sizes.data(), count); };
    if (op == "loss_unscale") {
      // The state is zeros (1/S = 0): the pass's traffic, not its values, is timed.
      const auto* state = reinterpret_cast<const LossScaleState*>(b.zeros(sizeof(LossScaleState) / sizeof(float)));
      float* found = b.zeros(1);
      return [=](int) { cuda::loss_unscale(state, g.data(), sizes.data(), count, found); };
    }
    AdamConfig cfg;
    cfg.lr = 1e-4;
    return [=](int i) {
      const AdamStep st = adam_step_scalars(cfg, i + 1);
      cuda::adam_update(st, p.data(), g.data(), m.data(), v.data(), sizes.data(), count);
    };
  };
}

// ---- degradation: fused_tile, fused_macroblock, philox_map, gather, separable ------------------

Maker degrade(const std::string& op) {
  return [op](const Case& c, Buffers& b, int rot) -> Runner {
    const int64_t N = param(c, "N"), H = param(c, "H"), W = param(c, "W");
    const int64_t n = N * 3 * H * W;
    auto x = b.rand_sets(rot, n, 0.0, 1.0);
    if (op == "degrade_blur") {
      const int k = (int)param(c, "k");
      float* kernels = b.rand(N * k * k, 0.0, 2.0 / (k * k));  // full support, sums near 1
      auto y = b.rand_sets(rot, n);
      return [=](int i) { cuda::degrade_blur(x[i % rot], kernels, (int64_t)k * k, y[i % rot], N, 3, H, W, k); };
    }
    if (op == "degrade_jpeg") {
      std::vector<double> quality(N);
      for (int64_t s = 0; s < N; ++s) quality[s] = 30.0 + 65.0 * s / std::max<int64_t>(N - 1, 1);  // jpeg_range
      return [=](int i) { cuda::degrade_jpeg(x[i % rot], N, H, W, quality.data()); };
    }
    if (op == "degrade_noise") {
      const bool poisson = param(c, "poisson") != 0;
      std::vector<cuda::DegradeNoiseSample> samples(N);
      for (int64_t s = 0; s < N; ++s) {
        samples[s].amount = poisson ? 0.05 + 2.95 * s / std::max<int64_t>(N - 1, 1) : 1.0 + 29.0 * s / std::max<int64_t>(N - 1, 1);
        samples[s].gray = (int)(s % 5 < 2);  // gray_noise_prob 0.4
        samples[s].stream = 1000 + s;
      }
      const auto kind = poisson ? cuda::DegradeNoiseKind::poisson : cuda::DegradeNoiseKind::gaussian;
      return [=](int i) { cuda::degrade_noise(x[i % rot], N, H, W, kind, samples.data(), 7, 99, false); };
    }
    if (op == "degrade_clamp") return [=](int i) { cuda::degrade_clamp(x[i % rot], n, true); };
    if (op == "degrade_usm_sharp") {
      auto y = b.rand_sets(rot, n);
      return [=](int i) { cuda::degrade_usm_sharp(x[i % rot], y[i % rot], N * 3, H, W, 50, 0.5, 10); };
    }
    const int64_t OH = param(c, "OH"), OW = param(c, "OW");
    const auto mode = (cuda::DegradeResizeMode)param(c, "mode");
    auto y = b.rand_sets(rot, N * 3 * OH * OW);
    return [=](int i) {
      cuda::degrade_resize(x[i % rot], y[i % rot], N * 3, H, W, OH, OW, (double)H / OH, (double)W / OW, mode);
    };
  };
}

// The whole device pipeline (data/degrade/batch_device.h) on one fixed worst-case draw
// (cmd_bench_kernels.cpp's degrade_pipeline case): crops uploaded once, one batch per call, its
// temporaries from the stream-ordered pool as in training.
Maker degrade_pipeline() {
  return [](const Case& c, Buffers&, int) -> Runner {
    namespace dg = data::degrade;
    const int64_t N = param(c, "N");
    const int S = (int)param(c, "S"), gt_size = (int)param(c, "gt_size");
    auto d = std::make_shared<dg::DeviceDegradation>();
    dg::DegradationParams& p = d->params;
    p.seed = 7;
    p.height = p.width = S;
    p.scale = 4;
    dg::SampledKernel full;  // a 21 x 21 box: every tap non-zero, as a wide kernel costs
    full.size = 21;
    full.weights.fill(1.0f / 441);
    p.kernels.assign(N, dg::SampleKernels{full, full, full});
    auto poisson = [&](uint64_t base) {
      dg::NoiseDraw n;
      n.gaussian = false;
      for (int64_t b = 0; b < N; ++b) n.samples.push_back({0.05 + 2.9 * b / std::max<int64_t>(N - 1, 1), b % 5 < 2, base + b});
      n.gray_stream = base + 1000;
      return n;
    };
    std::vector<double> q(N);
    for (int64_t b = 0; b < N; ++b) q[b] = 30.0 + 65.0 * b / std::max<int64_t>(N - 1, 1);
    p.resize1 = {"up", 1.5, dg::ResizeMode::bicubic};
    p.noise1 = poisson(100);
    p.jpeg1 = q;
    p.second_blur = true;
    p.resize2 = {"up", 1.2, dg::ResizeMode::bicubic};
    p.resize2_height = p.resize2_width = (int)(S / 4 * 1.2);
    p.noise2 = poisson(5000);
    p.sinc_first = true;
    p.final_mode = dg::ResizeMode::bicubic;
    p.jpeg2 = q;
    d->gt_size = gt_size;
    d->top = d->left = (S / 4 - gt_size / 4) / 2;
    std::vector<float> host((size_t)N * 3 * S * S);
    for (size_t i = 0; i < host.size(); ++i) host[i] = (float)((i * 2654435761u) % 1000) / 999.0f;
    const Tensor crops = Tensor::from_vector(host, {N, 3, S, S}).to(Device::cuda(cuda::current_device()));
    return [=](int) {
      Tensor lq, gt;
      dg::degrade_crops_on_device(crops, *d, &lq, &gt);
    };
  };
}

// ---- upsample_nearest2x_conv2d: every conv2d variant (igemm_v2 and wgmma: convs at x's size) ----

Maker upsample_nearest2x_conv2d(const std::string& op, const std::string& variant) {
  return [op, variant](const Case& c, Buffers& b, int rot) -> Runner {
    const cuda::ConvVariant v = cuda::conv_variant_from_name(variant);
    const Conv2dShape s = upsample_nearest2x_conv2d_shape(c);
    const int64_t nx = s.N * s.C * s.H * s.W / 4, ny = s.N * s.K * s.P * s.Q;
    const float* w = b.rand(s.K * s.C * s.R * s.S, -0.1, 0.1);
    if (op == "upsample_nearest2x_conv2d_fwd") {
      const float* bias = b.rand(s.K);
      auto x = b.rand_sets(rot, nx), y = b.rand_sets(rot, ny);
      return [=](int i) { cuda::upsample_nearest2x_conv2d_forward(v, s, x[i % rot], w, bias, y[i % rot]); };
    }
    auto dy = b.rand_sets(rot, ny);
    if (op == "upsample_nearest2x_conv2d_bwd_data") {
      auto dx = b.rand_sets(rot, nx);
      return [=](int i) { cuda::upsample_nearest2x_conv2d_backward_data(v, s, dy[i % rot], w, dx[i % rot]); };
    }
    auto x = b.rand_sets(rot, nx);
    float* dw = b.zeros(s.K * s.C * s.R * s.S);
    float* db = b.zeros(s.K);
    return [=](int i) { cuda::upsample_nearest2x_conv2d_backward_weight(v, s, x[i % rot], dy[i % rot], dw, db); };
  };
}

}  // namespace

Maker cuda_op_maker(const std::string& op, const std::string& variant) {
  if (op.rfind("upsample_nearest2x_conv2d_", 0) == 0) return upsample_nearest2x_conv2d(op, variant);  // every conv2d variant
  if (op == "pixel_shuffle" || op == "pixel_unshuffle" || op.rfind("upsample_", 0) == 0)
    return only_for(variant, "gather", resample(op));
  if (op == "bias_lrelu_fwd" || op == "bias_lrelu_bwd") return only_for(variant, "map", bias_leaky_relu(op));
  if (op == "residual_axpby" || op == "add" || op == "sub" || op == "mul" || op == "scale" ||
      op == "axpy_inplace" || op == "abs_fwd" || op == "abs_bwd" || op == "relu_fwd" || op == "relu_bwd" ||
      op == "lrelu_fwd" || op == "lrelu_bwd" || op == "square_root_fwd" || op == "square_root_bwd" ||
      op == "sigmoid_fwd" || op == "sigmoid_bwd" || op == "gelu_fwd" || op == "gelu_bwd")
    return only_for(variant, "map", pointwise(op));
  if (op == "prelu_fwd" || op == "prelu_bwd") return only_for(variant, "map", prelu(op));
  if (op == "degrade_pipeline") return only_for(variant, "chained", degrade_pipeline());
  if (op == "batch_norm_fwd" || op == "batch_norm_bwd") return only_for(variant, "chunked", batch_norm(op));
  if (op == "max_pool_fwd" || op == "max_pool_bwd") return only_for(variant, "gather", max_pool(op));
  if (op == "spatial_mean_fwd" || op == "spatial_mean_bwd" || op == "channel_scale_fwd" || op == "channel_scale_bwd")
    return only_for(variant, "plane_blocks", channel_attention(op));
  if (op == "window_partition_fwd" || op == "window_partition_bwd")
    return only_for(variant, "warp_rows", window_partition(op));
  if (op == "pad_reflect_fwd" || op == "pad_reflect_bwd" || op == "crop_fwd" || op == "crop_bwd")
    return only_for(variant, "gather", pad_reflect(op));
  if (op == "window_attention_fwd" || op == "window_attention_bwd")
    return only_for(variant, "window_blocks", window_attention(op));
  if (op == "overlap_window_attention_fwd" || op == "overlap_window_attention_bwd")
    return only_for(variant, "window_blocks", overlap_window_attention(op));
  if (op == "ecb_weight_fwd" || op == "ecb_weight_bwd" || op == "ecb_bias_fwd" || op == "ecb_bias_bwd")
    return only_for(variant, "map", ecb_reparameterize(op));
  if (op == "layer_norm_fwd" || op == "layer_norm_bwd") return only_for(variant, "warp_rows", layer_norm(op));
  if (op == "transpose_fwd" || op == "transpose_bwd") return only_for(variant, "smem_tile", transpose_tokens(op));
  if (op == "linear_fwd" || op == "linear_bwd") return linear(op, variant);  // every gemm variant
  if (op.rfind("l1_loss", 0) == 0 || op.rfind("hinge_loss", 0) == 0) return only_for(variant, "two_pass", loss(op));
  if (op == "channel_sum" || op == "dot") return only_for(variant, "two_pass", reduce(op));
  if (op == "spectral_norm" || op == "spectral_norm_bwd") return only_for(variant, "fused_steps", spectral_norm(op));
  if (op == "adam" || op == "ema" || op == "loss_unscale") return only_for(variant, "multi_tensor", optimizer(op));
  if (op == "degrade_blur") return only_for(variant, "fused_tile", degrade(op));
  if (op == "degrade_jpeg") return only_for(variant, "fused_macroblock", degrade(op));
  if (op == "degrade_noise") return only_for(variant, "philox_map", degrade(op));
  if (op == "degrade_resize") return only_for(variant, "gather", degrade(op));
  if (op == "degrade_usm_sharp") return only_for(variant, "separable", degrade(op));
  if (op == "degrade_clamp") return only_for(variant, "map", degrade(op));
  return {};
}

}  // namespace sr::cli::kernel_bench

#endif  // SRENGINE_WITH_CUDA
