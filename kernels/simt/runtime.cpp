// The SIMT interpreter's device runtime: guarded, poisoned host memory standing in for
// device memory (device.h), and engine/cuda_runtime.h's functions for the kernel files
// compiled into srengine_simt (where `cuda` is spelled `simt`: sr::simt::allocate, ...).
// Everything is synchronous: a "stream" is the calling thread.
#include <sanitizer/asan_interface.h>  // ASAN_(UN)POISON_MEMORY_REGION: no-ops without ASan
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include "engine/cuda_runtime.h"
#include "engine/error.h"
#include "kernels/simt/device.h"
#include "kernels/simt/graph.h"
#include "engine/cuda_retained_copy.h"

namespace simt {

namespace {

constexpr size_t kAlign = 256;       // cudaMalloc's alignment
constexpr size_t kGuard = 256;       // bytes of guard pattern before the data, at least after it
constexpr uint32_t kGuardWord = 0xfff0deadu;  // NaN as float; two of them NaN as double
constexpr unsigned char kPoison = 0xff;        // fresh memory: NaN as float and double

// An allocation: an inaccessible page, the body (guard, data, guard up to the body's last
// page end), another inaccessible page. Near misses hit the guard pattern (writes are
// reported by the next launch check, reads see NaN); far ones fault (the interpreter's
// SIGSEGV handler names the thread).
struct Block {
  size_t bytes;      // as requested
  size_t tail;       // guard bytes after the data, to the end of the body
  char* map;         // the mapping
  size_t map_bytes;
};

size_t page_size() {
  static const size_t p = (size_t)sysconf(_SC_PAGESIZE);
  return p;
}

std::mutex g_mutex;
std::map<char*, Block>& blocks() {  // data pointer -> block
  static std::map<char*, Block> m;
  return m;
}

// The guard pattern from phase 0, long enough for any guard run at any phase (a tail runs at
// most to its body's page end: under kGuard + kAlign + a page), so that filling is one memcpy
// and checking one memcmp: the launch check reads every live allocation's guards, and a
// byte-by-byte loop there was a third of a simt training iteration.
const std::vector<unsigned char>& guard_pattern() {
  static const std::vector<unsigned char> pattern = [] {
    std::vector<unsigned char> p(page_size() + kGuard + kAlign + 8);
    for (size_t i = 0; i < p.size(); ++i) p[i] = reinterpret_cast<const unsigned char*>(&kGuardWord)[i % 4];
    return p;
  }();
  return pattern;
}

void fill_guard(char* p, size_t n, size_t phase) {
  const std::vector<unsigned char>& g = guard_pattern();
  SR_CHECK(phase % 4 + n <= g.size(), "simt: a guard of ", n, " bytes is longer than its pattern");
  std::memcpy(p, g.data() + phase % 4, n);
}

// Offset of the first damaged guard byte in [p, p+n) (whose pattern starts at phase), or -1.
int64_t damaged(const char* p, size_t n, size_t phase) {
  const std::vector<unsigned char>& g = guard_pattern();
  if (std::memcmp(p, g.data() + phase % 4, n) == 0) return -1;  // fill_guard checked the length
  for (size_t i = 0; i < n; ++i)
    if ((unsigned char)p[i] != g[(i + phase) % 4]) return (int64_t)i;
  return -1;
}

std::string check_block(char* data, const Block& b) {
  const int64_t front = damaged(data - kGuard, kGuard, 0);
  if (front >= 0)
    return sr::str_cat("a write at byte ", kGuard - front, " before the start of a device buffer of ", b.bytes,
                       " bytes at ", (void*)data);
  const int64_t back = damaged(data + b.bytes, b.tail, b.bytes % 4);
  if (back >= 0)
    return sr::str_cat("a write at byte ", back, " past the end of a device buffer of ", b.bytes, " bytes at ",
                       (void*)data);
  return "";
}

// In ASan builds the guards are poisoned for ASan as well: an instrumented kernel that
// touches one, reading or writing, is stopped there with its stack trace (the launch check
// would only name the buffer afterwards). The runtime lifts the poison to fill and check.
void asan_guards(char* data, const Block& b, bool poisoned) {
  if (poisoned) {
    ASAN_POISON_MEMORY_REGION(data - kGuard, kGuard);
    ASAN_POISON_MEMORY_REGION(data + b.bytes, b.tail);
  } else {
    ASAN_UNPOISON_MEMORY_REGION(data - kGuard, kGuard);
    ASAN_UNPOISON_MEMORY_REGION(data + b.bytes, b.tail);
  }
  (void)data, (void)b;
}

void fill_guards(char* data, const Block& b) {
  asan_guards(data, b, false);
  fill_guard(data - kGuard, kGuard, 0);
  fill_guard(data + b.bytes, b.tail, b.bytes % 4);
  asan_guards(data, b, true);
}

}  // namespace

void* device_alloc(size_t bytes) {
  const size_t page = page_size();
  const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  const size_t body = (kGuard + rounded + kGuard + page - 1) / page * page;
  const size_t map_bytes = body + 2 * page;
  void* p = mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) sr::fail("simt: out of memory allocating ", bytes, " device bytes");
  char* map = static_cast<char*>(p);
  if (mprotect(map, page, PROT_NONE) != 0 || mprotect(map + page + body, page, PROT_NONE) != 0)
    sr::fail("simt: cannot protect the guard pages of a device buffer");
  char* data = map + page + kGuard;
  const Block b{bytes, body - kGuard - bytes, map, map_bytes};
  std::memset(data, kPoison, bytes);
  fill_guards(data, b);
  std::lock_guard<std::mutex> lock(g_mutex);
  blocks()[data] = b;
  return data;
}

// Frees without checking (destructors call it): damage is reported by the launch that did it.
void device_free(void* p) {
  if (!p) return;
  char* data = static_cast<char*>(p);
  Block b;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = blocks().find(data);
    if (it == blocks().end()) return;  // not a live allocation
    b = it->second;
    blocks().erase(it);
  }
  asan_guards(data, b, false);  // the addresses may be mapped again, for data
  munmap(b.map, b.map_bytes);
}

// Reports the first damaged allocation and repairs its guards, so that the next launch does
// not report the same damage again.
std::string check_device_memory() {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (auto& [data, b] : blocks()) {
    asan_guards(data, b, false);
    std::string err = check_block(data, b);
    asan_guards(data, b, true);
    if (!err.empty()) {
      fill_guards(data, b);
      return err;
    }
  }
  return "";
}

size_t device_bytes_in_use() {
  std::lock_guard<std::mutex> lock(g_mutex);
  size_t n = 0;
  for (auto& [data, b] : blocks()) n += b.bytes;
  return n;
}

size_t device_allocations() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return blocks().size();
}

}  // namespace simt

// ---- engine/cuda_runtime.h for the interpreted kernels -------------------------------------------
// (the header is compiled with cuda=simt here, so these are its declarations)
namespace sr::simt {

bool available() { return true; }
int device_count() { return 1; }
void set_device(int index) { SR_CHECK(index == 0, "simt: there is one device (0), not ", index); }
int current_device() { return 0; }

namespace {
size_t g_peak = 0;
// Counted as engine/cuda_runtime.cu counts a GPU's: every device->host copy, synchronize()
// and StreamMark::wait(), though nothing waits here, so that a test on this device sees
// the host reads a GPU run would make (engine/host_round_trips.h).
std::atomic<uint64_t> g_host_waits{0};
}

void* allocate(size_t bytes, int device) {
  SR_CHECK(device == 0, "simt allocate: bad device index ", device);
  void* p = ::simt::device_alloc(bytes);
  if (::simt::capturing()) ::simt::capture::note_allocation(p);  // the graph's, until it is destroyed
  const size_t now = ::simt::device_bytes_in_use();
  if (now > g_peak) g_peak = now;
  return p;
}

void deallocate(void* ptr, int) {
  if (ptr && ::simt::capture::owned_by_a_graph(ptr)) return;  // freed with its graph (graph.h)
  ::simt::device_free(ptr);
}

PoolStats pool_stats(int) { return {::simt::device_bytes_in_use(), g_peak}; }
void reset_peak(int) { g_peak = ::simt::device_bytes_in_use(); }

void* allocate_pinned_host(size_t bytes, int) { return std::malloc(bytes ? bytes : 1); }
void release_pinned_host(void* ptr, size_t) { std::free(ptr); }

namespace {
void no_host_wait_in_capture(const char* what) {
  SR_CHECK(!::simt::capturing(), "simt: ", what,
           " inside a stream capture (the host cannot wait for work that has not run; CUDA refuses it too)");
}
}  // namespace

void memcpy(void* dst, const void* src, size_t bytes, CopyKind kind) {
  if (kind == CopyKind::device_to_host) {
    no_host_wait_in_capture("a device->host copy");
    g_host_waits.fetch_add(1);
  }
  if (::simt::capturing()) {  // the source is read at replay (graph.h)
    if (bytes) ::simt::capture::record([=] { std::memmove(dst, src, bytes); });
    return;
  }
  if (bytes) std::memmove(dst, src, bytes);
}
void memcpy_to_device_retained(void* dst, std::vector<char>&& src) {
  if (src.empty()) return;
  if (::simt::capturing()) {  // the recorded copy holds the bytes for the graph's lifetime
    auto held = std::make_shared<std::vector<char>>(std::move(src));
    ::simt::capture::record([dst, held] { std::memmove(dst, held->data(), held->size()); });
    return;
  }
  std::memmove(dst, src.data(), src.size());
}

void memset_zero(void* dst, size_t bytes) {
  if (::simt::capturing()) {
    if (bytes) ::simt::capture::record([=] { std::memset(dst, 0, bytes); });
    return;
  }
  if (bytes) std::memset(dst, 0, bytes);
}
void synchronize() {
  no_host_wait_in_capture("synchronize()");
  g_host_waits.fetch_add(1);
}
void memcpy_to_host_async(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memmove(dst, src, bytes);
}

StreamMark::StreamMark() {}
StreamMark::~StreamMark() {}
void StreamMark::set() { pending_ = true; }
void StreamMark::wait() {
  no_host_wait_in_capture("StreamMark::wait()");
  g_host_waits.fetch_add(1);
  pending_ = false;
}
bool StreamMark::done() { return !pending_; }

uint64_t host_wait_count() { return g_host_waits.load(); }

}  // namespace sr::simt
