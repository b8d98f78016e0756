// The CUDA rows of `srengine bench kernels` for every op outside conv2d and the dense
// blocks (bench_cuda_ops.cpp; cmd_bench_kernels.cpp keeps those, the CPU rows and the driver).
// Declared only in CUDA builds.
#pragma once
#include <string>

#include "tools/cli/bench_kernels.h"

namespace sr::cli::kernel_bench {

#ifdef SRENGINE_WITH_CUDA
// The CUDA maker of `op` as the registry variant `variant` of the op's kernels/registry
// family (cmd_bench_kernels.cpp's kOpKernels), or an empty function when this file has no twin of
// op for that variant: a registry variant without a twin is then a missing row, which
// bench/kernels_cuda_rows_cover_registry reports.
Maker cuda_op_maker(const std::string& op, const std::string& variant);
#endif

}  // namespace sr::cli::kernel_bench
