// Tensor storage, views, copies, conversions, and the Philox initialisers.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/cuda_runtime.h"
#include "engine/ops.h"
#include "engine/philox.h"
#include "engine/random.h"
#include "engine/tensor.h"

using namespace sr;

TEST_CASE("tensor/create_fill_copy") {
  Tensor t = Tensor::full({2, 3}, 1.5);
  CHECK(t.dtype() == DType::f32);
  CHECK(t.numel() == 6);
  for (double v : t.to_vector()) CHECK(v == 1.5);
  Tensor d = t.to(DType::f64);
  CHECK(d.dtype() == DType::f64);
  CHECK(d.to_vector() == t.to_vector());
  Tensor c = t.clone();
  c.fill_(-2);
  CHECK(t.to_vector()[0] == 1.5);  // clone does not share storage
  CHECK(c.to_vector()[0] == -2);
  CHECK(Tensor::zeros({5}, DType::f64).to_vector() == std::vector<double>(5, 0.0));
}

TEST_CASE("tensor/channel_view_shares_storage") {
  Tensor x = Tensor::zeros({2, 5, 3, 3});
  Tensor v = x.narrow(1, 2, 2);  // channels 2..3 of both images
  CHECK(v.shape() == Shape{2, 2, 3, 3});
  CHECK_FALSE(v.is_contiguous());
  CHECK(v.same_storage(x));
  v.fill_(7);
  const auto xv = x.to_vector();
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 5; ++c)
      for (int64_t i = 0; i < 9; ++i)
        CHECK(xv[(n * 5 + c) * 9 + i] == ((c == 2 || c == 3) ? 7.0 : 0.0));
  Tensor vc = v.contiguous();
  CHECK(vc.is_contiguous());
  CHECK_FALSE(vc.same_storage(x));
  CHECK(vc.to_vector() == std::vector<double>(36, 7.0));
  // Writing a tensor into a view lands in the right channels.
  Tensor src = Tensor::full({2, 1, 3, 3}, 3.0);
  x.narrow(1, 4, 1).copy_(src);
  CHECK(x.to_vector()[(1 * 5 + 4) * 9 + 8] == 3.0);
  CHECK_THROWS_AS(x.narrow(1, 4, 2), Error);
}

TEST_CASE("tensor/reshape_requires_contiguous") {
  Tensor x = Tensor::zeros({2, 6});
  CHECK(x.reshape({3, 4}).shape() == Shape{3, 4});
  CHECK_THROWS_WITH(x.reshape({5, 2}), Catch::Contains("[2, 6]") && Catch::Contains("[5, 2]"));
  CHECK_THROWS_AS(x.narrow(1, 0, 3).reshape({6}), Error);
}

TEST_CASE("tensor/cuda_without_gpu_is_a_clear_error") {
#ifndef SRENGINE_WITH_CUDA
  CHECK_THROWS_WITH(Tensor::zeros({2}, DType::f32, Device::cuda(0)), Catch::Contains("without CUDA"));
#endif
  CHECK_THROWS_WITH(parse_device("gpu"), Catch::Contains("gpu"));
  CHECK(parse_device("cuda:1").index == 1);
}

// cuda:N must mean GPU N: activate_device makes it current, and refuses a device this build
// or machine lacks with the request and what there is (the GPU side: cuda/device_selection).
TEST_CASE("tensor/activate_device_refuses_a_missing_gpu") {
  CHECK_NOTHROW(activate_device(Device::cpu(), "device 'cpu'"));
#ifdef SRENGINE_WITH_CUDA
  const int count = cuda::device_count();
  if (count == 0) {
    CHECK_THROWS_WITH(activate_device(Device::cuda(0), "device 'cuda'"),
                      Catch::Contains("device 'cuda': cuda:0 requested but no CUDA device"));
  }
  CHECK_THROWS_WITH(activate_device(Device::cuda(count), "device 'cuda:" + std::to_string(count) + "'"),
                    Catch::Contains("cuda:" + std::to_string(count) + " requested") &&
                        Catch::Contains(count == 0 ? std::string("no CUDA device")
                                                   : "has " + std::to_string(count) + " CUDA device(s)"));
#else
  CHECK_THROWS_WITH(activate_device(Device::cuda(1), "--device cuda:1"),
                    Catch::Contains("--device cuda:1: cuda:1 requested") && Catch::Contains("without CUDA"));
#endif
}

// The simt device (the CUDA kernels on the SIMT interpreter): tensors move to it and back,
// views are written and copied by the interpreted copy and fill kernels, and its ops take
// float32 as CUDA's do.
TEST_CASE("simt/device_tensors") {
  CHECK(parse_device("simt") == Device::simt());
  CHECK(Device::simt().str() == "simt");
  CHECK(Device::simt() != Device::cpu());
#ifdef SRENGINE_WITH_SIMT
  CHECK_NOTHROW(activate_device(Device::simt(), "--device simt"));
  std::vector<double> values(2 * 5 * 9);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.5 * (double)i - 7;
  const Tensor host = Tensor::from_vector(values, {2, 5, 3, 3});
  Tensor d = host.to(Device::simt());
  REQUIRE(d.is_simt());
  CHECK(d.to_vector() == values);
  d.narrow(1, 1, 2).fill_(-1);                                // strided fill
  d.narrow(1, 4, 1).copy_(Tensor::full({2, 1, 3, 3}, 3.0));   // host into a device view
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 5; ++c)
      for (int64_t i = 0; i < 9; ++i) {
        const size_t at = (size_t)((n * 5 + c) * 9 + i);
        values[at] = c == 1 || c == 2 ? -1.0 : c == 4 ? 3.0 : values[at];
      }
  CHECK(d.to_vector() == values);
  const Tensor view = d.narrow(1, 2, 3).contiguous();  // strided copy on the device
  CHECK(view.is_simt());
  CHECK(view.to_vector() == d.to(Device::cpu()).narrow(1, 2, 3).contiguous().to_vector());
  const Tensor d64 = d.to(DType::f64);  // float -> double on the device
  CHECK(d64.is_simt());
  CHECK(d64.to_vector() == values);
  CHECK_THROWS_WITH(add(d64, d64), Catch::Contains("simt tensors must be float32"));
  CHECK(add(d, d).to_vector()[3] == 2 * values[3]);
#else
  CHECK_THROWS_WITH(activate_device(Device::simt(), "--device simt"), Catch::Contains("-DSRENGINE_SIMT=ON"));
#endif
}

TEST_CASE("tensor/philox_known_answers") {
  // Known-answer vectors of Philox4x32-10 (Salmon et al., SC'11, Random123 test vectors).
  philox::U32x4 zero{{0, 0, 0, 0}};
  auto r0 = philox::philox4x32_10(zero, 0, 0);
  CHECK(r0.v[0] == 0x6627e8d5u);
  CHECK(r0.v[1] == 0xe169c58du);
  CHECK(r0.v[2] == 0xbc57ac4cu);
  CHECK(r0.v[3] == 0x9b00dbd8u);
  philox::U32x4 ones{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}};
  auto r1 = philox::philox4x32_10(ones, 0xffffffffu, 0xffffffffu);
  CHECK(r1.v[0] == 0x408f276du);
  CHECK(r1.v[1] == 0x41c83b0eu);
  CHECK(r1.v[2] == 0xa20bc7c6u);
  CHECK(r1.v[3] == 0x6d5451fdu);
  philox::U32x4 pi{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}};
  auto r2 = philox::philox4x32_10(pi, 0xa4093822u, 0x299f31d0u);
  CHECK(r2.v[0] == 0xd16cfe09u);
  CHECK(r2.v[1] == 0x94fdccebu);
  CHECK(r2.v[2] == 0x5001e420u);
  CHECK(r2.v[3] == 0x24126ea1u);
}

TEST_CASE("tensor/initialisers_are_seeded_and_have_pytorch_scales") {
  manual_seed(123);
  Tensor a = Tensor::empty({64, 32, 3, 3});
  kaiming_normal_(a);
  manual_seed(123);
  Tensor b = Tensor::empty({64, 32, 3, 3});
  kaiming_normal_(b);
  CHECK(a.to_vector() == b.to_vector());  // same seed, same numbers
  Tensor c = Tensor::empty({64, 32, 3, 3});
  kaiming_normal_(c);
  CHECK(a.to_vector() != c.to_vector());  // next stream differs

  // std of kaiming_normal (a=0, fan_in = 32*9) is sqrt(2/288).
  auto v = a.to_vector();
  double m = 0, s = 0;
  for (double x : v) m += x;
  m /= v.size();
  for (double x : v) s += (x - m) * (x - m);
  s = std::sqrt(s / v.size());
  CHECK(std::fabs(m) < 0.005);
  CHECK(s == Approx(std::sqrt(2.0 / 288)).epsilon(0.03));

  // PyTorch's default conv init: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  Tensor u = Tensor::empty({16, 8, 3, 3}, DType::f64);
  kaiming_uniform_(u, std::sqrt(5.0));
  const double bound = 1.0 / std::sqrt(72.0);
  double lo = 1, hi = -1;
  for (double x : u.to_vector()) lo = std::min(lo, x), hi = std::max(hi, x);
  CHECK(lo >= -bound);
  CHECK(hi <= bound);
  CHECK(hi > 0.95 * bound);
  CHECK(lo < -0.95 * bound);
  CHECK(compute_fan(u, FanMode::fan_out) == 16 * 9);
}

// HostAllocationLimit: what this thread allocates inside the scope, less what it frees, may not
// pass the limit; the allocation that would is refused with the scope's message, before it is
// taken; scopes nest, and nothing is limited after them.
TEST_CASE("engine/host_allocation_limit") {
  constexpr int64_t kFloats = 1 << 18;  // 1 MiB
  {
    HostAllocationLimit limit(3 << 20, "over the test's 3 MiB");
    Tensor a = Tensor::empty({kFloats});
    {
      Tensor b = Tensor::empty({kFloats});
      CHECK_THROWS_WITH(Tensor::empty({2 * kFloats}), Catch::Contains("over the test's 3 MiB"));
    }
    Tensor c = Tensor::empty({2 * kFloats});  // b was freed: 3 MiB held, not more
    {
      HostAllocationLimit inner(kFloats * 4 / 2, "over the inner half MiB");
      CHECK_THROWS_WITH(Tensor::empty({kFloats}), Catch::Contains("over the inner half MiB"));
    }
    CHECK_THROWS_WITH(Tensor::empty({16}), Catch::Contains("over the test's 3 MiB"));
  }
  CHECK(Tensor::empty({4 * kFloats}).numel() == 4 * kFloats);
}
