// mbarrier and cp.async.bulk.tensor as the SIMT interpreter runs them (PTX ISA, "Parallel
// Synchronization and Communication Instructions: mbarrier" and "Data Movement and
// Conversion Instructions: cp.async.bulk.tensor"; docs/SIMT.md).
//
// An mbarrier object (8 bytes of shared memory) has a current phase, an expected arrival
// count (mbarrier.init), the arrivals still pending in the phase and a transaction count
// (tx-count): arrive.expect_tx raises it by the bytes announced, each bulk copy's
// complete_tx lowers it by the bytes it delivers. The phase completes when no arrival is
// pending and tx-count is zero; the next phase then starts with the expected count again.
// mbarrier.try_wait.parity p waits for the completion of the phase of parity p: it returns
// at once when the current phase's parity differs from p (the phase of parity p is the one
// just completed), else the thread's fiber blocks until the phase completes.
//
// The interpreter keeps each block's mbarriers in a table keyed by address (the 8 bytes of
// shared memory are not read or written). A bulk tensor copy reads global memory when it is
// issued but stays in flight until a thread waits on its barrier's unfinished phase: the
// wait completes its transactions (tx-count -= its bytes), the latest moment a correct
// program can rely on, and its bytes land in shared memory only when that phase completes.
// Until then the destination keeps its old content (the NaN poison of a fresh block). So a
// stage read before its wait, a wait on the wrong parity (it returns at once, the bytes have
// not landed) and a copy no expect_tx announced (the phase completes on the arrivals alone,
// without the bytes) all read poison; a phase whose announced bytes never come never
// completes, and the block is reported stuck, naming the barrier and its counts.
// The landing write is the async proxy's, not a thread's: the race checker does not see it
// (the mbarrier is its ordering).
#pragma once
#include <cstdint>
#include <map>
#include <source_location>
#include <string>
#include <vector>

namespace simt::detail {

struct Mbarrier {
  uint32_t expected = 0;  // arrivals per phase (mbarrier.init's count)
  uint32_t pending = 0;   // arrivals still missing in the current phase
  int64_t tx = 0;         // the current phase's transaction count (may be negative for a while)
  uint64_t phase = 0;     // phases completed so far (the current phase's parity is phase & 1)
  struct Landing {
    char* dst;
    std::vector<char> bytes;
  };
  std::vector<Landing> in_flight;  // bulk copies issued, transactions not yet completed
  std::vector<Landing> landing;    // bulk copies of the current phase, written when it completes
};

// The running block's mbarriers (interpreter.cpp clears the table for every block).
class MbarrierTable {
 public:
  void clear() { bars_.clear(); }
  void init(const void* addr, uint32_t count);
  // The initialised barrier at addr; a device fault when mbarrier.init never ran on it.
  Mbarrier& at(const void* addr, const char* op, const std::source_location& loc);
  // An arrival (count 1) and/or a change of tx-count, then the phase completes if it can.
  // Returns the state token: the phase the arrival belongs to.
  uint64_t update(const void* addr, Mbarrier& b, uint32_t arrivals, int64_t tx_delta);
  // A wait on an unfinished phase: the copies in flight complete their transactions.
  void deliver(const void* addr, Mbarrier& b);
  // What a stuck waiter waits for ("phase 3, 1 of 2 arrivals pending, tx-count 4096").
  std::string describe(const void* addr) const;

 private:
  std::map<const void*, Mbarrier> bars_;
};

// Interpreter hooks (interpreter.cpp): the table of the running block, blocking the running
// thread on a barrier until the phase of `parity` completes, waking a barrier's waiters.
MbarrierTable& mbarriers();
void mbarrier_block(const void* addr, uint32_t parity, const std::source_location& loc);
void mbarrier_wake(const void* addr);

}  // namespace simt::detail
