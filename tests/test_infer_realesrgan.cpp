// Real-ESRGAN's inference features: the Lanczos-4 --outscale resize (against a direct
// evaluation of its definition, and streamed = whole), output sizes, weight interpolation
// (--dni, -dn: alpha 0 and 1 give the two models exactly), the 8-way TTA (a net symmetric under
// flips and transposes gives its plain output), and the CLI's Real-ESRGAN flags.
#include <catch2/catch.hpp>

#include <climits>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "data/image.h"
#include "data/image_io.h"
#include "data/resize_lanczos4.h"
#include "engine/autograd.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "infer/open_model.h"
#include "infer/tiled_upscale.h"
#include "infer/tta.h"
#include "infer/upscale_file.h"
#include "nets/factory.h"
#include "nets/model_presets.h"
#include "nets/rrdbnet.h"
#include "nets/srvgg_compact.h"
#include "support/data_support.h"

using namespace sr;
namespace fs = std::filesystem;

namespace {

// The definition in data/resize_lanczos4.h evaluated directly in float64, one output sample
// at a time, with no shared code: the oracle for resize_lanczos4.
double lanczos_ref_weight(double t) {
  if (t == 0) return 1;
  return std::sin(M_PI * t) * std::sin(M_PI * t / 4) / (M_PI * t * M_PI * t / 4);
}
std::vector<std::pair<int, double>> ref_taps(int d, int in, int out) {
  const float x = (float)((d + 0.5) / ((double)out / in) - 0.5);
  const int s = (int)std::floor(x);
  const double f = (double)x - s;
  std::vector<std::pair<int, double>> taps;
  double sum = 0;
  for (int i = 0; i < 8; ++i) {
    const double w = lanczos_ref_weight(f + 3 - i);
    taps.emplace_back(std::clamp(s - 3 + i, 0, in - 1), w);
    sum += w;
  }
  for (auto& t : taps) t.second /= sum;
  return taps;
}
double ref_sample(const data::Image& img, int ox, int oy, int c, int out_w, int out_h) {
  double v = 0;
  for (const auto& [sy, wy] : ref_taps(oy, img.height, out_h))
    for (const auto& [sx, wx] : ref_taps(ox, img.width, out_w)) v += wy * wx * img.at(sy, sx, c);
  return v;
}

std::unique_ptr<Module> he_rrdbnet(int scale, uint64_t seed) {
  manual_seed(seed);
  auto net = std::make_unique<RRDBNet>(3, 3, scale, 8, 1, 4);
  for (auto& [k, t] : net->state_dict())
    if (t.dim() == 4) kaiming_normal_(t, 0.2);
  net->eval();
  return net;
}

}  // namespace

TEST_CASE("resize/lanczos4_matches_its_definition") {
  std::mt19937_64 rng(7);
  const data::Image img = test::random_image(rng, 23, 17, 3);
  for (auto [w, h] : std::vector<std::pair<int, int>>{{46, 34}, {57, 41}, {11, 9}, {23, 17}, {5, 40}, {1, 1}}) {
    INFO(w << "x" << h);
    const data::Image out = data::resize_lanczos4(img, w, h);
    REQUIRE(out.width == w);
    REQUIRE(out.height == h);
    double worst = 0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) worst = std::max(worst, std::abs(out.at(y, x, c) - ref_sample(img, x, y, c, w, h)));
    CHECK(worst < 2e-6);
  }
  // The same size is the identity (weight 1 at distance 0, sinc zeros elsewhere), and a flat
  // image stays flat (the weights are normalised).
  const data::Image same = data::resize_lanczos4(img, 23, 17);
  for (size_t i = 0; i < img.pixels.size(); ++i) REQUIRE(std::abs(same.pixels[i] - img.pixels[i]) < 1e-6);
  data::Image flat(9, 7, 1);
  std::fill(flat.pixels.begin(), flat.pixels.end(), 0.625f);
  for (float v : data::resize_lanczos4(flat, 31, 5).pixels) REQUIRE(std::abs(v - 0.625f) < 1e-6);
  // Row by row in uneven pieces gives what the whole image gives.
  const data::Image whole = data::resize_lanczos4(img, 37, 29);
  std::vector<float> streamed;
  data::Lanczos4RowResizer r(23, 17, 37, 29, 3,
                             [&](const float* row) { streamed.insert(streamed.end(), row, row + 37 * 3); });
  for (int y = 0, piece = 0; y < 17; ++piece) {
    const int n = std::min(1 + 3 * (piece % 3), 17 - y);  // 1, 4, 7, 1, ... rows
    r.push_rows(img.pixels.data() + (size_t)y * 23 * 3, n);
    y += n;
  }
  CHECK(r.rows_emitted() == 29);
  CHECK(streamed == whole.pixels);
}

TEST_CASE("infer/outscale_output_sizes") {
  int w = 0, h = 0;
  infer::output_size(10, 12, 4, 0, w, h, infer::Spelling::cli);  // 0: the net's scale
  CHECK((w == 40 && h == 48));
  infer::output_size(10, 12, 4, 4.0, w, h, infer::Spelling::cli);
  CHECK((w == 40 && h == 48));
  infer::output_size(10, 12, 4, 2, w, h, infer::Spelling::cli);
  CHECK((w == 20 && h == 24));
  infer::output_size(37, 53, 4, 3.5, w, h, infer::Spelling::cli);
  CHECK((w == 129 && h == 185));  // int(129.5), int(185.5)
  infer::output_size(10, 12, 2, 1.3, w, h, infer::Spelling::cli);
  CHECK((w == 13 && h == 15));  // 13.000000000000002 -> 13, 15.6 -> 15
  infer::output_size(7, 5, 4, 0.25, w, h, infer::Spelling::cli);
  CHECK((w == 1 && h == 1));
  test::require_error([&] { infer::output_size(7, 5, 4, 0.1, w, h, infer::Spelling::cli); }, {"--outscale 0.1", "less than one pixel"});
  // Each side below 1e9 at the net's own scale too, computed without overflow (x4 of 1073741825
  // wrapped to 4), with or without an outscale equal to the net's.
  for (const double os : {0.0, 4.0})
    test::require_error([&] { infer::output_size(1073741825, 1, 4, os, w, h, infer::Spelling::cli); },
                        {"the 1073741825x1 image at x4", "4294967300x4", "below 1000000000"});
  test::require_error([&] { infer::output_size(INT_MAX, INT_MAX, 4, 0, w, h, infer::Spelling::cli); }, {"8589934588x8589934588"});
  infer::output_size(249999999, 1, 4, 0, w, h, infer::Spelling::cli);
  CHECK((w == 999999996 && h == 4));
  // checked_output_size adds the input's limit, pre-pad included (nothing allocated: sizes only).
  infer::TileOptions tile;
  infer::checked_output_size(10000, 10000, 4, 0, tile, w, h);
  CHECK((w == 40000 && h == 40000));
  test::require_error([&] { infer::checked_output_size(10001, 10000, 4, 0, tile, w, h); },
                      {"the 10001x10000 image has 100010000 pixels, over the limit of 100000000"});
  tile.pre_pad = 1;
  test::require_error([&] { infer::checked_output_size(10000, 10000, 4, 0, tile, w, h); },
                      {"a pre-pad of 1 makes the 10000x10000 image 10002x10002"});

  // Through upscale_file: RGB 8-bit, gray+alpha 16-bit, both up and down from the net's x4.
  test::TempDir dir;
  std::mt19937_64 rng(3);
  data::write_image(dir.file("rgb.png"), test::random_image(rng, 13, 9, 3));
  data::write_image(dir.file("ga16.png"), test::random_image(rng, 13, 9, 2, 16));
  const auto net = he_rrdbnet(4, 11);
  NoGradGuard no_grad;
  for (double s : {2.0, 3.3, 4.0, 6.0, 1.0}) {
    for (const char* name : {"rgb.png", "ga16.png"}) {
      INFO(name << " outscale " << s);
      infer::FileOptions fo;
      fo.outscale = s;
      fo.tile.tile = 8;
      const std::string out = dir.file("out_" + std::to_string(s) + name);
      const infer::FileResult r = infer::upscale_file(*net, dir.file(name), out, fo);
      const data::Image o = data::read_image(out);
      CHECK(o.width == (int)(13 * s));
      CHECK(o.height == (int)(9 * s));
      CHECK(r.out_width == o.width);
      CHECK(o.channels == data::read_image(dir.file(name)).channels);
      CHECK(o.bit_depth == data::read_image(dir.file(name)).bit_depth);
    }
  }
  // outscale 2 on a x4 net = the x4 output, quantised, then the Lanczos-4 resize.
  infer::FileOptions x4, half;
  half.outscale = 2;
  infer::upscale_file(*net, dir.file("rgb.png"), dir.file("x4.png"), x4);
  infer::upscale_file(*net, dir.file("rgb.png"), dir.file("x2.png"), half);
  const data::Image expect = data::resize_lanczos4(data::read_image(dir.file("x4.png")), 26, 18);
  const data::Image got = data::read_image(dir.file("x2.png"));
  for (size_t i = 0; i < got.pixels.size(); ++i)
    REQUIRE(data::quantize_u8(got.pixels[i]) == data::quantize_u8(expect.pixels[i]));
}

// --dni W1 W2 ALPHA: (1 - ALPHA) W1 + ALPHA W2; 0 and 1 give either file bit for bit, and
// -dn D for realesr-general-x4v3 is --dni wdn x4v3 D.
TEST_CASE("infer/dni_alpha_0_and_1_equal_the_two_models") {
  test::TempDir dir;
  const nlohmann::json opt = find_model_preset("realesr-general-x4v3").network_g;
  manual_seed(21);
  const NamedTensors a = build_network(opt)->state_dict();
  manual_seed(22);
  const NamedTensors b = build_network(opt)->state_dict();
  const std::string models = dir.subdir("models");
  write_safetensors(models + "/realesr-general-wdn-x4v3.safetensors", a);
  write_safetensors(models + "/realesr-general-x4v3.safetensors", b);
  auto open = [&](double alpha) {
    infer::ModelSpec spec;
    spec.weights = models + "/realesr-general-wdn-x4v3.safetensors";
    spec.dni_weights = models + "/realesr-general-x4v3.safetensors";
    spec.dni_alpha = alpha;
    return infer::open_model(spec).net->state_dict();
  };
  auto same = [](const NamedTensors& x, const NamedTensors& y) {
    REQUIRE(x.size() == y.size());
    for (size_t i = 0; i < x.size(); ++i) {
      INFO(x[i].first);
      REQUIRE(x[i].first == y[i].first);
      REQUIRE(x[i].second.to_vector() == y[i].second.to_vector());
    }
  };
  same(open(0.0), a);
  same(open(1.0), b);
  const NamedTensors mid = open(0.25);
  const std::vector<double> m = mid[0].second.to_vector(), va = a[0].second.to_vector(), vb = b[0].second.to_vector();
  for (size_t i = 0; i < m.size(); ++i) REQUIRE(m[i] == (double)(float)(0.75 * va[i] + 0.25 * vb[i]));

  // -dn through the preset: 1 needs only realesr-general-x4v3 (the wdn file may be absent),
  // 0 is the wdn model, 0.25 is the same blend as --dni.
  auto dn = [&](double d, const std::string& dirpath) {
    infer::ModelSpec spec;
    spec.model_name = "realesr-general-x4v3";
    spec.model_dir = dirpath;
    spec.denoise_strength = d;
    return infer::open_model(spec).net->state_dict();
  };
  same(dn(0.0, models), a);
  same(dn(0.25, models), open(0.25));
  const std::string only = dir.subdir("only_x4v3");
  fs::copy_file(models + "/realesr-general-x4v3.safetensors", only + "/realesr-general-x4v3.safetensors");
  same(dn(1.0, only), b);
  test::require_error([&] { dn(0.5, only); }, {"realesr-general-wdn-x4v3.pth", "v0.2.5.0"});
  // Files of different architectures are refused by name.
  write_safetensors(dir.file("other.safetensors"), he_rrdbnet(4, 1)->state_dict());
  infer::ModelSpec bad;
  bad.weights = models + "/realesr-general-x4v3.safetensors";
  bad.dni_weights = dir.file("other.safetensors");
  bad.dni_alpha = 0.5;
  test::require_error([&] { infer::open_model(bad); }, {"other.safetensors", "not the same architecture"});
}

// Every transform is undone by its inverse; a net whose kernels are symmetric under the 8
// flips/transposes commutes with them, so TTA gives its plain output (to float rounding: the
// convolutions sum in another order), while a random net's TTA output differs.
TEST_CASE("infer/tta_on_a_symmetric_net_equals_plain_inference") {
  const Tensor x = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {1, 2, 2, 3});
  for (int k = 0; k < 8; ++k) {
    const Tensor t = infer::dihedral_transform(x, k);
    CHECK(t.shape() == (k & 4 ? Shape({1, 2, 3, 2}) : Shape({1, 2, 2, 3})));
    CHECK(infer::dihedral_inverse(t, k).to_vector() == x.to_vector());
  }
  CHECK(infer::dihedral_transform(x, 1).to_vector() == std::vector<double>{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10});
  CHECK(infer::dihedral_transform(x, 4).to_vector() == std::vector<double>{1, 4, 2, 5, 3, 6, 7, 10, 8, 11, 9, 12});

  NoGradGuard no_grad;
  const Tensor img =
      data::image_to_tensor(data::read_image(std::string(SRENGINE_SOURCE_DIR) + "/datasets/val_photos/mate_wood.png"))
          .narrow(2, 30, 21)
          .narrow(3, 50, 26)
          .contiguous();
  auto net = he_rrdbnet(4, 5);
  const auto run = [&](bool tta) {
    return infer::tiled_apply(img, 4, 1, infer::TileOptions{}, [&](const Tensor& t) {
      const auto plain = [&](const Tensor& u) { return net->forward(u).contiguous(); };
      return tta ? infer::tta_apply(t, plain) : plain(t);
    });
  };
  const auto max_diff = [](const Tensor& a, const Tensor& b) {
    double m = 0;
    const std::vector<double> p = a.to_vector(), q = b.to_vector();
    for (size_t i = 0; i < p.size(); ++i) m = std::max(m, std::abs(p[i] - q[i]));
    return m;
  };
  const double random_gap = max_diff(run(true), run(false));
  CHECK(random_gap > 1e-3);
  // Symmetrise every 3x3 kernel: the mean of its 8 transforms.
  for (auto& [k, w] : net->state_dict()) {
    if (w.dim() != 4 || w.size(2) != 3) continue;
    const Tensor planes = w.reshape({1, w.size(0) * w.size(1), 3, 3});
    Tensor mean = Tensor::zeros(planes.shape());
    for (int t = 0; t < 8; ++t) {
      const Tensor p = infer::dihedral_transform(planes, t);
      for (int64_t i = 0; i < mean.numel(); ++i) mean.data<float>()[i] += p.data<float>()[i] / 8;
    }
    w.copy_(mean.reshape(w.shape()));
  }
  const double symmetric_gap = max_diff(run(true), run(false));
  INFO("random net: TTA - plain = " << random_gap << ", symmetric net: " << symmetric_gap);
  CHECK(symmetric_gap < 2e-5);
}

// Real-ESRGAN's spellings on the command line, the folder's skipped files named, and the
// flags srengine cannot honour refused clearly.
// Real-ESRGAN's --alpha_upsampler bicubic is cv2's bilinear resize of the alpha plane there,
// so here it is --alpha linear (bit for bit); srengine's own --alpha bicubic is MATLAB's.
TEST_CASE("infer/cli_alpha_upsampler_means_what_realesrgan_does") {
  if (!fs::exists(test::srengine_exe())) {
    WARN("SKIPPED: " << test::srengine_exe() << " is not built");
    return;
  }
  test::TempDir dir;
  std::mt19937_64 rng(19);
  data::write_image(dir.file("logo.png"), test::random_image(rng, 12, 10, 4));
  const std::string fx = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/infer/";
  const auto run = [&](const std::string& flags, const std::string& out) {
    const std::string cmd = test::srengine_exe() + " infer --weights " + fx + "rrdbnet_tiny.safetensors --config " +
                            fx + "config.json -i " + dir.file("logo.png") + " -o " + dir.file(out) + " " + flags +
                            " > " + dir.file(out + ".log") + " 2>&1";
    INFO(cmd);
    REQUIRE(std::system(cmd.c_str()) == 0);
    return test::read_text(dir.file(out + "/logo.png"));  // the PNG bytes
  };
  const std::string realesrgan = run("--alpha_upsampler bicubic", "a"), linear = run("--alpha linear", "b");
  CHECK(realesrgan == linear);
  CHECK(run("--alpha bicubic", "c") != linear);
}

TEST_CASE("infer/cli_realesrgan_flags") {
  if (!fs::exists(test::srengine_exe())) {
    WARN("SKIPPED: " << test::srengine_exe() << " is not built");
    return;
  }
  test::TempDir dir;
  const std::string in = dir.subdir("in");
  std::mt19937_64 rng(9);
  data::write_image(in + "/photo.png", test::random_image(rng, 12, 10, 3));
  data::write_image(in + "/logo.png", test::random_image(rng, 12, 10, 4));
  test::write_bytes(in + "/notes.txt", {'h', 'i'});
  dir.subdir("in/sub");
  const std::string fx = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/";
  const std::string cmd = test::srengine_exe() + " infer --model_path " + fx + "infer/rrdbnet_tiny.safetensors --config " + fx +
                          "infer/config.json -i " + in + " -o " + dir.file("out") +
                          " -s 2.5 -t 8 --tile_pad 4 --pre_pad 2 --suffix out --ext jpg --fp32 "
                          "--alpha_upsampler realesrgan -x > " + dir.file("log.txt") + " 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string log = test::read_text(dir.file("log.txt"));
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(log.find("skipping '" + in + "/notes.txt'") != std::string::npos);
  CHECK(log.find("skipping '" + in + "/sub': a folder") != std::string::npos);
  CHECK(log.find("8-way TTA") != std::string::npos);
  CHECK(log.find("logo.png has alpha") != std::string::npos);
  const data::Image photo = data::read_image(dir.file("out/photo_out.jpg"));
  CHECK((photo.width == 30 && photo.height == 25));
  const data::Image logo = data::read_image(dir.file("out/logo_out.png"));  // alpha: PNG
  CHECK((logo.width == 30 && logo.height == 25 && logo.channels == 4));

  const std::string base = test::srengine_exe() + " infer --weights " + fx + "infer/rrdbnet_tiny.safetensors --config " + fx +
                           "infer/config.json -i " + in + "/photo.png -o " + dir.file("o2");
  for (const auto& [flags, message] : std::vector<std::pair<std::string, std::string>>{
           {"--face_enhance", "GFPGAN"},
           {"-s 0", "-s must be > 0, got 0"},
           {"-s two", "-s expects a number, got 'two'"},
           {"--dni a.pth b.pth", "three values"},
       }) {
    INFO(flags);
    const int r = std::system((base + " " + flags + " > " + dir.file("log2.txt") + " 2>&1").c_str());
    const std::string l = test::read_text(dir.file("log2.txt"));
    INFO(l);
    CHECK(r != 0);
    CHECK(l.find(message) != std::string::npos);
  }
#ifndef SRENGINE_WITH_CUDA
  const int r = std::system((base + " -g 0 > " + dir.file("log3.txt") + " 2>&1").c_str());
  CHECK(r != 0);
  CHECK(test::read_text(dir.file("log3.txt")).find("cuda:0 requested but this srengine was built without CUDA") !=
        std::string::npos);
  // Without CUDA the default device is the CPU.
  REQUIRE(std::system((base + " > " + dir.file("log4.txt") + " 2>&1").c_str()) == 0);
  CHECK(test::read_text(dir.file("log4.txt")).find(" on cpu") != std::string::npos);
#endif
}

// Real-ESRGAN's command lines as argparse reads them: --name=value and values glued to short
// options, its defaults (-i inputs, -o results, -n RealESRGAN_x4plus), -n with the file's
// extension, -dn ignored (with a warning) by other models; and what a user who types a file
// name for -o, an extension srengine cannot write, a video without ffmpeg or an impossible
// output size is told.
TEST_CASE("infer/cli_argparse_forms_and_defaults") {
  if (!fs::exists(test::srengine_exe())) {
    WARN("SKIPPED: " << test::srengine_exe() << " is not built");
    return;
  }
  test::TempDir dir;
  std::mt19937_64 rng(23);
  data::write_image(dir.subdir("inputs") + "/photo.png", test::random_image(rng, 12, 10, 3));
  const std::string fx = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/infer/";
  const std::string net = " --weights " + fx + "rrdbnet_tiny.safetensors --config " + fx + "config.json";
  const std::string exe = "cd " + dir.path() + " && " + test::srengine_exe() + " infer";
  auto run = [&](const std::string& args, std::string& log) {
    const int rc = std::system((exe + args + " > log.txt 2>&1").c_str());
    log = test::read_text(dir.file("log.txt"));
    return rc;
  };
  std::string log;
  // --outscale=2 and -t16: argparse's forms; no -i / -o: Real-ESRGAN's folders.
  REQUIRE(run(net + " --outscale=2 -t16 --tile_pad=4 -dn0.3", log) == 0);
  INFO(log);
  const data::Image out = data::read_image(dir.file("results/photo.png"));
  CHECK((out.width == 24 && out.height == 20));
  CHECK(log.find("--tile 16 is small") != std::string::npos);
  CHECK(log.find("tile 16 (pad 4") != std::string::npos);
  CHECK(log.find("-dn applies only to -n realesr-general-x4v3; ignored") != std::string::npos);
  // No model: Real-ESRGAN's default, RealESRGAN_x4plus, looked up by name (.pth dropped from -n).
  CHECK(run("", log) != 0);
  CHECK(log.find("model RealESRGAN_x4plus: its weights file 'RealESRGAN_x4plus.pth' is not in") != std::string::npos);
  CHECK(run(" -n realesr-animevideov3.pth", log) != 0);
  CHECK(log.find("model realesr-animevideov3: its weights file") != std::string::npos);
  // -o with an image name is a folder, and says so.
  REQUIRE(run(net + " -o one.png", log) == 0);
  CHECK(log.find("-o 'one.png' is a folder") != std::string::npos);
  CHECK(fs::exists(dir.file("one.png/photo.png")));
  // An input whose extension srengine does not write, with --ext auto: named before any work.
  fs::copy_file(dir.file("inputs/photo.png"), dir.file("photo.jfif"));
  CHECK(run(net + " -i photo.jfif -o o2", log) != 0);
  CHECK(log.find("'photo.jfif' has no image extension srengine writes (.jfif) to keep with --ext auto: give --ext png") !=
        std::string::npos);
  CHECK(log.find("infer: RRDBNet") == std::string::npos);  // before the net is built
  REQUIRE(run(net + " -i photo.jfif -o o2 --ext png", log) == 0);
  CHECK(fs::exists(dir.file("o2/photo.png")));
  // A size no writer can take names the scale and the size.
  CHECK(run(net + " -o o3 -s 100000", log) != 0);
  CHECK(log.find("12x10 at x100000 makes 1200000x1000000") != std::string::npos);
  // A video in a folder, without ffmpeg on PATH: it fails by name, the image is still done.
  test::write_bytes(dir.file("inputs/clip.mp4"), {0, 0, 0, 0});
  dir.subdir("empty_path");
  const int rc = std::system(("cd " + dir.path() + " && PATH=" + dir.file("empty_path") + " " + test::srengine_exe() +
                              " infer" + net + " -o o4 > log.txt 2>&1").c_str());
  log = test::read_text(dir.file("log.txt"));
  CHECK(rc != 0);
  CHECK(log.find("1 video(s) in the folder will fail") != std::string::npos);
  CHECK(log.find("FAILED inputs/clip.mp4: video input 'inputs/clip.mp4' needs the ffmpeg") != std::string::npos);
  CHECK(log.find("1 of 2 image(s) failed") != std::string::npos);
  CHECK(fs::exists(dir.file("o4/photo.png")));
}

// Every format in and out of upscale_file, through a net whose output is exactly
// nearest-neighbour upsampling (SRVGGNetCompact with its last conv zeroed), so each output
// sample is known: 16-bit TIFF stays 16-bit, WebP and BMP are 8-bit, alpha is kept.
TEST_CASE("infer/formats_in_and_out") {
  if (!data::image_format_built(data::ImageFormat::tiff) || !data::image_format_built(data::ImageFormat::webp)) {
    WARN("skipped: this build has no TIFF or no WebP support (install libtiff-dev libwebp-dev and reconfigure)");
    return;
  }
  auto net = std::make_unique<SRVGGNetCompact>(3, 3, 4, 1, 2, "prelu");
  for (auto& [k, t] : net->state_dict())
    if (k.rfind("body.4.", 0) == 0) t.fill_(0.0);
  net->eval();
  NoGradGuard no_grad;
  test::TempDir dir;
  std::mt19937_64 rng(17);
  struct Case {
    const char* in;
    int channels, depth;
    const char* out;
    int out_depth;
  };
  for (const Case& c : std::vector<Case>{{"a.tif", 3, 16, "a.tif", 16},
                                         {"b.tif", 4, 8, "b.webp", 8},
                                         {"c.webp", 4, 8, "c.bmp", 8},
                                         {"d.bmp", 1, 8, "d.tif", 8},
                                         {"e.png", 3, 16, "e.bmp", 8},
                                         {"f.bmp", 3, 8, "f.png", 8}}) {
    INFO(c.in << " -> " << c.out);
    const data::Image img = test::random_image(rng, 9, 7, c.channels, c.depth);
    data::write_image(dir.file(c.in), img);
    infer::FileOptions fo;
    fo.alpha = infer::AlphaMode::net;  // alpha through the same exact net
    infer::upscale_file(*net, dir.file(c.in), dir.file(c.out), fo);
    const data::Image out = data::read_image(dir.file(c.out));
    REQUIRE(out.width == 18);
    REQUIRE(out.channels == c.channels);
    CHECK(out.bit_depth == c.out_depth);
    const float top = c.out_depth == 16 ? 65535.0f : 255.0f;
    int worst = 0;
    for (int y = 0; y < 14; ++y)
      for (int x = 0; x < 18; ++x)
        for (int k = 0; k < c.channels; ++k)
          worst = std::max(worst, (int)std::lround(std::abs(out.at(y, x, k) - img.at(y / 2, x / 2, k)) * top));
    // Exact where the depth is kept; 16 -> 8 bits is one rounding of a 16-bit value.
    CHECK(worst == 0);
  }
}
