// cuDNN 9 convolution variants (the oracle and baseline of the native kernels), through the
// legacy convolution API (deprecated in cuDNN 9 in favour of the graph API, still shipped).
//
//   cudnn        CUDNN_DEFAULT_MATH: TF32 tensor cores allowed on Ampere and later, as
//                PyTorch's default for convolutions
//   cudnn_fp32   CUDNN_FMA_MATH and GEMM-family algorithms only (no FFT or Winograd, whose
//                rounding differs): fp32 FMA kernels, the oracle for the native variants
//
// Descriptors carry explicit strides, so channel-range views (x_batch_stride, dx batch
// stride, y_batch_stride) work as in the native kernels. Algorithms come from the *_v7
// heuristics, filtered and tried in order as conv2d_cudnn.h describes (deterministic only,
// at most kMaxWorkspace bytes, GEMM family for the oracle, the workspace re-queried, the
// next algorithm when one does not run); the plan is cached per shape. The workspace comes
// from the stream-ordered pool.
#include "kernels/cuda/conv2d_variants.h"

#if defined(SRENGINE_WITH_CUDNN) && !defined(SRENGINE_SIMT)  // cuDNN is GPU-only: not in the interpreter
#include <cudnn.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv2d_cudnn.h"

namespace sr::cuda::detail {

namespace {

using cudnn_algo::Direction;

constexpr size_t kMaxWorkspace = size_t{1} << 30;

cudnnHandle_t cudnn_handle() {
  constexpr int kMaxDevices = 16;
  thread_local cudnnHandle_t handles[kMaxDevices] = {};
  const int d = current_device();
  SR_CHECK(d < kMaxDevices, "cudnn: device index ", d, " out of range");
  if (!handles[d]) CUDNN_CHECK(cudnnCreate(&handles[d]));
  CUDNN_CHECK(cudnnSetStream(handles[d], current_stream()));
  return handles[d];
}

struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  TensorDesc(int64_t n, int64_t c, int64_t h, int64_t w, int64_t batch_stride) {
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&d));
    CUDNN_CHECK(cudnnSetTensor4dDescriptorEx(d, CUDNN_DATA_FLOAT, (int)n, (int)c, (int)h, (int)w,
                                             (int)batch_stride, (int)(h * w), (int)w, 1));
  }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
};

struct FilterDesc {
  cudnnFilterDescriptor_t d = nullptr;
  explicit FilterDesc(const Conv2dShape& s) {
    CUDNN_CHECK(cudnnCreateFilterDescriptor(&d));
    CUDNN_CHECK(cudnnSetFilter4dDescriptor(d, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, (int)s.K, (int)s.C,
                                           (int)s.R, (int)s.S));
  }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
};

struct ConvDesc {
  cudnnConvolutionDescriptor_t d = nullptr;
  ConvDesc(const Conv2dShape& s, bool allow_tf32) {
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d));
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d, s.pad, s.pad, s.stride, s.stride, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionMathType(d, allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
  }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d); }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
};

void check_int_range(const Conv2dShape& s, int64_t dx_bs) {
  const int64_t lim = int64_t{1} << 31;
  SR_CHECK(s.x_batch_stride < lim && s.y_batch_stride < lim && dx_bs < lim && s.N < lim,
           "conv2d (cudnn): strides exceed cuDNN's 32-bit descriptors");
}

// The algorithm plan per (direction, shape, strides, math): heuristics are cheap but not
// free, and a fixed choice keeps a run's summation order fixed (it changes only when the
// chosen algorithm stops running).
using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int, int,
                       int64_t, int64_t, int64_t, bool>;
struct Plan {
  std::vector<cudnn_algo::Perf> candidates;  // conv2d_cudnn.h's filter of the heuristic, in its order
  size_t current = 0;                        // the candidate to run (the last that ran)
  size_t workspace = 0;                      // its re-queried workspace, once it has run
  bool workspace_known = false;
};
std::mutex g_cache_mutex;
std::map<Key, Plan>& cache() {
  static std::map<Key, Plan> m;
  return m;
}
Key make_key(Direction dir, const Conv2dShape& s, int64_t dx_bs, bool tf32) {
  return Key{(int)dir, s.N, s.C, s.H, s.W, s.K, s.R, s.S, s.stride, s.pad, s.x_batch_stride,
             s.y_batch_stride, dx_bs, tf32};
}

// The algorithm numbers conv2d_cudnn.h names and groups.
static_assert(CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM == 0 && CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM == 1 &&
              CUDNN_CONVOLUTION_FWD_ALGO_GEMM == 2 && CUDNN_CONVOLUTION_FWD_ALGO_FFT == 4 &&
              CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED == 7);
static_assert(CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 == 0 && CUDNN_CONVOLUTION_BWD_DATA_ALGO_1 == 1 &&
              CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT == 2 && CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED == 5);
static_assert(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 == 0 && CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1 == 1 &&
              CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3 == 3 && CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING == 6);

template <typename PerfRow>
std::vector<cudnn_algo::Perf> to_perf(const PerfRow* rows, int n) {
  std::vector<cudnn_algo::Perf> out;
  for (int i = 0; i < n; ++i)
    out.push_back({(int)rows[i].algo, (int)rows[i].mathType, rows[i].status == CUDNN_STATUS_SUCCESS,
                   rows[i].determinism == CUDNN_DETERMINISTIC, rows[i].memory});
  return out;
}

// Failures that are refused before any kernel is queued, so the output (accumulated into
// with beta = 1) is untouched and the next algorithm may run: unsupported for this shape or
// math, a parameter this algorithm rejects, an allocation inside cuDNN.
bool nothing_ran(cudnnStatus_t st) {
  const int category = CUDNN_STATUS_CATEGORY((int)st);
  return category == CUDNN_STATUS_NOT_SUPPORTED || category == CUDNN_STATUS_BAD_PARAM ||
         st == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
         st == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
}

std::string describe(const Conv2dShape& s) {
  return "N=" + std::to_string(s.N) + " C=" + std::to_string(s.C) + " " + std::to_string(s.H) + "x" +
         std::to_string(s.W) + " -> K=" + std::to_string(s.K) + " " + std::to_string(s.R) + "x" +
         std::to_string(s.S) + " stride " + std::to_string(s.stride) + " pad " + std::to_string(s.pad);
}

// Runs one convolution with the plan for `key` (built from heuristic() on first use),
// falling back along the candidates when one does not run. query(algo, &bytes) and
// exec(algo, workspace, bytes) are the direction's cuDNN calls; set_math sets the
// descriptor's math type before each.
template <class Heuristic, class SetMath, class Query, class Exec>
void run_planned(Direction dir, const char* op, bool allow_tf32, const Conv2dShape& s, const Key& key,
                 Heuristic&& heuristic, SetMath&& set_math, Query&& query, Exec&& exec) {
  const char* variant = allow_tf32 ? "cudnn" : "cudnn_fp32";
  Plan plan;
  {
    std::lock_guard<std::mutex> lock(g_cache_mutex);
    auto it = cache().find(key);
    if (it == cache().end()) {
      Plan fresh;
      fresh.candidates = cudnn_algo::candidates(dir, allow_tf32, heuristic(), kMaxWorkspace);
      it = cache().emplace(key, std::move(fresh)).first;
    }
    plan = it->second;
  }
  SR_CHECK(!plan.candidates.empty(), op, " (", variant, "): cuDNN offers no deterministic algorithm",
           allow_tf32 ? "" : " of the GEMM family", " within ", kMaxWorkspace, " bytes of workspace for ",
           describe(s));
  size_t used_workspace = 0;
  std::string why_not;
  const size_t ran = cudnn_algo::first_that_runs(
      dir, plan.candidates, plan.current,
      [&](const cudnn_algo::Perf& c, size_t i) -> std::optional<std::string> {
        CUDNN_CHECK(set_math(allow_tf32 ? (cudnnMathType_t)c.math : CUDNN_FMA_MATH));
        size_t bytes = plan.workspace;
        if (i != plan.current || !plan.workspace_known) {
          size_t queried = 0;
          const cudnnStatus_t st = query(c.algo, &queried);
          if (st != CUDNN_STATUS_SUCCESS) return std::string("workspace query failed with ") + cudnnGetErrorString(st);
          bytes = std::max(queried, c.memory);
          if (bytes > kMaxWorkspace)
            return "needs " + std::to_string(bytes) + " bytes of workspace, over the limit of " +
                   std::to_string(kMaxWorkspace);
        }
        std::optional<DeviceScratch> ws;
        try {
          ws.emplace(bytes);
        } catch (const Error& e) {
          return "its workspace of " + std::to_string(bytes) + " bytes: " + e.what();
        }
        const cudnnStatus_t st = exec(c.algo, ws->as<void>(), bytes);
        if (st == CUDNN_STATUS_SUCCESS) {
          used_workspace = bytes;
          return std::nullopt;
        }
        if (!nothing_ran(st))
          fail(op, " (", variant, "): cuDNN algorithm ", cudnn_algo::algo_name(dir, c.algo), " failed with ",
               cudnnGetErrorString(st), " for ", describe(s));
        return std::string(cudnnGetErrorString(st));
      },
      why_not);
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  Plan& cached = cache()[key];
  if (ran == plan.candidates.size()) {
    cached.current = 0;  // a later call starts over (e.g. once memory is free again)
    cached.workspace_known = false;
    fail(op, " (", variant, "): no cuDNN algorithm ran for ", describe(s), ": ", why_not);
  }
  cached.current = ran;
  cached.workspace = used_workspace;
  cached.workspace_known = true;
}

}  // namespace

bool cudnn_built() { return true; }

void cudnn_forward(bool allow_tf32, const Conv2dShape& s, const float* x, const float* w, float* y) {
  check_int_range(s, 0);
  cudnnHandle_t h = cudnn_handle();
  TensorDesc xd(s.N, s.C, s.H, s.W, s.x_batch_stride), yd(s.N, s.K, s.P, s.Q, s.y_batch_stride);
  FilterDesc wd(s);
  ConvDesc cd(s, allow_tf32);
  const float alpha = 1.f, beta = 0.f;
  run_planned(
      Direction::forward, "conv2d_forward", allow_tf32, s, make_key(Direction::forward, s, 0, allow_tf32),
      [&] {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        int n = 0;
        CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, xd.d, wd.d, cd.d, yd.d,
                                                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
        return to_perf(perf, n);
      },
      [&](cudnnMathType_t m) { return cudnnSetConvolutionMathType(cd.d, m); },
      [&](int algo, size_t* bytes) {
        return cudnnGetConvolutionForwardWorkspaceSize(h, xd.d, wd.d, cd.d, yd.d, (cudnnConvolutionFwdAlgo_t)algo,
                                                       bytes);
      },
      [&](int algo, void* ws, size_t bytes) {
        return cudnnConvolutionForward(h, &alpha, xd.d, x, wd.d, w, cd.d, (cudnnConvolutionFwdAlgo_t)algo, ws,
                                       bytes, &beta, yd.d, y);
      });
}

void cudnn_backward_data(bool allow_tf32, const Conv2dShape& s, const float* dy, const float* w,
                         float* dx, bool accumulate, int64_t dx_batch_stride) {
  check_int_range(s, dx_batch_stride);
  cudnnHandle_t h = cudnn_handle();
  TensorDesc dyd(s.N, s.K, s.P, s.Q, s.y_batch_stride), dxd(s.N, s.C, s.H, s.W, dx_batch_stride);
  FilterDesc wd(s);
  ConvDesc cd(s, allow_tf32);
  const float alpha = 1.f, beta = accumulate ? 1.f : 0.f;
  run_planned(
      Direction::backward_data, "conv2d_backward_data", allow_tf32, s,
      make_key(Direction::backward_data, s, dx_batch_stride, allow_tf32),
      [&] {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        int n = 0;
        CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, wd.d, dyd.d, cd.d, dxd.d,
                                                                CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf));
        return to_perf(perf, n);
      },
      [&](cudnnMathType_t m) { return cudnnSetConvolutionMathType(cd.d, m); },
      [&](int algo, size_t* bytes) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(h, wd.d, dyd.d, cd.d, dxd.d,
                                                            (cudnnConvolutionBwdDataAlgo_t)algo, bytes);
      },
      [&](int algo, void* ws, size_t bytes) {
        return cudnnConvolutionBackwardData(h, &alpha, wd.d, w, dyd.d, dy, cd.d, (cudnnConvolutionBwdDataAlgo_t)algo,
                                            ws, bytes, &beta, dxd.d, dx);
      });
}

void cudnn_backward_weight(bool allow_tf32, const Conv2dShape& s, const float* x, const float* dy,
                           float* dw) {
  check_int_range(s, 0);
  cudnnHandle_t h = cudnn_handle();
  TensorDesc xd(s.N, s.C, s.H, s.W, s.x_batch_stride), dyd(s.N, s.K, s.P, s.Q, s.y_batch_stride);
  FilterDesc wd(s);
  ConvDesc cd(s, allow_tf32);
  const float alpha = 1.f, beta = 1.f;  // dw += ...
  run_planned(
      Direction::backward_weight, "conv2d_backward_weight", allow_tf32, s,
      make_key(Direction::backward_weight, s, 0, allow_tf32),
      [&] {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        int n = 0;
        CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, xd.d, dyd.d, cd.d, wd.d,
                                                                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
        return to_perf(perf, n);
      },
      [&](cudnnMathType_t m) { return cudnnSetConvolutionMathType(cd.d, m); },
      [&](int algo, size_t* bytes) {
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, xd.d, dyd.d, cd.d, wd.d,
                                                              (cudnnConvolutionBwdFilterAlgo_t)algo, bytes);
      },
      [&](int algo, void* ws, size_t bytes) {
        return cudnnConvolutionBackwardFilter(h, &alpha, xd.d, x, dyd.d, dy, cd.d,
                                              (cudnnConvolutionBwdFilterAlgo_t)algo, ws, bytes, &beta, wd.d, dw);
      });
}

}  // namespace sr::cuda::detail

#else  // no cuDNN in this build (or the SIMT interpreter's): the dispatcher refuses the cudnn
       // variants before calling these.

#include "engine/error.h"

namespace sr::cuda::detail {
bool cudnn_built() { return false; }
void cudnn_forward(bool, const Conv2dShape&, const float*, const float*, float*) {
  fail("conv2d: built without cuDNN");
}
void cudnn_backward_data(bool, const Conv2dShape&, const float*, const float*, float*, bool, int64_t) {
  fail("conv2d: built without cuDNN");
}
void cudnn_backward_weight(bool, const Conv2dShape&, const float*, const float*, float*) {
  fail("conv2d: built without cuDNN");
}
}  // namespace sr::cuda::detail

#endif
