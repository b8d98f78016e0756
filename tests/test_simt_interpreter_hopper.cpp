// simt/interpreter_mbarrier, interpreter_tma, interpreter_wgmma: the interpreter's sm_90
// instructions (kernels/simt/mbarrier.h, wgmma.h) on the kernels of tests/simt/planted_hopper.cu,
// each against a reference written here from the PTX ISA's description, and each with planted
// misuses it must catch (a wrong parity, a missing expect_tx, a read before the wait, a
// missing fence, a descriptor naming the wrong layout, MN-major data read K-major).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "kernels/cuda/igemm.h"
#include "kernels/simt/wgmma.h"
#include "support/simt_support.h"
#include "tests/simt/planted_hopper.h"

#ifdef SRENGINE_WITH_SIMT

using namespace sr;
using namespace sr::simt_test;

namespace {

// Phases: every wait returns only once all 128 arrivals of its round are in.
TEST_CASE("simt/interpreter_mbarrier") {
  for (uint64_t seed : {0, 5}) {
    ::simt::set_schedule_seed(seed);
    DevT<unsigned> Counts(std::vector<unsigned>(3, 0)), Seen(3 * 128);
    simt_planted::mbarrier_rounds(0, Counts.p, Seen.p);
    for (unsigned v : Seen.get()) CHECK(v == 128u);
  }
  ::simt::set_schedule_seed(0);
  // Planted: the wrong parity returns at once (the previous phase counts as complete) and the
  // count read is short; an init count below the arrivals completes phases early.
  for (int mode : {1, 4}) {
    DevT<unsigned> Counts(std::vector<unsigned>(3, 0)), Seen(3 * 128);
    const std::string err = fault_of([&] { simt_planted::mbarrier_rounds(mode, Counts.p, Seen.p); });
    int short_reads = 0;
    for (unsigned v : Seen.get()) short_reads += v != 128u;
    INFO("mode " << mode << ": " << err);
    CHECK((!err.empty() || short_reads > 0));
  }
  {  // expect_tx with no transaction to complete it: the block is stuck at the wait, named
    DevT<unsigned> Counts(std::vector<unsigned>(3, 0)), Seen(3 * 128);
    const std::string err = fault_of([&] { simt_planted::mbarrier_rounds(2, Counts.p, Seen.p); });
    INFO(err);
    CHECK(err.find("is stuck") != std::string::npos);
    CHECK(err.find("mbarrier.try_wait.parity") != std::string::npos);
    CHECK(err.find("tx-count 64") != std::string::npos);
  }
  {  // arrivals on a barrier mbarrier.init never initialised
    DevT<unsigned> Counts(std::vector<unsigned>(3, 0)), Seen(3 * 128);
    const std::string err = fault_of([&] { simt_planted::mbarrier_rounds(3, Counts.p, Seen.p); });
    INFO(err);
    CHECK(err.find("never initialised") != std::string::npos);
  }
}

// A 4-d NHWC-like tensor of 16-bit elements, value 1 + linear index (0 is the fill).
struct Tensor4 {
  uint64_t dims[4];
  std::vector<uint16_t> host;
  explicit Tensor4(std::initializer_list<uint64_t> d) {
    std::copy(d.begin(), d.end(), dims);
    host.resize(dims[0] * dims[1] * dims[2] * dims[3]);
    for (size_t i = 0; i < host.size(); ++i) host[i] = (uint16_t)(1 + i);
  }
  uint16_t at(int64_t c, int64_t w, int64_t h, int64_t n) const {
    if (c < 0 || w < 0 || h < 0 || n < 0 || c >= (int64_t)dims[0] || w >= (int64_t)dims[1] || h >= (int64_t)dims[2] ||
        n >= (int64_t)dims[3])
      return 0;
    return host[((n * dims[2] + h) * dims[1] + w) * dims[0] + c];
  }
};

// The box as the ISA describes the tile mode: element (i0, i1, i2, i3) of the box is the
// tensor's element at coords + i (zero outside), packed with i0 innermost; under the 128B
// swizzle, the 16-byte chunk j of each 128-byte row q is stored at chunk position j XOR (q % 8);
// under the 64B swizzle (swizzle_row 64), chunk j of 64-byte row q at j XOR ((q / 2) % 4).
// With element strides t (dimension 0 steps by 1), the box holds element i of dimension d at
// coords + t[d] i, for i below ceil(box[d] / t[d]).
std::vector<uint16_t> expected_box(const Tensor4& t, const uint32_t box_dims[4], const int32_t c[4], bool swizzle,
                                   const uint32_t steps[4] = nullptr, int swizzle_row = 128) {
  uint32_t st[4] = {1, 1, 1, 1}, box[4];
  for (int d = 0; d < 4; ++d) {
    if (steps && d > 0) st[d] = steps[d];
    box[d] = (box_dims[d] + st[d] - 1) / st[d];
  }
  std::vector<uint16_t> out((size_t)box[0] * box[1] * box[2] * box[3]);
  for (uint32_t i3 = 0; i3 < box[3]; ++i3)
    for (uint32_t i2 = 0; i2 < box[2]; ++i2)
      for (uint32_t i1 = 0; i1 < box[1]; ++i1)
        for (uint32_t i0 = 0; i0 < box[0]; ++i0) {
          const size_t e = ((i3 * box[2] + i2) * box[1] + i1) * box[0] + i0;
          size_t byte = e * 2;
          if (swizzle && swizzle_row == 128) {
            const size_t q = byte / 128, j = byte % 128 / 16;
            byte = q * 128 + ((j ^ (q % 8)) * 16) + byte % 16;
          } else if (swizzle) {  // 64B: chunk j of 64-byte row q at j XOR (q / 2) % 4
            const size_t q = byte / 64, j = byte % 64 / 16;
            byte = q * 64 + ((j ^ (q / 2 % 4)) * 16) + byte % 16;
          }
          out[byte / 2] = t.at(c[0] + (int)i0, c[1] + (int)(st[1] * i1), c[2] + (int)(st[2] * i2),
                               c[3] + (int)(st[3] * i3));
        }
  return out;
}

TEST_CASE("simt/interpreter_tma") {
  // C = 64 (one 128-byte row per pixel), W = 10, H = 6, N = 2; a box of 8 x 4 pixels.
  Tensor4 t({64, 10, 6, 2});
  DevT<uint16_t> G(t.host);
  const uint64_t strides[3] = {64 * 2, 64 * 2 * 10, 64 * 2 * 10 * 6};
  const uint32_t box[4] = {64, 8, 4, 1}, ones[4] = {1, 1, 1, 1};
  const int n = 64 * 8 * 4;
  for (bool swizzle : {true, false}) {
    ::simt::TensorMap map;
    REQUIRE(::simt::encode_tensor_map_tiled(&map, 2, 4, G.p, t.dims, strides, box, ones,
                                            swizzle ? ::simt::TensorMapSwizzle::b128 : ::simt::TensorMapSwizzle::none,
                                            false) == "");
    // Inside, across the top-left corner (the conv's zero padding) and past the far edges.
    for (const std::vector<int32_t>& c : {std::vector<int32_t>{0, 1, 1, 0}, std::vector<int32_t>{0, -1, -1, 1},
                                           std::vector<int32_t>{0, 5, 4, 1}}) {
      DevT<uint16_t> Out(n);
      simt_planted::tma_tile(map, c.data(), 0, Out.p);
      const std::vector<uint16_t> want = expected_box(t, box, c.data(), swizzle);
      const std::vector<uint16_t> got = Out.get();
      int bad = 0;
      for (int i = 0; i < n; ++i) bad += got[i] != want[i];
      INFO("swizzle " << swizzle << " at (" << c[1] << ", " << c[2] << ", " << c[3] << ")");
      CHECK(bad == 0);
      // The reference itself tells the layouts apart (a swizzle left out is caught).
      if (swizzle) CHECK(want != expected_box(t, box, c.data(), false));
    }
  }
  // Element strides (wgmma's strided convolutions): 2 along W, 3 along H over a box of 8 x 5
  // traversed pixels loads 4 x 2 of them (dimension 0's must be 1). A stride of 1 read instead,
  // or the traversed box loaded whole, differs from the reference.
  {
    const uint32_t sbox[4] = {64, 8, 5, 1}, steps[4] = {1, 2, 3, 1};
    ::simt::TensorMap map;
    REQUIRE(::simt::encode_tensor_map_tiled(&map, 2, 4, G.p, t.dims, strides, sbox, steps,
                                            ::simt::TensorMapSwizzle::b128, false) == "");
    CHECK(::simt::tensor_map_box_elements(map, 0) == 64);
    CHECK(::simt::tensor_map_box_elements(map, 1) == 4);
    CHECK(::simt::tensor_map_box_elements(map, 2) == 2);
    for (const std::vector<int32_t>& c : {std::vector<int32_t>{0, -1, -1, 0}, std::vector<int32_t>{0, 3, 2, 1}}) {
      const int loaded = 64 * 4 * 2;
      DevT<uint16_t> Out(loaded);
      simt_planted::tma_tile(map, c.data(), 0, Out.p);
      const std::vector<uint16_t> want = expected_box(t, sbox, c.data(), true, steps);
      REQUIRE(want.size() == (size_t)loaded);
      const std::vector<uint16_t> got = Out.get();
      int bad = 0;
      for (int i = 0; i < loaded; ++i) bad += got[i] != want[i];
      INFO("element strides 2, 3 at (" << c[1] << ", " << c[2] << ", " << c[3] << ")");
      CHECK(bad == 0);
      const uint32_t unit_box[4] = {64, 4, 2, 1};
      CHECK(want != expected_box(t, unit_box, c.data(), true));
    }
  }
  // The 64B swizzle of 64-byte rows (32 channels: wgmma's 32-wide N-major operands), inside
  // and across the corner; the 128B pattern or none applied instead differs.
  {
    Tensor4 t32({32, 10, 6, 2});
    DevT<uint16_t> G32(t32.host);
    const uint64_t strides32[3] = {32 * 2, 32 * 2 * 10, 32 * 2 * 10 * 6};
    const uint32_t box32[4] = {32, 8, 4, 1};
    ::simt::TensorMap map;
    REQUIRE(::simt::encode_tensor_map_tiled(&map, 2, 4, G32.p, t32.dims, strides32, box32, ones,
                                            ::simt::TensorMapSwizzle::b64, false) == "");
    for (const std::vector<int32_t>& c : {std::vector<int32_t>{0, 1, 1, 0}, std::vector<int32_t>{0, -1, -2, 1}}) {
      DevT<uint16_t> Out(32 * 8 * 4);
      simt_planted::tma_tile(map, c.data(), 0, Out.p);
      const std::vector<uint16_t> want = expected_box(t32, box32, c.data(), true, nullptr, 64);
      INFO("64B swizzle at (" << c[1] << ", " << c[2] << ", " << c[3] << ")");
      CHECK(Out.get() == want);
      CHECK(want != expected_box(t32, box32, c.data(), false));
      CHECK(want != expected_box(t32, box32, c.data(), true, nullptr, 128));
    }
  }
  ::simt::TensorMap map;
  REQUIRE(::simt::encode_tensor_map_tiled(&map, 2, 4, G.p, t.dims, strides, box, ones,
                                          ::simt::TensorMapSwizzle::b128, false) == "");
  const int32_t c[4] = {0, 0, 0, 0};
  // Read before the wait, no expect_tx (the phase completes on the arrival alone), the wait
  // on the wrong parity: the bytes have not landed, the box reads as poison.
  for (int mode : {1, 2, 3}) {
    DevT<uint16_t> Out(n);
    simt_planted::tma_tile(map, c, mode, Out.p);
    int poison = 0;
    for (uint16_t v : Out.get()) poison += v == 0xffff;
    INFO("mode " << mode);
    CHECK(poison == n);
  }
  // cuTensorMapEncodeTiled's checks: each refusal names the bad value.
  auto refusal = [&](const uint64_t* st, const uint32_t* bx, const uint32_t* steps, ::simt::TensorMapSwizzle sw) {
    return ::simt::encode_tensor_map_tiled(&map, 2, 4, G.p, t.dims, st, bx, steps, sw, false);
  };
  const auto none = ::simt::TensorMapSwizzle::none, b128 = ::simt::TensorMapSwizzle::b128;
  const uint64_t bad_strides[3] = {64 * 2 + 8, 64 * 2 * 10, 64 * 2 * 10 * 6};
  const uint32_t big_box[4] = {64, 300, 1, 1}, half_row[4] = {32, 8, 4, 1};
  const uint32_t nine[4] = {1, 9, 1, 1}, inner[4] = {2, 1, 1, 1};
  CHECK_THAT(refusal(bad_strides, box, ones, none), Catch::Contains("multiple of 16"));
  CHECK_THAT(refusal(strides, big_box, ones, none), Catch::Contains("1 to 256"));
  CHECK_THAT(refusal(strides, half_row, ones, b128), Catch::Contains("128B swizzle of 128-byte rows"));
  CHECK_THAT(refusal(strides, box, ones, ::simt::TensorMapSwizzle::b64), Catch::Contains("inner box row of 128"));
  CHECK_THAT(refusal(strides, box, nine, b128), Catch::Contains("element stride 9 in dimension 1 (1 to 8)"));
  CHECK_THAT(refusal(strides, box, inner, b128), Catch::Contains("element stride 2 in dimension 0 (must be 1"));
}

// The descriptor's address mapping against the ISA's description, spelled as rows, chunks
// and core matrices (wgmma_operand_address is the interpreter's bit-level form).
TEST_CASE("simt/interpreter_wgmma") {
  const std::source_location here = std::source_location::current();
  auto desc = [](uint32_t start, uint32_t lbo, uint32_t sbo, uint64_t mode) {
    return (uint64_t)(start >> 4) | ((uint64_t)(lbo >> 4) << 16) | ((uint64_t)(sbo >> 4) << 32) | (mode << 62);
  };
  for (uint32_t start : {0u, 2048u + 32u, 4096u + 96u}) {
    const uint64_t d = desc(start, 16, 1024, 1);
    for (int r = 0; r < 64; r += 3)
      for (int k = 0; k < 16; ++k) {
        // Row r's 128-byte line; its byte start%128 + 2k is in chunk j, stored at j ^ (r % 8).
        const uint32_t line = start / 1024 * 1024 + (r / 8) * 1024 + (r % 8) * 128;
        const uint32_t in_row = start % 128 + 2 * k;
        const uint32_t want = line + (((in_row / 16) ^ (r % 8)) * 16) + in_row % 16;
        INFO("start " << start << " row " << r << " k " << k);
        CHECK(::simt::detail::wgmma_operand_address(d, r, k, false, here) == want);
      }
    const uint64_t di = desc(start, 128, 1024, 0);
    for (int r = 0; r < 64; r += 5)
      for (int k = 0; k < 16; ++k)  // core matrix (r/8, k/8): 8 rows of 16 bytes
        CHECK(::simt::detail::wgmma_operand_address(di, r, k, false, here) ==
              start + (r / 8) * 1024 + (k / 8) * 128 + (r % 8) * 16 + (k % 8) * 2);
  }

  // MN-major (imm-trans 1): line k of `span` bytes holds span/2 consecutive i, column blocks
  // LBO apart, atoms of 8 lines SBO apart; chunk j of line k at j XOR (k % 8) (128B) or
  // j XOR (k % 8) / 2 (64B); without swizzle, core matrices of 8 k lines of 8 i (16 bytes).
  for (uint32_t span : {128u, 64u})
    for (uint32_t start : {0u, 4096u}) {
      const uint32_t lbo = 64 * span, sbo = 8 * span;
      const uint64_t d = desc(start, lbo, sbo, span == 128 ? 1 : 2);
      for (int i = 0; i < 64; i += 3)
        for (int k = 0; k < 16; ++k) {
          const uint32_t per_line = span / 2, j = (i % per_line) / 8;
          const uint32_t chunk = span == 128 ? j ^ (k % 8) : j ^ ((k % 8) / 2);
          const uint32_t want =
              start + (i / per_line) * lbo + (k / 8) * sbo + (k % 8) * span + chunk * 16 + (i % 8) * 2;
          INFO("MN-major, span " << span << ", start " << start << ", i " << i << ", k " << k);
          CHECK(::simt::detail::wgmma_operand_address(d, i, k, true, here) == want);
        }
    }
  {
    const uint64_t d = desc(1024, 256, 128, 0);
    for (int i = 0; i < 64; i += 5)
      for (int k = 0; k < 16; ++k)
        CHECK(::simt::detail::wgmma_operand_address(d, i, k, true, here) ==
              (uint32_t)(1024 + (i / 8) * 128 + (k / 8) * 256 + (k % 8) * 16 + (i % 8) * 2));
  }

  std::mt19937_64 rng(11);
  std::normal_distribution<float> nd(0.f, 1.f);
  auto bf16_bits = [&](float x) { return (uint16_t)(cuda::igemm::pack_bf16x2(x, 0.f) & 0xffffu); };
  auto bf16_value = [](uint16_t h) {
    const uint32_t u = (uint32_t)h << 16;
    float x;
    std::memcpy(&x, &u, 4);
    return (double)x;
  };
  // Random bf16 a[64 x 64] and b[n x 64] ([row][k]) and their product a b^T in double.
  struct Product {
    std::vector<uint16_t> a, b;
    std::vector<double> want;
  };
  auto random_product = [&](int n) {
    Product p{std::vector<uint16_t>(64 * 64), std::vector<uint16_t>((size_t)n * 64),
              std::vector<double>((size_t)64 * n, 0.0)};
    for (auto& v : p.a) v = bf16_bits(nd(rng));
    for (auto& v : p.b) v = bf16_bits(nd(rng));
    for (int i = 0; i < 64; ++i)
      for (int j = 0; j < n; ++j)
        for (int k = 0; k < 64; ++k)
          p.want[(size_t)i * n + j] += bf16_value(p.a[i * 64 + k]) * bf16_value(p.b[j * 64 + k]);
    return p;
  };
  for (int n : {64, 32})
    for (bool swizzle : {true, false}) {
      const auto [a, b, want] = random_product(n);
      DevT<uint16_t> A(a), B(b);
      const std::string what =
          "wgmma m64n" + std::to_string(n) + "k16 x4, " + (swizzle ? "128B swizzle" : "interleaved");
      {
        Dev Out((int64_t)64 * n);
        simt_planted::wgmma_tile(A.p, B.p, n, swizzle, 0, Out.p);
        compare(what, Out.get(), want, kFp32);
      }
      {  // accumulators read before wgmma.wait_group: poison
        Dev Out((int64_t)64 * n);
        simt_planted::wgmma_tile(A.p, B.p, n, swizzle, 1, Out.p);
        int nan = 0;
        for (float v : Out.get()) nan += std::isnan(v);
        CHECK(nan == 64 * n);
      }
      {  // descriptors naming the other layout: the product differs from the reference
        Dev Out((int64_t)64 * n);
        simt_planted::wgmma_tile(A.p, B.p, n, swizzle, 3, Out.p);
        const std::vector<float> got = Out.get();
        double worst = 0;
        for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
        INFO(what << ", wrong descriptor layout: worst error " << worst);
        CHECK(worst > 0.5);
      }
    }
  // MN-major operands: the 128B swizzle (one 64-wide column block) and the 64B swizzle (two
  // 32-wide blocks of A, LBO between them; B 64 or 32 wide). The same data read K-major
  // (imm-trans 0) is another product.
  for (const auto& [span, n] : {std::pair{128, 64}, std::pair{64, 64}, std::pair{64, 32}}) {
    const auto [a, b, want] = random_product(n);
    DevT<uint16_t> A(a), B(b);
    const std::string what = "wgmma m64n" + std::to_string(n) + "k16 x4, MN-major, span " + std::to_string(span);
    Dev Out((int64_t)64 * n);
    simt_planted::wgmma_mn_tile(A.p, B.p, n, span, true, Out.p);
    compare(what, Out.get(), want, kFp32);
    // Read K-major, the descriptors' offsets reach past the tile (a failed launch) or read
    // other elements (a wrong product): either way not the reference.
    Dev Wrong((int64_t)64 * n);
    const std::string err = fault_of([&] { simt_planted::wgmma_mn_tile(A.p, B.p, n, span, false, Wrong.p); });
    const std::vector<float> got = Wrong.get();
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
    INFO(what << ", read K-major: worst error " << worst << ", launch: " << err);
    CHECK((!err.empty() || worst > 0.5));
  }
  {  // no wgmma.fence before the first wgmma.mma_async
    DevT<uint16_t> A(std::vector<uint16_t>(64 * 64, 0)), B(std::vector<uint16_t>(64 * 64, 0));
    Dev Out(64 * 64);
    const std::string err = fault_of([&] { simt_planted::wgmma_tile(A.p, B.p, 64, true, 2, Out.p); });
    INFO(err);
    CHECK(err.find("without a wgmma.fence") != std::string::npos);
  }
}

}  // namespace

#endif
