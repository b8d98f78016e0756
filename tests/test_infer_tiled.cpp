// Deployment inference (infer/): any image size at every scale, tiled output within a
// stated bound of the untiled one and free of seams (and a pasted tiling shown to fail
// the seam bound), the formats round-tripped through upscale_file (16-bit PNG, RGBA,
// gray, JPEG), the streaming row writer against write_image, and the CLI's error
// behaviour (a bad image in a folder, an unwritable output, contradictory or unknown
// precisions, --device cuda), and each precision reaching the convolutions on every device;
// `srengine test`'s outputs, failures, checks before any work and archiving of earlier results.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "data/image.h"
#include "data/image_io.h"
#include "data/image_row_writer.h"
#include "data/imresize.h"
#include "data/metrics.h"
#include "data/output_names.h"
#include "data/resize_linear.h"
#include "engine/autograd.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "infer/open_model.h"
#include "infer/padding.h"
#include "infer/tiled_upscale.h"
#include "infer/upscale_file.h"
#include "kernels/cpu/conv2d_bf16.h"
#include "layers/precision.h"
#include "nets/factory.h"
#include "nets/load_weights.h"
#include "nets/rrdbnet.h"
#include "nets/srvgg_compact.h"
#include "support/cuda_skip.h"
#include "support/data_support.h"

using namespace sr;
namespace fs = std::filesystem;
using sr::test::infer_fixture;

namespace {

// `srengine infer` on the fixture's net and image, tiled by 8: the CLI tests' command, less
// --output and the flags under test.
std::string fixture_infer_command() {
  return test::srengine_exe() + " infer --config " + infer_fixture("config.json") + " --weights " +
         infer_fixture("rrdbnet_tiny.safetensors") + " --input " + infer_fixture("input.png") + " --tile 8";
}

// A 53x37 (W x H) crop of a real photograph as (1, 3, 37, 53): seams show on texture.
Tensor photo_crop(int h = 37, int w = 53) {
  const Tensor t =
      data::image_to_tensor(data::read_image(std::string(SRENGINE_SOURCE_DIR) + "/datasets/val_photos/mate_wood.png"));
  return t.narrow(2, 40, h).narrow(3, 60, w).contiguous();
}

struct Diff {
  double max_abs = 0, mean_abs = 0;
  double max_step = 0;  // largest jump of (a - b) between neighbouring pixels: a seam
};

Diff compare(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const int64_t C = a.size(1), H = a.size(2), W = a.size(3);
  const float* p = a.data<float>();
  const float* q = b.data<float>();
  Diff d;
  auto e = [&](int64_t c, int64_t y, int64_t x) { return (double)p[(c * H + y) * W + x] - q[(c * H + y) * W + x]; };
  for (int64_t c = 0; c < C; ++c)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        d.max_abs = std::max(d.max_abs, std::abs(e(c, y, x)));
        d.mean_abs += std::abs(e(c, y, x)) / (double)a.numel();
        if (x > 0) d.max_step = std::max(d.max_step, std::abs(e(c, y, x) - e(c, y, x - 1)));
        if (y > 0) d.max_step = std::max(d.max_step, std::abs(e(c, y, x) - e(c, y - 1, x)));
      }
  return d;
}

// A small RRDBNet whose far context matters: BasicSR's initialisation scales the trunk's
// weights by 0.1, which leaves a random net almost local (tiled = untiled to 1e-7, a test
// that could not fail); plain He initialisation gives it a receptive field of ~18 pixels.
std::unique_ptr<Module> small_rrdbnet(int scale) {
  manual_seed(1234 + scale);
  auto net = std::make_unique<RRDBNet>(3, 3, scale, 8, 1, 4);
  for (auto& [k, t] : net->state_dict())
    if (t.dim() == 4) kaiming_normal_(t, 0.2);
  net->eval();
  return net;
}

// SRVGGNetCompact with its last conv zeroed: out = nearest_upsample(x), exactly, so file
// round trips can be checked sample by sample.
std::unique_ptr<Module> nearest_net(int scale) {
  auto net = std::make_unique<SRVGGNetCompact>(3, 3, 4, 1, scale, "prelu");
  for (auto& [k, t] : net->state_dict())
    if (k.rfind("body.4.", 0) == 0) t.fill_(0.0);
  net->eval();
  return net;
}

// `srengine test` runs for the checks below: the fixture's tiny RRDBNet (x4), the config
// `cfg_json` written to dir/cfg.json, the log returned through *log.
int run_cli_test(const test::TempDir& dir, const std::string& cfg_json, const std::string& args, std::string* log,
                 const std::string& weights = infer_fixture("rrdbnet_tiny.safetensors")) {
  std::ofstream(dir.file("cfg.json")) << cfg_json;
  const std::string out = dir.file("cli_test_log.txt");
  const std::string cmd = test::srengine_exe() + " test --config " + dir.file("cfg.json") + " --weights " + weights +
                          " --tile 8 " + args + " > " + out + " 2>&1";
  const int rc = std::system(cmd.c_str());
  *log = test::read_text(out);
  return rc;
}

// The CLI checks need the built binary; without it they say so and pass.
bool srengine_built_or_skip() {
  if (fs::exists(test::srengine_exe())) return true;
  WARN("SKIPPED: " << test::srengine_exe() << " is not built");
  return false;
}

// A test config of the fixture's network around the given "datasets" and "val" sections.
std::string cli_test_config(const std::string& datasets, const std::string& val = R"({"metrics": {
    "psnr": {"type": "calculate_psnr", "crop_border": 4}, "ssim": {"type": "calculate_ssim", "crop_border": 4}}})") {
  return R"({"name": "t", "scale": 4,
    "network_g": {"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3, "num_feat": 4, "num_block": 1, "num_grow_ch": 3},
    "datasets": )" + datasets + R"(, "val": )" + val + "}";
}

// One GT-only set, test_a, of the images in `gt` (bicubic LQ).
std::string gt_only_test_config(const std::string& gt) {
  return cli_test_config(R"({"test_a": {"type": "GTOnlyBicubicDataset", "dataroot_gt": ")" + gt + R"("}})");
}

// A w x h crop of a real photograph (at an offset from `seed`) written to `path`.
void write_photo_crop(const std::string& path, int w, int h, int seed) {
  const data::Image photo = data::read_image(std::string(SRENGINE_SOURCE_DIR) + "/datasets/val_photos/mate_wood.png");
  data::Image crop(w, h, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) crop.at(y, x, c) = photo.at(seed * 7 % 40 + y, seed * 13 % 40 + x, c);
  data::write_image(path, crop);
}

// Files in a folder (none when it does not exist).
std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  if (!fs::is_directory(dir)) return names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("infer/reflect_padding") {
  CHECK(infer::reflect_index(-1, 5) == 1);
  CHECK(infer::reflect_index(5, 5) == 3);
  CHECK(infer::reflect_index(-9, 3) == 1);  // pads longer than the image keep mirroring
  CHECK(infer::reflect_index(7, 1) == 0);
  const Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {1, 1, 2, 3});
  const Tensor p = infer::pad_to_multiple(x, 4);
  REQUIRE(p.shape() == Shape({1, 1, 4, 4}));
  // rows 0 1 | 0 1 (reflected: 1 0), columns 1 2 3 | 2
  CHECK(p.to_vector() == std::vector<double>{1, 2, 3, 2, 4, 5, 6, 5, 1, 2, 3, 2, 4, 5, 6, 5});
}

// Untiled, an odd-sized input is reflect-padded to what the net needs and cropped back:
// the result equals the net run on an explicitly padded copy, cropped. Tiled, the size is
// exact and close to untiled, at every scale.
TEST_CASE("infer/odd_size_every_scale") {
  NoGradGuard no_grad;
  const Tensor img = photo_crop();
  for (int scale : {1, 2, 4}) {
    INFO("scale " << scale);
    auto net = small_rrdbnet(scale);
    const int m = infer::net_size_multiple(*net);
    CHECK(m == (scale == 1 ? 4 : scale == 2 ? 2 : 1));
    const Tensor untiled = infer::upscale_image(*net, img, {0, 10, 0});
    REQUIRE(untiled.shape() == Shape({1, 3, 37 * scale, 53 * scale}));
    const Tensor ref = net->forward(infer::pad_to_multiple(img, m)).narrow(2, 0, 37 * scale).narrow(3, 0, 53 * scale).contiguous();
    CHECK(compare(untiled, ref).max_abs == 0.0);
    // pre_pad changes what the border sees (reflection, not the convs' zeros): compare
    // tiled with untiled under the same pre_pad.
    // x1 / x2 nets run at 1/4 / 1/2 resolution after unshuffling, so the same context
    // in their feature pixels takes 4x / 2x the tile_pad.
    const Tensor untiled_pre = infer::upscale_image(*net, img, {0, 10, 3});
    const Tensor tiled = infer::upscale_image(*net, img, {16, 32 / scale, 3});
    REQUIRE(tiled.shape() == untiled.shape());
    const Diff d = compare(tiled, untiled_pre);
    INFO("tiled vs untiled max " << d.max_abs << " mean " << d.mean_abs);
    CHECK(d.max_abs < 0.01);
  }
  auto vgg = std::make_unique<SRVGGNetCompact>(3, 3, 8, 2, 2, "prelu");
  vgg->eval();
  CHECK(infer::upscale_image(*vgg, img, {16, 8, 0}).shape() == Shape({1, 3, 74, 106}));
}

// The seam bound. Tiles of 16 with tile_pad 4 on a 37x53 photo crop, x4 RRDBNet with
// random (He) weights, whose receptive field (~18 px) is far wider than the pad. Blended:
// max |tiled - untiled| < 0.02 and no neighbour-to-neighbour jump of that error above
// 0.01 (measured 0.0076 and 0.0055). Pasted cores (Real-ESRGAN's scheme, the same least
// context) measure 0.045 and 0.059: their errors jump at every core boundary, and the
// same bounds catch them.
TEST_CASE("infer/tiled_within_seam_bound_and_pasting_fails_it") {
  NoGradGuard no_grad;
  const Tensor img = photo_crop();
  auto net = small_rrdbnet(4);
  const Tensor untiled = infer::upscale_image(*net, img, {0, 10, 0});
  const Diff blended = compare(infer::upscale_image(*net, img, {16, 4, 0, true}), untiled);
  const Diff pasted = compare(infer::upscale_image(*net, img, {16, 4, 0, false}), untiled);
  WARN("blended: max " << blended.max_abs << " mean " << blended.mean_abs << " step " << blended.max_step
                       << "; pasted: max " << pasted.max_abs << " mean " << pasted.mean_abs << " step "
                       << pasted.max_step);
  CHECK(blended.max_abs < 0.02);
  CHECK(blended.max_step < 0.01);
  CHECK_FALSE((pasted.max_abs < 0.02 && pasted.max_step < 0.01));
  // More context, less difference; a single tile covering the image is exact.
  const Diff wide = compare(infer::upscale_image(*net, img, {16, 8, 0}), untiled);
  CHECK(wide.max_abs <= blended.max_abs);
  CHECK(compare(infer::upscale_image(*net, img, {64, 8, 0}), untiled).max_abs == 0.0);
}

// --no-blend pastes on Real-ESRGAN's grid (RealESRGANer.tile_process): cores `tile` wide from
// the top-left of the padded image, the remainder last, each run with tile_pad of context
// clipped to the padded image. The tile function here marks every output pixel with the
// size of the tile that made it, so the test sees the grid itself, not just pixel values.
TEST_CASE("infer/no_blend_pastes_realesrgans_tile_grid") {
  std::mt19937_64 rng(41);
  const Tensor img = data::image_to_tensor(test::random_image(rng, 53, 37, 3));  // 53 wide, 37 high
  for (const int multiple : {1, 2}) {
    const int s = 2, tile = 16, pad = 4, pre = 3;
    infer::TileOptions opt;
    opt.tile = tile;
    opt.tile_pad = pad;
    opt.pre_pad = pre;
    opt.blend = false;
    opt.pre_pad_top_left = false;  // RealESRGANer pads the right and bottom only
    const Tensor out = infer::tiled_apply(img, s, multiple, opt, [&](const Tensor& t) {
      const int64_t C = t.size(1), h = t.size(2), w = t.size(3);
      Tensor o = Tensor::empty({1, C, h * s, w * s});
      for (int64_t c = 0; c < C; ++c)
        for (int64_t y = 0; y < h * s; ++y)
          for (int64_t x = 0; x < w * s; ++x)
            o.data<float>()[(c * h * s + y) * w * s + x] =
                t.data<float>()[(c * h + y / s) * w + x / s] + (float)(100 * w + h);
      return o;
    });
    // Real-ESRGAN's loop, one axis at a time: the extent of the tile owning padded index i.
    const auto extent = [&](int64_t i, int64_t length) {
      const int64_t padded = (length + pre + multiple - 1) / multiple * multiple;
      const int64_t start = i / tile * tile, end = std::min<int64_t>(start + tile, padded);
      return std::min<int64_t>(end + pad, padded) - std::max<int64_t>(start - pad, 0);
    };
    const int64_t H = img.size(2), W = img.size(3);
    REQUIRE(out.shape() == Shape({1, 3, H * s, W * s}));
    int wrong = 0;
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < H * s; ++y)
        for (int64_t x = 0; x < W * s; ++x) {
          const double want = img.data<float>()[(c * H + y / s) * W + x / s] +
                              (double)(100 * extent(x / s, W) + extent(y / s, H));
          wrong += std::abs(out.data<float>()[(c * H * s + y) * W * s + x] - want) > 1e-3;
        }
    INFO("multiple " << multiple);
    CHECK(wrong == 0);
  }
}

TEST_CASE("infer/png16_round_trip_stays_16_bit") {
  test::TempDir dir;
  std::mt19937_64 rng(7);
  const data::Image in = test::random_image(rng, 53, 37, 3, 16);
  data::write_image(dir.file("in.png"), in);
  auto net = nearest_net(2);
  NoGradGuard no_grad;
  infer::FileOptions fo;
  fo.tile = {16, 4, 0};
  infer::upscale_file(*net, dir.file("in.png"), dir.file("out.png"), fo);
  const data::Image out = data::read_image(dir.file("out.png"));
  REQUIRE(out.bit_depth == 16);
  REQUIRE(out.width == 106);
  REQUIRE(out.height == 74);
  REQUIRE(out.channels == 3);
  int worst = 0;
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      for (int c = 0; c < 3; ++c)
        worst = std::max(worst, std::abs(data::quantize_u16(out.at(y, x, c)) - data::quantize_u16(in.at(y / 2, x / 2, c))));
  CHECK(worst == 0);  // 8-bit quantisation anywhere would show as errors of ~128 levels
}

TEST_CASE("infer/rgba_round_trip_alpha_bicubic_or_net") {
  test::TempDir dir;
  std::mt19937_64 rng(11);
  const data::Image in = test::random_image(rng, 37, 29, 4, 8);
  data::write_image(dir.file("in.png"), in);
  auto net = nearest_net(4);
  NoGradGuard no_grad;
  infer::FileOptions fo;
  fo.tile = {12, 4, 0};
  infer::upscale_file(*net, dir.file("in.png"), dir.file("bic.png"), fo);
  fo.alpha = infer::AlphaMode::net;
  infer::upscale_file(*net, dir.file("in.png"), dir.file("net.png"), fo);
  const data::Image bic = data::read_image(dir.file("bic.png")), vianet = data::read_image(dir.file("net.png"));
  REQUIRE(bic.channels == 4);
  REQUIRE(vianet.channels == 4);
  REQUIRE(bic.width == 148);
  const data::Image alpha_ref = data::imresize(data::convert_channels(in, 4), 4.0);  // whole-image bicubic
  int worst_rgb = 0, worst_bic = 0, worst_net = 0;
  for (int y = 0; y < bic.height; ++y)
    for (int x = 0; x < bic.width; ++x) {
      for (int c = 0; c < 3; ++c)
        worst_rgb = std::max(worst_rgb, std::abs(data::quantize_u8(bic.at(y, x, c)) - data::quantize_u8(in.at(y / 4, x / 4, c))));
      worst_bic = std::max(worst_bic, std::abs(data::quantize_u8(bic.at(y, x, 3)) - data::quantize_u8(alpha_ref.at(y, x, 3))));
      worst_net = std::max(worst_net, std::abs(data::quantize_u8(vianet.at(y, x, 3)) - data::quantize_u8(in.at(y / 4, x / 4, 3))));
    }
  CHECK(worst_rgb == 0);
  CHECK(worst_bic <= 1);  // tiled bicubic = whole-image bicubic (4-tap support < blend margin)
  CHECK(worst_net <= 1);  // luma of (a, a, a) is a
}

// AlphaMode::linear is RealESRGANer's alpha for an alpha_upsampler other than 'realesrgan':
// cv2's INTER_LINEAR of the whole alpha plane, untouched by pre-pad and tiles, so every
// tiling gives exactly data::resize_linear of the input's alpha; the colour is the net's.
TEST_CASE("infer/alpha_linear_resizes_the_whole_plane") {
  std::mt19937_64 rng(13);
  const data::Image in = test::random_image(rng, 37, 29, 4, 8);
  std::vector<float> alpha(in.pixel_count());
  for (int64_t i = 0; i < in.pixel_count(); ++i) alpha[i] = in.pixels[i * 4 + 3];
  const data::LinearAxis ax = data::linear_axis(37, 148), ay = data::linear_axis(29, 116);
  std::vector<float> want(148 * 116);
  for (int y = 0; y < 116; ++y) data::resize_linear_row(alpha.data(), 37, 29, ax, ay, y, want.data() + y * 148);
  auto net = nearest_net(4);
  NoGradGuard no_grad;
  for (const infer::TileOptions tile : {infer::TileOptions{0, 10, 0}, infer::TileOptions{12, 4, 3}}) {
    infer::FileOptions fo;
    fo.tile = tile;
    fo.alpha = infer::AlphaMode::linear;
    std::vector<float> out;
    infer::upscale_image_rows(*net, data::Image(in), fo, 8, [&](const float* rows, int n) {
      out.insert(out.end(), rows, rows + (size_t)n * 148 * 4);
    });
    REQUIRE(out.size() == want.size() * 4);
    int wrong_alpha = 0, wrong_rgb = 0;
    for (int y = 0; y < 116; ++y)
      for (int x = 0; x < 148; ++x) {
        const float* px = out.data() + ((size_t)y * 148 + x) * 4;
        wrong_alpha += px[3] != want[(size_t)y * 148 + x];
        for (int c = 0; c < 3; ++c) wrong_rgb += data::quantize_u8(px[c]) != data::quantize_u8(in.at(y / 4, x / 4, c));
      }
    INFO("tile " << tile.tile << " pre_pad " << tile.pre_pad);
    CHECK(wrong_alpha == 0);
    CHECK(wrong_rgb == 0);
  }
}

TEST_CASE("infer/gray_input_written_gray_and_jpeg") {
  test::TempDir dir;
  std::mt19937_64 rng(5);
  const data::Image in = test::random_image(rng, 21, 18, 1, 8);
  data::write_image(dir.file("g.png"), in);
  auto net = nearest_net(2);
  NoGradGuard no_grad;
  infer::FileOptions fo;
  infer::upscale_file(*net, dir.file("g.png"), dir.file("g_out.png"), fo);
  const data::Image out = data::read_image(dir.file("g_out.png"));
  REQUIRE(out.channels == 1);
  int worst = 0;
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      worst = std::max(worst, std::abs(data::quantize_u8(out.at(y, x, 0)) - data::quantize_u8(in.at(y / 2, x / 2, 0))));
  CHECK(worst <= 1);
  fo.ext = "jpg";
  CHECK(infer::output_path(dir.file("g.png"), dir.path(), fo) == dir.file("g.jpg"));
  infer::upscale_file(*net, dir.file("g.png"), dir.file("g.jpg"), fo);
  const data::Image j = data::read_image(dir.file("g.jpg"));
  CHECK(j.channels == 1);
  CHECK(j.width == 42);
  // Alpha cannot go to JPEG: one error naming the file, before any tile runs.
  data::write_image(dir.file("a.png"), test::random_image(rng, 8, 8, 4, 8));
  test::require_error([&] { infer::upscale_file(*net, dir.file("a.png"), dir.file("a.jpg"), fo); },
                      {"a.jpg", "alpha"});
  CHECK_FALSE(fs::exists(dir.file("a.jpg")));
  CHECK_FALSE(fs::exists(dir.file("a.jpg.part")));
}

TEST_CASE("infer/row_writer_matches_write_image") {
  test::TempDir dir;
  std::mt19937_64 rng(3);
  for (int depth : {8, 16})
    for (int channels : {1, 2, 3, 4}) {
      INFO("depth " << depth << " channels " << channels);
      const data::Image img = test::random_image(rng, 19, 13, channels, depth);
      data::write_image(dir.file("whole.png"), img);
      {
        data::ImageRowWriter w(dir.file("rows.png"), 19, 13, channels, depth);
        w.write_rows(img.pixels.data(), 5);  // in uneven batches
        w.write_rows(img.pixels.data() + 5 * 19 * channels, 8);
        w.finish();
      }
      CHECK(data::read_file_bytes(dir.file("whole.png")) == data::read_file_bytes(dir.file("rows.png")));
    }
  const data::Image rgb = test::random_image(rng, 16, 16, 3, 8);
  data::write_image(dir.file("whole.jpg"), rgb);
  {
    data::ImageRowWriter w(dir.file("rows.jpg"), 16, 16, 3, 8);
    w.write_rows(rgb.pixels.data(), 16);
    w.finish();
  }
  CHECK(data::read_file_bytes(dir.file("whole.jpg")) == data::read_file_bytes(dir.file("rows.jpg")));
  {
    data::ImageRowWriter unfinished(dir.file("gone.png"), 4, 4, 3, 8);
  }
  CHECK_FALSE(fs::exists(dir.file("gone.png")));
  CHECK_FALSE(fs::exists(dir.file("gone.png.part")));
  // An encoder that refuses the image after the file was opened (JPEG's 65500-pixel side
  // limit) is an error naming the file that leaves no .part behind.
  CHECK_THROWS_WITH(data::ImageRowWriter(dir.file("wide.jpg"), 70000, 2, 3, 8),
                    Catch::Contains("wide.jpg") && Catch::Contains("cannot start encoding"));
  CHECK_FALSE(fs::exists(dir.file("wide.jpg.part")));
}

// A corrupt image in a folder is named, the others are still written, the exit is 1 with
// a count; an output folder that cannot be created is one error before any work.
TEST_CASE("infer/cli_bad_image_in_folder_and_unwritable_output") {
  if (!srengine_built_or_skip()) return;
  test::TempDir dir;
  const std::string in = dir.subdir("in");
  fs::copy_file(infer_fixture("input.png"), in + "/a.png");
  fs::copy_file(infer_fixture("input.png"), in + "/c.png");
  test::write_bytes(in + "/b_broken.png", {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0});
  const std::string base = test::srengine_exe() + " infer --config " + infer_fixture("config.json") + " --weights " +
                           infer_fixture("rrdbnet_tiny.safetensors") + " --input " + in;
  const int rc = std::system((base + " --output " + dir.file("out") + " --tile 8 > " + dir.file("log.txt") + " 2>&1").c_str());
  const std::string log = test::read_text(dir.file("log.txt"));
  INFO(log);
  CHECK(rc != 0);
  CHECK(log.find("b_broken.png") != std::string::npos);
  CHECK(log.find("1 of 3 image(s) failed") != std::string::npos);
  CHECK(log.find("images/s") != std::string::npos);
  CHECK(log.find("megapixels/s") != std::string::npos);
  CHECK(fs::exists(dir.file("out/a.png")));
  CHECK(fs::exists(dir.file("out/c.png")));
  CHECK_FALSE(fs::exists(dir.file("out/b_broken.png")));

  test::write_bytes(dir.file("a_file"), {1});
  const int rc2 = std::system((base + " --output " + dir.file("a_file/sub") + " > " + dir.file("log2.txt") + " 2>&1").c_str());
  const std::string log2 = test::read_text(dir.file("log2.txt"));
  INFO(log2);
  CHECK(rc2 != 0);
  CHECK(log2.find("--output") != std::string::npos);
  CHECK(log2.find("a_file/sub") != std::string::npos);
  CHECK(log2.find("infer: RRDBNet") == std::string::npos);  // stopped before building the net

  const int rc3 = std::system(
      (base + " --output " + dir.file("o3") + " --half --precision bf16 > " + dir.file("log3.txt") + " 2>&1").c_str());
  CHECK(rc3 != 0);
  CHECK(test::read_text(dir.file("log3.txt")).find("infer: error: --precision (bf16) contradicts --half (fp16)") !=
        std::string::npos);
  const int rc6 =
      std::system((base + " --output " + dir.file("o6") + " --fp32 --half > " + dir.file("log6.txt") + " 2>&1").c_str());
  CHECK(rc6 != 0);
  CHECK(test::read_text(dir.file("log6.txt")).find("infer: error: --fp32 contradicts --half (fp16)") !=
        std::string::npos);
  const int rc5 =
      std::system((base + " --output " + dir.file("o5") + " --precision fp8 > " + dir.file("log5.txt") + " 2>&1").c_str());
  CHECK(rc5 != 0);
  CHECK(test::read_text(dir.file("log5.txt"))
            .find("infer: error: --precision expects default, fp32, tf32, bf16 or fp16, got 'fp8'") !=
        std::string::npos);
  const int rc4 = std::system((base + " --output " + dir.file("o4") + " --tile -3 > " + dir.file("log4.txt") + " 2>&1").c_str());
  CHECK(rc4 != 0);
  CHECK(test::read_text(dir.file("log4.txt")).find("--tile must be >= 0 (0: no tiling), got -3") != std::string::npos);
}

// --half (fp16) and --precision bf16 / tf32 reach the convolutions: each output differs from
// the float32 one somewhere (the fixture's net and image: dozens of 8-bit samples) and by at
// most one level anywhere; --fp32 is the float32 output itself. bf16 on a CPU without
// AVX512-BF16 is one error naming the flag.
TEST_CASE("infer/cli_precision") {
  if (!srengine_built_or_skip()) return;
  test::TempDir dir;
  const std::string base = fixture_infer_command();
  auto run = [&](const std::string& name, const std::string& flags) {
    const int rc = std::system((base + " " + flags + " --output " + dir.file(name) + " > " + dir.file(name + ".txt") +
                                " 2>&1").c_str());
    return std::make_pair(rc, test::read_text(dir.file(name + ".txt")));
  };
  REQUIRE(run("default", "").first == 0);
  const data::Image ref = data::read_image(dir.file("default/input.png"));
  struct Case {
    std::string flags, printed;
    bool same;
  };
  const Case cases[] = {{"--half", ", fp16,", false}, {"--precision bf16", ", bf16,", false},
                        {"--precision tf32", ", tf32,", false}, {"--fp32", "on cpu, tile", true}};
  for (const Case& c : cases) {
    const std::string name = "out" + std::to_string(&c - cases);
    const auto [rc, log] = run(name, c.flags);
    INFO(c.flags << ": " << log);
    if (c.flags == "--precision bf16" && !cpu::cpu_has_avx512_bf16()) {
      CHECK(rc != 0);
      CHECK(log.find("infer: error: --precision 'bf16' needs a CPU with AVX512-BF16") != std::string::npos);
      continue;
    }
    REQUIRE(rc == 0);
    CHECK(log.find(c.printed) != std::string::npos);
    const auto [worst, differ] = test::level_diff(data::read_image(dir.file(name + "/input.png")), ref);
    INFO(differ << " of " << ref.pixels.size() << " samples differ, by at most " << worst);
    if (c.same) CHECK(differ == 0);
    else CHECK(differ > 0);
    CHECK(worst <= 1);
  }
}

// --device cuda: runs where there is a GPU (and matches the CPU), else one clear error.
TEST_CASE("infer/cli_device_cuda") {
  if (!srengine_built_or_skip()) return;
  test::TempDir dir;
  const std::string base = fixture_infer_command();
  REQUIRE(std::system((base + " --output " + dir.file("cpu") + " > /dev/null 2>&1").c_str()) == 0);
  const int rc = std::system((base + " --device cuda --output " + dir.file("gpu") + " > " + dir.file("log.txt") + " 2>&1").c_str());
  const std::string log = test::read_text(dir.file("log.txt"));
  INFO(log);
  if (rc != 0) {
    CHECK(log.find("--device cuda") != std::string::npos);
    CHECK((log.find("without CUDA") != std::string::npos || log.find("no CUDA device") != std::string::npos));
    return;
  }
  const data::Image cpu_out = data::read_image(dir.file("cpu/input.png"));
  CHECK(test::level_diff(data::read_image(dir.file("gpu/input.png")), cpu_out).first <= 1);
}

namespace {

// Each precision reaches the convolutions of a net running inference on `device` (tiles moved
// there and back): the fixture's RRDBNet on a photo crop, tiled, against the CPU's float32
// output within the precision's budget; tf32, bf16 and fp16 also differ from fp32's output on
// the same device (the operands were rounded). Prints each precision's largest difference.
void check_inference_precisions(Device device) {
  infer::ModelSpec spec;
  spec.config = infer_fixture("config.json");
  spec.weights = infer_fixture("rrdbnet_tiny.safetensors");
  infer::OpenedModel m = infer::open_model(spec);
  NoGradGuard no_grad;
  const Tensor img = photo_crop(20, 27);  // 2 x 2 tiles
  const infer::TileOptions tiles{16, 6, 0, true};
  const std::vector<double> want = infer::upscale_image(*m.net, img, tiles).to_vector();
  m.net->to(device);
  struct Budget {
    Precision precision;
    double max_abs;
  };
  std::vector<double> fp32;
  for (const Budget& b : {Budget{Precision::fp32, 1e-5}, Budget{Precision::device_default, 2e-3},
                          Budget{Precision::tf32, 2e-3}, Budget{Precision::bf16, 2e-2}, Budget{Precision::fp16, 2e-3}}) {
    if (b.precision == Precision::bf16 && device.is_cpu() && !cpu::cpu_has_avx512_bf16()) continue;
    set_precision(*m.net, b.precision);
    const std::vector<double> got = infer::upscale_image(*m.net, img, tiles, device).to_vector();
    REQUIRE(got.size() == want.size());
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - want[i]));
    INFO(device.str() << " " << precision_name(b.precision) << ": largest difference from the CPU's float32 "
                      << worst << " (budget " << b.max_abs << ")");
    std::printf("inference precision %s on %s: largest difference %.3g\n", precision_name(b.precision),
                device.str().c_str(), worst);
    CHECK(worst <= b.max_abs);
    if (b.precision == Precision::fp32) fp32 = got;
    if (precision_rounds_operands(b.precision)) CHECK(got != fp32);
  }
}

}  // namespace

TEST_CASE("infer/precision_reaches_the_convolutions") { check_inference_precisions(Device::cpu()); }
#ifdef SRENGINE_WITH_SIMT
TEST_CASE("simt/infer_precision") { check_inference_precisions(Device::simt()); }
#endif
TEST_CASE("cuda/infer_precision") {
  if (test::skip_without_cuda()) return;
  check_inference_precisions(Device::cuda(0));
}

// `srengine test`: a val set of two photos, SR images written, per-image and mean metrics
// printed and saved, and the saved PSNR equal to the metric of the written image.
TEST_CASE("infer/cli_test_command_metrics_table") {
  if (!srengine_built_or_skip()) return;
  test::TempDir dir;
  const std::string gt = dir.subdir("gt");
  std::mt19937_64 rng(9);
  const data::Image photo = data::read_image(std::string(SRENGINE_SOURCE_DIR) + "/datasets/val_photos/mate_wood.png");
  for (const char* name : {"p1.png", "p2.png"}) {
    data::Image crop(48, 40, 3);
    const int ox = (int)(rng() % 40), oy = (int)(rng() % 40);
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 48; ++x)
        for (int c = 0; c < 3; ++c) crop.at(y, x, c) = photo.at(oy + y, ox + x, c);
    data::write_image(gt + "/" + name, crop);
  }
  std::ofstream(dir.file("cfg.json")) << R"({"name": "t", "scale": 4,
    "network_g": {"type": "RRDBNet", "num_in_ch": 3, "num_out_ch": 3, "num_feat": 4, "num_block": 1, "num_grow_ch": 3},
    "datasets": {"test_a": {"type": "SingleImageDataset", "dataroot_gt": "gt"}},
    "val": {"metrics": {"psnr": {"type": "calculate_psnr", "crop_border": 4, "test_y_channel": true}}}})";
  const std::string cmd = test::srengine_exe() + " test --config " + dir.file("cfg.json") + " --weights " +
                          infer_fixture("rrdbnet_tiny.safetensors") + " --tile 8 --output " + dir.file("res") + " > " +
                          dir.file("log.txt") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string log = test::read_text(dir.file("log.txt"));
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(log.find("p1.png") != std::string::npos);
  CHECK(log.find("mean (2 images)") != std::string::npos);
  const auto report = nlohmann::json::parse(test::read_text(dir.file("res/metrics.json")));
  REQUIRE(report["test_a"]["images"].size() == 2);
  const data::Image sr = data::read_image(dir.file("res/visualization/test_a/p1_t.png"));
  const data::Image ref = data::read_image(gt + "/p1.png");
  const double psnr = data::calculate_psnr(sr, ref, {4, true});
  CHECK(report["test_a"]["images"][0]["psnr"].get<double>() == Approx(psnr).epsilon(1e-9));
  // --precision fp16: said so, and the metrics within fp16's rounding of float32's; a bad
  // name is an error naming the flag.
  const std::string base16 = test::srengine_exe() + " test --config " + dir.file("cfg.json") + " --weights " +
                             infer_fixture("rrdbnet_tiny.safetensors") + " --tile 8 --output " + dir.file("res16");
  REQUIRE(std::system((base16 + " --precision fp16 > " + dir.file("log16.txt") + " 2>&1").c_str()) == 0);
  CHECK(test::read_text(dir.file("log16.txt")).find("on cpu, fp16") != std::string::npos);
  const auto report16 = nlohmann::json::parse(test::read_text(dir.file("res16/metrics.json")));
  CHECK(report16["test_a"]["images"][0]["psnr"].get<double>() == Approx(psnr).margin(0.05));
  CHECK(std::system((base16 + " --precision half > " + dir.file("logh.txt") + " 2>&1").c_str()) != 0);
  CHECK(test::read_text(dir.file("logh.txt"))
            .find("test: error: --precision expects default, fp32, tf32, bf16 or fp16, got 'half'") !=
        std::string::npos);
}

// An image too small for a metric (12x12: crop_border 4 leaves 4x4, under SSIM's 11x11) is
// refused before anything is upscaled, naming the file: measuring the others would give a
// mean of fewer images (and a PSNR sum that counted the image whose row was dropped).
TEST_CASE("infer/cli_test_refuses_unmeasurable_images_up_front") {
  if (!srengine_built_or_skip()) return;
  test::TempDir dir;
  const std::string gt = dir.subdir("gt");
  write_photo_crop(gt + "/big.png", 48, 40, 1);
  write_photo_crop(gt + "/tiny.png", 12, 12, 2);
  std::string log;
  const int rc = run_cli_test(dir, gt_only_test_config(gt), "--output " + dir.file("res"), &log);
  INFO(log);
  CHECK(rc != 0);
  CHECK_THAT(log, Catch::Contains("test: error: set 'datasets.test_a': image '" + gt + "/tiny.png' (12x12 when measured) "
                                  "cannot be measured by 'val.metrics.ssim'"));
  CHECK_THAT(log, !Catch::Contains("mean ("));
  CHECK_FALSE(fs::exists(dir.file("res/visualization")));
  CHECK_FALSE(fs::exists(dir.file("res/metrics.json")));
}

// Images that fail after upscaling (a net with a NaN weight: no metric can be computed) are
// listed in metrics.json under "failed" with their error, the exit status is 1, and no SR
// image of a failed row is left in visualization/.
TEST_CASE("infer/cli_test_failed_images_are_recorded_and_leave_no_sr_image") {
  if (!srengine_built_or_skip()) return;
  test::TempDir dir;
  const std::string gt = dir.subdir("gt");
  write_photo_crop(gt + "/p1.png", 48, 40, 1);
  write_photo_crop(gt + "/p2.png", 48, 40, 2);
  SafetensorsFile w = read_safetensors(infer_fixture("rrdbnet_tiny.safetensors"));
  bool poisoned = false;
  for (auto& [k, t] : w.tensors)
    if (k.find("conv_last.bias") != std::string::npos) {
      t.fill_(std::nanf(""));
      poisoned = true;
    }
  REQUIRE(poisoned);
  write_safetensors(dir.file("nan.safetensors"), w.tensors);
  std::string log;
  const int rc =
      run_cli_test(dir, gt_only_test_config(gt), "--output " + dir.file("res"), &log, dir.file("nan.safetensors"));
  INFO(log);
  CHECK(WEXITSTATUS(rc) == 1);
  CHECK_THAT(log, Catch::Contains("2 image(s) failed"));
  CHECK(files_in(dir.file("res/visualization/test_a")).empty());
  const auto report = nlohmann::json::parse(test::read_text(dir.file("res/metrics.json")));
  CHECK(report["test_a"]["images"].empty());
  REQUIRE(report["test_a"]["failed"].is_array());
  REQUIRE(report["test_a"]["failed"].size() == 2);
  CHECK(report["test_a"]["failed"][0]["name"] == "p1.png");
  CHECK_THAT(report["test_a"]["failed"][1]["error"].get<std::string>(), Catch::Contains("non-finite"));
}

// a.png and a.bmp of one set would both be written to a_t.png: refused before any work,
// naming both files.
TEST_CASE("infer/cli_test_refuses_two_images_with_one_output_name") {
  if (!srengine_built_or_skip()) return;
  test::TempDir dir;
  const std::string gt = dir.subdir("gt");
  write_photo_crop(gt + "/a.png", 48, 40, 1);
  write_photo_crop(gt + "/a.bmp", 48, 40, 2);
  std::string log;
  const int rc = run_cli_test(dir, gt_only_test_config(gt), "--output " + dir.file("res"), &log);
  INFO(log);
  CHECK(rc != 0);
  CHECK_THAT(log, Catch::Contains("test: error: set 'datasets.test_a': inputs '" + gt + "/a.bmp' and '" + gt +
                                  "/a.png' would both be written to '" + dir.file("res/visualization/test_a/a_t.png")));
  CHECK_FALSE(fs::exists(dir.file("res/visualization")));
}

// A second run into the same --output keeps the first run's results under
// <output>_archived_<time> (BasicSR's mkdir_and_rename); the working directory, or a folder
// holding it, is refused instead of renamed.
TEST_CASE("infer/cli_test_archives_an_earlier_run") {
  if (!srengine_built_or_skip()) return;
  test::TempDir dir;
  const std::string gt = dir.subdir("gt");
  write_photo_crop(gt + "/p1.png", 48, 40, 1);
  const std::string cfg = gt_only_test_config(gt);
  std::string log;
  REQUIRE(run_cli_test(dir, cfg, "--output " + dir.file("res"), &log) == 0);
  test::write_text(dir.file("res/mine.txt"), "first run");
  const int rc = run_cli_test(dir, cfg, "--output " + dir.file("res"), &log);
  INFO(log);
  REQUIRE(rc == 0);
  std::vector<std::string> archived;
  for (const std::string& f : files_in(dir.path()))
    if (f.rfind("res_archived_", 0) == 0) archived.push_back(f);
  REQUIRE(archived.size() == 1);
  CHECK(archived[0].size() == std::string("res_archived_20250101_120000").size());
  CHECK_THAT(log, Catch::Contains("renamed to '" + dir.file(archived[0]) + "'"));
  CHECK(test::read_text(dir.file(archived[0] + "/mine.txt")) == "first run");
  CHECK(fs::exists(dir.file(archived[0] + "/visualization/test_a/p1_t.png")));
  CHECK_FALSE(fs::exists(dir.file("res/mine.txt")));
  CHECK(fs::exists(dir.file("res/metrics.json")));

  // The working directory (".") and its parent hold results: refused, left in place.
  for (const std::string& out : {std::string("."), dir.path()}) {
    INFO(out);
    const std::string cmd = "cd " + dir.file("res") + " && " + test::srengine_exe() + " test --config " +
                            dir.file("cfg.json") + " --weights " + infer_fixture("rrdbnet_tiny.safetensors") +
                            " --output " + out + " > " + dir.file("cwd_log.txt") + " 2>&1";
    CHECK(std::system(cmd.c_str()) != 0);
    CHECK_THAT(test::read_text(dir.file("cwd_log.txt")),
               Catch::Contains("test: error: --output '" + out + "' ") &&
                   Catch::Contains("choose another output folder"));
    CHECK(fs::exists(dir.file("res/metrics.json")));
  }
  // An output folder that holds the weights (or a set's images) is not moved away with them.
  const std::string own = dir.subdir("own");
  fs::copy_file(infer_fixture("rrdbnet_tiny.safetensors"), own + "/w.safetensors");
  const std::string cmd = test::srengine_exe() + " test --config " + dir.file("cfg.json") + " --weights " + own +
                          "/w.safetensors --output " + own + " > " + dir.file("own_log.txt") + " 2>&1";
  CHECK(std::system(cmd.c_str()) != 0);
  CHECK_THAT(test::read_text(dir.file("own_log.txt")),
             Catch::Contains("--output '" + own + "' holds --weights '" + own + "/w.safetensors'"));
  CHECK(fs::exists(own + "/w.safetensors"));
}

// Two runs in one second: the second archive of the same folder gets a counter.
// An output or experiment folder reached through a symbolic link (to a larger disk) is
// archived where it lies; the link stays and names an empty folder for the new results.
TEST_CASE("infer/archive_existing_folder_keeps_a_symbolic_link") {
  test::TempDir dir;
  const std::string real = dir.subdir("big_disk/res");
  test::write_text(real + "/a.txt", "x");
  fs::create_directory_symlink(real, dir.file("res"));
  const std::string archived = data::archive_existing_folder(dir.file("res") + "/", "test: --output");
  INFO(archived);
  CHECK(archived.rfind(fs::canonical(real).string() + "_archived_", 0) == 0);
  CHECK(test::read_text(archived + "/a.txt") == "x");
  CHECK(fs::is_symlink(dir.file("res")));
  CHECK(fs::is_directory(real));
  CHECK(fs::is_empty(real));
}

TEST_CASE("infer/archive_existing_folder_counts_within_one_second") {
  test::TempDir dir;
  const std::string res = dir.subdir("res");
  test::write_text(res + "/a.txt", "x");
  // Every name the next few seconds could give is taken, so the rename must count.
  for (int ds = 0; ds < 5; ++ds) {
    const std::time_t t = std::time(nullptr) + ds;
    std::tm local{};
    localtime_r(&t, &local);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &local);
    fs::create_directories(res + "_archived_" + stamp);
  }
  const std::string archived = data::archive_existing_folder(res, "test: --output");
  INFO(archived);
  CHECK(archived.size() == (res + "_archived_20250101_120000_1").size());
  CHECK(archived.substr(archived.size() - 2) == "_1");
  CHECK(test::read_text(archived + "/a.txt") == "x");
  CHECK_FALSE(fs::exists(res));
  // An empty folder, or none, is used as it is.
  fs::create_directories(res);
  CHECK(data::archive_existing_folder(res, "test: --output").empty());
  CHECK(fs::is_directory(res));
  CHECK(data::archive_existing_folder(dir.file("none"), "test: --output").empty());
}

// A paired set (filename_tmpl '{}x4') named "Set5": its SR images go to visualization/Set5/
// named by the LQ file (p1x4_t.png, as BasicSR), metrics.json keeps the key and adds the name;
// val.save_img false writes no image but still measures; two sets with one folder are refused.
TEST_CASE("infer/cli_test_set_name_lq_stem_and_save_img") {
  if (!srengine_built_or_skip()) return;
  test::TempDir dir;
  const std::string gt = dir.subdir("gt"), lq = dir.subdir("lq");
  write_photo_crop(gt + "/p1.png", 48, 40, 1);
  const data::Image lq_img = data::tensor_to_image(
      data::imresize(data::image_to_tensor(data::read_image(gt + "/p1.png")), 0.25));
  data::write_image(lq + "/p1x4.png", lq_img);
  const std::string set = R"({"type": "PairedImageDataset", "name": "Set5", "dataroot_gt": ")" + gt +
                          R"(", "dataroot_lq": ")" + lq + R"(", "filename_tmpl": "{}x4"})";
  std::string log;
  int rc = run_cli_test(dir, cli_test_config(R"({"test_a": )" + set + "}"), "--output " + dir.file("res"), &log);
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(files_in(dir.file("res/visualization")) == std::vector<std::string>{"Set5"});
  CHECK(files_in(dir.file("res/visualization/Set5")) == std::vector<std::string>{"p1x4_t.png"});
  auto report = nlohmann::json::parse(test::read_text(dir.file("res/metrics.json")));
  CHECK(report["test_a"]["name"] == "Set5");
  CHECK(report["test_a"]["images"][0]["name"] == "p1.png");

  rc = run_cli_test(dir, cli_test_config(R"({"test_a": )" + set + "}", R"({"save_img": false})"),
                    "--output " + dir.file("nosave"), &log);
  INFO(log);
  REQUIRE(rc == 0);
  CHECK_FALSE(fs::exists(dir.file("nosave/visualization")));
  report = nlohmann::json::parse(test::read_text(dir.file("nosave/metrics.json")));
  REQUIRE(report["test_a"]["images"].size() == 1);
  CHECK(report["test_a"]["images"][0].contains("psnr"));

  rc = run_cli_test(dir, cli_test_config(R"({"test_a": )" + set + R"(, "test_b": )" + set + "}"),
                    "--output " + dir.file("two"), &log);
  INFO(log);
  CHECK(rc != 0);
  CHECK_THAT(log, Catch::Contains("test: error: datasets.test_a and datasets.test_b would both write their SR images to "
                                  "visualization/Set5"));
  CHECK_FALSE(fs::exists(dir.file("two/visualization")));
}

// Not a check: the measurement behind docs/INFERENCE.md's table (hidden, so ctest does not
// list it). Run:
//   SRENGINE_MEASURE_CONFIG=CFG.json SRENGINE_MEASURE_WEIGHTS=W.safetensors
//     build/srengine_tests measure/infer_tiling_table   (one command line)
// on a 160x120 crop of datasets/val_photos/mate_wood.png, in float (no quantisation).
TEST_CASE("measure/infer_tiling_table", "[.]") {
  const char* cfg = std::getenv("SRENGINE_MEASURE_CONFIG");
  const char* weights = std::getenv("SRENGINE_MEASURE_WEIGHTS");
  const std::string cfg_path = cfg ? cfg : infer_fixture("config.json");
  const std::string w_path = weights ? weights : infer_fixture("rrdbnet_tiny.safetensors");
  nlohmann::json c = nlohmann::json::parse(test::read_text(cfg_path), nullptr, true, true);
  nlohmann::json opt = c["network_g"];
  if (opt.value("type", "") == "RRDBNet" && !opt.contains("scale")) opt["scale"] = c.value("scale", 4);
  std::unique_ptr<Module> net = build_network(opt);
  load_basicsr_weights(*net, w_path, "auto", true);
  net->eval();
  NoGradGuard no_grad;
  const Tensor img = photo_crop(120, 160);
  const Tensor untiled = infer::upscale_image(*net, img, {0, 10, 0});
  std::printf("%s with %s, 160x120 input\n\n| tile | tile_pad | blended: max | mean | seam step | pasted: max | mean | seam step |\n"
              "|---|---|---|---|---|---|---|---|\n", cfg_path.c_str(), w_path.c_str());
  for (int pad : {2, 4, 6, 10})
    for (int tile : {32, 64, 128}) {
      const Diff b = compare(infer::upscale_image(*net, img, {tile, pad, 0, true}), untiled);
      const Diff p = compare(infer::upscale_image(*net, img, {tile, pad, 0, false}), untiled);
      std::printf("| %d | %d | %.2e | %.2e | %.2e | %.2e | %.2e | %.2e |\n", tile, pad, b.max_abs, b.mean_abs,
                  b.max_step, p.max_abs, p.mean_abs, p.max_step);
    }
}
