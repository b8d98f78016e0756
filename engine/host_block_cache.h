// Large host blocks, mapped once and reused.
//
// A network's forward allocates one activation per layer and frees the one before it, so a
// large image allocates and frees blocks of the same few sizes hundreds of times. Blocks
// above glibc's mmap threshold (32 MB at most) are fresh mappings on every malloc: each use
// page-faults and zeroes the whole block again, 4 KiB at a time. At 384x384 with 64
// channels (38 MB activations) that made SRVGGNetCompact's forward 3x slower per pixel than
// at 256x256, most of it in the kernel's page-fault handler (docs/PERFORMANCE.md).
//
// So blocks of at least kMinBytes are
//   - sized in classes (a multiple of 1/8 of the request's power of two, at most 12.5% over)
//     so that the next layer's request finds the block the last one freed;
//   - mapped 2 MiB-aligned with MADV_HUGEPAGE, so the first touch faults 512x fewer pages
//     and the conv kernels' strided channel-plane reads miss the TLB less;
//   - kept when freed, up to a cap (SRENGINE_HOST_CACHE_MB, default: the peak of live host
//     bytes so far, so the cache at most doubles the program's largest footprint; 0 turns
//     the cache off), and unmapped past it, largest first.
// Smaller blocks go to aligned_alloc as before: glibc's own free lists serve them.
#pragma once
#include <cstddef>

namespace sr::host_cache {

constexpr size_t kMinBytes = size_t{4} << 20;

// The class a request of `bytes` (>= kMinBytes) is served from.
size_t block_bytes(size_t bytes);

// A block of at least `bytes` bytes (>= kMinBytes), 2 MiB-aligned; nullptr when out of memory.
// Its contents are whatever the last user left (or zeros when freshly mapped), unless
// poisoning is on.
void* acquire(size_t bytes);
// Returns a block from acquire(bytes) (the same `bytes`).
void release(void* p, size_t bytes);

// Unmaps every cached block (tests; a long-lived process that wants its memory back).
void trim();

struct Stats {
  size_t cached_bytes = 0;  // held in the cache, not in use
  size_t hits = 0, misses = 0;
};
Stats stats();

// Tests: fill reused blocks with NaN bit patterns (0xFF bytes), so that code which reads an
// activation before writing it fails instead of seeing a fresh mapping's zeros.
void set_poison(bool on);

// Cap in bytes; SIZE_MAX restores the default (peak live host bytes, or the environment's).
void set_cap(size_t bytes);

}  // namespace sr::host_cache
