// The acceptance run of Real-ESRGAN users' command: `srengine infer -n RealESRGAN_x4plus -i
// photo.jpg -o out -s 2` with a .pth written by PyTorch for that architecture (random weights,
// made at test time: the file is 67 MB) against what Real-ESRGAN's inference computes in
// PyTorch (tools/realesrgan_reference.py: the net, uint8 rounding, then cv2.INTER_LANCZOS4's
// definition in float64 numpy). Needs /usr/bin/python3 with python3-torch and python3-pil
// (or $SRENGINE_PYTHON); skipped with a message otherwise.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "data/image.h"
#include "data/image_io.h"
#include "engine/autograd.h"
#include "infer/open_model.h"
#include "support/data_support.h"

using namespace sr;
namespace fs = std::filesystem;

namespace {

std::string python() {
  const char* p = std::getenv("SRENGINE_PYTHON");
  return p ? p : "/usr/bin/python3";
}

bool python_has_torch() {
  const std::string cmd = python() + " -c 'import torch, PIL, numpy' > /dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

int run(const std::string& cmd, const std::string& log) {
  return std::system((cmd + " > " + log + " 2>&1").c_str());
}

}  // namespace

TEST_CASE("infer/realesrgan_x4plus_pth_matches_pytorch") {
  const std::string exe = std::string(SRENGINE_BINARY_DIR) + "/srengine";
  if (!fs::exists(exe)) {
    WARN("SKIPPED: " << exe << " is not built");
    return;
  }
  if (!python_has_torch()) {
    std::printf("SKIPPED: %s with torch, PIL and numpy is not available (tools/setup.sh --torch)\n", python().c_str());
    WARN("SKIPPED: " << python() << " with torch, PIL and numpy is not available (tools/setup.sh --torch)");
    return;
  }
  test::TempDir dir;
  const std::string tool = python() + " " + SRENGINE_SOURCE_DIR + "/tools/realesrgan_reference.py";
  // A 32x24 crop of a photograph as a JPEG, like a user's photo.
  const data::Image full = data::read_image(std::string(SRENGINE_SOURCE_DIR) + "/datasets/val_photos/mate_wood.png");
  data::Image crop(32, 24, 3);
  for (int y = 0; y < 24; ++y)
    for (int x = 0; x < 32; ++x)
      for (int c = 0; c < 3; ++c) crop.at(y, x, c) = full.at(40 + y, 60 + x, c);
  data::write_image(dir.file("photo.jpg"), crop);
  fs::create_directories(dir.file("weights"));
  REQUIRE(run(tool + " make-pth RealESRGAN_x4plus " + dir.file("weights/RealESRGAN_x4plus.pth"), dir.file("py1.txt")) ==
          0);
  const int py = run(tool + " upscale RealESRGAN_x4plus " + dir.file("weights/RealESRGAN_x4plus.pth") + " " +
                         dir.file("photo.jpg") + " --outscale 2 --out " + dir.file("ref_x2.png") + " --net-out " +
                         dir.file("ref_x4.f32") + " --input-out " + dir.file("ref_input.png"),
                     dir.file("py2.txt"));
  INFO(test::read_text(dir.file("py2.txt")));
  REQUIRE(py == 0);

  // The user's command as typed, from the folder holding weights/ (the default --model-dir).
  const std::string cd = "cd " + dir.path() + " && ";
  REQUIRE(run(cd + exe + " infer -n RealESRGAN_x4plus -i photo.jpg -o out -s 2", dir.file("log1.txt")) == 0);
  const data::Image as_typed = data::read_image(dir.file("out/photo.jpg"));
  CHECK((as_typed.width == 64 && as_typed.height == 48));
  // The same as PNG, to compare without JPEG's loss.
  REQUIRE(run(cd + exe + " infer -n RealESRGAN_x4plus -i photo.jpg -o out_png -s 2 --ext png", dir.file("log2.txt")) ==
          0);

  // Both sides read the same pixels from the JPEG (libjpeg-turbo, same settings).
  const data::Image input = data::read_image(dir.file("photo.jpg"));
  REQUIRE(test::level_diff(input, data::read_image(dir.file("ref_input.png"))).first == 0);

  // The net part: srengine's float output against PyTorch's (both float32; the sums run in
  // another order, so they agree to rounding, not bit for bit).
  infer::ModelSpec spec;
  spec.model_name = "RealESRGAN_x4plus";
  spec.model_dir = dir.file("weights");
  infer::OpenedModel model = infer::open_model(spec);
  NoGradGuard no_grad;
  const Tensor ours = model.net->forward(data::image_to_tensor(input)).contiguous();
  REQUIRE(ours.shape() == Shape({1, 3, 96, 128}));
  std::vector<float> ref((size_t)ours.numel());
  {
    std::ifstream f(dir.file("ref_x4.f32"), std::ios::binary);
    f.read(reinterpret_cast<char*>(ref.data()), (std::streamsize)(ref.size() * sizeof(float)));
    REQUIRE(f.gcount() == (std::streamsize)(ref.size() * sizeof(float)));
  }
  double worst = 0, range = 0;
  const float* o = ours.data<float>();
  for (size_t i = 0; i < ref.size(); ++i) {
    worst = std::max(worst, (double)std::abs(o[i] - ref[i]));
    range = std::max(range, (double)std::abs(ref[i]));
  }
  // And as 8-bit samples (clamp, x255, round half to even on both sides).
  int net_levels = 0, net_differing = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const int d = std::abs(data::quantize_u8(o[i]) - data::quantize_u8(ref[i]));
    net_levels = std::max(net_levels, d);
    net_differing += d > 0;
  }
  // The whole pipeline: net, rounding, Lanczos-4 to 64x48.
  const auto [levels, differing] =
      test::level_diff(data::read_image(dir.file("out_png/photo.png")), data::read_image(dir.file("ref_x2.png")));
  std::printf("RealESRGAN_x4plus vs PyTorch: net max |diff| %.3g (outputs up to %.3g); x4 8-bit: max %d level(s), "
              "%d of %zu samples differ; -s 2 output: max %d level(s), %d of %zu samples differ\n",
              worst, range, net_levels, net_differing, ref.size(), levels, differing, (size_t)64 * 48 * 3);
  CHECK(worst < 1e-4);
  CHECK(net_levels <= 1);
  CHECK(levels <= 1);
}
