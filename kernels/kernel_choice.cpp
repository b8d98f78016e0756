// KernelChoice (see kernel_choice.h): names, defaults, the environment overrides and the
// config keys, checked against the registry's table (kernels/registry.cpp).
#include "kernels/kernel_choice.h"

#include <algorithm>
#include <cstdlib>

#include "engine/error.h"
#include "kernels/registry.h"

namespace sr::kernels {

namespace {

std::string valid_names(const std::string& op) {
  std::string s;
  for (const Variant& v : variants_of(op, "cuda")) s += (s.empty() ? "" : ", ") + std::string(v.name);
  return s.empty() ? "none in this build" : s;
}

// "native" -> the default CUDA variant of op; otherwise the name itself when the table has
// it. Builds without CUDA rows (CPU-only, the SIMT interpreter alone) check the name only.
std::string resolve(const std::string& op, const std::string& name, const char* where) {
  const std::vector<Variant> rows = variants_of(op, "cuda");
  if (rows.empty()) return name;
  std::string def;
  for (const Variant& v : rows) {
    if (v.is_default) def = v.name;
    if (name == v.name) return name;
  }
  if (name == "native") return def;
  fail(where, ": unknown ", op, " variant '", name, "' (valid: native, ", valid_names(op), ")");
}

// The environment override of op, or "" when unset.
std::string env_override(const std::string& op) {
  const char* env = std::getenv(override_env(op));
  return env && *env ? std::string(env) : std::string();
}

// A name of the rdb table rows (any device), else an error listing them.
RdbImpl check_rdb_name(const std::string& name, const char* where) {
  std::string valid;
  for (const Variant& v : variants_of("rdb")) {
    if (name == v.name) return rdb_impl_from_name(name);
    if (valid.find(v.name) == std::string::npos) valid += (valid.empty() ? "" : ", ") + std::string(v.name);
  }
  fail(where, ": unknown rdb_impl '", name, "' (valid: ", valid, ")");
}

}  // namespace

ConvVariant conv_variant_from_name(const std::string& name) {
  if (name == "naive") return ConvVariant::naive;
  if (name == "tf32" || name == "native") return ConvVariant::tf32;
  if (name == "bf16") return ConvVariant::bf16;
  if (name == "cudnn") return ConvVariant::cudnn;
  if (name == "cudnn_fp32") return ConvVariant::cudnn_fp32;
  if (name == "igemm_v2") return ConvVariant::igemm_v2;
  if (name == "fp16") return ConvVariant::fp16;
  if (name == "wgmma") return ConvVariant::wgmma;
  fail("conv2d: unknown CUDA variant '", name, "' (valid: naive, tf32, bf16, fp16, igemm_v2, wgmma, cudnn, cudnn_fp32)");
}

const char* conv_variant_name(ConvVariant v) {
  switch (v) {
    case ConvVariant::naive: return "naive";
    case ConvVariant::tf32: return "tf32";
    case ConvVariant::bf16: return "bf16";
    case ConvVariant::cudnn: return "cudnn";
    case ConvVariant::cudnn_fp32: return "cudnn_fp32";
    case ConvVariant::igemm_v2: return "igemm_v2";
    case ConvVariant::fp16: return "fp16";
    case ConvVariant::wgmma: return "wgmma";
  }
  return "?";
}

GemmVariant gemm_variant_from_name(const std::string& name) {
  if (name == "native") return GemmVariant::native;
  if (name == "cublas") return GemmVariant::cublas;
  fail("gemm: unknown CUDA variant '", name, "' (choose native or cublas)");
}

const char* gemm_variant_name(GemmVariant v) { return v == GemmVariant::native ? "native" : "cublas"; }

RdbImpl rdb_impl_from_name(const std::string& name) {
  if (name == "fused") return RdbImpl::fused;
  if (name == "unfused") return RdbImpl::unfused;
  fail("rdb: unknown implementation '", name, "' (valid: fused, unfused)");
}

const char* rdb_impl_name(RdbImpl r) { return r == RdbImpl::fused ? "fused" : "unfused"; }

ConvVariant default_conv_variant() {
  const std::string env = env_override("conv2d");
  return conv_variant_from_name(resolve("conv2d", env.empty() ? "native" : env, override_env("conv2d")));
}

GemmVariant default_gemm_variant() {
  const std::string env = env_override("gemm");
  return gemm_variant_from_name(resolve("gemm", env.empty() ? "native" : env, override_env("gemm")));
}

RdbImpl default_rdb_impl() {
  const std::string env = env_override("rdb");
  return env.empty() ? RdbImpl::fused : check_rdb_name(env, override_env("rdb"));
}

const std::vector<std::string>& conv_impl_names() {
  static const std::vector<std::string> names = {"native", "cudnn", "naive", "tf32", "bf16", "fp16",
                                                 "igemm_v2", "wgmma", "cudnn_fp32"};
  return names;
}

KernelChoice kernel_choice(const std::string& conv_impl, const std::string& rdb_impl) {
  // A typo is an error everywhere, but a CPU-only build accepts (and ignores) a GPU config's
  // choice, since it only concerns CUDA tensors.
  const std::vector<std::string>& known = conv_impl_names();
  if (std::find(known.begin(), known.end(), conv_impl) == known.end()) {
    std::string valid;
    for (const std::string& k : known) valid += (valid.empty() ? "" : ", ") + k;
    fail("conv_impl: unknown value '", conv_impl, "' (valid: ", valid, ")");
  }
  KernelChoice c;  // the defaults under the environment overrides
  const RdbImpl rdb = check_rdb_name(rdb_impl, "rdb_impl");
  // The config's values where no environment override wins over them.
  if (env_override("conv2d").empty() && !variants_of("conv2d", "cuda").empty())
    c.conv2d = conv_variant_from_name(resolve("conv2d", conv_impl, "conv_impl"));
  if (env_override("rdb").empty()) c.rdb = rdb;
  return c;
}

ConvVariant conv_variant_for_precision(ConvVariant chosen, Precision p, const char* op) {
  if (p == Precision::device_default) return chosen;
  const bool cudnn = chosen == ConvVariant::cudnn || chosen == ConvVariant::cudnn_fp32;
  switch (p) {
    case Precision::fp32: return cudnn ? ConvVariant::cudnn_fp32 : ConvVariant::naive;
    case Precision::tf32: return cudnn ? ConvVariant::cudnn : ConvVariant::tf32;
    case Precision::bf16:
    case Precision::fp16:
      SR_CHECK(!cudnn, op, ": precision ", precision_name(p), " has no cuDNN kernel (conv variant ",
               conv_variant_name(chosen), "); use conv_impl native (the ", precision_name(p),
               " tensor-core variant) or precision fp32 / tf32");
      if (p == Precision::fp16) return ConvVariant::fp16;
      // igemm_v2 and wgmma are bf16 variants (bf16 operands, fp32 accumulate): bf16 keeps them.
      return chosen == ConvVariant::igemm_v2 || chosen == ConvVariant::wgmma ? chosen : ConvVariant::bf16;
    case Precision::device_default: break;
  }
  return chosen;
}

}  // namespace sr::kernels
