// degrade/: `srengine degrade` writes the LQ images of a folder, one per --count sample,
// byte-identical for the same seed and different for another.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "data/image_io.h"
#include "support/data_support.h"

namespace fs = std::filesystem;
using namespace sr;

TEST_CASE("degrade/cli_same_seed_byte_identical") {
  test::TempDir dir;
  const std::string in = dir.subdir("gt");
  std::mt19937_64 rng(1);
  data::write_image(in + "/a.png", test::random_image(rng, 130, 90, 3));
  const std::string cfg = dir.file("cfg.json");
  test::write_bytes(cfg, std::vector<uint8_t>{'{', '"', 's', 'c', 'a', 'l', 'e', '"', ':', '4', '}'});
  auto run = [&](const std::string& out, int seed) {
    const std::string cmd = test::srengine_exe() + " degrade --config " + cfg + " --input " + in + " --output " +
                            dir.file(out) + " --seed " + std::to_string(seed) + " --count 2 --dump-params " +
                            dir.file(out + ".jsonl") + " > " + dir.file(out + ".log") + " 2>&1";
    REQUIRE(std::system(cmd.c_str()) == 0);
  };
  run("one", 7);
  run("two", 7);
  run("other", 8);
  for (const char* name : {"a_0.png", "a_1.png"}) {
    const std::string a = test::read_text(dir.file(std::string("one/") + name));
    REQUIRE(!a.empty());
    REQUIRE(a == test::read_text(dir.file(std::string("two/") + name)));
    REQUIRE(a != test::read_text(dir.file(std::string("other/") + name)));
    const data::Image lq = data::read_image(dir.file(std::string("one/") + name));
    REQUIRE((lq.width == 100 && lq.height == 100));  // the 400 crop (reflect-padded) / 4
  }
  REQUIRE(test::read_text(dir.file("one.jsonl")) == test::read_text(dir.file("two.jsonl")));
  REQUIRE(test::read_text(dir.file("one.jsonl")).find("\"kernel1\"") != std::string::npos);
}

// At x3 the crop must split into whole LQ pixels: the default 400 is refused with the values to
// use, before any file is written; 126 gives 42 x 42 LQ images.
TEST_CASE("degrade/cli_x3_needs_a_crop_that_divides") {
  test::TempDir dir;
  const std::string in = dir.subdir("gt");
  std::mt19937_64 rng(2);
  data::write_image(in + "/a.png", test::random_image(rng, 70, 50, 3));
  auto run = [&](const std::string& config, const std::string& out) {
    test::write_text(dir.file("cfg.json"), config);
    const std::string cmd = test::srengine_exe() + " degrade --config " + dir.file("cfg.json") + " --input " + in +
                            " --output " + dir.file(out) + " > " + dir.file(out + ".log") + " 2>&1";
    return std::system(cmd.c_str());
  };
  CHECK(run(R"({"scale": 3})", "default") != 0);
  CHECK_THAT(test::read_text(dir.file("default.log")),
             Catch::Contains("'datasets.train.crop_pad_size' is 400 (the default), not a multiple of scale 3: set it "
                             "(use 399 or 402)"));
  CHECK_FALSE(fs::exists(dir.file("default")));
  CHECK(run(R"({"scale": 3, "datasets": {"train": {"crop_pad_size": 128}}})", "odd") != 0);
  CHECK_THAT(test::read_text(dir.file("odd.log")),
             Catch::Contains("'datasets.train.crop_pad_size' is 128, not a multiple of scale 3 (use 126 or 129)"));
  CHECK(run(R"({"scale": 2, "datasets": {"train": {"crop_pad_size": 401.0}}})", "float") != 0);  // 401.0 is 401
  CHECK_THAT(test::read_text(dir.file("float.log")), Catch::Contains("is 401, not a multiple of scale 2"));
  REQUIRE(run(R"({"scale": 3, "datasets": {"train": {"crop_pad_size": 126.0}}})", "ok") == 0);
  const data::Image lq = data::read_image(dir.file("ok/a_0.png"));
  CHECK((lq.width == 42 && lq.height == 42));
}
