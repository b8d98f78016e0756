// cp.async as the SIMT interpreter runs it (PTX ISA, "Data Movement and Conversion
// Instructions: cp.async", "cp.async.commit_group", "cp.async.wait_group"): each CUDA thread
// keeps its own queue of pending copies. A copy reads its global source when issued (the
// source must not change while the copy is in flight, so the value is the same) but writes
// shared memory only when it is retired: by cp.async.wait_group N for every group older than
// the newest N committed groups, or when the thread exits. Until then the destination keeps
// its old content (the NaN poison of a fresh block), so a stage read before its wait shows
// as poison or stale data, as on a GPU it would be a race with the copy engine.
// The retiring write is the issuing thread's write for the race checker (racecheck.h).
#pragma once
#include <cstdint>
#include <vector>

namespace simt::detail {

class AsyncCopies {
 public:
  // cp.async.cg.shared.global [dst], [src], 16, src_size: src_size bytes from src, the rest
  // of the 16 zero (src is not read when src_size is 0). pc: the issuing instruction.
  void issue(void* dst, const void* src, int src_size, const void* pc);
  // cp.async.commit_group: the copies issued since the last commit form one group (an
  // empty group is allowed and counts).
  void commit();
  // cp.async.wait_group n: retire every committed group but the newest n. Copies not yet
  // committed are not waited for (as the ISA says).
  void wait(int n);
  // At thread exit: everything still pending lands.
  void retire_all();
  bool empty() const { return pending_.empty(); }

 private:
  struct Copy {
    void* dst;
    uint8_t bytes[16];
    uint32_t group;  // kOpen until committed
    const void* pc;
  };
  static constexpr uint32_t kOpen = ~0u;
  void retire(const Copy& c);
  std::vector<Copy> pending_;
  uint32_t committed_ = 0;  // groups committed so far (the next group's number)
};

// The running CUDA thread's queue (interpreter.cpp).
AsyncCopies& async_copies();

}  // namespace simt::detail
