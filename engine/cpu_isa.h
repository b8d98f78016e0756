// The x86 vector extensions this srengine was compiled to use, against those of the CPU it
// runs on. A build with -march=native (SRENGINE_NATIVE, the default) uses every extension of
// the build machine; copied to a CPU without one, it would stop at the first such instruction
// with SIGILL and no word of why. The command line, the C API and the Python module check
// first and say which extensions are missing and how to build for this CPU.
//
// engine/cpu_isa_built.cpp (compiled with the library's flags) reads the compiler's
// __AVX2__-style macros; engine/cpu_isa.cpp (compiled for the x86-64 baseline, so that it
// runs anywhere) asks the CPU with __builtin_cpu_supports.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace sr {

// One bit each, in this order (kIsaNames: __builtin_cpu_supports's names).
enum class Isa : int {
  sse3, ssse3, sse4_1, sse4_2, popcnt, avx, avx2, fma, f16c, bmi, bmi2,
  avx512f, avx512bw, avx512vl, avx512dq, avx512cd, avx512vnni, avx512bf16, avx512fp16,
  avx512vbmi, avx512vbmi2, avx512ifma, avx512bitalg, avx512vpopcntdq, avxvnni, count
};
inline constexpr const char* kIsaNames[] = {
    "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx", "avx2", "fma", "f16c", "bmi", "bmi2",
    "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd", "avx512vnni", "avx512bf16", "avx512fp16",
    "avx512vbmi", "avx512vbmi2", "avx512ifma", "avx512bitalg", "avx512vpopcntdq", "avxvnni"};
static_assert(sizeof(kIsaNames) / sizeof(kIsaNames[0]) == (size_t)Isa::count);

constexpr uint64_t isa_bit(Isa e) { return uint64_t(1) << (int)e; }

uint64_t built_isa_mask();    // the extensions the library was compiled to use
// The extensions this CPU has (and the OS enables), less those SRENGINE_TEST_CPU_LACKS names
// (comma-separated names of kIsaNames): the tests use it to see the refusal on a CPU that has
// every extension.
uint64_t present_isa_mask();

// Writes "this srengine was compiled for <list> (...); this CPU lacks <names> ..." into
// `buf` (NUL-terminated, cut at `size`) when `built` has extensions `present` lacks; returns
// false and writes nothing when none is missing. Plain C strings: it runs before the
// program's static initialisers (tools/cli/cpu_isa_check.cpp).
bool describe_missing_isa(uint64_t built, uint64_t present, char* buf, size_t size);

// The message for this process ("" when the CPU has every extension of the build).
std::string missing_build_isa();

}  // namespace sr
