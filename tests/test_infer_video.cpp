// Video input (infer/video.h): without ffmpeg on PATH, one clear error before any work; with a
// stand-in for ffmpeg/ffprobe (tests/video/fake_ffmpeg.py: their argument and raw-rgb24 pipe
// protocol on a trivial container) every frame arrives, each is the library's upscale of
// the input frame (sides cut to even for yuv420p), and the encoder is asked for H.264 with
// the audio copied. Real FFmpeg is not installed on the test machines; this checks srengine's
// side of the pipes.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "data/image.h"
#include "engine/autograd.h"
#include "infer/child_process.h"
#include "infer/open_model.h"
#include "infer/upscale_file.h"
#include "infer/video.h"
#include "support/data_support.h"

using namespace sr;
namespace fs = std::filesystem;

namespace {

}  // namespace

TEST_CASE("video/no_ffmpeg_is_one_clear_error") {
  if (!fs::exists(test::srengine_exe())) {
    WARN("SKIPPED: " << test::srengine_exe() << " is not built");
    return;
  }
  test::TempDir dir;
  test::write_bytes(dir.file("clip.mp4"), {0, 0, 0, 0});
  const std::string fx = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/infer/";
  const int rc = std::system(("PATH=" + dir.path() + " " + test::srengine_exe() + " infer --config " + fx + "config.json --weights " +
                              fx + "rrdbnet_tiny.safetensors -i " + dir.file("clip.mp4") + " -o " + dir.file("out") +
                              " > " + dir.file("log.txt") + " 2>&1").c_str());
  const std::string log = test::read_text(dir.file("log.txt"));
  INFO(log);
  CHECK(rc != 0);
  CHECK(log.find("clip.mp4' needs the ffmpeg and ffprobe programs") != std::string::npos);
  CHECK(log.find("apt-get install ffmpeg") != std::string::npos);
  CHECK(log.find("infer: RRDBNet") == std::string::npos);  // before the net was built
  CHECK(infer::is_video_file_name("a.MKV"));
  CHECK_FALSE(infer::is_video_file_name("a.png"));
}

TEST_CASE("video/frames_through_the_ffmpeg_pipes") {
  if (!fs::exists(test::srengine_exe()) || infer::find_program("python3").empty() || !fs::exists("/usr/bin/python3")) {
    WARN("SKIPPED: srengine or /usr/bin/python3 is missing");
    return;
  }
  test::TempDir dir;
  const std::string bin = dir.subdir("bin");
  const std::string fake = std::string(SRENGINE_SOURCE_DIR) + "/tests/video/fake_ffmpeg.py";
  fs::create_symlink(fake, bin + "/ffmpeg");
  fs::create_symlink(fake, bin + "/ffprobe");
  // A 3-frame 11x9 clip: with -s 1.5 the output is int(16.5) x int(13.5) = 16 x 13, cut to
  // 16 x 12 for yuv420p.
  const int W = 11, H = 9, N = 3;
  std::mt19937_64 rng(5);
  std::string clip =
      "FAKEVID1 " + std::to_string(W) + " " + std::to_string(H) + " 30000/1001 " + std::to_string(N) + "\n";
  std::vector<std::vector<uint8_t>> frames(N, std::vector<uint8_t>(W * H * 3));
  for (auto& f : frames) {
    for (auto& v : f) v = (uint8_t)(rng() % 256);
    clip.append(f.begin(), f.end());
  }
  const std::string in = dir.subdir("in") + "/clip.mp4";
  test::write_bytes(in, std::vector<uint8_t>(clip.begin(), clip.end()));
  const std::string fx = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/infer/";
  const std::string path = "PATH=" + bin + ":/usr/bin:/bin ";
  const int rc = std::system((path + test::srengine_exe() + " infer --config " + fx + "config.json --weights " + fx +
                              "rrdbnet_tiny.safetensors -i " + dir.path() + "/in -o " + dir.file("out") +
                              " -s 1.5 -t 4 --suffix out --crf 20 > " + dir.file("log.txt") + " 2>&1").c_str());
  const std::string log = test::read_text(dir.file("log.txt"));
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(log.find("clip.mp4 (11x9, 3 frames) -> ") != std::string::npos);
  const std::string out = test::read_text(dir.file("out/clip_out.mp4"));
  const size_t nl = out.find('\n');
  REQUIRE(nl != std::string::npos);
  CHECK(out.substr(0, nl) == "FAKEVID1 16 12 30000/1001 3");
  const std::string args = test::read_text(dir.file("out/clip_out.mp4.args"));
  for (const char* a : {"\n-map\n1:a?\n", "\n-c:a\ncopy\n", "\n-c:v\nlibx264\n", "\n-pix_fmt\nyuv420p\n",
                        "\n-crf\n20\n", "\n-r\n30000/1001\n", "\n-s\n16x12\n"})
    CHECK(args.find(a) != std::string::npos);

  // Each frame: the library's x4 + Lanczos-4 to 16x13, cut to 16x12.
  infer::ModelSpec spec;
  spec.config = fx + "config.json";
  spec.weights = fx + "rrdbnet_tiny.safetensors";
  infer::OpenedModel m = infer::open_model(spec);
  infer::FileOptions fo;
  fo.outscale = 1.5;
  fo.tile.tile = 4;
  NoGradGuard no_grad;
  for (int f = 0; f < N; ++f) {
    INFO("frame " << f);
    data::Image img(W, H, 3, 8);
    for (size_t i = 0; i < frames[f].size(); ++i) img.pixels[i] = frames[f][i] / 255.0f;
    std::string want;
    int y = 0;
    infer::upscale_image_rows(*m.net, std::move(img), fo, 8, [&](const float* rows, int n) {
      for (int k = 0; k < n; ++k, ++y)
        if (y < 12)
          for (int i = 0; i < 16 * 3; ++i) want.push_back((char)data::quantize_u8(rows[(size_t)k * 16 * 3 + i]));
    });
    CHECK(out.substr(nl + 1 + (size_t)f * 16 * 12 * 3, 16 * 12 * 3) == want);
  }
  CHECK(out.size() == nl + 1 + (size_t)N * 16 * 12 * 3);
}
