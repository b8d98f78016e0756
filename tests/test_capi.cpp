// The C API from a C program (tests/capi/capi_check.c, linked against libsrengine.so only):
// its error paths pass, and the pixels it gets equal what the library computes for the same
// input and options (RGBA 8-bit tiled x4; gray 16-bit with outscale 2.5, in float32 and in
// fp16), byte for byte.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/image.h"
#include "data/image_io.h"
#include "engine/autograd.h"
#include "infer/open_model.h"
#include "infer/upscale_file.h"
#include "layers/precision.h"
#include "support/data_support.h"

using namespace sr;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> slurp_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// What the library gives for `img`, quantised to its bit depth, as the bytes the C API
// writes (uint16 in host order).
std::vector<uint8_t> library_bytes(Module& net, data::Image img, infer::FileOptions fo) {
  const int depth = img.bit_depth;
  std::vector<uint8_t> out;
  NoGradGuard no_grad;
  int out_w = 0, out_h = 0;
  infer::output_size(img.width, img.height, infer::net_scale(net), fo.outscale, out_w, out_h, infer::Spelling::api);
  const size_t per_row = (size_t)out_w * img.channels;
  infer::upscale_image_rows(net, std::move(img), fo, depth, [&](const float* rows, int n) {
    for (size_t i = 0; i < per_row * n; ++i) {
      if (depth == 8) {
        out.push_back(data::quantize_u8(rows[i]));
      } else {
        const uint16_t q = data::quantize_u16(rows[i]);
        uint8_t b[2];
        std::memcpy(b, &q, 2);
        out.insert(out.end(), b, b + 2);
      }
    }
  });
  return out;
}

}  // namespace

TEST_CASE("capi/c_program_matches_the_library") {
  const std::string exe = std::string(SRENGINE_BINARY_DIR) + "/srengine_capi_check";
  if (!fs::exists(exe)) {
    WARN("SKIPPED: " << exe << " is not built");
    return;
  }
  test::TempDir dir;
  const std::string fx = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/infer/";
  const std::string cmd = "SRENGINE_MODELS= " + exe + " " + fx + "config.json " + fx + "rrdbnet_tiny.safetensors " +
                          dir.file("out") + " > " + dir.file("log.txt") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::vector<uint8_t> log = slurp_bytes(dir.file("log.txt"));
  INFO(std::string(log.begin(), log.end()));
  REQUIRE(rc == 0);

  infer::ModelSpec spec;
  spec.config = fx + "config.json";
  spec.weights = fx + "rrdbnet_tiny.safetensors";
  infer::OpenedModel m = infer::open_model(spec);

  // The inputs capi_check.c builds: RGBA rows 64 bytes apart filled with (i * 37 + 11) % 251,
  // and gray 16-bit samples (i * 7919 + 3) % 65536.
  data::Image rgba(13, 11, 4, 8);
  for (int y = 0; y < 11; ++y)
    for (int k = 0; k < 13 * 4; ++k) rgba.pixels[(size_t)y * 52 + k] = (float)(((y * 64 + k) * 37 + 11) % 251) / 255.0f;
  data::Image gray(9, 7, 1, 16);
  for (int i = 0; i < 63; ++i) gray.pixels[i] = (float)((i * 7919u + 3u) % 65536u) / 65535.0f;

  infer::FileOptions tiled;
  tiled.tile.tile = 8;
  const std::vector<uint8_t> want_rgba = library_bytes(*m.net, rgba, tiled);
  CHECK(want_rgba.size() == (size_t)52 * 44 * 4);
  CHECK(slurp_bytes(dir.file("out.rgba8")) == want_rgba);
  infer::FileOptions resized;
  resized.outscale = 2.5;
  const std::vector<uint8_t> want_gray = library_bytes(*m.net, gray, resized);
  CHECK(want_gray.size() == (size_t)22 * 17 * 2);
  CHECK(slurp_bytes(dir.file("out.gray16")) == want_gray);
  // srengine_set_precision("fp16"): the library's fp16 net, byte for byte; not the float32
  // bytes (the precision reached the convolutions), and within fp16's rounding of them.
  set_precision(*m.net, Precision::fp16);
  const std::vector<uint8_t> want_fp16 = library_bytes(*m.net, gray, resized);
  CHECK(slurp_bytes(dir.file("out.gray16_fp16")) == want_fp16);
  REQUIRE(want_fp16.size() == want_gray.size());
  int64_t differ = 0, worst = 0;
  for (size_t i = 0; i < want_gray.size(); i += 2) {
    uint16_t a, b;
    std::memcpy(&a, &want_gray[i], 2);
    std::memcpy(&b, &want_fp16[i], 2);
    differ += a != b;
    worst = std::max<int64_t>(worst, std::abs((int64_t)a - (int64_t)b));
  }
  INFO(differ << " of " << want_gray.size() / 2 << " samples differ, by at most " << worst << " of 65535");
  CHECK(differ > 0);
  CHECK(worst <= 200);  // 0.3% of the range
}

// The size limits (tests/capi/capi_limits.c): srengine_output_size refuses what srengine_upscale
// refuses for size, with its message, and srengine_upscale refuses before allocating.
TEST_CASE("capi/size_limits_refused_alike_and_before_allocating") {
  const std::string exe = std::string(SRENGINE_BINARY_DIR) + "/srengine_capi_limits";
  if (!fs::exists(exe)) {
    WARN("SKIPPED: " << exe << " is not built");
    return;
  }
  test::TempDir dir;
  const std::string fx = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/infer/";
  const std::string cmd = "SRENGINE_MODELS= " + exe + " " + fx + "config.json " + fx + "rrdbnet_tiny.safetensors > " +
                          dir.file("log.txt") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::vector<uint8_t> log = slurp_bytes(dir.file("log.txt"));
  INFO(std::string(log.begin(), log.end()));
  CHECK(rc == 0);
}

// libsrengine.so exports the C API and nothing else (the engine's C++ symbols stay inside).
TEST_CASE("capi/shared_library_exports_only_the_c_api") {
  const std::string lib = std::string(SRENGINE_BINARY_DIR) + "/libsrengine.so";
  if (!fs::exists(lib) || std::system("command -v nm > /dev/null 2>&1") != 0) {
    WARN("SKIPPED: " << lib << " or nm is missing");
    return;
  }
  test::TempDir dir;
  REQUIRE(std::system(("nm -D --defined-only " + lib + " > " + dir.file("syms.txt")).c_str()) == 0);
  std::ifstream f(dir.file("syms.txt"));
  std::string line;
  int api = 0;
  std::vector<std::string> other;
  while (std::getline(f, line)) {
    const std::string name = line.substr(line.rfind(' ') + 1);
    if (name.rfind("srengine_", 0) == 0) ++api;
    else other.push_back(name);
  }
  INFO("other exported symbols, first: " << (other.empty() ? "" : other.front()));
  CHECK(api == 11);
  CHECK(other.empty());
}

// The installed binaries' RUNPATH has no empty entry ("a:b:" or "a::b"), which the loader reads
// as the current directory: CMake ended the build-tree copies' RUNPATH with ':' (room for an
// install-time rewrite) until they were linked once with their install RUNPATH.
TEST_CASE("capi/runpath_has_no_empty_entry") {
  if (std::system("command -v readelf > /dev/null 2>&1") != 0) {
    WARN("SKIPPED: readelf is missing");
    return;
  }
  test::TempDir dir;
  for (const std::string name : {"libsrengine.so", "srengine"}) {
    const std::string file = std::string(SRENGINE_BINARY_DIR) + "/" + name;
    REQUIRE(fs::exists(file));
    REQUIRE(std::system(("readelf -d " + file + " > " + dir.file("dyn.txt")).c_str()) == 0);
    std::ifstream f(dir.file("dyn.txt"));
    std::string line;
    while (std::getline(f, line)) {
      const size_t open = line.find("path: [");
      if (open == std::string::npos) continue;
      const std::string path = line.substr(open + 7, line.rfind(']') - open - 7);
      INFO(name << ": " << line);
      CHECK(!path.empty());
      CHECK(path.front() != ':');
      CHECK(path.back() != ':');
      CHECK(path.find("::") == std::string::npos);
    }
  }
}
