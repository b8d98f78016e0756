// The dense-block cases of `srengine bench kernels` (cmd_bench_kernels.cpp lists them beside the
// kernel cases): forward + backward of one residual dense block and of one RRDB at
// RRDBNet's shapes (nf 64, gc 32, 32 x 32 LR patches), through autograd, fused
// (engine/ops_rdb.h) against the unfused cat + conv composition (layers/rrdb.h's forward_unfused).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace sr::cli {

struct RdbBenchCase {
  std::string name, op, shape;
  std::map<std::string, double> p;  // N, nf, gc, H, W
  double flops = 0;                 // the convolutions: forward, backward-data, backward-weight
  double bytes = 0;                 // the concatenation copies the fused path avoids (forward)
};

struct RdbBenchVariant {
  std::string device, variant;
  bool is_default;
};

std::vector<RdbBenchCase> rdb_bench_cases(int batch);
// fused | unfused, on the cpu (and cuda in CUDA builds).
std::vector<RdbBenchVariant> rdb_bench_variants();
// Builds the module and `rotations` inputs on the variant's device; run(i) does one forward
// and backward on input i % rotations.
std::function<void(int)> make_rdb_bench_runner(const RdbBenchCase& c, const RdbBenchVariant& v,
                                               int rotations);

}  // namespace sr::cli
