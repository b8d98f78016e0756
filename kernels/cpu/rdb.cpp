// The fused residual dense block on the CPU (see rdb.h): the five convolutions run through
// kernels/cpu/conv2d on channel-range views of one buffer; the LeakyReLU, the residuals and
// the gradient bookkeeping between them are the loops below.
//
// Backward, with G = dL/dbuf (N, nf + 4 gc, H, W) and e = residual * (outer ? outer_scale : 1):
//   dz5 = e * dy;  G = conv5^T(dz5);  dw5 += corr(buf, dz5);  db5 += sum(dz5)
//   for k = 4..1 (slice S_k = [nf + (k-1) gc, nf + k gc), prefix P_k = [0, nf + (k-1) gc)):
//     dz_k = G[S_k] * leaky'(buf[S_k])        (G[S_k] is complete: only convs k+1..5 read x_k)
//     dw_k += corr(buf[P_k], dz_k);  db_k += sum(dz_k);  G[P_k] += conv_k^T(dz_k)
//   dx = G[:, :nf] + (outer ? outer_scale : 1) * dy     (the block's identity path)
#include "kernels/cpu/rdb.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "kernels/common/math.h"
#include "kernels/cpu/conv2d.h"

namespace sr::cpu {

namespace {

// conv k (0-based) of the block: 3x3, pad 1, reading the buffer's first nf + k gc channels
// (k = 4: all of them) and writing gc channels (k = 4: nf) with images `y_batch` apart.
Conv2dShape rdb_conv_shape(const RdbShape& s, int k, int64_t y_batch) {
  const int64_t cin = s.nf + k * s.gc, cout = k == 4 ? s.nf : s.gc;
  Conv2dShape c = make_conv2d_shape(s.N, cin, s.H, s.W, cout, 3, 3, 1, 1);
  c.x_batch_stride = s.channels() * s.H * s.W;
  c.y_batch_stride = y_batch;
  c.precision = s.precision;
  return c;
}

// Uninitialised scratch (std::vector would zero it for nothing).
template <typename T>
std::unique_ptr<T[]> scratch(int64_t n) {
  return std::unique_ptr<T[]>(new T[std::max<int64_t>(n, 1)]);
}

}  // namespace

template <typename T>
void rdb_forward(const RdbShape& s, const T* x, const RdbWeights<T>& p, const T* outer, T slope,
                 T residual, T outer_scale, T* buf, T* y) {
  const int64_t HW = s.H * s.W, CB = s.channels() * HW, xn = s.nf * HW, gn = s.gc * HW;
  // The one copy of the block: x into the buffer's first nf channels.
#pragma omp parallel for if (s.N * xn >= (1 << 15))
  for (int64_t n = 0; n < s.N; ++n) std::memcpy(buf + n * CB, x + n * xn, xn * sizeof(T));
  for (int k = 0; k < 4; ++k) {
    const int64_t c0 = s.nf + k * s.gc;  // first channel of x_{k+1}
    conv2d_forward<T>(rdb_conv_shape(s, k, CB), buf, p.w[k], p.b[k], buf + c0 * HW);
#pragma omp parallel for collapse(2) if (s.N * gn >= (1 << 15))
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t c = 0; c < s.gc; ++c) {
        T* v = buf + n * CB + (c0 + c) * HW;
        for (int64_t i = 0; i < HW; ++i) v[i] = math::leaky_relu(v[i], slope);
      }
  }
  // conv5 into y, then the residual epilogue in place: one pass over y.
  conv2d_forward<T>(rdb_conv_shape(s, 4, xn), buf, p.w[4], p.b[4], y);
  const int64_t total = s.N * xn;
  if (outer) {
#pragma omp parallel for simd if (total >= (1 << 15))
    for (int64_t i = 0; i < total; ++i) y[i] = outer[i] + outer_scale * (x[i] + residual * y[i]);
  } else {
#pragma omp parallel for simd if (total >= (1 << 15))
    for (int64_t i = 0; i < total; ++i) y[i] = x[i] + residual * y[i];
  }
}

template <typename T>
void rdb_backward(const RdbShape& s, const T* buf, const RdbWeights<T>& p, const T* dy, T slope,
                  T residual, bool has_outer, T outer_scale, T* dx, T* const dw[5], T* const db[5]) {
  const int64_t HW = s.H * s.W, CB = s.channels() * HW, xn = s.nf * HW, gn = s.gc * HW;
  const int64_t total = s.N * xn;
  const T identity = has_outer ? outer_scale : T(1);  // d y / d inner
  auto G = scratch<T>(s.N * CB);
  // dz holds conv5's (nf channels) and then each conv k's (gc channels) output gradient.
  auto dz = scratch<T>(s.N * std::max(s.nf, s.gc) * HW);
  // conv k's input gradient before it is added into G's prefix (the kernels overwrite).
  auto dprefix = scratch<T>(s.N * (s.nf + 3 * s.gc) * HW);

  const T e = residual * identity;
#pragma omp parallel for simd if (total >= (1 << 15))
  for (int64_t i = 0; i < total; ++i) dz[i] = e * dy[i];
  const Conv2dShape s5 = rdb_conv_shape(s, 4, xn);
  conv2d_backward_data<T>(s5, dz.get(), p.w[4], G.get());
  if (dw[4] || db[4]) conv2d_backward_weight<T>(s5, buf, dz.get(), dw[4], db[4]);

  for (int k = 3; k >= 0; --k) {
    const int64_t c0 = s.nf + k * s.gc;
#pragma omp parallel for collapse(2) if (s.N * gn >= (1 << 15))
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t c = 0; c < s.gc; ++c) {
        const T* yv = buf + n * CB + (c0 + c) * HW;
        const T* g = G.get() + n * CB + (c0 + c) * HW;
        T* d = dz.get() + (n * s.gc + c) * HW;
        for (int64_t i = 0; i < HW; ++i) d[i] = g[i] * math::leaky_relu_grad_from_output(yv[i], slope);
      }
    const Conv2dShape sk = rdb_conv_shape(s, k, gn);  // dz is contiguous (N, gc, H, W)
    if (dw[k] || db[k]) conv2d_backward_weight<T>(sk, buf, dz.get(), dw[k], db[k]);
    if (k == 0 && !dx) break;  // nobody needs G's first nf channels
    conv2d_backward_data<T>(sk, dz.get(), p.w[k], dprefix.get());
    const int64_t pn = c0 * HW;  // prefix elements per image
#pragma omp parallel for if (s.N * pn >= (1 << 15))
    for (int64_t n = 0; n < s.N; ++n) {
      T* g = G.get() + n * CB;
      const T* d = dprefix.get() + n * pn;
#pragma omp simd
      for (int64_t i = 0; i < pn; ++i) g[i] += d[i];
    }
  }
  if (!dx) return;
#pragma omp parallel for if (total >= (1 << 15))
  for (int64_t n = 0; n < s.N; ++n) {
    const T* g = G.get() + n * CB;
    const T* d = dy + n * xn;
    T* o = dx + n * xn;
#pragma omp simd
    for (int64_t i = 0; i < xn; ++i) o[i] = g[i] + identity * d[i];
  }
}

#define SR_INSTANTIATE_RDB(T)                                                                     \
  template void rdb_forward<T>(const RdbShape&, const T*, const RdbWeights<T>&, const T*, T, T, T,  \
                               T*, T*);                                                           \
  template void rdb_backward<T>(const RdbShape&, const T*, const RdbWeights<T>&, const T*, T, T,    \
                                bool, T, T*, T* const[5], T* const[5]);
SR_INSTANTIATE_RDB(float)
SR_INSTANTIATE_RDB(double)
#undef SR_INSTANTIATE_RDB

}  // namespace sr::cpu
