// The interpreter's mbarriers and tiled bulk tensor copies (mbarrier.h), and the PTX entry
// points that use them.
#include "kernels/simt/mbarrier.h"

#include <cstring>

#include "engine/error.h"
#include "kernels/simt/ptx.h"
#include "kernels/simt/racecheck.h"
#include "kernels/simt/simt.h"

namespace simt {

namespace detail {

void MbarrierTable::init(const void* addr, uint32_t count) {
  Mbarrier b;
  b.expected = b.pending = count;
  bars_[addr] = b;
}

Mbarrier& MbarrierTable::at(const void* addr, const char* op, const std::source_location& loc) {
  auto it = bars_.find(addr);
  if (it == bars_.end()) device_fail(sr::str_cat(op, " on ", race::shared_byte_name(static_cast<const char*>(addr)),
                                                 ", which mbarrier.init never initialised")
                                         .c_str(),
                                     loc);
  return it->second;
}

uint64_t MbarrierTable::update(const void* addr, Mbarrier& b, uint32_t arrivals, int64_t tx_delta) {
  const uint64_t token = b.phase;
  b.tx += tx_delta;
  b.pending -= arrivals;
  if (b.pending == 0 && b.tx == 0) {
    // The phase completes: its bulk copies land, then the waiters of its parity may go.
    for (const Mbarrier::Landing& l : b.landing) std::memcpy(l.dst, l.bytes.data(), l.bytes.size());
    b.landing.clear();
    ++b.phase;
    b.pending = b.expected;
    mbarrier_wake(addr);
  }
  return token;
}

void MbarrierTable::deliver(const void* addr, Mbarrier& b) {
  if (b.in_flight.empty()) return;
  int64_t bytes = 0;
  for (Mbarrier::Landing& l : b.in_flight) {
    bytes += (int64_t)l.bytes.size();
    b.landing.push_back(std::move(l));
  }
  b.in_flight.clear();
  update(addr, b, 0, -bytes);  // complete_tx::bytes
}

std::string MbarrierTable::describe(const void* addr) const {
  auto it = bars_.find(addr);
  if (it == bars_.end()) return "an uninitialised mbarrier";
  const Mbarrier& b = it->second;
  return sr::str_cat("the mbarrier at ", race::shared_byte_name(static_cast<const char*>(addr)), " in phase ", b.phase,
                     " (parity ", b.phase & 1, "): ", b.pending, " of ", b.expected, " arrivals pending, tx-count ",
                     b.tx, ", ", b.landing.size() + b.in_flight.size(), " bulk copies not landed");
}

namespace {

void check_bar(const void* bar, const char* op, const std::source_location& loc) {
  if (reinterpret_cast<uintptr_t>(bar) % 8 || !race::is_shared(bar))
    device_fail(sr::str_cat(op, " with an mbarrier address that is not 8-byte aligned shared memory").c_str(), loc);
}

}  // namespace

}  // namespace detail

std::string encode_tensor_map_tiled(TensorMap* map, uint32_t elem_bytes, uint32_t rank, const void* global,
                                    const uint64_t* dims, const uint64_t* strides, const uint32_t* box,
                                    const uint32_t* elem_strides, TensorMapSwizzle swizzle, bool oob_nan) {
  if (rank < 1 || rank > 5) return sr::str_cat("rank ", rank, " (1 to 5)");
  if (elem_bytes != 1 && elem_bytes != 2 && elem_bytes != 4 && elem_bytes != 8)
    return sr::str_cat("element size ", elem_bytes, " bytes (1, 2, 4 or 8)");
  if (reinterpret_cast<uintptr_t>(global) % 16) return "a global address not aligned to 16 bytes";
  TensorMap m;
  m.global = global;
  m.rank = rank;
  m.elem_bytes = elem_bytes;
  m.swizzle = swizzle;
  m.oob_nan = oob_nan;
  for (uint32_t d = 0; d < rank; ++d) {
    if (dims[d] == 0 || dims[d] > (uint64_t{1} << 32)) return sr::str_cat("dimension ", d, " of size ", dims[d]);
    if (box[d] == 0 || box[d] > 256) return sr::str_cat("box dimension ", d, " of ", box[d], " (1 to 256)");
    if (elem_strides[d] < 1 || elem_strides[d] > 8)
      return sr::str_cat("element stride ", elem_strides[d], " in dimension ", d, " (1 to 8)");
    // The PTX ISA: without interleave the traversal stride of dimension 0 must be 1 (the
    // driver's documentation says it is ignored; refused here, the stricter reading).
    if (d == 0 && elem_strides[0] != 1)
      return sr::str_cat("element stride ", elem_strides[0], " in dimension 0 (must be 1 without interleave)");
    m.dims[d] = dims[d];
    m.box[d] = box[d];
    m.elem_strides[d] = elem_strides[d];
    m.strides[d] = d == 0 ? elem_bytes : strides[d - 1];
    if (d > 0 && (m.strides[d] % 16 || m.strides[d] >= (uint64_t{1} << 40)))
      return sr::str_cat("stride ", m.strides[d], " bytes of dimension ", d, " (a multiple of 16 below 2^40)");
  }
  const uint64_t row = (uint64_t)box[0] * elem_bytes;
  if (row % 16) return sr::str_cat("an inner box row of ", row, " bytes (a multiple of 16)");
  if ((swizzle == TensorMapSwizzle::b128 && row != 128) || (swizzle == TensorMapSwizzle::b64 && row != 64) ||
      swizzle == TensorMapSwizzle::b32)
    return sr::str_cat("swizzle mode ", (int)swizzle, " with an inner box row of ", row,
                       " bytes (the interpreter models the 128B swizzle of 128-byte rows and the 64B swizzle of ",
                       "64-byte rows)");
  *map = m;
  return "";
}

uint32_t tensor_map_box_elements(const TensorMap& map, uint32_t d) {
  return (map.box[d] + map.elem_strides[d] - 1) / map.elem_strides[d];
}

namespace ptx {

void mbarrier_init(uint64_t* bar, uint32_t count, const std::source_location& loc) {
  detail::check_bar(bar, "mbarrier.init", loc);
  if (count < 1 || count >= (1u << 20)) detail::device_fail("mbarrier.init with a count outside 1 .. 2^20-1", loc);
  detail::mbarriers().init(bar, count);
}

namespace {
// An arrival on a phase whose arrivals are all in (it waits for transactions only) would be
// counted in the next phase by the hardware's counter wrap: a kernel bug either way.
detail::Mbarrier& arriving(uint64_t* bar, const char* op, const std::source_location& loc) {
  detail::check_bar(bar, op, loc);
  detail::Mbarrier& b = detail::mbarriers().at(bar, op, loc);
  if (b.pending == 0)
    detail::device_fail(
        sr::str_cat(op, " on ", detail::mbarriers().describe(bar), ": more arrivals than mbarrier.init's count").c_str(),
        loc);
  return b;
}
}  // namespace

uint64_t mbarrier_arrive(uint64_t* bar, const std::source_location& loc) {
  detail::Mbarrier& b = arriving(bar, "mbarrier.arrive", loc);
  return detail::mbarriers().update(bar, b, 1, 0);
}

uint64_t mbarrier_arrive_expect_tx(uint64_t* bar, uint32_t tx, const std::source_location& loc) {
  if (tx >= (1u << 20)) detail::device_fail("mbarrier.arrive.expect_tx with a tx-count of 2^20 or more", loc);
  detail::Mbarrier& b = arriving(bar, "mbarrier.arrive.expect_tx", loc);
  return detail::mbarriers().update(bar, b, 1, (int64_t)tx);
}

void mbarrier_wait_parity(uint64_t* bar, uint32_t parity, const std::source_location& loc) {
  detail::check_bar(bar, "mbarrier.try_wait.parity", loc);
  // The phase of parity p is complete while the current phase's parity is not p.
  for (;;) {
    detail::Mbarrier& b = detail::mbarriers().at(bar, "mbarrier.try_wait.parity", loc);
    if ((b.phase & 1) != (parity & 1)) return;
    detail::mbarriers().deliver(bar, b);
    if ((b.phase & 1) != (parity & 1)) return;
    detail::mbarrier_block(bar, parity & 1, loc);
  }
}

void tma_load_tile(void* dst, const TensorMap* map, const int32_t* coords, uint64_t* bar,
                   const std::source_location& loc) {
  const char* op = "cp.async.bulk.tensor.tile";
  detail::check_bar(bar, op, loc);
  if (map->rank < 1 || map->rank > 5) detail::device_fail("cp.async.bulk.tensor with an unencoded tensor map", loc);
  // The swizzle pattern repeats every 1024 (128B) or 512 (64B) bytes and starts at dst.
  const size_t align = map->swizzle == TensorMapSwizzle::b128  ? 1024
                       : map->swizzle == TensorMapSwizzle::b64 ? 512
                                                               : 128;
  if (reinterpret_cast<uintptr_t>(dst) % align) {
    const std::string what = sr::str_cat("cp.async.bulk.tensor into shared memory not ", align,
                                         "-byte aligned (swizzle mode ", (int)map->swizzle, ")");
    detail::device_fail(what.c_str(), loc);
  }
  // With element strides, dimension d loads ceil(box / stride) elements, at coords[d],
  // coords[d] + stride, ...: the box counts the elements traversed, not those loaded.
  uint32_t loaded[5] = {};
  uint64_t elems = 1;
  for (uint32_t d = 0; d < map->rank; ++d) elems *= loaded[d] = tensor_map_box_elements(*map, d);
  const size_t bytes = elems * map->elem_bytes;
  if (!detail::race::is_shared(dst) || !detail::race::is_shared(static_cast<char*>(dst) + bytes - 1))
    detail::device_fail("cp.async.bulk.tensor with a destination box outside shared memory", loc);
  detail::Mbarrier& b = detail::mbarriers().at(bar, op, loc);
  // The loaded box, dimension 0 innermost; element e's packed byte offset o lands at o with bits
  // 4..6 XORed with bits 7..9 under the 128B swizzle (the 16-byte chunks of each 128-byte
  // row permuted by the row's index within its 1024-byte group), bits 4..5 with bits 7..8
  // under the 64B swizzle (the 4 chunks of each 64-byte row permuted by the index of its
  // 128-byte pair of rows within its 512-byte group).
  detail::Mbarrier::Landing l{static_cast<char*>(dst), std::vector<char>(bytes)};
  const uint32_t eb = map->elem_bytes;
  for (uint64_t e = 0; e < elems; ++e) {
    uint64_t rest = e;
    bool inside = true;
    uint64_t src = 0;
    for (uint32_t d = 0; d < map->rank; ++d) {
      const int64_t c = (int64_t)coords[d] + (int64_t)(rest % loaded[d]) * map->elem_strides[d];
      rest /= loaded[d];
      if (c < 0 || c >= (int64_t)map->dims[d]) inside = false;
      else src += (uint64_t)c * map->strides[d];
    }
    uint64_t o = e * eb;
    if (map->swizzle == TensorMapSwizzle::b128) o ^= ((o >> 7) & 7) << 4;
    if (map->swizzle == TensorMapSwizzle::b64) o ^= ((o >> 7) & 3) << 4;
    char* out = l.bytes.data() + o;
    if (inside) {
      std::memcpy(out, static_cast<const char*>(map->global) + src, eb);
    } else if (map->oob_nan) {
      std::memset(out, 0xff, eb);
    } else {
      std::memset(out, 0, eb);
    }
  }
  b.in_flight.push_back(std::move(l));  // its transactions complete at a wait (mbarrier.h)
}

}  // namespace ptx

}  // namespace simt
