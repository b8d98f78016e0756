// Strided copies and fills on the device (engine/cuda_runtime.h's copy_strided and
// fill_strided), apart from the pool and stream code of cuda_runtime.cu so that the SIMT
// interpreter runs them too: Tensor::copy_ and fill_ of simt tensors go through these kernels.
#include <algorithm>
#include <cstdint>

#include "engine/cuda_check.h"
#include "engine/cuda_launch.h"
#include "engine/cuda_runtime.h"

namespace sr::cuda {

namespace {

struct Layout {
  int64_t shape[5];
  int64_t dst_strides[5];
  int64_t src_strides[5];
  int ndim;
};

__device__ __forceinline__ void offsets(const Layout& l, int64_t linear, int64_t& d, int64_t& s) {
  d = 0;
  s = 0;
  for (int k = l.ndim - 1; k >= 0; --k) {
    const int64_t i = linear % l.shape[k];
    linear /= l.shape[k];
    d += i * l.dst_strides[k];
    s += i * l.src_strides[k];
  }
}

template <typename D, typename S>
__global__ void copy_strided_kernel(D* dst, const S* src, Layout l, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t d, s;
    offsets(l, i, d, s);
    dst[d] = (D)src[s];
  }
}

template <typename D>
__global__ void fill_strided_kernel(D* dst, Layout l, int64_t n, D value) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t d, s;
    offsets(l, i, d, s);
    dst[d] = value;
  }
}

Layout make_layout(const int64_t* shape, int ndim, const int64_t* ds, const int64_t* ss, int64_t& n) {
  Layout l{};
  l.ndim = ndim;
  n = 1;
  for (int k = 0; k < ndim; ++k) {
    l.shape[k] = shape[k];
    l.dst_strides[k] = ds[k];
    l.src_strides[k] = ss ? ss[k] : 0;
    n *= shape[k];
  }
  return l;
}

int blocks_for(int64_t n) { return (int)std::min<int64_t>((n + 255) / 256, 65535); }

}  // namespace

void copy_strided(void* dst, const int64_t* dst_strides, int dst_elem_size, const void* src,
                  const int64_t* src_strides, int src_elem_size, const int64_t* shape, int ndim) {
  int64_t n;
  Layout l = make_layout(shape, ndim, dst_strides, src_strides, n);
  if (n == 0) return;
  if (ndim == 0) l.ndim = 0;
  auto s = cudaStreamPerThread;
  if (dst_elem_size == 4 && src_elem_size == 4)
    launch_kernel(copy_strided_kernel<float, float>, blocks_for(n), 256, 0, s, (float*)dst, (const float*)src, l, n);
  else if (dst_elem_size == 4)
    launch_kernel(copy_strided_kernel<float, double>, blocks_for(n), 256, 0, s, (float*)dst, (const double*)src, l, n);
  else if (src_elem_size == 4)
    launch_kernel(copy_strided_kernel<double, float>, blocks_for(n), 256, 0, s, (double*)dst, (const float*)src, l, n);
  else
    launch_kernel(copy_strided_kernel<double, double>, blocks_for(n), 256, 0, s, (double*)dst, (const double*)src, l,
                  n);
  CUDA_CHECK_LAUNCH("copy_strided");
}

void fill_strided(void* dst, const int64_t* strides, int elem_size, const int64_t* shape, int ndim,
                  double value) {
  int64_t n;
  Layout l = make_layout(shape, ndim, strides, nullptr, n);
  if (n == 0) return;
  auto s = cudaStreamPerThread;
  if (elem_size == 4)
    launch_kernel(fill_strided_kernel<float>, blocks_for(n), 256, 0, s, (float*)dst, l, n, (float)value);
  else
    launch_kernel(fill_strided_kernel<double>, blocks_for(n), 256, 0, s, (double*)dst, l, n, value);
  CUDA_CHECK_LAUNCH("fill_strided");
}

}  // namespace sr::cuda
