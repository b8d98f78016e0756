// KernelChoice: which kernel variants one network (or one op call) runs, as a value passed
// down from the config through the network builders, the layers and the ops into the CUDA
// dispatchers, never as process-wide state: two networks in one process can differ.
// Resolved and validated here, once, from the config keys conv_impl / rdb_impl, under the
// environment overrides (kernels/registry.h lists the order). Plain C++ (every build).
#pragma once
#include <string>
#include <vector>

#include "kernels/common/precision.h"

namespace sr::kernels {

// The CUDA conv2d variants (kernels/cuda/conv2d.h) and gemm variants (kernels/cuda/gemm.h).
enum class ConvVariant { naive, tf32, bf16, cudnn, cudnn_fp32, igemm_v2, fp16, wgmma };
enum class GemmVariant { native, cublas };
// The residual dense block on every device: the fused op (engine/ops_rdb.h) or BasicSR's
// cat + conv composition (layers/rrdb.cpp's forward_unfused, the reference).
enum class RdbImpl { fused, unfused };

// The table's defaults under the environment overrides (SRENGINE_CONV_IMPL,
// SRENGINE_GEMM_IMPL, SRENGINE_RDB_IMPL), read when a choice is made; an override that
// names no variant throws, naming the variable and listing the valid names.
ConvVariant default_conv_variant();
GemmVariant default_gemm_variant();
RdbImpl default_rdb_impl();

struct KernelChoice {
  // The CUDA side of the ops (the CPU has one conv2d and one gemm kernel).
  ConvVariant conv2d = default_conv_variant();
  GemmVariant gemm = default_gemm_variant();
  // Both devices.
  RdbImpl rdb = default_rdb_impl();

  bool operator==(const KernelChoice&) const = default;
};

// The choice of a run from its config keys: conv_impl ("native" | "cudnn" | any conv2d
// CUDA variant name) and rdb_impl ("fused" | "unfused"). An unknown value throws, naming
// the key and listing the valid values. A CPU-only build accepts (and ignores) a GPU
// config's conv_impl. The environment overrides win over both keys.
KernelChoice kernel_choice(const std::string& conv_impl, const std::string& rdb_impl);

// Every value conv_impl accepts, in every build (a CPU-only build accepts and ignores a GPU
// config's choice): native, cudnn and each conv2d CUDA variant's name. The config schema's
// choices are this list.
const std::vector<std::string>& conv_impl_names();

// Names <-> values. "native" names the default hand-written variant (conv2d: tf32; gemm:
// native). An unknown name throws, listing the valid ones.
ConvVariant conv_variant_from_name(const std::string& name);
const char* conv_variant_name(ConvVariant v);
GemmVariant gemm_variant_from_name(const std::string& name);
const char* gemm_variant_name(GemmVariant v);
RdbImpl rdb_impl_from_name(const std::string& name);
const char* rdb_impl_name(RdbImpl r);

// The CUDA conv variant that runs a convolution of precision `p` when the KernelChoice names
// `chosen` (docs/PERFORMANCE.md, "Training precision", has the table). The precision keeps
// the choice's family and sets its math: device_default -> `chosen` itself; with cuDNN
// (cudnn, cudnn_fp32): fp32 -> cudnn_fp32, tf32 -> cudnn, bf16 and fp16 throw (no cuDNN
// half-precision path is wired); with the native kernels (any other variant): fp32 -> naive,
// tf32 -> tf32, bf16 -> bf16 (igemm_v2 and wgmma, bf16 variants themselves, stay), fp16 -> fp16. `op`
// names the caller in the error.
ConvVariant conv_variant_for_precision(ConvVariant chosen, Precision p, const char* op);

}  // namespace sr::kernels
