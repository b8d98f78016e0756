// The interpreter's wgmma.mma_async (wgmma.h) and its PTX entry points.
#include "kernels/simt/wgmma.h"

#include <cstring>
#include <limits>

#include "engine/error.h"
#include "kernels/simt/ptx.h"
#include "kernels/simt/racecheck.h"
#include "kernels/simt/simt.h"

namespace simt {

namespace detail {

namespace {

// A descriptor decoded once (the checks included), for the many elements a retire reads.
struct OperandLayout {
  uint32_t start, lbo, sbo, mode;
  bool mn_major;
  uint32_t address(int i, int k) const {
    if (mode == 0)
      return mn_major ? start + (i / 8) * sbo + (k / 8) * lbo + (k % 8) * 16 + (i % 8) * 2
                      : start + (i / 8) * sbo + (k / 8) * lbo + (i % 8) * 16 + (k % 8) * 2;
    const uint32_t span = mode == 1 ? 128 : 64, chunk_bits = mode == 1 ? 7 : 3;
    const uint32_t per_row = span / 2;  // bf16 elements in one swizzle row
    const uint32_t a = mn_major ? start + (k / 8) * sbo + (k % 8) * span + (i / per_row) * lbo + 2 * (i % per_row)
                                : start + (i / 8) * sbo + (i % 8) * span + 2 * k;
    return a ^ (((a >> 7) & chunk_bits) << 4);
  }
};

OperandLayout operand_layout(uint64_t desc, bool mn_major, const std::source_location& loc) {
  const OperandLayout l{(uint32_t)(desc & 0x3fff) << 4, (uint32_t)((desc >> 16) & 0x3fff) << 4,
                        (uint32_t)((desc >> 32) & 0x3fff) << 4, (uint32_t)(desc >> 62), mn_major};
  const uint32_t base_offset = (uint32_t)((desc >> 49) & 7);
  if (base_offset != 0) device_fail("wgmma matrix descriptor with a base offset (the interpreter models 0)", loc);
  if (l.mode == 3)
    device_fail("wgmma matrix descriptor with the 32B swizzle (the interpreter models none, 128B and 64B)", loc);
  return l;
}

// The block's dynamic shared memory, as a retire reads it.
struct SharedBytes {
  const char* dynamic;  // the dynamic array, at .shared address kDynamicSharedAddress
  size_t bytes;
};

// The bf16 at .shared address `shared_addr`, widened (anywhere in the dynamic bytes, else in
// the block's other shared memory: race::is_shared's test).
float bf16_at(const SharedBytes& shared, uint32_t shared_addr, const std::source_location& loc) {
  const int64_t offset = (int64_t)shared_addr - kDynamicSharedAddress;
  const char* p = shared.dynamic + offset;
  if ((offset < 0 || (size_t)offset + 2 > shared.bytes) && (!race::is_shared(p) || !race::is_shared(p + 1)))
    device_fail("wgmma operand outside the block's dynamic shared memory", loc);
  uint16_t h;
  std::memcpy(&h, p, 2);
  const uint32_t u = (uint32_t)h << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

}  // namespace

uint32_t wgmma_operand_address(uint64_t desc, int i, int k, bool mn_major, const std::source_location& loc) {
  return operand_layout(desc, mn_major, loc).address(i, k);
}

void WgmmaQueue::issue(float* d, int n, uint64_t desc_a, uint64_t desc_b, bool scale_d, bool trans_a, bool trans_b,
                       int warp_in_group, int lane, const std::source_location& loc) {
  if (!fenced_)
    device_fail("wgmma.mma_async without a wgmma.fence since the accumulators were last accessible", loc);
  Op op{d, n, desc_a, desc_b, scale_d, trans_a, trans_b, false, {}, kOpen, warp_in_group, lane, loc};
  for (const Op& o : pending_)
    if (o.d == d) {
      if (o.n != n) device_fail("wgmma.mma_async chained on accumulators of another shape", loc);
      op.chained = true;
    }
  if (!op.chained) op.input.assign(d, d + n / 2);
  for (int i = 0; i < n / 2; ++i) d[i] = std::numeric_limits<float>::quiet_NaN();  // undefined until the wait
  pending_.push_back(std::move(op));
}

void WgmmaQueue::commit() {
  for (Op& o : pending_)
    if (o.group == kOpen) o.group = committed_;
  ++committed_;
}

void WgmmaQueue::wait(int n) {
  const int64_t keep_from = (int64_t)committed_ - n;
  // In issue order, so a chained operation finds its predecessor's result.
  for (size_t i = 0; i < pending_.size();) {
    const Op& o = pending_[i];
    if (o.group != kOpen && (int64_t)o.group < keep_from) {
      retire(i);
      pending_.erase(pending_.begin() + (ptrdiff_t)i);
    } else {
      ++i;
    }
  }
  fenced_ = false;  // the accumulators are the thread's again: the next issue needs a fence
}

void WgmmaQueue::retire(size_t i) {
  Op& o = pending_[i];
  const int g = o.lane / 4, t = o.lane % 4;
  // The thread's operands, each read from shared memory once: A's rows 16w + g + 8h (h = 0, 1)
  // and B's columns 8j + 2t + c (j < N/8, c = 0, 1), along k = 0..15. Element e of D is row
  // half h = (e/2)%2 and column slot 2(e/4) + e%2 (the fragment layout in wgmma.h).
  const SharedBytes shared{static_cast<const char*>(dynamic_shared()), dynamic_shared_bytes()};
  const OperandLayout la = operand_layout(o.a, o.trans_a, o.loc), lb = operand_layout(o.b, o.trans_b, o.loc);
  double a[2][16];
  for (int h = 0; h < 2; ++h)
    for (int k = 0; k < 16; ++k) a[h][k] = bf16_at(shared, la.address(16 * o.warp_in_group + g + 8 * h, k), o.loc);
  std::vector<double> b((size_t)o.n / 4 * 16);
  for (int slot = 0; slot < o.n / 4; ++slot)
    for (int k = 0; k < 16; ++k)
      b[(size_t)slot * 16 + k] = bf16_at(shared, lb.address(8 * (slot / 2) + 2 * t + slot % 2, k), o.loc);
  std::vector<float> result(o.n / 2);
  for (int e = 0; e < o.n / 2; ++e) {
    const double* ar = a[(e >> 1) & 1];
    const double* bc = &b[(size_t)(2 * (e >> 2) + (e & 1)) * 16];
    double s = o.scale_d ? (double)o.input[e] : 0.0;
    for (int k = 0; k < 16; ++k) s += ar[k] * bc[k];  // exact products (8-bit significands), summed in order
    result[e] = (float)s;
  }
  for (size_t j = i + 1; j < pending_.size(); ++j)
    if (pending_[j].d == o.d) {  // the next operation on these accumulators starts from this result
      pending_[j].input = std::move(result);
      return;
    }
  std::memcpy(o.d, result.data(), result.size() * 4);
}

namespace {

struct WgmmaPayload {
  uint64_t a, b;
  int n, scale_d, trans_a, trans_b;
};

void wgmma_uniform(void* const payload[32], unsigned, const void* ctx) {
  const auto* p0 = static_cast<const WgmmaPayload*>(payload[0]);
  for (int l = 1; l < 32; ++l) {
    const auto* p = static_cast<const WgmmaPayload*>(payload[l]);
    if (p->a != p0->a || p->b != p0->b || p->n != p0->n || p->scale_d != p0->scale_d || p->trans_a != p0->trans_a ||
        p->trans_b != p0->trans_b)
      device_fail("wgmma.mma_async with descriptors, shape, scale-d or imm-trans differing between a warp's lanes",
                  *static_cast<const std::source_location*>(ctx));
  }
}

}  // namespace

}  // namespace detail

namespace ptx {

uint32_t shared_address(const void* p, const std::source_location& loc) {
  const char* base = static_cast<const char*>(detail::dynamic_shared());
  const char* c = static_cast<const char*>(p);
  if (c < base || !detail::race::is_shared(p))
    detail::device_fail("a .shared address asked for memory outside the block's dynamic shared memory", loc);
  return detail::kDynamicSharedAddress + (uint32_t)(c - base);
}

void wgmma_m64k16_bf16(float* d, int n, uint64_t desc_a, uint64_t desc_b, bool scale_d, bool trans_a, bool trans_b,
                       const std::source_location& loc) {
  if (n < 8 || n > 256 || n % 8)
    detail::device_fail("wgmma.mma_async m64nNk16 with N not a multiple of 8 in 8..256", loc);
  const uint3 bd = blockDim;
  const int threads = (int)(bd.x * bd.y * bd.z);
  const int linear = (int)(threadIdx.x + threadIdx.y * bd.x + threadIdx.z * bd.x * bd.y);
  const int warp = linear / 32, lane = linear % 32;
  if ((warp / 4 + 1) * 128 > threads)
    detail::device_fail("wgmma.mma_async by a warp whose warpgroup (4 warps) the block does not complete", loc);
  detail::WgmmaPayload p{desc_a, desc_b, n, scale_d ? 1 : 0, trans_a ? 1 : 0, trans_b ? 1 : 0};
  detail::warp_collective("wgmma.mma_async.sync.aligned.m64nNk16.f32.bf16.bf16", 0xffffffffu, &p,
                          &detail::wgmma_uniform, &loc, loc);
  detail::wgmma_queue().issue(d, n, desc_a, desc_b, scale_d, trans_a, trans_b, warp % 4, lane, loc);
}

void wgmma_fence(const std::source_location&) { detail::wgmma_queue().fence(); }
void wgmma_commit_group(const std::source_location&) { detail::wgmma_queue().commit(); }
void wgmma_wait_group(int n, const std::source_location& loc) {
  if (n < 0) detail::device_fail("wgmma.wait_group with a negative count", loc);
  detail::wgmma_queue().wait(n);
}

}  // namespace ptx

}  // namespace simt
