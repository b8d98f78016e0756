// The host round-trip counter (see host_round_trips.h): the sum of the two runtimes' counters.
#include "engine/host_round_trips.h"

#include "engine/cuda_runtime.h"
#include "engine/dispatch.h"  // sr::simt's declarations in a build with the interpreter

namespace sr {

uint64_t host_round_trips() {
  uint64_t n = 0;
#if defined(SRENGINE_WITH_CUDA)
  n += cuda::host_wait_count();
#endif
#if defined(SRENGINE_WITH_SIMT)
  n += simt::host_wait_count();
#endif
  return n;
}

}  // namespace sr
