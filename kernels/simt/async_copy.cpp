// The interpreter's cp.async queues (async_copy.h) and the PTX entry points that use them.
#include "kernels/simt/async_copy.h"

#include <algorithm>
#include <cstring>

#include "engine/error.h"
#include "kernels/simt/ptx.h"
#include "kernels/simt/racecheck.h"
#include "kernels/simt/simt.h"

namespace simt {

namespace detail {

void AsyncCopies::issue(void* dst, const void* src, int src_size, const void* pc) {
  Copy c{dst, {}, kOpen, pc};
  std::memset(c.bytes, 0, sizeof c.bytes);
  if (src_size > 0) std::memcpy(c.bytes, src, (size_t)src_size);
  pending_.push_back(c);
}

void AsyncCopies::commit() {
  for (Copy& c : pending_)
    if (c.group == kOpen) c.group = committed_;
  ++committed_;
}

void AsyncCopies::wait(int n) {
  // Groups 0 .. committed_-1 exist; all but the newest n must be complete.
  const int64_t keep_from = (int64_t)committed_ - n;
  std::vector<Copy> rest;
  for (const Copy& c : pending_) {
    if (c.group != kOpen && (int64_t)c.group < keep_from)
      retire(c);
    else
      rest.push_back(c);
  }
  pending_.swap(rest);
}

void AsyncCopies::retire_all() {
  for (const Copy& c : pending_) retire(c);
  pending_.clear();
}

void AsyncCopies::retire(const Copy& c) {
  race::record(c.dst, 16, /*write=*/true, c.pc);
  std::memcpy(c.dst, c.bytes, 16);
}

}  // namespace detail

namespace ptx {

void cp_async_cg_16(void* dst, const void* src, int src_size, const std::source_location& loc) {
  if (reinterpret_cast<uintptr_t>(dst) % 16 || (src_size > 0 && reinterpret_cast<uintptr_t>(src) % 16))
    detail::device_fail("cp.async.cg.shared.global with an address not aligned to its 16 bytes", loc);
  if (src_size < 0 || src_size > 16)
    detail::device_fail("cp.async.cg.shared.global with src-size outside 0..16", loc);
  if (!detail::race::is_shared(dst))
    detail::device_fail("cp.async.cg.shared.global with a destination outside shared memory", loc);
  detail::async_copies().issue(dst, src, src_size, __builtin_return_address(0));
}

void cp_async_commit_group() { detail::async_copies().commit(); }

void cp_async_wait_group(int n, const std::source_location& loc) {
  if (n < 0) detail::device_fail("cp.async.wait_group with a negative count", loc);
  detail::async_copies().wait(n);
}

}  // namespace ptx

}  // namespace simt
