// `srengine convert --fold` (tools/cli/cmd_convert.cpp): an ECBSR weights file written as the
// SRVGGNetCompact it folds to (nets/ecbsr_deploy.h), with Real-ESRGAN's body.N keys and that
// network in the metadata, so `srengine infer --weights FOLDED` needs no config and upscales as
// the ECBSR does; the ECBSR from --config or from the file's own metadata; --fold without an
// ECBSR, or of an ECBSR with no such form, is refused. Plain convert finds the architecture as
// infer does (metadata, else shapes) and gives infer's advice where it cannot.
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

// Writes an ECBSR's config and weights (slopes distinct per block) under `name`; `recorded`:
// with network_g in the file's metadata, as the trainer writes it.
void write_ecbsr_for_fold(const test::TempDir& dir, const std::string& name, const std::string& act,
                          bool recorded = false) {
  const nlohmann::json g = {{"type", "ECBSR"},   {"num_in_ch", 3},   {"num_out_ch", 3}, {"num_block", 2},
                            {"num_channel", 8}, {"with_idt", true}, {"act_type", act}, {"scale", 2}};
  manual_seed(91);
  std::unique_ptr<Module> net = build_network(g);
  for (const auto& b : dynamic_cast<ECBSR&>(*net).blocks)
    if (auto* p = dynamic_cast<PReLU*>(b->act.get())) uniform_(p->weight, 0.05, 0.4);
  std::map<std::string, std::string> meta;
  if (recorded) meta["network_g"] = g.dump();
  write_safetensors(dir.file(name + ".safetensors"), net->state_dict(), meta);
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
  // No config and no network_g in the file: the shapes say ECBSR, whose options they lack.
  CHECK(log.find("--fold '" + dir.file("linear.safetensors") + "'") != std::string::npos);
  CHECK(log.find("BasicSR's ECBSR (backbone.N.conv1x1_*), whose with_idt and act_type are not stored in its "
                 "weights; give --config CFG.json") != std::string::npos);
  const auto [rc2, log2] = run_srengine_for_fold(dir, "convert " + dir.file("linear.safetensors") + " " +
                                                          dir.file("out.safetensors") + " --config " +
                                                          dir.file("linear.json") + " --fold");
  INFO(log2);
  CHECK(rc2 != 0);
  CHECK(log2.find("not representable: act_type linear") != std::string::npos);
  CHECK(!std::filesystem::exists(dir.file("out.safetensors")));
}

// A file srengine trained records its network_g: --fold reads it there, as infer, export and
// quantize do (--config still wins), and a plain convert keeps it in the file it writes.
TEST_CASE("convert/fold_and_plain_convert_use_the_network_the_file_records") {
  REQUIRE(std::filesystem::exists(test::srengine_exe()));
  test::TempDir dir;
  write_ecbsr_for_fold(dir, "ecbsr", "prelu", true);
  const std::string in = dir.file("ecbsr.safetensors");
  const auto [rc, log] = run_srengine_for_fold(dir, "convert " + in + " " + dir.file("a.safetensors") + " --fold");
  INFO(log);
  REQUIRE(rc == 0);
  CHECK(log.find("network SRVGGNetCompact (folded from ECBSR: 4 blocks, one 3x3 conv each)") != std::string::npos);
  // The same file as with the config.
  const auto [c_rc, c_log] = run_srengine_for_fold(
      dir, "convert " + in + " " + dir.file("b.safetensors") + " --config " + dir.file("ecbsr.json") + " --fold");
  INFO(c_log);
  REQUIRE(c_rc == 0);
  const SafetensorsFile a = read_safetensors(dir.file("a.safetensors")), b = read_safetensors(dir.file("b.safetensors"));
  CHECK(a.metadata.at("network_g") == b.metadata.at("network_g"));
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    INFO(a.tensors[i].first);
    CHECK(a.tensors[i].first == b.tensors[i].first);
    CHECK(a.tensors[i].second.to_vector() == b.tensors[i].second.to_vector());
  }
  // Without --fold the recorded ECBSR is kept (its shapes alone do not give with_idt / act_type).
  const auto [p_rc, p_log] = run_srengine_for_fold(dir, "convert " + in + " " + dir.file("plain.safetensors"));
  INFO(p_log);
  REQUIRE(p_rc == 0);
  CHECK(p_log.find("network ECBSR (from the file metadata)") != std::string::npos);
  const SafetensorsFile p = read_safetensors(dir.file("plain.safetensors"));
  CHECK(nlohmann::json::parse(p.metadata.at("network_g")) ==
        nlohmann::json::parse(read_safetensors(in).metadata.at("network_g")));
  // A recorded network that is not an ECBSR is named in --fold's refusal.
  const auto [r_rc, r_log] = run_srengine_for_fold(dir, "convert " + dir.file("a.safetensors") + " " +
                                                            dir.file("c.safetensors") + " --fold");
  INFO(r_log);
  CHECK(r_rc != 0);
  CHECK(r_log.find("--fold folds an ECBSR: give its --config (network_g of type ECBSR), not SRVGGNetCompact ('" +
                   dir.file("a.safetensors") + "': file metadata)") != std::string::npos);
}

// BasicSR's ECBSR .pth: convert says what infer says (the same detection and advice).
TEST_CASE("convert/unrecognised_network_gets_the_advice_infer_gives") {
  REQUIRE(std::filesystem::exists(test::srengine_exe()));
  test::TempDir dir;
  const std::string pth = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/pth/ecbsr_x4_y_params.pth";
  const std::string advice = "BasicSR's ECBSR (backbone.N.conv1x1_*), whose with_idt and act_type are not stored in "
                             "its weights; give --config CFG.json with network_g {\"type\": \"ECBSR\", ...}";
  const auto [rc, log] = run_srengine_for_fold(dir, "convert " + pth + " " + dir.file("out.safetensors"));
  INFO(log);
  REQUIRE(rc == 0);  // the tensors are written; only the architecture is not recorded
  CHECK(log.find("no network recorded (weights '" + pth + "': " + advice) != std::string::npos);
  std::mt19937_64 rng(93);
  data::write_image(dir.file("in.png"), test::random_image(rng, 5, 4, 1));
  const auto [i_rc, i_log] =
      run_srengine_for_fold(dir, "infer --weights " + pth + " -i " + dir.file("in.png") + " -o " + dir.subdir("o"));
  INFO(i_log);
  CHECK(i_rc != 0);
  CHECK(i_log.find(advice) != std::string::npos);
}
