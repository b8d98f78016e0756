// The kernel-variant registry: one table of every variant of every op family compiled into
// this build, read by the ops (which variant runs), the tests (which variants to compare)
// and the benchmarks (which variants to time). Plain C++; CUDA variants appear only in CUDA
// builds, cuDNN ones only when cuDNN was found.
//
// Selecting a variant (the CUDA side of an op; the CPU has one variant per op):
//   1. the environment: SRENGINE_CONV_IMPL (conv2d), SRENGINE_GEMM_IMPL (gemm),
//      SRENGINE_RDB_IMPL (rdb: fused | unfused, both devices; see rdb_impl())
//   2. set_active_variant() / set_conv_impl() (the config key `conv_impl: native|cudnn`)
//   3. the table's default
// "native" names the default hand-written variant (conv2d: tf32; gemm: native).
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

// The active CUDA variant of op (see the order above). Throws for an op without CUDA
// variants or an environment value that names no variant.
std::string active_variant(const std::string& op);
// Chooses the CUDA variant of op; "native" means the default hand-written one. An unknown
// name throws, listing the valid ones.
void set_active_variant(const std::string& op, const std::string& name);
// The config key conv_impl: "native" | "cudnn" | any conv2d CUDA variant name.
void set_conv_impl(const std::string& impl);
// The residual dense block's implementation on every device: "fused" (the default,
// engine/ops_rdb.h) or "unfused" (BasicSR's cat + conv composition, the reference).
// SRENGINE_RDB_IMPL overrides set_rdb_impl(); unknown names throw, listing the valid ones.
std::string rdb_impl();
void set_rdb_impl(const std::string& name);
// Forgets set_active_variant() and set_rdb_impl() choices (tests).
void reset_active_variants();

// The environment variable that overrides op's variant ("" when there is none).
const char* override_env(const std::string& op);

}  // namespace sr::kernels
