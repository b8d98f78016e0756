// Nearest x2 upsampling folded into the following convolution, on the CPU (see
// upsample_nearest2x_conv2d.h for the math and shapes), as four phase convolutions.
//
// Rows (columns likewise): an output row oh = 2i + a (phase a in {0, 1}) reads, through tap r,
// x's row floor((oh + r - pad) / 2) = i + d_a(r) with d_a(r) = floor((a + r - pad) / 2). The
// offsets of one phase run over dmin_a = floor((a - pad) / 2) .. floor((a + R - 1 - pad) / 2),
// Ra of them (Ra = 2 for a 3x3 filter), and several taps share an offset: so phase (a, b) of y
// is a plain convolution of x at its own H x W with the Ra x Sb filter whose taps are the sums
//   w_ab[k][c][j][l] = sum of w[k][c][r][s] over d_a(r) = dmin_a + j, d_b(s) = dmin_b + l.
// Zero padding matches: floor(u / 2) is in [0, H) exactly when u is in [0, 2H). A 3x3 conv at
// 2H x 2W (9 taps on 4HW pixels) becomes four 2x2 convs on about HW pixels: 4/9 of the MACs,
// on conv2d's own kernels (the implicit-GEMM SIMD ones for float32), with no upsampled tensor.
//
// Each phase runs conv2d with the same symmetric padding cp = ceil(pad / 2) (the largest
// -dmin); its output row t holds the phase's row i = t - (dmin_a + cp), and its last needed
// row stays inside conv2d's output (floor((pad + 1) / 2) = cp). Backward: the phase's dz is
// dy's rows and columns of that residue placed at those offsets (zero elsewhere), so
//   dx = sum over the four phases of conv2d_backward_data(dz_ab, w_ab)
//   dw[.][.][r][s] += conv2d_backward_weight(x, dz_ab)[.][.][j(r)][l(s)]
// and dbias sums dy directly. float32 with a rounding precision runs the reference instead
// (rounding the summed filter taps would not be the composition's rounding).
#include "kernels/cpu/upsample_nearest2x_conv2d.h"

#include <omp.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "kernels/cpu/resample.h"

namespace sr::cpu {

namespace {

int64_t floor_half(int64_t u) { return u >> 1; }  // floor(u / 2), also for negative u

// One phase (a, b): its sub-filter size, the conv2d that computes it, and where its rows and
// columns sit in that conv2d's output.
struct Phase {
  int a, b;
  int64_t dmin_h, dmin_w, Ra, Sb;
  int64_t Pa, Qb;          // the phase's rows and columns of y
  int64_t off_h, off_w;    // row i of the phase is row off_h + i of the conv2d output
  Conv2dShape conv;        // x (N, C, H, W) * w_ab -> z (N, K, conv.P, conv.Q)
};

Phase make_phase(const Conv2dShape& s, int a, int b) {
  Phase ph{};
  ph.a = a;
  ph.b = b;
  const int64_t H = s.H / 2, W = s.W / 2, cp = (s.pad + 1) / 2;
  ph.dmin_h = floor_half(a - s.pad);
  ph.dmin_w = floor_half(b - s.pad);
  ph.Ra = floor_half(a + s.R - 1 - s.pad) - ph.dmin_h + 1;
  ph.Sb = floor_half(b + s.S - 1 - s.pad) - ph.dmin_w + 1;
  ph.Pa = (s.P - a + 1) / 2;
  ph.Qb = (s.Q - b + 1) / 2;
  ph.off_h = ph.dmin_h + cp;
  ph.off_w = ph.dmin_w + cp;
  ph.conv = make_conv2d_shape(s.N, s.C, H, W, s.K, ph.Ra, ph.Sb, 1, (int)cp);
  ph.conv.precision = Precision::fp32;
  return ph;
}

// Whether every phase's rows and columns lie inside its conv2d's output (they do for the
// shapes the op allows; checked rather than assumed).
bool phases_fit(const Conv2dShape& s) {
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b) {
      const Phase ph = make_phase(s, a, b);
      if (ph.conv.P < 1 || ph.conv.Q < 1 || ph.off_h < 0 || ph.off_w < 0 || ph.off_h + ph.Pa > ph.conv.P ||
          ph.off_w + ph.Qb > ph.conv.Q)
        return false;
    }
  return true;
}

// w_ab: the taps of w summed by the source offset they read in phase (a, b).
template <typename T>
void phase_filter(const Conv2dShape& s, const Phase& ph, const T* w, T* wp) {
  const int64_t KC = s.K * s.C;
  std::fill(wp, wp + KC * ph.Ra * ph.Sb, T(0));
  for (int64_t kc = 0; kc < KC; ++kc)
    for (int64_t r = 0; r < s.R; ++r) {
      const int64_t j = floor_half(ph.a + r - s.pad) - ph.dmin_h;
      for (int64_t t = 0; t < s.S; ++t) {
        const int64_t l = floor_half(ph.b + t - s.pad) - ph.dmin_w;
        wp[(kc * ph.Ra + j) * ph.Sb + l] += w[(kc * s.R + r) * s.S + t];
      }
    }
}

// Calls f(n * K + k, y_index, z_index) for every element of phase (a, b): y[n][k][2i + a][2j + b]
// and z[n][k][off_h + i][off_w + j]. Planes (n, k) in parallel.
template <typename F>
void for_phase_elements(const Conv2dShape& s, const Phase& ph, F&& f) {
  const int64_t planes = s.N * s.K, PQ = s.P * s.Q, ZPQ = ph.conv.P * ph.conv.Q;
#pragma omp parallel for if (!omp_in_parallel() && planes * ph.Pa * ph.Qb > 16384)
  for (int64_t nk = 0; nk < planes; ++nk)
    for (int64_t i = 0; i < ph.Pa; ++i) {
      const int64_t yrow = nk * PQ + (2 * i + ph.a) * s.Q + ph.b, zrow = nk * ZPQ + (ph.off_h + i) * ph.conv.Q + ph.off_w;
      for (int64_t j = 0; j < ph.Qb; ++j) f(nk, yrow + 2 * j, zrow + j);
    }
}

bool rounds(const Conv2dShape& s) {
  return s.precision == Precision::bf16 || s.precision == Precision::tf32 || s.precision == Precision::fp16;
}

}  // namespace

template <typename T>
void upsample_nearest2x_conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  if (rounds(s) || !phases_fit(s)) return upsample_nearest2x_conv2d_forward_reference(s, x, w, bias, y);
  std::vector<T> wp, z;
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b) {
      const Phase ph = make_phase(s, a, b);
      wp.resize(s.K * s.C * ph.Ra * ph.Sb);
      z.resize(s.N * s.K * ph.conv.P * ph.conv.Q);
      phase_filter(s, ph, w, wp.data());
      conv2d_forward(ph.conv, x, wp.data(), (const T*)nullptr, z.data());
      // The plane's bias is looked up by index (a division per element cost as much as the
      // phase's convolution at the RRDB's upsampling shapes).
      for_phase_elements(s, ph, [&](int64_t nk, int64_t yi, int64_t zi) {
        y[yi] = bias ? z[zi] + bias[nk % s.K] : z[zi];
      });
    }
}

template <typename T>
void upsample_nearest2x_conv2d_backward_data(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  if (rounds(s) || !phases_fit(s)) return upsample_nearest2x_conv2d_backward_data_reference(s, dy, w, dx);
  const int64_t nx = s.N * s.C * (s.H / 2) * (s.W / 2);
  std::vector<T> wp, dz, dxp(nx);
  std::fill(dx, dx + nx, T(0));
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b) {
      const Phase ph = make_phase(s, a, b);
      wp.resize(s.K * s.C * ph.Ra * ph.Sb);
      phase_filter(s, ph, w, wp.data());
      dz.assign(s.N * s.K * ph.conv.P * ph.conv.Q, T(0));
      for_phase_elements(s, ph, [&](int64_t, int64_t yi, int64_t zi) { dz[zi] = dy[yi]; });
      conv2d_backward_data(ph.conv, dz.data(), wp.data(), dxp.data());
      for (int64_t i = 0; i < nx; ++i) dx[i] += dxp[i];
    }
}

template <typename T>
void upsample_nearest2x_conv2d_backward_weight(const Conv2dShape& s, const T* x, const T* dy, T* dw, T* dbias) {
  if (rounds(s) || !phases_fit(s)) return upsample_nearest2x_conv2d_backward_weight_reference(s, x, dy, dw, dbias);
  // dbias sums dy (N, K, P, Q) as conv2d's does (fixed order per channel); without dw that
  // call reads no x.
  if (dbias) conv2d_backward_weight_im2col(s, x, dy, (T*)nullptr, dbias);
  if (!dw) return;
  std::vector<T> dz, dwp;
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b) {
      const Phase ph = make_phase(s, a, b);
      dz.assign(s.N * s.K * ph.conv.P * ph.conv.Q, T(0));
      for_phase_elements(s, ph, [&](int64_t, int64_t yi, int64_t zi) { dz[zi] = dy[yi]; });
      dwp.assign(s.K * s.C * ph.Ra * ph.Sb, T(0));
      conv2d_backward_weight(ph.conv, x, dz.data(), dwp.data(), (T*)nullptr);
      // Every tap (r, s) of w took part in phase (a, b) through the sub-filter tap (j, l) it
      // was summed into: its gradient is that tap's.
      for (int64_t kc = 0; kc < s.K * s.C; ++kc)
        for (int64_t r = 0; r < s.R; ++r) {
          const int64_t j = floor_half(a + r - s.pad) - ph.dmin_h;
          for (int64_t t = 0; t < s.S; ++t) {
            const int64_t l = floor_half(b + t - s.pad) - ph.dmin_w;
            dw[(kc * s.R + r) * s.S + t] += dwp[(kc * ph.Ra + j) * ph.Sb + l];
          }
        }
    }
}

template <typename T>
void upsample_nearest2x_conv2d_forward_reference(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y) {
  std::vector<T> xu(s.N * s.C * s.H * s.W);
  upsample_nearest_forward(x, xu.data(), s.N * s.C, s.H / 2, s.W / 2, 2);
  conv2d_forward(s, xu.data(), w, bias, y);
}

template <typename T>
void upsample_nearest2x_conv2d_backward_data_reference(const Conv2dShape& s, const T* dy, const T* w, T* dx) {
  std::vector<T> dxu(s.N * s.C * s.H * s.W);
  conv2d_backward_data(s, dy, w, dxu.data());
  upsample_nearest_backward(dxu.data(), dx, s.N * s.C, s.H / 2, s.W / 2, 2);
}

template <typename T>
void upsample_nearest2x_conv2d_backward_weight_reference(const Conv2dShape& s, const T* x, const T* dy, T* dw,
                                                         T* dbias) {
  std::vector<T> xu(s.N * s.C * s.H * s.W);
  upsample_nearest_forward(x, xu.data(), s.N * s.C, s.H / 2, s.W / 2, 2);
  conv2d_backward_weight(s, xu.data(), dy, dw, dbias);
}

#define SR_INSTANTIATE_UPCONV(T)                                                                                  \
  template void upsample_nearest2x_conv2d_forward<T>(const Conv2dShape&, const T*, const T*, const T*, T*);       \
  template void upsample_nearest2x_conv2d_backward_data<T>(const Conv2dShape&, const T*, const T*, T*);           \
  template void upsample_nearest2x_conv2d_backward_weight<T>(const Conv2dShape&, const T*, const T*, T*, T*);     \
  template void upsample_nearest2x_conv2d_forward_reference<T>(const Conv2dShape&, const T*, const T*, const T*,  \
                                                               T*);                                               \
  template void upsample_nearest2x_conv2d_backward_data_reference<T>(const Conv2dShape&, const T*, const T*, T*); \
  template void upsample_nearest2x_conv2d_backward_weight_reference<T>(const Conv2dShape&, const T*, const T*, T*, \
                                                                       T*);
SR_INSTANTIATE_UPCONV(float)
SR_INSTANTIATE_UPCONV(double)
#undef SR_INSTANTIATE_UPCONV

}  // namespace sr::cpu
