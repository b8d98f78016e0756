// The conv-variant parity cases of the cuda/ and simt/ suites (tests/test_cuda_parity.cpp,
// tests/test_simt_kernels.cpp): a convolution on channel views (the input and output are
// channel ranges of larger buffers, as in the dense blocks), its random data, and the CPU
// float64 reference of each direction, with the check that nothing outside a view was
// written. The suites differ only in how they run the device kernels.
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "kernels/cpu/conv2d.h"
#include "support/parity.h"

namespace sr::test {

struct ConvCase {
  int64_t N, C, H, W, K, R, S;
  int stride, pad;
  int64_t extra_in = 0, extra_out = 0;  // channel-range views: buffer has C + extra_in channels, view at offset 1
};

inline std::string describe(const ConvCase& c) {
  return str_cat("N", c.N, " C", c.C, " ", c.H, "x", c.W, " K", c.K, " ", c.R, "x", c.S, " s", c.stride, " p", c.pad,
                 c.extra_in || c.extra_out ? " (views)" : "");
}

// The shape with the views' batch strides.
inline Conv2dShape conv_shape(const ConvCase& c) {
  Conv2dShape s = make_conv2d_shape(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.stride, c.pad);
  s.x_batch_stride = (c.C + c.extra_in) * c.H * c.W;
  s.y_batch_stride = (c.K + c.extra_out) * s.P * s.Q;
  return s;
}

// Fresh random buffers for one case, and the references. Forward runs the full fused
// epilogue: y = res + 0.5 * sqrt2 * leaky(conv + bias, 0.2) into the y view of a NaN buffer.
struct ConvViewData {
  ConvCase c;
  Conv2dShape s, sc;  // s: on the views; sc: the CPU reference on contiguous copies
  int64_t HW, PQ, x_off, y_off, x_len, y_len;
  std::mt19937_64 rng;
  std::vector<float> xbuf, w, bias, res, dybuf;
  std::vector<double> xc, dyc, wd, bd;

  ConvViewData(const ConvCase& cc, uint64_t seed) : c(cc), s(conv_shape(cc)), sc(s), rng(seed) {
    HW = c.H * c.W;
    PQ = s.P * s.Q;
    x_off = c.extra_in ? HW : 0;
    y_off = c.extra_out ? PQ : 0;
    x_len = c.N * s.x_batch_stride;
    y_len = c.N * s.y_batch_stride;
    xbuf = parity::random_floats(rng, x_len);
    w = parity::random_floats(rng, c.K * c.C * c.R * c.S);
    bias = parity::random_floats(rng, c.K);
    res = parity::random_floats(rng, y_len);
    dybuf = parity::random_floats(rng, y_len);
    sc.x_batch_stride = c.C * HW;
    sc.y_batch_stride = c.K * PQ;
    xc.resize(c.N * c.C * HW);
    dyc.resize(c.N * c.K * PQ);
    for (int64_t n = 0; n < c.N; ++n) {
      for (int64_t i = 0; i < c.C * HW; ++i) xc[n * c.C * HW + i] = xbuf[x_off + n * s.x_batch_stride + i];
      for (int64_t i = 0; i < c.K * PQ; ++i) dyc[n * c.K * PQ + i] = dybuf[y_off + n * s.y_batch_stride + i];
    }
    wd = parity::to_double(w);
    bd = parity::to_double(bias);
  }

  // The forward epilogue above, for a device kernel: bias_dev and res_dev are the device
  // copies of bias and of res (the whole buffer: the view's offset is added here).
  template <class Epilogue>
  Epilogue epilogue(const float* bias_dev, const float* res_dev) const {
    Epilogue ep;
    ep.bias = bias_dev;
    ep.leaky_relu = true;
    ep.slope = 0.2f;
    ep.gain = std::sqrt(2.0f);
    ep.residual = res_dev + y_off;
    ep.residual_batch_stride = s.y_batch_stride;
    ep.residual_scale = 0.5f;
    return ep;
  }

  // The backward-data epilogue's derivative on the channels [C/3, C-1) (a range strictly
  // inside them), slope 0.2, read off act_dev: the device copy of an activation with the dx
  // buffer's layout (the whole buffer: the view's offset is added here).
  template <class DgradEpilogue>
  DgradEpilogue dgrad_epilogue(const float* act_dev) const {
    DgradEpilogue ep;
    ep.y = act_dev + x_off;
    ep.y_batch_stride = s.x_batch_stride;
    ep.c_begin = c.C / 3;
    ep.c_end = c.C - 1;
    ep.slope = 0.2f;
    return ep;
  }

  struct Result {
    std::vector<double> got, ref;
  };

  // The forward output buffer (whole, y_len) against the reference inside the view; a
  // write outside the view fails the test.
  Result forward(const std::vector<float>& out, const std::string& ctx) const {
    Result r{std::vector<double>(c.N * c.K * PQ), std::vector<double>(c.N * c.K * PQ)};
    cpu::conv2d_forward<double>(sc, xc.data(), wd.data(), bd.data(), r.ref.data());
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t i = 0; i < s.y_batch_stride; ++i) {
        const int64_t at = n * s.y_batch_stride + i;
        if (i < y_off || i >= y_off + c.K * PQ) {
          if (!std::isnan(out[at])) FAIL(ctx << " forward: wrote outside the output view at " << at);
          continue;
        }
        const int64_t k = n * c.K * PQ + i - y_off;
        double z = r.ref[k];
        z = (double)std::sqrt(2.0f) * (z > 0 ? z : 0.2 * z);
        r.ref[k] = (double)res[at] + 0.5 * z;
        r.got[k] = out[at];
      }
    return r;
  }

  // The backward-data buffer (whole, x_len), which held `init` before (NaN, or random when
  // accumulating), against the reference inside the view; outside it must be untouched.
  Result backward_data(const std::vector<float>& out, const std::vector<float>& init, bool accumulate,
                       const std::string& ctx) const {
    Result r{std::vector<double>(c.N * c.C * HW), std::vector<double>(c.N * c.C * HW)};
    cpu::conv2d_backward_data<double>(sc, dyc.data(), wd.data(), r.ref.data());
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t i = 0; i < s.x_batch_stride; ++i) {
        const int64_t at = n * s.x_batch_stride + i;
        if (i < x_off || i >= x_off + c.C * HW) {
          const bool untouched = accumulate ? out[at] == init[at] : std::isnan(out[at]);
          if (!untouched) FAIL(ctx << " backward-data: wrote outside the dx view at " << at);
          continue;
        }
        const int64_t k = n * c.C * HW + i - x_off;
        if (accumulate) r.ref[k] += init[at];
        r.got[k] = out[at];
      }
    return r;
  }

  // The epilogues the dense block folds its elementwise passes into (conv2d.h), on top of
  // forward()'s and backward_data()'s results:
  //   forward        ref = outer + outer_scale * ref, outer a view of its own buffer
  //                  (images o_bs apart, the view at o_off)
  //   backward-data  ref *= leaky'(act) on channels [cb, ce), act a LeakyReLU output with
  //                  the dx buffer's layout (its sign picks the slope); and
  //                  ref += scale * term, term a view with dx's (C, H, W) layout in a
  //                  buffer of its own (images t_bs apart, the view at t_off): the
  //                  epilogue's source (scale 1) and its residual
  void add_outer(Result& r, const std::vector<float>& outer, int64_t o_bs, int64_t o_off, double outer_scale) const {
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t i = 0; i < c.K * PQ; ++i) {
        double& ref = r.ref[n * c.K * PQ + i];
        ref = (double)outer[n * o_bs + o_off + i] + outer_scale * ref;
      }
  }
  void apply_leaky_grad(Result& r, const std::vector<float>& act, int64_t cb, int64_t ce, double slope) const {
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t ch = cb; ch < ce; ++ch)
        for (int64_t hw = 0; hw < HW; ++hw)
          r.ref[(n * c.C + ch) * HW + hw] *= act[n * s.x_batch_stride + x_off + ch * HW + hw] > 0 ? 1.0 : slope;
  }
  void add_dx_term(Result& r, const std::vector<float>& term, int64_t t_bs, int64_t t_off, double scale) const {
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t i = 0; i < c.C * HW; ++i) r.ref[n * c.C * HW + i] += scale * (double)term[n * t_bs + t_off + i];
  }

  // The references of dw += ... and dbias += ... from the starting values dw0, db0.
  struct WeightRef {
    std::vector<double> dw, dbias;
  };
  WeightRef backward_weight_ref(const std::vector<float>& dw0, const std::vector<float>& db0) const {
    WeightRef r{std::vector<double>(w.size(), 0.0), std::vector<double>(c.K, 0.0)};
    cpu::conv2d_backward_weight<double>(sc, xc.data(), dyc.data(), r.dw.data(), r.dbias.data());
    for (size_t i = 0; i < r.dw.size(); ++i) r.dw[i] += dw0[i];
    for (int64_t k = 0; k < c.K; ++k) r.dbias[k] += db0[k];
    return r;
  }
};

}  // namespace sr::test
