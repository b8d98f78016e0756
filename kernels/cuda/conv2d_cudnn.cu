// cuDNN 9 convolution variants (the oracle and baseline of the native kernels), through the
// legacy convolution API (deprecated in cuDNN 9 in favour of the graph API, still shipped).
//
//   cudnn        CUDNN_DEFAULT_MATH: TF32 tensor cores allowed on Ampere and later, as
//                PyTorch's default for convolutions
//   cudnn_fp32   CUDNN_FMA_MATH: fp32 FMA kernels only, the oracle for the native variants
//
// Descriptors carry explicit strides, so channel-range views (x_batch_stride, dx batch
// stride, y_batch_stride) work as in the native kernels. Algorithms come from the
// *_v7 heuristics, keeping the first that succeeds, is deterministic (no atomics: the
// project's rule), and needs at most kMaxWorkspace bytes; the choice is cached per shape.
// The workspace comes from the stream-ordered pool.
#include "kernels/cuda/conv2d_variants.h"

#ifdef SRENGINE_WITH_CUDNN
#include <cudnn.h>

#include <map>
#include <mutex>
#include <tuple>

#include "kernels/cuda/common.cuh"

namespace sr::cuda::detail {

namespace {

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

// The algorithm choice per (direction, shape, strides, math): heuristics are cheap but not
// free, and a fixed choice keeps a run's summation order fixed.
using Key = std::tuple<int, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int, int,
                       int64_t, int64_t, int64_t, bool>;
struct Choice {
  int algo;
  cudnnMathType_t math;
  size_t workspace;
};
std::mutex g_cache_mutex;
std::map<Key, Choice>& cache() {
  static std::map<Key, Choice> m;
  return m;
}
Key make_key(int dir, const Conv2dShape& s, int64_t dx_bs, bool tf32) {
  return Key{dir, s.N, s.C, s.H, s.W, s.K, s.R, s.S, s.stride, s.pad, s.x_batch_stride,
             s.y_batch_stride, dx_bs, tf32};
}

// Picks from heuristic results (sorted by expected speed).
template <typename Perf>
Choice pick(const Perf* perf, int count, bool allow_tf32, const char* op) {
  for (int i = 0; i < count; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].determinism != CUDNN_DETERMINISTIC ||
        perf[i].memory > kMaxWorkspace)
      continue;
    if (!allow_tf32 && perf[i].mathType == CUDNN_TENSOR_OP_MATH) continue;
    return Choice{(int)perf[i].algo, allow_tf32 ? perf[i].mathType : CUDNN_FMA_MATH, perf[i].memory};
  }
  fail(op, " (cudnn): no deterministic algorithm within ", kMaxWorkspace, " bytes of workspace");
}

}  // namespace

bool cudnn_built() { return true; }

void cudnn_forward(bool allow_tf32, const Conv2dShape& s, const float* x, const float* w, float* y) {
  check_int_range(s, 0);
  cudnnHandle_t h = cudnn_handle();
  TensorDesc xd(s.N, s.C, s.H, s.W, s.x_batch_stride), yd(s.N, s.K, s.P, s.Q, s.y_batch_stride);
  FilterDesc wd(s);
  ConvDesc cd(s, allow_tf32);
  const Key key = make_key(0, s, 0, allow_tf32);
  Choice ch;
  {
    std::lock_guard<std::mutex> lock(g_cache_mutex);
    auto it = cache().find(key);
    if (it == cache().end()) {
      cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
      int n = 0;
      CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, xd.d, wd.d, cd.d, yd.d,
                                                         CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
      it = cache().emplace(key, pick(perf, n, allow_tf32, "conv2d_forward")).first;
    }
    ch = it->second;
  }
  CUDNN_CHECK(cudnnSetConvolutionMathType(cd.d, ch.math));
  DeviceScratch ws(ch.workspace);
  const float alpha = 1.f, beta = 0.f;
  CUDNN_CHECK(cudnnConvolutionForward(h, &alpha, xd.d, x, wd.d, w, cd.d,
                                      (cudnnConvolutionFwdAlgo_t)ch.algo, ws.as<void>(),
                                      ch.workspace, &beta, yd.d, y));
}

void cudnn_backward_data(bool allow_tf32, const Conv2dShape& s, const float* dy, const float* w,
                         float* dx, bool accumulate, int64_t dx_batch_stride) {
  check_int_range(s, dx_batch_stride);
  cudnnHandle_t h = cudnn_handle();
  TensorDesc dyd(s.N, s.K, s.P, s.Q, s.y_batch_stride), dxd(s.N, s.C, s.H, s.W, dx_batch_stride);
  FilterDesc wd(s);
  ConvDesc cd(s, allow_tf32);
  const Key key = make_key(1, s, dx_batch_stride, allow_tf32);
  Choice ch;
  {
    std::lock_guard<std::mutex> lock(g_cache_mutex);
    auto it = cache().find(key);
    if (it == cache().end()) {
      cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      int n = 0;
      CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
          h, wd.d, dyd.d, cd.d, dxd.d, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf));
      it = cache().emplace(key, pick(perf, n, allow_tf32, "conv2d_backward_data")).first;
    }
    ch = it->second;
  }
  CUDNN_CHECK(cudnnSetConvolutionMathType(cd.d, ch.math));
  DeviceScratch ws(ch.workspace);
  const float alpha = 1.f, beta = accumulate ? 1.f : 0.f;
  CUDNN_CHECK(cudnnConvolutionBackwardData(h, &alpha, wd.d, w, dyd.d, dy, cd.d,
                                           (cudnnConvolutionBwdDataAlgo_t)ch.algo, ws.as<void>(),
                                           ch.workspace, &beta, dxd.d, dx));
}

void cudnn_backward_weight(bool allow_tf32, const Conv2dShape& s, const float* x, const float* dy,
                           float* dw) {
  check_int_range(s, 0);
  cudnnHandle_t h = cudnn_handle();
  TensorDesc xd(s.N, s.C, s.H, s.W, s.x_batch_stride), dyd(s.N, s.K, s.P, s.Q, s.y_batch_stride);
  FilterDesc wd(s);
  ConvDesc cd(s, allow_tf32);
  const Key key = make_key(2, s, 0, allow_tf32);
  Choice ch;
  {
    std::lock_guard<std::mutex> lock(g_cache_mutex);
    auto it = cache().find(key);
    if (it == cache().end()) {
      cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      int n = 0;
      CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
          h, xd.d, dyd.d, cd.d, wd.d, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
      it = cache().emplace(key, pick(perf, n, allow_tf32, "conv2d_backward_weight")).first;
    }
    ch = it->second;
  }
  CUDNN_CHECK(cudnnSetConvolutionMathType(cd.d, ch.math));
  DeviceScratch ws(ch.workspace);
  const float alpha = 1.f, beta = 1.f;  // dw += ...
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &alpha, xd.d, x, dyd.d, dy, cd.d,
                                             (cudnnConvolutionBwdFilterAlgo_t)ch.algo,
                                             ws.as<void>(), ch.workspace, &beta, wd.d, dw));
}

}  // namespace sr::cuda::detail

#else  // no cuDNN in this build: the dispatcher refuses the cudnn variants before calling these.

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
