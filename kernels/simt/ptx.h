// The PTX instructions behind kernels/cuda/ptx.h's named wrappers, as the SIMT interpreter
// runs them: per-thread conversions, and mma.sync as a warp-collective operation that
// gathers the 32 lanes' fragments with the PTX ISA layouts ("Matrix Fragments for
// mma.m16n8k8" .tf32 and "mma.m16n8k16" .bf16), multiplies, and scatters the results.
// Written from the ISA tables, independently of kernels/cuda/igemm.h's fragment code.
#pragma once
#include <cstdint>
#include <source_location>
#include <string>

namespace simt {

// A tiled tensor map: the fields of a CUtensorMap that cp.async.bulk.tensor's tile mode reads
// (cuTensorMapEncodeTiled's parameters). Dimension 0 is the innermost (contiguous) one.
enum class TensorMapSwizzle : uint8_t { none = 0, b32 = 1, b64 = 2, b128 = 3 };  // CU_TENSOR_MAP_SWIZZLE_*
struct TensorMap {
  const void* global = nullptr;
  uint32_t rank = 0, elem_bytes = 0;
  uint64_t dims[5] = {};
  uint64_t strides[5] = {};  // bytes between consecutive indices of each dimension; strides[0] = elem_bytes
  uint32_t box[5] = {};
  uint32_t elem_strides[5] = {};
  TensorMapSwizzle swizzle = TensorMapSwizzle::none;
  bool oob_nan = false;  // CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA; else zeros
};
// cuTensorMapEncodeTiled for the interpreter: fills *map after the driver's documented
// checks (rank 1..5; global address 16-byte aligned; dims 1..2^32; the rank-1 strides of
// dimensions 1.. multiples of 16 below 2^40; box 1..256 per dimension, its inner row a
// multiple of 16 bytes; element strides 1..8; a swizzled box's inner row at most the
// swizzle span). Returns "" or what is wrong. Element strides: dimension d >= 1 loads
// ceil(box[d] / elem_strides[d]) elements, elem_strides[d] apart (so a box of N elements at
// stride t is box[d] = N t); dimension 0's must be 1 (no interleave; the PTX ISA). The
// interpreter models, of the swizzled modes, 128B with an inner row of exactly 128 bytes and
// 64B with one of 64 bytes; others are refused here rather than modelled wrongly.
std::string encode_tensor_map_tiled(TensorMap* map, uint32_t elem_bytes, uint32_t rank, const void* global,
                                    const uint64_t* dims, const uint64_t* strides, const uint32_t* box,
                                    const uint32_t* elem_strides, TensorMapSwizzle swizzle, bool oob_nan);
// The elements a copy through `map` loads along dimension d: ceil(box[d] / elem_strides[d]).
uint32_t tensor_map_box_elements(const TensorMap& map, uint32_t d);

}  // namespace simt

namespace simt::ptx {

// cvt.rna.tf32.f32 d, a: a rounded to TF32 (8-bit exponent, 10-bit mantissa), to nearest
// with ties away from zero; the .b32 result holds the TF32 value (low 13 bits zero).
// NaN and infinity pass unchanged; a finite value that rounds past the largest TF32 becomes
// infinity (no .satfinite).
uint32_t cvt_rna_tf32(float a);

// cvt.rn.bf16x2.f32 d, a, b: a to bf16 in the upper half of d, b in the lower half, both
// round to nearest even; NaN becomes the canonical quiet NaN 0x7fff.
uint32_t cvt_rn_bf16x2(float a, float b);

// cvt.rn.f16x2.f32 d, a, b: a to IEEE binary16 in the upper half of d, b in the lower half,
// both round to nearest even; a magnitude that rounds to 2^16 or more becomes infinity,
// results below 2^-14 are subnormal (not flushed); NaN becomes the canonical NaN 0x7fff.
uint32_t cvt_rn_f16x2(float a, float b);

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
// mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32: the same fragment layout with f16x2
// registers (fp16 x fp16 products are exact in double, subnormal operands included).
void mma_m16n8k16_f16(float d[4], const uint32_t a[4], const uint32_t b[2],
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

// The .shared address (cvta.to.shared) of a byte of the block's dynamic shared memory:
// detail::kDynamicSharedAddress (16) plus its offset there. The array's pointer has the same
// residue mod 1024, so the swizzle patterns (functions of address bits 4..9) read the same
// through pointers and addresses, and a kernel must round its swizzled stages up to 1024 bytes
// as on a GPU. The matrix descriptors of wgmma hold such addresses; other shared memory has
// none here.
uint32_t shared_address(const void* p, const std::source_location& loc = std::source_location::current());

// mbarrier.init.shared::cta.b64 [bar], count (1 <= count < 2^20): phase 0, count arrivals
// pending, tx-count 0. bar is 8-byte aligned shared memory (mbarrier.h).
void mbarrier_init(uint64_t* bar, uint32_t count, const std::source_location& loc = std::source_location::current());
// mbarrier.arrive.shared::cta.b64 state, [bar]: one arrival; returns the state token.
uint64_t mbarrier_arrive(uint64_t* bar, const std::source_location& loc = std::source_location::current());
// mbarrier.arrive.expect_tx.shared::cta.b64 state, [bar], tx: tx-count += tx, then one arrival.
uint64_t mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t tx,
                                   const std::source_location& loc = std::source_location::current());
// mbarrier.try_wait.parity.shared::cta.b64 in a loop until it succeeds: returns once the
// phase of parity `parity` has completed; the calling fiber blocks until then.
void mbarrier_wait_parity(uint64_t* bar, uint32_t parity,
                          const std::source_location& loc = std::source_location::current());

// cp.async.bulk.tensor.<rank>d.shared::cluster.global.tile.mbarrier::complete_tx::bytes
// [dst], [map, {coords}], [bar]: the box of map at coords (coords[0] innermost; signed, an
// element outside the tensor reads as zero, or NaN with oob_nan) into dst, packed with
// dimension 0 innermost and the map's swizzle applied to the byte address; the box's bytes
// complete as transactions on bar. Reads global memory now; writes dst when bar's phase
// completes (mbarrier.h). dst: 128-byte aligned shared memory (1024 for the 128B swizzle, 512
// for the 64B).
void tma_load_tile(void* dst, const TensorMap* map, const int32_t* coords, uint64_t* bar,
                   const std::source_location& loc = std::source_location::current());

// wgmma.mma_async.sync.aligned.m64n<n>k16.f32.bf16.bf16 {d}, desc_a, desc_b, scale_d, 1, 1,
// trans_a, trans_b: D (64 x n, f32) = A (64 x 16) * B (16 x n) + (scale_d ? D : 0), A K-major
// (trans_a 0) or M-major (1), B K-major (n rows of 16 k) or N-major; issued by each of the 128
// threads of a warpgroup (warps 4g .. 4g+3) with its n/2 accumulators d (wgmma.h: the
// descriptors and layouts, the fragment layout, the asynchrony).
void wgmma_m64k16_bf16(float* d, int n, uint64_t desc_a, uint64_t desc_b, bool scale_d, bool trans_a = false,
                       bool trans_b = false, const std::source_location& loc = std::source_location::current());
// wgmma.fence.sync.aligned: orders register accesses before the next wgmma.mma_async.
void wgmma_fence(const std::source_location& loc = std::source_location::current());
// wgmma.commit_group.sync.aligned: the thread's uncommitted wgmma.mma_async form one group.
void wgmma_commit_group(const std::source_location& loc = std::source_location::current());
// wgmma.wait_group.sync.aligned n: waits until at most the n newest groups are pending.
void wgmma_wait_group(int n, const std::source_location& loc = std::source_location::current());

}  // namespace simt::ptx
