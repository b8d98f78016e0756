// WebP (libwebp), TIFF (libtiff) and BMP (by hand): files written by PIL and hand-built
// layouts read to the pixels PIL (or the builder) has (tools/make_format_fixtures.py),
// lossless round trips at 8 and 16 bits with every channel count, the streaming row writer
// byte-identical to the whole-image encoder, files srengine writes read back by PIL, and
// hostile input: pixel limits checked from the header before allocating, truncations and
// random damage refused cleanly, unsupported variants named.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "data/image.h"
#include "data/image_io.h"
#include "data/image_row_writer.h"
#include "data/raw_pixels.h"
#include "engine/error.h"
#include "support/data_support.h"

using namespace sr;
using namespace sr::data;
namespace fs = std::filesystem;

namespace {

std::string formats_fixture(const std::string& name) {
  return std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/formats/" + name;
}

// The 8- or 16-bit integer samples of an image, for exact comparisons.
std::vector<int> quantized_levels(const Image& img) {
  std::vector<int> out(img.pixels.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = img.bit_depth == 16 ? quantize_u16(img.pixels[i]) : quantize_u8(img.pixels[i]);
  return out;
}

// A build without libtiff or libwebp (CMake found no -dev package) cannot run these cases;
// it must say so instead of failing or passing silently.
bool tiff_and_webp_built() {
  if (image_format_built(ImageFormat::tiff) && image_format_built(ImageFormat::webp)) return true;
  WARN("skipped: this build has no TIFF or no WebP support (install libtiff-dev libwebp-dev and reconfigure)");
  return false;
}

void write_u32le(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int k = 0; k < 4; ++k) b[at + k] = (uint8_t)(v >> (8 * k));
}

}  // namespace

TEST_CASE("formats/files_from_other_software_read_exactly") {
  if (!tiff_and_webp_built()) return;
  for (const char* name :
       {"webp_lossless_rgb.webp", "webp_lossless_rgba.webp", "webp_lossy_rgb.webp", "tiff_rgb8_deflate.tif",
        "tiff_rgba8_lzw.tif", "tiff_gray8.tif", "tiff_gray16.tif", "tiff_palette.tif", "tiff_bilevel_g4.tif",
        "tiff_rgb16_be.tif", "bmp_gray8.bmp", "bmp_palette8.bmp", "bmp_1bit.bmp", "bmp_rgb24.bmp",
        "bmp_palette4.bmp", "bmp_rgb565.bmp", "bmp_bgra32_v4.bmp", "bmp_rgb24_topdown.bmp", "bmp_os2_rgb24.bmp"}) {
    INFO(name);
    const std::string stem = fs::path(name).stem().string();
    const Image got = read_image(formats_fixture(name));
    const Image want = read_image(formats_fixture(stem + "_expected.png"));
    REQUIRE(got.width == want.width);
    REQUIRE(got.height == want.height);
    REQUIRE(got.channels == want.channels);
    REQUIRE(got.bit_depth == want.bit_depth);
    CHECK(quantized_levels(got) == quantized_levels(want));
    const ImageInfo info = read_image_info(formats_fixture(name));
    CHECK(info.width == got.width);
    CHECK(info.height == got.height);
    CHECK(info.channels == got.channels);
    CHECK(info.bit_depth == got.bit_depth);
    // A region gives the same samples as cropping the whole image.
    DecodeOptions opt;
    opt.region = {1, 2, got.height - 2, got.width - 3};
    const Image part = read_image(formats_fixture(name), opt);
    REQUIRE(part.width == got.width - 3);
    for (int y = 0; y < part.height; ++y)
      for (int x = 0; x < part.width; ++x)
        for (int c = 0; c < part.channels; ++c) REQUIRE(part.at(y, x, c) == got.at(y + 1, x + 2, c));
  }
  CHECK(is_image_file_name("a.WebP"));
  CHECK(is_image_file_name("a.tif"));
  CHECK(is_image_file_name("a.TIFF"));
  CHECK(is_image_file_name("a.bmp"));
}

// What goes in comes out: TIFF keeps 8/16 bits and 1..4 channels; WebP (lossless) stores gray
// as RGB; BMP stores gray+alpha as RGBA; both are 8-bit.
TEST_CASE("formats/round_trips") {
  if (!tiff_and_webp_built()) return;
  std::mt19937_64 rng(11);
  test::TempDir dir;
  for (int channels = 1; channels <= 4; ++channels)
    for (int depth : {8, 16})
      for (const char* ext : {".tif", ".webp", ".bmp"}) {
        const std::string e = ext;
        if (depth == 16 && e != ".tif") continue;
        INFO(e << " " << channels << " channels, " << depth << "-bit");
        const Image img = test::random_image(rng, 19, 13, channels, depth);
        const std::string path = dir.file("rt" + std::to_string(channels) + "_" + std::to_string(depth) + e);
        write_image(path, img);
        const Image back = read_image(path);
        const int expect_channels = e == ".webp" && channels <= 2  ? channels + 2
                                    : e == ".bmp" && channels == 2 ? 4
                                                                   : channels;
        REQUIRE(back.channels == expect_channels);
        REQUIRE(back.bit_depth == depth);
        CHECK(quantized_levels(back) == quantized_levels(convert_channels(img, expect_channels)));
        // The streaming writer produces the same file, fed in uneven row batches.
        const std::string rows = dir.file("rows_" + fs::path(path).filename().string());
        ImageRowWriter w(rows, img.width, img.height, img.channels, depth);
        for (int y = 0; y < img.height;) {
          const int n = std::min(y % 3 + 1, img.height - y);
          w.write_rows(img.pixels.data() + (size_t)y * img.width * img.channels, n);
          y += n;
        }
        w.finish();
        CHECK(read_file_bytes(rows) == read_file_bytes(path));
      }
  // Lossy WebP: close, not exact; quality is honoured.
  const Image photo = read_image(formats_fixture("webp_lossless_rgb_expected.png"));
  EncodeOptions lossy;
  lossy.webp_quality = 90;
  write_image(dir.file("lossy.webp"), photo, lossy);
  const Image back = read_image(dir.file("lossy.webp"));
  double err = 0;
  for (size_t i = 0; i < back.pixels.size(); ++i) err += std::abs(back.pixels[i] - photo.pixels[i]);
  CHECK(err / back.pixels.size() < 0.03);
  CHECK(fs::file_size(dir.file("lossy.webp")) < fs::file_size(formats_fixture("webp_lossless_rgb.webp")));
  test::require_error([&] { ImageRowWriter(dir.file("big.webp"), 20000, 2, 3, 8); }, {"big.webp", "16383"});
  test::require_error([&] { ImageRowWriter(dir.file("deep.bmp"), 2, 2, 3, 16); }, {"deep.bmp", "8-bit"});
}

// srengine's files as other software reads them: PIL (Debian's python3-pil, a test
// dependency in tools/setup.sh) decodes them to the same samples.
TEST_CASE("formats/written_files_read_by_pil") {
  if (!tiff_and_webp_built()) return;
  const char* py = std::getenv("SRENGINE_PYTHON") ? std::getenv("SRENGINE_PYTHON") : "/usr/bin/python3";
  if (std::system((std::string(py) + " -c 'import PIL, numpy' > /dev/null 2>&1").c_str()) != 0) {
    std::printf("SKIPPED: %s with PIL and numpy is not available (tools/setup.sh)\n", py);
    WARN("SKIPPED: " << py << " with PIL and numpy is not available");
    return;
  }
  test::TempDir dir;
  std::mt19937_64 rng(12);
  std::vector<std::pair<std::string, Image>> files;
  for (int channels : {1, 3, 4}) {
    const Image img = test::random_image(rng, 17, 11, channels);
    for (const char* ext : {".tif", ".webp", ".bmp"}) {
      const std::string path = dir.file("pil" + std::to_string(channels) + ext);
      write_image(path, img);
      files.emplace_back(path, img);
    }
  }
  // PIL writes each file's samples as a PNG; srengine compares them with what it wrote.
  std::ofstream script(dir.file("to_png.py"));
  script << "import sys\nfrom PIL import Image\nfor p in sys.argv[1:]:\n"
            "    im = Image.open(p)\n    im.load()\n"
            "    im.convert({'1': 'L', 'P': 'RGB'}.get(im.mode, im.mode)).save(p + '.pil.png')\n";
  script.close();
  std::string cmd = std::string(py) + " " + dir.file("to_png.py");
  for (const auto& [p, img] : files) cmd += " " + p;
  REQUIRE(std::system((cmd + " > " + dir.file("log.txt") + " 2>&1").c_str()) == 0);
  for (const auto& [p, img] : files) {
    INFO(p);
    const Image pil = read_image(p + ".pil.png");
    const std::string ext = fs::path(p).extension().string();
    const int c = ext == ".webp" && img.channels == 1 ? 3 : img.channels;
    REQUIRE(pil.channels == c);
    CHECK(quantized_levels(pil) == quantized_levels(convert_channels(img, c)));
  }
}

// The limit is checked on the header's numbers before anything is allocated; TIFF sides are
// 32-bit, so their product can overflow int64 and must be compared without multiplying.
TEST_CASE("formats/pixel_limit_never_overflows") {
  test::require_error([] { check_pixel_limit("huge.tif", 3221225486LL, 3170893833LL, 1LL << 28); },
                      {"huge.tif", "3221225486x3170893833", "more than 2^63", "limit of"});
  test::require_error([] { check_pixel_limit("big.tif", 1LL << 31, 1LL << 31, 1LL << 28); },
                      {"big.tif", "4611686018427387904 pixels"});
  check_pixel_limit("edge.png", 60, 60, 3600);  // exactly at the limit passes
  test::require_error([] { check_pixel_limit("edge.png", 61, 59, 3598); }, {"3599 pixels"});
}

TEST_CASE("formats/hostile_headers_refused_before_allocating") {
  if (!tiff_and_webp_built()) return;
  // BMP: 100000 x 100000 x 24-bit announced in a 60-byte file.
  std::vector<uint8_t> bmp = read_file_bytes(formats_fixture("bmp_rgb24_topdown.bmp"));
  write_u32le(bmp, 18, 100000);
  write_u32le(bmp, 22, 100000);
  test::require_error([&] { decode_image(bmp.data(), bmp.size(), "bomb.bmp"); },
                      {"bomb.bmp", "100000x100000", "limit of 100000000"});
  // Under the limit, the same lie is a truncated file (rows checked against the size).
  write_u32le(bmp, 18, 1000);
  write_u32le(bmp, 22, 1000);
  test::require_error([&] { decode_image(bmp.data(), bmp.size(), "short.bmp"); }, {"short.bmp", "truncated"});
  // TIFF: the width and height tags of a baseline file set to 100000.
  std::vector<uint8_t> tif = read_file_bytes(formats_fixture("tiff_rgb16_be.tif"));
  for (size_t e = 10; e + 12 <= tif.size() && e < 10 + 12 * 10; e += 12) {
    const int tag = tif[e] << 8 | tif[e + 1];
    if (tag == 256 || tag == 257) tif[e + 8] = 0, tif[e + 9] = 0x01, tif[e + 10] = 0x86, tif[e + 11] = 0xa0;
  }
  test::require_error([&] { decode_image(tif.data(), tif.size(), "bomb.tif"); },
                      {"bomb.tif", "100000x100000", "limit of"});
  // WebP: a lossless header announcing 16383 x 16383 and no data.
  std::vector<uint8_t> webp = {'R', 'I', 'F', 'F', 0,   0, 0, 0, 'W', 'E', 'B',
                               'P', 'V', 'P', '8', 'L', 6, 0, 0, 0,   0x2f};
  const uint32_t bits = 16382u | 16382u << 14;  // width-1, height-1; no alpha, version 0
  for (int k = 0; k < 4; ++k) webp.push_back((uint8_t)(bits >> (8 * k)));
  webp.push_back(0);
  write_u32le(webp, 4, (uint32_t)webp.size() - 8);
  test::require_error([&] { decode_image(webp.data(), webp.size(), "bomb.webp"); },
                      {"bomb.webp", "16383x16383", "limit of"});
  // A caller's lower limit is honoured by every decoder.
  DecodeOptions tiny;
  tiny.max_pixels = 50;
  for (const char* name : {"webp_lossless_rgb.webp", "tiff_rgb8_deflate.tif", "bmp_rgb24.bmp"})
    test::require_error([&] { read_image(formats_fixture(name), tiny); }, {name, "limit of 50"});
  // Variants that are refused with their name.
  test::require_error([&] { read_image(formats_fixture("bad_bmp_rle8.bmp")); }, {"RLE-compressed BMP"});
  std::vector<uint8_t> masks = read_file_bytes(formats_fixture("bmp_rgb565.bmp"));
  write_u32le(masks, 54, 0xF00F);  // a mask with a hole
  test::require_error([&] { decode_image(masks.data(), masks.size(), "m.bmp"); }, {"m.bmp", "contiguous"});
  std::vector<uint8_t> pal = read_file_bytes(formats_fixture("bmp_palette4.bmp"));
  write_u32le(pal, 46, 2);  // 2 colours, indices up to 10
  test::require_error([&] { decode_image(pal.data(), pal.size(), "p.bmp"); }, {"p.bmp", "palette index"});
}

// Truncations at every length and random byte damage: a decoded image or an sr::Error,
// never a crash (the fuzz target tools/fuzz/fuzz_decode.cpp runs the same under ASan).
TEST_CASE("formats/damaged_files_never_crash") {
  if (!tiff_and_webp_built()) return;
  std::mt19937_64 rng(77);
  for (const char* name : {"webp_lossless_rgba.webp", "webp_lossy_rgb.webp", "tiff_rgb8_deflate.tif",
                           "tiff_rgba8_lzw.tif", "tiff_gray16.tif", "tiff_palette.tif", "bmp_palette8.bmp",
                           "bmp_bgra32_v4.bmp", "bmp_rgb565.bmp"}) {
    const std::vector<uint8_t> good = read_file_bytes(formats_fixture(name));
    int errors = 0, trials = 0;
    auto attempt = [&](const std::vector<uint8_t>& bad) {
      ++trials;
      try {
        const Image img = decode_image(bad.data(), bad.size(), name);
        CHECK(img.pixels.size() == (size_t)img.width * img.height * img.channels);
      } catch (const Error&) {
        ++errors;
      }
    };
    for (size_t n = 0; n < good.size(); n += 1 + good.size() / 97) attempt({good.begin(), good.begin() + n});
    for (int t = 0; t < 150; ++t) {
      std::vector<uint8_t> bad = good;
      const int flips = 1 + (int)(rng() % 8);
      for (int f = 0; f < flips; ++f) bad[4 + rng() % (bad.size() - 4)] ^= (uint8_t)(1 + rng() % 255);
      attempt(bad);
    }
    INFO(name << ": " << errors << " of " << trials << " damaged copies refused");
    CHECK(errors > 0);
  }
}
