// Check macros for CUDA runtime, cuBLAS and cuDNN calls, and for kernel launches: every
// failure throws an sr::Error with the call text, file, line and the error string.
#pragma once
#if defined(SRENGINE_SIMT)
#include "kernels/simt/simt.h"  // the SIMT interpreter build's stand-in for the CUDA runtime
#else
#include <cuda_runtime.h>
#endif

#include <cstdlib>

#include "engine/error.h"

#define CUDA_CHECK(call)                                                                 \
  do {                                                                                   \
    cudaError_t err_ = (call);                                                           \
    if (err_ != cudaSuccess)                                                             \
      ::sr::fail("CUDA error: ", #call, " failed with ", cudaGetErrorString(err_), " at ", \
                 __FILE__, ":", __LINE__);                                               \
  } while (0)

namespace sr::cuda {
// SRENGINE_SYNC_LAUNCHES=1 (any value but empty or "0"): every launch checked by
// CUDA_CHECK_LAUNCH is followed by a device synchronisation, so an illegal address or a
// failed assert inside a kernel is reported at that launch, with the op's name, instead
// of at some later, unrelated call. Slow: a debugging mode, read once per process.
inline bool sync_launches_flag(const char* value) {
  return value != nullptr && value[0] != '\0' && !(value[0] == '0' && value[1] == '\0');
}
inline bool sync_launches() {
  static const bool on = sync_launches_flag(std::getenv("SRENGINE_SYNC_LAUNCHES"));
  return on;
}
}  // namespace sr::cuda

// After every kernel launch: launch-configuration errors surface here, with the op name;
// with SRENGINE_SYNC_LAUNCHES also the errors of the kernel's execution.
#define CUDA_CHECK_LAUNCH(op)                                                                \
  do {                                                                                       \
    cudaError_t err_ = cudaGetLastError();                                                   \
    const bool sync_ = err_ == cudaSuccess && ::sr::cuda::sync_launches();                   \
    if (sync_) err_ = cudaDeviceSynchronize();                                               \
    if (err_ != cudaSuccess)                                                                 \
      ::sr::fail(op, sync_ ? ": kernel failed (SRENGINE_SYNC_LAUNCHES) with " : ": kernel launch failed with ", \
                 cudaGetErrorString(err_), " at ", __FILE__, ":", __LINE__);                 \
  } while (0)

// cuBLAS and cuDNN calls. The status-to-text functions are only referenced where the macro
// is used, so this header needs neither library's headers (the .cu file that calls cuBLAS
// or cuDNN includes them).
#define CUBLAS_CHECK(call)                                                                  \
  do {                                                                                      \
    auto st_ = (call);                                                                      \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                       \
      ::sr::fail("cuBLAS error: ", #call, " failed with ", cublasGetStatusString(st_), " at ", \
                 __FILE__, ":", __LINE__);                                                  \
  } while (0)

#define CUDNN_CHECK(call)                                                                   \
  do {                                                                                      \
    auto st_ = (call);                                                                      \
    if (st_ != CUDNN_STATUS_SUCCESS)                                                        \
      ::sr::fail("cuDNN error: ", #call, " failed with ", cudnnGetErrorString(st_), " at ",   \
                 __FILE__, ":", __LINE__);                                                  \
  } while (0)
