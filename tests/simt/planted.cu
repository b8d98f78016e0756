// Kernels for the SIMT interpreter's own tests (see planted.h). CUDA C++ in the kernels'
// dialect (launch_kernel, SR_SHARED), compiled only for the interpreter (CMakeLists.txt).
#include "tests/simt/planted.h"

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/ptx.h"

namespace sr::simt_planted {

using cuda::launch_kernel;

namespace {

__global__ void block_reduce_kernel(const float* in, int n, float* out, int missing_barrier) {
  SR_SHARED(float, s, [256]);
  const int t = threadIdx.x;
  s[t] = t < n ? in[t] : 0.f;
  if (!missing_barrier) __syncthreads();
  for (int half = 128; half > 0; half >>= 1) {
    if (t < half) s[t] += s[t + half];
    if (!missing_barrier) __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = s[0];
}

__global__ void warp_exchange_kernel(int syncwarp, float* out) {
  SR_SHARED(float, s, [32]);
  const int lane = threadIdx.x;
  s[lane] = (float)lane;
  if (syncwarp) __syncwarp();
  out[lane] = s[31 - lane];
}

__global__ void warp_ops_kernel(int mode, uint32_t* out) {
  const unsigned lane = threadIdx.x;
  const unsigned v = lane * 10 + 1, full = 0xffffffffu;
  uint32_t r = 0;
  switch (mode) {
    case 0: r = __shfl_down_sync(full, v, 3); break;
    case 1: r = __shfl_up_sync(full, v, 2); break;
    case 2: r = __shfl_xor_sync(full, v, 5); break;
    case 3: r = __shfl_sync(full, v, 31 - lane); break;
    case 4: r = __shfl_sync(full, v, 7, 8); break;
    case 5: r = __ballot_sync(full, lane % 3 == 0); break;
    case 6:
      r = __any_sync(full, lane == 17) * 100 + __all_sync(full, lane < 32) * 10 + __all_sync(full, lane < 31);
      break;
  }
  out[lane] = r;
}

__global__ void fault_kernel(int which, float* out) {
  const int t = threadIdx.x;
  switch (which) {
    case 0:
      if (t < 16) __syncthreads();
      break;
    case 1:
      if (t >= 64) return;
      __syncthreads();
      break;
    case 2: {
      if ((t & 31) == 31) return;
      const float v = __shfl_down_sync(0xffffffffu, (float)t, 1);
      out[t] = v;
      break;
    }
    case 3: {
      float v;
      if ((t & 31) < 16)
        v = __shfl_sync(0xffffffffu, (float)t, 0);
      else
        v = (float)__ballot_sync(0xffffffffu, 1);
      out[t] = v;
      break;
    }
    case 4: {
      SR_SHARED(float, s, [64]);
      s[t] = 1.f;
      __syncthreads();
      out[t] = s[t & 63];
      break;
    }
    case 5:
      out[t + 1] = 1.f;
      break;
    case 6:
      for (int i = 0; i < (t & 1) + 1; ++i) __syncthreads();
      break;
  }
}

__global__ void atomics_kernel(float* out, int n, unsigned* counter) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < 4 * n) {
    atomicAdd(&out[i % n], 0.25f);
    atomicAdd(counter, 1u);
  }
}

template <bool kBf16>
__global__ void mma_kernel(const uint32_t* a, const uint32_t* b, float* d) {
  const int lane = threadIdx.x;
  uint32_t af[4], bf[2];
  float acc[4];
  for (int i = 0; i < 4; ++i) af[i] = a[lane * 4 + i];
  for (int i = 0; i < 2; ++i) bf[i] = b[lane * 2 + i];
  for (int i = 0; i < 4; ++i) acc[i] = d[lane * 4 + i];
  if (kBf16)
    cuda::ptx::mma_m16n8k16_bf16(acc, af, bf);
  else
    cuda::ptx::mma_m16n8k8_tf32(acc, af, bf);
  for (int i = 0; i < 4; ++i) d[lane * 4 + i] = acc[i];
}

__global__ void ldmatrix_kernel(const uint16_t* in, int trans, uint32_t* out) {
  SR_SHARED_ALIGNED(16, uint16_t, m, [256]);
  const int lane = threadIdx.x;
  for (int i = 0; i < 8; ++i) m[lane * 8 + i] = in[lane * 8 + i];
  __syncthreads();
  uint32_t r[4];
  if (trans)
    cuda::ptx::ldmatrix_x4_trans(r, &m[lane * 8]);
  else
    cuda::ptx::ldmatrix_x4(r, &m[lane * 8]);
  for (int j = 0; j < 4; ++j) out[lane * 4 + j] = r[j];
}

__global__ void cp_async_kernel(const float* src, int mode, float* out) {
  SR_SHARED_ALIGNED(16, float, s, [256]);
  const int lane = threadIdx.x;
  const int size = lane % 3 == 0 ? 16 : lane % 3 == 1 ? 8 : 0;
  cuda::ptx::cp_async_cg_16(&s[4 * lane], src + 4 * lane, size);
  cuda::ptx::cp_async_commit_group();
  cuda::ptx::cp_async_cg_16(&s[128 + 4 * lane], src + 128 + 4 * lane, 16);
  cuda::ptx::cp_async_commit_group();
  if (mode == 0) cuda::ptx::cp_async_wait_group<0>();
  if (mode == 1) cuda::ptx::cp_async_wait_group<1>();
  if (mode == 3) cuda::ptx::cp_async_wait_group<0>();
  if (mode != 3) __syncthreads();
  for (int i = lane; i < 256; i += 32) out[i] = s[(i + 4) % 256];
  // Everyone has read before anyone exits (copies still pending land at exit).
  if (mode != 3) __syncthreads();
}

// The race checker's scripted accesses (planted.h: race_script), through types of alignment 1
// so that any offset is defined behaviour: GCC's instrumentation reports them to the checker
// as __tsan_readN / __tsan_writeN (1 to 8 bytes) and __tsan_read_range / __tsan_write_range
// (the 16-byte vector).
typedef uint16_t Unaligned16 __attribute__((aligned(1)));
typedef uint32_t Unaligned32 __attribute__((aligned(1)));
typedef uint64_t Unaligned64 __attribute__((aligned(1)));
typedef uint32_t Unaligned128 __attribute__((vector_size(16), aligned(1)));

// One scripted access at bytes + offset: a write of `value`, or a read whose value is returned
// (summed into the kernel's output, so the compiler keeps it).
__device__ uint32_t scripted_access(unsigned char* bytes, int op, uint32_t value) {
  unsigned char* p = bytes + (op & 0xff);
  const bool write = (op >> 11) & 1;
  switch ((op >> 8) & 7) {
    case 0:
      if (!write) return *p;
      *p = (unsigned char)value;
      return 0;
    case 1:
      if (!write) return *reinterpret_cast<Unaligned16*>(p);
      *reinterpret_cast<Unaligned16*>(p) = (uint16_t)value;
      return 0;
    case 2:
      if (!write) return *reinterpret_cast<Unaligned32*>(p);
      *reinterpret_cast<Unaligned32*>(p) = value;
      return 0;
    case 3:
      if (!write) return (uint32_t)*reinterpret_cast<Unaligned64*>(p);
      *reinterpret_cast<Unaligned64*>(p) = value;
      return 0;
    default: {
      if (!write) {
        const Unaligned128 v = *reinterpret_cast<Unaligned128*>(p);
        return v[0] ^ v[3];
      }
      *reinterpret_cast<Unaligned128*>(p) = Unaligned128{value, value, value, value};
      return 0;
    }
  }
}

__global__ void race_script_kernel(const int* ops, int phases, int steps, int per_step, uint32_t* out) {
  SR_SHARED_ALIGNED(16, unsigned char, bytes, [kRaceScriptBytes]);
  const int t = threadIdx.x;
  uint32_t sum = 0;
  for (int p = 0; p < phases; ++p) {
    for (int q = 0; q < steps; ++q) {
      if (q > 0) __syncwarp();
      for (int a = 0; a < per_step; ++a) {
        const int op = ops[((t * phases + p) * steps + q) * per_step + a];
        if (op >= 0) sum += scripted_access(bytes, op, (uint32_t)t);
      }
    }
    __syncthreads();
  }
  out[t] = sum;
}

}  // namespace

void ldmatrix_x4(const uint16_t* in, bool trans, uint32_t* out) {
  launch_kernel(ldmatrix_kernel, 1, 32, 0, cuda::current_stream(), in, trans ? 1 : 0, out);
  CUDA_CHECK_LAUNCH("ldmatrix_x4");
}

void cp_async(const float* src, int mode, float* out) {
  launch_kernel(cp_async_kernel, 1, 32, 0, cuda::current_stream(), src, mode, out);
  CUDA_CHECK_LAUNCH("cp_async");
}

void block_reduce(const float* in, int n, float* out, bool missing_barrier) {
  launch_kernel(block_reduce_kernel, 2, 256, 0, cuda::current_stream(), in, n, out, missing_barrier ? 1 : 0);
  CUDA_CHECK_LAUNCH("block_reduce");
}

void warp_exchange(bool syncwarp, float* out) {
  launch_kernel(warp_exchange_kernel, 1, 32, 0, cuda::current_stream(), syncwarp ? 1 : 0, out);
  CUDA_CHECK_LAUNCH("warp_exchange");
}

void race_script(const int* ops, int threads, int phases, int steps, int per_step, uint32_t* out) {
  launch_kernel(race_script_kernel, 1, threads, 0, cuda::current_stream(), ops, phases, steps, per_step, out);
  CUDA_CHECK_LAUNCH("race_script");
}

void warp_ops(int mode, uint32_t* out) {
  launch_kernel(warp_ops_kernel, 1, 32, 0, cuda::current_stream(), mode, out);
  CUDA_CHECK_LAUNCH("warp_ops");
}

void planted_fault(int which, float* out) {
  launch_kernel(fault_kernel, 1, 128, 0, cuda::current_stream(), which, out);
  CUDA_CHECK_LAUNCH("planted_fault");
}

void atomics(float* out, int n, unsigned* counter) {
  const unsigned threads = 4 * (unsigned)n;
  launch_kernel(atomics_kernel, 8, (threads + 7) / 8, 0, cuda::current_stream(), out, n, counter);
  CUDA_CHECK_LAUNCH("atomics");
}

void mma_tf32(const uint32_t* a, const uint32_t* b, float* d) {
  launch_kernel(mma_kernel<false>, 1, 32, 0, cuda::current_stream(), a, b, d);
  CUDA_CHECK_LAUNCH("mma_tf32");
}

void mma_bf16(const uint32_t* a, const uint32_t* b, float* d) {
  launch_kernel(mma_kernel<true>, 1, 32, 0, cuda::current_stream(), a, b, d);
  CUDA_CHECK_LAUNCH("mma_bf16");
}

}  // namespace sr::simt_planted
