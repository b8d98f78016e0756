// The CPU convolution reference: im2col + Eigen GEMM (conv2d.h has the shapes and conventions;
// conv2d.cpp chooses between this and the fast kernels). The float64 path (gradient checks)
// and the oracle of every other conv kernel.
//
// For one image, with CRS = C*R*S rows and PQ = P*Q columns:
//   col[(c*R + r)*S + s][p*Q + q] = x[c][p*stride - pad + r][q*stride - pad + s]  (0 outside)
//   forward:         y[K][PQ]    = w[K][CRS] * col[CRS][PQ]
//   backward-data:   dcol[CRS][PQ] = w^T * dy[K][PQ], then col2im adds dcol back into dx
//   backward-weight: dw[K][CRS] += dy[K][PQ] * col^T
// Images are spread over OpenMP threads when there are at least as many images as
// threads; otherwise the GEMM itself runs on all threads.
#include "kernels/cpu/conv2d.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/cpu/gemm.h"

namespace sr::cpu {

namespace {

bool is_pointwise(const Conv2dShape& s) { return s.R == 1 && s.S == 1 && s.stride == 1 && s.pad == 0; }

// Valid output range [q0, q1) for which q*stride - pad + off lies in [0, W).
inline void valid_range(int64_t out, int64_t in, int stride, int64_t off, int64_t& q0, int64_t& q1) {
  // q*stride + off >= 0  ->  q >= ceil(-off / stride)
  q0 = off >= 0 ? 0 : (-off + stride - 1) / stride;
  // q*stride + off <= in - 1  ->  q <= floor((in - 1 - off) / stride)
  const int64_t hi = in - 1 - off;
  q1 = hi < 0 ? 0 : std::min<int64_t>(out, hi / stride + 1);
  if (q0 > q1) q0 = q1;
}

template <typename T>
void im2col(const Conv2dShape& s, const T* x, T* col, bool parallel) {
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q;
#pragma omp parallel for collapse(2) if (parallel)
  for (int64_t c = 0; c < s.C; ++c) {
    for (int64_t r = 0; r < s.R; ++r) {
      const T* xc = x + c * HW;
      for (int64_t t = 0; t < s.S; ++t) {
        T* row = col + ((c * s.R + r) * s.S + t) * PQ;
        const int64_t off_w = t - s.pad;
        int64_t q0, q1;
        valid_range(s.Q, s.W, s.stride, off_w, q0, q1);
        for (int64_t p = 0; p < s.P; ++p) {
          T* out = row + p * s.Q;
          const int64_t ih = p * s.stride - s.pad + r;
          if (ih < 0 || ih >= s.H) {
            std::fill(out, out + s.Q, T(0));
            continue;
          }
          const T* xrow = xc + ih * s.W;
          std::fill(out, out + q0, T(0));
          if (s.stride == 1) {
            std::memcpy(out + q0, xrow + q0 + off_w, (q1 - q0) * sizeof(T));
          } else {
            for (int64_t q = q0; q < q1; ++q) out[q] = xrow[q * s.stride + off_w];
          }
          std::fill(out + q1, out + s.Q, T(0));
        }
      }
    }
  }
}

// dx[c][ih][iw] += dcol[row][p*Q + q] for every tap; channels in parallel (disjoint).
template <typename T>
void col2im(const Conv2dShape& s, const T* col, T* dx, bool parallel) {
  const int64_t HW = s.H * s.W, PQ = s.P * s.Q;
#pragma omp parallel for if (parallel)
  for (int64_t c = 0; c < s.C; ++c) {
    T* dxc = dx + c * HW;
    for (int64_t r = 0; r < s.R; ++r) {
      for (int64_t t = 0; t < s.S; ++t) {
        const T* row = col + ((c * s.R + r) * s.S + t) * PQ;
        const int64_t off_w = t - s.pad;
        int64_t q0, q1;
        valid_range(s.Q, s.W, s.stride, off_w, q0, q1);
        for (int64_t p = 0; p < s.P; ++p) {
          const int64_t ih = p * s.stride - s.pad + r;
          if (ih < 0 || ih >= s.H) continue;
          T* dxrow = dxc + ih * s.W;
          const T* in = row + p * s.Q;
          for (int64_t q = q0; q < q1; ++q) dxrow[q * s.stride + off_w] += in[q];
        }
      }
    }
  }
}

bool spread_over_images(const Conv2dShape& s) {
  return !omp_in_parallel() && s.N >= omp_get_max_threads() && omp_get_max_threads() > 1;
}

}  // namespace

template <typename T>
void conv2d_forward_im2col(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  const int64_t CRS = s.C * s.R * s.S, PQ = s.P * s.Q;
  const bool pointwise = is_pointwise(s);
  auto one_image = [&](int64_t n, std::vector<T>& col, bool inner_parallel) {
    const T* xn = x + n * s.x_batch_stride;
    T* yn = y + n * s.y_batch_stride;
    const T* cols = xn;
    if (!pointwise) {
      im2col(s, xn, col.data(), inner_parallel);
      cols = col.data();
    }
    gemm<T>(false, false, s.K, PQ, CRS, w, CRS, cols, PQ, yn, PQ, false);
    if (bias) {
      for (int64_t k = 0; k < s.K; ++k) {
        T* yk = yn + k * PQ;
        const T b = bias[k];
        for (int64_t i = 0; i < PQ; ++i) yk[i] += b;
      }
    }
  };
  if (spread_over_images(s)) {
#pragma omp parallel
    {
      std::vector<T> col(pointwise ? 0 : CRS * PQ);
#pragma omp for schedule(static)
      for (int64_t n = 0; n < s.N; ++n) one_image(n, col, false);
    }
  } else {
    std::vector<T> col(pointwise ? 0 : CRS * PQ);
    for (int64_t n = 0; n < s.N; ++n) one_image(n, col, true);
  }
}

template <typename T>
void conv2d_backward_data_im2col(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  const int64_t CRS = s.C * s.R * s.S, PQ = s.P * s.Q, CHW = s.C * s.H * s.W;
  const bool pointwise = is_pointwise(s);
  auto one_image = [&](int64_t n, std::vector<T>& dcol, bool inner_parallel) {
    const T* dyn = dy + n * s.K * PQ;
    T* dxn = dx + n * CHW;
    if (pointwise) {
      gemm<T>(true, false, CRS, PQ, s.K, w, CRS, dyn, PQ, dxn, PQ, false);
      return;
    }
    gemm<T>(true, false, CRS, PQ, s.K, w, CRS, dyn, PQ, dcol.data(), PQ, false);
    std::fill(dxn, dxn + CHW, T(0));
    col2im(s, dcol.data(), dxn, inner_parallel);
  };
  if (spread_over_images(s)) {
#pragma omp parallel
    {
      std::vector<T> dcol(pointwise ? 0 : CRS * PQ);
#pragma omp for schedule(static)
      for (int64_t n = 0; n < s.N; ++n) one_image(n, dcol, false);
    }
  } else {
    std::vector<T> dcol(pointwise ? 0 : CRS * PQ);
    for (int64_t n = 0; n < s.N; ++n) one_image(n, dcol, true);
  }
}

template <typename T>
void conv2d_backward_weight_im2col(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* dbias) {
  const int64_t CRS = s.C * s.R * s.S, PQ = s.P * s.Q;
  const bool pointwise = is_pointwise(s);
  if (dbias) {
    // Fixed summation order per channel: deterministic whatever the thread count.
#pragma omp parallel for if (s.K * s.N * PQ > 65536)
    for (int64_t k = 0; k < s.K; ++k) {
      double acc = 0;
      for (int64_t n = 0; n < s.N; ++n) {
        const T* d = dy + (n * s.K + k) * PQ;
        for (int64_t i = 0; i < PQ; ++i) acc += d[i];
      }
      dbias[k] += (T)acc;
    }
  }
  if (!dw) return;  // frozen weight, trainable bias
  auto one_image = [&](int64_t n, std::vector<T>& col, T* dw_acc, bool inner_parallel) {
    const T* xn = x + n * s.x_batch_stride;
    const T* cols = xn;
    if (!pointwise) {
      im2col(s, xn, col.data(), inner_parallel);
      cols = col.data();
    }
    gemm<T>(false, true, s.K, CRS, PQ, dy + n * s.K * PQ, PQ, cols, PQ, dw_acc, CRS, true);
  };
  if (spread_over_images(s)) {
    // Each thread accumulates its images into a private dw; the partial sums are then
    // added in thread order, so a fixed thread count gives a fixed result.
    const int nt = omp_get_max_threads();
    std::vector<std::vector<T>> partial(nt, std::vector<T>(s.K * CRS, T(0)));
#pragma omp parallel
    {
      std::vector<T> col(pointwise ? 0 : CRS * PQ);
      T* mine = partial[omp_get_thread_num()].data();
#pragma omp for schedule(static)
      for (int64_t n = 0; n < s.N; ++n) one_image(n, col, mine, false);
    }
    for (int t = 0; t < nt; ++t)
      for (int64_t i = 0; i < s.K * CRS; ++i) dw[i] += partial[t][i];
  } else {
    std::vector<T> col(pointwise ? 0 : CRS * PQ);
    for (int64_t n = 0; n < s.N; ++n) one_image(n, col, dw, true);
  }
}

#define SR_INSTANTIATE_CONV_IM2COL(T)                                                             \
  template void conv2d_forward_im2col<T>(const Conv2dShape&, const T*, const T*, const T*, T*);  \
  template void conv2d_backward_data_im2col<T>(const Conv2dShape&, const T*, const T*, T*);      \
  template void conv2d_backward_weight_im2col<T>(const Conv2dShape&, const T*, const T*, T*, T*);
SR_INSTANTIATE_CONV_IM2COL(float)
SR_INSTANTIATE_CONV_IM2COL(double)
#undef SR_INSTANTIATE_CONV_IM2COL

}  // namespace sr::cpu
