// The SIMT interpreter's shared-memory race checker (racecheck.cpp, docs/SIMT.md).
//
// How it sees accesses: the kernel units (kernels/cuda/*.cu and the tests' interpreted
// kernels) are compiled with GCC's thread-sanitizer instrumentation, which calls
// __tsan_read4(addr), __tsan_write_range(addr, n), ... before every load and store the
// compiler cannot prove thread-local. srengine does not link ThreadSanitizer's runtime:
// racecheck.cpp defines those entry points itself, and ignores every access except those
// of a running CUDA thread to shared memory (the SR_SHARED arena and dynamic shared memory).
//
// What it reports, per barrier interval: two accesses to the same byte of shared memory by
// two threads of a block, at least one a write, with no __syncthreads between them (the
// interval is the same) and no warp collective of their warp between them when both threads
// are lanes of one warp. The first race of a block fails the launch, naming the array, the
// byte, both threads, both accesses' code addresses and the kernel. Atomics are exempt (they
// are the sanctioned way to share a word without a barrier).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace simt::detail::race {

// The shared memory of the block about to run: the arena's used part and the dynamic bytes.
// Called again when the arena grows (a site's first use).
void set_regions(char* arena, size_t arena_bytes, char* dynamic, size_t dynamic_bytes);
// A new block (every thread in interval 0 of a new epoch, every warp's collective count 0).
void begin_block(int nwarps);
// Every thread of the block passed a __syncthreads: a new interval.
void barrier();
// The lanes of `warp` completed a warp collective (shuffle, vote, __syncwarp, mma.sync):
// their accesses before it are ordered before their accesses after it.
void warp_synced(int warp);
// An access the interpreter makes for the running CUDA thread (the PTX instructions that
// touch shared memory from uninstrumented code: ldmatrix's reads, a retired cp.async's
// write); pc names the kernel's instruction.
void record(const void* p, size_t n, bool write, const void* pc);
// Whether p lies in the running block's shared memory (the arena or the dynamic bytes).
bool is_shared(const void* p);
// Whether a race was found in the running block (cheaper than take_report's copy).
bool has_report();
// The first race found in the running block, or "" (the report is cleared).
std::string take_report();

// Provided by interpreter.cpp for the report: what a shared byte is ("As (declared at
// file:line), byte 64" or "dynamic shared memory, byte 64"), which thread a linear index
// of the running block is, and where a code address is ("function+0x1c").
std::string shared_byte_name(const char* p);
std::string thread_of(int linear);
std::string code_at(const void* pc);

}  // namespace simt::detail::race
