// `srengine infer` end to end: a random-weight RRDBNet saved from PyTorch with BasicSR
// names (params_ema-prefixed, beside an all-zero "params" copy that must be ignored) upscales
// a PNG to the same 8-bit result as PyTorch's forward (tools/make_fixtures.py), within one
// level per sample. Also the weight-key conventions of load_basicsr_weights.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <unistd.h>

#include "data/image_io.h"
#include "engine/safetensors.h"
#include "nets/load_weights.h"
#include "nets/rrdbnet.h"
#include "support/data_support.h"

using namespace sr;
namespace fs = std::filesystem;
using sr::test::infer_fixture;

namespace {
std::string tmp_dir(const std::string& name) {
  const std::string d = std::string(SRENGINE_BINARY_DIR) + "/test_tmp/" + name + "_" + std::to_string(::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
}  // namespace

TEST_CASE("nets/infer_matches_pytorch_png") {
  const std::string exe = std::string(SRENGINE_BINARY_DIR) + "/srengine";
  if (!fs::exists(exe)) {
    WARN("SKIPPED: " << exe << " is not built");
    return;
  }
  const std::string out = tmp_dir("infer");
  // A folder input: a second copy under another name checks that names are kept.
  fs::create_directories(out + "/in");
  fs::copy_file(infer_fixture("input.png"), out + "/in/photo.png");
  fs::copy_file(infer_fixture("input.png"), out + "/in/other.png");
  fs::copy_file(infer_fixture("config.json"), out + "/in/notes.txt");  // not an image: ignored
  const std::string cmd = exe + " infer --config " + infer_fixture("config.json") + " --weights " +
                          infer_fixture("rrdbnet_tiny.safetensors") + " --input " + out + "/in --output " + out +
                          "/sr > " + out + "/log.txt 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const data::Image expected = data::read_image(infer_fixture("expected.png"));
  for (const char* name : {"photo.png", "other.png"}) {
    INFO(name);
    const data::Image got = data::read_image(out + "/sr/" + name);
    REQUIRE(got.width == expected.width);
    REQUIRE(got.height == expected.height);
    REQUIRE(got.channels == 3);
    int worst = 0, equal = 0;
    for (size_t i = 0; i < got.pixels.size(); ++i) {
      const int d = std::abs(data::quantize_u8(got.pixels[i]) - data::quantize_u8(expected.pixels[i]));
      worst = std::max(worst, d);
      equal += d == 0;
    }
    CHECK(worst <= 1);
    CHECK(equal >= 0.95 * got.pixels.size());
  }
  CHECK_FALSE(fs::exists(out + "/sr/notes.png"));
  // Errors are one clear line and a non-zero exit.
  const std::string bad = exe + " infer --config " + infer_fixture("config.json") + " --weights " + out +
                          "/missing.safetensors --input " + out + "/in --output " + out + "/sr2 > " + out +
                          "/bad.txt 2>&1";
  CHECK(std::system(bad.c_str()) != 0);
  fs::remove_all(out);
}

TEST_CASE("nets/load_basicsr_weights_prefixes") {
  const std::string dir = tmp_dir("weights");
  RRDBNet a(3, 3, 4, 4, 1, 2), b(3, 3, 4, 4, 1, 2);
  NamedTensors bare = a.state_dict(), wrapped, dp;
  for (const auto& [k, t] : bare) {
    Tensor z = t.clone();
    z.fill_(0.25);
    wrapped.emplace_back("params." + k, z);
    wrapped.emplace_back("params_ema." + k, t);
    dp.emplace_back("module." + k, t);
  }
  write_safetensors(dir + "/bare.safetensors", bare);
  write_safetensors(dir + "/wrapped.safetensors", wrapped);
  write_safetensors(dir + "/dp.safetensors", dp);
  const auto first = a.conv_first->weight.to_vector();

  CHECK(load_basicsr_weights(b, dir + "/bare.safetensors") == "");
  CHECK(b.conv_first->weight.to_vector() == first);
  CHECK(load_basicsr_weights(b, dir + "/wrapped.safetensors", "params") == "params");
  CHECK(b.conv_first->weight.to_vector()[0] == 0.25);
  CHECK(load_basicsr_weights(b, dir + "/wrapped.safetensors") == "params_ema");  // auto prefers EMA
  CHECK(b.conv_first->weight.to_vector() == first);
  CHECK(load_basicsr_weights(b, dir + "/dp.safetensors") == "");  // module. stripped
  // A file with one of the two groups serves a request for the other, with a note (BasicSR's
  // load_network falls back from params_ema to params); without a note pointer, silently.
  NamedTensors only_params, only_ema;
  for (const auto& [k, t] : wrapped) (k.rfind("params.", 0) == 0 ? only_params : only_ema).emplace_back(k, t);
  write_safetensors(dir + "/only_params.safetensors", only_params);
  write_safetensors(dir + "/only_ema.safetensors", only_ema);
  std::string note;
  CHECK(load_basicsr_weights(b, dir + "/only_params.safetensors", "params_ema", true, &note) == "params");
  CHECK(b.conv_first->weight.to_vector()[0] == 0.25);
  CHECK_THAT(note, Catch::Contains("only_params.safetensors' has no 'params_ema' tensors: loading its 'params' ones"));
  CHECK(load_basicsr_weights(b, dir + "/only_ema.safetensors", "params", true, &note) == "params_ema");
  CHECK(b.conv_first->weight.to_vector() == first);
  CHECK_THAT(note, Catch::Contains("has no 'params' tensors: loading its 'params_ema' ones"));
  CHECK(load_basicsr_weights(b, dir + "/wrapped.safetensors", "params", true, &note) == "params");
  CHECK(note.empty());
  CHECK_THROWS_WITH(load_basicsr_weights(b, dir + "/bare.safetensors", "params_ema"),
                    Catch::Contains("bare.safetensors") && Catch::Contains("no tensors under 'params_ema.'"));
  RRDBNet wider(3, 3, 4, 8, 1, 2);
  CHECK_THROWS_WITH(load_basicsr_weights(wider, dir + "/bare.safetensors"),
                    Catch::Contains("conv_first.weight") && Catch::Contains("[4, 3, 3, 3] vs module [8, 3, 3, 3]"));
  fs::remove_all(dir);
}
