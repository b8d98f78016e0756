// Picks the kernel for a tensor's device and dtype. CPU kernels are templates over
// float/double; CUDA kernels are float32 (bf16 variants behind the same entry points).
#pragma once
#include "engine/tensor.h"

namespace sr {

// Calls f(T{}) with T = float or double per the tensor's dtype.
template <typename F>
void dispatch_float(const char* op, DType dtype, F&& f) {
  switch (dtype) {
    case DType::f32: f(float{}); return;
    case DType::f64: f(double{}); return;
    default: fail(op, ": dtype ", dtype_name(dtype), " is not supported");
  }
}

// Runs `cpu(T{})` for CPU tensors and `gpu()` for CUDA tensors. Without the CUDA
// backend (or without a CUDA kernel for this op) a CUDA tensor is a clear error.
template <typename CpuFn, typename CudaFn>
void dispatch(const char* op, const Tensor& t, CpuFn&& cpu, CudaFn&& gpu) {
  if (t.device().is_cpu()) {
    dispatch_float(op, t.dtype(), cpu);
    return;
  }
#ifdef SRENGINE_WITH_CUDA
  SR_CHECK(t.dtype() == DType::f32, op, ": CUDA tensors must be float32, got ", t.str());
  gpu();
#else
  (void)gpu;
  fail(op, ": tensor ", t.str(), " is on CUDA but srengine was built without CUDA");
#endif
}

}  // namespace sr

// SR_CUDA(stmt) compiles stmt only in CUDA builds (CUDA kernel entry points do not exist
// otherwise); dispatch() never calls the CUDA branch in a CPU-only build.
#ifdef SRENGINE_WITH_CUDA
#define SR_CUDA(...) __VA_ARGS__
#else
#define SR_CUDA(...) (void)0
#endif

namespace sr {
// For ops whose CUDA kernel is not written yet: a clear error instead of a crash.
[[noreturn]] inline void no_cuda_kernel(const char* op) {
  fail(op, ": no CUDA kernel for this op yet; run it on the CPU");
}
}  // namespace sr
