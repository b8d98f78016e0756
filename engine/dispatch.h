// Picks the kernel for a tensor's device and dtype. CPU kernels are templates over
// float/double; CUDA kernels are float32 (bf16 variants behind the same entry points).
// The same CUDA kernels serve two devices: `cuda` (nvcc's build, on a GPU) and `simt` (the
// build of kernels/simt, on the SIMT interpreter). An op writes its accelerator branch once,
// naming the kernels cuda::f(...); SR_CUDA runs it against sr::cuda or sr::simt by device.
#pragma once
#include "engine/tensor.h"
#if defined(SRENGINE_WITH_SIMT)
#include "kernels/simt/kernels.h"  // sr::simt: the interpreted kernels and runtime
#endif

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

namespace detail {
// The device whose accelerator branch dispatch() is running on this thread (SR_CUDA reads
// it); cpu outside one.
inline thread_local Device t_kernel_device{};  // cpu
struct KernelDeviceScope {
  Device saved;
  explicit KernelDeviceScope(Device d) : saved(t_kernel_device) { t_kernel_device = d; }
  ~KernelDeviceScope() { t_kernel_device = saved; }
  KernelDeviceScope(const KernelDeviceScope&) = delete;
  KernelDeviceScope& operator=(const KernelDeviceScope&) = delete;
};
[[noreturn]] inline void no_kernel_device() {
  fail("internal error: an op's CUDA branch (SR_CUDA) ran outside dispatch(), so its device is unknown");
}
}  // namespace detail

// Runs `cpu(T{})` for CPU tensors and `gpu()` for CUDA and simt tensors (the kernels in
// gpu() are chosen by SR_CUDA). A device this build lacks is a clear error.
template <typename CpuFn, typename CudaFn>
void dispatch(const char* op, const Tensor& t, CpuFn&& cpu, CudaFn&& gpu) {
  if (t.device().is_cpu()) {
    dispatch_float(op, t.dtype(), cpu);
    return;
  }
#if defined(SRENGINE_WITH_CUDA) || defined(SRENGINE_WITH_SIMT)
  SR_CHECK(t.dtype() == DType::f32, op, ": ", t.device().is_simt() ? "simt" : "CUDA",
           " tensors must be float32, got ", t.str());
  detail::KernelDeviceScope scope(t.device());
  gpu();
#else
  (void)gpu;
  fail(op, ": tensor ", t.str(), " is on ", t.device().str(), " but srengine was built without CUDA");
#endif
}

}  // namespace sr

// SR_ON_DEVICE(device, stmt): runs stmt, which names CUDA kernels or runtime functions as
// cuda::f(...), for `device`: on a cuda device as written (the real kernels), on the simt
// device with `cuda` meaning sr::simt (the same source, interpreted). A device the build
// lacks is an error. stmt compiles only in the builds that have its device.
#if defined(SRENGINE_WITH_SIMT)
#define SR_SIMT_BRANCH_(...)          \
  {                                   \
    namespace cuda = ::sr::simt;      \
    __VA_ARGS__;                      \
  }
#else
#define SR_SIMT_BRANCH_(...) ::sr::fail("the simt device: srengine was built without the SIMT interpreter");
#endif
#if defined(SRENGINE_WITH_CUDA)
#define SR_CUDA_BRANCH_(...) { __VA_ARGS__; }
#else
#define SR_CUDA_BRANCH_(...) ::sr::fail("a CUDA device: srengine was built without CUDA");
#endif
#if defined(SRENGINE_WITH_CUDA) || defined(SRENGINE_WITH_SIMT)
#define SR_ON_DEVICE(device, ...)                                 \
  do {                                                            \
    const ::sr::Device sr_device_ = (device);                     \
    if (sr_device_.is_simt()) SR_SIMT_BRANCH_(__VA_ARGS__)        \
    else if (sr_device_.is_cuda()) SR_CUDA_BRANCH_(__VA_ARGS__)   \
    else ::sr::detail::no_kernel_device();                        \
  } while (0)
#else
#define SR_ON_DEVICE(device, ...) ::sr::fail("srengine was built without CUDA")
#endif

// SR_CUDA(stmt): an op's accelerator branch inside dispatch()'s gpu function, for the
// device of the tensor dispatch() was given. dispatch() never calls it in a build without
// CUDA or the interpreter.
#if defined(SRENGINE_WITH_CUDA) || defined(SRENGINE_WITH_SIMT)
#define SR_CUDA(...) SR_ON_DEVICE(::sr::detail::t_kernel_device, __VA_ARGS__)
#else
#define SR_CUDA(...) (void)0
#endif

namespace sr {
// For ops whose CUDA kernel is not written yet: a clear error instead of a crash.
[[noreturn]] inline void no_cuda_kernel(const char* op) {
  fail(op, ": no CUDA kernel for this op yet; run it on the CPU");
}
}  // namespace sr
