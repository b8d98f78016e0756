// The SIMT interpreter's host-side controls (plain C++, for the tests and the runtime):
// device memory, the schedule, counters.
//
// Device memory (runtime.cpp) is host memory with guard zones and poison. Every allocation
// is 256-byte aligned like cudaMalloc's, starts out as all-ones bytes (NaN as float and
// double, -1 as an integer), and sits between guard zones of NaN words, themselves between
// inaccessible pages. After every launch the interpreter checks the guards of every live
// allocation, so a kernel that writes just past either end of a buffer fails its launch;
// reads there see NaN, which the tests' comparisons catch; accesses further away fault, and
// the interpreter's SIGSEGV handler names the CUDA thread before the process dies.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace simt {

void* device_alloc(size_t bytes);
void device_free(void* p);
// "" when every guard is intact, else a description of the first damaged allocation.
std::string check_device_memory();
// Bytes and count of the live allocations (tests check that scratch buffers are freed).
size_t device_bytes_in_use();
size_t device_allocations();

// The schedule: seed 0 runs blocks, warps and lanes in index order; any other seed shuffles
// the block order, the warp order and the lane order within each warp (SRENGINE_SIMT_SEED
// sets the initial value). Within a block a warp runs until all its lanes wait (barrier,
// warp collective) or have returned before the next warp runs, so a missing barrier shows
// as poisoned or stale shared memory.
void set_schedule_seed(uint64_t seed);
uint64_t schedule_seed();

// The shared-memory race checker (kernels/simt/racecheck.h): on unless SRENGINE_SIMT_RACECHECK=0
// or switched off here. racecheck() is true when it is on and the kernels were built with
// its instrumentation (CMake's SRENGINE_SIMT_RACECHECK; not in the ASan build).
void set_racecheck(bool on);
bool racecheck();

// The kernels launched so far in this process, by their demangled names (from the
// executable's symbol table; "kernel at 0x..." when it has none), and the name of one.
std::vector<std::string> launched_kernels();
std::string kernel_name(const void* kernel);

// Counters: launches, blocks and threads run, fiber switches (this OS thread).
struct Stats {
  uint64_t launches = 0, blocks = 0, threads = 0, switches = 0;
};
Stats stats();

}  // namespace simt
