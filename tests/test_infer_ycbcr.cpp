// A network trained on Y (num_in_ch = num_out_ch = 1, BasicSR's `color: y`) on colour images:
// Y through the net, Cb and Cr by MATLAB bicubic, back to RGB (infer/upscale_file.h,
// data/ycbcr_matrix.h, data/imresize_rows.h). The reference is built here from the same
// pieces, with the inverse matrix computed in the test from the forward coefficients.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/image.h"
#include "data/image_io.h"
#include "data/imresize.h"
#include "data/imresize_rows.h"
#include "data/ycbcr.h"
#include "data/ycbcr_matrix.h"
#include "engine/autograd.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "infer/open_model.h"
#include "infer/upscale_file.h"
#include "nets/factory.h"
#include "support/data_support.h"

using namespace sr;

namespace {

// BT.601 studio-swing forward matrix (MATLAB's rgb2ycbcr), rows Y, Cb, Cr, written out here
// so the reference does not share the library's constants, and its offsets (of 255).
const double kYccForward[3][3] = {{65.481, 128.553, 24.966}, {-37.797, -74.203, 112.0}, {112.0, -93.786, -18.214}};
const double kYccOffset[3] = {16.0, 128.0, 128.0};

// The inverse of kYccForward by cofactors, in double.
std::vector<double> ycc_inverse_matrix() {
  const auto& m = kYccForward;
  const auto cof = [&](int i, int j) {
    const int r0 = i == 0 ? 1 : 0, r1 = i == 2 ? 1 : 2, c0 = j == 0 ? 1 : 0, c1 = j == 2 ? 1 : 2;
    return ((i + j) % 2 ? -1.0 : 1.0) * (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]);
  };
  const double det = m[0][0] * cof(0, 0) + m[0][1] * cof(0, 1) + m[0][2] * cof(0, 2);
  std::vector<double> inv(9);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) inv[i * 3 + j] = cof(j, i) / det;
  return inv;
}

// A one-channel SRVGGNetCompact with random weights (x`scale`), big enough that its residual
// moves Y by many levels away from nearest upsampling.
std::unique_ptr<Module> ycc_y_net(int scale) {
  manual_seed(77);
  const nlohmann::json opt = {{"type", "SRVGGNetCompact"}, {"num_in_ch", 1}, {"num_out_ch", 1}, {"num_feat", 8},
                              {"num_conv", 2},            {"upscale", scale}, {"act_type", "prelu"}};
  auto net = build_network(opt);
  for (auto& [k, t] : net->state_dict())
    if (t.dim() == 4) kaiming_normal_(t, 0.2);
  net->eval();
  return net;
}

// A w x h crop of a real photograph (colour texture: chroma matters).
data::Image ycc_photo(int w, int h) {
  const data::Image photo = data::read_image(std::string(SRENGINE_SOURCE_DIR) + "/datasets/val_photos/mate_wood.png");
  data::Image crop(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) crop.at(y, x, c) = photo.at(30 + y, 50 + x, c);
  return crop;
}

// The reference: Y, Cb, Cr of each pixel from kYccForward; Y through `net` whole; Cb and Cr
// by data::imresize of the whole planes; back with ycc_inverse_matrix. Float RGB, unclamped.
data::Image ycc_reference(Module& net, const data::Image& rgb, int scale) {
  const int W = rgb.width, H = rgb.height, plane = W * H;
  Tensor y = Tensor::empty({1, 1, H, W}), cbcr = Tensor::empty({1, 2, H, W});
  float* py = y.data<float>();
  float* pc = cbcr.data<float>();
  for (int i = 0; i < plane; ++i) {
    const float* px = rgb.pixels.data() + (size_t)i * rgb.channels;
    double v[3];
    for (int r = 0; r < 3; ++r)
      v[r] = (kYccOffset[r] + kYccForward[r][0] * px[0] + kYccForward[r][1] * px[1] + kYccForward[r][2] * px[2]) / 255.0;
    py[i] = (float)v[0];
    pc[i] = (float)v[1];
    pc[plane + i] = (float)v[2];
  }
  const Tensor sy = net.forward(y).contiguous(), sc = data::imresize(cbcr, (double)scale);
  const std::vector<double> inv = ycc_inverse_matrix();
  data::Image out(W * scale, H * scale, 3);
  const int oplane = W * scale * H * scale;
  for (int i = 0; i < oplane; ++i) {
    const double t[3] = {255.0 * sy.data<float>()[i] - kYccOffset[0], 255.0 * sc.data<float>()[i] - kYccOffset[1],
                         255.0 * sc.data<float>()[oplane + i] - kYccOffset[2]};
    for (int c = 0; c < 3; ++c) out.pixels[(size_t)i * 3 + c] = (float)(inv[c * 3] * t[0] + inv[c * 3 + 1] * t[1] + inv[c * 3 + 2] * t[2]);
  }
  return out;
}

// Largest 8-bit level difference between the colour channels of two images of one size.
int ycc_worst_level(const data::Image& a, const data::Image& b, int channels = 3) {
  REQUIRE(a.width == b.width);
  REQUIRE(a.height == b.height);
  int worst = 0;
  for (int y = 0; y < a.height; ++y)
    for (int x = 0; x < a.width; ++x)
      for (int c = 0; c < channels; ++c)
        worst = std::max(worst, std::abs(data::quantize_u8(a.at(y, x, c)) - data::quantize_u8(b.at(y, x, c))));
  return worst;
}

infer::FileOptions ycc_options(int tile) {
  infer::FileOptions fo;
  fo.net_channels = 1;
  fo.tile = {tile, 6, 0};
  return fo;
}

}  // namespace

// rgb -> YCbCr -> rgb returns every colour (float rounding only), Y is bt601_y's value bit for
// bit, and black and white land on MATLAB's 16 and 235 with Cb = Cr = 128.
TEST_CASE("data/ycbcr_matrix_round_trip") {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  double worst = 0;
  for (int n = 0; n < 20000; ++n) {
    const float r = n < 8 ? (float)(n & 1) : u(rng), g = n < 8 ? (float)(n >> 1 & 1) : u(rng),
                b = n < 8 ? (float)(n >> 2 & 1) : u(rng);
    float y, cb, cr, r2, g2, b2;
    data::bt601_rgb_to_ycbcr(r, g, b, y, cb, cr);
    REQUIRE(y == data::bt601_y(r, g, b));
    data::bt601_ycbcr_to_rgb(y, cb, cr, r2, g2, b2);
    worst = std::max({worst, std::abs((double)r2 - r), std::abs((double)g2 - g), std::abs((double)b2 - b)});
  }
  CHECK(worst < 1e-6);
  float y, cb, cr;
  data::bt601_rgb_to_ycbcr(1, 1, 1, y, cb, cr);
  CHECK(std::abs(y * 255 - 235) < 1e-4);
  CHECK(std::abs(cb * 255 - 128) < 1e-4);
  CHECK(std::abs(cr * 255 - 128) < 1e-4);
  data::bt601_rgb_to_ycbcr(0, 0, 0, y, cb, cr);
  CHECK(std::abs(y * 255 - 16) < 1e-4);
  // The inverse agrees with the test's own inversion of the forward matrix on the primaries'
  // directions (a wrong coefficient shows here even where the round trip's error is small).
  const std::vector<double> inv = ycc_inverse_matrix();
  for (int k = 0; k < 3; ++k) {
    float t[3] = {16.0f / 255, 128.0f / 255, 128.0f / 255}, rgb[3];
    t[k] += 50.0f / 255;
    data::bt601_ycbcr_to_rgb(t[0], t[1], t[2], rgb[0], rgb[1], rgb[2]);
    for (int c = 0; c < 3; ++c) CHECK(std::abs(rgb[c] - inv[c * 3 + k] * 50.0f) < 1e-6);
  }
}

// Row by row equals the whole-image resize bit for bit (scales 1, 2, 3; two channels).
TEST_CASE("data/imresize_rows_equal_whole_image") {
  std::mt19937_64 rng(9);
  const data::Image img = test::random_image(rng, 13, 9, 2, 8);
  for (int s : {1, 2, 3}) {
    std::vector<float> whole((size_t)13 * s * 9 * s * 2);
    data::imresize_interleaved(img.pixels.data(), 9, 13, 2, (double)s, true, whole.data());
    data::ImresizeRows rows(img.pixels.data(), 9, 13, 2, (double)s);
    REQUIRE(rows.out_height() == 9 * s);
    REQUIRE(rows.out_width() == 13 * s);
    std::vector<float> row((size_t)13 * s * 2);
    for (int i = 0; i < 9 * s; ++i) {
      rows.row(i, row.data());
      REQUIRE(std::equal(row.begin(), row.end(), whole.begin() + (size_t)i * 13 * s * 2));
    }
  }
}

// The output of a one-channel net on an RGB PNG equals the reference within 8-bit rounding,
// whole and tiled (tiles 12, pad 6: the Y net sees the tiled path, the chroma does not).
TEST_CASE("infer/y_network_on_rgb_matches_ycbcr_reference") {
  test::TempDir dir;
  const data::Image in = ycc_photo(29, 23);
  data::write_image(dir.file("in.png"), in);
  const data::Image in8 = data::read_image(dir.file("in.png"));
  auto net = ycc_y_net(2);
  NoGradGuard no_grad;
  const data::Image ref = ycc_reference(*net, in8, 2);
  infer::upscale_file(*net, dir.file("in.png"), dir.file("whole.png"), ycc_options(0));
  infer::upscale_file(*net, dir.file("in.png"), dir.file("tiled.png"), ycc_options(12));
  const data::Image whole = data::read_image(dir.file("whole.png")), tiled = data::read_image(dir.file("tiled.png"));
  REQUIRE(whole.channels == 3);
  REQUIRE(whole.width == 58);
  REQUIRE(whole.height == 46);
  CHECK(ycc_worst_level(whole, ref) <= 1);
  CHECK(ycc_worst_level(tiled, whole) <= 1);
  // Not a comparison that cannot fail: bicubic of the RGB image alone is far from it.
  const data::Image bicubic = data::imresize(in8, 2.0);
  CHECK(ycc_worst_level(bicubic, whole) > 8);
}

// RGBA: the colour is the RGB image's, alpha is bicubic of the whole plane (or, through the
// one-channel net, that net's output of the alpha plane); gray stays gray, as R = G = B.
TEST_CASE("infer/y_network_keeps_alpha_and_gray") {
  test::TempDir dir;
  const data::Image rgb = ycc_photo(21, 17);
  std::mt19937_64 rng(3);
  const data::Image noise = test::random_image(rng, 21, 17, 1, 8);
  data::Image rgba(21, 17, 4), gray(21, 17, 1);
  for (int y = 0; y < 17; ++y)
    for (int x = 0; x < 21; ++x) {
      for (int c = 0; c < 3; ++c) rgba.at(y, x, c) = rgb.at(y, x, c);
      rgba.at(y, x, 3) = noise.at(y, x, 0);
      gray.at(y, x, 0) = rgb.at(y, x, 1);
    }
  data::write_image(dir.file("rgb.png"), rgb);
  data::write_image(dir.file("rgba.png"), rgba);
  data::write_image(dir.file("gray.png"), gray);
  auto net = ycc_y_net(2);
  NoGradGuard no_grad;
  infer::FileOptions fo = ycc_options(8);
  infer::upscale_file(*net, dir.file("rgb.png"), dir.file("rgb_out.png"), fo);
  infer::upscale_file(*net, dir.file("rgba.png"), dir.file("rgba_out.png"), fo);
  const data::Image rgb_out = data::read_image(dir.file("rgb_out.png")), out = data::read_image(dir.file("rgba_out.png"));
  REQUIRE(out.channels == 4);
  CHECK(ycc_worst_level(out, rgb_out) == 0);
  const data::Image alpha_ref = data::imresize(data::read_image(dir.file("rgba.png")), 2.0);
  int worst_alpha = 0;
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      worst_alpha = std::max(worst_alpha, std::abs(data::quantize_u8(out.at(y, x, 3)) - data::quantize_u8(alpha_ref.at(y, x, 3))));
  CHECK(worst_alpha <= 1);
  // Alpha through the net: the net's own output on the alpha plane, clamped.
  fo.alpha = infer::AlphaMode::net;
  infer::upscale_file(*net, dir.file("rgba.png"), dir.file("rgba_net.png"), fo);
  const data::Image vianet = data::read_image(dir.file("rgba_net.png"));
  Tensor a = Tensor::empty({1, 1, 17, 21});
  const data::Image rgba8 = data::read_image(dir.file("rgba.png"));
  for (int i = 0; i < 17 * 21; ++i) a.data<float>()[i] = rgba8.pixels[(size_t)i * 4 + 3];
  const Tensor sa = net->forward(a).contiguous();
  int worst_net = 0;
  for (int i = 0; i < 34 * 42; ++i)
    worst_net = std::max(worst_net, std::abs(data::quantize_u8(vianet.pixels[(size_t)i * 4 + 3]) -
                                             data::quantize_u8(std::clamp(sa.data<float>()[i], 0.0f, 1.0f))));
  CHECK(worst_net <= 1);
  CHECK(ycc_worst_level(vianet, rgb_out) == 0);
  // Gray in, gray out: the RGB image with R = G = B gives three equal channels, their value.
  infer::upscale_file(*net, dir.file("gray.png"), dir.file("gray_out.png"), fo);
  const data::Image gray_out = data::read_image(dir.file("gray_out.png"));
  REQUIRE(gray_out.channels == 1);
  const data::Image gray8 = data::read_image(dir.file("gray.png"));
  const data::Image ref = ycc_reference(*net, data::convert_channels(gray8, 3), 2);
  CHECK(ycc_worst_level(gray_out, ref, 1) <= 1);
}

// `srengine infer` with a config whose network_g takes one channel says so in one line and
// writes the library's pixels.
TEST_CASE("infer/cli_y_network_says_so") {
  if (!std::filesystem::exists(test::srengine_exe())) {
    WARN("SKIPPED: " << test::srengine_exe() << " is not built");
    return;
  }
  test::TempDir dir;
  data::write_image(dir.file("in.png"), ycc_photo(19, 15));
  auto net = ycc_y_net(2);
  write_safetensors(dir.file("y.safetensors"), net->state_dict());
  test::write_text(dir.file("cfg.json"), R"({"name": "y", "scale": 2, "network_g": {"type": "SRVGGNetCompact",
      "num_in_ch": 1, "num_out_ch": 1, "num_feat": 8, "num_conv": 2, "upscale": 2, "act_type": "prelu"}})");
  const std::string cmd = test::srengine_exe() + " infer --config " + dir.file("cfg.json") + " --weights " +
                          dir.file("y.safetensors") + " --input " + dir.file("in.png") + " --output " +
                          dir.file("out") + " --device cpu --tile 8 > " + dir.file("log.txt") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string log = test::read_text(dir.file("log.txt"));
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(log.find("infer: network takes one channel: Y by the network, Cb and Cr by bicubic") != std::string::npos);
  NoGradGuard no_grad;
  infer::upscale_file(*net, dir.file("in.png"), dir.file("lib.png"), ycc_options(8));
  const auto [worst, count] = test::level_diff(data::read_image(dir.file("out/in.png")), data::read_image(dir.file("lib.png")));
  CHECK(worst == 0);
}

// Only nets of 3 channels in and out (RGB) or 1 (Y) upscale images; any other pair is refused
// when the model is opened, naming network_g's keys and values, not at the first convolution.
TEST_CASE("infer/upscaling_channels_refuse_other_nets") {
  auto channels = [](const nlohmann::json& g) {
    infer::OpenedModel m;
    m.network_g = g;
    return infer::upscaling_channels(m, "infer");
  };
  CHECK(channels({{"type", "RRDBNet"}, {"num_in_ch", 3}, {"num_out_ch", 3}}) == 3);
  CHECK(channels({{"type", "ECBSR"}, {"num_in_ch", 1}, {"num_out_ch", 1}}) == 1);
  CHECK(channels({{"type", "SwinIR"}, {"in_chans", 1}}) == 1);
  CHECK(channels({{"type", "SwinIR"}}) == 3);          // in_chans' default
  CHECK(channels({{"type", "SRVGGNetCompact"}}) == 3);  // num_in_ch / num_out_ch's defaults
  CHECK_THROWS_WITH(channels({{"type", "ECBSR"}, {"num_in_ch", 1}, {"num_out_ch", 3}}),
                    Catch::Contains("infer: ECBSR has network_g.num_in_ch 1 and network_g.num_out_ch 3") &&
                        Catch::Contains("`srengine export`"));
  CHECK_THROWS_WITH(channels({{"type", "RRDBNet"}, {"num_in_ch", 3}, {"num_out_ch", 1}}),
                    Catch::Contains("RRDBNet has network_g.num_in_ch 3 and network_g.num_out_ch 1"));
  CHECK_THROWS_WITH(channels({{"type", "HAT"}, {"in_chans", 4}}), Catch::Contains("HAT has network_g.in_chans 4:"));
}
