// Cooperative fibers for the SIMT interpreter: a stack per CUDA thread and a context switch
// that saves only the callee-saved registers (x86-64: a dozen instructions; other targets
// fall back to ucontext). Switching happens only where a fiber asks for it.
#pragma once
#include <cstddef>
#include <vector>

namespace simt::detail {

// A fixed-size stack with a PROT_NONE guard page below it (an overflow faults instead of
// corrupting the next stack).
class FiberStack {
 public:
  explicit FiberStack(size_t bytes);
  ~FiberStack();
  FiberStack(const FiberStack&) = delete;
  FiberStack& operator=(const FiberStack&) = delete;
  char* top() const { return base_ + bytes_; }
  char* bottom() const { return base_; }
  size_t size() const { return bytes_; }

 private:
  char* map_ = nullptr;
  char* base_ = nullptr;
  size_t bytes_ = 0, map_bytes_ = 0;
};

// The saved state of a suspended context (a fiber or the scheduler).
struct FiberContext {
  void* sp = nullptr;    // x86-64: the saved stack pointer
  void* uctx = nullptr;  // other targets: a ucontext_t
  // AddressSanitizer's view of the stack (builds with -fsanitize=address): its bounds (the
  // scheduler's are learnt when a fiber first runs) and ASan's fake-stack handle.
  const void* stack_bottom = nullptr;
  size_t stack_size = 0;
  void* fake_stack = nullptr;
};

// Prepares `ctx` so that switching to it runs entry(arg) on `stack`. entry must never
// return: it ends by switching away for good.
void fiber_init(FiberContext& ctx, FiberStack& stack, void (*entry)(void*), void* arg);
// Saves the running context into `from` and resumes `to`. `from_ends`: `from` is never
// resumed (a finished fiber).
void fiber_switch(FiberContext& from, FiberContext& to, bool from_ends = false);
// The first thing a new fiber runs: completes the switch into it (ASan bookkeeping) and
// learns the bounds of the context that started it.
void fiber_started(FiberContext& from);
void fiber_release(FiberContext& ctx);

}  // namespace simt::detail
