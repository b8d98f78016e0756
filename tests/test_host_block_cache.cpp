// The host block cache (engine/host_block_cache.h): size classes, reuse, the cap, poison.
#include <catch2/catch.hpp>

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "engine/host_block_cache.h"
#include "engine/tensor.h"

using namespace sr;

namespace {
constexpr size_t kMiB = size_t{1} << 20;

// Restores the default cap whatever a test did.
struct CapGuard {
  ~CapGuard() { host_cache::set_cap(SIZE_MAX); }
};
}  // namespace

TEST_CASE("tensor/host_cache_size_classes") {
  CHECK(host_cache::block_bytes(4 * kMiB) == 4 * kMiB);
  CHECK(host_cache::block_bytes(4 * kMiB + 1) == 6 * kMiB);
  // 64 x 384 x 384 floats is 36 MiB; above 32 MiB the classes are 4 MiB apart.
  CHECK(host_cache::block_bytes(64 * 384 * 384 * 4) == 36 * kMiB);
  CHECK(host_cache::block_bytes(64 * 384 * 384 * 4 + 64) == 40 * kMiB);
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<size_t> bytes(host_cache::kMinBytes, size_t{8} << 30);
  for (int i = 0; i < 2000; ++i) {
    const size_t b = bytes(rng), n = host_cache::block_bytes(b);
    INFO("request " << b << " -> class " << n);
    REQUIRE(n >= b);
    REQUIRE(n % (2 * kMiB) == 0);  // whole huge pages
    REQUIRE((double)(n - b) <= 0.125 * (double)b + 2.0 * kMiB);
    REQUIRE(host_cache::block_bytes(n) == n);  // a class is its own class
  }
}

TEST_CASE("tensor/host_cache_reuses_freed_blocks") {
  CapGuard guard;
  host_cache::set_cap(SIZE_MAX);
  host_cache::trim();
  const int64_t n = 3 * 1000 * 1001;  // 12 MB of float32: cached
  const void* first = nullptr;
  {
    Tensor a = Tensor::empty({n});
    first = a.raw_data();
    CHECK((uintptr_t)first % (2 * kMiB) == 0);
    float* p = a.data<float>();
    for (int64_t i = 0; i < n; ++i) p[i] = (float)i;
  }
  const auto before = host_cache::stats();
  CHECK(before.cached_bytes == host_cache::block_bytes(n * 4));
  {
    Tensor b = Tensor::empty({n - 5});  // same class
    CHECK(b.raw_data() == first);
    // Poisoned on reuse (tests/main.cpp): the last user's values are gone, every float is NaN.
    const float* p = b.data<float>();
    int64_t nan = 0;
    for (int64_t i = 0; i < n - 5; ++i) nan += std::isnan(p[i]);
    CHECK(nan == n - 5);
  }
  const auto after = host_cache::stats();
  CHECK(after.hits == before.hits + 1);
  CHECK(after.misses == before.misses);
  // Small tensors do not go through the cache.
  { Tensor s = Tensor::empty({1000}); }
  CHECK(host_cache::stats().hits == after.hits);
  CHECK(host_cache::stats().misses == after.misses);
}

// The poison is what makes reuse safe to test: an op that reads its output before writing
// it (the planted bug: accumulate into an "empty" tensor) reads NaN, not zeros.
TEST_CASE("tensor/host_cache_poison_catches_reads_before_writes") {
  CapGuard guard;
  host_cache::set_cap(SIZE_MAX);
  const int64_t n = 2 * 1024 * 1024;  // 8 MiB
  { Tensor warm = Tensor::empty({n}); }
  Tensor out = Tensor::empty({n});
  float* p = out.data<float>();
  double sum = 0;
  for (int64_t i = 0; i < n; i += 4096) sum += p[i] += 1.0f;  // the planted bug
  CHECK(std::isnan(sum));
}

TEST_CASE("tensor/host_cache_cap") {
  CapGuard guard;
  host_cache::set_cap(0);  // off: every block goes back to the system
  CHECK(host_cache::stats().cached_bytes == 0);
  const int64_t n = 3 * 1024 * 1024;
  { Tensor a = Tensor::empty({n}); }
  CHECK(host_cache::stats().cached_bytes == 0);
  const auto s0 = host_cache::stats();
  { Tensor b = Tensor::empty({n}); }
  CHECK(host_cache::stats().misses == s0.misses + 1);
  // A cap of 20 MiB keeps one 12 MiB block, not two.
  host_cache::set_cap(20 * kMiB);
  {
    Tensor a = Tensor::empty({n}), b = Tensor::empty({n});
  }
  CHECK(host_cache::stats().cached_bytes == 12 * kMiB);
  host_cache::trim();
  CHECK(host_cache::stats().cached_bytes == 0);
}

// Threads allocating and freeing at once (loader workers beside the training loop): every
// block is handed to one owner at a time, and the books balance.
TEST_CASE("tensor/host_cache_threads") {
  CapGuard guard;
  host_cache::set_cap(SIZE_MAX);
  host_cache::trim();
  int bad = 0;
#pragma omp parallel num_threads(4) reduction(+ : bad)
  {
    std::mt19937 rng(1234 + omp_get_thread_num());
    for (int it = 0; it < 40; ++it) {
      const int64_t n = (int64_t)(1 + rng() % 4) * 1024 * 1024 + (int64_t)(rng() % 1000);
      Tensor t = Tensor::empty({n});
      float* p = t.data<float>();
      const float tag = (float)(omp_get_thread_num() * 1000 + it);
      for (int64_t i = 0; i < n; i += 1024) p[i] = tag;
      for (int64_t i = 0; i < n; i += 1024) bad += p[i] != tag;
    }
  }
  CHECK(bad == 0);
  const auto s = host_cache::stats();
  CHECK(s.cached_bytes > 0);
  host_cache::trim();
  CHECK(host_cache::stats().cached_bytes == 0);
}
