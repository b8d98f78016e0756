// Implementation of the data/ test helpers.
#include "support/data_support.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "engine/error.h"

namespace sr::test {
namespace fs = std::filesystem;

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  const fs::path base = fs::temp_directory_path();
  path_ = (base / ("srengine_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++))).string();
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::subdir(const std::string& name) const {
  const std::string p = file(name);
  fs::create_directories(p);
  return p;
}

std::string data_fixture(const std::string& name) { return std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/data/" + name; }
std::string infer_fixture(const std::string& name) {
  return std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/infer/" + name;
}

data::Image read_f32_fixture(const std::string& name) {
  const std::string path = data_fixture(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open");
  char magic[8];
  int32_t chw[3];
  in.read(magic, 8);
  in.read(reinterpret_cast<char*>(chw), sizeof chw);
  if (!in || std::memcmp(magic, "SRF32\0\0\0", 8) != 0) fail(path, ": not an SRF32 file");
  data::Image img(chw[2], chw[1], chw[0], 8);
  in.read(reinterpret_cast<char*>(img.pixels.data()), (std::streamsize)(img.pixels.size() * sizeof(float)));
  if (!in) fail(path, ": truncated");
  return img;
}

data::Image random_image(std::mt19937_64& rng, int width, int height, int channels, int bit_depth) {
  data::Image img(width, height, channels, bit_depth);
  const uint32_t maxv = bit_depth == 16 ? 65535u : 255u;
  std::uniform_int_distribution<uint32_t> dist(0, maxv);
  for (float& v : img.pixels) v = (float)dist(rng) / (float)maxv;
  return img;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), (std::streamsize)bytes.size());
  if (!out) fail(path, ": cannot write");
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) fail(path, ": cannot write");
}

std::string require_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  std::string message;
  try {
    fn();
  } catch (const Error& e) {
    message = e.what();
  }
  INFO("error message: '" << message << "'");
  REQUIRE(!message.empty());
  for (const std::string& p : parts) {
    INFO("expected to contain: '" << p << "'");
    CHECK(message.find(p) != std::string::npos);
  }
  return message;
}

std::string srengine_exe() { return std::string(SRENGINE_BINARY_DIR) + "/srengine"; }

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::pair<int, int> level_diff(const data::Image& a, const data::Image& b) {
  REQUIRE(a.width == b.width);
  REQUIRE(a.height == b.height);
  REQUIRE(a.channels == b.channels);
  int worst = 0, differing = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    const int d = std::abs(data::quantize_u8(a.pixels[i]) - data::quantize_u8(b.pixels[i]));
    worst = std::max(worst, d);
    differing += d > 0;
  }
  return {worst, differing};
}

}  // namespace sr::test
