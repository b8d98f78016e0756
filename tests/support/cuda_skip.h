// The cuda/ tests' guard: without a GPU (or without CUDA in the build) a test prints
// "SKIPPED: <reason>", which ctest reports as skipped (tests/CMakeLists.txt), and returns.
#pragma once
#include <catch2/catch.hpp>

#include <cstdio>

#ifdef SRENGINE_WITH_CUDA
#include "engine/cuda_runtime.h"
#endif

namespace sr::test {

inline bool skip_without_cuda() {
#ifdef SRENGINE_WITH_CUDA
  if (sr::cuda::available()) return false;
  const char* reason = "SKIPPED: no CUDA device";
#else
  const char* reason = "SKIPPED: srengine was built without CUDA";
#endif
  std::printf("%s\n", reason);
  WARN(reason);
  return true;
}

}  // namespace sr::test
