// PSNR/SSIM against the independent numpy reference (BasicSR semantics) on real photo
// crops, plus exact values on constructed cases and the folder evaluation.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "data/evaluate.h"
#include "data/image_io.h"
#include "data/metrics.h"
#include "data/ycbcr.h"
#include "support/data_support.h"

using namespace sr;
using namespace sr::data;

TEST_CASE("data/metrics_match_reference") {
  std::ifstream in(test::data_fixture("expected.json"));
  const nlohmann::json expected = nlohmann::json::parse(in);
  REQUIRE(expected["metrics"].size() >= 8);
  for (const auto& c : expected["metrics"]) {
    MetricOptions opt;
    opt.crop_border = c["crop_border"];
    opt.test_y_channel = c["y_channel"];
    const Image gt = read_image(test::data_fixture(c["gt"])), sr = read_image(test::data_fixture(c["sr"]));
    const double psnr = calculate_psnr(sr, gt, opt), ssim = calculate_ssim(sr, gt, opt);
    const double ref_psnr = c["psnr"], ref_ssim = c["ssim"];
    INFO(c["gt"] << " crop " << opt.crop_border << " y " << opt.test_y_channel << ": psnr " << psnr << " vs "
                 << ref_psnr << ", ssim " << ssim << " vs " << ref_ssim);
    CHECK(std::fabs(psnr - ref_psnr) <= 1e-12 + 1e-9 * std::fabs(ref_psnr));
    CHECK(std::fabs(ssim - ref_ssim) <= 1e-12 + 1e-9 * std::fabs(ref_ssim));
    CHECK(psnr > 20);
    CHECK(ssim < 0.999);
  }
}

TEST_CASE("data/metrics_exact_cases") {
  std::mt19937_64 rng(21);
  const Image a = test::random_image(rng, 32, 24, 3);
  CHECK(std::isinf(calculate_psnr(a, a)));
  CHECK(calculate_ssim(a, a) == Approx(1.0).epsilon(1e-14));
  // One level everywhere: MSE = 1, PSNR = 20 log10(255).
  Image b = a;
  for (float& v : b.pixels) v = v * 255.0f >= 254.5f ? v - 1.0f / 255 : v + 1.0f / 255;
  CHECK(calculate_psnr(a, b) == Approx(20 * std::log10(255.0)).epsilon(1e-12));
  // Inputs are rounded to 8 bits first: a shift of 0.3 levels is invisible.
  Image c = a;
  for (float& v : c.pixels) v = std::min(1.0f, v + 0.3f / 255);
  CHECK(std::isinf(calculate_psnr(a, c)));
  // Gray images with test_y_channel are measured as they are (BasicSR's to_y_channel leaves a
  // one-channel image; a `color: y` model's saved images are its Y): one gray level is one Y
  // level, PSNR = 20 log10(255), as for the same images as tensors. (Taking them as R = G = B
  // would give Y = 16 + 219 v: 20 log10(255 / (219/255)), 1.32 dB more.)
  Image g(20, 20, 1), g2(20, 20, 1);
  for (size_t i = 0; i < g.pixels.size(); ++i) {
    g.pixels[i] = (float)(i % 200) / 255.0f;
    g2.pixels[i] = (float)(i % 200 + 1) / 255.0f;
  }
  MetricOptions y;
  y.test_y_channel = true;
  CHECK(calculate_psnr(g, g2, y) == Approx(20 * std::log10(255.0)).epsilon(1e-12));
  CHECK(calculate_psnr(g, g2, y) == calculate_psnr(image_to_tensor(g).narrow(1, 0, 1), image_to_tensor(g2).narrow(1, 0, 1), y));
  CHECK(calculate_psnr(g, g2) == Approx(20 * std::log10(255.0)).epsilon(1e-12));
  // A gray image beside a colour one: without test_y_channel, as R = G = B; with it, refused
  // (data/metrics_gray_beside_colour_is_refused_with_y_channel).
  const Image rgb = test::random_image(rng, 20, 20, 3);
  Image flat(20, 20, 1);
  for (size_t i = 0; i < flat.pixels.size(); ++i) flat.pixels[i] = rgb.pixels[3 * i];
  Image rrr = rgb;
  for (size_t i = 0; i < flat.pixels.size(); ++i) rrr.pixels[3 * i + 1] = rrr.pixels[3 * i + 2] = flat.pixels[i];
  CHECK(calculate_psnr(flat, rrr) == std::numeric_limits<double>::infinity());
  // Tensor inputs are rounded like tensor2img and agree with the image path.
  MetricOptions crop;
  crop.crop_border = 4;
  CHECK(calculate_psnr(image_to_tensor(a), image_to_tensor(b), crop) == calculate_psnr(a, b, crop));
  CHECK(calculate_ssim(image_to_tensor(a), image_to_tensor(b), crop) == calculate_ssim(a, b, crop));
  test::require_error([&] { calculate_psnr(a, test::random_image(rng, 31, 24, 3)); }, {"32x24", "31x24"});
  crop.crop_border = 12;
  test::require_error([&] { calculate_psnr(a, b, crop); }, {"crop_border 12"});
}

TEST_CASE("data/metrics_folders") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt"), sr = dir.subdir("sr");
  const std::vector<uint8_t> lady = read_file_bytes(test::data_fixture("ladybird_60.png"));
  test::write_bytes(gt + "/lady.png", lady);
  test::write_bytes(sr + "/lady.png", read_file_bytes(test::data_fixture("ladybird_60_bicubic_sr.png")));
  test::write_bytes(gt + "/coffee.png", read_file_bytes(test::data_fixture("coffee_48.png")));
  test::write_bytes(sr + "/coffee.png", read_file_bytes(test::data_fixture("coffee_48_noisy.png")));
  MetricOptions opt;
  opt.crop_border = 4;
  const FolderScores s = evaluate_folders(gt, sr, opt);
  REQUIRE(s.images.size() == 2);
  CHECK(s.images[0].name == "coffee.png");
  CHECK(s.mean_psnr == Approx((s.images[0].psnr + s.images[1].psnr) / 2));
  const nlohmann::json j = scores_to_json(s);
  CHECK(j["images"][1]["name"] == "lady.png");
  CHECK(j["mean_ssim"].get<double>() == s.mean_ssim);
  // Missing, extra and differently sized partners are errors naming the file.
  test::write_bytes(gt + "/extra.png", lady);
  test::require_error([&] { evaluate_folders(gt, sr, opt); }, {gt + "/extra.png", "no SR partner"});
  test::write_bytes(sr + "/extra.png", read_file_bytes(test::data_fixture("coffee_48.png")));
  test::require_error([&] { evaluate_folders(gt, sr, opt); }, {sr + "/extra.png", "48x48", "60x60"});
  test::write_bytes(sr + "/more.png", lady);
  std::filesystem::remove(gt + "/extra.png");
  std::filesystem::remove(sr + "/extra.png");
  test::require_error([&] { evaluate_folders(gt, sr, opt); }, {sr + "/more.png", "no GT partner"});
  // Identical images: PSNR inf, written as "inf" in JSON.
  std::filesystem::remove(sr + "/more.png");
  test::write_bytes(sr + "/coffee.png", read_file_bytes(test::data_fixture("coffee_48.png")));
  const FolderScores same = evaluate_folders(gt, sr, opt);
  CHECK(scores_to_json(same)["images"][0]["psnr"] == "inf");
  CHECK(scores_to_json(same)["mean_psnr"] == "inf");
}

// Every bad pair of two folders is found from the headers and listed in one error naming
// both files, before anything is measured: a size mismatch and an image too small for
// SSIM's 11x11 window after crop_border. The CLI says when a path does not exist.
TEST_CASE("data/metrics_folders_list_every_bad_pair_first") {
  test::TempDir dir;
  const std::string gt = dir.subdir("gt"), sr = dir.subdir("sr");
  std::mt19937_64 rng(4);
  write_image(gt + "/good.png", test::random_image(rng, 32, 32, 3));
  write_image(sr + "/good.png", test::random_image(rng, 32, 32, 3));
  write_image(gt + "/small.png", test::random_image(rng, 16, 12, 3));
  write_image(sr + "/small.png", test::random_image(rng, 16, 12, 3));
  write_image(gt + "/sizes.png", test::random_image(rng, 32, 32, 3));
  write_image(sr + "/sizes.png", test::random_image(rng, 30, 32, 3));
  MetricOptions opt;
  opt.crop_border = 2;
  test::require_error([&] { evaluate_folders(gt, sr, opt); },
                      {"metrics: 2 problems, nothing measured:",
                       "SR '" + sr + "/sizes.png' is 30x32 but GT '" + gt + "/sizes.png' is 32x32",
                       "GT '" + gt + "/small.png' and SR '" + sr + "/small.png' (16x12) cannot be measured: metrics: "
                       "SSIM needs at least 11x11 pixels after cropping, got 12x8"});
  if (!std::filesystem::exists(test::srengine_exe())) {
    WARN("SKIPPED: " << test::srengine_exe() << " is not built");
    return;
  }
  auto run = [&](const std::string& args) {
    const std::string cmd = test::srengine_exe() + " metrics " + args + " > " + dir.file("log.txt") + " 2>&1";
    CHECK(std::system(cmd.c_str()) != 0);
    return test::read_text(dir.file("log.txt"));
  };
  CHECK_THAT(run("--gt " + gt + "/small.png --sr " + sr + "/small.png --crop-border 2"),
             Catch::Contains("GT '" + gt + "/small.png' and SR '" + sr + "/small.png' (16x12) cannot be measured"));
  CHECK_THAT(run("--gt " + dir.file("nope") + " --sr " + sr), Catch::Contains("--gt '" + dir.file("nope") +
                                                                               "' does not exist"));
  CHECK_THAT(run("--gt " + gt + " --sr " + dir.file("nope")), Catch::Contains("--sr '" + dir.file("nope") +
                                                                              "' does not exist"));
}

// A gray image beside a colour one. With test_y_channel the colour one would be measured on its
// studio-swing Y (16..235) and the gray one on its own full-range values: a gray SR holding the
// GT's content scored far below the same SR in colour, silently. That is refused, in the
// library and from the headers (naming both files, what each is and the remedy), in either order.
// Without test_y_channel the gray image counts as three equal channels, as docs/DATA.md says: the
// same numbers as the replicated image, and for two gray images the same as both replicated.
TEST_CASE("data/metrics_gray_beside_colour_is_refused_with_y_channel") {
  const Image photo = read_image(test::data_fixture("ladybird_60.png"));
  REQUIRE(photo.channels == 3);
  Image gray(photo.width, photo.height, 1), rrr(photo.width, photo.height, 3);
  for (int64_t i = 0; i < photo.pixel_count(); ++i) {
    // The photo's rounded Y, full range: what a gray version of the GT holds.
    const float* px = photo.pixels.data() + 3 * i;
    gray.pixels[i] = std::round((0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2]) * 255) / 255;
    for (int c = 0; c < 3; ++c) rrr.pixels[3 * i + c] = gray.pixels[i];
  }
  MetricOptions y{4, true}, rgb{4, false};
  using Pair = std::pair<const Image*, const Image*>;
  for (const Pair& p : {Pair{&photo, &gray}, Pair{&gray, &photo}}) {
    const Image *a = p.first, *b = p.second;
    test::require_error([&] { calculate_psnr(*a, *b, y); }, {"test_y_channel", "gray", "colour", "studio swing",
                                                             "R = G = B"});
    test::require_error([&] { calculate_ssim(*a, *b, y); }, {"test_y_channel", "gray", "colour"});
    const Tensor ta = a->channels == 1 ? gray_to_tensor(*a) : image_to_tensor(*a);
    const Tensor tb = b->channels == 1 ? gray_to_tensor(*b) : image_to_tensor(*b);
    test::require_error([&] { calculate_psnr(ta, tb, y); }, {"test_y_channel", "gray", "colour"});
    // Without test_y_channel: gray = R = G = B, exactly.
    const Image& ra = a->channels == 1 ? rrr : *a;
    const Image& rb = b->channels == 1 ? rrr : *b;
    CHECK(calculate_psnr(*a, *b, rgb) == calculate_psnr(ra, rb, rgb));
    CHECK(calculate_ssim(*a, *b, rgb) == calculate_ssim(ra, rb, rgb));
    CHECK(calculate_psnr(ta, tb, rgb) == calculate_psnr(ra, rb, rgb));
  }
  CHECK(calculate_psnr(gray, gray, rgb) == calculate_psnr(rrr, rrr, rgb));
  Image gray2 = gray;
  for (float& v : gray2.pixels) v = v * 255 >= 250 ? v - 3.0f / 255 : v + 3.0f / 255;
  Image rrr2(gray2.width, gray2.height, 3);
  for (int64_t i = 0; i < gray2.pixel_count(); ++i)
    for (int c = 0; c < 3; ++c) rrr2.pixels[3 * i + c] = gray2.pixels[i];
  CHECK(calculate_psnr(gray, gray2, rgb) == Approx(calculate_psnr(rrr, rrr2, rgb)).epsilon(1e-12));
  CHECK(calculate_ssim(gray, gray2, rgb) == Approx(calculate_ssim(rrr, rrr2, rgb)).epsilon(1e-12));

  // Files: the header check names both and what each is, in folders and for two files.
  test::TempDir dir;
  const std::string gt = dir.subdir("gt"), sr = dir.subdir("sr");
  write_image(gt + "/lady.png", photo);
  write_image(sr + "/lady.png", gray);
  test::require_error([&] { evaluate_folders(gt, sr, y); },
                      {"GT '" + gt + "/lady.png' is colour (3 channels) and SR '" + sr + "/lady.png' is gray (1 channel)",
                       "--y-channel", "different ranges", "both in colour", "without --y-channel"});
  const FolderScores s = evaluate_folders(gt, sr, rgb);
  REQUIRE(s.images.size() == 1);
  CHECK(s.images[0].psnr == calculate_psnr(photo, rrr, rgb));
  if (!std::filesystem::exists(test::srengine_exe())) {
    WARN("SKIPPED: " << test::srengine_exe() << " is not built");
    return;
  }
  auto run = [&](const std::string& args) {
    const std::string cmd = test::srengine_exe() + " metrics " + args + " > " + dir.file("log.txt") + " 2>&1";
    const int rc = std::system(cmd.c_str());
    return std::pair{rc, test::read_text(dir.file("log.txt"))};
  };
  const auto [rc1, log1] = run("--gt " + sr + "/lady.png --sr " + gt + "/lady.png --y-channel --crop-border 4");
  CHECK(rc1 != 0);
  CHECK_THAT(log1, Catch::Contains("GT '" + sr + "/lady.png' is gray (1 channel) and SR '" + gt +
                                   "/lady.png' is colour (3 channels)"));
  const auto [rc2, log2] = run("--gt " + gt + " --sr " + sr + " --crop-border 4");
  INFO(log2);
  CHECK(rc2 == 0);
  CHECK_THAT(log2, Catch::Contains("RGB)"));
  const auto [rc3, help] = run("--help");
  CHECK(rc3 == 0);
  CHECK_THAT(help, Catch::Contains("gray image counts as R = G = B"));
  CHECK_THAT(help, Catch::Contains("a gray image beside a colour one is refused"));
}
