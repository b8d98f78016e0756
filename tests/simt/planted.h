// Small CUDA kernels for the SIMT interpreter's own tests (tests/test_simt_interpreter.cpp):
// correct ones whose results are known (barriers, shuffles, votes, atomics, the mma.sync
// fragments) and planted bugs the interpreter must report (a missing or divergent barrier,
// a lane missing from a shuffle, out-of-bounds shared and global writes). The kernels are
// in tests/simt/planted.cu, compiled only for the interpreter. Pointers are the
// interpreter's device memory (kernels/simt/device.h); every entry point launches once and
// throws sr::Error when the launch check fails, as the real kernels' launchers do.
#pragma once
#include <cstdint>

namespace sr::simt_planted {

// out[i] = sum of in[0..n) for every block's thread 0 (n <= 256): a shared-memory tree
// reduction with a barrier per level (correct), or without them (`missing_barrier`).
void block_reduce(const float* in, int n, float* out, bool missing_barrier);

// One warp swaps values through shared memory: s[lane] = lane, then out[lane] = s[31 - lane],
// with a __syncwarp between the store and the load (correct) or without (a race).
void warp_exchange(bool syncwarp, float* out);

// The race checker's test: one block of `threads` threads runs a script of shared-memory
// accesses into a 16-byte-aligned array of kRaceScriptBytes bytes. Thread t's accesses of
// phase p (phases end with __syncthreads) and step q (steps of a phase are separated by
// __syncwarp) are ops[((t * phases + p) * steps + q) * per_step + a] for a < per_step, each
// -1 (none) or offset | log2(size) << 8 | write << 11, size 1, 2, 4, 8 or 16 bytes at any
// offset (unaligned ones too). out[t]: a sum of what thread t read.
constexpr int kRaceScriptBytes = 64;
void race_script(const int* ops, int threads, int phases, int steps, int per_step, uint32_t* out);

// out[lane] for one warp of 32 lanes, v = lane * 10 + 1:
//   mode 0: __shfl_down_sync(v, 3)   1: __shfl_up_sync(v, 2)   2: __shfl_xor_sync(v, 5)
//   3: __shfl_sync(v, 31 - lane)     4: __shfl_sync(v, 7, width 8)   5: __ballot_sync(lane % 3 == 0)
//   6: __any_sync(lane == 17) * 100 + __all_sync(lane < 32) * 10 + __all_sync(lane < 31)
void warp_ops(int mode, uint32_t* out);

// Planted faults, each one launch the interpreter must fail:
//   0: __syncthreads inside `if (threadIdx.x < 16)` (divergent barrier)
//   1: threads >= 64 return, the rest reach __syncthreads (a barrier some threads never reach)
//   2: lane 31 returns before a full-mask __shfl_down_sync
//   3: half a warp calls __shfl_sync, the other half __ballot_sync
//   4: a 64-float shared array written at threadIdx.x by 128 threads (shared out of bounds)
//   5: out[threadIdx.x + 1] written into an out of n = blockDim.x floats (global out of bounds)
//   6: a barrier in a loop whose trip count depends on the thread
void planted_fault(int which, float* out);

// out[i] += 1 for i < n by n * 4 threads of 8 blocks with atomicAdd (float) and a counter.
void atomics(float* out, int n, unsigned* counter);

// One warp's mma.sync through kernels/cuda/ptx.h (the kernels' wrappers): per lane the
// fragment registers a[lane][4], b[lane][2] and accumulators d[lane][4] (in and out).
void mma_tf32(const uint32_t* a, const uint32_t* b, float* d);
void mma_bf16(const uint32_t* a, const uint32_t* b, float* d);

// One warp's ldmatrix.sync...m8n8.x4 (trans: .x4.trans) through kernels/cuda/ptx.h: lane l
// stores in[8l .. 8l+7] (bf16 bit patterns) as row l%8 of matrix l/8 in shared memory and
// gives that row's address; out[4l + j] is lane l's register j.
void ldmatrix_x4(const uint16_t* in, bool trans, uint32_t* out);

// cp.async.cg (16 bytes) through kernels/cuda/ptx.h by one warp, into a shared float[256]:
// lane l copies src[4l .. 4l+3] to s[4l ..] with src-size 16, 8 or 0 for l % 3 = 0, 1, 2
// (the rest zero-filled) as group 0, and src[128 + 4l ..] to s[128 + 4l ..] (src-size 16) as
// group 1; then out[i] = s[(i + 4) % 256] (a neighbour's copy) after
//   mode 0: wait_group 0 + __syncthreads      (correct: every copy landed)
//   mode 1: wait_group 1 + __syncthreads      (group 0 landed, group 1 still pending)
//   mode 2: __syncthreads, no wait            (planted: reads before the wait: poison)
//   mode 3: wait_group 0, no __syncthreads    (planted: a race with the neighbour's copy)
// (modes 0-2 end with a __syncthreads, so copies still pending land after every read)
void cp_async(const float* src, int mode, float* out);

}  // namespace sr::simt_planted
