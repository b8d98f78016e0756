// PNG/JPEG decoding and encoding: exact round trips at 8 and 16 bits for every channel
// layout, the odd PNG kinds (palette + tRNS, 1-bit, Adam7, 16-bit alpha) against
// independently written files, JPEG against PIL's decode, and the tensor conversions.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <random>

#include <jpeglib.h>

#include "data/image.h"
#include "data/image_io.h"
#include "support/data_support.h"
#include "support/fresh_seed.h"

using namespace sr;
using namespace sr::data;

namespace {

// Integer sample values of an image at its bit depth.
std::vector<int> levels(const Image& img) {
  const float maxv = img.bit_depth == 16 ? 65535.0f : 255.0f;
  std::vector<int> out;
  for (float v : img.pixels) out.push_back((int)std::lround(v * maxv));
  return out;
}

Image decode_file(const std::string& name) { return read_image(test::data_fixture(name)); }

}  // namespace

TEST_CASE("data/png_roundtrip_8bit") {
  std::mt19937_64 rng(11);
  for (int channels = 1; channels <= 4; ++channels) {
    const Image img = test::random_image(rng, 17, 9, channels, 8);
    const std::vector<uint8_t> png = encode_png(img, "mem.png");
    const Image back = decode_png(png.data(), png.size(), "mem.png");
    CHECK(back.width == 17);
    CHECK(back.height == 9);
    CHECK(back.channels == channels);
    CHECK(back.bit_depth == 8);
    CHECK(back.pixels == img.pixels);  // k/255 survives exactly
  }
}

TEST_CASE("data/png_roundtrip_16bit") {
  std::mt19937_64 rng(12);
  for (int channels = 1; channels <= 4; ++channels) {
    const Image img = test::random_image(rng, 8, 13, channels, 16);
    const std::vector<uint8_t> png = encode_png(img, "mem.png");
    const Image back = decode_image(png.data(), png.size(), "mem.png");
    CHECK(back.channels == channels);
    CHECK(back.bit_depth == 16);
    CHECK(levels(back) == levels(img));
    CHECK(back.pixels == img.pixels);
  }
  // Writing a 16-bit image at 8 bits rounds each sample to the nearest level.
  const Image img = test::random_image(rng, 5, 5, 3, 16);
  const std::vector<uint8_t> png8 = encode_png(img, "mem.png", 8);
  const Image back = decode_png(png8.data(), png8.size(), "mem.png");
  CHECK(back.bit_depth == 8);
  for (size_t i = 0; i < img.pixels.size(); ++i) CHECK(std::fabs(back.pixels[i] - img.pixels[i]) <= 0.5f / 255 + 1e-6f);
}

TEST_CASE("data/png_decode_pattern_files") {
  // Files written by tools/ref_imresize_metrics.py's own PNG writer; sample (y, x, c) =
  // (x*ax + y*ay + c*ac) % mod.
  struct Case {
    const char* name;
    int w, h, c, depth, ax, ay, ac, mod;
  };
  const Case cases[] = {{"pattern_rgb8_adam7.png", 13, 11, 3, 8, 37, 11, 101, 256},
                        {"pattern_gray16.png", 9, 7, 1, 16, 4099, 7919, 0, 65536},
                        {"pattern_rgba16.png", 5, 4, 4, 16, 4099, 7919, 12345, 65536},
                        {"pattern_graya8.png", 6, 5, 2, 8, 40, 7, 90, 256}};
  for (const Case& k : cases) {
    INFO(k.name);
    const Image img = decode_file(k.name);
    REQUIRE(img.width == k.w);
    REQUIRE(img.height == k.h);
    REQUIRE(img.channels == k.c);
    CHECK(img.bit_depth == k.depth);
    const std::vector<int> got = levels(img);
    int bad = 0;
    for (int y = 0; y < k.h; ++y)
      for (int x = 0; x < k.w; ++x)
        for (int c = 0; c < k.c; ++c)
          bad += got[((size_t)y * k.w + x) * k.c + c] != (x * k.ax + y * k.ay + c * k.ac) % k.mod;
    CHECK(bad == 0);
  }
}

TEST_CASE("data/png_palette_trns_and_1bit") {
  const Image pal = decode_file("palette_trns.png"), rgba = decode_file("palette_trns_rgba.png");
  CHECK(pal.channels == 4);  // tRNS became alpha
  CHECK(pal.pixels == rgba.pixels);
  const Image bits = decode_file("gray1.png"), gray = decode_file("gray1_l.png");
  CHECK(bits.channels == 1);
  CHECK(bits.pixels == gray.pixels);  // 1-bit values scaled to 0 / 255
  const ImageInfo info = read_image_info(test::data_fixture("palette_trns.png"));
  CHECK(info.format == ImageFormat::png);
  CHECK(info.width == 10);
  CHECK(info.height == 8);
  CHECK(info.channels == 4);
}

TEST_CASE("data/jpeg_decode_matches_pil") {
  for (const char* base : {"coffee_48_q90", "coffee_48_gray_q90"}) {
    INFO(base);
    const Image jpg = decode_file(std::string(base) + ".jpg");
    const Image ref = decode_file(std::string(base) + "_pil.png");
    REQUIRE(jpg.channels == ref.channels);
    REQUIRE(jpg.width == 48);
    const std::vector<int> a = levels(jpg), b = levels(ref);
    int worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    CHECK(worst <= 1);  // same libjpeg family; allow an IDCT rounding difference
  }
}

// A CMYK JPEG (libjpeg writes Adobe's marker and the values as given) is read as OpenCV reads
// it: R = K - ((255 - C) K >> 8), G from M, B from Y, on the stored values. Flat 8x8 blocks at
// quality 100 come back within a level or two of what was written.
TEST_CASE("data/jpeg_cmyk_reads_as_opencv_does") {
  test::TempDir dir;
  const std::string path = dir.file("cmyk.jpg");
  std::mt19937_64 rng(test::fresh_seed());
  const int W = 32, H = 16;  // 4 x 2 blocks of one colour each
  std::vector<unsigned char> colours(8 * 4);
  for (auto& v : colours) v = (unsigned char)(rng() % 256);
  std::vector<unsigned char> cmyk(W * H * 4);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < 4; ++c) cmyk[(y * W + x) * 4 + c] = colours[((y / 8) * 4 + x / 8) * 4 + c];
  {
    jpeg_compress_struct ci;
    jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = W;
    ci.image_height = H;
    ci.input_components = 4;
    ci.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 100, TRUE);
    for (int c = 0; c < 4; ++c) ci.comp_info[c].h_samp_factor = ci.comp_info[c].v_samp_factor = 1;
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
      JSAMPROW row = cmyk.data() + ci.next_scanline * W * 4;
      jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    std::fclose(f);
  }
  const data::ImageInfo info = data::read_image_info(path);
  CHECK(info.channels == 3);
  const data::Image img = data::read_image(path);
  REQUIRE((img.width == W && img.height == H && img.channels == 3 && img.bit_depth == 8));
  int worst = 0;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const unsigned char* p = &cmyk[(y * W + x) * 4];
      for (int c = 0; c < 3; ++c) {
        const int want = p[3] - (((255 - p[c]) * p[3]) >> 8);
        worst = std::max(worst, std::abs(data::quantize_u8(img.at(y, x, c)) - want));
      }
    }
  CHECK(worst <= 2);
}

TEST_CASE("data/jpeg_roundtrip") {
  const Image src = decode_file("coffee_48.png");
  for (int channels : {1, 3}) {
    const Image img = convert_channels(src, channels);
    const std::vector<uint8_t> jpg = encode_jpeg(img, "mem.jpg", 95);
    const Image back = decode_image(jpg.data(), jpg.size(), "mem.jpg");
    REQUIRE(back.channels == channels);
    double err = 0;
    for (size_t i = 0; i < img.pixels.size(); ++i) err += std::fabs(back.pixels[i] - img.pixels[i]);
    err /= (double)img.pixels.size();
    INFO("mean abs error " << err * 255 << " levels");
    CHECK(err * 255 < 2.5);
    CHECK(err > 0);  // it is lossy: a test that cannot tell encode from copy would pass 0
  }
  test::require_error([&] { encode_jpeg(convert_channels(src, 4), "a.jpg"); }, {"a.jpg", "alpha"});
}

TEST_CASE("data/write_read_file_by_extension") {
  test::TempDir dir;
  std::mt19937_64 rng(3);
  const Image img = test::random_image(rng, 7, 6, 3, 16);
  write_image(dir.file("a.png"), img);
  CHECK(read_image(dir.file("a.png")).pixels == img.pixels);
  write_image(dir.file("b.JPG"), img);
  CHECK(read_image(dir.file("b.JPG")).channels == 3);
  test::require_error([&] { write_image(dir.file("c.gif"), img); }, {"c.gif", ".gif"});
  test::require_error([&] { write_image(dir.file("missing/d.png"), img); }, {"missing/d.png"});
}

TEST_CASE("data/quantize_round_half_even") {
  // Values whose float32 product with 255 lands exactly on k + 0.5 must round to even,
  // as numpy's round in BasicSR's tensor2img.
  int ties = 0;
  for (int k = 0; k < 255; ++k) {
    const float v = ((float)k + 0.5f) / 255.0f;
    if (v * 255.0f != (float)k + 0.5f) continue;
    ++ties;
    CHECK(quantize_u8(v) == (k % 2 == 0 ? k : k + 1));
  }
  CHECK(ties > 50);
  CHECK(quantize_u8(-0.3f) == 0);
  CHECK(quantize_u8(1.7f) == 255);
  CHECK(quantize_u16(0.5f) == 32768);  // 32767.5 -> even
  std::vector<float> bad = {0.5f, NAN, 0.2f};
  Image img(3, 1, 1);
  img.pixels = bad;
  test::require_error([&] { encode_png(img, "nan.png"); }, {"nan.png", "non-finite", "x=1"});
}

TEST_CASE("data/tensor_conversions") {
  std::mt19937_64 rng(4);
  const Image gray = test::random_image(rng, 5, 4, 2, 8);  // gray + alpha
  const Tensor t = image_to_tensor(gray);
  REQUIRE(t.shape() == Shape({1, 3, 4, 5}));
  const std::vector<double> v = t.to_vector();
  for (int i = 0; i < 20; ++i) {
    CHECK(v[i] == gray.pixels[2 * i]);
    CHECK(v[20 + i] == gray.pixels[2 * i]);
    CHECK(v[40 + i] == gray.pixels[2 * i]);
  }
  const Tensor a = alpha_to_tensor(gray);
  REQUIRE(a.shape() == Shape({1, 1, 4, 5}));
  for (int i = 0; i < 20; ++i) CHECK(a.to_vector()[i] == gray.pixels[2 * i + 1]);
  CHECK(!alpha_to_tensor(convert_channels(gray, 3)).defined());

  const Image rgba = test::random_image(rng, 6, 3, 4, 16);
  const Image back = tensor_to_image(image_to_tensor(rgba), alpha_to_tensor(rgba), 16);
  CHECK(back.channels == 4);
  CHECK(back.bit_depth == 16);
  CHECK(back.pixels == rgba.pixels);
  test::require_error([&] { tensor_to_image(Tensor::zeros({1, 4, 3, 3})); }, {"(1, 3, H, W)", "[1, 4, 3, 3]"});
}

TEST_CASE("data/decode_pixel_limit") {
  const std::vector<uint8_t> bytes = read_file_bytes(test::data_fixture("ladybird_60.png"));
  DecodeOptions opt;
  opt.max_pixels = 3599;
  test::require_error([&] { decode_image(bytes.data(), bytes.size(), "lady.png", opt); },
                      {"lady.png", "60x60", "3600 pixels", "limit of 3599"});
  opt.max_pixels = 3600;
  CHECK(decode_image(bytes.data(), bytes.size(), "lady.png", opt).width == 60);
  const std::vector<uint8_t> jpg = read_file_bytes(test::data_fixture("coffee_48_q90.jpg"));
  opt.max_pixels = 100;
  test::require_error([&] { decode_image(jpg.data(), jpg.size(), "c.jpg", opt); }, {"c.jpg", "48x48", "limit of 100"});
}
