// The PTX instructions behind kernels/cuda/ptx.h's named wrappers, as the SIMT interpreter
// runs them: per-thread conversions, and mma.sync as a warp-collective operation that
// gathers the 32 lanes' fragments with the PTX ISA layouts ("Matrix Fragments for
// mma.m16n8k8" .tf32 and "mma.m16n8k16" .bf16), multiplies, and scatters the results.
// Written from the ISA tables, independently of kernels/cuda/igemm.h's fragment code.
#pragma once
#include <cstdint>
#include <source_location>

namespace simt::ptx {

// cvt.rna.tf32.f32 d, a: a rounded to TF32 (8-bit exponent, 10-bit mantissa), to nearest
// with ties away from zero; the .b32 result holds the TF32 value (low 13 bits zero).
// NaN and infinity pass unchanged; a finite value that rounds past the largest TF32 becomes
// infinity (no .satfinite).
uint32_t cvt_rna_tf32(float a);

// cvt.rn.bf16x2.f32 d, a, b: a to bf16 in the upper half of d, b in the lower half, both
// round to nearest even; NaN becomes the canonical quiet NaN 0x7fff.
uint32_t cvt_rn_bf16x2(float a, float b);

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {d}, {a}, {b}, {d} for the calling
// lane; all 32 lanes of the warp must call it (else the interpreter reports the lanes
// missing). TF32 operands use the upper 19 bits of each register (the rest is ignored, as
// the tensor core ignores it). Each d element is c + sum_k a*b with exact products summed
// in double and rounded once to float (the hardware's own accumulation order is not
// specified by the ISA; the parity tolerances cover the difference).
void mma_m16n8k8_tf32(float d[4], const uint32_t a[4], const uint32_t b[2],
                      const std::source_location& loc = std::source_location::current());
// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32: the same for bf16x2 registers
// (lower half = lower k index).
void mma_m16n8k16_bf16(float d[4], const uint32_t a[4], const uint32_t b[2],
                       const std::source_location& loc = std::source_location::current());

// ldmatrix.sync.aligned.m8n8.x4.shared.b16 {r0..r3}, [addr] (trans: .trans): a warp
// collective. Lane 8j+i gives the address of row i of matrix j (16 bytes: eight b16); each
// lane reads its own row (a read of the calling thread for the race checker). Lane l then
// receives in r[j] the 32-bit word of matrix j's row l/4, elements 2*(l%4) (low half) and
// 2*(l%4)+1 (high half); with .trans, elements (row 2*(l%4), column l/4) and
// (row 2*(l%4)+1, column l/4) of matrix j, i.e. the same fragment of the transpose.
// Addresses must be 16-byte aligned and in shared memory.
void ldmatrix_x4(uint32_t r[4], const void* row_addr, bool trans,
                 const std::source_location& loc = std::source_location::current());

// cp.async.cg.shared.global [dst], [src], 16, src_size: a 16-byte asynchronous copy from
// global to shared memory, the bytes past src_size zero (src_size 0: a zero fill that reads
// nothing). Pending until cp.async.wait_group retires its group (async_copy.h).
void cp_async_cg_16(void* dst, const void* src, int src_size,
                    const std::source_location& loc = std::source_location::current());
// cp.async.commit_group: the thread's copies issued since the last commit become a group.
void cp_async_commit_group();
// cp.async.wait_group n: waits until at most the n newest groups of the thread are pending.
void cp_async_wait_group(int n, const std::source_location& loc = std::source_location::current());

}  // namespace simt::ptx
