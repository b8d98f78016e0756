// The SIMT interpreter (see simt.h and docs/SIMT.md): runs a grid block by block, each block
// as one fiber per CUDA thread, on the calling OS thread.
//
// Scheduling within a block: warps in the schedule's warp order; a warp's ready lanes run
// (in lane order) until every lane of it waits at __syncthreads or a warp collective or has
// exited, and only then does the next warp run. A lane runs until it blocks; the last lane
// to arrive at a warp collective performs it and continues. When no thread can run, either
// every live thread waits at the same barrier (released together), or the block is stuck:
// the interpreter reports who waits where. Blocks run one after another.
//
// Checks: a barrier reached by only some threads (divergent or after others returned), warp
// collectives with lanes missing, exited or calling a different operation, shared-memory
// races per barrier interval (racecheck.h), shared-memory guard zones (SR_SHARED arrays sit between NaN-pattern guards, checked after each block),
// device-memory guard zones (device.h, checked after each launch), launch configurations
// CUDA would refuse. Faults are kept for cudaGetLastError (the launch's CUDA_CHECK_LAUNCH
// reports them with the op's name), as CUDA reports kernel faults.
#include <cxxabi.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sanitizer/asan_interface.h>  // no-ops without ASan
#include <signal.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/error.h"
#include "kernels/simt/async_copy.h"
#include "kernels/simt/fiber.h"
#include "kernels/simt/graph.h"
#include "kernels/simt/device.h"
#include "kernels/simt/mbarrier.h"
#include "kernels/simt/ptx.h"
#include "kernels/simt/racecheck.h"
#include "kernels/simt/simt.h"
#include "kernels/simt/wgmma.h"

// For debuggers: the CUDA thread and block the interpreter runs now (plain globals, so a
// gdb breakpoint condition can read them: `break file.cu:42 if simt_thread_idx.x == 5`).
extern "C" {
uint3 simt_thread_idx = {0, 0, 0};
uint3 simt_block_idx = {0, 0, 0};
}

namespace simt {

namespace detail {

constinit thread_local ThreadCtx* t_thread = nullptr;
constinit thread_local BlockCtx t_block = {};

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kStackBytes = 512 * 1024;
#else
constexpr size_t kStackBytes = 64 * 1024;
#endif
constexpr int kMaxThreads = 1024;
constexpr size_t kMaxStaticShared = 48 * 1024;
constexpr size_t kMaxOptInShared = 227 * 1024;  // sm_90's per-block limit with the opt-in
constexpr size_t kSharedGuard = 64;
constexpr uint32_t kGuardWord = 0xfff0deadu;

enum class State : uint8_t { ready, barrier, warp, mbarrier, exited };

struct Thread {
  ThreadCtx ctx;
  FiberContext fiber;
  State state = State::ready;
  std::source_location site;  // where it waits
  AsyncCopies async;          // its cp.async copies in flight
  WgmmaQueue wgmma;           // its wgmma.mma_async in flight
  const void* wait_bar = nullptr;  // the mbarrier it waits on (State::mbarrier)
  uint32_t wait_parity = 0;
};

struct Pending {  // a warp collective being gathered
  const char* name = nullptr;
  unsigned mask = 0, arrived = 0;
  unsigned exited = 0;  // the warp's lanes that have returned (or faulted): a collective may not name them
  WarpOp op = nullptr;
  const void* op_ctx = nullptr;
  void* payload[32] = {};
  std::source_location site;
};

struct SharedArena {
  char* base = nullptr;
  size_t used = 0, reserved = 0;
};

std::string where(const std::source_location& loc) {
  const char* f = loc.file_name();
  const char* k = std::strstr(f, "kernels/");
  return sr::str_cat(k ? k : f, ":", loc.line());
}

std::string dim_str(uint3 v) { return sr::str_cat("(", v.x, ",", v.y, ",", v.z, ")"); }

// What one OS thread needs to run blocks: fiber stacks, thread records, the arena.
struct Machine {
  std::vector<std::unique_ptr<FiberStack>> stacks;
  std::vector<Thread> threads;
  std::vector<Pending> warps;
  FiberContext scheduler;
  int nthreads = 0, live = 0, at_barrier = 0;
  void (*body)(void*) = nullptr;
  void* body_ctx = nullptr;
  std::string fault;  // the first fault of the block ("" while none)
  SharedArena arena;
  std::vector<SharedSite*> sites;     // every SR_SHARED site seen, in offset order
  std::vector<SharedSite*> touched;   // those of the running block
  uint64_t block_epoch = 0;
  char* dynamic = nullptr;
  size_t dynamic_bytes = 0;
  std::vector<char> dynamic_store;
  std::vector<int> warp_order, lane_order;
  MbarrierTable mbarriers;  // the running block's
  size_t shared_limit = kMaxStaticShared;  // the running kernel's (its opt-in)
  Stats stats;
};

Machine& machine() {
  static thread_local Machine m;
  return m;
}

std::mutex g_launch_mutex;  // one launch at a time: stdout order and the counters stay simple
std::set<const void*> g_launched;  // every kernel launched in this process
std::map<const void*, size_t> g_shared_opt_in;  // cudaFuncAttributeMaxDynamicSharedMemorySize
uint64_t g_seed = [] {
  const char* s = std::getenv("SRENGINE_SIMT_SEED");
  return s && *s ? std::strtoull(s, nullptr, 10) : 0;
}();

thread_local cudaError_t t_error = cudaSuccess;
thread_local std::string t_error_text;

void set_error(cudaError_t e, const std::string& text) {
  if (t_error != cudaSuccess) return;  // the first fault wins, as CUDA's sticky errors
  t_error = e;
  t_error_text = text;
}

Thread& current() {
  Machine& m = machine();
  if (!t_thread) sr::fail("simt: a device function was called outside a kernel");
  return m.threads[t_thread->linear];
}

}  // namespace

AsyncCopies& async_copies() { return current().async; }
WgmmaQueue& wgmma_queue() { return current().wgmma; }
MbarrierTable& mbarriers() {
  if (!t_thread) sr::fail("simt: an mbarrier used outside a kernel");
  return machine().mbarriers;
}

namespace {

std::string thread_name(const Thread& t) {
  return sr::str_cat("block ", dim_str(t_block.block_idx), " thread ", dim_str(t.ctx.thread_idx), " (warp ",
                     t.ctx.warp, " lane ", t.ctx.lane, ")");
}

// Ends the running fiber's part in the block: the scheduler sees the fault and stops.
[[noreturn]] void fault_here(const std::string& what) {
  throw sr::Error(sr::str_cat(thread_name(current()), ": ", what));
}

void yield(Thread& t) {
  Machine& m = machine();
  ++m.stats.switches;
  fiber_switch(t.fiber, m.scheduler);
}

void fiber_main(void* arg) {
  Machine& m = machine();
  Thread& t = *static_cast<Thread*>(arg);
  fiber_started(m.scheduler);
  try {
    m.body(m.body_ctx);
    t.async.retire_all();  // copies never waited for land at exit
    t.wgmma.drop();
  } catch (const std::exception& e) {
    if (m.fault.empty()) m.fault = e.what();
  } catch (...) {
    if (m.fault.empty()) m.fault = thread_name(t) + ": unknown exception";
  }
  t.state = State::exited;
  --m.live;
  // A lane that leaves while its warp gathers a collective naming it would hang the warp.
  Pending& w = m.warps[t.ctx.warp];
  w.exited |= 1u << t.ctx.lane;
  if (w.arrived && (w.mask >> t.ctx.lane & 1u) && !(w.arrived >> t.ctx.lane & 1u) && m.fault.empty())
    m.fault = sr::str_cat(thread_name(t), ": returned while lanes of its warp wait for it at ", w.name, " (",
                          where(w.site), ", mask 0x", std::hex, w.mask, ")");
  ++m.stats.switches;
  fiber_switch(t.fiber, m.scheduler, /*from_ends=*/true);
  std::abort();  // never resumed
}

void resume(Machine& m, Thread& t) {
  t_thread = &t.ctx;
  simt_thread_idx = t.ctx.thread_idx;
  simt_block_idx = t_block.block_idx;
  ++m.stats.switches;
  fiber_switch(m.scheduler, t.fiber);
  t_thread = nullptr;
}

std::string describe_stuck(Machine& m) {
  std::string s;
  int shown = 0;
  for (int i = 0; i < m.nthreads && shown < 4; ++i) {
    const Thread& t = m.threads[i];
    if (t.state == State::barrier) {
      s += sr::str_cat("; thread ", dim_str(t.ctx.thread_idx), " waits at __syncthreads (", where(t.site), ")");
      ++shown;
    } else if (t.state == State::mbarrier) {
      s += sr::str_cat("; thread ", dim_str(t.ctx.thread_idx), " waits at mbarrier.try_wait.parity (", where(t.site),
                       ") for the phase of parity ", t.wait_parity, " of ", m.mbarriers.describe(t.wait_bar));
      ++shown;
    } else if (t.state == State::warp) {
      const Pending& w = m.warps[t.ctx.warp];
      s += sr::str_cat("; thread ", dim_str(t.ctx.thread_idx), " waits at ", w.name, " (", where(t.site),
                       ") for lanes 0x", std::hex, (w.mask & ~w.arrived), std::dec);
      ++shown;
    }
  }
  return s;
}

// Opens the barrier when every live thread waits at it; else returns a fault ("" if fine).
std::string release_barrier(Machine& m) {
  const int exited = m.nthreads - m.live;
  const Thread* first = nullptr;
  for (int i = 0; i < m.nthreads; ++i) {
    const Thread& t = m.threads[i];
    if (t.state != State::barrier) continue;
    if (!first) {
      first = &t;
    } else if (t.site.line() != first->site.line() || std::strcmp(t.site.file_name(), first->site.file_name())) {
      return sr::str_cat("divergent __syncthreads: thread ", dim_str(first->ctx.thread_idx), " waits at ",
                         where(first->site), ", thread ", dim_str(t.ctx.thread_idx), " at ", where(t.site));
    }
  }
  if (exited > 0)
    return sr::str_cat("__syncthreads (", where(first->site), ") reached by ", m.live, " of ", m.nthreads,
                       " threads: the others have returned (a barrier every thread must reach)");
  for (int i = 0; i < m.nthreads; ++i) m.threads[i].state = State::ready;
  m.at_barrier = 0;
  race::barrier();
  return "";
}

// Shared-memory guards are poisoned for ASan too in ASan builds (an instrumented kernel's
// access to one stops there with its stack); the interpreter lifts the poison to fill and
// check them.
void asan_guard(const char* p, size_t n, bool poisoned) {
  if (poisoned)
    ASAN_POISON_MEMORY_REGION(p, n);
  else
    ASAN_UNPOISON_MEMORY_REGION(p, n);
  (void)p, (void)n;
}

void fill_guard(char* p, size_t n, size_t phase) {
  asan_guard(p, n, false);
  for (size_t i = 0; i < n; ++i) p[i] = reinterpret_cast<const char*>(&kGuardWord)[(i + phase) % 4];
  asan_guard(p, n, true);
}

std::string check_shared_guards(Machine& m) {
  for (SharedSite* s : m.touched) {
    const char* tail = m.arena.base + s->offset + s->bytes;
    asan_guard(tail, kSharedGuard, false);
    asan_guard(m.arena.base + s->offset - kSharedGuard, kSharedGuard, false);
    struct Repoison {
      const char *head, *tail;
      ~Repoison() {
        asan_guard(head, kSharedGuard, true);
        asan_guard(tail, kSharedGuard, true);
      }
    } repoison{m.arena.base + s->offset - kSharedGuard, tail};
    for (size_t i = 0; i < kSharedGuard; ++i) {
      if ((unsigned char)tail[i] != reinterpret_cast<const unsigned char*>(&kGuardWord)[(s->bytes + i) % 4])
        return sr::str_cat("a write at byte ", i, " past the end of shared array ", s->name, " (", s->bytes,
                           " bytes, declared at ", s->file, ":", s->line, ")");
      const char* head = m.arena.base + s->offset - kSharedGuard;
      if ((unsigned char)head[i] != reinterpret_cast<const unsigned char*>(&kGuardWord)[i % 4])
        return sr::str_cat("a write at byte ", kSharedGuard - i, " before the start of shared array ", s->name,
                           " (declared at ", s->file, ":", s->line, ")");
    }
  }
  return "";
}


// Runs one block to completion; returns a fault description ("" if none).
std::string run_block(Machine& m, std::mt19937_64& rng) {
  const uint3 bd{t_block.block_dim.x, t_block.block_dim.y, t_block.block_dim.z};
  m.nthreads = (int)(bd.x * bd.y * bd.z);
  const int nwarps = (m.nthreads + 31) / 32;
  while ((int)m.stacks.size() < m.nthreads) m.stacks.push_back(std::make_unique<FiberStack>(kStackBytes));
  m.threads.assign(m.nthreads, Thread{});
  m.warps.assign(nwarps, Pending{});
  m.live = m.nthreads;
  m.at_barrier = 0;
  m.fault.clear();
  ++m.block_epoch;
  m.touched.clear();
  m.mbarriers.clear();
  if (m.dynamic_bytes) {
    std::memset(m.dynamic, 0xff, m.dynamic_bytes);
    fill_guard(m.dynamic + m.dynamic_bytes, kSharedGuard, m.dynamic_bytes % 4);
  }
  for (int i = 0; i < m.nthreads; ++i) {
    Thread& t = m.threads[i];
    t.ctx.linear = i;
    t.ctx.thread_idx = uint3{(unsigned)(i % bd.x), (unsigned)(i / bd.x % bd.y), (unsigned)(i / (bd.x * bd.y))};
    t.ctx.lane = i & 31;
    t.ctx.warp = i >> 5;
    fiber_init(t.fiber, *m.stacks[i], &fiber_main, &t);
  }
  m.stats.threads += m.nthreads;
  race::begin_block(nwarps);
  race::set_regions(m.arena.base, m.arena.used, m.dynamic, m.dynamic_bytes);
  m.warp_order.resize(nwarps);
  for (int w = 0; w < nwarps; ++w) m.warp_order[w] = w;
  m.lane_order.resize(32);
  for (int l = 0; l < 32; ++l) m.lane_order[l] = l;
  if (g_seed != 0) {
    std::shuffle(m.warp_order.begin(), m.warp_order.end(), rng);
    std::shuffle(m.lane_order.begin(), m.lane_order.end(), rng);
  }

  for (;;) {
    bool progressed = false;
    for (int w : m.warp_order) {
      bool any;
      do {
        any = false;
        for (int l : m.lane_order) {
          const int i = w * 32 + l;
          if (i >= m.nthreads) continue;
          Thread& t = m.threads[i];
          if (t.state != State::ready) continue;
          resume(m, t);
          any = progressed = true;
          if (m.fault.empty() && race::has_report()) m.fault = race::take_report();
          if (!m.fault.empty()) return m.fault;
        }
      } while (any);
    }
    if (m.live == 0) break;
    if (m.at_barrier == m.live) {
      std::string err = release_barrier(m);
      if (!err.empty()) return sr::str_cat("block ", dim_str(t_block.block_idx), ": ", err);
      continue;
    }
    if (!progressed)
      return sr::str_cat("block ", dim_str(t_block.block_idx), " is stuck (", m.live, " threads wait)",
                         describe_stuck(m));
  }
  std::string err = check_shared_guards(m);
  if (err.empty() && m.dynamic_bytes) {
    asan_guard(m.dynamic + m.dynamic_bytes, kSharedGuard, false);
    for (size_t i = 0; i < kSharedGuard; ++i)
      if (m.dynamic[m.dynamic_bytes + i] !=
          reinterpret_cast<const char*>(&kGuardWord)[(m.dynamic_bytes + i) % 4]) {
        err = sr::str_cat("a write at byte ", i, " past the end of the dynamic shared memory (", m.dynamic_bytes,
                          " bytes)");
        break;
      }
    asan_guard(m.dynamic + m.dynamic_bytes, kSharedGuard, true);
  }
  if (!err.empty()) return sr::str_cat("block ", dim_str(t_block.block_idx), ": ", err);
  return "";
}

// A fault inside a kernel (an access far outside every device buffer, or into a guard
// page) ends the faulting fiber as an illegal address: the handler records which thread it
// was and switches to the scheduler, which abandons the block; the launch check reports it
// as CUDA reports cudaErrorIllegalAddress. Outside kernels the previous handler runs.
struct sigaction g_old_segv;
thread_local char t_segv_text[256];
void segv_handler(int sig, siginfo_t* info, void* uc) {
  if (!t_thread) {
    sigaction(sig, &g_old_segv, nullptr);  // returning re-runs the access under the old handler
    return;
  }
  std::snprintf(t_segv_text, sizeof t_segv_text,
                "block (%u,%u,%u) thread (%u,%u,%u): illegal address %p (an access outside every device buffer, "
                "or a stack overflow)",
                t_block.block_idx.x, t_block.block_idx.y, t_block.block_idx.z, t_thread->thread_idx.x,
                t_thread->thread_idx.y, t_thread->thread_idx.z, info->si_addr);
  (void)uc;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);  // the handler never returns
  Machine& m = machine();
  Thread& t = m.threads[t_thread->linear];
  if (m.fault.empty()) m.fault = t_segv_text;
  t.state = State::exited;
  m.warps[t.ctx.warp].exited |= 1u << t.ctx.lane;
  fiber_switch(t.fiber, m.scheduler, /*from_ends=*/true);  // never resumed
  std::abort();
}

void install_fault_handler() {
  static thread_local bool done = false;
  if (done) return;
  done = true;
  static thread_local std::vector<char> alt(64 * 1024);
  stack_t ss{};
  ss.ss_sp = alt.data();
  ss.ss_size = alt.size();
  sigaltstack(&ss, nullptr);
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &segv_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &g_old_segv);
  });
}

size_t shared_limit_of(const void* kernel) {
  auto it = g_shared_opt_in.find(kernel);
  return it == g_shared_opt_in.end() ? kMaxStaticShared : std::max(kMaxStaticShared, it->second);
}

std::string check_config(const void* kernel, dim3 grid, dim3 block, size_t shared_bytes) {
  const uint64_t threads = (uint64_t)block.x * block.y * block.z;
  if (threads == 0 || threads > (uint64_t)kMaxThreads || block.x > 1024 || block.y > 1024 || block.z > 64)
    return sr::str_cat("invalid block ", block.x, " x ", block.y, " x ", block.z, " (1 to 1024 threads)");
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535)
    return sr::str_cat("invalid grid ", grid.x, " x ", grid.y, " x ", grid.z);
  if (shared_bytes > shared_limit_of(kernel))
    return sr::str_cat(shared_bytes, " bytes of dynamic shared memory (more than ", shared_limit_of(kernel),
                       "; above 48 KiB needs cudaFuncAttributeMaxDynamicSharedMemorySize)");
  return "";
}

}  // namespace

void* shared_at(SharedSite& site, size_t bytes, size_t align) {
  Machine& m = machine();
  if (!t_thread) sr::fail("simt: shared memory declared outside a kernel (", site.file, ":", site.line, ")");
  if (site.offset < 0) {
    // First use anywhere: the site gets its own place in the arena, between guards.
    if (!m.arena.base) {
      m.arena.reserved = size_t{256} << 20;
      void* p = mmap(nullptr, m.arena.reserved, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
      if (p == MAP_FAILED) sr::fail("simt: cannot reserve the shared-memory arena");
      m.arena.base = static_cast<char*>(p);
      m.arena.used = 0;
    }
    const size_t a = std::max<size_t>(align, 16);
    size_t off = (m.arena.used + kSharedGuard + a - 1) / a * a;
    if (off + bytes + kSharedGuard > m.arena.reserved) sr::fail("simt: shared-memory arena exhausted");
    fill_guard(m.arena.base + off - kSharedGuard, kSharedGuard, 0);
    fill_guard(m.arena.base + off + bytes, kSharedGuard, bytes % 4);
    site.offset = (int64_t)off;
    site.bytes = bytes;
    m.arena.used = off + bytes + kSharedGuard;
    m.sites.push_back(&site);
    race::set_regions(m.arena.base, m.arena.used, m.dynamic, m.dynamic_bytes);
  }
  if (site.block_epoch != m.block_epoch) {
    // The block's first thread to reach the declaration: the array starts out as poison.
    site.block_epoch = m.block_epoch;
    std::memset(m.arena.base + site.offset, 0xff, site.bytes);
    fill_guard(m.arena.base + site.offset - kSharedGuard, kSharedGuard, 0);  // (a fault may have hit them)
    fill_guard(m.arena.base + site.offset + site.bytes, kSharedGuard, site.bytes % 4);
    m.touched.push_back(&site);
    size_t total = 0;
    for (SharedSite* s : m.touched) total += s->bytes;
    if (total + m.dynamic_bytes > m.shared_limit)
      fault_here(sr::str_cat("the block uses ", total + m.dynamic_bytes, " bytes of shared memory (", site.name,
                             " at ", site.file, ":", site.line, " makes it more than ", m.shared_limit, ")"));
  }
  return m.arena.base + site.offset;
}

void* dynamic_shared() {
  Machine& m = machine();
  if (!t_thread) sr::fail("simt: dynamic shared memory used outside a kernel");
  return m.dynamic;
}

size_t dynamic_shared_bytes() {
  if (!t_thread) sr::fail("simt: dynamic shared memory used outside a kernel");
  return machine().dynamic_bytes;
}

namespace race {

std::string shared_byte_name(const char* p) {
  Machine& m = machine();
  if (m.dynamic_bytes && p >= m.dynamic && p < m.dynamic + m.dynamic_bytes)
    return sr::str_cat("dynamic shared memory, byte ", p - m.dynamic);
  for (const SharedSite* s : m.sites) {
    const char* start = m.arena.base + s->offset;
    if (p >= start && p < start + s->bytes)
      return sr::str_cat("shared array ", s->name, " (declared at ", s->file, ":", s->line, "), byte ", p - start);
  }
  return sr::str_cat("shared memory at ", (const void*)p);
}

std::string thread_of(int linear) {
  const uint3 bd = t_block.block_dim;
  const unsigned i = (unsigned)linear;
  return sr::str_cat("thread ", dim_str(uint3{i % bd.x, i / bd.x % bd.y, i / (bd.x * bd.y)}), " (warp ", linear / 32,
                     " lane ", linear % 32, ")");
}

}  // namespace race

void syncthreads(const std::source_location& loc) {
  Machine& m = machine();
  Thread& t = current();
  const Pending& w = m.warps[t.ctx.warp];
  if (w.arrived)
    fault_here(sr::str_cat("__syncthreads (", where(loc), ") while lanes of its warp wait at ", w.name, " (",
                           where(w.site), ")"));
  t.state = State::barrier;
  t.site = loc;
  ++m.at_barrier;
  yield(t);
}

void warp_collective(const char* name, unsigned mask, void* payload, WarpOp op, const void* ctx,
                     const std::source_location& loc) {
  Machine& m = machine();
  Thread& t = current();
  Pending& w = m.warps[t.ctx.warp];
  const unsigned self = 1u << t.ctx.lane;
  const int first_lane = t.ctx.warp * 32;
  const int lanes = std::min(32, m.nthreads - first_lane);
  const unsigned existing = lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1u);
  if (!(mask & self))
    fault_here(sr::str_cat(name, " (", where(loc), ") with mask 0x", std::hex, mask, " that leaves out the calling lane"));
  if (mask & ~existing)
    fault_here(sr::str_cat(name, " (", where(loc), ") with mask 0x", std::hex, mask,
                           " naming lanes the block does not have (", std::dec, lanes, " lanes in this warp)"));
  if (mask & w.exited)  // (a bit mask, not a scan of the lanes: this runs once per lane and collective)
    fault_here(sr::str_cat(name, " (", where(loc), ") with mask 0x", std::hex, mask, " names lane ", std::dec,
                           std::countr_zero(mask & w.exited), ", which has returned"));
  if (w.arrived == 0) {
    w.name = name;
    w.mask = mask;
    w.op = op;
    w.op_ctx = ctx;
    w.site = loc;
  } else if (w.name != name && std::strcmp(w.name, name) != 0) {
    fault_here(sr::str_cat("warp divergence: this lane calls ", name, " (", where(loc), ") while lanes 0x", std::hex,
                           w.arrived, " wait at ", w.name, " (", where(w.site), ")"));
  } else if (w.mask != mask) {
    fault_here(sr::str_cat(name, " (", where(loc), ") with mask 0x", std::hex, mask, " while lanes 0x", w.arrived,
                           " called it with mask 0x", w.mask));
  }
  w.payload[t.ctx.lane] = payload;
  w.arrived |= self;
  if ((w.arrived & mask) == mask) {
    w.op(w.payload, mask, w.op_ctx);
    race::warp_synced(t.ctx.warp);
    for (int l = 0; l < lanes; ++l) {
      Thread& o = m.threads[first_lane + l];
      if ((mask >> l & 1u) && l != t.ctx.lane) o.state = State::ready;
    }
    w.arrived = 0;
    return;
  }
  t.state = State::warp;
  t.site = loc;
  yield(t);
}

void mbarrier_block(const void* addr, uint32_t parity, const std::source_location& loc) {
  Thread& t = current();
  t.state = State::mbarrier;
  t.site = loc;
  t.wait_bar = addr;
  t.wait_parity = parity;
  yield(t);
}

void mbarrier_wake(const void* addr) {
  Machine& m = machine();
  for (int i = 0; i < m.nthreads; ++i) {
    Thread& t = m.threads[i];
    if (t.state == State::mbarrier && t.wait_bar == addr) t.state = State::ready;  // it tests the parity again
  }
}

cudaError_t set_max_dynamic_shared(const void* kernel, int bytes) {
  if (bytes < 0 || (size_t)bytes > kMaxOptInShared) return cudaErrorInvalidValue;
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  g_shared_opt_in[kernel] = (size_t)bytes;
  return cudaSuccess;
}

unsigned active_mask() {
  Machine& m = machine();
  Thread& t = current();
  const int first_lane = t.ctx.warp * 32;
  const int lanes = std::min(32, m.nthreads - first_lane);
  unsigned mask = 0;
  for (int l = 0; l < lanes; ++l)
    if (m.threads[first_lane + l].state != State::exited) mask |= 1u << l;
  return mask;
}

[[noreturn]] void device_fail(const char* what, const std::source_location& loc) {
  fault_here(sr::str_cat(what, " (", where(loc), ")"));
}

void launch(const void* kernel, dim3 grid, dim3 block, size_t shared_bytes, void (*body)(void*), void* ctx) {
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  g_launched.insert(kernel);
  if (t_error != cudaSuccess) return;  // a sticky fault: the check after this launch reports it
  if (t_thread) sr::fail("simt: a kernel launched from device code (dynamic parallelism) is not supported");
  std::string err = check_config(kernel, grid, block, shared_bytes);
  if (!err.empty()) {
    set_error(cudaErrorInvalidConfiguration, "simt: " + kernel_name(kernel) + ": " + err);
    return;
  }
  install_fault_handler();
  Machine& m = machine();
  ++m.stats.launches;
  m.shared_limit = shared_limit_of(kernel);
  m.body = body;
  m.body_ctx = ctx;
  if (m.dynamic) asan_guard(m.dynamic + m.dynamic_bytes, kSharedGuard, false);  // (the resize may copy it)
  m.dynamic_bytes = shared_bytes;
  // kDynamicSharedAddress past a 1024-byte boundary: the swizzled layouts (TMA, wgmma) are
  // functions of address bits 4..9, so the kernels that use them must round their stages up
  // to 1024 bytes themselves (and ask for the slack), as on a GPU.
  m.dynamic_store.resize(shared_bytes + kSharedGuard + 1024 + kDynamicSharedAddress);
  m.dynamic = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(m.dynamic_store.data()) + 1023) & ~uintptr_t{1023}) +
              kDynamicSharedAddress;

  const uint64_t nblocks = (uint64_t)grid.x * grid.y * grid.z;
  std::mt19937_64 rng(g_seed);
  // Block order: index order, or (seed != 0) a random permutation of modest grids and a
  // random rotation plus reversal of large ones.
  std::vector<uint64_t> order;
  uint64_t rotate = 0;
  bool reverse = false;
  if (g_seed != 0) {
    if (nblocks <= 4096) {
      order.resize(nblocks);
      for (uint64_t i = 0; i < nblocks; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), rng);
    } else {
      rotate = rng() % nblocks;
      reverse = rng() & 1;
    }
  }
  t_block.grid_dim = uint3{grid.x, grid.y, grid.z};
  t_block.block_dim = uint3{block.x, block.y, block.z};
  for (uint64_t k = 0; k < nblocks; ++k) {
    uint64_t b = order.empty() ? (k + rotate) % nblocks : order[k];
    if (reverse) b = nblocks - 1 - b;
    t_block.block_idx = uint3{(unsigned)(b % grid.x), (unsigned)(b / grid.x % grid.y),
                              (unsigned)(b / ((uint64_t)grid.x * grid.y))};
    ++m.stats.blocks;
    err = run_block(m, rng);
    if (!err.empty()) {
      set_error(cudaErrorLaunchFailure, "simt: " + kernel_name(kernel) + ": " + err);
      return;
    }
  }
  err = check_device_memory();
  if (!err.empty())
    set_error(cudaErrorIllegalAddress, "simt: " + kernel_name(kernel) + ": out-of-bounds device memory access: " + err);
}

}  // namespace detail

// ---- Kernel names: the executable's own symbol table ----------------------------------------
namespace {

struct Symbols {
  std::map<uintptr_t, std::string> by_address;  // function start -> mangled name
  bool loaded = false;
};

int main_object_base(dl_phdr_info* info, size_t, void* out) {
  *static_cast<uintptr_t*>(out) = info->dlpi_addr;  // the first object is the executable
  return 1;
}

const Symbols& symbols() {
  static Symbols syms = [] {
    Symbols s;
    const int fd = open("/proc/self/exe", O_RDONLY);
    if (fd < 0) return s;
    struct stat st {};
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
      close(fd);
      return s;
    }
    void* map = mmap(nullptr, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return s;
    const auto* base = static_cast<const char*>(map);
    const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
    uintptr_t bias = 0;
    dl_iterate_phdr(&main_object_base, &bias);
    if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64) {
      const auto* sh = reinterpret_cast<const Elf64_Shdr*>(base + eh->e_shoff);
      for (int i = 0; i < eh->e_shnum; ++i) {
        if (sh[i].sh_type != SHT_SYMTAB) continue;
        const auto* sym = reinterpret_cast<const Elf64_Sym*>(base + sh[i].sh_offset);
        const char* names = base + sh[sh[i].sh_link].sh_offset;
        for (size_t k = 0; k < sh[i].sh_size / sizeof(Elf64_Sym); ++k)
          if (ELF64_ST_TYPE(sym[k].st_info) == STT_FUNC && sym[k].st_value)
            s.by_address[bias + sym[k].st_value] = names + sym[k].st_name;
      }
    }
    s.loaded = !s.by_address.empty();
    munmap(map, (size_t)st.st_size);
    return s;
  }();
  return syms;
}

}  // namespace

std::string kernel_name(const void* kernel) {
  const auto& by = symbols().by_address;
  auto it = by.find(reinterpret_cast<uintptr_t>(kernel));
  if (it == by.end()) return sr::str_cat("kernel at ", kernel);
  int status = 0;
  char* d = abi::__cxa_demangle(it->second.c_str(), nullptr, nullptr, &status);
  std::string name = status == 0 && d ? d : it->second;
  std::free(d);
  return name;
}

namespace detail::race {

std::string code_at(const void* pc) {
  const auto& by = symbols().by_address;
  auto it = by.upper_bound(reinterpret_cast<uintptr_t>(pc));
  if (it == by.begin()) return sr::str_cat("code address ", pc);
  --it;
  int status = 0;
  char* d = abi::__cxa_demangle(it->second.c_str(), nullptr, nullptr, &status);
  std::string name = status == 0 && d ? d : it->second;
  std::free(d);
  // The instruction after the access's check call: inside the access's source line.
  return sr::str_cat(name, "+0x", std::hex, reinterpret_cast<uintptr_t>(pc) - it->first);
}

}  // namespace detail::race

std::vector<std::string> launched_kernels() {
  std::lock_guard<std::mutex> lock(detail::g_launch_mutex);
  std::vector<std::string> out;
  for (const void* k : detail::g_launched) out.push_back(kernel_name(k));
  return out;
}

void set_schedule_seed(uint64_t seed) { detail::g_seed = seed; }
uint64_t schedule_seed() { return detail::g_seed; }
Stats stats() { return detail::machine().stats; }

// ---- PTX ----------------------------------------------------------------------------------------
namespace ptx {

namespace {

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
float from_bits(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// bf16 round-to-nearest-even of a float's bit pattern.
uint16_t bf16_rn(float x) {
  const uint32_t u = bits(x);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return 0x7fff;  // NaN
  const uint32_t lsb = (u >> 16) & 1u;
  return (uint16_t)((u + 0x7fffu + lsb) >> 16);
}

struct MmaPayload {
  float* d;
  const uint32_t* a;
  const uint32_t* b;
};

float tf32_value(uint32_t r) { return from_bits(r & 0xffffe000u); }
float bf16_value(uint32_t r, int half) { return from_bits((half ? r >> 16 : r & 0xffffu) << 16); }
// IEEE binary16 bits -> value: (-1)^s 2^(e-15) (1 + m/1024), subnormal (e = 0) m 2^-24.
float f16_value(uint32_t r, int half) {
  const uint32_t h = (half ? r >> 16 : r) & 0xffffu;
  const int e = (int)((h >> 10) & 0x1fu), m = (int)(h & 0x3ffu);
  const double sign = (h & 0x8000u) ? -1.0 : 1.0;
  if (e == 31) return m ? std::numeric_limits<float>::quiet_NaN() : (float)(sign * HUGE_VAL);
  return (float)(sign * (e ? std::ldexp(1024.0 + m, e - 25) : std::ldexp((double)m, -24)));
}
// float -> IEEE binary16 bits, round to nearest even, written on the value (not the bits):
// the quantum is 2^(max(exponent, -14) - 10), the rounded multiple is encoded back.
uint16_t f16_rn(float a) {
  if (std::isnan(a)) return 0x7fffu;
  const uint16_t sign = std::signbit(a) ? 0x8000u : 0u;
  const double m = std::fabs((double)a);
  if (m >= 65520.0) return sign | 0x7c00u;  // rounds past 65504: infinity
  if (m == 0.0) return sign;
  const int e = std::max(std::ilogb(m), -14);
  const double q = std::nearbyint(std::ldexp(m, 10 - e));  // in [0, 2048], ties to even
  if (q < 1024.0) return sign | (uint16_t)q;              // subnormal (e == -14) or zero
  const int e2 = q >= 2048.0 ? e + 1 : e;
  const int frac = (int)(q >= 2048.0 ? 0.0 : q - 1024.0);
  return sign | (uint16_t)(((e2 + 15) << 10) | frac);
}

// m16n8kK: A is 16 x K (row), B is K x 8 (col), C/D 16 x 8 (fp32). g = lane / 4, t = lane % 4.
template <int K, bool kF16 = false>
void mma_op(void* const payload[32], unsigned, const void*) {
  float A[16][K], B[K][8];
  for (int lane = 0; lane < 32; ++lane) {
    const auto* p = static_cast<const MmaPayload*>(payload[lane]);
    const int g = lane >> 2, t = lane & 3;
    if constexpr (K == 8) {
      // .tf32 A fragment: a0 (row g, col t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4);
      // B fragment: b0 (row t, col g), b1 (t+4, g).
      A[g][t] = tf32_value(p->a[0]);
      A[g + 8][t] = tf32_value(p->a[1]);
      A[g][t + 4] = tf32_value(p->a[2]);
      A[g + 8][t + 4] = tf32_value(p->a[3]);
      B[t][g] = tf32_value(p->b[0]);
      B[t + 4][g] = tf32_value(p->b[1]);
    } else {
      // .bf16 A fragment: four .b32 registers of two bf16 each, a0..a7 with
      //   row = g for a0, a1, a4, a5 and g+8 for a2, a3, a6, a7;
      //   col = 2t + (i & 1) for a0..a3 and 2t + 8 + (i & 1) for a4..a7.
      // B fragment: two registers, b0..b3 with row = 2t + (i & 1) (+8 for b2, b3), col = g.
      for (int i = 0; i < 8; ++i) {
        const int row = g + ((i >> 1) & 1) * 8;
        const int col = 2 * t + (i & 1) + (i >= 4 ? 8 : 0);
        A[row][col] = kF16 ? f16_value(p->a[i >> 1], i & 1) : bf16_value(p->a[i >> 1], i & 1);
      }
      for (int i = 0; i < 4; ++i)
        B[2 * t + (i & 1) + (i >= 2 ? 8 : 0)][g] = kF16 ? f16_value(p->b[i >> 1], i & 1) : bf16_value(p->b[i >> 1], i & 1);
    }
  }
  // Accumulators: c0 (row g, col 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1). Each
  // D[row][col] = C[row][col] + sum over k in order of A[row][k] B[k][col], in double (the
  // products of tf32, bf16 and fp16 values are exact there), rounded once to float. The loop
  // runs over a row's 8 columns at once, which vectorises and keeps each sum's order.
  double D[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    const auto* p = static_cast<const MmaPayload*>(payload[lane]);
    const int g = lane >> 2, t = lane & 3;
    for (int i = 0; i < 4; ++i) D[g + (i >= 2 ? 8 : 0)][2 * t + (i & 1)] = p->d[i];
  }
  for (int row = 0; row < 16; ++row)
    for (int k = 0; k < K; ++k)
      for (int col = 0; col < 8; ++col) D[row][col] += (double)A[row][k] * (double)B[k][col];
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane >> 2, t = lane & 3;
    float d[4];
    for (int i = 0; i < 4; ++i) d[i] = (float)D[g + (i >= 2 ? 8 : 0)][2 * t + (i & 1)];
    std::memcpy(static_cast<MmaPayload*>(payload[lane])->d, d, 16);
  }
}

// ldmatrix: each lane's payload is the 16-byte row it read and its four result registers.
struct LdmatrixPayload {
  uint16_t row[8];
  uint32_t* r;
};

template <bool Trans>
void ldmatrix_op(void* const payload[32], unsigned, const void*) {
  // Matrix j's row i is lane 8j+i's row; element (i, c) = payload[8j+i]->row[c].
  uint32_t out[32][4];
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane >> 2, t = lane & 3;
    for (int j = 0; j < 4; ++j) {
      uint16_t lo, hi;
      if (Trans) {  // elements (2t, g) and (2t+1, g): the transpose's (g, 2t), (g, 2t+1)
        lo = static_cast<const LdmatrixPayload*>(payload[8 * j + 2 * t])->row[g];
        hi = static_cast<const LdmatrixPayload*>(payload[8 * j + 2 * t + 1])->row[g];
      } else {
        const auto* p = static_cast<const LdmatrixPayload*>(payload[8 * j + g]);
        lo = p->row[2 * t];
        hi = p->row[2 * t + 1];
      }
      out[lane][j] = (uint32_t)lo | ((uint32_t)hi << 16);
    }
  }
  for (int lane = 0; lane < 32; ++lane) std::memcpy(static_cast<LdmatrixPayload*>(payload[lane])->r, out[lane], 16);
}

}  // namespace

void ldmatrix_x4(uint32_t r[4], const void* row_addr, bool trans, const std::source_location& loc) {
  if (reinterpret_cast<uintptr_t>(row_addr) % 16)
    detail::device_fail("ldmatrix with a row address not aligned to 16 bytes", loc);
  if (!detail::race::is_shared(row_addr)) detail::device_fail("ldmatrix with a row address outside shared memory", loc);
  LdmatrixPayload p{};
  p.r = r;
  detail::race::record(row_addr, 16, /*write=*/false, __builtin_return_address(0));
  std::memcpy(p.row, row_addr, 16);
  if (trans)
    detail::warp_collective("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16", 0xffffffffu, &p, &ldmatrix_op<true>,
                            nullptr, loc);
  else
    detail::warp_collective("ldmatrix.sync.aligned.m8n8.x4.shared.b16", 0xffffffffu, &p, &ldmatrix_op<false>,
                            nullptr, loc);
}

uint32_t cvt_rna_tf32(float a) {
  const uint32_t u = bits(a);
  if ((u & 0x7f800000u) == 0x7f800000u) return u;  // inf and NaN unchanged
  // Ties away from zero on the magnitude: add half an ulp of TF32 (bit 12), truncate.
  return (u + 0x1000u) & 0xffffe000u;
}

uint32_t cvt_rn_bf16x2(float a, float b) { return ((uint32_t)bf16_rn(a) << 16) | bf16_rn(b); }

uint32_t cvt_rn_f16x2(float a, float b) { return ((uint32_t)f16_rn(a) << 16) | f16_rn(b); }

void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], const uint32_t b[2], const std::source_location& loc) {
  MmaPayload p{d, a, b};
  detail::warp_collective("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32", 0xffffffffu, &p, &mma_op<8>,
                          nullptr, loc);
}

void mma_m16n8k16_bf16(float d[4], const uint32_t a[4], const uint32_t b[2], const std::source_location& loc) {
  MmaPayload p{d, a, b};
  detail::warp_collective("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32", 0xffffffffu, &p, &mma_op<16>,
                          nullptr, loc);
}

void mma_m16n8k16_f16(float d[4], const uint32_t a[4], const uint32_t b[2], const std::source_location& loc) {
  MmaPayload p{d, a, b};
  detail::warp_collective("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", 0xffffffffu, &p,
                          &mma_op<16, true>, nullptr, loc);
}

}  // namespace ptx

}  // namespace simt

// ---- Runtime API ------------------------------------------------------------------------------
cudaError_t cudaGetLastError() {
  const cudaError_t e = simt::detail::t_error;
  simt::detail::t_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return simt::detail::t_error; }
const char* cudaGetErrorString(cudaError_t err) {
  if (err == cudaSuccess) return "no error";
  static thread_local std::string text;
  text = simt::detail::t_error_text.empty() ? std::string("simt error ") + std::to_string((int)err)
                                            : simt::detail::t_error_text;
  return text.c_str();
}
cudaError_t cudaDeviceSynchronize() { return simt::detail::t_error; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return simt::detail::t_error; }
cudaError_t cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) {
  if (simt::capturing()) {  // recorded, run at replay (graph.h)
    if (bytes) simt::capture::record([=] { std::memset(p, value, bytes); });
    return cudaSuccess;
  }
  if (bytes) std::memset(p, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemset(void* p, int value, size_t bytes) { return cudaMemsetAsync(p, value, bytes, nullptr); }
