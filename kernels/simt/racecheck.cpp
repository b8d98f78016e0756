// The shared-memory race checker (racecheck.h): shadow state per byte of shared memory, fed
// by the thread-sanitizer entry points the instrumented kernel units call.
//
// Happens-before inside a block, as CUDA defines it for shared memory: a __syncthreads
// orders everything before it (in every thread) before everything after it; a completed
// warp collective orders its lanes' earlier accesses before their later ones; program order
// orders one thread's own accesses. Everything else is concurrent. An "epoch" numbers the
// barrier intervals of the blocks run on this OS thread; each warp counts its completed
// collectives. Two accesses of threads s (warp ws, count gs) and t (wt, gt), in one epoch,
// are ordered iff s == t, or ws == wt and gs < gt (a collective of the warp came between
// them; the checker does not look at which lanes the collective named).
//
// Per byte it keeps the last write of the epoch, and a summary of the epoch's reads: one
// reader, or "several" with the warp they share (if any) and the highest collective count
// among them. A write conflicts with an unordered earlier write or read; a read with an
// unordered earlier write. Both orders of a conflicting pair are caught whatever the
// schedule, because the summary lasts the whole interval.
#include "kernels/simt/racecheck.h"

#include <algorithm>
#include <vector>

#include "engine/error.h"
#include "kernels/simt/device.h"
#include "kernels/simt/simt.h"

namespace simt {

namespace detail::race {

namespace {

constexpr uint16_t kSeveral = 0xffff;  // reader: more than one thread
constexpr uint16_t kNoWarp = 0xffff;   // r_warp: the readers span several warps

struct Cell {
  uint32_t w_epoch = 0, r_epoch = 0;
  uint16_t writer = 0, reader = 0, w_warp = 0, r_warp = 0;
  uint32_t w_gen = 0, r_gen = 0;  // the warp's collective count at the write / max over reads
  const void* w_pc = nullptr;
  const void* r_pc = nullptr;
};

struct Region {
  char* base = nullptr;
  size_t bytes = 0;
  std::vector<Cell> cells;
  void set(char* b, size_t n) {
    if (b != base) cells.clear();
    base = b;
    bytes = n;
    if (cells.size() < n) cells.resize(n);
  }
  Cell* find(const char* p) {
    const uintptr_t off = reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(base);
    return off < bytes ? &cells[off] : nullptr;
  }
};

struct State {
  Region arena, dynamic;
  uint32_t epoch = 0;
  std::vector<uint32_t> gens;  // per warp: completed collectives in this block
  std::string report;
};

State& state() {
  static thread_local State s;
  return s;
}

bool g_enabled = [] {
  const char* e = std::getenv("SRENGINE_SIMT_RACECHECK");
  return !(e && e[0] == '0');
}();
bool g_instrumented = false;  // set by __tsan_init: some kernel unit carries the instrumentation

bool ordered(uint16_t s, uint16_t ws, uint32_t gs, uint16_t t, uint16_t wt, uint32_t gt) {
  return s == t || (ws == wt && gs < gt);
}

void report(State& st, const char* p, const std::string& first, const void* first_pc, const std::string& second,
            const void* second_pc) {
  // A copy: str_cat takes references, and GCC 12's -fsanitize=null misreads a reference
  // into thread-local storage as null (the ASan/UBSan build runs this code too).
  const uint3 b = t_block.block_idx;
  st.report = sr::str_cat("block (", b.x, ",", b.y, ",", b.z, "): shared-memory race on ", shared_byte_name(p), ": ", first, " at ", code_at(first_pc),
                          ", then ", second, " at ", code_at(second_pc),
                          ", with no __syncthreads between them (nor, for lanes of one warp, a __syncwarp or other warp "
                          "collective): a missing barrier");
}

// One access of n bytes at p by the running CUDA thread; pc: the instruction after the call.
void access(const void* p, size_t n, bool write, const void* pc) {
  if (!t_thread || !g_enabled) return;
  State& st = state();
  if (!st.report.empty()) return;  // one report per block
  const char* a = static_cast<const char*>(p);
  Region* r = st.arena.find(a) ? &st.arena : st.dynamic.find(a) ? &st.dynamic : nullptr;
  if (!r) return;  // not shared memory
  const auto t = (uint16_t)t_thread->linear, w = (uint16_t)t_thread->warp;
  const uint32_t g = st.gens[w];
  for (size_t i = 0; i < n; ++i) {
    Cell* c = r->find(a + i);
    if (!c) break;
    const bool written = c->w_epoch == st.epoch && !ordered(c->writer, c->w_warp, c->w_gen, t, w, g);
    if (write) {
      bool read = false;
      if (c->r_epoch == st.epoch) {
        if (c->reader != kSeveral)
          read = !ordered(c->reader, c->r_warp, c->r_gen, t, w, g);
        else  // several readers: at least one is another thread
          read = c->r_warp != w || c->r_gen >= g;
      }
      if (written || read) {
        const bool ww = written;
        report(st, a + i,
               sr::str_cat(thread_of(ww ? c->writer : (c->reader == kSeveral ? t : c->reader)),
                           ww ? " wrote it" : (c->reader == kSeveral ? " and other threads read it" : " read it")),
               ww ? c->w_pc : c->r_pc, thread_of(t) + " wrote it", pc);
        return;
      }
      c->w_epoch = st.epoch;
      c->writer = t;
      c->w_warp = w;
      c->w_gen = g;
      c->w_pc = pc;
    } else {
      if (written) {
        report(st, a + i, thread_of(c->writer) + " wrote it", c->w_pc, thread_of(t) + " read it", pc);
        return;
      }
      if (c->r_epoch != st.epoch) {
        c->r_epoch = st.epoch;
        c->reader = t;
        c->r_warp = w;
        c->r_gen = g;
        c->r_pc = pc;
      } else if (c->reader != t) {
        c->reader = kSeveral;
        if (c->r_warp != w) c->r_warp = kNoWarp;
        c->r_gen = std::max(c->r_gen, g);
      }
    }
  }
}

}  // namespace

void set_regions(char* arena, size_t arena_bytes, char* dynamic, size_t dynamic_bytes) {
  State& st = state();
  st.arena.set(arena, arena_bytes);
  st.dynamic.set(dynamic, dynamic_bytes);
}

void begin_block(int nwarps) {
  State& st = state();
  ++st.epoch;
  st.gens.assign(nwarps, 0);
  st.report.clear();
}

void barrier() { ++state().epoch; }

void record(const void* p, size_t n, bool write, const void* pc) { access(p, n, write, pc); }

bool is_shared(const void* p) {
  State& st = state();
  const char* a = static_cast<const char*>(p);
  return st.arena.find(a) || st.dynamic.find(a);
}

void warp_synced(int warp) { ++state().gens[warp]; }

std::string take_report() {
  State& st = state();
  if (st.report.empty()) return "";
  std::string r = std::move(st.report);
  st.report.clear();
  return r;
}

}  // namespace detail::race

void set_racecheck(bool on) { detail::race::g_enabled = on; }
bool racecheck() { return detail::race::g_enabled && detail::race::g_instrumented; }

}  // namespace simt

// ---- The thread-sanitizer entry points GCC's -fsanitize=thread instrumentation calls ----------
// Only the kernel units are instrumented (CMakeLists.txt: SRENGINE_SIMT_RACECHECK); the
// function-entry hooks are disabled there (--param=tsan-instrument-func-entry-exit=0) and
// defined here only for units built without that parameter.
#define SIMT_PC __builtin_return_address(0)
extern "C" {
void __tsan_init() { simt::detail::race::g_instrumented = true; }
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
void __tsan_vptr_update(void**, void*) {}
void __tsan_vptr_read(void**) {}
void __tsan_read_range(void* p, unsigned long n) { simt::detail::race::access(p, n, false, SIMT_PC); }
void __tsan_write_range(void* p, unsigned long n) { simt::detail::race::access(p, n, true, SIMT_PC); }
#define SIMT_TSAN_SIZE(N)                                                                                   \
  void __tsan_read##N(void* p) { simt::detail::race::access(p, N, false, SIMT_PC); }                         \
  void __tsan_write##N(void* p) { simt::detail::race::access(p, N, true, SIMT_PC); }                         \
  void __tsan_unaligned_read##N(void* p) { simt::detail::race::access(p, N, false, SIMT_PC); }               \
  void __tsan_unaligned_write##N(void* p) { simt::detail::race::access(p, N, true, SIMT_PC); }               \
  void __tsan_volatile_read##N(void* p) { simt::detail::race::access(p, N, false, SIMT_PC); }                \
  void __tsan_volatile_write##N(void* p) { simt::detail::race::access(p, N, true, SIMT_PC); }                \
  void __tsan_unaligned_volatile_read##N(void* p) { simt::detail::race::access(p, N, false, SIMT_PC); }      \
  void __tsan_unaligned_volatile_write##N(void* p) { simt::detail::race::access(p, N, true, SIMT_PC); }
SIMT_TSAN_SIZE(1)
SIMT_TSAN_SIZE(2)
SIMT_TSAN_SIZE(4)
SIMT_TSAN_SIZE(8)
SIMT_TSAN_SIZE(16)
#undef SIMT_TSAN_SIZE
// Atomic loads and stores outside kernels (the guard of a function-local static): done, not
// checked. Kernel atomics are the interpreter's (simt.h), uninstrumented.
#define SIMT_TSAN_ATOMIC(N, T)                                                                       \
  T __tsan_atomic##N##_load(const volatile T* a, int) { return __atomic_load_n(a, __ATOMIC_SEQ_CST); } \
  void __tsan_atomic##N##_store(volatile T* a, T v, int) { __atomic_store_n(a, v, __ATOMIC_SEQ_CST); }
SIMT_TSAN_ATOMIC(8, char)
SIMT_TSAN_ATOMIC(16, short)
SIMT_TSAN_ATOMIC(32, int)
SIMT_TSAN_ATOMIC(64, long)
#undef SIMT_TSAN_ATOMIC
}
