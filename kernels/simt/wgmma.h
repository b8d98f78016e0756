// wgmma.mma_async as the SIMT interpreter runs it (PTX ISA, "Asynchronous Warpgroup Level
// Matrix Multiply-Accumulate Instructions": wgmma.mma_async, wgmma.fence,
// wgmma.commit_group, wgmma.wait_group; "Matrix Descriptor Format"; "Register Fragments and
// Shared Memory Matrix Layouts" for m64nNk16).
//
// Shapes: m64nNk16, bf16 A and B from shared memory, each K-major (imm-trans 0) or MN-major
// (imm-trans 1: M-major A, N-major B), f32 accumulators; N a multiple of 8 up to 256. The 128
// threads of a warpgroup (warps 4g .. 4g+3) each issue it with their N/2 accumulators: thread
// t (warp w = t/32 % 4, lane l) holds element i of D at row 16w + l/4 + 8*((i/2)%2), column
// 8*(i/4) + 2*(l%4) + i%2.
//
// The matrix descriptor (64 bits): start address >> 4 in bits 0..13, leading-dimension
// byte offset >> 4 in 16..29, stride-dimension byte offset >> 4 in 32..45, base offset in
// 49..51, swizzle mode in 62..63 (0 none, 1 128B, 2 64B, 3 32B). Element (i, k) of an
// operand (i its row of A or column of B, the M or N index; k the K index) sits at, with
// the swizzle span w = 128 (mode 1) or 64 (mode 2) bytes (the canonical layouts, "Shared
// Memory Matrix Layout"):
//   K-major, none:   start + (i/8)*SBO + (k/8)*LBO + (i%8)*16 + (k%8)*2
//                    (8 x 16-byte core matrices; LBO between the two along K, SBO between
//                    row groups)
//   K-major, w:      start + (i/8)*SBO + (i%8)*w + 2k      (rows of w bytes along K)
//   MN-major, none:  start + (i/8)*SBO + (k/8)*LBO + (k%8)*16 + (i%8)*2
//                    (core matrices of 8 k rows of 8 contiguous i)
//   MN-major, w:     start + (k/8)*SBO + (k%8)*w + (i/(w/2))*LBO + 2*(i%(w/2))
//                    (rows of w bytes along M or N, one per k; LBO between the w-byte
//                    column blocks, SBO between groups of 8 k)
// and a swizzled address then has its bits 4.. (16-byte chunk within the span) XORed with
// the same number of bits from bit 7 up: 3 bits for 128B, 2 for 64B (the pattern of a TMA
// copy with the same swizzle, repeating every 1024 or 512 bytes). The interpreter models
// these with base offset 0 and refuses the 32B swizzle.
//
// Asynchrony: issuing poisons the thread's accumulators (NaN) at once; the product is
// formed (shared memory read, exact products summed in double and rounded once) only when
// wgmma.wait_group retires its group, and only then written to the registers. So reading
// the accumulators before the wait sees NaN, and a stage refilled before the wait that
// covers its wgmma feeds the new data to the product. Operations issued back to back on the
// same accumulators chain (the later one adds to the earlier one's result, as the ISA
// allows without a fence). A wgmma.mma_async needs a wgmma.fence since the thread's last
// wait (or its start): the ISA's rule for accumulators the thread may have touched.
#pragma once
#include <cstdint>
#include <source_location>
#include <vector>

namespace simt::detail {

// Where element (i, k) of a bf16 operand lives, as a .shared address, per the descriptor's
// layout and majorness (the formulas above). Fails the launch on a mode the interpreter does
// not model. Exposed for the tests, which check it against the ISA's description.
uint32_t wgmma_operand_address(uint64_t desc, int i, int k, bool mn_major, const std::source_location& loc);

class WgmmaQueue {
 public:
  void fence() { fenced_ = true; }
  void issue(float* d, int n, uint64_t desc_a, uint64_t desc_b, bool scale_d, bool trans_a, bool trans_b,
             int warp_in_group, int lane, const std::source_location& loc);
  void commit();
  void wait(int n);
  void drop() { pending_.clear(); }  // at thread exit: the registers are gone

 private:
  struct Op {
    float* d;
    int n;
    uint64_t a, b;
    bool scale_d, trans_a, trans_b, chained;
    std::vector<float> input;  // D before the operation (snapshot, or the chained result)
    uint32_t group;
    int warp_in_group, lane;
    std::source_location loc;
  };
  static constexpr uint32_t kOpen = ~0u;
  void retire(size_t i);
  std::vector<Op> pending_;
  uint32_t committed_ = 0;
  bool fenced_ = false;
};

// The running CUDA thread's queue (interpreter.cpp).
WgmmaQueue& wgmma_queue();

}  // namespace simt::detail
