// How the cuDNN conv variants (conv2d_cudnn.cu) choose an algorithm, as plain C++ so that
// the host tests (tests/test_cuda_host.cpp) check it without cuDNN or a GPU:
//   1. candidates(): the v7 heuristic's rows in its order (fastest first), keeping those that
//      are supported, deterministic (no atomics: the project's rule) and within the workspace
//      limit; for the fp32 oracle (cudnn_fp32) only the GEMM family with FMA math, since
//      FFT and Winograd round differently enough to eat the oracle's 1e-5 budget.
//   2. first_that_runs(): tries them in order from the cached one. The .cu re-queries each
//      algorithm's workspace (the heuristic's figure has been wrong in some cuDNN versions)
//      and moves to the next when the query, the workspace allocation or the call fails
//      in a way that ran nothing (not supported, bad parameter, out of memory).
// Algorithm numbers are cuDNN's enum values (cudnn_cnn.h; the .cu static_asserts them).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace sr::cuda::cudnn_algo {

enum class Direction { forward, backward_data, backward_weight };

// One row of a cudnnGet*Algorithm_v7 result.
struct Perf {
  int algo = 0;
  int math = 0;  // cudnnMathType_t of the row (the oracle runs every row with FMA math)
  bool supported = true;
  bool deterministic = true;
  size_t memory = 0;  // the heuristic's workspace estimate (re-queried before use)
};

inline const char* algo_name(Direction d, int algo) {
  static const char* const fwd[] = {"IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT",
                                    "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
  static const char* const data[] = {"ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"};
  static const char* const filter[] = {"ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED",
                                       "FFT_TILING"};
  switch (d) {
    case Direction::forward: return algo >= 0 && algo < 8 ? fwd[algo] : "unknown";
    case Direction::backward_data: return algo >= 0 && algo < 6 ? data[algo] : "unknown";
    case Direction::backward_weight: return algo >= 0 && algo < 7 ? filter[algo] : "unknown";
  }
  return "unknown";
}

// Explicit GEMMs over im2col-like tiles: forward IMPLICIT_GEMM, IMPLICIT_PRECOMP_GEMM, GEMM;
// backward ALGO_0 and ALGO_1 (ALGO_0 is non-deterministic, so the determinism filter drops
// it wherever the heuristic says so).
inline bool gemm_family(Direction d, int algo) {
  if (d == Direction::forward) return algo == 0 || algo == 1 || algo == 2;
  return algo == 0 || algo == 1;
}

inline std::vector<Perf> candidates(Direction d, bool allow_tf32, const std::vector<Perf>& heuristic,
                                    size_t max_workspace) {
  std::vector<Perf> out;
  for (const Perf& p : heuristic) {
    if (!p.supported || !p.deterministic || p.memory > max_workspace) continue;
    if (!allow_tf32 && !gemm_family(d, p.algo)) continue;
    // The oracle runs every row with FMA math, whatever math the row was rated for (its
    // workspace is re-queried for FMA), so one entry per algorithm.
    bool seen = false;
    for (const Perf& q : out) seen = seen || (q.algo == p.algo && (!allow_tf32 || q.math == p.math));
    if (!seen) out.push_back(p);
  }
  return out;
}

// attempt(candidate, index) returns std::nullopt when the call ran, or why it did not (and
// nothing was written); errors after which nothing may be retried are thrown by attempt
// itself. Returns the index of the first candidate from `from` on that ran, or
// cands.size() with `why_not` listing each failure by algorithm name.
template <class Attempt>
size_t first_that_runs(Direction d, const std::vector<Perf>& cands, size_t from, Attempt&& attempt,
                       std::string& why_not) {
  for (size_t i = from; i < cands.size(); ++i) {
    const std::optional<std::string> failed = attempt(cands[i], i);
    if (!failed) return i;
    why_not += std::string(why_not.empty() ? "" : "; ") + algo_name(d, cands[i].algo) + ": " + *failed;
  }
  return cands.size();
}

}  // namespace sr::cuda::cudnn_algo
