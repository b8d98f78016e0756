// `srengine convert --fold` (tools/cli/cmd_convert.cpp): an ECBSR weights file written as the
// SRVGGNetCompact it folds to (nets/ecbsr_deploy.h), with Real-ESRGAN's body.N keys and that
// network in the metadata, so `srengine infer --weights FOLDED` needs no config and upscales as
// the ECBSR does; --fold without an ECBSR config, or of an ECBSR with no such form, is refused.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "data/image_io.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "layers/activation.h"
#include "nets/ecbsr.h"
#include "nets/factory.h"
#include "support/data_support.h"

using namespace sr;

namespace {

// Writes an ECBSR's config and weights (slopes distinct per block) under `name`.
void write_ecbsr_for_fold(const test::TempDir& dir, const std::string& name, const std::string& act) {
  const nlohmann::json g = {{"type", "ECBSR"},   {"num_in_ch", 3},   {"num_out_ch", 3}, {"num_block", 2},
                            {"num_channel", 8}, {"with_idt", true}, {"act_type", act}, {"scale", 2}};
  manual_seed(91);
  std::unique_ptr<Module> net = build_network(g);
  for (const auto& b : dynamic_cast<ECBSR&>(*net).blocks)
    if (auto* p = dynamic_cast<PReLU*>(b->act.get())) uniform_(p->weight, 0.05, 0.4);
  write_safetensors(dir.file(name + ".safetensors"), net->state_dict());
  std::ofstream(dir.file(name + ".json")) << nlohmann::json{{"name", name}, {"network_g", g}}.dump();
}

std::pair<int, std::string> run_srengine_for_fold(const test::TempDir& dir, const std::string& args) {
  const int rc = std::system((test::srengine_exe() + " " + args + " > " + dir.file("cli.log") + " 2>&1").c_str());
  return {rc, test::read_text(dir.file("cli.log"))};
}

}  // namespace

TEST_CASE("convert/ecbsr_fold_writes_srvgg_weights_that_infer_runs_without_a_config") {
  REQUIRE(std::filesystem::exists(test::srengine_exe()));
  test::TempDir dir;
  write_ecbsr_for_fold(dir, "ecbsr", "prelu");
  const std::string folded = dir.file("folded.safetensors");
  const auto [rc, log] = run_srengine_for_fold(dir, "convert " + dir.file("ecbsr.safetensors") + " " + folded +
                                                        " --config " + dir.file("ecbsr.json") + " --fold");
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(log.find("network SRVGGNetCompact (folded from ECBSR: 4 blocks, one 3x3 conv each)") != std::string::npos);
  const SafetensorsFile f = read_safetensors(folded);
  // 4 convs (weight, bias), 3 PReLUs: body.0 .. body.6.
  CHECK(f.tensors.size() == 11);
  CHECK(f.as_map().count("body.1.weight") == 1);
  CHECK(f.as_map().count("body.6.bias") == 1);
  const nlohmann::json g = nlohmann::json::parse(f.metadata.at("network_g"));
  CHECK(g.at("type") == "SRVGGNetCompact");
  CHECK(g.at("num_conv") == 2);
  CHECK(g.at("num_feat") == 8);
  CHECK(g.at("upscale") == 2);
  CHECK(f.metadata.at("folded_from") == "ECBSR");

  // The folded file alone upscales as the ECBSR with its config (8-bit images: float32 rounding
  // of the two forwards may move a value across a level's edge, never further).
  std::mt19937_64 rng(92);
  data::write_image(dir.file("in.png"), test::random_image(rng, 13, 11, 3));
  const auto [a_rc, a_log] = run_srengine_for_fold(dir, "infer --weights " + folded + " -i " + dir.file("in.png") +
                                                            " -o " + dir.subdir("a"));
  INFO(a_log);
  REQUIRE(a_rc == 0);
  const auto [b_rc, b_log] =
      run_srengine_for_fold(dir, "infer --config " + dir.file("ecbsr.json") + " --weights " +
                                     dir.file("ecbsr.safetensors") + " -i " + dir.file("in.png") + " -o " + dir.subdir("b"));
  INFO(b_log);
  REQUIRE(b_rc == 0);
  const data::Image a = data::read_image(dir.file("a/in.png")), b = data::read_image(dir.file("b/in.png"));
  REQUIRE(a.width == 26);
  REQUIRE(a.height == 22);
  const auto [levels, differing] = test::level_diff(a, b);
  std::printf("folded SRVGGNetCompact (no config) vs ECBSR: %d level(s) apart at most, %d of %d samples differ\n",
              levels, differing, a.width * a.height * 3);
  CHECK(levels <= 1);
  CHECK(differing <= 3);
}

TEST_CASE("convert/ecbsr_fold_refuses_what_it_cannot_fold") {
  REQUIRE(std::filesystem::exists(test::srengine_exe()));
  test::TempDir dir;
  write_ecbsr_for_fold(dir, "linear", "linear");
  const auto [rc, log] = run_srengine_for_fold(dir, "convert " + dir.file("linear.safetensors") + " " +
                                                        dir.file("out.safetensors") + " --fold");
  INFO(log);
  CHECK(rc != 0);
  CHECK(log.find("--fold folds an ECBSR: give its --config") != std::string::npos);
  const auto [rc2, log2] = run_srengine_for_fold(dir, "convert " + dir.file("linear.safetensors") + " " +
                                                          dir.file("out.safetensors") + " --config " +
                                                          dir.file("linear.json") + " --fold");
  INFO(log2);
  CHECK(rc2 != 0);
  CHECK(log2.find("not representable: act_type linear") != std::string::npos);
  CHECK(!std::filesystem::exists(dir.file("out.safetensors")));
}
