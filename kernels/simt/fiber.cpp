// Fibers for the SIMT interpreter (see fiber.h).
#include "kernels/simt/fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <new>

#include "engine/error.h"

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define SIMT_ASAN 1
#endif

namespace simt::detail {

namespace {
// AddressSanitizer must be told about every stack switch, or it mistakes the fibers' frames
// for overflows of the scheduler's stack.
void asan_before_switch(FiberContext& from, const FiberContext& to, bool from_ends) {
#if defined(SIMT_ASAN)
  __sanitizer_start_switch_fiber(from_ends ? nullptr : &from.fake_stack, to.stack_bottom, to.stack_size);
#else
  (void)from, (void)to, (void)from_ends;
#endif
}
void asan_after_switch(FiberContext& self) {
#if defined(SIMT_ASAN)
  __sanitizer_finish_switch_fiber(self.fake_stack, nullptr, nullptr);
#else
  (void)self;
#endif
}
}  // namespace

void fiber_started(FiberContext& from) {
#if defined(SIMT_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &from.stack_bottom, &from.stack_size);
#else
  (void)from;
#endif
}

FiberStack::FiberStack(size_t bytes) {
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  bytes_ = (bytes + page - 1) / page * page;
  map_bytes_ = bytes_ + page;
  void* p = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) sr::fail("simt: cannot map a fiber stack of ", map_bytes_, " bytes");
  map_ = static_cast<char*>(p);
  if (mprotect(map_, page, PROT_NONE) != 0) sr::fail("simt: cannot protect a fiber stack's guard page");
  base_ = map_ + page;
}

FiberStack::~FiberStack() {
  if (map_) munmap(map_, map_bytes_);
}

#if defined(__x86_64__)

// simt_fiber_switch(void** save_sp, void* new_sp): pushes the callee-saved registers and the
// x87/SSE control words, stores rsp into *save_sp, loads new_sp and pops the same frame.
// simt_fiber_start: the first "return address" of a new fiber; calls r13(r12).
extern "C" void simt_fiber_switch(void** save_sp, void* new_sp);
extern "C" void simt_fiber_start();
asm(R"(
  .pushsection .text
  .globl simt_fiber_switch
  .hidden simt_fiber_switch
  .type simt_fiber_switch, @function
simt_fiber_switch:
  .cfi_startproc
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  stmxcsr 8(%rsp)
  fnstcw (%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr 8(%rsp)
  fldcw (%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .cfi_endproc
  .size simt_fiber_switch, .-simt_fiber_switch

  .globl simt_fiber_start
  .hidden simt_fiber_start
  .type simt_fiber_start, @function
simt_fiber_start:
  .cfi_startproc
  .cfi_undefined rip
  movq %r12, %rdi
  callq *%r13
  ud2
  .cfi_endproc
  .size simt_fiber_start, .-simt_fiber_start
  .popsection
)");

void fiber_init(FiberContext& ctx, FiberStack& stack, void (*entry)(void*), void* arg) {
#if defined(SIMT_ASAN)
  __asan_unpoison_memory_region(stack.bottom(), stack.size());  // frames of an abandoned fiber
#endif
  // The frame simt_fiber_switch pops, from the lowest address: control words (16 bytes),
  // r15, r14, r13 = entry, r12 = arg, rbx, rbp, return address = simt_fiber_start. After
  // the `ret`, rsp must be 16-byte aligned (the call in simt_fiber_start pushes 8 more).
  auto top = reinterpret_cast<uintptr_t>(stack.top()) & ~uintptr_t{15};
  auto* sp = reinterpret_cast<uint64_t*>(top - 88);
  uint32_t mxcsr;
  uint16_t fpucw;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpucw));
  sp[0] = fpucw;
  sp[1] = mxcsr;
  sp[2] = 0;                                       // r15
  sp[3] = 0;                                       // r14
  sp[4] = reinterpret_cast<uint64_t>(entry);       // r13
  sp[5] = reinterpret_cast<uint64_t>(arg);         // r12
  sp[6] = 0;                                       // rbx
  sp[7] = 0;                                       // rbp
  sp[8] = reinterpret_cast<uint64_t>(&simt_fiber_start);
  sp[9] = 0;
  sp[10] = 0;
  ctx.sp = sp;
  ctx.stack_bottom = stack.bottom();
  ctx.stack_size = stack.size();
  ctx.fake_stack = nullptr;
}

void fiber_switch(FiberContext& from, FiberContext& to, bool from_ends) {
  asan_before_switch(from, to, from_ends);
  simt_fiber_switch(&from.sp, to.sp);
  asan_after_switch(from);
}

void fiber_release(FiberContext&) {}

#else  // ucontext fallback

namespace {
struct Start {
  void (*entry)(void*);
  void* arg;
};
void ucontext_entry(unsigned lo, unsigned hi) {
  auto* s = reinterpret_cast<Start*>((uintptr_t)lo | ((uintptr_t)hi << 32));
  s->entry(s->arg);
}
}  // namespace

void fiber_init(FiberContext& ctx, FiberStack& stack, void (*entry)(void*), void* arg) {
#if defined(SIMT_ASAN)
  __asan_unpoison_memory_region(stack.bottom(), stack.size());  // frames of an abandoned fiber
#endif
  if (!ctx.uctx) ctx.uctx = new ucontext_t;
  auto* uc = static_cast<ucontext_t*>(ctx.uctx);
  getcontext(uc);
  uc->uc_stack.ss_sp = stack.bottom() + 2 * sizeof(Start);
  uc->uc_stack.ss_size = stack.size() - 2 * sizeof(Start);
  uc->uc_link = nullptr;
  auto* s = reinterpret_cast<Start*>(stack.bottom());
  s->entry = entry;
  s->arg = arg;
  const auto p = reinterpret_cast<uintptr_t>(s);
  makecontext(uc, (void (*)())ucontext_entry, 2, (unsigned)(p & 0xffffffffu), (unsigned)(p >> 32));
  ctx.stack_bottom = stack.bottom();
  ctx.stack_size = stack.size();
  ctx.fake_stack = nullptr;
}

void fiber_switch(FiberContext& from, FiberContext& to, bool from_ends) {
  if (!from.uctx) from.uctx = new ucontext_t;
  asan_before_switch(from, to, from_ends);
  swapcontext(static_cast<ucontext_t*>(from.uctx), static_cast<ucontext_t*>(to.uctx));
  asan_after_switch(from);
}

void fiber_release(FiberContext& ctx) {
  delete static_cast<ucontext_t*>(ctx.uctx);
  ctx.uctx = nullptr;
}

#endif

}  // namespace simt::detail
