// simt/nets_*: every network of the PyTorch fixtures (tests/fixtures/nets: RRDBNet x1, x2, x4,
// the U-Net spectral-norm and VGG-style discriminators, SRVGGNetCompact x4 PReLU, x2 LeakyReLU
// and x3 ReLU, EDSR x2, x3, x4 and x8, MSRResNet x2, x3 and x4, RCAN x2 and x3, SwinIR x2, x3 and x4, HAT x2 and x3) forward and backward on the simt device (the CUDA kernels
// on the SIMT interpreter) against the same float32 network on the CPU: the output, the loss, the input
// gradient, every parameter gradient, and the buffers after the forward (spectral-norm
// vectors, batch-norm running statistics).
// Tolerance: the network's conv variant's budget (tf32: 2e-3 of the largest value plus 2e-3 of
// the element) times the number of conv and linear layers on the longest path: the layer
// count for the forward and the buffers, twice it for the gradients (forward and back), as
// cuda/ops_rdb allows ten budgets for its ten chained convs. simt/conv_choice_per_layer:
// two convolutions built with different conv variants each run their own.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops_rdb.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "kernels/kernel_choice.h"
#include "layers/conv2d.h"
#include "nets/factory.h"
#include "nets/rrdbnet.h"
#include "support/net_fixtures.h"
#include "support/simt_support.h"

#ifdef SRENGINE_WITH_SIMT

using namespace sr;
using sr::simt_test::Tol;

namespace {

// The single-conv budget of a conv2d variant.
double conv_budget(kernels::ConvVariant v) {
  switch (v) {
    case kernels::ConvVariant::tf32:
    case kernels::ConvVariant::fp16:
    case kernels::ConvVariant::cudnn: return 2e-3;
    case kernels::ConvVariant::bf16:
    case kernels::ConvVariant::igemm_v2:
    case kernels::ConvVariant::wgmma: return 1.5e-2;
    case kernels::ConvVariant::naive:
    case kernels::ConvVariant::cudnn_fp32: return 1e-5;
  }
  return 1e-5;
}

bool close(const std::string& what, const Tensor& got, const Tensor& ref, double budget) {
  REQUIRE(got.defined());
  REQUIRE(ref.defined());
  REQUIRE(got.is_simt());
  REQUIRE(got.shape() == ref.shape());
  return simt_test::compare(what, got.to_vector(), ref.to_vector(), Tol{budget, budget, "conv budget x depth"});
}

struct Run {
  std::unique_ptr<Module> net;
  Tensor x, y, loss;
};

Run run_net(const nlohmann::json& opt, const std::map<std::string, Tensor>& weights, const Tensor& input,
            const Tensor& target, const std::string& kind, Device device, const LayerOptions& layers) {
  Run r;
  r.net = build_network(opt, layers);
  r.net->load_state_dict(weights, true, "fixture");
  r.net->to(device);
  r.net->train();
  r.x = input.to(device);
  r.x.set_requires_grad(true);
  r.y = r.net->forward(r.x);
  r.loss = kind == "l1"         ? l1_loss(r.y, target.to(device))
           : kind == "bce_real" ? bce_with_logits(r.y, 1.0)
                                : hinge_real_loss(r.y);
  r.loss.backward();
  return r;
}

// The fixture's network with `layers` (its kernel choice) on the CPU and on the simt device.
void run_net_parity(const std::string& name, const LayerOptions& layers = {}) {
  const std::string path = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/nets/" + name + ".safetensors";
  SafetensorsReadOptions as_f32;
  as_f32.dtype = DType::f32;
  const SafetensorsFile f = read_safetensors(path, as_f32);
  const auto opt = nlohmann::json::parse(f.metadata.at("net"));
  INFO(name << ": " << opt.dump());
  std::map<std::string, Tensor> weights;
  for (const auto& [k, t] : f.tensors)
    if (k.rfind("weight.", 0) == 0) weights[k.substr(7)] = t;
  const Tensor input = f.metadata.count("input")
                           ? test::fixture_hashed_input(
                                 Shape(nlohmann::json::parse(f.metadata.at("input_shape")).get<std::vector<int64_t>>()),
                                 DType::f32)
                           : f.get("input").clone();
  const std::string kind = f.metadata.at("loss");
  const Tensor target = kind == "l1" ? f.get("target") : Tensor();

  const uint64_t launches = ::simt::stats().launches;
  Run cpu = run_net(opt, weights, input, target, kind, Device::cpu(), layers);
  Run sim = run_net(opt, weights, input, target, kind, Device::simt(), layers);
  CHECK(::simt::stats().launches > launches);

  int depth = 0;  // conv and linear weights: an upper bound of the longest chain
  for (const auto& [k, p] : cpu.net->named_parameters()) depth += p.dim() >= 2;
  const double fwd = depth * conv_budget(layers.kernels.conv2d), bwd = 2 * fwd;
  close(name + " output", sim.y, cpu.y, fwd);
  close(name + " loss", sim.loss, cpu.loss, fwd);
  close(name + " grad.input", sim.x.grad(), cpu.x.grad(), bwd);
  const NamedTensors ps = sim.net->named_parameters(), pc = cpu.net->named_parameters();
  REQUIRE(ps.size() == pc.size());
  for (size_t i = 0; i < ps.size(); ++i) close(name + " grad." + ps[i].first, ps[i].second.grad(), pc[i].second.grad(), bwd);
  const NamedTensors bs = sim.net->named_buffers(), bc = cpu.net->named_buffers();
  REQUIRE(bs.size() == bc.size());
  for (size_t i = 0; i < bs.size(); ++i) close(name + " after." + bs[i].first, bs[i].second, bc[i].second, fwd);
}

}  // namespace

TEST_CASE("simt/nets_rrdbnet_x4") { run_net_parity("rrdbnet_x4"); }
TEST_CASE("simt/nets_rrdbnet_x2") { run_net_parity("rrdbnet_x2"); }
TEST_CASE("simt/nets_rrdbnet_x1") { run_net_parity("rrdbnet_x1"); }
TEST_CASE("simt/nets_unet_discriminator_sn") { run_net_parity("unet_discriminator_sn"); }
TEST_CASE("simt/nets_srvgg_compact_x4_prelu") { run_net_parity("srvgg_compact_x4"); }
TEST_CASE("simt/nets_srvgg_compact_x2_leakyrelu") { run_net_parity("srvgg_compact_x2_leakyrelu"); }
TEST_CASE("simt/nets_edsr_x2") { run_net_parity("edsr_x2"); }
TEST_CASE("simt/nets_edsr_x4_res_scale") { run_net_parity("edsr_x4"); }
TEST_CASE("simt/nets_edsr_x3") { run_net_parity("edsr_x3"); }
TEST_CASE("simt/nets_edsr_x8") { run_net_parity("edsr_x8"); }
TEST_CASE("simt/nets_srvgg_compact_x3_relu") { run_net_parity("srvgg_compact_x3_relu"); }
TEST_CASE("simt/nets_msrresnet_x4") { run_net_parity("msrresnet_x4"); }
TEST_CASE("simt/nets_msrresnet_x3") { run_net_parity("msrresnet_x3"); }
TEST_CASE("simt/nets_msrresnet_x2") { run_net_parity("msrresnet_x2"); }
TEST_CASE("simt/nets_rcan_x2") { run_net_parity("rcan_x2"); }
TEST_CASE("simt/nets_rcan_x3_res_scale") { run_net_parity("rcan_x3"); }
TEST_CASE("simt/nets_swinir_x2_pixelshuffle") { run_net_parity("swinir_x2"); }
TEST_CASE("simt/nets_swinir_x3_3conv_padded") { run_net_parity("swinir_x3_3conv"); }
TEST_CASE("simt/nets_swinir_x4_nearest_one_window") { run_net_parity("swinir_x4_nearest"); }
TEST_CASE("simt/nets_hat_x2_padded_shifted") { run_net_parity("hat_x2"); }
TEST_CASE("simt/nets_hat_x3_identity_one_window_gray") { run_net_parity("hat_x3_identity_gray"); }
TEST_CASE("simt/nets_ecbsr_x4_y_prelu") { run_net_parity("ecbsr_x4_y_prelu"); }
TEST_CASE("simt/nets_ecbsr_x2_rgb_idt_relu") { run_net_parity("ecbsr_x2_rgb_idt_relu"); }
TEST_CASE("simt/nets_ecbsr_x3_gray_to_rgb_linear") { run_net_parity("ecbsr_x3_gray_to_rgb_linear"); }
// The VGG-style discriminator amplifies rounding far beyond the others: its batch norms
// (training mode, a small batch, the fixture's one-channel first layers) subtract means that
// cancel most of each gradient. Under tf32 its first conv's bias gradient comes out twice
// the CPU's on the simt device, as it would on a GPU (bf16 worse still, as the precisions
// predict), while the fp32 naive variant agrees with the CPU to 1e-7. So it is built with
// the naive variant.
TEST_CASE("simt/nets_vgg_style_discriminator") {
  LayerOptions naive;
  naive.kernels.conv2d = kernels::ConvVariant::naive;
  run_net_parity("vgg_style_discriminator", naive);
}

// Two convolutions with the same weights, one built with the naive variant and one with
// tf32, run interleaved (forward a, forward b, backward a, backward b) on the simt device:
// each runs its own. Told apart by their error against the float64 CPU convolution: naive
// (fp32 FMA) stays within fp32 rounding, tf32 (10-bit operand mantissas) lands far outside
// it but inside its own budget. A variant held anywhere but in the layer would give both the
// same error.
TEST_CASE("simt/conv_choice_per_layer") {
  const uint64_t seed = std::random_device{}();  // fresh inputs each run
  INFO("seed " << seed);
  Generator gen(seed);
  LayerOptions naive, tf32;
  naive.kernels.conv2d = kernels::ConvVariant::naive;
  tf32.kernels.conv2d = kernels::ConvVariant::tf32;
  Conv2d a(16, 8, 3, 1, 1, true, naive), b(16, 8, 3, 1, 1, true, tf32);
  uniform_(a.weight, -0.3, 0.3, gen);
  uniform_(a.bias, -0.2, 0.2, gen);
  b.load_state_dict(a.state_dict(), true);
  Tensor x = Tensor::empty({2, 16, 7, 6}), r = Tensor::empty({2, 8, 7, 6});
  uniform_(x, -1, 1, gen);
  uniform_(r, -1, 1, gen);

  // The reference: the same convolution in float64 on the CPU.
  Conv2d ref(16, 8, 3, 1, 1, true);
  ref.load_state_dict(a.state_dict(), true);
  ref.to(DType::f64);
  Tensor xr = x.to(DType::f64);
  xr.set_requires_grad(true);
  Tensor yr = ref.forward(xr);
  sum(mul(yr, r.to(DType::f64))).backward();

  a.to(Device::simt());
  b.to(Device::simt());
  Tensor xa = x.to(Device::simt()), xb = x.to(Device::simt()), rs = r.to(Device::simt());
  xa.set_requires_grad(true);
  xb.set_requires_grad(true);
  Tensor ya = a.forward(xa), yb = b.forward(xb);
  sum(mul(ya, rs)).backward();
  sum(mul(yb, rs)).backward();

  struct Pair {
    std::string what;
    Tensor naive, tf32, ref;
  };
  const Pair pairs[] = {{"output", ya, yb, yr},
                        {"grad.input", xa.grad(), xb.grad(), xr.grad()},
                        {"grad.weight", a.weight.grad(), b.weight.grad(), ref.weight.grad()}};
  for (const Pair& p : pairs) {
    INFO(p.what);
    const std::vector<double> ref_v = p.ref.to_vector();
    // Within fp32 rounding: the naive variant.
    CHECK(simt_test::compare(p.what + " naive", p.naive.to_vector(), ref_v, Tol{1e-5, 1e-5, "fp32"}));
    // Within tf32's budget, but far outside fp32 rounding: the tf32 variant.
    CHECK(simt_test::compare(p.what + " tf32", p.tf32.to_vector(), ref_v, Tol{2e-3, 2e-3, "tf32"}));
    double maxref = 0, worst = 0;
    for (double v : ref_v) maxref = std::max(maxref, std::fabs(v));
    const std::vector<double> got = p.tf32.to_vector();
    for (size_t i = 0; i < got.size(); ++i)
      worst = std::max(worst, parity::budget_share(got[i], ref_v[i], maxref, Tol{1e-5, 1e-5, "fp32"}));
    INFO("tf32's worst element uses " << worst << " fp32 budgets");
    CHECK(worst > 5);
  }
}

// Runs f(layers, gen) for igemm_v2 and wgmma, the conv variants whose dense blocks keep packed
// twins (nf and gc multiples of 8), each from the same fresh seed (printed on failure).
namespace {
void for_each_twin_variant(const std::function<void(const LayerOptions&, Generator&)>& f) {
  const uint64_t seed = std::random_device{}();  // fresh inputs each run
  INFO("seed " << seed);
  for (const kernels::ConvVariant v : {kernels::ConvVariant::igemm_v2, kernels::ConvVariant::wgmma}) {
    INFO(kernels::conv_variant_name(v));
    Generator gen(seed);
    LayerOptions layers;
    layers.kernels.conv2d = v;
    f(layers, gen);
  }
}
}  // namespace

// RRDBNet's trunk (nets/rrdbnet.cpp) chains its fused dense blocks with one RdbLink: on
// igemm_v2 and wgmma (nf and gc multiples of 8: the blocks keep packed twins) each block but
// the first finds x already in its twin, stored by the previous block's conv5. Against the
// same blocks called one by one without a link (each packs its x): the trunk's output, the
// input gradient and every parameter gradient bit for bit, and one packing launch fewer per
// block but the first (3 nb - 1); on wgmma nb - 1 fewer than that, as its rdb3 applies the
// RRDB's outer residual as a map after its store and packs y after that map (conv2d.cu), so
// the next RRDB's x is packed by the producer instead of the consumer. In the backward, rdb2's
// and rdb3's conv1 stores pack their dx as rdb1's and rdb2's conv5 dy (RdbLink's backward half:
// those outputs have no other consumer), so 2 nb packing launches fewer; an RRDB's rdb1's dx is
// not the previous RRDB's rdb3's dy alone (that output also feeds this RRDB's outer residual):
// there the dy is packed by its consumer as without the link.
TEST_CASE("simt/rrdbnet_trunk_link") {
  for_each_twin_variant([](const LayerOptions& layers, Generator& gen) {
    const kernels::ConvVariant v = layers.kernels.conv2d;
    const int64_t nb = 2;
    RRDBNet net(3, 3, 4, /*num_feat=*/16, nb, /*num_grow_ch=*/8, layers);
    for (auto& [name, p] : net.named_parameters()) uniform_(p, -0.3, 0.3, gen);
    net.to(Device::simt());
    Tensor feat = Tensor::empty({1, 16, 4, 5}), r = Tensor::empty({1, 16, 4, 5});
    uniform_(feat, -1, 1, gen);
    uniform_(r, -1, 1, gen);
    const Tensor rs = r.to(Device::simt());

    struct Result {
      Tensor y, dfeat;
      std::vector<std::vector<double>> grads;
      uint64_t launches, backward_launches;
    };
    auto run = [&](bool linked) {
      net.zero_grad();
      Tensor x = feat.to(Device::simt());
      x.set_requires_grad(true);
      const uint64_t l0 = ::simt::stats().launches;
      Tensor h = x;
      if (linked) {
        h = net.trunk(x);
      } else {
        for (size_t i = 0; i < net.body->size(); ++i) {
          auto& rrdb = dynamic_cast<RRDB&>((*net.body)[i]);
          const Tensor a = rrdb.rdb1->forward_fused(h), b = rrdb.rdb2->forward_fused(a);
          h = rrdb.rdb3->forward_fused(b, h);
        }
      }
      Result out{h, Tensor(), {}, ::simt::stats().launches - l0, 0};
      const Tensor loss = sum(mul(h, rs));
      const uint64_t l1 = ::simt::stats().launches;
      loss.backward();
      out.backward_launches = ::simt::stats().launches - l1;
      out.dfeat = x.grad();
      for (const auto& [name, p] : net.named_parameters())
        if (name.rfind("body.", 0) == 0) out.grads.push_back(p.grad().to_vector());
      return out;
    };
    const Result linked = run(true), alone = run(false);
    const int64_t saved = v == kernels::ConvVariant::wgmma ? 2 * nb : 3 * nb - 1;
    CHECK(linked.launches + saved == alone.launches);
    CHECK(linked.backward_launches + 2 * nb == alone.backward_launches);
    CHECK(simt_test::count_differing(linked.y.to_vector(), alone.y.to_vector()) == 0);
    CHECK(simt_test::count_differing(linked.dfeat.to_vector(), alone.dfeat.to_vector()) == 0);
    REQUIRE(linked.grads.size() == (size_t)nb * 3 * 10);
    for (size_t i = 0; i < linked.grads.size(); ++i) {
      INFO("body parameter " << i);
      CHECK(simt_test::count_differing(linked.grads[i], alone.grads[i]) == 0);
    }
  });
}

// RdbLink's backward half is taken only when the gradient a block receives is the next
// block's dx itself. Two linked blocks (rdb1 told that rdb2 alone reads its output) against the
// same blocks unlinked, on igemm_v2 and wgmma: with the loss reading rdb2's output only, every
// gradient bit for bit and one packing launch fewer (rdb1's conv5 dy stored by rdb2's conv1);
// with the loss also reading rdb1's output (the caller's claim wrong), rdb1's dy is a sum, a new
// tensor, so rdb1 packs its own and every gradient is still the unlinked blocks' bit for bit
// (the planted bug that takes the handoff there drops the second reader's term: it differs).
TEST_CASE("simt/rdb_grad_handoff_needs_the_very_gradient") {
  for_each_twin_variant([](const LayerOptions& layers, Generator& gen) {
    ResidualDenseBlock rdb1(16, 8, layers), rdb2(16, 8, layers);
    for (Module* m : {(Module*)&rdb1, (Module*)&rdb2}) {
      for (auto& [name, p] : m->named_parameters()) uniform_(p, -0.3, 0.3, gen);
      m->to(Device::simt());
    }
    Tensor feat = Tensor::empty({2, 16, 4, 3}), r = Tensor::empty({2, 16, 4, 3}), q = Tensor::empty({2, 16, 4, 3});
    uniform_(feat, -1, 1, gen);
    uniform_(r, -1, 1, gen);
    uniform_(q, -1, 1, gen);
    const Tensor rs = r.to(Device::simt()), qs = q.to(Device::simt());

    struct Result {
      std::vector<std::vector<double>> grads;  // the input's, then every parameter's
      uint64_t backward_launches;
    };
    auto run = [&](bool linked, bool second_reader) {
      rdb1.zero_grad();
      rdb2.zero_grad();
      Tensor x = feat.to(Device::simt());
      x.set_requires_grad(true);
      RdbLink link;
      link.sole_consumer = true;
      const Tensor a = rdb1.forward_fused(x, Tensor(), linked ? &link : nullptr);
      link.leave_next = false;
      link.sole_consumer = false;
      const Tensor b = rdb2.forward_fused(a, Tensor(), linked ? &link : nullptr);
      Tensor loss = sum(mul(b, rs));
      if (second_reader) loss = add(loss, sum(mul(a, qs)));
      const uint64_t l0 = ::simt::stats().launches;
      loss.backward();
      Result out{{x.grad().to_vector()}, ::simt::stats().launches - l0};
      for (Module* m : {(Module*)&rdb1, (Module*)&rdb2})
        for (const auto& [name, p] : m->named_parameters()) out.grads.push_back(p.grad().to_vector());
      return out;
    };
    for (const bool second_reader : {false, true}) {
      INFO((second_reader ? "the loss reads rdb1's output too" : "rdb2 alone reads rdb1's output"));
      const Result linked = run(true, second_reader), alone = run(false, second_reader);
      CHECK(linked.backward_launches + (second_reader ? 0 : 1) == alone.backward_launches);
      REQUIRE(linked.grads.size() == 21);
      for (size_t i = 0; i < linked.grads.size(); ++i) {
        INFO("gradient " << i);
        CHECK(simt_test::count_differing(linked.grads[i], alone.grads[i]) == 0);
      }
      if (!second_reader) continue;
      struct Restore {
        ~Restore() { set_rdb_grad_handoff_unchecked(false); }
      } restore;
      set_rdb_grad_handoff_unchecked(true);
      const Result planted = run(true, true);
      set_rdb_grad_handoff_unchecked(false);
      int64_t differ = 0;
      for (size_t i = 0; i < planted.grads.size(); ++i)
        differ += simt_test::count_differing(planted.grads[i], alone.grads[i]);
      INFO("the handoff taken without the check: " << differ << " gradient values differ");
      CHECK(differ > 0);
    }
  });
}

// What a fused dense block keeps for its backward, counted in the simt device's live bytes
// after the forward: on igemm_v2 (nf 16, gc 8: multiples of 8) the packed twin, nf + 4 gc
// bf16 per pixel, beside y; on tf32 the float32 buffer [x | slices], twice the bytes. An RRDB
// keeps three and its output (its blocks' outputs in between are freed; the twins the blocks
// hand on are the next blocks' own). An empty batch runs.
TEST_CASE("simt/rdb_saves_its_twin") {
  const int64_t N = 2, nf = 16, gc = 8, H = 5, W = 4, pixels = N * H * W;
  for (const kernels::ConvVariant v : {kernels::ConvVariant::igemm_v2, kernels::ConvVariant::tf32}) {
    INFO(kernels::conv_variant_name(v));
    LayerOptions layers;
    layers.kernels.conv2d = v;
    ResidualDenseBlock block(nf, gc, layers);
    RRDB rrdb(nf, gc, layers);
    block.to(Device::simt());
    rrdb.to(Device::simt());
    Tensor x = Tensor::zeros({N, nf, H, W}).to(Device::simt());
    x.set_requires_grad(true);
    auto held = [&](const std::function<Tensor()>& forward) {
      const size_t before = ::simt::device_bytes_in_use();
      const Tensor y = forward();
      return (int64_t)::simt::device_bytes_in_use() - (int64_t)before;
    };
    const int64_t saved = (nf + 4 * gc) * pixels * (v == kernels::ConvVariant::igemm_v2 ? 2 : 4);
    const int64_t y = nf * pixels * 4;
    CHECK(held([&] { return block.forward_fused(x); }) == saved + y);
    CHECK(held([&] { return rrdb.forward_fused(x); }) == 3 * saved + y);
    // An empty batch: nothing to hold, forward and backward run.
    Tensor e = Tensor::zeros({0, nf, H, W}).to(Device::simt());
    e.set_requires_grad(true);
    const Tensor ye = rrdb.forward_fused(e);
    CHECK(ye.shape() == e.shape());
    ye.backward(Tensor::zeros(ye.shape()).to(Device::simt()));
    CHECK(e.grad().shape() == e.shape());
  }
}

#endif  // SRENGINE_WITH_SIMT
