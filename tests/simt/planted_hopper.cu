// Kernels for the interpreter's sm_90 semantics (see planted_hopper.h). CUDA C++ in the
// kernels' dialect, compiled only for the interpreter (tests/CMakeLists.txt).
#include "tests/simt/planted_hopper.h"

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ptx.h"

namespace sr::simt_planted {

using cuda::launch_kernel;
namespace ptx = cuda::ptx;

namespace {

__global__ void mbarrier_rounds_kernel(int mode, unsigned* counts, unsigned* seen) {
  SR_SHARED_ALIGNED(8, uint64_t, bar, [1]);
  const int t = threadIdx.x;
  if (t == 0 && mode != 3) ptx::mbarrier_init(&bar[0], mode == 4 ? 96 : 128);
  __syncthreads();
  for (int r = 0; r < 3; ++r) {
    atomicAdd(&counts[r], 1u);
    if (mode == 2 && t == 0)
      ptx::mbarrier_arrive_expect_tx(&bar[0], 64);
    else
      ptx::mbarrier_arrive(&bar[0]);
    ptx::mbarrier_wait_parity(&bar[0], mode == 1 ? (r + 1) % 2 : r % 2);
    seen[128 * r + t] = atomicAdd(&counts[r], 0u);
  }
}

// The dynamic array's first 1024-byte aligned byte, where the swizzled layouts (TMA, wgmma)
// start: the interpreter, as a GPU, aligns the array to 16 bytes only (the launches below ask
// for 1024 bytes of slack).
__device__ unsigned char* aligned_1024(unsigned char* raw) {
  return raw + (1024 - ptx::shared_address(raw) % 1024) % 1024;
}

__global__ void tma_tile_kernel(const ::simt::TensorMap map, int c0, int c1, int c2, int c3, int mode, uint16_t* out,
                                int bytes) {
  SR_DYNAMIC_SHARED(unsigned char, raw);
  unsigned char* smem = aligned_1024(raw);
  SR_SHARED_ALIGNED(8, uint64_t, bar, [1]);
  const int t = threadIdx.x;
  if (t == 0) {
    ptx::mbarrier_init(&bar[0], 1);
    ptx::fence_mbarrier_init();
  }
  __syncthreads();
  if (t == 0) {
    if (mode != 2) ptx::mbarrier_arrive_expect_tx(&bar[0], (uint32_t)bytes);
    if (map.rank == 4)
      ptx::tma_load_4d(smem, &map, c0, c1, c2, c3, &bar[0]);
    else
      ptx::tma_load_2d(smem, &map, c0, c1, &bar[0]);
    if (mode == 2) ptx::mbarrier_arrive(&bar[0]);
  }
  const uint16_t* s = reinterpret_cast<const uint16_t*>(smem);
  if (mode == 1) {
    for (int i = t; i < bytes / 2; i += 32) out[i] = s[i];
    __syncthreads();  // every thread has read before any waits
    ptx::mbarrier_wait_parity(&bar[0], 0);
    return;
  }
  ptx::mbarrier_wait_parity(&bar[0], mode == 3 ? 1 : 0);
  for (int i = t; i < bytes / 2; i += 32) out[i] = s[i];
}

// Byte offset of element (row, k) of a 64-column K-major bf16 tile in the test's layouts:
// 128B swizzle: row r is the 128-byte line (r/8)*1024 + (r%8)*128, its 16-byte chunk k/8
// stored at chunk position (k/8) XOR (r%8); interleaved: core matrix (r/8, k/8) at
// (r/8)*1024 + (k/8)*128, row r%8 of it at 16*(r%8).
__device__ int tile_offset(int row, int k, bool swizzle128) {
  if (swizzle128) return (row / 8) * 1024 + (row % 8) * 128 + (((k / 8) ^ (row % 8)) * 16) + (k % 8) * 2;
  return (row / 8) * 1024 + (k / 8) * 128 + (row % 8) * 16 + (k % 8) * 2;
}

template <int N>
__global__ void wgmma_tile_kernel(const uint16_t* a, const uint16_t* b, int swizzle128, int mode, float* out) {
  SR_DYNAMIC_SHARED(unsigned char, raw);
  unsigned char* sa = aligned_1024(raw);  // 64 x 64 bf16: 8 KiB
  unsigned char* sb = sa + 8192;          // N x 64 bf16
  const int t = threadIdx.x;
  for (int i = t; i < 64 * 64; i += 128)
    *reinterpret_cast<uint16_t*>(sa + tile_offset(i / 64, i % 64, swizzle128)) = a[i];
  for (int i = t; i < N * 64; i += 128)
    *reinterpret_cast<uint16_t*>(sb + tile_offset(i / 64, i % 64, swizzle128)) = b[i];
  __syncthreads();
  const bool desc_swizzle = mode == 3 ? !swizzle128 : swizzle128;
  float d[N / 2];
  for (int i = 0; i < N / 2; ++i) d[i] = 0.f;
  if (mode != 2) ptx::wgmma_fence();
  for (int ks = 0; ks < 4; ++ks) {
    // k-step ks: 16 k = 32 bytes further along a swizzled row, or two core matrices (2 LBO).
    const uint32_t step = desc_swizzle ? 32u * ks : 256u * ks;
    const uint64_t da = ptx::wgmma_descriptor(ptx::shared_address(sa) + step, 128, 1024, desc_swizzle ? 1 : 0);
    const uint64_t db = ptx::wgmma_descriptor(ptx::shared_address(sb) + step, 128, 1024, desc_swizzle ? 1 : 0);
    ptx::wgmma_m64k16_bf16<N>(d, da, db, ks > 0);
  }
  ptx::wgmma_commit_group();
  if (mode != 1) ptx::wgmma_wait_group<0>();
  // Fragment of thread t: warp w = t/32 holds rows 16w.., lane l rows l/4 and l/4 + 8,
  // columns 8j + 2(l%4) and +1.
  const int w = t / 32, l = t % 32;
  for (int i = 0; i < N / 2; ++i) {
    const int row = 16 * w + l / 4 + ((i / 2) % 2) * 8, col = 8 * (i / 4) + 2 * (l % 4) + i % 2;
    out[row * N + col] = d[i];
  }
  if (mode == 1) ptx::wgmma_wait_group<0>();
}

// Byte offset of element (i, k) of an MN-major bf16 operand in the test's swizzled layouts,
// spelled as the ISA draws them: row k of the operand is a line of `span` bytes (128 or 64)
// holding span/2 consecutive i, one column block of lines per span/2 values of i (column
// blocks `lbo` apart), 8 lines per swizzle atom (atoms along K `sbo` apart); the 16-byte
// chunk j of line k is stored at chunk j XOR (k % 8) under the 128B swizzle, j XOR (k % 8) / 2
// under the 64B swizzle (two 64-byte lines per 128 bytes of the pattern).
__device__ int mn_tile_offset(int i, int k, int span, int lbo, int sbo) {
  const int per_line = span / 2, j = (i % per_line) / 8;
  const int chunk = span == 128 ? j ^ (k % 8) : j ^ ((k % 8) / 2);
  return (i / per_line) * lbo + (k / 8) * sbo + (k % 8) * span + chunk * 16 + (i % 8) * 2;
}

// a[64 x 64] ([m][k]) and b[N x 64] ([n][k]) stored MN-major; four k-steps of 16 k.
template <int N, int TRANS>
__global__ void wgmma_mn_tile_kernel(const uint16_t* a, const uint16_t* b, int span, float* out) {
  SR_DYNAMIC_SHARED(unsigned char, raw);
  unsigned char* sa = aligned_1024(raw);  // 64 x 64 bf16: 8 KiB
  unsigned char* sb = sa + 8192;          // N x 64 bf16
  // A column block holds span/2 of M (or N) for all 64 k: 64 lines of span bytes.
  const int lbo = 64 * span, sbo = 8 * span;
  const int t = threadIdx.x;
  for (int e = t; e < 64 * 64; e += 128)
    *reinterpret_cast<uint16_t*>(sa + mn_tile_offset(e / 64, e % 64, span, lbo, sbo)) = a[e];
  for (int e = t; e < N * 64; e += 128)
    *reinterpret_cast<uint16_t*>(sb + mn_tile_offset(e / 64, e % 64, span, lbo, sbo)) = b[e];
  __syncthreads();
  float d[N / 2];
  for (int i = 0; i < N / 2; ++i) d[i] = 0.f;
  ptx::wgmma_fence();
  const uint32_t mode = span == 128 ? 1 : 2;
  for (int ks = 0; ks < 4; ++ks) {  // 16 k = two atoms of 8 lines further
    const uint32_t step = 2u * sbo * ks;
    const uint64_t da = ptx::wgmma_descriptor(ptx::shared_address(sa) + step, lbo, sbo, mode);
    const uint64_t db = ptx::wgmma_descriptor(ptx::shared_address(sb) + step, lbo, sbo, mode);
    ptx::wgmma_m64k16_bf16<N, TRANS, TRANS>(d, da, db, ks > 0);
  }
  ptx::wgmma_commit_group();
  ptx::wgmma_wait_group<0>();
  const int w = t / 32, l = t % 32;
  for (int i = 0; i < N / 2; ++i) {
    const int row = 16 * w + l / 4 + ((i / 2) % 2) * 8, col = 8 * (i / 4) + 2 * (l % 4) + i % 2;
    out[row * N + col] = d[i];
  }
}

}  // namespace

void mbarrier_rounds(int mode, unsigned* counts, unsigned* seen) {
  launch_kernel(mbarrier_rounds_kernel, 1, 128, 0, cuda::current_stream(), mode, counts, seen);
  CUDA_CHECK_LAUNCH("mbarrier_rounds");
}

void tma_tile(const ::simt::TensorMap& map, const int32_t* coords, int mode, uint16_t* out) {
  int bytes = (int)map.elem_bytes;
  for (uint32_t d = 0; d < map.rank; ++d) bytes *= (int)::simt::tensor_map_box_elements(map, d);
  launch_kernel(tma_tile_kernel, 1, 32, (size_t)bytes + 1024, cuda::current_stream(), map, coords[0], coords[1],
                map.rank == 4 ? coords[2] : 0, map.rank == 4 ? coords[3] : 0, mode, out, bytes);
  CUDA_CHECK_LAUNCH("tma_tile");
}

void wgmma_tile(const uint16_t* a, const uint16_t* b, int n, bool swizzle128, int mode, float* out) {
  const size_t smem = 8192 + (size_t)n * 128 + 1024;  // + the alignment slack
  if (n == 64)
    launch_kernel(wgmma_tile_kernel<64>, 1, 128, smem, cuda::current_stream(), a, b, swizzle128 ? 1 : 0, mode, out);
  else
    launch_kernel(wgmma_tile_kernel<32>, 1, 128, smem, cuda::current_stream(), a, b, swizzle128 ? 1 : 0, mode, out);
  CUDA_CHECK_LAUNCH("wgmma_tile");
}

void wgmma_mn_tile(const uint16_t* a, const uint16_t* b, int n, int span, bool trans, float* out) {
  const size_t smem = 8192 + (size_t)n * 128 + 1024;  // + the alignment slack
  auto go = [&](auto kernel) {
    launch_kernel(kernel, 1, 128, smem, cuda::current_stream(), a, b, span, out);
    CUDA_CHECK_LAUNCH("wgmma_mn_tile");
  };
  if (n == 64) trans ? go(wgmma_mn_tile_kernel<64, 1>) : go(wgmma_mn_tile_kernel<64, 0>);
  else trans ? go(wgmma_mn_tile_kernel<32, 1>) : go(wgmma_mn_tile_kernel<32, 0>);
}

}  // namespace sr::simt_planted
