// simt/interpreter_*: the SIMT interpreter's own semantics and checks, on the small kernels
// of tests/simt/planted.cu: barriers, shuffles and votes with known results, atomics, the
// mma.sync fragments against igemm.h's independent host emulation, and planted faults it
// must report (the checker of the checker). The mutation tests of the real kernels
// (simt/mutant_*) are separate binaries: tests/CMakeLists.txt.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/error.h"
#include "kernels/cuda/igemm.h"
#include "support/fresh_seed.h"
#include "support/simt_support.h"
#include "tests/simt/planted.h"

#ifdef SRENGINE_WITH_SIMT

using namespace sr;
using namespace sr::simt_test;

namespace {

TEST_CASE("simt/interpreter_barriers") {
  std::vector<float> in(200);
  double sum = 0;
  for (int i = 0; i < 200; ++i) sum += in[i] = (float)(i % 7) - 2.5f;
  Dev In(in);
  for (uint64_t seed : {0, 1, 2}) {
    ::simt::set_schedule_seed(seed);
    Dev Out(2);
    simt_planted::block_reduce(In.p, 200, Out.p, false);
    compare("block_reduce, seed " + std::to_string(seed), Out.get(), {sum, sum}, kFp32);
    // Without the barriers a warp runs ahead and reads partial sums other warps have not
    // written yet: the race checker names the array, and without it the result is the
    // poison of fresh shared memory.
    if (::simt::racecheck()) {
      Dev Raced(2);
      const std::string err = fault_of([&] { simt_planted::block_reduce(In.p, 200, Raced.p, true); });
      INFO(err);
      CHECK(err.find("shared-memory race on shared array s") != std::string::npos);
      CHECK(err.find("block_reduce_kernel") != std::string::npos);  // the code addresses name the kernel
    }
    ::simt::set_racecheck(false);
    Dev Bad(2);
    simt_planted::block_reduce(In.p, 200, Bad.p, true);
    ::simt::set_racecheck(true);
    for (float v : Bad.get()) CHECK(std::isnan(v));
  }
  ::simt::set_schedule_seed(0);
}

// The race checker's happens-before: a __syncwarp orders one warp's lanes (no report, the
// swapped values), its absence is a race even though the interpreter's lane-by-lane schedule
// happens to give the right values here (lanes 0-15 read lanes 16-31's words before they
// are written: poison, but only in half the lanes, and only in this schedule).
TEST_CASE("simt/interpreter_racecheck") {
  if (!::simt::racecheck()) {
    WARN("the kernels were built without the race checker's instrumentation (SRENGINE_SIMT_RACECHECK=OFF or the ASan build)");
    return;
  }
  for (uint64_t seed : {0, 3}) {
    ::simt::set_schedule_seed(seed);
    Dev Out(32);
    simt_planted::warp_exchange(true, Out.p);
    std::vector<double> want(32);
    for (int l = 0; l < 32; ++l) want[l] = 31 - l;
    compare("warp_exchange with __syncwarp, seed " + std::to_string(seed), Out.get(), want, kExact);
    Dev Raced(32);
    const std::string err = fault_of([&] { simt_planted::warp_exchange(false, Raced.p); });
    INFO(err);
    CHECK(err.find("shared-memory race on shared array s") != std::string::npos);
    CHECK(err.find("no __syncthreads between them") != std::string::npos);
  }
  ::simt::set_schedule_seed(0);
}

// The race checker against a model written from CUDA's definition, on random scripts of
// shared-memory accesses (planted.h: race_script): two accesses race when they are of two
// threads, touch a common byte, one of them writes, they fall in the same __syncthreads
// interval, and their threads are in different warps or in one warp with no __syncwarp
// between them (the same step). The model checks every pair; the checker keeps a summary per
// byte or 4-byte word. A script must fail its launch iff the model finds a race, and the
// byte the report names must be one a racing pair shares. The scripts mix sizes 1-16 at
// aligned and unaligned offsets, so words split into bytes and merge again; two to four
// threads of two warps take part, so about half the scripts race. A fresh seed each run
// (SRENGINE_TEST_SEED replays a printed one).
TEST_CASE("simt/interpreter_racecheck_matches_the_pairwise_model") {
  if (!::simt::racecheck()) {
    WARN("the kernels were built without the race checker's instrumentation");
    return;
  }
  constexpr int kThreads = 64, kPhases = 2, kSteps = 2, kPerStep = 3, kScripts = 600;
  struct Access {
    int thread, phase, step, offset, size;
    bool write;
  };
  const uint64_t seed = test::fresh_seed();
  INFO("seed " << seed);
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return (int)(rng() % (uint64_t)n); };
  int raced = 0, clean = 0;
  for (int script = 0; script < kScripts; ++script) {
    std::vector<int> ops(kThreads * kPhases * kSteps * kPerStep, -1);
    std::vector<Access> accesses;
    std::vector<int> threads;
    const int active = 2 + pick(3);
    while ((int)threads.size() < active) {
      // Mostly lanes of warp 0 (same-warp pairs, ordered or not by the __syncwarp), some of warp 1.
      const int t = pick(4) == 0 ? 32 + pick(32) : pick(32);
      if (std::find(threads.begin(), threads.end(), t) == threads.end()) threads.push_back(t);
    }
    for (int t : threads)
      for (int p = 0; p < kPhases; ++p)
        for (int q = 0; q < kSteps; ++q)
          for (int a = 0; a < kPerStep; ++a) {
            if (pick(3) != 0) continue;  // a third of the slots hold an access
            const int log2_size = pick(5), size = 1 << log2_size;
            const int offset = pick(2) ? pick(simt_planted::kRaceScriptBytes / size) * size
                                       : pick(simt_planted::kRaceScriptBytes - size + 1);
            const bool write = pick(4) == 0;
            ops[((t * kPhases + p) * kSteps + q) * kPerStep + a] = offset | log2_size << 8 | (int)write << 11;
            accesses.push_back({t, p, q, offset, size, write});
          }
    std::set<int> racing_bytes;
    for (const Access& x : accesses)
      for (const Access& y : accesses) {
        const bool ordered = x.thread == y.thread || x.phase != y.phase ||
                             (x.thread / 32 == y.thread / 32 && x.step != y.step);
        if (ordered || !(x.write || y.write)) continue;
        for (int b = std::max(x.offset, y.offset); b < std::min(x.offset + x.size, y.offset + y.size); ++b)
          racing_bytes.insert(b);
      }
    DevT<int> Ops(ops);
    DevT<uint32_t> Out(kThreads);
    ::simt::set_schedule_seed((uint64_t)script % 3);
    const std::string err = fault_of([&] {
      simt_planted::race_script(Ops.p, kThreads, kPhases, kSteps, kPerStep, Out.p);
    });
    std::string listing;
    for (const Access& x : accesses)
      listing += sr::str_cat("thread ", x.thread, " phase ", x.phase, " step ", x.step,
                             (x.write ? " writes " : " reads "), x.size, " bytes at ", x.offset, "\n");
    INFO("script " << script << ":\n" << listing << "checker: " << (err.empty() ? "no race" : err));
    REQUIRE(err.empty() == racing_bytes.empty());
    if (err.empty()) {
      ++clean;
      continue;
    }
    ++raced;
    const size_t at = err.find(", byte ");
    REQUIRE(at != std::string::npos);
    const int byte = std::stoi(err.substr(at + 7));
    INFO("reported byte " << byte);
    CHECK(racing_bytes.count(byte) == 1);
  }
  ::simt::set_schedule_seed(0);
  INFO(raced << " scripts raced, " << clean << " did not");
  CHECK(raced > kScripts / 4);
  CHECK(clean > kScripts / 4);
}

TEST_CASE("simt/interpreter_warp_ops") {
  auto expect = [](int mode, auto&& f) {
    DevT<uint32_t> out(32);
    simt_planted::warp_ops(mode, out.p);
    const auto got = out.get();
    for (unsigned lane = 0; lane < 32; ++lane) {
      INFO("mode " << mode << " lane " << lane);
      CHECK(got[lane] == (uint32_t)f(lane));
    }
  };
  auto v = [](unsigned lane) { return lane * 10 + 1; };
  expect(0, [&](unsigned l) { return l + 3 < 32 ? v(l + 3) : v(l); });
  expect(1, [&](unsigned l) { return l >= 2 ? v(l - 2) : v(l); });
  expect(2, [&](unsigned l) { return v(l ^ 5); });
  expect(3, [&](unsigned l) { return v(31 - l); });
  expect(4, [&](unsigned l) { return v((l & ~7u) + 7); });
  unsigned ballot = 0;
  for (unsigned l = 0; l < 32; l += 3) ballot |= 1u << l;
  expect(5, [&](unsigned) { return ballot; });
  expect(6, [&](unsigned) { return 110; });
}

TEST_CASE("simt/interpreter_atomics") {
  const int n = 100;
  Dev Out(std::vector<float>(n, 0.f));
  DevT<unsigned> Counter(std::vector<unsigned>{0});
  simt_planted::atomics(Out.p, n, Counter.p);
  compare("atomicAdd", Out.get(), std::vector<double>(n, 1.0), kExact);
  CHECK(Counter.get()[0] == 4u * n);
}

// The interpreter's mma.sync (kernels/simt/) against igemm.h's emulate_warp_mma, which was
// written separately from the PTX fragment tables: random fragments, both precisions.
TEST_CASE("simt/interpreter_mma_fragments") {
  std::mt19937_64 rng(7);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (bool bf16 : {false, true}) {
    uint32_t a[32][4], b[32][2];
    float d[32][4];
    for (int l = 0; l < 32; ++l) {
      for (int i = 0; i < 4; ++i) {
        a[l][i] = bf16 ? cuda::igemm::pack_bf16x2(nd(rng), nd(rng)) : cuda::igemm::float_bits(cuda::igemm::round_tf32(nd(rng)));
        d[l][i] = nd(rng);
      }
      for (int i = 0; i < 2; ++i)
        b[l][i] = bf16 ? cuda::igemm::pack_bf16x2(nd(rng), nd(rng)) : cuda::igemm::float_bits(cuda::igemm::round_tf32(nd(rng)));
    }
    DevT<uint32_t> A(std::vector<uint32_t>(&a[0][0], &a[0][0] + 128)), B(std::vector<uint32_t>(&b[0][0], &b[0][0] + 64));
    Dev D(std::vector<float>(&d[0][0], &d[0][0] + 128));
    if (bf16) {
      simt_planted::mma_bf16(A.p, B.p, D.p);
      cuda::igemm::emulate_warp_mma<cuda::igemm::Prec::bf16>(d, a, b);
    } else {
      simt_planted::mma_tf32(A.p, B.p, D.p);
      cuda::igemm::emulate_warp_mma<cuda::igemm::Prec::tf32>(d, a, b);
    }
    compare(bf16 ? "mma m16n8k16 bf16" : "mma m16n8k8 tf32", D.get(), to_double(std::vector<float>(&d[0][0], &d[0][0] + 128)),
            kExact);
  }
}

// ldmatrix x4 and x4.trans against values read off the PTX ISA's figures: element (i, c) of
// matrix j holds 64j + 8i + c, so each register's two halves name their source element.
TEST_CASE("simt/interpreter_ldmatrix") {
  std::vector<uint16_t> in(256);
  for (int i = 0; i < 256; ++i) in[i] = (uint16_t)i;  // lane l's row: matrix l/8, row l%8
  DevT<uint16_t> In(in);
  auto word = [](int lo, int hi) { return (uint32_t)lo | ((uint32_t)hi << 16); };
  for (bool trans : {false, true}) {
    DevT<uint32_t> Out(128);
    std::memset(Out.p, 0xff, 128 * 4);
    simt_planted::ldmatrix_x4(In.p, trans, Out.p);
    const std::vector<uint32_t> got = Out.get();
    // A few registers written out by hand from the ISA's layout.
    if (!trans) {
      CHECK(got[0 * 4 + 0] == word(0, 1));                 // lane 0, matrix 0: row 0, cols 0-1
      CHECK(got[5 * 4 + 2] == word(128 + 8 + 2, 128 + 8 + 3));  // lane 5, matrix 2: row 1, cols 2-3
      CHECK(got[31 * 4 + 3] == word(192 + 56 + 6, 192 + 56 + 7));  // lane 31, matrix 3: row 7, cols 6-7
    } else {
      CHECK(got[0 * 4 + 0] == word(0, 8));                 // lane 0: (row 0, col 0), (row 1, col 0)
      CHECK(got[5 * 4 + 2] == word(128 + 16 + 1, 128 + 24 + 1));  // lane 5, matrix 2: (2, 1), (3, 1)
      CHECK(got[31 * 4 + 3] == word(192 + 48 + 7, 192 + 56 + 7));  // lane 31, matrix 3: (6, 7), (7, 7)
    }
    for (int l = 0; l < 32; ++l)
      for (int j = 0; j < 4; ++j) {
        const int g = l / 4, t = l % 4;
        const uint32_t want = trans ? word(64 * j + 8 * (2 * t) + g, 64 * j + 8 * (2 * t + 1) + g)
                                    : word(64 * j + 8 * g + 2 * t, 64 * j + 8 * g + 2 * t + 1);
        INFO("lane " << l << " register " << j << (trans ? " (trans)" : ""));
        CHECK(got[l * 4 + j] == want);
      }
  }
}

// cp.async: zero fill by src-size, groups retired by wait_group, and the planted misuses:
// a stage read before its wait is poison, a missing barrier after the wait is a race.
TEST_CASE("simt/interpreter_cp_async") {
  std::vector<float> src(256);
  for (int i = 0; i < 256; ++i) src[i] = 1.0f + (float)i;
  Dev Src(src);
  // What s[j] holds once group 0 (and, if `both`, group 1) landed; NaN where nothing has.
  auto expected = [&](int j, bool both) -> double {
    if (j >= 128) return both ? src[j] : NAN;
    const int lane = j / 4, e = j % 4, size = lane % 3 == 0 ? 16 : lane % 3 == 1 ? 8 : 0;
    return e * 4 < size ? src[j] : 0.0;
  };
  for (int mode : {0, 1}) {
    Dev Out(256);
    simt_planted::cp_async(Src.p, mode, Out.p);
    const std::vector<float> got = Out.get();
    for (int i = 0; i < 256; ++i) {
      const double want = expected((i + 4) % 256, mode == 0);
      INFO("mode " << mode << " out[" << i << "] = " << got[i] << ", want " << want);
      if (std::isnan(want))
        CHECK(std::isnan(got[i]));
      else
        CHECK(got[i] == want);
    }
  }
  {  // read before any wait: shared memory still holds its poison
    Dev Out(256);
    simt_planted::cp_async(Src.p, 2, Out.p);
    for (float v : Out.get()) CHECK(std::isnan(v));
  }
  if (::simt::racecheck()) {  // waited, but read the neighbour's copy without a barrier
    Dev Out(256);
    const std::string err = fault_of([&] { simt_planted::cp_async(Src.p, 3, Out.p); });
    INFO(err);
    CHECK(err.find("shared-memory race on shared array s") != std::string::npos);
  }
}

TEST_CASE("simt/interpreter_catches_planted_faults") {
  struct Case {
    int which;
    const char* expect;
  };
  for (const Case& c : {Case{0, "threads: the others have returned"}, Case{1, "reached by 64 of 128 threads"},
                        Case{2, "__shfl_down_sync"}, Case{3, "warp divergence"},
                        Case{4, "past the end of shared array s"}, Case{5, "past the end of a device buffer"},
                        Case{6, "reached by 64 of 128 threads"}}) {
    Dev Out(128);
    const std::string err = fault_of([&] { simt_planted::planted_fault(c.which, Out.p); });
    INFO("planted fault " << c.which << ": " << err);
    CHECK(err.find("planted_fault") != std::string::npos);
    CHECK(err.find(c.expect) != std::string::npos);
    if (c.which == 2)  // lane 31 returned before (or while) its warp waits for it
      CHECK((err.find("which has returned") != std::string::npos ||
             err.find("returned while lanes of its warp wait") != std::string::npos));
  }
  // After a reported fault the interpreter runs the next launch normally.
  Dev Out(2);
  std::vector<float> in(10, 1.f);
  Dev In(in);
  simt_planted::block_reduce(In.p, 10, Out.p, false);
  compare("block_reduce after the faults", Out.get(), {10.0, 10.0}, kFp32);
}

}  // namespace

#endif
