// The shared-memory race checker (racecheck.h): shadow state per word or byte of shared
// memory, fed by the thread-sanitizer entry points the instrumented kernel units call.
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
// Per byte it keeps the last write of the epoch, and a summary of the epoch's reads: the warp
// the readers share (or "several warps"), the highest collective count among them and which
// thread read at that count (or "several"). A write conflicts with an unordered earlier write
// or read; a read with an unordered earlier write. Both orders of a conflicting pair are caught
// whatever the schedule, because the summary lasts the whole interval. The summary is exact:
// a write by thread t of warp w at count g is unordered with a read by another thread r iff r
// is in another warp, or in w at a count >= g, i.e. at g itself (a warp's count only grows),
// so it is enough to know the readers' warp, their top count and who read at it.
//
// Most accesses are whole aligned words (4, 8, 16 bytes), and the bytes of a word then share
// one state: the shadow keeps one cell per 4-byte word (relative to the region's start) and
// splits a word into four byte cells only when an access covers part of it (a bf16 store, an
// unaligned access). A split word whose cells are all of earlier intervals holds nothing the
// next interval can conflict with, so the next whole-word access merges it again. Each access
// updates identical cells identically, so the word cell answers exactly as its four bytes
// would; simt/interpreter_racecheck_matches_the_pairwise_model holds it to a model that
// checks every pair of accesses.
#include "kernels/simt/racecheck.h"

#include <algorithm>
#include <array>
#include <vector>

#include "engine/error.h"
#include "kernels/simt/device.h"
#include "kernels/simt/simt.h"

namespace simt {

namespace detail::race {

namespace {

constexpr uint16_t kSeveral = 0xffff;  // top_reader: more than one thread read at r_gen
constexpr uint16_t kNoWarp = 0xffff;   // r_warp: the readers span several warps

// The epoch's last write and read summary of one byte, or of a 4-byte word whose bytes agree.
struct Cell {
  uint32_t w_epoch = 0, r_epoch = 0;
  uint32_t w_gen = 0, r_gen = 0;  // the warp's collective count at the write / the readers' highest
  uint16_t writer = 0, w_warp = 0;
  uint16_t top_reader = 0, r_warp = 0;  // who read at r_gen (or kSeveral); the readers' warp (or kNoWarp)
  const void* w_pc = nullptr;
  const void* r_pc = nullptr;
};

struct Word {
  Cell whole;          // the state of all four bytes, while split < 0
  int32_t split = -1;  // else: the index of its four byte cells in Region::bytes_of_split
};

struct Region {
  char* base = nullptr;
  size_t bytes = 0;
  std::vector<Word> words;                         // word i: bytes [4i, 4i + 4) from base
  std::vector<std::array<Cell, 4>> bytes_of_split;  // the byte cells of split words
  std::vector<int32_t> free_splits;                 // entries of bytes_of_split no word uses
  void set(char* b, size_t n) {
    if (b != base) {
      words.clear();
      bytes_of_split.clear();
      free_splits.clear();
    }
    base = b;
    bytes = n;
    if (words.size() < (n + 3) / 4) words.resize((n + 3) / 4);
  }
  bool contains(const char* p) const {
    return reinterpret_cast<uintptr_t>(p) - reinterpret_cast<uintptr_t>(base) < bytes;
  }
  Cell* split(Word& w) {
    if (w.split < 0) {
      if (free_splits.empty()) {
        w.split = (int32_t)bytes_of_split.size();
        bytes_of_split.emplace_back();
      } else {
        w.split = free_splits.back();
        free_splits.pop_back();
      }
      bytes_of_split[w.split].fill(w.whole);
    }
    return bytes_of_split[w.split].data();
  }
  // A split word whose byte cells are all of earlier epochs becomes one cell again.
  void merge_if_stale(Word& w, uint32_t epoch) {
    const std::array<Cell, 4>& b = bytes_of_split[w.split];
    for (const Cell& c : b)
      if (c.w_epoch == epoch || c.r_epoch == epoch) return;
    w.whole = b[0];
    free_splits.push_back(w.split);
    w.split = -1;
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
  // first_pc null: the first access is one of several threads' (the summary keeps no pc for it).
  const std::string first_at = first_pc ? " at " + code_at(first_pc) : std::string();
  st.report = sr::str_cat("block (", b.x, ",", b.y, ",", b.z, "): shared-memory race on ", shared_byte_name(p), ": ",
                          first, first_at, ", then ", second, " at ", code_at(second_pc),
                          ", with no __syncthreads between them (nor, for lanes of one warp, a __syncwarp or other "
                          "warp collective): a missing barrier");
}

// The running thread (t, of warp w at collective count g) accesses the byte or word of cell
// c, which starts at p. False when that is a race (reported).
bool check_and_record(State& st, Cell& c, const char* p, bool write, uint16_t t, uint16_t w, uint32_t g,
                      const void* pc) {
  const bool written = c.w_epoch == st.epoch && !ordered(c.writer, c.w_warp, c.w_gen, t, w, g);
  if (write) {
    // An earlier read unordered with this write: by another warp, or by another lane at this count.
    const bool read = c.r_epoch == st.epoch && (c.r_warp != w || (c.r_gen >= g && c.top_reader != t));
    if (written || read) {
      // The reader is known when one thread read at the top count (r_pc is its read); else
      // the racing reads are some of several threads', and r_pc may even be the writer's own.
      const bool one_reader = c.r_warp != kNoWarp && c.top_reader != kSeveral;
      const std::string first = written      ? thread_of(c.writer) + " wrote it"
                                : one_reader ? thread_of(c.top_reader) + " read it"
                                             : std::string("other threads read it");
      report(st, p, first, written ? c.w_pc : one_reader ? c.r_pc : nullptr, thread_of(t) + " wrote it", pc);
      return false;
    }
    c.w_epoch = st.epoch;
    c.writer = t;
    c.w_warp = w;
    c.w_gen = g;
    c.w_pc = pc;
    return true;
  }
  if (written) {
    report(st, p, thread_of(c.writer) + " wrote it", c.w_pc, thread_of(t) + " read it", pc);
    return false;
  }
  if (c.r_epoch != st.epoch) {
    c.r_epoch = st.epoch;
    c.r_warp = w;
    c.r_gen = g;
    c.top_reader = t;
    c.r_pc = pc;
  } else {
    if (c.r_warp != w) c.r_warp = kNoWarp;
    if (g > c.r_gen) {  // the pc kept is that of a read at the top count, the one a write may race with
      c.r_gen = g;
      c.top_reader = t;
      c.r_pc = pc;
    } else if (g == c.r_gen && c.top_reader != t) {
      c.top_reader = kSeveral;
    }
  }
  return true;
}

// Where the running block's shared memory is, for the entry points' first test: most
// instrumented accesses are of global memory or the stack, and stop there. Plain data, so the
// test is two loads of thread-local storage (no initialisation guard) and two compares.
struct SharedBounds {
  uintptr_t arena = 0, arena_bytes = 0, dynamic = 0, dynamic_bytes = 0;
};
constinit thread_local SharedBounds t_bounds;

// An access of n bytes at p (in shared memory: p lies in r) by the running CUDA thread; pc:
// the instruction after the call.
[[gnu::noinline]] void access_shared(Region& r, const char* p, size_t n, bool write, const void* pc) {
  if (!t_thread || !g_enabled) return;
  State& st = state();
  if (!st.report.empty()) return;  // one report per block
  const auto t = (uint16_t)t_thread->linear, w = (uint16_t)t_thread->warp;
  const uint32_t g = st.gens[w];
  size_t at = (size_t)(p - r.base);
  const size_t end = std::min(at + n, r.bytes);  // the part inside the region
  while (at < end) {
    Word& word = r.words[at / 4];
    const size_t first = at % 4, count = std::min<size_t>(4 - first, end - at);
    const char* word_start = r.base + (at - first);
    if (count == 4 && word.split >= 0) r.merge_if_stale(word, st.epoch);
    if (count == 4 && word.split < 0) {
      if (!check_and_record(st, word.whole, word_start, write, t, w, g, pc)) return;
    } else {
      Cell* cells = r.split(word);
      for (size_t i = first; i < first + count; ++i)
        if (!check_and_record(st, cells[i], word_start + i, write, t, w, g, pc)) return;
    }
    at += count;
  }
}

inline void access(const void* p, size_t n, bool write, const void* pc) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  const SharedBounds& b = t_bounds;
  if (a - b.arena < b.arena_bytes)
    access_shared(state().arena, static_cast<const char*>(p), n, write, pc);
  else if (a - b.dynamic < b.dynamic_bytes)
    access_shared(state().dynamic, static_cast<const char*>(p), n, write, pc);
}

}  // namespace

void set_regions(char* arena, size_t arena_bytes, char* dynamic, size_t dynamic_bytes) {
  State& st = state();
  st.arena.set(arena, arena_bytes);
  st.dynamic.set(dynamic, dynamic_bytes);
  t_bounds = {reinterpret_cast<uintptr_t>(arena), arena_bytes, reinterpret_cast<uintptr_t>(dynamic), dynamic_bytes};
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
  return st.arena.contains(a) || st.dynamic.contains(a);
}

void warp_synced(int warp) { ++state().gens[warp]; }

bool has_report() { return !state().report.empty(); }

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
