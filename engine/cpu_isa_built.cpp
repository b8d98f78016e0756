// The extensions the compiler was told it may use for the library (-march=native or the
// flags given): the macros GCC and Clang define for each. Compiled with the library's flags,
// so the answer is theirs; the function holds no vector code.
#include "engine/cpu_isa.h"

namespace sr {

uint64_t built_isa_mask() {
  uint64_t m = 0;
#ifdef __SSE3__
  m |= isa_bit(Isa::sse3);
#endif
#ifdef __SSSE3__
  m |= isa_bit(Isa::ssse3);
#endif
#ifdef __SSE4_1__
  m |= isa_bit(Isa::sse4_1);
#endif
#ifdef __SSE4_2__
  m |= isa_bit(Isa::sse4_2);
#endif
#ifdef __POPCNT__
  m |= isa_bit(Isa::popcnt);
#endif
#ifdef __AVX__
  m |= isa_bit(Isa::avx);
#endif
#ifdef __AVX2__
  m |= isa_bit(Isa::avx2);
#endif
#ifdef __FMA__
  m |= isa_bit(Isa::fma);
#endif
#ifdef __F16C__
  m |= isa_bit(Isa::f16c);
#endif
#ifdef __BMI__
  m |= isa_bit(Isa::bmi);
#endif
#ifdef __BMI2__
  m |= isa_bit(Isa::bmi2);
#endif
#ifdef __AVX512F__
  m |= isa_bit(Isa::avx512f);
#endif
#ifdef __AVX512BW__
  m |= isa_bit(Isa::avx512bw);
#endif
#ifdef __AVX512VL__
  m |= isa_bit(Isa::avx512vl);
#endif
#ifdef __AVX512DQ__
  m |= isa_bit(Isa::avx512dq);
#endif
#ifdef __AVX512CD__
  m |= isa_bit(Isa::avx512cd);
#endif
#ifdef __AVX512VNNI__
  m |= isa_bit(Isa::avx512vnni);
#endif
#ifdef __AVX512BF16__
  m |= isa_bit(Isa::avx512bf16);
#endif
#ifdef __AVX512FP16__
  m |= isa_bit(Isa::avx512fp16);
#endif
#ifdef __AVX512VBMI__
  m |= isa_bit(Isa::avx512vbmi);
#endif
#ifdef __AVX512VBMI2__
  m |= isa_bit(Isa::avx512vbmi2);
#endif
#ifdef __AVX512IFMA__
  m |= isa_bit(Isa::avx512ifma);
#endif
#ifdef __AVX512BITALG__
  m |= isa_bit(Isa::avx512bitalg);
#endif
#ifdef __AVX512VPOPCNTDQ__
  m |= isa_bit(Isa::avx512vpopcntdq);
#endif
#ifdef __AVXVNNI__
  m |= isa_bit(Isa::avxvnni);
#endif
  return m;
}

}  // namespace sr
