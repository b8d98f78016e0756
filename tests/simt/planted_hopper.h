// Small kernels for the interpreter's sm_90 semantics (tests/test_simt_interpreter_hopper.cpp):
// mbarrier phases, tiled bulk tensor copies (TMA) and wgmma.mma_async, each correct and with
// planted misuses the tests must catch. Compiled only for the interpreter, like planted.cu;
// every entry point launches once and throws sr::Error when the launch check fails.
#pragma once
#include <cstdint>

#include "kernels/simt/ptx.h"

namespace sr::simt_planted {

// One block of 128 threads and one mbarrier in shared memory, three rounds. Round r: every
// thread adds 1 to counts[r] (an atomic on device memory), arrives, waits for the phase of
// parity r % 2, then stores seen[128 r + t] = counts[r] (so 128 everywhere when the wait
// blocked until all arrivals were in):
//   mode 0: as described, mbarrier.init count 128           (correct)
//   mode 1: waits for parity (r + 1) % 2                     (planted: the wrong parity)
//   mode 2: thread 0 announces 64 bytes by arrive.expect_tx that no copy completes (planted:
//           the phase never completes; the launch fails, the block stuck at the wait)
//   mode 3: no mbarrier.init                                 (planted: reported)
//   mode 4: mbarrier.init count 96, 128 arrivals             (planted: phases complete early)
void mbarrier_rounds(int mode, unsigned* counts, unsigned* seen);

// One tiled tensor copy of *map's box at coords (rank = map->rank) into the first 1024-byte
// aligned byte of dynamic shared memory, completing on an mbarrier; then 32 threads copy the box's bytes
// (map box bytes, at most 16 KiB) to out:
//   mode 0: thread 0 arrive.expect_tx(box bytes), the copy, everyone waits parity 0  (correct)
//   mode 1: out read before the wait (waited on after a __syncthreads)    (planted: poison)
//   mode 2: the copy, then a plain arrive with no expect_tx            (planted: poison)
//   mode 3: the wait on parity 1                                       (planted: poison)
void tma_tile(const ::simt::TensorMap& map, const int32_t* coords, int mode, uint16_t* out);

// One warpgroup's D = A * B by wgmma.mma_async m64nNk16, K = 64 in four chained k-steps:
// a[64 x 64] and b[n x 64] (bf16 bits, row-major [row][k]) are stored in dynamic shared
// memory in the K-major layout `swizzle128` (128B swizzle: 128-byte rows, chunk (k/8) XOR
// row%8) or else the interleaved core-matrix layout (no swizzle: 8 x 16-byte core matrices,
// LBO 128, SBO 1024); then out[64 x n] (row-major) from the accumulators' fragments:
//   mode 0: fence, 4 x wgmma, commit, wait_group 0, store              (correct)
//   mode 1: the store before wait_group 0                              (planted: NaN)
//   mode 2: no wgmma.fence before the first wgmma                      (planted: reported)
//   mode 3: the descriptors name the other layout than the data's      (planted: wrong values)
void wgmma_tile(const uint16_t* a, const uint16_t* b, int n, bool swizzle128, int mode, float* out);

// The same product from MN-major operands (imm-trans 1): a and b as above, stored with
// element (i, k) in line k of `span` bytes (128: the 128B swizzle, LBO 8 KiB, SBO 1 KiB; 64:
// the 64B swizzle, two column blocks of 32 along M or N, LBO 4 KiB, SBO 512), then out[64 x n]:
//   trans 1: wgmma with imm-trans-a = imm-trans-b = 1                  (correct)
//   trans 0: the same descriptors with imm-trans 0                     (planted: wrong values)
void wgmma_mn_tile(const uint16_t* a, const uint16_t* b, int n, int span, bool trans, float* out);

}  // namespace sr::simt_planted
