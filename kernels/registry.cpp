// The kernel-variant table (see registry.h). Adding a variant: write the kernel, add one
// row here, map its name to its value (e.g. conv_variant_from_name in
// kernels/kernel_choice.cpp) and the value in the CUDA dispatcher (kernels/cuda/conv2d.cu), and the registry test (tests/test_cuda_host.cpp) checks that
// the two agree; the parity tests then compare it with the CPU automatically.
#include "kernels/registry.h"

namespace sr::kernels {

namespace {

const std::vector<Variant>& table() {
  static const std::vector<Variant> t = {
      // op            name          device  precision    description                                                   default
      // On the CPU the kernel picks itself (no selection): float32 takes implicit_simd where
      // the build has AVX2/AVX-512, everything else the im2col reference; implicit_bf16 runs
      // when the network's `precision` is bf16, rounded_tf32 / rounded_fp16 when it is tf32 /
      // fp16 (Conv2dShape::precision, kernels/cpu/conv2d_rounded.h).
      {"conv2d", "implicit_simd", "cpu", "fp32", "implicit GEMM, register-blocked AVX2/AVX-512 micro-kernels", true},
      {"conv2d", "im2col_eigen", "cpu", "fp32/fp64", "im2col + Eigen GEMM per image: the reference, float64", false},
      {"conv2d", "implicit_bf16", "cpu", "bf16", "implicit GEMM on bf16 pairs, AVX512-BF16 vdpbf16ps, fp32 accumulate (precision bf16)", false},
      {"conv2d", "rounded_tf32", "cpu", "tf32", "operands rounded to TF32 (cvt.rna), fp32 implicit GEMM (precision tf32)", false},
      {"conv2d", "rounded_fp16", "cpu", "fp16", "operands rounded to fp16 (F16C vcvtps2ph), fp32 implicit GEMM (precision fp16)", false},
      // int8 inference conv (kernels/cpu/conv2d_int8.h): the fastest path the running CPU has
      // (the default where it has it, then down the list); SRENGINE_INT8_ISA overrides.
      {"conv2d_int8", "avx512_vnni", "cpu", "int8", "u8 x s8 vpdpbusd on 16 int32 lanes, 4x16 channels x 6-24 pixels", true},
      {"conv2d_int8", "avx_vnni", "cpu", "int8", "vpdpbusd on 8 lanes (AVX-VNNI, 256-bit), 16 channels x 6 pixels", false},
      {"conv2d_int8", "avx2", "cpu", "int8", "vpmaddwd on int16 pairs (exact, no VNNI), 16 channels x 4 pixels", false},
      {"conv2d_int8", "reference", "cpu", "int8", "plain loop nest: the oracle", false},
#ifdef SRENGINE_WITH_CUDA
      {"conv2d", "naive", "cuda", "fp32", "v1: one thread per output element, direct loops (CUDA oracle)", false},
      {"conv2d", "tf32", "cuda", "tf32", "v2: implicit GEMM, mma.sync m16n8k8 TF32, fused epilogue, split-K wgrad", true},
      {"conv2d", "bf16", "cuda", "bf16", "v3: implicit GEMM, mma.sync m16n8k16 bf16 operands, fp32 accumulate", false},
      // Not the default until a GPU run shows it faster than tf32 (docs/KERNELS.md).
      {"conv2d", "igemm_v2", "cuda", "bf16", "v4: NHWC bf16 packing, cp.async 3-stage ring, ldmatrix, mma.sync m16n8k16; per-problem tiles and split-K; strided backward-data as phase convolutions", false},
      // sm_90a only (compute capability 9.0); elsewhere a clear error naming the variant.
      {"conv2d", "wgmma", "cuda", "bf16", "v5, sm_90a: TMA tiled loads (zero fill = padding; strides 2-8 through the map's element strides), 4-stage mbarrier ring, wgmma m64nNk16 from swizzled shared memory (128B; the weight gradient's 32-channel dy tile 64B); strided backward-data as phase convs; backward-weight from MN-major operands (dy's pixels, x's gathered boxes), split-K with igemm_v2's ordered reduce", false},
      {"conv2d", "fp16", "cuda", "fp16", "v3 on fp16: implicit GEMM, mma.sync m16n8k16 fp16 operands (overflow to inf), fp32 accumulate", false},
#ifdef SRENGINE_WITH_CUDNN
      {"conv2d", "cudnn", "cuda", "tf32", "cuDNN 9 legacy conv API, default math (TF32 allowed), deterministic algos", false},
      {"conv2d", "cudnn_fp32", "cuda", "fp32", "cuDNN 9 restricted to FMA math: the fp32 oracle", false},
#endif
#endif
      // Nearest x2 upsampling folded into the following conv (RRDBNet's conv_up1 / conv_up2):
      // the same variant names as conv2d (KernelChoice::conv2d chooses); each says whether it
      // runs convolutions at x's size with tap-summed filters or composes upsample_nearest(x, 2) + conv2d.
      {"upsample_nearest2x_conv2d", "phases", "cpu", "fp32/fp64", "four phase convs of x at its own size with tap-summed filters (2x2 for 3x3: 4/9 of the MACs) on conv2d's kernels; bf16/tf32/fp16 precision: composed", true},
      {"upsample_nearest2x_conv2d", "composed", "cpu", "fp32/fp64", "reference: upsample_nearest(x, 2), then conv2d's kernel (the bench baseline)", false},
#ifdef SRENGINE_WITH_CUDA
      {"upsample_nearest2x_conv2d", "naive", "cuda", "fp32", "composes: upsample_nearest(x, 2) + conv2d naive", false},
      {"upsample_nearest2x_conv2d", "tf32", "cuda", "tf32", "composes: upsample_nearest(x, 2) + conv2d tf32", true},
      {"upsample_nearest2x_conv2d", "bf16", "cuda", "bf16", "composes: upsample_nearest(x, 2) + conv2d bf16", false},
      {"upsample_nearest2x_conv2d", "igemm_v2", "cuda", "bf16", "convs at x's size with tap-summed filters (4/9 of the MACs for 3x3): four forward phases, a stride-2 backward-data, a stride-2 weight gradient folded onto the taps", false},
      {"upsample_nearest2x_conv2d", "wgmma", "cuda", "bf16", "the four forward phases, the stride-2 backward-data and weight gradient on wgmma's kernels", false},
      {"upsample_nearest2x_conv2d", "fp16", "cuda", "fp16", "composes: upsample_nearest(x, 2) + conv2d fp16", false},
#ifdef SRENGINE_WITH_CUDNN
      {"upsample_nearest2x_conv2d", "cudnn", "cuda", "tf32", "composes: upsample_nearest(x, 2) + cuDNN", false},
      {"upsample_nearest2x_conv2d", "cudnn_fp32", "cuda", "fp32", "composes: upsample_nearest(x, 2) + cuDNN (FMA math)", false},
#endif
#endif
      // The residual dense block, on both devices (KernelChoice::rdb chooses; see registry.h).
      {"rdb", "fused", "cpu", "fp32/fp64", "one (N, nf+4gc, H, W) buffer, convs on channel views, fused residuals", true},
      {"rdb", "unfused", "cpu", "fp32/fp64", "BasicSR's composition: cat_channels, conv2d, bias_leaky_relu, axpby", false},
#ifdef SRENGINE_WITH_CUDA
      {"rdb", "fused", "cuda", "conv2d's", "one buffer; conv epilogues write bias+LeakyReLU slices and x + 0.2*conv5", true},
      {"rdb", "unfused", "cuda", "conv2d's", "BasicSR's composition: cat_channels, conv2d, bias_leaky_relu, axpby", false},
#endif
      {"gemm", "eigen", "cpu", "fp32/fp64", "Eigen row-major GEMM", true},
#ifdef SRENGINE_WITH_CUDA
      {"gemm", "native", "cuda", "fp32", "v1: 64x64 shared-memory tiles, 4x4 outputs per thread", true},
      {"gemm", "cublas", "cuda", "fp32", "cublasSgemm (default math)", false},
#endif
      {"elementwise", "openmp", "cpu", "fp32/fp64", "OpenMP simd loops", true},
      {"activation", "openmp", "cpu", "fp32/fp64", "leaky_relu, fused bias + leaky_relu (+gain)", true},
      {"resample", "openmp", "cpu", "fp32/fp64", "pixel (un)shuffle, nearest and bilinear upsampling, each by 2, 3 or 4", true},
      {"loss", "blocked", "cpu", "fp32/fp64", "pointwise losses, 8192-element blocks summed in order", true},
      {"spectral_norm", "loops", "cpu", "fp32/fp64", "power iteration, sigma, backward in double", true},
      {"batch_norm", "openmp", "cpu", "fp32/fp64", "two-pass statistics per channel in double", true},
      {"pool", "openmp", "cpu", "fp32/fp64", "max_pool2d with argmax", true},
      {"channel_attention", "openmp", "cpu", "fp32/fp64", "spatial_mean and channel_scale, plane sums in double", true},
      {"window_partition", "openmp", "cpu", "fp32/fp64", "window_partition and window_merge: gathers of whole C-channel token rows", true},
      {"pad_reflect", "openmp", "cpu", "fp32/fp64", "pad_reflect and crop; the pad backward a gather of at most 4 terms in a fixed order", true},
      {"window_attention", "openmp", "cpu", "fp32/fp64", "Swin window attention per (window, head), bias and shift mask computed inline; fp32 vectorised float loops over packed per-head buffers, fp64 scalar sums in double", true},
      {"overlap_window_attention", "openmp", "cpu", "fp32/fp64", "HAT overlapping cross-attention per (window, head): query and zero-padded key windows gathered inline; fp32 register-blocked small GEMMs and vectorised softmax rows, fp64 loops in index order; backward a task per head", true},
      {"layer_norm", "openmp", "cpu", "fp32/fp64", "rows in double (two-pass, eight interleaved partial sums); dweight / dbias by 256-row block partials added in order", true},
      {"transpose_tokens", "tiled", "cpu", "fp32/fp64", "(B, M, N) -> (B, N, M) in 32-row strips of 16 x 16 (fp32: AVX-512 register) or 32 x 32 tiles", true},
      {"prelu", "openmp", "cpu", "fp32/fp64", "per-channel or shared slope", true},
      {"ecb_reparameterize", "loops", "cpu", "fp32/fp64", "ecb_weight and ecb_bias: double sums in the CUDA kernels' order; K, dk0 and dk1 a row of elements at a time (vectorised)", true},
      {"optimizer", "openmp", "cpu", "fp32", "multi-tensor Adam/AdamW, EMA and fp16's gradient unscale over chunks", true},
#ifdef SRENGINE_WITH_CUDA
      {"elementwise", "map", "cuda", "fp32", "v1: grid-stride maps", true},
      {"activation", "map", "cuda", "fp32", "grid-stride maps; bias grad by two-pass channel sums", true},
      {"resample", "gather", "cuda", "fp32", "one thread per output; bilinear backward as a gather", true},
      {"loss", "two_pass", "cuda", "fp32", "8192-element block partials in double, fixed-order finish", true},
      {"spectral_norm", "fused_steps", "cuda", "fp32", "matvec / normalise kernels, double accumulation", true},
      {"optimizer", "multi_tensor", "cuda", "fp32", "one launch for all tensors of Adam/AdamW, one for EMA, one for fp16's unscale", true},
      {"batch_norm", "chunked", "cuda", "fp32", "chunked double channel sums; stats copied to the host for the op", true},
      {"pool", "gather", "cuda", "fp32", "max_pool2d; backward as a gather (argmax kept on the host by the op)", true},
      {"channel_attention", "plane_blocks", "cuda", "fp32", "a 256-thread block per plane, double tree sums; maps for the rest", true},
      {"window_partition", "warp_rows", "cuda", "fp32", "a warp per token row, 16-byte words where C % 4 == 0, grid-stride", true},
      {"pad_reflect", "gather", "cuda", "fp32", "maps over the outputs (pad_reflect, crop, their backwards); the pad backward adds at most 4 terms in the CPU order", true},
      {"window_attention", "window_blocks", "cuda", "fp32", "a 4-warp block per (window, head), S and P a row per warp in shared memory; table gradient by fixed-order window sums", true},
      {"overlap_window_attention", "window_blocks", "cuda", "fp32", "a block per (image, window, head), 8 warps forward and 4 backward, zero-padded key window in shared memory, a row per warp; dK / dV and table gradient by fixed-order window sums, no atomics", true},
      {"layer_norm", "warp_rows", "cuda", "fp32", "a warp per row, fixed shuffle trees; dweight / dbias by (32-column, 256-row) tile partials, summed in tile order", true},
      {"transpose_tokens", "smem_tile", "cuda", "fp32", "32 x 33 shared-memory tiles, 32 x 8 threads, grid (N tiles, M tiles, B)", true},
      {"prelu", "map", "cuda", "fp32", "maps; slope gradient by two-pass channel sums", true},
      {"ecb_reparameterize", "map", "cuda", "fp32", "ecb_weight and ecb_bias: a grid-stride map per output tensor, a thread per element, double sums in the CPU order", true},
      // CUDA only: the building block of the bias, slope and spectral-norm gradients (the CPU
      // sums inside each op's own loops).
      {"reduce", "two_pass", "cuda", "fp32/fp64", "channel sums and dots: double chunk partials, fixed-order finish", true},
      // The Real-ESRGAN degradation's batch kernels; their CPU references are the per-sample
      // functions of data/degrade/ (filter2d, add_*_noise, resize_*), not registry kernels.
      {"degrade_blur", "fused_tile", "cuda", "fp32", "per-sample kernel, 32x32 tile + halo + kernel in shared memory", true},
      {"degrade_jpeg", "fused_macroblock", "cuda", "fp64", "DiffJPEG: one 64-thread block per 16x16 macroblock, double DCTs", true},
      {"degrade_noise", "philox_map", "cuda", "fp32", "Gaussian / Poisson noise + clamp (+ round), per-element Philox draws", true},
      {"degrade_usm_sharp", "separable", "cuda", "fp64", "USM: row and column passes in double (blur, mask, blur, mix)", true},
      {"degrade_resize", "gather", "cuda", "fp32/fp64", "area / bilinear / bicubic, one thread per output, double sums", true},
      {"degrade_clamp", "map", "cuda", "fp32", "clamp to [0, 1] before JPEG, final round to k/255; grid-stride map", true},
      // The whole pipeline of one batch (data/degrade/pipeline_device.h): the kernels above chained.
      {"degrade_pipeline", "chained", "cuda", "fp32/fp64", "USM + both orders + final stage of a training batch, kernel by kernel", true},
#endif
  };
  return t;
}

}  // namespace

const std::vector<Variant>& variants() { return table(); }

std::vector<Variant> variants_of(const std::string& op, const std::string& device) {
  std::vector<Variant> out;
  for (const Variant& v : table())
    if (op == v.op && (device.empty() || device == v.device)) out.push_back(v);
  return out;
}

std::vector<std::string> ops() {
  std::vector<std::string> out;
  for (const Variant& v : table()) {
    bool seen = false;
    for (const auto& o : out) seen = seen || o == v.op;
    if (!seen) out.push_back(v.op);
  }
  return out;
}

const char* override_env(const std::string& op) {
  if (op == "conv2d") return "SRENGINE_CONV_IMPL";
  if (op == "gemm") return "SRENGINE_GEMM_IMPL";
  if (op == "rdb") return "SRENGINE_RDB_IMPL";
  return "";
}

}  // namespace sr::kernels
