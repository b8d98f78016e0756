// What this CPU has, and the message when the build uses more. Compiled for the x86-64
// baseline (CMakeLists.txt), and written with C strings only, no templates: it runs on a CPU
// that lacks the build's extensions, before any static initialiser (tools/cli/cpu_isa_check.cpp),
// so no code of it may come from a translation unit compiled with -march=native.
#include "engine/cpu_isa.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sr {

namespace {

// SRENGINE_TEST_CPU_LACKS="avx2,fma": those extensions taken out of the CPU's set.
uint64_t pretended_missing() {
  const char* s = std::getenv("SRENGINE_TEST_CPU_LACKS");
  uint64_t m = 0;
  while (s && *s) {
    const char* end = std::strchr(s, ',');
    const size_t n = end ? (size_t)(end - s) : std::strlen(s);
    for (int i = 0; i < (int)Isa::count; ++i)
      if (std::strlen(kIsaNames[i]) == n && std::strncmp(kIsaNames[i], s, n) == 0) m |= uint64_t(1) << i;
    s = end ? end + 1 : nullptr;
  }
  return m;
}

}  // namespace

uint64_t present_isa_mask() {
#if defined(__x86_64__) || defined(__i386__)
  // Needed when called before the constructors run (GCC's documentation of __builtin_cpu_supports).
  __builtin_cpu_init();
  // __builtin_cpu_supports takes a string literal: one line per extension, in Isa's order.
  const int has[] = {
      __builtin_cpu_supports("sse3"),       __builtin_cpu_supports("ssse3"),
      __builtin_cpu_supports("sse4.1"),     __builtin_cpu_supports("sse4.2"),
      __builtin_cpu_supports("popcnt"),     __builtin_cpu_supports("avx"),
      __builtin_cpu_supports("avx2"),       __builtin_cpu_supports("fma"),
      __builtin_cpu_supports("f16c"),       __builtin_cpu_supports("bmi"),
      __builtin_cpu_supports("bmi2"),       __builtin_cpu_supports("avx512f"),
      __builtin_cpu_supports("avx512bw"),   __builtin_cpu_supports("avx512vl"),
      __builtin_cpu_supports("avx512dq"),   __builtin_cpu_supports("avx512cd"),
      __builtin_cpu_supports("avx512vnni"), __builtin_cpu_supports("avx512bf16"),
      __builtin_cpu_supports("avx512fp16"), __builtin_cpu_supports("avx512vbmi"),
      __builtin_cpu_supports("avx512vbmi2"), __builtin_cpu_supports("avx512ifma"),
      __builtin_cpu_supports("avx512bitalg"), __builtin_cpu_supports("avx512vpopcntdq"),
      __builtin_cpu_supports("avxvnni")};
  static_assert(sizeof(has) / sizeof(has[0]) == (size_t)Isa::count);
  uint64_t m = 0;
  for (int i = 0; i < (int)Isa::count; ++i)
    if (has[i]) m |= uint64_t(1) << i;
  return m & ~pretended_missing();
#else
  return 0;
#endif
}


bool describe_missing_isa(uint64_t built, uint64_t present, char* buf, size_t size) {
  const uint64_t missing = built & ~present;
  if (!missing || size == 0) return missing != 0;
  size_t at = 0;
  auto put = [&](const char* text) {
    const int n = std::snprintf(buf + at, size - at, "%s", text);
    if (n > 0) at = at + (size_t)n < size ? at + (size_t)n : size - 1;
  };
  put("this srengine was compiled for x86 vector extensions this CPU lacks: ");
  bool first = true;
  for (int i = 0; i < (int)Isa::count; ++i) {
    if (!(missing >> i & 1)) continue;
    if (!first) put(", ");
    put(kIsaNames[i]);
    first = false;
  }
  put(" (a build with -DSRENGINE_NATIVE=ON, the default, uses every extension of the machine that "
      "built it, with -march=native); build srengine on this machine, or with -DSRENGINE_NATIVE=OFF to run "
      "on any x86-64 CPU");
  return true;
}

std::string missing_build_isa() {
  char buf[1024];
  if (!describe_missing_isa(built_isa_mask(), present_isa_mask(), buf, sizeof buf)) return {};
  return buf;
}

}  // namespace sr
