// The float32 GEMM (packed SIMD SGEMM, sgemm.cpp) against a float64 Eigen product:
// all four transpose combinations, accumulate on/off, sizes around the tile and block
// edges, leading dimensions larger than the rows (views), and K = 0.
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "support/gradcheck.h"

namespace {

void check_gemm(std::mt19937_64& rng, bool ta, bool tb, int64_t M, int64_t N, int64_t K, bool acc) {
  INFO("trans_a " << ta << " trans_b " << tb << " M " << M << " N " << N << " K " << K << " accumulate "
                  << acc);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  // Leading dimensions with slack, as for a view into a wider matrix.
  const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
  std::vector<float> A((ta ? K : M) * lda), B((tb ? N : K) * ldb), C(M * ldc);
  for (auto& x : A) x = d(rng);
  for (auto& x : B) x = d(rng);
  for (auto& x : C) x = d(rng);
  std::vector<double> Ad(A.begin(), A.end()), Bd(B.begin(), B.end()), Cd(C.begin(), C.end());
  sr::cpu::gemm<float>(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, C.data(), ldc, acc);
  sr::cpu::gemm_eigen<double>(ta, tb, M, N, K, Ad.data(), lda, Bd.data(), ldb, Cd.data(), ldc, acc);
  // Every element, the slack columns included: those must be untouched.
  int64_t worst = -1;
  const double ratio = sr::test::tolerance_ratio(std::vector<double>(C.begin(), C.end()), Cd,
                                                 1e-6 + 1e-7 * (double)K, 1e-5, &worst);
  INFO("worst element " << worst << " got " << (worst >= 0 ? C[worst] : 0.f) << " want "
                        << (worst >= 0 ? Cd[worst] : 0.0));
  CHECK(ratio <= 1.0);
}

}  // namespace

TEST_CASE("gemm/sgemm_matches_eigen_all_transposes") {
  std::mt19937_64 rng(7);
  const int64_t sizes[][3] = {{1, 1, 1},   {7, 5, 3},    {8, 48, 192},  {9, 49, 193},
                              {17, 33, 65}, {64, 1024, 576}, {3, 200, 27}, {250, 70, 400},
                              {200, 3100, 20}};
  for (const auto& sz : sizes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (int acc = 0; acc < 2; ++acc) check_gemm(rng, ta, tb, sz[0], sz[1], sz[2], acc);
}

TEST_CASE("gemm/sgemm_random_shapes") {
  const uint64_t seed = sr::test::fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int trial = 0; trial < 16; ++trial)
    check_gemm(rng, rng() % 2, rng() % 2, 1 + rng() % 300, 1 + rng() % 300, 1 + rng() % 500, rng() % 2);
}

TEST_CASE("gemm/k_zero") {
  std::vector<float> C = {1, 2, 3, 4};
  sr::cpu::gemm<float>(false, false, 2, 2, 0, nullptr, 1, nullptr, 2, C.data(), 2, true);
  CHECK(C == std::vector<float>{1, 2, 3, 4});
  sr::cpu::gemm<float>(false, false, 2, 2, 0, nullptr, 1, nullptr, 2, C.data(), 2, false);
  CHECK(C == std::vector<float>{0, 0, 0, 0});
}

// gemm_bias adds the bias in the packed SGEMM's store: it must give exactly gemm followed by
// C[i, j] += bias[j] (the separate pass linear ran before), the slack columns untouched, for
// shapes around the panel and K-block edges, both transposes and accumulate.
TEST_CASE("gemm/gemm_bias_is_gemm_then_the_bias_bit_for_bit") {
  const uint64_t seed = sr::test::fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<std::array<int64_t, 3>> shapes = {{1, 1, 1}, {8, 12, 60}, {33, 60, 60}, {17, 120, 60}, {9, 49, 700}};
  for (int t = 0; t < 12; ++t) shapes.push_back({int64_t(1 + rng() % 100), int64_t(1 + rng() % 200), int64_t(rng() % 600)});
  for (const auto& [M, N, K] : shapes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (int acc = 0; acc < 2; ++acc) {
          INFO("M " << M << " N " << N << " K " << K << " trans_a " << ta << " trans_b " << tb << " accumulate " << acc);
          const int64_t lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 2, ldc = N + 3;
          std::vector<float> A((ta ? K : M) * lda + 1), B((tb ? N : K) * ldb + 1), C(M * ldc), bias(N);
          for (auto* v : {&A, &B, &C, &bias})
            for (float& x : *v) x = d(rng);
          std::vector<float> want = C, got = C;
          sr::cpu::gemm<float>(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, want.data(), ldc, acc);
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) want[i * ldc + j] += bias[j];
          sr::cpu::gemm_bias<float>(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, got.data(), ldc, acc, bias.data());
          CHECK(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0);
        }
}
