// Large host blocks, mapped once and reused (see host_block_cache.h).
#include "engine/host_block_cache.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace sr::host_cache {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

struct Cache {
  std::mutex mu;
  std::multimap<size_t, void*> free_blocks;  // class bytes -> block
  size_t cached = 0;                         // bytes in free_blocks
  size_t in_use = 0, in_use_peak = 0;        // bytes handed out by acquire
  size_t hits = 0, misses = 0;
  size_t cap = SIZE_MAX;  // SIZE_MAX: in_use_peak
  bool poison = false;
};

// SRENGINE_HOST_CACHE_MB, read once: a cap in MiB, or SIZE_MAX when unset.
size_t cap_from_environment() {
  const char* s = std::getenv("SRENGINE_HOST_CACHE_MB");
  if (!s || !*s) return SIZE_MAX;
  char* end = nullptr;
  const unsigned long long mb = std::strtoull(s, &end, 10);
  if (*end != '\0' || s[0] == '-') {
    std::fprintf(stderr,
                 "srengine: SRENGINE_HOST_CACHE_MB='%s' is not a whole number of MiB; "
                 "using the default cap (the peak of large host blocks in use)\n",
                 s);
    return SIZE_MAX;
  }
  return (size_t)mb << 20;
}

// Never destroyed: Storage objects released during static destruction still return here.
Cache& cache() {
  static Cache* c = [] {
    Cache* made = new Cache;
    made->cap = cap_from_environment();
    return made;
  }();
  return *c;
}

// n bytes (a multiple of kHugePage) at a kHugePage boundary: map n + one huge page more and
// unmap the ends, so the kernel can back the whole block with 2 MiB pages.
void* map_block(size_t n) {
  const size_t span = n + kHugePage;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t base = (uintptr_t)raw;
  const uintptr_t start = (base + kHugePage - 1) / kHugePage * kHugePage;
  if (start > base) munmap(raw, start - base);
  const uintptr_t end = start + n, span_end = base + span;
  if (span_end > end) munmap((void*)end, span_end - end);
  madvise((void*)start, n, MADV_HUGEPAGE);  // advice only: without THP the block still works
  return (void*)start;
}

// Unmaps the largest cached blocks until the cache holds at most `limit` bytes. Holds c.mu.
void evict_to(Cache& c, size_t limit) {
  while (c.cached > limit && !c.free_blocks.empty()) {
    auto last = std::prev(c.free_blocks.end());
    munmap(last->second, last->first);
    c.cached -= last->first;
    c.free_blocks.erase(last);
  }
}

}  // namespace

size_t block_bytes(size_t bytes) {
  size_t pow2 = 1;
  while (pow2 <= bytes / 2) pow2 *= 2;  // the largest power of two <= bytes
  const size_t grain = pow2 / 8 > kHugePage ? pow2 / 8 : kHugePage;
  return (bytes + grain - 1) / grain * grain;
}

void* acquire(size_t bytes) {
  const size_t n = block_bytes(bytes);
  Cache& c = cache();
  void* p = nullptr;
  bool poison = false;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(n);
    if (it != c.free_blocks.end()) {
      p = it->second;
      c.free_blocks.erase(it);
      c.cached -= n;
      ++c.hits;
      poison = c.poison;
    } else {
      ++c.misses;
    }
    c.in_use += n;
    if (c.in_use > c.in_use_peak) c.in_use_peak = c.in_use;
  }
  if (p) {
    if (poison) std::memset(p, 0xFF, n);
    return p;
  }
  p = map_block(n);
  if (!p) {
    // Out of address space or memory: give the cache back and try once more.
    trim();
    p = map_block(n);
  }
  if (!p) {
    std::lock_guard<std::mutex> lock(c.mu);
    c.in_use -= n;
  }
  return p;
}

void release(void* p, size_t bytes) {
  if (!p) return;
  const size_t n = block_bytes(bytes);
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.in_use -= n;
  const size_t cap = c.cap == SIZE_MAX ? c.in_use_peak : c.cap;
  if (n > cap) {
    munmap(p, n);
    return;
  }
  c.free_blocks.emplace(n, p);
  c.cached += n;
  evict_to(c, cap);
}

void trim() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  evict_to(c, 0);
}

Stats stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return {c.cached, c.hits, c.misses};
}

void set_poison(bool on) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.poison = on;
}

void set_cap(size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.cap = bytes == SIZE_MAX ? cap_from_environment() : bytes;
  evict_to(c, c.cap == SIZE_MAX ? c.in_use_peak : c.cap);
}

}  // namespace sr::host_cache
