// The kernel-variant registry: one table of every variant of every op family compiled into
// this build, read by the kernel choice (which names exist, which are the defaults), the
// tests (which variants to compare) and the benchmarks (which variants to time). Plain C++; CUDA variants appear only in CUDA
// builds, cuDNN ones only when cuDNN was found.
//
// Selecting a variant (the CUDA side of conv2d and gemm; rdb on both devices) is a value,
// kernels::KernelChoice (kernels/kernel_choice.h), that the network builders hand to the
// layers and the layers to the ops, never process-wide state. A choice is made from
//   1. the environment, a debugging override: SRENGINE_CONV_IMPL (conv2d),
//      SRENGINE_GEMM_IMPL (gemm), SRENGINE_RDB_IMPL (rdb: fused | unfused)
//   2. the config keys `conv_impl: native|cudnn` and `rdb_impl: fused|unfused`
//      (kernels::kernel_choice())
//   3. the table's default
// (a program that sets a KernelChoice field itself, a test or a benchmark comparing
// variants, gets that variant). "native" names the default hand-written variant (conv2d:
// tf32; gemm: native).
#pragma once
#include <string>
#include <vector>

namespace sr::kernels {

struct Variant {
  const char* op;           // "conv2d", "gemm", "elementwise", ...
  const char* name;         // "tf32"
  const char* device;       // "cpu" or "cuda"
  const char* precision;    // "fp32", "tf32", "bf16", "fp32/fp64"
  const char* description;  // one line for `srengine bench` and the docs
  bool is_default;          // the default variant of op on its device
};

// Every variant in this build, in table order.
const std::vector<Variant>& variants();
// The variants of one op (optionally of one device, "cpu" or "cuda").
std::vector<Variant> variants_of(const std::string& op, const std::string& device = "");
// The names of the ops in the table, in table order, without repeats.
std::vector<std::string> ops();

// The environment variable that overrides op's variant ("" when there is none).
const char* override_env(const std::string& op);

}  // namespace sr::kernels
