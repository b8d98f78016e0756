// data/resize_lanczos3 against Pillow's Image.resize(LANCZOS), to the bit on 8-bit images,
// and `srengine multiscale` against the DF2K_multiscale recipe run in Pillow
// (tests/python/pil_resize.py). Skipped with a warning where python3-pil is missing.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/image_io.h"
#include "data/multiscale.h"
#include "data/resize_lanczos3.h"
#include "support/data_support.h"

using namespace sr;
namespace fs = std::filesystem;

namespace {

bool pillow_available() {
  static const bool ok = std::system("/usr/bin/python3 -c 'import PIL' > /dev/null 2>&1") == 0;
  if (!ok) WARN("SKIPPED: /usr/bin/python3 with python3-pil is needed for Pillow's side (tools/setup.sh)");
  return ok;
}

std::string pil_script() { return std::string(SRENGINE_SOURCE_DIR) + "/tests/python/pil_resize.py"; }

// Uniform noise (the hardest case: overshoot past 0 and 255 on every edge), 8 or 16 bits.
data::Image noise_image(std::mt19937_64& rng, int w, int h, int channels, int bit_depth = 8) {
  data::Image img(w, h, channels, bit_depth);
  const int top = bit_depth == 8 ? 255 : 65535;
  std::uniform_int_distribution<int> u(0, top);
  for (float& v : img.pixels) v = (float)u(rng) / top;
  return img;
}

std::vector<int> samples_u8(const data::Image& img) {
  std::vector<int> out;
  for (float v : img.pixels) out.push_back(data::quantize_u8(v));
  return out;
}

std::vector<int> samples(const data::Image& img) {
  if (img.bit_depth == 8) return samples_u8(img);
  std::vector<int> out;
  for (float v : img.pixels) out.push_back(data::quantize_u16(v));
  return out;
}

int run_quiet(const std::string& cmd, const std::string& log) { return std::system((cmd + " > " + log + " 2>&1").c_str()); }

// Lanczos-3 weight of source index i for output index d, from the definition (resize_lanczos3.h)
// with no shortcut: a second reading of it, for the 16-bit path.
double definition_weight(int in, int out, int d, int i) {
  const double scale = (double)in / out, stretch = std::max(1.0, scale), support = 3 * stretch;
  const double c = (d + 0.5) * scale;
  const int lo = std::max(0, (int)(c - support + 0.5)), hi = std::min(in, (int)(c + support + 0.5));
  auto L = [](double t) {
    auto sinc = [](double x) { return x == 0 ? 1.0 : std::sin(M_PI * x) / (M_PI * x); };
    return t >= -3 && t < 3 ? sinc(t) * sinc(t / 3) : 0.0;
  };
  double total = 0;
  for (int j = lo; j < hi; ++j) total += L((j - c + 0.5) / stretch);
  return i >= lo && i < hi ? L((i - c + 0.5) / stretch) / total : 0.0;
}

}  // namespace

// Down by 0.75, 1/2, 1/3, to one pixel, up, one axis only, odd sizes; gray, RGB, RGBA and gray +
// alpha (Pillow premultiplies those), 16-bit gray (Pillow's 32-bit integer path): every sample
// equal to Pillow's.
TEST_CASE("data/resize_lanczos3_is_pillows_lanczos") {
  if (!pillow_available()) return;
  test::TempDir dir;
  std::mt19937_64 rng(41);
  struct Case {
    int w, h, channels, ow, oh, bit_depth = 8;
  };
  const Case cases[] = {{37, 23, 3, 27, 17}, {37, 23, 3, 18, 11}, {37, 23, 3, 12, 7},  {37, 23, 3, 1, 1},
                        {37, 23, 3, 100, 61}, {37, 23, 3, 37, 5}, {37, 23, 3, 5, 23}, {37, 23, 3, 200, 3},
                        {23, 37, 1, 17, 27}, {23, 37, 1, 7, 12},  {23, 37, 1, 60, 90}, {9, 1, 3, 3, 1},
                        {1, 1, 3, 4, 4},     {64, 48, 3, 21, 16}, {37, 23, 4, 27, 17}, {37, 23, 4, 61, 40},
                        {23, 37, 2, 7, 12},  {37, 23, 1, 27, 17, 16}, {23, 37, 1, 60, 90, 16}};
  std::ofstream spec(dir.file("spec.txt"));
  std::vector<data::Image> inputs;
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& c = cases[i];
    inputs.push_back(noise_image(rng, c.w, c.h, c.channels, c.bit_depth));
    if (c.channels == 4)  // fully transparent and opaque pixels too (Pillow keeps their colour as it is)
      for (int x = 0; x < c.w; ++x) inputs.back().at(0, x, 3) = (x % 3 == 0 ? 0.0f : x % 3 == 1 ? 1.0f : 0.5f);
    data::write_image(dir.file("in" + std::to_string(i) + ".png"), inputs.back());
    spec << dir.file("in" + std::to_string(i) + ".png") << " " << dir.file("pil" + std::to_string(i) + ".png") << " "
         << c.ow << " " << c.oh << "\n";
  }
  spec.close();
  REQUIRE(run_quiet("/usr/bin/python3 " + pil_script() + " resize " + dir.file("spec.txt"), dir.file("pil.log")) == 0);
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& c = cases[i];
    INFO(c.w << "x" << c.h << "x" << c.channels << " (" << c.bit_depth << "-bit) -> " << c.ow << "x" << c.oh);
    const data::Image got = data::resize_lanczos3(inputs[i], c.ow, c.oh);
    const data::Image want = data::read_image(dir.file("pil" + std::to_string(i) + ".png"));
    REQUIRE(want.width == c.ow);
    REQUIRE(want.channels == c.channels);
    REQUIRE(want.bit_depth == c.bit_depth);
    const std::vector<int> a = samples(got), b = samples(want);
    int differ = 0;
    for (size_t k = 0; k < a.size(); ++k) differ += a[k] != b[k];
    CHECK(differ == 0);
  }
}

// 16-bit RGB images (no Pillow mode holds them; 16-bit gray is checked against Pillow above): the
// same weights, each pass rounded to a 16-bit level, so within two levels of a direct
// two-dimensional sum over the definition's weights, clamped to [0, 1].
TEST_CASE("data/resize_lanczos3_16bit_follows_the_definition") {
  std::mt19937_64 rng(43);
  const data::Image img = noise_image(rng, 13, 9, 3, 16);
  for (auto [ow, oh] : {std::pair<int, int>{7, 5}, {20, 14}, {13, 4}}) {
    const data::Image got = data::resize_lanczos3(img, ow, oh);
    REQUIRE(got.bit_depth == 16);
    double worst = 0;
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x)
        for (int ch = 0; ch < 3; ++ch) {
          double want = 0;
          for (int sy = 0; sy < img.height; ++sy)
            for (int sx = 0; sx < img.width; ++sx)
              want += definition_weight(img.height, oh, y, sy) * definition_weight(img.width, ow, x, sx) *
                      img.at(sy, sx, ch);
          worst = std::max(worst, std::abs(std::clamp(want, 0.0, 1.0) - got.at(y, x, ch)));
        }
    INFO(ow << "x" << oh);
    CHECK(worst <= 2.0 / 65535);
  }
}

// BasicSR's names, sizes and order: T0..T2 at 0.75, 1/2, 1/3, T3 with the shorter side at
// --shortest-edge (a portrait, a landscape and a square image), every pixel Pillow's.
TEST_CASE("multiscale/cli_writes_basicsrs_files_with_pillows_pixels") {
  test::TempDir dir;
  const std::string in = dir.subdir("hr");
  std::mt19937_64 rng(47);
  data::write_image(in + "/wide.png", noise_image(rng, 50, 36, 3));
  data::write_image(in + "/tall.png", noise_image(rng, 30, 41, 1));
  data::write_image(in + "/square.png", noise_image(rng, 24, 24, 3));
  const std::string exe = test::srengine_exe();
  const std::string out = dir.file("ms");
  REQUIRE(run_quiet(exe + " multiscale --input " + in + " --output " + out + " --shortest-edge 20 --workers 2",
                    dir.file("ms.log")) == 0);
  const std::vector<std::pair<std::string, std::pair<int, int>>> want = {
      {"wideT0.png", {37, 27}}, {"wideT1.png", {25, 18}}, {"wideT2.png", {16, 12}}, {"wideT3.png", {27, 20}},
      {"tallT0.png", {22, 30}}, {"tallT1.png", {15, 20}}, {"tallT2.png", {10, 13}}, {"tallT3.png", {20, 27}},
      {"squareT0.png", {18, 18}}, {"squareT1.png", {12, 12}}, {"squareT2.png", {8, 8}}, {"squareT3.png", {20, 20}}};
  int files = 0;
  for (const auto& e : fs::directory_iterator(out)) files += e.is_regular_file();
  CHECK(files == 12);
  for (const auto& [name, size] : want) {
    INFO(name);
    REQUIRE(fs::exists(out + "/" + name));
    const data::Image img = data::read_image(out + "/" + name);
    CHECK(img.width == size.first);
    CHECK(img.height == size.second);
  }
  if (pillow_available()) {
    const std::string pil = dir.subdir("pil");
    REQUIRE(run_quiet("/usr/bin/python3 " + pil_script() + " multiscale " + in + " " + pil + " 20", dir.file("p.log")) == 0);
    for (const auto& [name, size] : want) {
      INFO(name);
      CHECK(samples_u8(data::read_image(out + "/" + name)) == samples_u8(data::read_image(pil + "/" + name)));
    }
  }
  // The square's shortest-edge copy enlarges nothing here; at 30 every image is enlarged, and
  // the warning says so.
  REQUIRE(run_quiet(exe + " multiscale --input " + in + " --output " + dir.file("big") + " --shortest-edge 30 --scales 1/2",
                    dir.file("big.log")) == 0);
  const std::string big_log = test::read_text(dir.file("big.log"));
  CHECK(big_log.find("'" + in + "/square.png' (24x24) is enlarged to 30x30") != std::string::npos);
  CHECK(fs::exists(dir.file("big") + "/squareT1.png"));
  CHECK_FALSE(fs::exists(dir.file("big") + "/squareT2.png"));
}

TEST_CASE("multiscale/cli_refuses_before_writing") {
  test::TempDir dir;
  const std::string in = dir.subdir("hr");
  std::mt19937_64 rng(53);
  data::write_image(in + "/a.png", noise_image(rng, 12, 9, 3));
  const std::string exe = test::srengine_exe();
  auto error_of = [&](const std::string& args) {
    const int rc = run_quiet(exe + " multiscale " + args, dir.file("e.log"));
    const std::string log = test::read_text(dir.file("e.log"));
    INFO(args << "\n" << log);
    CHECK(rc != 0);
    return log;
  };
  const std::string io = "--input " + in + " --output " + dir.file("o");
  for (const char* bad : {"0", "1.5", "0x1", "inf", "1/0", "", "0.5,", "-1/2", "-1/-4", "++1"})
    CHECK(error_of(io + " --scales '" + bad + "'").find("--scales expects a positive decimal factor") != std::string::npos);
  CHECK(error_of(io + " --scales 0.5 --shortest-edge -1").find("--shortest-edge") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.file("o")));
  // A one-pixel side: the image is named with the scale that empties it, before anything is
  // written; so is a copy over the pixel limit (a thin strip's shorter side made 400).
  CHECK(error_of(io + " --scales 0.1").find("a.png' (12x9) scaled by 0.1 is 1x0: a side is 0") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.file("o")));
  data::write_image(in + "/strip.png", noise_image(rng, 1, 3000, 1));
  CHECK(error_of(io + " --scales 1 --shortest-edge 400").find("strip.png' (1x3000) with the shorter side 400 is 400x1200000, over "
                                                                   "the limit of 100000000 pixels") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.file("o")));
  fs::remove(in + "/strip.png");
  // Two inputs with one stem would write the same files.
  data::write_image(in + "/a.jpg", noise_image(rng, 12, 9, 3));
  CHECK(error_of("--input " + in + " --output " + dir.file("o2")).find("aT0.png") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.file("o2")));
  fs::remove(in + "/a.jpg");
  // An output folder holding files, or the input folder itself.
  const std::string full = dir.subdir("full");
  std::ofstream(full + "/old.png") << "x";
  CHECK(error_of("--input " + in + " --output " + full).find("--output '" + full + "' is not empty") != std::string::npos);
  CHECK(error_of("--input " + in + " --output " + in).find("are the same folder") != std::string::npos);
}
