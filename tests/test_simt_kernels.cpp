// simt/: the real CUDA kernels (kernels/cuda/*.cu, compiled for the SIMT interpreter as
// sr::simt::*) against the CPU reference kernels (kernels/cpu, float64), on random inputs,
// on every CI machine. Outputs start as NaN (the interpreter's device memory is poisoned),
// so an element a kernel forgets to write fails; the interpreter itself reports barrier,
// warp and out-of-bounds faults through the launch check. Tolerances are the parity
// suite's (tests/test_cuda_parity.cpp): fp32 1e-5, tf32 2e-3, bf16 1.5e-2 / 1e-2.
// Shapes are small: the interpreter runs every CUDA thread as a fiber.
#include "kernels/simt/kernels.h"  // first: kernels/cuda's headers as sr::simt

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/batch_norm.h"
#include "kernels/cpu/channel_attention.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/layer_norm.h"
#include "kernels/cpu/overlap_window_attention.h"
#include "kernels/cpu/loss.h"
#include "kernels/cpu/optimizer.h"
#include "kernels/cpu/pad_reflect.h"
#include "kernels/cpu/pool.h"
#include "kernels/cpu/prelu.h"
#include "kernels/cpu/rdb.h"
#include "kernels/cpu/resample.h"
#include "kernels/cpu/spectral_norm.h"
#include "kernels/cpu/transpose_tokens.h"
#include "kernels/cpu/upsample_nearest2x_conv2d.h"
#include "kernels/cpu/window_partition.h"
#include "kernels/cpu/window_attention.h"
#include "kernels/cuda/conv2d_igemm_v2_plan.h"
#include "kernels/cuda/conv2d_wgmma_plan.h"
#include "support/conv_views.h"
#include "support/fresh_seed.h"
#include "support/simt_support.h"

#ifdef SRENGINE_WITH_SIMT

using namespace sr;
using namespace sr::simt_test;
using sr::Conv2dShape;

namespace {

// ---- elementwise, activation ---------------------------------------------------------------------

void test_elementwise() {
  std::mt19937_64 rng(101);
  const int64_t n = 3001;  // 12 blocks of 256, the last one partial
  const auto a = random_floats(rng, n), b = random_floats(rng, n);
  const auto da = to_double(a), db = to_double(b);
  Dev A(a), B(b);
  std::vector<double> ref(n);
  auto run = [&](const char* what, auto&& kernel, auto&& reference) {
    Dev Y(n);
    kernel(Y.p);
    reference(ref.data());
    compare(what, Y.get(), ref, kFp32);
  };
  run("add", [&](float* y) { sr::simt::add(A.p, B.p, y, n); }, [&](double* r) { cpu::add(da.data(), db.data(), r, n); });
  run("sub", [&](float* y) { sr::simt::sub(A.p, B.p, y, n); }, [&](double* r) { cpu::sub(da.data(), db.data(), r, n); });
  run("mul", [&](float* y) { sr::simt::mul(A.p, B.p, y, n); }, [&](double* r) { cpu::mul(da.data(), db.data(), r, n); });
  run("axpby", [&](float* y) { sr::simt::axpby(0.3f, A.p, -1.25f, B.p, y, n); },
      [&](double* r) { cpu::axpby(0.3, da.data(), -1.25, db.data(), r, n); });
  run("scale", [&](float* y) { sr::simt::scale(A.p, -0.7f, y, n); }, [&](double* r) { cpu::scale(da.data(), -0.7, r, n); });
  run("abs", [&](float* y) { sr::simt::abs_forward(A.p, y, n); }, [&](double* r) { cpu::abs_forward(da.data(), r, n); });
  run("abs_backward", [&](float* y) { sr::simt::abs_backward(A.p, B.p, y, n); },
      [&](double* r) { cpu::abs_backward(da.data(), db.data(), r, n); });
  run("relu", [&](float* y) { sr::simt::relu_forward(A.p, y, n); }, [&](double* r) { cpu::relu_forward(da.data(), r, n); });
  run("relu_backward", [&](float* y) { sr::simt::relu_backward(A.p, B.p, y, n); },
      [&](double* r) { cpu::relu_backward(da.data(), db.data(), r, n); });
  run("sigmoid", [&](float* y) { sr::simt::sigmoid_forward(A.p, y, n); },
      [&](double* r) { cpu::sigmoid_forward(da.data(), r, n); });
  run("sigmoid_backward", [&](float* y) { sr::simt::sigmoid_backward(A.p, B.p, y, n); },
      [&](double* r) { cpu::sigmoid_backward(da.data(), db.data(), r, n); });
  {  // gelu of 4a (standard deviation 4): both tails of the erf and the dip of gelu' below 0
    std::vector<float> wide(n);
    for (int64_t i = 0; i < n; ++i) wide[i] = 4.f * a[i];
    const auto dw = to_double(wide);
    Dev W(wide);
    run("gelu", [&](float* y) { sr::simt::gelu_forward(W.p, y, n); }, [&](double* r) { cpu::gelu_forward(dw.data(), r, n); });
    run("gelu_backward", [&](float* y) { sr::simt::gelu_backward(W.p, B.p, y, n); },
        [&](double* r) { cpu::gelu_backward(dw.data(), db.data(), r, n); });
  }
  {  // square_root of |a| (a zero included: its gradient's floor), its backward from the output
    std::vector<float> pos(n);
    for (int64_t i = 0; i < n; ++i) pos[i] = i == 7 ? 0.f : std::fabs(a[i]);
    const auto dpos = to_double(pos);
    Dev P(pos), Y(n), DX(n);
    std::fill(Y.p, Y.p + n, NAN);  // unwritten elements fail
    std::fill(DX.p, DX.p + n, NAN);
    sr::simt::square_root_forward(P.p, Y.p, n);
    std::vector<double> r(n), dr(n);
    cpu::square_root_forward(dpos.data(), r.data(), n);
    compare("square_root", Y.get(), r, kFp32);
    sr::simt::square_root_backward(Y.p, B.p, DX.p, n);
    cpu::square_root_backward(r.data(), db.data(), dr.data(), n);
    compare("square_root_backward", DX.get(), dr, kFp32);
  }
  {  // in place: y += a*x
    Dev Y(a);
    sr::simt::axpy_inplace(Y.p, -0.5f, B.p, n);
    std::vector<double> r = da;
    cpu::axpy_inplace(r.data(), -0.5, db.data(), n);
    compare("axpy_inplace", Y.get(), r, kFp32);
  }
}

void test_activation() {
  std::mt19937_64 rng(102);
  const int64_t N = 2, C = 5, HW = 6 * 7, n = N * C * HW;
  const auto x = random_floats(rng, n), dy = random_floats(rng, n), bias = random_floats(rng, C);
  const auto dx_ = to_double(x), ddy = to_double(dy), dbias = to_double(bias);
  Dev X(x), DY(dy), Bias(bias);
  {
    Dev Y(n);
    sr::simt::leaky_relu_forward(X.p, Y.p, n, 0.2f);
    std::vector<double> r(n);
    cpu::leaky_relu_forward(dx_.data(), r.data(), n, 0.2);
    compare("leaky_relu", Y.get(), r, kFp32);
    Dev DX(n);
    sr::simt::leaky_relu_backward(Y.p, DY.p, DX.p, n, 0.2f);
    std::vector<double> rdx(n);
    cpu::leaky_relu_backward(r.data(), ddy.data(), rdx.data(), n, 0.2);
    compare("leaky_relu_backward", DX.get(), rdx, kFp32);
  }
  {
    const float gain = std::sqrt(2.0f);
    Dev Y(n);
    sr::simt::bias_leaky_relu_forward(X.p, Bias.p, Y.p, N, C, HW, 0.2f, gain);
    std::vector<double> r(n);
    cpu::bias_leaky_relu_forward(dx_.data(), dbias.data(), r.data(), N, C, HW, 0.2, (double)gain);
    compare("bias_leaky_relu", Y.get(), r, kFp32);
    const auto db0 = random_floats(rng, C);
    Dev DX(n), DB(db0);
    sr::simt::bias_leaky_relu_backward(Y.p, DY.p, DX.p, DB.p, N, C, HW, 0.2f, gain);
    std::vector<double> rdx(n), rdb = to_double(db0);
    cpu::bias_leaky_relu_backward(r.data(), ddy.data(), rdx.data(), rdb.data(), N, C, HW, 0.2, (double)gain);
    compare("bias_leaky_relu_backward dx", DX.get(), rdx, kFp32);
    compare("bias_leaky_relu_backward dbias", DB.get(), rdb, kFp32);
  }
}

// ---- resample ------------------------------------------------------------------------------------

void test_resample() {
  std::mt19937_64 rng(103);
  for (int r : {2, 3, 4}) {
    const int64_t N = 2, C = 3, H = 5, W = 6, n = N * C * r * r * H * W;
    const auto x = random_floats(rng, n);
    const auto dx_ = to_double(x);
    Dev X(x), Y(n), Z(n);
    sr::simt::pixel_shuffle(X.p, Y.p, N, C, H, W, r);
    std::vector<double> ref(n), ref2(n);
    cpu::pixel_shuffle(dx_.data(), ref.data(), N, C, H, W, r);
    compare("pixel_shuffle r" + std::to_string(r), Y.get(), ref, kExact);
    sr::simt::pixel_unshuffle(X.p, Z.p, N, C, H, W, r);
    cpu::pixel_unshuffle(dx_.data(), ref2.data(), N, C, H, W, r);
    compare("pixel_unshuffle r" + std::to_string(r), Z.get(), ref2, kExact);
  }
  for (auto [H, W] : {std::pair<int64_t, int64_t>{5, 7}, {1, 1}, {1, 6}}) {
    const int64_t NC = 6, n = NC * H * W;
    const auto x = random_floats(rng, n);
    const auto dx_ = to_double(x);
    const std::string shape = sr::str_cat(" ", H, "x", W);
    Dev X(x);
    for (int r : {2, 3, 4}) {
      const int64_t nr = r * r * n;
      const auto dyr = random_floats(rng, nr);
      const auto ddyr = to_double(dyr);
      Dev Y(nr), DYR(dyr), DX(n);
      std::vector<double> ry(nr), rdx(n);
      const std::string name = sr::str_cat("upsample_nearest r", r);
      sr::simt::upsample_nearest_forward(X.p, Y.p, NC, H, W, r);
      cpu::upsample_nearest_forward(dx_.data(), ry.data(), NC, H, W, r);
      compare(name + shape, Y.get(), ry, kFp32);
      sr::simt::upsample_nearest_backward(DYR.p, DX.p, NC, H, W, r);
      cpu::upsample_nearest_backward(ddyr.data(), rdx.data(), NC, H, W, r);
      compare(name + "_backward" + shape, DX.get(), rdx, kFp32);
      // Both add each r x r block in row order (i, then j), plain float adds: bit for bit.
      std::vector<float> rdx_f(n);
      cpu::upsample_nearest_backward(dyr.data(), rdx_f.data(), NC, H, W, r);
      compare(name + "_backward float order" + shape, DX.get(), to_double(rdx_f), kExact);
      const std::string bname = sr::str_cat("upsample_bilinear r", r);
      Dev YB(nr), DXB(n);
      sr::simt::upsample_bilinear_forward(X.p, YB.p, NC, H, W, r);
      cpu::upsample_bilinear_forward(dx_.data(), ry.data(), NC, H, W, r);
      compare(bname + shape, YB.get(), ry, kFp32);
      sr::simt::upsample_bilinear_backward(DYR.p, DXB.p, NC, H, W, r);
      cpu::upsample_bilinear_backward(ddyr.data(), rdx.data(), NC, H, W, r);
      compare(bname + "_backward" + shape, DXB.get(), rdx, kFp32);
    }
  }
}

// ---- reductions and losses -------------------------------------------------------------------------

void test_reduce() {
  std::mt19937_64 rng(104);
  {  // several 16384-element chunks per channel, channel-range view (batch stride)
    const int64_t N = 3, C = 3, HW = 6000, stride = (C + 1) * HW;
    const auto x = random_floats(rng, N * stride);
    const auto out0 = random_floats(rng, C);
    Dev X(x), Out(out0), Fresh(C);
    sr::simt::channel_sum(X.p, N, C, HW, stride, Out.p, /*accumulate=*/true);
    sr::simt::channel_sum(X.p, N, C, HW, stride, Fresh.p, /*accumulate=*/false);
    std::vector<double> ref(C, 0.0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < HW; ++i) ref[c] += x[n * stride + c * HW + i];
    compare("channel_sum", Fresh.get(), ref, kFp32);
    for (int64_t c = 0; c < C; ++c) ref[c] += out0[c];
    compare("channel_sum (accumulate)", Out.get(), ref, kFp32);
  }
  {
    const int64_t n = 3 * math::kLossBlock + 77;
    const auto a = random_floats(rng, n), b = random_floats(rng, n);
    Dev A(a), B(b);
    DevT<double> r1(1), r2(1);
    sr::simt::dot_to_device(A.p, B.p, n, r1.p);
    sr::simt::dot_to_device(A.p, nullptr, n, r2.p);
    double dot = 0, sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      dot += (double)a[i] * b[i];
      sum += a[i];
    }
    compare("dot", r1.get(), {dot}, kFp64Sum);
    compare("sum", r2.get(), {sum}, kFp64Sum);
  }
}

void test_loss() {
  std::mt19937_64 rng(105);
  using math::PointLoss;
  const int64_t n = 2 * math::kLossBlock + 301;
  const auto x = random_floats(rng, n), t = random_floats(rng, n);
  const auto dx_ = to_double(x), dt_ = to_double(t);
  Dev X(x), T(t);
  struct K {
    PointLoss kind;
    const char* name;
    bool target;
    double param;
  };
  for (const K& k : {K{PointLoss::identity, "sum", false, 0}, K{PointLoss::abs_diff, "l1", true, 0},
                     K{PointLoss::sq_diff, "mse", true, 0}, K{PointLoss::charbonnier, "charbonnier", true, 1e-6},
                     K{PointLoss::bce, "bce", false, 0.9}, K{PointLoss::hinge_real, "hinge_real", false, 0},
                     K{PointLoss::hinge_fake, "hinge_fake", false, 0}}) {
    const double scale = 1.0 / (double)n;
    Dev Out(1);
    sr::simt::loss_sum(k.kind, X.p, k.target ? T.p : nullptr, n, k.param, scale, Out.p);
    const double ref = cpu::loss_sum(k.kind, dx_.data(), k.target ? dt_.data() : nullptr, n, k.param) * scale;
    compare(std::string(k.name) + " loss", Out.get(), {ref}, kFp32);
    // backward with an upstream gradient on the device
    Dev G(std::vector<float>{1.5f}), DX(n), DT(n);
    sr::simt::loss_backward(k.kind, X.p, k.target ? T.p : nullptr, DX.p, k.target ? DT.p : nullptr, n, k.param, G.p,
                            scale);
    std::vector<double> rdx(n), rdt(n);
    const double s = (double)(float)(1.5 * scale);
    cpu::loss_backward(k.kind, dx_.data(), k.target ? dt_.data() : nullptr, rdx.data(),
                       k.target ? rdt.data() : nullptr, n, k.param, s);
    compare(std::string(k.name) + " loss_backward dx", DX.get(), rdx, kFp32);
    if (k.target) compare(std::string(k.name) + " loss_backward dt", DT.get(), rdt, kFp32);
  }
}

// ---- optimizer -------------------------------------------------------------------------------------

void test_optimizer() {
  std::mt19937_64 rng(106);
  // Three tensors, one larger than a 65536-element chunk, one without a gradient.
  const std::vector<int64_t> sizes{70000, 333, 1000};
  for (bool adamw : {false, true}) {
    AdamConfig cfg;
    cfg.lr = 2e-3;
    cfg.weight_decay = 0.01;
    cfg.decoupled = adamw;
    const AdamStep step = adam_step_scalars(cfg, 3);
    std::vector<std::vector<float>> p, g, m, v;
    for (int64_t s : sizes) {
      p.push_back(random_floats(rng, s));
      g.push_back(random_floats(rng, s));
      m.push_back(random_floats(rng, s));
      auto vv = random_floats(rng, s);
      for (auto& e : vv) e = std::fabs(e);
      v.push_back(vv);
    }
    std::vector<std::unique_ptr<Dev>> dp, dg, dm, dv;
    std::vector<float*> pp, pm, pv;
    std::vector<const float*> pg;
    for (size_t i = 0; i < sizes.size(); ++i) {
      dp.push_back(std::make_unique<Dev>(p[i]));
      dg.push_back(std::make_unique<Dev>(g[i]));
      dm.push_back(std::make_unique<Dev>(m[i]));
      dv.push_back(std::make_unique<Dev>(v[i]));
      pp.push_back(dp[i]->p);
      pg.push_back(i == 1 ? nullptr : dg[i]->p);
      pm.push_back(dm[i]->p);
      pv.push_back(dv[i]->p);
    }
    sr::simt::adam_update(step, pp.data(), pg.data(), pm.data(), pv.data(), sizes.data(), (int)sizes.size());
    std::vector<float*> cp, cm, cv;
    std::vector<const float*> cg;
    for (size_t i = 0; i < sizes.size(); ++i) {
      cp.push_back(p[i].data());
      cg.push_back(i == 1 ? nullptr : g[i].data());
      cm.push_back(m[i].data());
      cv.push_back(v[i].data());
    }
    cpu::adam_update(step, cp.data(), cg.data(), cm.data(), cv.data(), sizes.data(), (int)sizes.size());
    const std::string what = adamw ? "adamw" : "adam";
    for (size_t i = 0; i < sizes.size(); ++i) {  // the same float formula: bitwise equal
      compare(what + " param " + std::to_string(i), dp[i]->get(), to_double(p[i]), kExact);
      compare(what + " exp_avg " + std::to_string(i), dm[i]->get(), to_double(m[i]), kExact);
      compare(what + " exp_avg_sq " + std::to_string(i), dv[i]->get(), to_double(v[i]), kExact);
    }
    // EMA over the updated parameters
    std::vector<std::vector<float>> e;
    std::vector<std::unique_ptr<Dev>> de;
    std::vector<float*> pe, ce;
    std::vector<const float*> pc, cc;
    for (size_t i = 0; i < sizes.size(); ++i) {
      e.push_back(random_floats(rng, sizes[i]));
      de.push_back(std::make_unique<Dev>(e[i]));
      pe.push_back(de[i]->p);
      pc.push_back(dp[i]->p);
      ce.push_back(e[i].data());
      cc.push_back(p[i].data());
    }
    sr::simt::ema_update(0.999, pe.data(), pc.data(), sizes.data(), (int)sizes.size());
    cpu::ema_update(0.999, ce.data(), cc.data(), sizes.data(), (int)sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i)
      compare("ema " + std::to_string(i), de[i]->get(), to_double(e[i]), kExact);

    // The gated step (what a training step runs): adam_step_gated computes the scalars on the
    // device from the device's step count, learning rate and gate, bitwise the host's; a
    // NaN or infinite gate leaves the count, the parameters, the moments and the EMA as they
    // were. Fresh step counts and learning rates; the outputs start as NaN.
    std::uniform_int_distribution<int> steps(0, 5000);
    for (const float gate : {0.f, NAN, INFINITY}) {
      const double t0 = (double)steps(rng), lr = 1e-4 * (1 + steps(rng));
      DevT<double> d_lr(std::vector<double>{lr}), d_step(std::vector<double>{t0});
      Dev d_gate(std::vector<float>{gate});
      const int64_t words = (int64_t)(sizeof(AdamStep) / sizeof(float));
      Dev d_scalars(std::vector<float>(words, NAN));
      auto* dev_s = reinterpret_cast<AdamStep*>(d_scalars.p);
      sr::simt::adam_step_gated(cfg, d_lr.p, d_gate.p, d_step.p, dev_s);
      double host_step = t0;
      const AdamStep want = adam_step_gated(cfg, lr, gate, host_step);
      const std::string g = "gate " + std::to_string(gate);
      CHECK(d_step.get()[0] == host_step);
      CHECK(host_step == (gate == 0.f ? t0 + 1 : t0));
      CHECK(std::memcmp(dev_s, &want, sizeof want) == 0);
      CHECK((want.skip != 0.f) == (gate != 0.f));
      std::vector<std::vector<double>> p0, m0, v0, e0;
      for (size_t i = 0; i < sizes.size(); ++i) {
        p0.push_back(to_double(dp[i]->get()));
        m0.push_back(to_double(dm[i]->get()));
        v0.push_back(to_double(dv[i]->get()));
        e0.push_back(to_double(de[i]->get()));
      }
      sr::simt::adam_update(static_cast<const AdamStep*>(dev_s), pp.data(), pg.data(), pm.data(), pv.data(),
                            sizes.data(), (int)sizes.size());
      sr::simt::ema_update(0.999, pe.data(), pc.data(), sizes.data(), (int)sizes.size(), d_gate.p);
      for (size_t i = 0; i < sizes.size(); ++i) {
        const bool moves = gate == 0.f && i != 1;  // tensor 1 has no gradient
        INFO(what << " gated, " << g << ", tensor " << i);
        CHECK((to_double(dp[i]->get()) != p0[i]) == moves);
        CHECK((to_double(dm[i]->get()) != m0[i]) == moves);
        CHECK((to_double(de[i]->get()) != e0[i]) == (gate == 0.f));
      }
    }
  }
  // fp16's loss scaling: loss_unscale multiplies by 1/S from device memory, bitwise the
  // CPU's, passes a null gradient over and flags a non-finite product (an inf planted in
  // the large tensor's second chunk) and nothing else; loss_scale_update is the host rule's
  // double arithmetic bit for bit, with the float32 copy of S beside it.
  for (const bool plant_inf : {false, true}) {
    const LossScaleState st{3000.5, 1.0 / 3000.5, 1, 4};
    std::vector<std::vector<float>> g;
    std::vector<std::unique_ptr<Dev>> dg;
    std::vector<float*> pg, cg;
    for (size_t i = 0; i < sizes.size(); ++i) {
      g.push_back(random_floats(rng, sizes[i]));
      if (plant_inf && i == 0) g[0][66000] = INFINITY;
      dg.push_back(std::make_unique<Dev>(g[i]));
      pg.push_back(i == 1 ? nullptr : dg[i]->p);
      cg.push_back(i == 1 ? nullptr : g[i].data());
    }
    DevT<double> d_state(std::vector<double>{st.scale, st.inv_scale, st.good_steps, st.skipped});
    Dev d_found(std::vector<float>{0.f});
    const auto* dev_st = reinterpret_cast<const LossScaleState*>(d_state.p);
    sr::simt::loss_unscale(dev_st, pg.data(), sizes.data(), (int)sizes.size(), d_found.p);
    float found = 0.f;
    cpu::loss_unscale(st, cg.data(), sizes.data(), (int)sizes.size(), &found);
    INFO("planted inf " << plant_inf);
    for (size_t i = 0; i < sizes.size(); ++i)
      compare("loss_unscale " + std::to_string(i), dg[i]->get(), to_double(g[i]), kExact);
    CHECK(std::isnan(d_found.get()[0]) == plant_inf);
    CHECK(std::isnan(found) == plant_inf);
    const LossScaleRule rule{1.5, 0.25, 2};
    Dev d_scale32(std::vector<float>{NAN});
    sr::simt::loss_scale_update(rule, d_found.p, reinterpret_cast<LossScaleState*>(d_state.p), d_scale32.p);
    LossScaleState want = st;
    loss_scale_update(rule, found, want);
    const std::vector<double> got = d_state.get();
    CHECK(got == std::vector<double>{want.scale, want.inv_scale, want.good_steps, want.skipped});
    CHECK(want.scale == (plant_inf ? 3000.5 * 0.25 : 3000.5 * 1.5));
    CHECK(d_scale32.get()[0] == (float)want.scale);
  }
}

// ---- spectral norm -----------------------------------------------------------------------------------

void test_spectral_norm() {
  std::mt19937_64 rng(107);
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{16, 72}, {37, 1100}}) {
    const std::string shape = sr::str_cat(" ", rows, "x", cols);
    const auto w = random_floats(rng, rows * cols), u0 = random_floats(rng, rows), v0 = random_floats(rng, cols),
               g = random_floats(rng, rows * cols);
    Dev W(w), U(u0), V(v0), G(g), Y(rows * cols), DW(rows * cols);
    DevT<double> sigma(1);
    sr::simt::spectral_norm_power_iteration(W.p, U.p, V.p, rows, cols, 2, 1e-12);
    sr::simt::spectral_norm_sigma(W.p, U.p, V.p, rows, cols, sigma.p);
    sr::simt::spectral_norm_divide(W.p, sigma.p, Y.p, rows * cols);
    sr::simt::spectral_norm_backward(W.p, G.p, U.p, V.p, sigma.p, DW.p, rows, cols);
    auto dw_ = to_double(w), du = to_double(u0), dv = to_double(v0), dg = to_double(g);
    cpu::spectral_norm_power_iteration(dw_.data(), du.data(), dv.data(), rows, cols, 2, 1e-12);
    const double s = cpu::spectral_norm_sigma(dw_.data(), du.data(), dv.data(), rows, cols);
    compare("spectral_norm u" + shape, U.get(), du, kFp32);
    compare("spectral_norm v" + shape, V.get(), dv, kFp32);
    compare("spectral_norm sigma" + shape, sigma.get(), {s}, kFp32);
    std::vector<double> ry(rows * cols), rdw(rows * cols);
    for (int64_t i = 0; i < rows * cols; ++i) ry[i] = dw_[i] / s;
    compare("spectral_norm W / sigma" + shape, Y.get(), ry, kFp32);
    // the backward with the device's (float) u and v, as the op saves them
    const auto uf = to_double(U.get()), vf = to_double(V.get());
    cpu::spectral_norm_backward(dw_.data(), dg.data(), uf.data(), vf.data(), sigma.get()[0], rdw.data(), rows, cols);
    compare("spectral_norm_backward" + shape, DW.get(), rdw, kFp32);
  }
}

// ---- batch norm, pooling, PReLU ---------------------------------------------------------------------

void test_batch_norm() {
  std::mt19937_64 rng(108);
  const int64_t N = 3, C = 4, HW = 7000;  // two 16384-element chunks per channel
  const int64_t n = N * C * HW;
  const auto x = random_floats(rng, n), dy = random_floats(rng, n), gamma = random_floats(rng, C),
             beta = random_floats(rng, C);
  auto rv = random_floats(rng, C);
  for (auto& e : rv) e = 0.5f + std::fabs(e);
  const auto rm = random_floats(rng, C);
  for (bool training : {true, false}) {
    const std::string mode = training ? " (training)" : " (eval)";
    Dev X(x), DY(dy), Gm(gamma), Bt(beta), RM(rm), RV(rv), Y(n), DX(n);
    const auto dg0 = random_floats(rng, C), db0 = random_floats(rng, C);
    Dev DG(dg0), DB(db0);
    DevT<double> MEAN(C), INV(C);  // device statistics, poisoned until the forward writes them
    sr::simt::batch_norm_forward(X.p, Gm.p, Bt.p, Y.p, RM.p, RV.p, N, C, HW, training, 0.1, 1e-5, MEAN.p, INV.p);
    const std::vector<double> mean = MEAN.get(), invstd = INV.get();
    sr::simt::batch_norm_backward(X.p, DY.p, MEAN.p, INV.p, Gm.p, DX.p, DG.p, DB.p, N, C, HW, training);
    // reference
    const auto xd = to_double(x), dyd = to_double(dy), gd = to_double(gamma), bd = to_double(beta);
    std::vector<double> rmean(C), rvar(C), rinv(C), ry(n), rdx(n), rdg = to_double(dg0), rdb = to_double(db0);
    std::vector<double> rrm = to_double(rm), rrv = to_double(rv);
    if (training) {
      cpu::batch_norm_stats(xd.data(), N, C, HW, rmean.data(), rvar.data());
      const double M = (double)(N * HW);
      for (int64_t c = 0; c < C; ++c) {
        rrm[c] = (double)(float)(0.9 * rm[c] + 0.1 * rmean[c]);
        rrv[c] = (double)(float)(0.9 * rv[c] + 0.1 * rvar[c] * M / (M - 1));
      }
    } else {
      for (int64_t c = 0; c < C; ++c) {
        rmean[c] = rm[c];
        rvar[c] = rv[c];
      }
    }
    for (int64_t c = 0; c < C; ++c) rinv[c] = 1.0 / std::sqrt(rvar[c] + 1e-5);
    cpu::batch_norm_apply(xd.data(), rmean.data(), rinv.data(), gd.data(), bd.data(), ry.data(), N, C, HW);
    cpu::batch_norm_backward(xd.data(), dyd.data(), rmean.data(), rinv.data(), gd.data(), rdx.data(), rdg.data(),
                             rdb.data(), N, C, HW, training);
    compare("batch_norm mean" + mode, mean, rmean, kFp32);
    compare("batch_norm invstd" + mode, invstd, rinv, kFp32);
    compare("batch_norm y" + mode, Y.get(), ry, kFp32);
    compare("batch_norm running_mean" + mode, RM.get(), rrm, kFp32);
    compare("batch_norm running_var" + mode, RV.get(), rrv, kFp32);
    compare("batch_norm dx" + mode, DX.get(), rdx, kFp32);
    compare("batch_norm dgamma" + mode, DG.get(), rdg, kFp32);
    compare("batch_norm dbeta" + mode, DB.get(), rdb, kFp32);
  }
}

void test_channel_attention() {
  std::mt19937_64 rng(113);
  // 300 values a plane: one pass of the 256 threads and a partial second; 1 value: threads idle.
  for (const int64_t HW : {300, 1}) {
    const int64_t NC = 7, n = NC * HW;
    const auto x = random_floats(rng, n), dy = random_floats(rng, n), s = random_floats(rng, NC),
               dmean = random_floats(rng, NC);
    Dev X(x), DY(dy), S(s), DM(dmean), M(NC), DXM(n), Y(n), DX(n), DS(NC), DXONLY(n);
    sr::simt::spatial_mean_forward(X.p, M.p, NC, HW);
    sr::simt::spatial_mean_backward(DM.p, DXM.p, NC, HW);
    sr::simt::channel_scale_forward(X.p, S.p, Y.p, NC, HW);
    sr::simt::channel_scale_backward(X.p, S.p, DY.p, DX.p, DS.p, NC, HW);
    sr::simt::channel_scale_backward(X.p, S.p, DY.p, DXONLY.p, nullptr, NC, HW);  // ds not wanted
    const auto xd = to_double(x), dyd = to_double(dy), sd = to_double(s), dmd = to_double(dmean);
    std::vector<double> rm(NC), rdxm(n), ry(n), rdx(n), rds(NC);
    cpu::spatial_mean_forward(xd.data(), rm.data(), NC, HW);
    cpu::spatial_mean_backward(dmd.data(), rdxm.data(), NC, HW);
    cpu::channel_scale_forward(xd.data(), sd.data(), ry.data(), NC, HW);
    cpu::channel_scale_backward(xd.data(), sd.data(), dyd.data(), rdx.data(), rds.data(), NC, HW);
    const std::string what = " HW " + std::to_string(HW);
    compare("spatial_mean" + what, M.get(), rm, kFp32);
    compare("spatial_mean_backward" + what, DXM.get(), rdxm, kFp32);
    compare("channel_scale" + what, Y.get(), ry, kFp32);
    compare("channel_scale_backward dx" + what, DX.get(), rdx, kFp32);
    compare("channel_scale_backward ds" + what, DS.get(), rds, kFp32);
    compare("channel_scale_backward dx without ds" + what, DXONLY.get(), rdx, kFp32);
  }
}

void test_window_attention() {
  const uint64_t seed = sr::test::fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  struct Case {
    int64_t images, H, W;
    int ws, heads, d, shift;
  };
  const Case cases[] = {
      {2, 8, 16, 8, 2, 30, 4},  // SwinIR's window and head dim, shifted: N 64, 2 images of 2 windows
      {2, 6, 9, 3, 3, 5, 1},    // odd window (N 9: lanes idle), 2x3 windows, odd d
      {1, 6, 6, 3, 2, 7, 0},    // no shift: no mask
      {1, 16, 16, 16, 1, 30, 8},  // HAT's window: N 256, 8 rows a lane, 1 window
      {1, 16, 16, 16, 1, 64, 8},  // the limits: N 256, d 64 (151 KiB of shared memory)
  };
  for (const Case& c : cases) {
    WindowAttentionShape s;
    s.windows = c.images * (c.H / c.ws) * (c.W / c.ws);
    s.heads = c.heads;
    s.head_dim = c.d;
    s.H = c.H;
    s.W = c.W;
    s.window = c.ws;
    s.shift = c.shift;
    s.scale = 1.0 / std::sqrt((double)c.d);
    const int64_t N = s.tokens(), C = s.channels(), nqkv = s.windows * N * 3 * C, nout = s.windows * N * C,
                  ntab = (int64_t)s.table_rows() * c.heads;
    const auto qkv = random_floats(rng, nqkv), table = random_floats(rng, ntab), dout = random_floats(rng, nout);
    Dev QKV(qkv), TAB(table), DOUT(dout), OUT(nout), DQKV(nqkv), DTAB(ntab), DQKV_ONLY(nqkv), DTAB_ONLY(ntab);
    sr::simt::window_attention_forward(QKV.p, TAB.p, OUT.p, s);
    sr::simt::window_attention_backward(QKV.p, TAB.p, DOUT.p, DQKV.p, DTAB.p, s);
    sr::simt::window_attention_backward(QKV.p, TAB.p, DOUT.p, DQKV_ONLY.p, nullptr, s);
    sr::simt::window_attention_backward(QKV.p, TAB.p, DOUT.p, nullptr, DTAB_ONLY.p, s);
    const auto qd = to_double(qkv), td = to_double(table), gd = to_double(dout);
    std::vector<double> rout(nout), rdqkv(nqkv), rdtab(ntab);
    cpu::window_attention_forward(qd.data(), td.data(), rout.data(), s);
    cpu::window_attention_backward(qd.data(), td.data(), gd.data(), rdqkv.data(), rdtab.data(), s);
    const std::string what = " ws " + std::to_string(c.ws) + " d " + std::to_string(c.d) + " heads " +
                             std::to_string(c.heads) + " shift " + std::to_string(c.shift);
    compare("window_attention" + what, OUT.get(), rout, kFp32);
    compare("window_attention_backward dqkv" + what, DQKV.get(), rdqkv, kFp32);
    compare("window_attention_backward dtable" + what, DTAB.get(), rdtab, kFp32);
    compare("window_attention_backward dqkv without dtable" + what, DQKV_ONLY.get(), rdqkv, kFp32);
    compare("window_attention_backward dtable without dqkv" + what, DTAB_ONLY.get(), rdtab, kFp32);
  }
  // Windows of more than 256 tokens or heads of more than 64 channels are refused, by name.
  WindowAttentionShape big;
  big.windows = 1;
  big.heads = 1;
  big.head_dim = 8;
  big.H = big.W = 17;
  big.window = 17;
  const std::string e1 = fault_of([&] { sr::simt::window_attention_forward(nullptr, nullptr, nullptr, big); });
  CHECK(e1.find("window_attention") != std::string::npos);
  CHECK(e1.find("window 17 (289 tokens)") != std::string::npos);
  big.H = big.W = big.window = 8;
  big.head_dim = 65;
  const std::string e2 =
      fault_of([&] { sr::simt::window_attention_backward(nullptr, nullptr, nullptr, nullptr, nullptr, big); });
  CHECK(e2.find("window_attention_backward") != std::string::npos);
  CHECK(e2.find("head dim 65") != std::string::npos);
}

void test_overlap_window_attention() {
  const uint64_t seed = sr::test::fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  struct Case {
    int64_t images, H, W;
    int ws, wse, heads, d;
  };
  const Case cases[] = {
      {1, 16, 32, 16, 24, 1, 30},  // HAT's windows and head dim: Nq 256, Nkv 576, both key windows past 3 borders
      {2, 6, 8, 2, 4, 2, 5},       // 3 x 4 windows: inner keys in 4 windows, border keys in 1 or 2; odd d
      {1, 6, 9, 3, 3, 3, 7},       // wse == ws: no padding, no overlap (Nkv 9: lanes idle)
      {1, 4, 6, 2, 8, 2, 3},       // wse > 2 ws (padding 3): a key in up to 16 windows, every window past every border
      {1, 4, 4, 4, 4, 1, 33},      // a second pass of the lanes over d
  };
  for (const Case& c : cases) {
    OverlapWindowAttentionShape s;
    s.images = c.images;
    s.heads = c.heads;
    s.head_dim = c.d;
    s.H = c.H;
    s.W = c.W;
    s.window = c.ws;
    s.overlap_window = c.wse;
    s.scale = 1.0 / std::sqrt((double)c.d);
    const int64_t C = s.channels(), rows = c.images * c.H * c.W, nqkv = rows * 3 * C, nout = rows * C,
                  ntab = (int64_t)s.table_rows() * c.heads;
    const auto qkv = random_floats(rng, nqkv), table = random_floats(rng, ntab), dout = random_floats(rng, nout);
    // Every output starts as NaN (device memory): an element left unwritten fails the comparison.
    Dev QKV(qkv), TAB(table), DOUT(dout), OUT(nout), DQKV(nqkv), DTAB(ntab), DQKV_ONLY(nqkv), DTAB_ONLY(ntab),
        DQKV_AGAIN(nqkv), DTAB_AGAIN(ntab);
    sr::simt::overlap_window_attention_forward(QKV.p, TAB.p, OUT.p, s);
    sr::simt::overlap_window_attention_backward(QKV.p, TAB.p, DOUT.p, DQKV.p, DTAB.p, s);
    sr::simt::overlap_window_attention_backward(QKV.p, TAB.p, DOUT.p, DQKV_ONLY.p, nullptr, s);
    sr::simt::overlap_window_attention_backward(QKV.p, TAB.p, DOUT.p, nullptr, DTAB_ONLY.p, s);
    sr::simt::overlap_window_attention_backward(QKV.p, TAB.p, DOUT.p, DQKV_AGAIN.p, DTAB_AGAIN.p, s);
    const auto qd = to_double(qkv), td = to_double(table), gd = to_double(dout);
    std::vector<double> rout(nout), rdqkv(nqkv), rdtab(ntab);
    cpu::overlap_window_attention_forward(qd.data(), td.data(), rout.data(), s);
    cpu::overlap_window_attention_backward(qd.data(), td.data(), gd.data(), rdqkv.data(), rdtab.data(), s);
    const std::string what = " " + std::to_string(c.H) + "x" + std::to_string(c.W) + " ws " + std::to_string(c.ws) +
                             " wse " + std::to_string(c.wse) + " d " + std::to_string(c.d) + " heads " +
                             std::to_string(c.heads);
    compare("overlap_window_attention" + what, OUT.get(), rout, kFp32);
    compare("overlap_window_attention_backward dqkv" + what, DQKV.get(), rdqkv, kFp32);
    compare("overlap_window_attention_backward dtable" + what, DTAB.get(), rdtab, kFp32);
    compare("overlap_window_attention_backward dqkv without dtable" + what, DQKV_ONLY.get(), rdqkv, kFp32);
    compare("overlap_window_attention_backward dtable without dqkv" + what, DTAB_ONLY.get(), rdtab, kFp32);
    // No atomics, fixed orders: a second backward gives the same bits.
    INFO("overlap_window_attention_backward" << what << ": a second run differs");
    CHECK(std::memcmp(DQKV_AGAIN.p, DQKV.p, sizeof(float) * nqkv) == 0);
    CHECK(std::memcmp(DTAB_AGAIN.p, DTAB.p, sizeof(float) * ntab) == 0);
    CHECK(std::memcmp(DQKV_ONLY.p, DQKV.p, sizeof(float) * nqkv) == 0);
    CHECK(std::memcmp(DTAB_ONLY.p, DTAB.p, sizeof(float) * ntab) == 0);
  }
  // Heads of more than 64 channels, or a key window whose backward block exceeds 227 KiB of
  // shared memory, are refused by name (before any launch: null buffers).
  OverlapWindowAttentionShape big;
  big.images = 1;
  big.heads = 1;
  big.head_dim = 65;
  big.H = big.W = 8;
  big.window = 4;
  big.overlap_window = 6;
  const std::string e1 = fault_of([&] { sr::simt::overlap_window_attention_forward(nullptr, nullptr, nullptr, big); });
  CHECK(e1.find("overlap_window_attention") != std::string::npos);
  CHECK(e1.find("head dim 65") != std::string::npos);
  big.H = big.W = 16;
  big.window = 16;
  big.overlap_window = 24;
  big.head_dim = 38;  // d 37 fits HAT's windows (218 KiB), d 38 does not (228 KiB)
  const std::string e2 =
      fault_of([&] { sr::simt::overlap_window_attention_backward(nullptr, nullptr, nullptr, nullptr, nullptr, big); });
  CHECK(e2.find("overlap_window_attention_backward") != std::string::npos);
  CHECK(e2.find("576 keys) with head dim 38 needs 228 KiB") != std::string::npos);
  big.head_dim = 37;
  big.images = 0;  // accepted; no window: nothing to launch
  CHECK(fault_of([&] { sr::simt::overlap_window_attention_forward(nullptr, nullptr, nullptr, big); }).empty());
}

// ---- layer_norm, transpose_tokens -----------------------------------------------------------------

void test_layer_norm() {
  std::mt19937_64 rng(117);
  struct Case { int64_t M, C; bool weight, bias; };
  // C = 1 (xhat = 0), 7 (lanes idle), 180 (SwinIR: 5.6 columns a lane), 257 (a ninth pass of
  // one column); M = 9: a block of 8 rows and one of 1 (warps idle); M = 300: two row tiles
  // of the dweight / dbias reduction, the second partial.
  const Case cases[] = {{9, 1, true, true}, {300, 7, true, true}, {9, 180, true, false}, {5, 257, false, true},
                        {3, 33, false, false}};
  for (const Case& c : cases) {
    const int64_t n = c.M * c.C;
    auto x = random_floats(rng, n);
    for (float& v : x) v = 3.f + 0.5f * v;  // a mean far from 0, a small spread
    const auto dy = random_floats(rng, n), w = random_floats(rng, c.C), b = random_floats(rng, c.C);
    Dev X(x), DY(dy), W(w), B(b), Y(n), MEAN(c.M), RSTD(c.M), DX(n), DW(c.C), DB(c.C), DXONLY(n), DWONLY(c.C);
    const float* wp = c.weight ? W.p : nullptr;
    sr::simt::layer_norm_forward(X.p, wp, c.bias ? B.p : nullptr, Y.p, MEAN.p, RSTD.p, c.M, c.C, 1e-5);
    sr::simt::layer_norm_backward(X.p, wp, MEAN.p, RSTD.p, DY.p, DX.p, DW.p, DB.p, c.M, c.C);
    sr::simt::layer_norm_backward(X.p, wp, MEAN.p, RSTD.p, DY.p, DXONLY.p, nullptr, nullptr, c.M, c.C);
    sr::simt::layer_norm_backward(X.p, wp, MEAN.p, RSTD.p, DY.p, nullptr, DWONLY.p, nullptr, c.M, c.C);
    const auto xd = to_double(x), dyd = to_double(dy), wd = to_double(w), bd = to_double(b);
    const double* wr = c.weight ? wd.data() : nullptr;
    std::vector<double> ry(n), rmean(c.M), rrstd(c.M), rdx(n), rdw(c.C), rdb(c.C);
    cpu::layer_norm_forward(xd.data(), wr, c.bias ? bd.data() : nullptr, ry.data(), rmean.data(), rrstd.data(), c.M,
                            c.C, 1e-5);
    cpu::layer_norm_backward(xd.data(), wr, rmean.data(), rrstd.data(), dyd.data(), rdx.data(), rdw.data(),
                             rdb.data(), c.M, c.C);
    const std::string what = " M " + std::to_string(c.M) + " C " + std::to_string(c.C);
    compare("layer_norm" + what, Y.get(), ry, kFp32);
    compare("layer_norm mean" + what, MEAN.get(), rmean, kFp32);
    compare("layer_norm rstd" + what, RSTD.get(), rrstd, kFp32);
    compare("layer_norm_backward dx" + what, DX.get(), rdx, kFp32);
    compare("layer_norm_backward dweight" + what, DW.get(), rdw, kFp32);
    compare("layer_norm_backward dbias" + what, DB.get(), rdb, kFp32);
    compare("layer_norm_backward dx alone" + what, DXONLY.get(), rdx, kFp32);
    compare("layer_norm_backward dweight alone" + what, DWONLY.get(), rdw, kFp32);
  }
}

void test_transpose_tokens() {
  std::mt19937_64 rng(118);
  // Partial tiles both ways (37 x 45), one row (1 x 70), whole tiles (64 x 32), batch 2 and 3.
  for (auto [B, M, N] : {std::tuple<int64_t, int64_t, int64_t>{2, 37, 45}, {1, 1, 70}, {3, 64, 32}}) {
    const int64_t n = B * M * N;
    const auto x = random_floats(rng, n);
    Dev X(x), Y(n), DX(n);
    sr::simt::transpose_forward(X.p, Y.p, B, M, N);
    const auto xd = to_double(x);
    std::vector<double> ry(n), rdx(n);
    cpu::transpose_forward(xd.data(), ry.data(), B, M, N);
    // The backward takes a (B, N, M) gradient back to (B, M, N): y itself returns to x.
    sr::simt::transpose_backward(Y.p, DX.p, B, M, N);
    cpu::transpose_backward(ry.data(), rdx.data(), B, M, N);
    const std::string what = " " + std::to_string(B) + "x" + std::to_string(M) + "x" + std::to_string(N);
    compare("transpose" + what, Y.get(), ry, kExact);  // a copy: to the bit
    compare("transpose_backward" + what, DX.get(), rdx, kExact);
    compare("transpose_backward round trip" + what, DX.get(), xd, kExact);
  }
}

void test_pool() {
  std::mt19937_64 rng(109);
  for (auto [k, s] : {std::pair<int, int>{2, 2}, {3, 2}}) {
    const int64_t NC = 6, H = 9, W = 11, P = (H - k) / s + 1, Q = (W - k) / s + 1;
    auto x = random_floats(rng, NC * H * W);
    x[5] = x[6];  // a tie
    const auto dy = random_floats(rng, NC * P * Q);
    Dev X(x), Y(NC * P * Q), DY(dy), DX(NC * H * W);
    DevT<int32_t> AM(NC * P * Q);
    sr::simt::max_pool2d_forward(X.p, Y.p, AM.p, NC, H, W, k, s);
    sr::simt::max_pool2d_backward(DY.p, AM.p, DX.p, NC, H, W, P, Q, k, s);
    const auto xd = to_double(x), dyd = to_double(dy);
    std::vector<double> ry(NC * P * Q), rdx(NC * H * W);
    std::vector<int64_t> ram(NC * P * Q);
    cpu::max_pool2d_forward(xd.data(), ry.data(), ram.data(), NC, H, W, k, s);
    cpu::max_pool2d_backward(dyd.data(), ram.data(), rdx.data(), NC, H, W, P, Q);
    const std::string what = " k" + std::to_string(k) + " s" + std::to_string(s);
    compare("max_pool2d" + what, Y.get(), ry, kExact);
    const auto am = AM.get();
    std::vector<double> got_am(am.begin(), am.end()), ref_am(ram.begin(), ram.end());
    compare("max_pool2d argmax" + what, got_am, ref_am, kExact);
    compare("max_pool2d_backward" + what, DX.get(), rdx, kFp32);
  }
}

// Swin's shifted windows: both directions against the CPU's on every path of the kernel:
// C % 4 == 0 on aligned buffers (16-byte words), odd C (floats), and C = 8 on a buffer one
// float off alignment (floats again). Rows are not a whole number of blocks (8 warps each):
// the last block has idle warps. Outputs start as NaN; permutations are exact.
void test_window_partition() {
  std::mt19937_64 rng(114);
  struct Case { int64_t B, H, W, C; int ws, shift, offset; };
  for (const Case& k : {Case{2, 6, 9, 8, 3, 2, 0}, Case{1, 6, 6, 7, 3, 1, 0}, Case{2, 4, 6, 8, 2, 1, 1},
                        Case{1, 8, 8, 5, 4, 0, 0}}) {
    const int64_t n = k.B * k.H * k.W * k.C;
    const auto x = random_floats(rng, n + k.offset), dw = random_floats(rng, n + k.offset);
    Dev X(x), DW(dw), WIN(n + k.offset), DX(n + k.offset);
    sr::simt::window_partition_forward(X.p + k.offset, WIN.p + k.offset, k.B, k.H, k.W, k.C, k.ws, k.shift);
    sr::simt::window_partition_backward(DW.p + k.offset, DX.p + k.offset, k.B, k.H, k.W, k.C, k.ws, k.shift);
    const auto xd = to_double(x), dwd = to_double(dw);
    std::vector<double> rwin(n), rdx(n);
    cpu::window_partition_forward(xd.data() + k.offset, rwin.data(), k.B, k.H, k.W, k.C, k.ws, k.shift);
    cpu::window_partition_backward(dwd.data() + k.offset, rdx.data(), k.B, k.H, k.W, k.C, k.ws, k.shift);
    const auto got_win = WIN.get(), got_dx = DX.get();
    const std::string what = sr::str_cat(" B", k.B, " ", k.H, "x", k.W, " C", k.C, " ws", k.ws, " shift", k.shift,
                                         " offset", k.offset);
    compare("window_partition" + what, std::vector<double>(got_win.begin() + k.offset, got_win.end()), rwin, kExact);
    compare("window_partition_backward" + what, std::vector<double>(got_dx.begin() + k.offset, got_dx.end()), rdx,
            kExact);
  }
}

// Reflect padding and crop: the largest pads (every dx element of the first H - 1 rows and
// W - 1 columns gathers from 2 or 4 dy elements), a one-sided pad, no pad; crops smaller and
// whole. The pad backward adds in the CPU's order: bitwise the CPU's float32.
void test_pad_reflect() {
  std::mt19937_64 rng(115);
  struct Case { int64_t H, W; int bottom, right; };
  for (const Case& k : {Case{5, 7, 4, 6}, Case{6, 5, 0, 3}, Case{3, 4, 0, 0}, Case{9, 11, 3, 4}}) {
    const int64_t NC = 6, Ho = k.H + k.bottom, Wo = k.W + k.right, n = NC * k.H * k.W, no = NC * Ho * Wo;
    const auto x = random_floats(rng, n), dy = random_floats(rng, no);
    Dev X(x), DY(dy), Y(no), DX(n);
    sr::simt::pad_reflect_forward(X.p, Y.p, NC, k.H, k.W, k.bottom, k.right);
    sr::simt::pad_reflect_backward(DY.p, DX.p, NC, k.H, k.W, k.bottom, k.right);
    const auto xd = to_double(x), dyd = to_double(dy);
    std::vector<double> ry(no), rdx(n);
    cpu::pad_reflect_forward(xd.data(), ry.data(), NC, k.H, k.W, k.bottom, k.right);
    cpu::pad_reflect_backward(dyd.data(), rdx.data(), NC, k.H, k.W, k.bottom, k.right);
    const std::string what = sr::str_cat(" ", k.H, "x", k.W, " bottom ", k.bottom, " right ", k.right);
    compare("pad_reflect" + what, Y.get(), ry, kExact);
    compare("pad_reflect_backward" + what, DX.get(), rdx, kFp32);
    std::vector<float> rdx_f(n);
    cpu::pad_reflect_backward(dy.data(), rdx_f.data(), NC, k.H, k.W, k.bottom, k.right);
    compare("pad_reflect_backward float order" + what, DX.get(), to_double(rdx_f), kExact);
  }
  for (auto [h, w] : {std::pair<int64_t, int64_t>{4, 5}, {7, 9}, {1, 9}}) {
    const int64_t NC = 5, H = 7, W = 9, n = NC * H * W, m = NC * h * w;
    const auto x = random_floats(rng, n), dy = random_floats(rng, m);
    Dev X(x), DY(dy), Y(m), DX(n);
    sr::simt::crop_forward(X.p, Y.p, NC, H, W, h, w);
    sr::simt::crop_backward(DY.p, DX.p, NC, H, W, h, w);
    const auto xd = to_double(x), dyd = to_double(dy);
    std::vector<double> ry(m), rdx(n);
    cpu::crop_forward(xd.data(), ry.data(), NC, H, W, h, w);
    cpu::crop_backward(dyd.data(), rdx.data(), NC, H, W, h, w);
    const std::string what = sr::str_cat(" to ", h, "x", w);
    compare("crop" + what, Y.get(), ry, kExact);
    compare("crop_backward" + what, DX.get(), rdx, kExact);
  }
}

void test_prelu() {
  std::mt19937_64 rng(110);
  for (bool shared : {false, true}) {
    const int64_t N = 2, C = 4, HW = 30, n = N * C * HW, na = shared ? 1 : C;
    const auto x = random_floats(rng, n), a = random_floats(rng, na), dy = random_floats(rng, n),
               da0 = random_floats(rng, na);
    Dev X(x), A(a), DY(dy), Y(n), DX(n), DA(da0);
    sr::simt::prelu_forward(X.p, A.p, Y.p, N, C, HW, shared);
    sr::simt::prelu_backward(X.p, A.p, DY.p, DX.p, DA.p, N, C, HW, shared);
    const auto xd = to_double(x), ad = to_double(a), dyd = to_double(dy);
    std::vector<double> ry(n), rdx(n), rda = to_double(da0);
    cpu::prelu_forward(xd.data(), ad.data(), ry.data(), N, C, HW, shared);
    cpu::prelu_backward(xd.data(), ad.data(), dyd.data(), rdx.data(), rda.data(), N, C, HW, shared);
    const std::string what = shared ? " (shared)" : " (per channel)";
    compare("prelu" + what, Y.get(), ry, kFp32);
    compare("prelu_backward dx" + what, DX.get(), rdx, kFp32);
    compare("prelu_backward da" + what, DA.get(), rda, kFp32);
  }
}

// ---- GEMM and linear --------------------------------------------------------------------------------

void test_gemm() {
  std::mt19937_64 rng(111);
  const int64_t M = 70, N = 65, K = 37;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (bool acc : {false, true}) {
        const auto a = random_floats(rng, M * K), b = random_floats(rng, K * N), c0 = random_floats(rng, M * N);
        const int64_t lda = ta ? M : K, ldb = tb ? K : N;
        Dev A(a), B(b), C(acc ? c0 : std::vector<float>(M * N, kNaN));
        sr::simt::gemm_with(sr::simt::GemmVariant::native, ta, tb, M, N, K, A.p, lda, B.p, ldb, C.p, N, acc);
        std::vector<double> ref = acc ? to_double(c0) : std::vector<double>(M * N, 0.0);
        const auto ad = to_double(a), bd = to_double(b);
        cpu::gemm(ta, tb, M, N, K, ad.data(), lda, bd.data(), ldb, ref.data(), N, acc);
        compare(std::string("gemm") + (ta ? " A^T" : "") + (tb ? " B^T" : "") + (acc ? " +=" : ""), C.get(), ref,
                kFp32);
      }
  {  // linear forward and backward
    const int64_t Nb = 5, In = 37, Out = 11;
    const auto x = random_floats(rng, Nb * In), w = random_floats(rng, Out * In), bias = random_floats(rng, Out),
               g = random_floats(rng, Nb * Out), db0 = random_floats(rng, Out);
    Dev X(x), Wt(w), Bs(bias), Y(Nb * Out), G(g), DX(Nb * In), DW(Out * In), DB(db0);
    sr::simt::linear_forward(sr::simt::GemmVariant::native, X.p, Wt.p, Bs.p, Y.p, Nb, In, Out);
    sr::simt::linear_backward(sr::simt::GemmVariant::native, G.p, X.p, Wt.p, DX.p, DW.p, DB.p, Nb, In, Out);
    const auto xd = to_double(x), wd = to_double(w), gd = to_double(g);
    std::vector<double> ry(Nb * Out), rdx(Nb * In), rdw(Out * In), rdb = to_double(db0);
    cpu::gemm(false, true, Nb, Out, In, xd.data(), In, wd.data(), In, ry.data(), Out, false);
    for (int64_t i = 0; i < Nb * Out; ++i) ry[i] += bias[i % Out];
    cpu::gemm(false, false, Nb, In, Out, gd.data(), Out, wd.data(), In, rdx.data(), In, false);
    cpu::gemm(true, false, Out, In, Nb, gd.data(), Out, xd.data(), In, rdw.data(), In, false);
    for (int64_t i = 0; i < Nb * Out; ++i) rdb[i % Out] += gd[i];
    compare("linear", Y.get(), ry, kFp32);
    compare("linear dx", DX.get(), rdx, kFp32);
    compare("linear dw", DW.get(), rdw, kFp32);
    compare("linear dbias", DB.get(), rdb, kFp32);
  }
}

// ---- convolution: naive, tf32, bf16 and fp16 implicit GEMM (the mma.sync wrappers) ------------------------

using test::ConvCase;
using test::describe;

// One variant on one shape, as the parity suite's run_conv_variant (the data and references
// of tests/support/conv_views.h): forward with the full fused epilogue into a channel view,
// backward-data (overwrite and accumulate, into a view), backward-weight (+=) with the bias
// gradient. Elements outside the views must keep their NaN poison (or their value, when
// accumulating). weight_grad false: forward and backward-data only.
// Backward-weight (+=) with the bias gradient on d's views: the last part of run_conv.
bool check_weight_grad(sr::simt::ConvVariant v, test::ConvViewData& d, const Dev& X, const Dev& DY,
                       const std::string& ctx, Tol tol) {
  const auto dw0 = random_floats(d.rng, (int64_t)d.w.size()), db0 = random_floats(d.rng, d.c.K);
  Dev DW(dw0), DB(db0);
  sr::simt::conv2d_backward_weight_with(v, d.s, X.p + d.x_off, DY.p + d.y_off, DW.p, DB.p);
  const auto r = d.backward_weight_ref(dw0, db0);
  bool ok = compare(ctx + " backward-weight", DW.get(), r.dw, tol);
  // igemm_v2 and wgmma sum the bias gradient from their bf16 dy tiles; the others run
  // channel_sum on the fp32 dy.
  const bool from_tiles = v == sr::simt::ConvVariant::igemm_v2 || v == sr::simt::ConvVariant::wgmma;
  ok &= compare(ctx + " bias gradient", DB.get(), r.dbias, from_tiles ? tol : kFp32);
  return ok;
}

// The weight gradient alone (the mutants' and forced tiles' cheaper run).
bool run_conv_weight_grad(sr::simt::ConvVariant v, const ConvCase& c, Tol tol, uint64_t seed) {
  test::ConvViewData d(c, seed);
  Dev X(d.xbuf), DY(d.dybuf);
  return check_weight_grad(v, d, X, DY, std::string(sr::simt::conv_variant_name(v)) + " " + describe(c), tol);
}

bool run_conv(sr::simt::ConvVariant v, const ConvCase& c, Tol tol, uint64_t seed, bool weight_grad = true) {
  test::ConvViewData d(c, seed);
  const std::string ctx = std::string(sr::simt::conv_variant_name(v)) + " " + describe(c);
  Dev X(d.xbuf), Wt(d.w), Bias(d.bias), Res(d.res), DY(d.dybuf);
  bool ok = true;
  {  // forward into the view of a NaN buffer
    Dev Y(d.y_len);
    const auto ep = d.epilogue<sr::simt::ConvEpilogue>(Bias.p, Res.p);
    sr::simt::conv2d_forward_with(v, d.s, X.p + d.x_off, Wt.p, ep, Y.p + d.y_off);
    const auto r = d.forward(Y.get(), ctx);
    ok &= compare(ctx + " forward (bias, leaky, gain, residual)", r.got, r.ref, tol);
  }
  for (bool accumulate : {false, true}) {  // backward-data into the view of x's layout
    const auto init = accumulate ? random_floats(d.rng, d.x_len) : std::vector<float>(d.x_len, kNaN);
    Dev DX(init);
    sr::simt::conv2d_backward_data_with(v, d.s, DY.p + d.y_off, Wt.p, DX.p + d.x_off, accumulate,
                                        d.s.x_batch_stride);
    const auto r = d.backward_data(DX.get(), init, accumulate, ctx);
    ok &= compare(ctx + (accumulate ? " backward-data (accumulate)" : " backward-data"), r.got, r.ref, tol);
  }
  if (weight_grad) ok &= check_weight_grad(v, d, X, DY, ctx, tol);  // dw += ..., dbias += ...
  return ok;
}

// Small shapes with the features of the parity suite's: views, stride 2, a 3-channel first
// conv, split-K weight gradients (N*P*Q = 1152: two splits), odd sizes, K > 64, 7x7.
const std::vector<ConvCase>& conv_cases() {
  static const std::vector<ConvCase> cases = {
      {2, 20, 10, 12, 32, 3, 3, 1, 1, 8, 8},  // dense-block growth conv on views (K = 32 tiles)
      {2, 16, 16, 16, 48, 4, 4, 2, 1},        // discriminator downsampling
      {1, 3, 13, 13, 64, 3, 3, 1, 1},         // first conv: 3 input channels
      {2, 16, 24, 24, 16, 3, 3, 1, 1},        // wgrad with split-K
      {1, 8, 7, 9, 5, 5, 5, 2, 2},            // odd everything
      {2, 6, 9, 9, 70, 1, 1, 1, 0},           // pointwise, K > 64
      {1, 4, 12, 10, 6, 7, 7, 1, 3},          // 7x7
      {2, 5, 8, 8, 3, 2, 3, 2, 1},            // rectangular filter, stride 2
  };
  return cases;
}

void test_conv2d_tf32() {
  uint64_t seed = 200;
  for (const ConvCase& c : conv_cases()) run_conv(sr::simt::ConvVariant::tf32, c, kTf32, ++seed);
}

void test_conv2d_bf16() {
  uint64_t seed = 300;
  for (const ConvCase& c : conv_cases()) run_conv(sr::simt::ConvVariant::bf16, c, kBf16, ++seed);
}

// igemm_v2: the same shapes, plus shapes aimed at its packing and pipeline: channels not a
// multiple of 8 on both sides of the GEMM, more k tiles than pipeline stages with a channel
// count that leaves a partial 32-channel tile per tap (its plan splits the forward's 18 k
// tiles in two at 132 SMs), M and N not multiples of the tiles, split-K on the wide (K > 32)
// weight-gradient tile (the narrow one gets it from the base cases' K = 16 shape), and the
// discriminators' stride-2 convs whose backward-data runs as 4 phase convolutions: 3x3 and
// 4x4 filters, padding 1, odd and even sizes (the phases then differ in size and in taps),
// and a 1x1 stride-2 filter whose odd phases have no taps at all.
const std::vector<ConvCase>& conv_cases_v2() {
  static const std::vector<ConvCase> cases = [] {
    std::vector<ConvCase> c = conv_cases();
    c.push_back({2, 11, 9, 10, 13, 3, 3, 1, 1});   // C and K not multiples of 8
    c.push_back({1, 40, 6, 7, 72, 3, 3, 1, 1});    // 18 k tiles (2 per tap, the second partial), N > 64
    c.push_back({2, 8, 24, 24, 48, 3, 3, 1, 1});   // N*P*Q = 1152: two splits on the 64 x 64 wgrad tile
    c.push_back({2, 12, 9, 11, 20, 3, 3, 2, 1});   // 3x3 stride 2, odd sizes
    c.push_back({1, 10, 10, 12, 24, 3, 3, 2, 1});  // 3x3 stride 2, even sizes
    c.push_back({2, 9, 11, 10, 16, 4, 4, 2, 1, 0, 3});  // 4x4 stride 2, odd x even, dy a channel view
    c.push_back({1, 6, 7, 8, 9, 1, 1, 2, 0});      // 1x1 stride 2: phases without taps
    return c;
  }();
  return cases;
}

// igemm_v2's packing kernels on their own: NCHW views to NHWC bf16 with padded channels, and
// the forward and flipped (backward-data) weight layouts; outputs poisoned (0xffff) first.
void check_igemm_v2_packing(std::mt19937_64& rng) {
  {  // activations: a channel view (C = 5 of 9 channels, offset 2), Cp = 8
    const int64_t N = 2, C = 5, Call = 9, HW = 7, Cp = 8;
    const auto x = random_floats(rng, N * Call * HW);
    Dev X(x);
    DevT<uint16_t> Out(std::vector<uint16_t>(N * HW * Cp, 0xffff));
    sr::simt::detail::igemm_v2_pack_activations(X.p + 2 * HW, Call * HW, N, C, HW, Out.p);
    const auto got = Out.get();
    int bad = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t hw = 0; hw < HW; ++hw)
        for (int64_t c = 0; c < Cp; ++c) {
          const uint16_t want = c < C ? bf16_rne(x[(n * Call + 2 + c) * HW + hw]) : 0;
          bad += got[(n * HW + hw) * Cp + c] != want;
        }
    INFO("igemm_v2 activation packing: " << bad << " elements differ");
    CHECK(bad == 0);
  }
  for (bool flip : {false, true}) {  // weights K = 3, C = 10, 2 x 3 filters
    const int64_t K = 3, C = 10, R = 2, S = 3, Cp = flip ? 8 : 16, rows = flip ? C : K;
    const auto w = random_floats(rng, K * C * R * S);
    Dev Wt(w);
    DevT<uint16_t> Out(std::vector<uint16_t>(rows * R * S * Cp, 0xffff));
    sr::simt::detail::igemm_v2_pack_weights(Wt.p, K, C, R, S, flip, Out.p);
    const auto got = Out.get();
    int bad = 0;
    for (int64_t row = 0; row < rows; ++row)
      for (int64_t r = 0; r < R; ++r)
        for (int64_t s = 0; s < S; ++s)
          for (int64_t ch = 0; ch < Cp; ++ch) {
            uint16_t want = 0;
            if (!flip && ch < C) want = bf16_rne(w[((row * C + ch) * R + r) * S + s]);
            if (flip && ch < K) want = bf16_rne(w[((ch * C + row) * R + (R - 1 - r)) * S + (S - 1 - s)]);
            bad += got[((row * R + r) * S + s) * Cp + ch] != want;
          }
    INFO("igemm_v2 weight packing" << (flip ? " (flipped)" : "") << ": " << bad << " elements differ");
    CHECK(bad == 0);
  }
}

void test_conv2d_igemm_v2() {
  std::mt19937_64 rng(599);
  check_igemm_v2_packing(rng);
  uint64_t seed = 600;
  for (const ConvCase& c : conv_cases_v2()) run_conv(sr::simt::ConvVariant::igemm_v2, c, kBf16, ++seed);
}

// wgmma: igemm_v2's shapes (their strided forwards on wgmma's kernel through the element-strided
// tensor map, their strided backward-data as its phase convolutions, but the 1 x 1 stride-2
// one's, whose phases have no taps: igemm_v2's; their weight gradients on wgmma's MN-major
// kernel, split where dy has 16 rectangles or more) plus the RRDB's channel counts: a growth
// conv (C = 64 -> K = 32: the 32-wide dy tile) on channel views, the fifth dense-block conv
// (C = 192: 3 channel tiles per tap, 27 k tiles through the 4-stage ring, its phases wrapping
// six times) with output columns past one 16-wide tile row, the second (C = 96: one 128-row
// weight-gradient tile, its second half part padding), and odd channels on both sides; then
// strides 3 (rectangles across the row, so each box starts at its own strided column; 9 phases of 2 x 2 down to 1 x 1 taps) and 8 (the largest
// the tensor map steps; 64 one-tap phases), with padding. The planned rectangle here is 8 x 8
// (64 pixels traversed per side); simt/conv2d_wgmma_plans runs stride 8 under the 16-wide ones.
// Each runs under the plan the rule picks at 132 SMs (these small shapes fill no wave: the most
// CTAs, 64 x 32 tiles); simt/conv2d_wgmma_plans forces the others.
const std::vector<ConvCase>& conv_cases_wgmma() {
  static const std::vector<ConvCase> cases = [] {
    std::vector<ConvCase> c = conv_cases_v2();
    c.push_back({1, 64, 10, 18, 32, 3, 3, 1, 1, 8, 8});  // growth conv on views, 2 x 2 pixel tiles
    c.push_back({1, 192, 9, 17, 64, 3, 3, 1, 1});        // rdb conv5: 27 k tiles
    c.push_back({1, 96, 6, 10, 32, 3, 3, 1, 1});         // rdb conv2: a 128-row wgrad tile, half padding
    c.push_back({1, 23, 5, 33, 37, 3, 3, 1, 1});         // odd C and K, three tiles across
    c.push_back({1, 10, 7, 50, 12, 5, 5, 3, 2});         // 5x5 stride 3: 17 output columns (2 or 3 rectangles)
    c.push_back({1, 8, 11, 13, 9, 8, 8, 8, 3});          // 8x8 stride 8: 64 one-tap phases
    return c;
  }();
  return cases;
}

void test_conv2d_wgmma() {
  uint64_t seed = 800;
  for (const ConvCase& c : conv_cases_wgmma()) run_conv(sr::simt::ConvVariant::wgmma, c, kBf16, ++seed);
}

// wgmma's weight gradient alone on five of those shapes (its mutants' test): the growth conv
// on views and the dense block's conv2 (the 32-wide, 64B-swizzled dy tile; one and two m64
// halves), a split over pixels, the 4x4 stride-2 conv (x's box at element stride 2) and odd
// channels on both sides.
void test_conv2d_wgmma_weight_grad() {
  uint64_t seed = 880;
  for (const ConvCase& c : {ConvCase{1, 64, 10, 18, 32, 3, 3, 1, 1, 8, 8}, ConvCase{1, 96, 6, 10, 32, 3, 3, 1, 1},
                            ConvCase{2, 16, 24, 24, 16, 3, 3, 1, 1}, ConvCase{2, 16, 16, 16, 48, 4, 4, 2, 1},
                            ConvCase{1, 23, 5, 33, 37, 3, 3, 1, 1}})
    run_conv_weight_grad(sr::simt::ConvVariant::wgmma, c, kBf16, ++seed);
}

// igemm_v2 under every forward / backward-data plan its launcher can pick (forced through the
// test hook): each tile shape without split-K, and split-K 2 and 4 ways on some of them (the
// 18-k-tile shape splits at k tiles 9 and 5, 10, 15: mid-tap, so a split's first tap and
// channel tile are decoded from its start). Then the plans' own choice at a tiny and a huge SM
// count (many splits; one 128-row tile). The shapes: the 18-k-tile one (N = 72: partial
// column tiles for both widths), channels not multiples of 8, a 4x4 stride-2 conv (the
// phases), and the growth conv on views.
void test_conv2d_igemm_v2_plans() {
  struct Forced {
    int bm, bn, splits;
  };
  const Forced plans[] = {{128, 64, 1}, {128, 32, 1}, {64, 64, 1}, {64, 32, 1},
                          {64, 64, 2},  {128, 32, 4}, {64, 32, 2}};
  const ConvCase cases[] = {{1, 40, 6, 7, 72, 3, 3, 1, 1},
                            {2, 11, 9, 10, 13, 3, 3, 1, 1},
                            {2, 9, 11, 10, 16, 4, 4, 2, 1},
                            {2, 20, 10, 12, 32, 3, 3, 1, 1, 8, 8}};
  uint64_t seed = 650;
  struct Restore {
    ~Restore() {
      sr::simt::detail::igemm_v2_force_conv_plan(0, 0, 0);
      sr::simt::detail::igemm_v2_set_sm_count(0);
    }
  } restore;
  for (const Forced& p : plans) {
    sr::simt::detail::igemm_v2_force_conv_plan(p.bm, p.bn, p.splits);
    for (const ConvCase& c : cases) {
      INFO("forced plan " << p.bm << " x " << p.bn << ", " << p.splits << " splits");
      run_conv(sr::simt::ConvVariant::igemm_v2, c, kBf16, ++seed);
    }
  }
  sr::simt::detail::igemm_v2_force_conv_plan(0, 0, 0);
  for (int sms : {1, 100000}) {
    sr::simt::detail::igemm_v2_set_sm_count(sms);
    INFO("planned for " << sms << " SMs");
    run_conv(sr::simt::ConvVariant::igemm_v2, cases[0], kBf16, ++seed);
    run_conv(sr::simt::ConvVariant::igemm_v2, {2, 8, 24, 24, 48, 3, 3, 1, 1}, kBf16, ++seed);
  }
}

// wgmma under every plan of wgmma::kPlans (conv2d_wgmma_plan.h), forced through the test hook:
// 128 and 64 pixel rows, 8 x 16, 16 x 8, 8 x 8 and 4 x 16 rectangles, BN 64 and 32, forward
// and backward-data (the weight gradient's own tiles: below). The shapes: an 11 x 19 image (no
// rectangle divides it: every plan's edge tiles hang over both borders), a growth conv on
// channel views, 70 output channels (a partial last column tile of either width) and 72 input
// channels (two 64-channel k tiles per tap, the second partial: 18 k tiles through the ring),
// a 4x4 stride-2 conv (each plan's rectangle traversing its box at element stride 2; the
// backward-data phases) and a 2x2 stride-8 one with 17 output columns (a 16-wide rectangle
// traverses 128 input columns, the widest box a plan makes; its backward-data, phases without
// taps, is igemm_v2's); the strided ones under the four rectangles once (BN 64). Then the
// plans' own choice at 1 and 100,000 SMs (most CTAs; one wave of the largest tile).
void test_conv2d_wgmma_plans() {
  struct Forced {
    int bm, bn, tile_h, tile_w;
  };
  const Forced plans[] = {{128, 64, 8, 16}, {128, 64, 16, 8}, {64, 64, 8, 8}, {64, 64, 4, 16},
                          {128, 32, 8, 16}, {128, 32, 16, 8}, {64, 32, 8, 8}, {64, 32, 4, 16}};
  const ConvCase cases[] = {{2, 8, 11, 19, 8, 3, 3, 1, 1},
                            {1, 20, 10, 12, 32, 3, 3, 1, 1, 8, 8},
                            {1, 6, 9, 9, 70, 1, 1, 1, 0},
                            {1, 72, 5, 9, 16, 3, 3, 1, 1},
                            {1, 9, 13, 37, 16, 4, 4, 2, 1},
                            {1, 8, 9, 131, 9, 2, 2, 8, 0}};
  uint64_t seed = 850;
  struct Restore {
    ~Restore() {
      sr::simt::detail::wgmma_force_conv_plan(0, 0, 0, 0);
      sr::simt::detail::igemm_v2_set_sm_count(0);
    }
  } restore;
  for (const Forced& p : plans) {
    sr::simt::detail::wgmma_force_conv_plan(p.bm, p.bn, p.tile_h, p.tile_w);
    // The 18-k-tile case is the slow one on the interpreter: one 128-row and one 64-row plan
    // run it (the ring's phases do not depend on the rectangle).
    const bool long_k = (p.bm == 128 && p.bn == 64 && p.tile_h == 8) || (p.bm == 64 && p.bn == 32 && p.tile_h == 4);
    for (const ConvCase& c : cases) {
      if (c.C == 72 && !long_k) continue;
      if (c.stride > 1 && p.bn != 64) continue;  // the strided boxes depend on the rectangle, not BN
      INFO("forced plan " << p.bm << " x " << p.bn << ", " << p.tile_h << " x " << p.tile_w << " pixels");
      run_conv(sr::simt::ConvVariant::wgmma, c, kBf16, ++seed, /*weight_grad=*/false);
    }
  }
  sr::simt::detail::wgmma_force_conv_plan(0, 0, 0, 0);
  for (int sms : {1, 100000}) {
    sr::simt::detail::igemm_v2_set_sm_count(sms);
    INFO("planned for " << sms << " SMs");
    run_conv(sr::simt::ConvVariant::wgmma, cases[0], kBf16, ++seed, /*weight_grad=*/false);
  }
  // A plan the kernel is not built for is an error naming it.
  CHECK_THROWS_WITH(sr::simt::detail::wgmma_force_conv_plan(128, 64, 8, 8),
                    Catch::Contains("128x64:8x8 is no wgmma plan"));

  // The weight gradient under each of its eight tiles (wgmma_force_wgrad_tile): bm 128 and 64
  // of x's channels, bn 64 and 32 of dy's (the 64B-swizzled tile), 8 x 8 and 4 x 16 rectangles;
  // on the 11 x 19 image (both rectangles hang over), 72 input channels (a partial second
  // half, or two 64-row tiles) and the 4x4 stride-2 conv (x's box at element stride 2, with
  // either dy tile). A bn 32 tile over more than 32 output channels is refused.
  struct RestoreWgrad {
    ~RestoreWgrad() { sr::simt::detail::wgmma_force_wgrad_tile(0, 0, 0, 0); }
  } restore_wgrad;
  for (int bm : {128, 64})
    for (int bn : {64, 32})
      for (int tile_h : {8, 4}) {
        sr::simt::detail::wgmma_force_wgrad_tile(bm, bn, tile_h, 64 / tile_h);
        for (const ConvCase& c : {cases[0], cases[3], cases[4]}) {
          INFO("forced weight-gradient tile " << bm << " x " << bn << ", " << tile_h << " x " << 64 / tile_h);
          run_conv_weight_grad(sr::simt::ConvVariant::wgmma, c, kBf16, ++seed);
        }
      }
  CHECK_THROWS_WITH(run_conv_weight_grad(sr::simt::ConvVariant::wgmma, {1, 8, 6, 6, 40, 3, 3, 1, 1}, kBf16, ++seed),
                    Catch::Contains("bn 32 with 40 packed output channels"));
  CHECK_THROWS_WITH(sr::simt::detail::wgmma_force_wgrad_tile(64, 64, 8, 16),
                    Catch::Contains("64x64:8x16 is no wgmma weight-gradient tile"));
  sr::simt::detail::wgmma_force_wgrad_tile(0, 0, 0, 0);
  {  // an empty batch: dw and dbias keep their values (no tensor map of an empty tensor is made)
    const sr::Conv2dShape e = sr::make_conv2d_shape(0, 8, 6, 6, 16, 3, 3, 1, 1);
    Dev DW(std::vector<float>(16 * 8 * 9, 1.5f)), DB(std::vector<float>(16, 2.5f)), X(1), DY(1);
    sr::simt::conv2d_backward_weight_with(sr::simt::ConvVariant::wgmma, e, X.p, DY.p, DW.p, DB.p);
    CHECK(DW.get() == std::vector<float>(16 * 8 * 9, 1.5f));
    CHECK(DB.get() == std::vector<float>(16, 2.5f));
  }
}

void test_conv2d_fp16() {
  uint64_t seed = 700;
  for (const ConvCase& c : conv_cases()) run_conv(sr::simt::ConvVariant::fp16, c, kFp16, ++seed);
}

void test_conv2d_naive() {
  // The naive weight gradient runs a 256-thread block per weight: the smaller cases only.
  uint64_t seed = 400;
  for (const ConvCase& c : {conv_cases()[4], conv_cases()[7], ConvCase{1, 6, 6, 7, 4, 3, 3, 1, 1, 2, 3}})
    run_conv(sr::simt::ConvVariant::naive, c, kFp32, ++seed);
}

// ---- upsample_nearest2x_conv2d: igemm_v2's and wgmma's phase convolutions and a composing variant -----

struct UpsampleConvCase {
  int64_t N, C, H, W, K, R, S;
  int pad;
};

// The three directions of the op against the CPU's composed float64 reference, on fresh random
// inputs: forward with the whole epilogue (bias, leaky ReLU, a residual and an outer residual,
// each with a batch stride of its own), backward-data (overwrite), backward-weight (dw +=,
// dbias +=). Outputs start as NaN.
void check_upsample_nearest2x_conv2d(sr::simt::ConvVariant v, const Tol& tol, const UpsampleConvCase& c,
                                     std::mt19937_64& rng) {
  const Conv2dShape s = cpu::make_upsample_nearest2x_conv2d_shape(c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.pad);
  const int64_t nx = c.N * c.C * c.H * c.W, ny = s.N * s.K * s.P * s.Q, nw = c.K * c.C * c.R * c.S;
  const std::string ctx = std::string(sr::simt::conv_variant_name(v)) + " N" + std::to_string(c.N) + " C" +
                          std::to_string(c.C) + " " + std::to_string(c.H) + "x" + std::to_string(c.W) + " K" +
                          std::to_string(c.K) + " " + std::to_string(c.R) + "x" + std::to_string(c.S) + " pad " +
                          std::to_string(c.pad);
  const int64_t per_image = s.K * s.P * s.Q, res_bs = per_image + 3, out_bs = per_image + 5;
  const auto x = random_floats(rng, nx), w = random_floats(rng, nw), bias = random_floats(rng, c.K),
             dy = random_floats(rng, ny), dw0 = random_floats(rng, nw), db0 = random_floats(rng, c.K),
             res = random_floats(rng, c.N * res_bs), outer = random_floats(rng, c.N * out_bs);
  const auto xd = to_double(x), wd = to_double(w), dyd = to_double(dy);
  Dev X(x), Wt(w), Bias(bias), DY(dy), Res(res), Outer(outer);
  {  // forward: outer + 1.5 (res + 0.5 leaky_relu(conv(upsample(x)) + bias))
    Dev Y(std::vector<float>(ny, kNaN));
    sr::simt::ConvEpilogue ep;
    ep.bias = Bias.p;
    ep.leaky_relu = true;
    ep.slope = 0.2f;
    ep.residual = Res.p;
    ep.residual_batch_stride = res_bs;
    ep.residual_scale = 0.5f;
    ep.outer = Outer.p;
    ep.outer_batch_stride = out_bs;
    ep.outer_scale = 1.5f;
    sr::simt::upsample_nearest2x_conv2d_forward_with(v, s, X.p, Wt.p, ep, Y.p);
    std::vector<double> ref(ny);
    cpu::upsample_nearest2x_conv2d_forward_reference<double>(s, xd.data(), wd.data(), nullptr, ref.data());
    for (int64_t i = 0; i < ny; ++i) {
      const int64_t n = i / per_image, e = i % per_image;
      const double z = ref[i] + bias[e / (s.P * s.Q)], a = z > 0 ? z : 0.2 * z;
      ref[i] = outer[n * out_bs + e] + 1.5 * (res[n * res_bs + e] + 0.5 * a);
    }
    compare(ctx + " forward (bias, leaky)", Y.get(), ref, tol);
  }
  {  // backward-data: the 2 x 2 sums of conv_transpose(dy, w)
    Dev DX(std::vector<float>(nx, kNaN));
    sr::simt::upsample_nearest2x_conv2d_backward_data(v, s, DY.p, Wt.p, DX.p);
    std::vector<double> ref(nx);
    cpu::upsample_nearest2x_conv2d_backward_data_reference<double>(s, dyd.data(), wd.data(), ref.data());
    compare(ctx + " backward-data", DX.get(), ref, tol);
  }
  {  // backward-weight: dw += ..., dbias += ...
    Dev DW(dw0), DB(db0);
    sr::simt::upsample_nearest2x_conv2d_backward_weight(v, s, X.p, DY.p, DW.p, DB.p);
    auto rdw = to_double(dw0), rdb = to_double(db0);
    cpu::upsample_nearest2x_conv2d_backward_weight_reference<double>(s, xd.data(), dyd.data(), rdw.data(),
                                                                     rdb.data());
    compare(ctx + " backward-weight", DW.get(), rdw, tol);
    compare(ctx + " bias gradient", DB.get(), rdb, kFp32);  // channel_sum's fp32 sums on every variant
  }
}

// Odd sizes, C and K not multiples of 8, padding 1 and 0, a rectangular filter (different row
// and column phases), on igemm_v2 (the phase convolutions), wgmma (its forward's phases and
// its stride-2 backward-data on its own kernel) and tf32 (composes). Then igemm_v2
// under forced tile plans with split-K (the phases' stores in the ordered reduce), and a case
// whose stride-2 weight gradient splits its pixels (the fold adds the splits).
void test_upsample_nearest2x_conv2d() {
  const uint64_t seed = std::random_device{}();  // fresh inputs each run
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  const UpsampleConvCase cases[] = {{2, 11, 5, 7, 13, 3, 3, 1}, {1, 6, 3, 5, 9, 3, 3, 0}, {1, 5, 4, 3, 7, 2, 3, 1}};
  const std::pair<sr::simt::ConvVariant, Tol> variants[] = {{sr::simt::ConvVariant::igemm_v2, kBf16},
                                                            {sr::simt::ConvVariant::wgmma, kBf16},
                                                            {sr::simt::ConvVariant::tf32, kTf32}};
  for (const auto& [v, tol] : variants)
    for (const UpsampleConvCase& c : cases) check_upsample_nearest2x_conv2d(v, tol, c, rng);

  struct Restore {
    ~Restore() { sr::simt::detail::igemm_v2_force_conv_plan(0, 0, 0); }
  } restore;
  for (const auto& [bm, bn, splits] : {std::tuple{64, 32, 2}, std::tuple{128, 64, 3}}) {
    INFO("forced plan " << bm << " x " << bn << ", " << splits << " splits");
    sr::simt::detail::igemm_v2_force_conv_plan(bm, bn, splits);
    check_upsample_nearest2x_conv2d(sr::simt::ConvVariant::igemm_v2, kBf16, cases[0], rng);
  }
  sr::simt::detail::igemm_v2_force_conv_plan(0, 0, 0);
  // 2 x 24 x 24 = 1152 pixels of x: plan_wgrad gives the stride-2 weight gradient (rows C = 8,
  // (3+1) x (3+1) taps of 16 channels) 2 splits of at least 512 pixels on the simt's 132 SMs.
  const UpsampleConvCase split = {2, 8, 24, 24, 12, 3, 3, 1};
  REQUIRE(sr::cuda::igemm_v2::plan_wgrad(8, 16 * 16, 2 * 24 * 24, 132).split.splits == 2);
  check_upsample_nearest2x_conv2d(sr::simt::ConvVariant::igemm_v2, kBf16, split, rng);
  // wgmma's: x's 18 rectangles of 8 x 8 against dy gathered over the 16 taps, 2 splits of 9.
  REQUIRE(sr::cuda::wgmma::plan_wgrad(2, 24, 24, 16, 16, 8, 132).splits == 2);
  check_upsample_nearest2x_conv2d(sr::simt::ConvVariant::wgmma, kBf16, split, rng);
}

// ---- the fused residual dense block (conv epilogues on channel views, elementwise glue) ---------------

void test_rdb() {
  std::mt19937_64 rng(500);
  const RdbShape s{2, 8, 4, 5, 6};
  const int64_t HW = s.H * s.W, xn = s.N * s.nf * HW, bn = s.N * s.channels() * HW;
  for (bool outer : {false, true}) {
    const std::string what = outer ? " (outer residual)" : "";
    std::vector<std::vector<float>> w(5), b(5);
    for (int k = 0; k < 5; ++k) {
      const int64_t cin = s.nf + k * s.gc, cout = k == 4 ? s.nf : s.gc;
      w[k] = random_floats(rng, cout * cin * 9);
      for (auto& e : w[k]) e /= std::sqrt((float)cin * 9.f);
      b[k] = random_floats(rng, cout);
    }
    const auto x = random_floats(rng, xn), o = random_floats(rng, xn), dy = random_floats(rng, xn);
    std::vector<std::unique_ptr<Dev>> dw, db, gw, gb;
    sr::simt::RdbWeights p{};
    float* gwp[5];
    float* gbp[5];
    std::vector<std::vector<float>> gw0(5), gb0(5);
    for (int k = 0; k < 5; ++k) {
      dw.push_back(std::make_unique<Dev>(w[k]));
      db.push_back(std::make_unique<Dev>(b[k]));
      p.w[k] = dw[k]->p;
      p.b[k] = db[k]->p;
      gw0[k] = random_floats(rng, (int64_t)w[k].size());
      gb0[k] = random_floats(rng, (int64_t)b[k].size());
      gw.push_back(std::make_unique<Dev>(gw0[k]));
      gb.push_back(std::make_unique<Dev>(gb0[k]));
      gwp[k] = gw[k]->p;
      gbp[k] = gb[k]->p;
    }
    Dev X(x), O(o), DY(dy), Buf(bn), Y(xn), DX(xn);
    REQUIRE(!sr::simt::rdb_keeps_twin(sr::simt::ConvVariant::tf32, s));  // the float32 buffer [x | slices]
    const sr::simt::RdbSaved saved{Buf.p, nullptr};
    sr::simt::rdb_forward(sr::simt::ConvVariant::tf32, s, X.p, p, outer ? O.p : nullptr, 0.2f, 0.2f, 0.2f, saved, Y.p);
    sr::simt::rdb_backward(sr::simt::ConvVariant::tf32, s, saved, p, DY.p, 0.2f, 0.2f, outer, 0.2f, DX.p, gwp, gbp);
    // reference in double
    std::vector<std::vector<double>> wd(5), bd(5), rgw(5), rgb(5);
    RdbWeights<double> pd{};
    double* rgwp[5];
    double* rgbp[5];
    for (int k = 0; k < 5; ++k) {
      wd[k] = to_double(w[k]);
      bd[k] = to_double(b[k]);
      rgw[k] = to_double(gw0[k]);
      rgb[k] = to_double(gb0[k]);
      pd.w[k] = wd[k].data();
      pd.b[k] = bd[k].data();
      rgwp[k] = rgw[k].data();
      rgbp[k] = rgb[k].data();
    }
    const auto xd = to_double(x), od = to_double(o), dyd = to_double(dy);
    std::vector<double> rbuf(bn), ry(xn), rdx(xn);
    cpu::rdb_forward<double>(s, xd.data(), pd, outer ? od.data() : nullptr, 0.2, 0.2, 0.2, rbuf.data(), ry.data());
    cpu::rdb_backward<double>(s, rbuf.data(), pd, dyd.data(), 0.2, 0.2, outer, 0.2, rdx.data(), rgwp, rgbp);
    // The tf32 conv variant over a chain of ten convolutions: ten single-conv budgets, as the
    // parity suite's rdb case.
    const Tol t{10 * kTf32.abs, 10 * kTf32.rel, "10 x tf32"};
    compare("rdb y" + what, Y.get(), ry, t);
    compare("rdb buffer" + what, Buf.get(), rbuf, t);
    compare("rdb dx" + what, DX.get(), rdx, t);
    for (int k = 0; k < 5; ++k) {
      compare("rdb dw" + std::to_string(k + 1) + what, gw[k]->get(), rgw[k], t);
      compare("rdb db" + std::to_string(k + 1) + what, gb[k]->get(), rgb[k], t);
    }
  }
}

// ---- engine/cuda_copy.cu: strided copies (with float <-> double) and fills ------------------------------

// The host's reading of a strided layout: element `linear` (row-major over shape) sits at
// the returned offset.
int64_t strided_offset(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, int64_t linear) {
  int64_t off = 0;
  for (int k = (int)shape.size() - 1; k >= 0; --k) {
    off += linear % shape[k] * strides[k];
    linear /= shape[k];
  }
  return off;
}

void test_copy() {
  std::mt19937_64 rng(600);
  struct Case {
    std::vector<int64_t> shape, dst_strides, src_strides;
  };
  // A scalar, a contiguous block, a transpose, channel views with gaps, five dimensions, and
  // more elements than one grid-stride pass of the fill covers with few blocks.
  const std::vector<Case> cases = {
      {{}, {}, {}},
      {{3, 5, 7}, {35, 7, 1}, {35, 7, 1}},
      {{6, 9}, {1, 6}, {9, 1}},
      {{2, 3, 4, 5}, {100, 20, 5, 1}, {60, 20, 5, 1}},
      {{2, 1, 3, 2, 4}, {48, 48, 16, 8, 1}, {24, 24, 1, 3, 6}},
      {{70001}, {1}, {1}},
  };
  for (const Case& c : cases) {
    int64_t n = 1, dst_len = 1, src_len = 1;
    for (size_t k = 0; k < c.shape.size(); ++k) {
      n *= c.shape[k];
      dst_len += (c.shape[k] - 1) * c.dst_strides[k];
      src_len += (c.shape[k] - 1) * c.src_strides[k];
    }
    const std::string shape = sr::str_cat(" ", c.shape.size(), "-d, ", n, " elements");
    for (int dst_size : {4, 8})
      for (int src_size : {4, 8}) {
        const std::vector<float> src = random_floats(rng, src_len);
        const std::vector<double> srcd(src.begin(), src.end());
        DevT<float> S4(src);
        DevT<double> S8(srcd);
        DevT<float> D4(dst_len);  // the elements outside the view stay poisoned
        DevT<double> D8(dst_len);
        void* dst = dst_size == 4 ? (void*)D4.p : (void*)D8.p;
        const void* srcp = src_size == 4 ? (const void*)S4.p : (const void*)S8.p;
        sr::simt::copy_strided(dst, c.dst_strides.data(), dst_size, srcp, c.src_strides.data(), src_size,
                               c.shape.data(), (int)c.shape.size());
        std::vector<double> got(n), ref(n);
        for (int64_t i = 0; i < n; ++i) {
          const int64_t d = strided_offset(c.shape, c.dst_strides, i);
          got[i] = dst_size == 4 ? D4.p[d] : D8.p[d];
          ref[i] = srcd[strided_offset(c.shape, c.src_strides, i)];
        }
        compare("copy_strided f" + std::to_string(8 * dst_size) + " <- f" + std::to_string(8 * src_size) + shape,
                got, ref, kExact);
      }
    for (int size : {4, 8}) {
      DevT<float> D4(dst_len);
      DevT<double> D8(dst_len);
      sr::simt::fill_strided(size == 4 ? (void*)D4.p : (void*)D8.p, c.dst_strides.data(), size, c.shape.data(),
                             (int)c.shape.size(), -2.5);
      std::vector<double> got(n), ref(n, -2.5);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t d = strided_offset(c.shape, c.dst_strides, i);
        got[i] = size == 4 ? D4.p[d] : D8.p[d];
      }
      compare("fill_strided f" + std::to_string(8 * size) + shape, got, ref, kExact);
    }
  }
}

// ---- the test cases, and the check that they launch every kernel of kernels/cuda ----------------------

}  // namespace

// The degradation kernels' families (tests/test_simt_degrade.cpp).
namespace sr::simt_test {
void test_degrade_blur();
void test_degrade_clamp();
void test_degrade_jpeg();
void test_degrade_noise();
void test_degrade_resize();
void test_degrade_usm_sharp();
}  // namespace sr::simt_test

namespace {

struct Family {
  const char* name;
  void (*run)();
};
const Family kFamilies[] = {
    {"elementwise", test_elementwise},
    {"activation", test_activation},
    {"resample", test_resample},
    {"reduce", test_reduce},
    {"loss", test_loss},
    {"optimizer", test_optimizer},
    {"spectral_norm", test_spectral_norm},
    {"batch_norm", test_batch_norm},
    {"pool", test_pool},
    {"channel_attention", test_channel_attention},
    {"window_partition", test_window_partition},
    {"pad_reflect", test_pad_reflect},
    {"window_attention", test_window_attention},
    {"overlap_window_attention", test_overlap_window_attention},
    {"layer_norm", test_layer_norm},
    {"transpose_tokens", test_transpose_tokens},
    {"prelu", test_prelu},
    {"gemm", test_gemm},
    {"conv2d_tf32", test_conv2d_tf32},
    {"conv2d_bf16", test_conv2d_bf16},
    {"conv2d_fp16", test_conv2d_fp16},
    {"conv2d_naive", test_conv2d_naive},
    {"conv2d_igemm_v2", test_conv2d_igemm_v2},
    {"conv2d_wgmma", test_conv2d_wgmma},
    {"conv2d_igemm_v2_plans", test_conv2d_igemm_v2_plans},
    {"conv2d_wgmma_plans", test_conv2d_wgmma_plans},
    {"upsample_nearest2x_conv2d", test_upsample_nearest2x_conv2d},
    {"rdb", test_rdb},
    {"copy", test_copy},
    {"degrade_blur", sr::simt_test::test_degrade_blur},
    {"degrade_clamp", sr::simt_test::test_degrade_clamp},
    {"degrade_jpeg", sr::simt_test::test_degrade_jpeg},
    {"degrade_noise", sr::simt_test::test_degrade_noise},
    {"degrade_resize", sr::simt_test::test_degrade_resize},
    {"degrade_usm_sharp", sr::simt_test::test_degrade_usm_sharp},
};

TEST_CASE("simt/elementwise") { test_elementwise(); }
TEST_CASE("simt/activation") { test_activation(); }
TEST_CASE("simt/resample") { test_resample(); }
TEST_CASE("simt/reduce") { test_reduce(); }
TEST_CASE("simt/loss") { test_loss(); }
TEST_CASE("simt/optimizer") { test_optimizer(); }
TEST_CASE("simt/spectral_norm") { test_spectral_norm(); }
TEST_CASE("simt/batch_norm") { test_batch_norm(); }
TEST_CASE("simt/pool") { test_pool(); }
TEST_CASE("simt/channel_attention") { test_channel_attention(); }
TEST_CASE("simt/window_partition") { test_window_partition(); }
TEST_CASE("simt/pad_reflect") { test_pad_reflect(); }
TEST_CASE("simt/window_attention") { test_window_attention(); }
TEST_CASE("simt/overlap_window_attention") { test_overlap_window_attention(); }
TEST_CASE("simt/layer_norm") { test_layer_norm(); }
TEST_CASE("simt/transpose_tokens") { test_transpose_tokens(); }
TEST_CASE("simt/prelu") { test_prelu(); }
TEST_CASE("simt/gemm") { test_gemm(); }
TEST_CASE("simt/conv2d_tf32") { test_conv2d_tf32(); }
TEST_CASE("simt/conv2d_bf16") { test_conv2d_bf16(); }
TEST_CASE("simt/conv2d_fp16") { test_conv2d_fp16(); }
TEST_CASE("simt/conv2d_naive") { test_conv2d_naive(); }
TEST_CASE("simt/conv2d_igemm_v2") { test_conv2d_igemm_v2(); }
TEST_CASE("simt/conv2d_wgmma") { test_conv2d_wgmma(); }
TEST_CASE("simt/conv2d_wgmma_weight_grad") { test_conv2d_wgmma_weight_grad(); }
TEST_CASE("simt/conv2d_igemm_v2_plans") { test_conv2d_igemm_v2_plans(); }
TEST_CASE("simt/conv2d_wgmma_plans") { test_conv2d_wgmma_plans(); }
TEST_CASE("simt/upsample_nearest2x_conv2d") { test_upsample_nearest2x_conv2d(); }
TEST_CASE("simt/rdb") { test_rdb(); }
TEST_CASE("simt/copy") { test_copy(); }

// Every __global__ function defined in kernels/cuda/*.cu, *.cuh and engine/*.cu (the device
// code the SIMT build compiles) must be launched by the families above: the names come from
// the sources, the launches from the interpreter. A new kernel without a simt/ test fails
// here, and so does a kernel added to a file the interpreter does not build (engine/
// cuda_runtime.cu: move it beside the copies in engine/cuda_copy.cu).
TEST_CASE("simt/every_kernel_covered") {
  std::set<std::string> kernels;
  const std::regex comment(R"(//[^\n]*|/\*[\s\S]*?\*/)");
  const std::regex global(
      R"(__global__\s+(?:static\s+)?void\s+(?:__launch_bounds__\((?:[^()]|\([^()]*\))*\)\s*)?(\w+)\s*\()");
  for (const char* dir : {"/kernels/cuda", "/engine"})
    for (const auto& e : std::filesystem::directory_iterator(std::string(SRENGINE_SOURCE_DIR) + dir)) {
      if (e.path().extension() != ".cu" && e.path().extension() != ".cuh") continue;
      std::ifstream f(e.path());
      const std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      const std::string text = std::regex_replace(raw, comment, " ");
      for (std::sregex_iterator it(text.begin(), text.end(), global), end; it != end; ++it) kernels.insert((*it)[1]);
    }
  CHECK(kernels.size() >= 20);  // the scan works (20 kernels when this test was written)
  for (const Family& f : kFamilies) f.run();
  const std::vector<std::string> launched = ::simt::launched_kernels();
  for (const std::string& k : kernels) {
    const std::regex named("::" + k + "[(<]");
    bool found = false;
    for (const std::string& l : launched) found = found || std::regex_search(l, named);
    INFO("kernel " << k << " is never launched by a simt/ test (tests/test_simt_kernels.cpp)");
    CHECK(found);
  }
}

}  // namespace

#else

TEST_CASE("simt/skipped") { std::printf("SKIPPED: srengine was built without the SIMT interpreter (SRENGINE_SIMT=OFF)\n"); }

#endif
