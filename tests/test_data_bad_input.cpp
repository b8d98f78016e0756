// Bad input never crashes or hangs: each case is one clear sr::Error naming the file
// (zero bytes, truncation, wrong format, bomb headers, broken folders and meta_info).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/image_io.h"
#include "engine/error.h"
#include "support/data_support.h"

using namespace sr;
using namespace sr::data;

namespace {

std::vector<uint8_t> fixture_bytes(const std::string& name) { return read_file_bytes(test::data_fixture(name)); }

// CRC-32 (ISO-HDLC, as PNG chunks use), bitwise.
uint32_t crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c ^ 0xffffffffu;
}

void put_be32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back((uint8_t)(x >> s));
}

void put_chunk(std::vector<uint8_t>& png, const char* type, const std::vector<uint8_t>& data) {
  put_be32(png, (uint32_t)data.size());
  std::vector<uint8_t> body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  png.insert(png.end(), body.begin(), body.end());
  put_be32(png, crc32(body.data(), body.size()));
}

// A valid PNG signature and IHDR claiming width x height RGB8, then one IDAT holding
// an empty zlib stream, then IEND: a bomb's header with (almost) nothing behind it.
std::vector<uint8_t> png_header_only(uint32_t width, uint32_t height) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  std::vector<uint8_t> ihdr;
  put_be32(ihdr, width);
  put_be32(ihdr, height);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
  put_chunk(png, "IHDR", ihdr);
  put_chunk(png, "IDAT", {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
  put_chunk(png, "IEND", {});
  return png;
}

}  // namespace

TEST_CASE("data/bad_zero_byte_file") {
  test::TempDir dir;
  test::write_bytes(dir.file("empty.png"), {});
  test::require_error([&] { read_image(dir.file("empty.png")); }, {dir.file("empty.png"), "empty file"});
  test::require_error([&] { decode_png(nullptr, 0, "x.png"); }, {"x.png", "empty"});
  test::require_error([&] { decode_jpeg(nullptr, 0, "x.jpg"); }, {"x.jpg", "empty"});
}

TEST_CASE("data/bad_truncated_png") {
  const std::vector<uint8_t> png = fixture_bytes("ladybird_60.png");
  for (size_t keep : {size_t(4), size_t(8), size_t(20), size_t(33), png.size() / 3, png.size() / 2,
                      png.size() - 12, png.size() - 1}) {
    INFO("kept " << keep << " of " << png.size() << " bytes");
    const std::vector<uint8_t> cut(png.begin(), png.begin() + keep);
    test::require_error([&] { decode_image(cut.data(), cut.size(), "cut.png"); }, {"cut.png"});
  }
  std::vector<uint8_t> cut(png.begin(), png.begin() + png.size() / 2);
  test::require_error([&] { decode_png(cut.data(), cut.size(), "cut.png"); }, {"cut.png", "cannot decode PNG"});
}

TEST_CASE("data/bad_truncated_jpeg") {
  const std::vector<uint8_t> jpg = fixture_bytes("coffee_48_q90.jpg");
  for (size_t keep : {size_t(3), size_t(40), jpg.size() / 3, jpg.size() / 2, jpg.size() - 2}) {
    INFO("kept " << keep << " of " << jpg.size() << " bytes");
    const std::vector<uint8_t> cut(jpg.begin(), jpg.begin() + keep);
    test::require_error([&] { decode_image(cut.data(), cut.size(), "cut.jpg"); }, {"cut.jpg"});
  }
  const std::vector<uint8_t> cut(jpg.begin(), jpg.begin() + jpg.size() / 2);
  test::require_error([&] { decode_jpeg(cut.data(), cut.size(), "cut.jpg"); }, {"cut.jpg", "Premature end"});
}

TEST_CASE("data/bad_text_file_named_png") {
  test::TempDir dir;
  const std::string text = "this is not an image\n";
  test::write_bytes(dir.file("notes.png"), std::vector<uint8_t>(text.begin(), text.end()));
  test::require_error([&] { read_image(dir.file("notes.png")); },
                      {dir.file("notes.png"), "not a PNG, JPEG", "\"this is "});
  // A real PNG under a .jpg name decodes: the signature decides, not the extension.
  test::write_bytes(dir.file("really_png.jpg"), fixture_bytes("coffee_48.png"));
  CHECK(read_image(dir.file("really_png.jpg")).width == 48);
}

TEST_CASE("data/bad_bomb_header_png") {
  const std::vector<uint8_t> bomb = png_header_only(100000, 100000);
  test::require_error([&] { decode_image(bomb.data(), bomb.size(), "bomb.png"); },
                      {"bomb.png", "100000x100000", "10000000000 pixels", "limit of 100000000"});
  // Under the limit the same header gets as far as the missing pixel data.
  const std::vector<uint8_t> small = png_header_only(10, 10);
  test::require_error([&] { decode_image(small.data(), small.size(), "small.png"); }, {"small.png", "cannot decode PNG"});
  CHECK(probe_image(bomb.data(), bomb.size(), "bomb.png").width == 100000);
}

TEST_CASE("data/bad_bomb_header_jpeg") {
  std::vector<uint8_t> jpg = fixture_bytes("coffee_48_q90.jpg");
  bool patched = false;
  for (size_t i = 0; i + 8 < jpg.size(); ++i) {
    if (jpg[i] == 0xff && (jpg[i + 1] == 0xc0 || jpg[i + 1] == 0xc2)) {  // SOF0/SOF2: len, P, H, W
      jpg[i + 5] = 0xea, jpg[i + 6] = 0x60;                                 // height 60000
      jpg[i + 7] = 0xea, jpg[i + 8] = 0x60;                                 // width 60000
      patched = true;
      break;
    }
  }
  REQUIRE(patched);
  test::require_error([&] { decode_image(jpg.data(), jpg.size(), "bomb.jpg"); },
                      {"bomb.jpg", "60000x60000", "limit of"});
}

TEST_CASE("data/bad_corrupt_bytes_never_crash") {
  // Random byte damage: every outcome is a decoded image or an sr::Error, nothing else.
  std::mt19937_64 rng(2024);
  for (const char* name : {"ladybird_60.png", "coffee_48_q90.jpg", "pattern_rgb8_adam7.png", "palette_trns.png"}) {
    const std::vector<uint8_t> good = fixture_bytes(name);
    int errors = 0;
    for (int trial = 0; trial < 150; ++trial) {
      std::vector<uint8_t> bad = good;
      const int flips = 1 + (int)(rng() % 8);
      for (int f = 0; f < flips; ++f) bad[8 + rng() % (bad.size() - 8)] ^= (uint8_t)(1 + rng() % 255);
      try {
        const Image img = decode_image(bad.data(), bad.size(), name);
        CHECK(img.pixels.size() == (size_t)img.width * img.height * img.channels);
      } catch (const Error&) {
        ++errors;
      }
    }
    INFO(name << ": " << errors << " of 150 damaged copies refused");
    CHECK(errors > 0);
  }
}

TEST_CASE("data/bad_directories") {
  test::TempDir dir;
  test::require_error([&] { list_image_files(dir.file("nope")); }, {dir.file("nope"), "does not exist"});
  test::write_bytes(dir.file("file.txt"), {1, 2, 3});
  test::require_error([&] { list_image_files(dir.file("file.txt")); }, {dir.file("file.txt"), "not a folder"});
  const std::string empty = dir.subdir("empty");
  test::write_bytes(empty + "/readme.md", {'x'});
  test::require_error([&] { list_image_files(empty); }, {empty, "no images in folder"});
  DataConfig cfg;
  cfg.type = DatasetType::single;
  cfg.dataroot_gt = empty;
  test::require_error([&] { Dataset ds(cfg); }, {empty, "no images in folder"});
  test::require_error([&] { read_image(empty); }, {empty, "is a folder"});
  test::require_error([&] { read_image(dir.file("missing.png")); }, {dir.file("missing.png"), "no such file"});
  // A named pipe would block a reader forever; it is refused without opening it.
  const std::string fifo = dir.file("pipe.png");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  test::require_error([&] { read_image(fifo); }, {fifo, "not a regular file"});
  if (::geteuid() != 0) {
    const std::string locked = dir.subdir("locked");
    std::filesystem::permissions(locked, std::filesystem::perms::none);
    test::require_error([&] { list_image_files(locked); }, {locked});
    std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
  } else {
    WARN("running as root: the unreadable-folder case cannot be made with permissions, skipped");
  }
}

TEST_CASE("data/bad_meta_info_lines") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt");
  test::write_bytes(gt + "/a.png", fixture_bytes("coffee_48.png"));
  auto write_meta = [&](const std::string& text) {
    std::ofstream(dir.file("meta.txt")) << text;
    DataConfig cfg;
    cfg.type = DatasetType::single;
    cfg.dataroot_gt = gt;
    cfg.meta_info_file = dir.file("meta.txt");
    return cfg;
  };
  CHECK(Dataset(write_meta("a.png (48,48,3)\n\n")).size() == 1);
  CHECK(Dataset(write_meta("a.png\n")).size() == 1);
  test::require_error([&] { Dataset ds(write_meta("a.png (48,48,3)\na.png (48,48\n")); },
                      {dir.file("meta.txt"), "line 2", "cannot parse"});
  test::require_error([&] { Dataset ds(write_meta("a.png (48,48,3)\nb.png (48,48,3)\n")); },
                      {dir.file("meta.txt"), "line 2", gt + "/b.png", "does not exist"});
  test::require_error([&] { Dataset ds(write_meta("(48,48,3) a.png\n")); }, {"line 1", "cannot parse"});
  test::require_error([&] { Dataset ds(write_meta("notes.txt (48,48,3)\n")); }, {"line 1", "'notes.txt' is not a .png/.jpg"});
  test::require_error([&] { Dataset ds(write_meta("\n\n")); }, {dir.file("meta.txt"), "lists no images"});
  // A size that disagrees with the file is caught when the image is read.
  Dataset ds(write_meta("a.png (40,48,3)\n"));
  test::require_error([&] { ds.load_pair(0); }, {gt + "/a.png", "48x48", "line 1", "48x40"});
  DataConfig missing = write_meta("a.png\n");
  missing.meta_info_file = dir.file("nope.txt");
  test::require_error([&] { Dataset d(missing); }, {dir.file("nope.txt"), "cannot open"});
}
