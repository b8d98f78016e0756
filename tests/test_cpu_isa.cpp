// The refusal of a CPU that lacks an x86 extension the build uses (engine/cpu_isa.h): the
// message names each missing extension and the build option, the CPU running the tests has
// its own build's extensions, and the command line, the C API and the Python module stop
// with the message when SRENGINE_TEST_CPU_LACKS takes one of the build's extensions away.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "engine/cpu_isa.h"
#include "support/data_support.h"

using namespace sr;

namespace {

struct PipeResult {
  int status = -1;
  std::string output;
};

// Runs a shell command line, its stderr with its stdout.
PipeResult run_shell(const std::string& command) {
  PipeResult r;
  std::FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p);
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// The first extension the build uses (the test's planted "missing" one), or "" for a
// baseline build.
std::string first_built_extension() {
  for (int i = 0; i < (int)Isa::count; ++i)
    if (built_isa_mask() >> i & 1) return kIsaNames[i];
  return "";
}

}  // namespace

TEST_CASE("engine/cpu_isa_missing_extensions_are_named") {
  const uint64_t built = isa_bit(Isa::avx2) | isa_bit(Isa::fma) | isa_bit(Isa::avx512f) | isa_bit(Isa::avx512bf16);
  char buf[1024];
  // Every extension present (and more): nothing written.
  std::memset(buf, 'X', sizeof buf);
  CHECK_FALSE(describe_missing_isa(built, built | isa_bit(Isa::avxvnni), buf, sizeof buf));
  CHECK(buf[0] == 'X');
  // Two missing: exactly those, in Isa's order, and the way out.
  REQUIRE(describe_missing_isa(built, isa_bit(Isa::avx2) | isa_bit(Isa::fma), buf, sizeof buf));
  const std::string m = buf;
  CHECK_THAT(m, Catch::Contains("this CPU lacks: avx512f, avx512bf16 (") &&
                    Catch::Contains("-DSRENGINE_NATIVE=OFF") && !Catch::Contains("avx2") && !Catch::Contains("fma"));
  // A short buffer: cut, still terminated.
  char small[24];
  std::memset(small, 'X', sizeof small);
  REQUIRE(describe_missing_isa(built, 0, small, sizeof small));
  CHECK(std::strlen(small) == sizeof small - 1);
}

TEST_CASE("engine/cpu_isa_this_cpu_runs_its_own_build") {
  if (std::getenv("SRENGINE_TEST_CPU_LACKS")) {
    WARN("SKIPPED: SRENGINE_TEST_CPU_LACKS is set");
    return;
  }
  INFO("built for mask " << built_isa_mask() << ", CPU has " << present_isa_mask());
  CHECK((built_isa_mask() & ~present_isa_mask()) == 0);
  CHECK(missing_build_isa().empty());
  // The extensions every x86-64 CPU of the last decade has (the machines that run these tests).
  CHECK((present_isa_mask() & isa_bit(Isa::sse4_2)) != 0);
}

TEST_CASE("engine/cpu_isa_cli_capi_and_python_refuse_a_cpu_without_the_build_isa") {
  const std::string ext = first_built_extension();
  if (ext.empty()) {
    WARN("SKIPPED: a baseline x86-64 build uses no extension to take away");
    return;
  }
  const std::string lacks = "SRENGINE_TEST_CPU_LACKS=" + ext + " ";
  const PipeResult cli = run_shell(lacks + test::srengine_exe() + " --version");
  CHECK(cli.status == 1);
  CHECK_THAT(cli.output, Catch::StartsWith("srengine: error: this srengine was compiled for x86 vector extensions "
                                           "this CPU lacks: " + ext) &&
                             Catch::Contains("-DSRENGINE_NATIVE=OFF") && !Catch::Contains("srengine 0"));
  // The same command without the planted gap runs.
  const PipeResult ok = run_shell(test::srengine_exe() + " --version");
  CHECK(ok.status == 0);
  CHECK_THAT(ok.output, Catch::StartsWith("srengine "));

  // The C API (tests/capi/capi_check.c stops at its first call that fails, printing the
  // library's last error): every call returns the message.
  const std::string capi = std::string(SRENGINE_BINARY_DIR) + "/srengine_capi_check";
  if (std::filesystem::exists(capi)) {
    const PipeResult c = run_shell(lacks + capi + " unused.json unused.safetensors /nonexistent/out");
    CHECK(c.status != 0);
    CHECK_THAT(c.output, Catch::Contains("(last error: srengine: this srengine was compiled for x86 vector "
                                         "extensions this CPU lacks: " + ext));
  }

  const std::string module_dir = std::string(SRENGINE_BINARY_DIR) + "/python";
  if (!std::filesystem::exists(module_dir)) {
    WARN("SKIPPED: the Python module is not built");
    return;
  }
  const PipeResult py = run_shell(lacks + "PYTHONPATH=" + module_dir + " /usr/bin/python3 -c 'import srengine'");
  CHECK(py.status != 0);
  CHECK_THAT(py.output, Catch::Contains("ImportError: srengine: this srengine was compiled for x86 vector extensions "
                                        "this CPU lacks: " + ext));
}
