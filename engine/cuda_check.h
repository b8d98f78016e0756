// Check macros for CUDA runtime, cuBLAS and cuDNN calls, and for kernel launches: every
// failure throws an sr::Error with the call text, file, line and the error string.
#pragma once
#include <cuda_runtime.h>

#include "engine/error.h"

#define CUDA_CHECK(call)                                                                 \
  do {                                                                                   \
    cudaError_t err_ = (call);                                                           \
    if (err_ != cudaSuccess)                                                             \
      ::sr::fail("CUDA error: ", #call, " failed with ", cudaGetErrorString(err_), " at ", \
                 __FILE__, ":", __LINE__);                                               \
  } while (0)

// After every kernel launch: launch-configuration errors surface here, with the op name.
#define CUDA_CHECK_LAUNCH(op)                                                           \
  do {                                                                                  \
    cudaError_t err_ = cudaGetLastError();                                              \
    if (err_ != cudaSuccess)                                                            \
      ::sr::fail(op, ": kernel launch failed with ", cudaGetErrorString(err_), " at ",  \
                 __FILE__, ":", __LINE__);                                              \
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
