// The float32 vector type the hand-written CPU kernels (sgemm.cpp, conv2d_implicit.cpp)
// are written against: one register of kLanes floats with the handful of operations the
// micro-kernels need. The ISA is chosen at compile time from the build flags
// (-march=native): AVX-512F gives 16 lanes and 32 registers, AVX2+FMA 8 lanes and 16
// registers. Without either, SR_CPU_SIMD is 0 and callers use their Eigen paths.
// (GCC 12 reports false -Wuninitialized warnings inside its AVX-512 intrinsics once they
// are inlined; the .cpp files that use these include simd_gcc_warnings.h.)
#pragma once

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#define SR_CPU_SIMD 1
#else
#define SR_CPU_SIMD 0
#endif

#include <cstddef>
#include <cstdlib>
#include <new>

namespace sr::cpu {

// A growable, 64-byte aligned float buffer for packed panels and padded copies; kept
// (per thread) between calls so hot loops do not page-fault fresh memory each time.
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(p_); }
  // At least n floats; the contents are unspecified after a call that grows the buffer.
  float* get(size_t n) {
    if (n > n_) {
      std::free(p_);
      const size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
      p_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!p_) throw std::bad_alloc();
      n_ = n;
    }
    return p_;
  }

 private:
  float* p_ = nullptr;
  size_t n_ = 0;
};

// The vector ISA the SIMD kernels were compiled for: "avx512", "avx2" or "scalar".
inline const char* simd_isa() {
#if defined(__AVX512F__)
  return "avx512";
#elif SR_CPU_SIMD
  return "avx2";
#else
  return "scalar";
#endif
}

}  // namespace sr::cpu

#if SR_CPU_SIMD
namespace sr::cpu::simd {

#if defined(__AVX512F__)

inline constexpr int kLanes = 16;
inline constexpr int kRegisters = 32;
using Vec = __m512;
// The first n lanes (0 <= n <= kLanes).
struct Mask {
  __mmask16 m;
};
inline Mask first_lanes(int n) { return {(__mmask16)((1u << n) - 1u)}; }

inline Vec zero() { return _mm512_setzero_ps(); }
inline Vec set1(float a) { return _mm512_set1_ps(a); }
inline Vec broadcast(const float* p) { return _mm512_set1_ps(*p); }
inline Vec loadu(const float* p) { return _mm512_loadu_ps(p); }
// Lanes outside the mask read as 0 and touch no memory.
inline Vec loadu(const float* p, Mask k) { return _mm512_maskz_loadu_ps(k.m, p); }
inline void storeu(float* p, Vec v) { _mm512_storeu_ps(p, v); }
inline void storeu(float* p, Vec v, Mask k) { _mm512_mask_storeu_ps(p, k.m, v); }
inline Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
inline float reduce_add(Vec v) { return _mm512_reduce_add_ps(v); }
inline void prefetch(const float* p) { _mm_prefetch((const char*)p, _MM_HINT_T0); }

#else  // AVX2 + FMA

inline constexpr int kLanes = 8;
inline constexpr int kRegisters = 16;
using Vec = __m256;
struct Mask {
  __m256i m;
};
inline Mask first_lanes(int n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return {_mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx)};
}

inline Vec zero() { return _mm256_setzero_ps(); }
inline Vec set1(float a) { return _mm256_set1_ps(a); }
inline Vec broadcast(const float* p) { return _mm256_broadcast_ss(p); }
inline Vec loadu(const float* p) { return _mm256_loadu_ps(p); }
inline Vec loadu(const float* p, Mask k) { return _mm256_maskload_ps(p, k.m); }
inline void storeu(float* p, Vec v) { _mm256_storeu_ps(p, v); }
inline void storeu(float* p, Vec v, Mask k) { _mm256_maskstore_ps(p, k.m, v); }
inline Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
inline float reduce_add(Vec v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline void prefetch(const float* p) { _mm_prefetch((const char*)p, _MM_HINT_T0); }

#endif

}  // namespace sr::cpu::simd
#endif  // SR_CPU_SIMD
