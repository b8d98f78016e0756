// degrade/: the degradation keys are registered in the config schema, so `srengine
// degrade` checks a config strictly: the key list covers every option the parser reads,
// each key at its default passes, misspelt keys and wrong types are errors naming the key,
// and configs without the model stay unchanged (no defaults filled in).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <set>

#include "data/degrade/option_keys.h"
#include "data/degrade/options.h"
#include "data/image_io.h"
#include "engine/error.h"
#include "support/data_support.h"
#include "train/config.h"

using namespace sr;
using namespace sr::data::degrade;
using json = nlohmann::json;

namespace {

// Every registered key at its default, in its section.
json all_keys_config() {
  json c = {{"datasets", {{"train", json::object()}}}};
  for (const OptionKey& k : degradation_option_keys())
    (k.in_dataset ? c["datasets"]["train"][k.name] : c[k.name]) = k.def;
  return c;
}

}  // namespace

TEST_CASE("degrade/option_keys_cover_the_parser_and_the_schema") {
  std::set<std::string> listed;
  for (const OptionKey& k : degradation_option_keys()) REQUIRE(listed.insert(k.name).second);  // no repeats
  const json defaults = degradation_options_json(DegradationOptions{});
  for (auto it = defaults.begin(); it != defaults.end(); ++it) {
    INFO(it.key());
    CHECK((it.key() == "scale" || listed.count(it.key())));
  }
  CHECK(listed.size() == defaults.size() - 1 + 2);  // less scale, plus crop_pad_size and gt_usm

  // Every key at its default passes the schema, and the parser reads the same values back.
  const json c = all_keys_config();
  train::check_config_keys(c);
  const DegradationOptions o = parse_degradation_options(c["datasets"]["train"], "datasets.train", c);
  CHECK(degradation_options_json(o) == defaults);

  // Misspelt keys and wrong types are errors naming the key.
  json bad = c;
  bad["noise_rnge2"] = {1, 25};
  test::require_error([&] { train::check_config_keys(bad); }, {"unknown key 'noise_rnge2'", "'noise_range2'"});
  bad = c;
  bad["datasets"]["train"]["blur_sigm"] = {0.2, 3};
  test::require_error([&] { train::check_config_keys(bad); }, {"datasets.train.blur_sigm", "'blur_sigma'"});
  bad = c;
  bad["datasets"]["train"]["kernel_list2"] = {"iso", "gaussian"};
  test::require_error([&] { train::check_config_keys(bad); }, {"datasets.train.kernel_list2.1", "gaussian"});
  bad = c;
  bad["second_blur_prob"] = "high";
  test::require_error([&] { train::check_config_keys(bad); }, {"second_blur_prob"});
  bad = c;
  bad["gray_noise_prob"] = 1.5;
  test::require_error([&] { train::check_config_keys(bad); }, {"gray_noise_prob", "1.5"});

  // A training config without the model validates as before: no degradation key appears.
  const json t = train::load_config(std::string(SRENGINE_SOURCE_DIR) + "/configs/esrgan_x4.json", {});
  train::check_config_keys(t);
  for (const OptionKey& k : degradation_option_keys()) {
    INFO(k.name);
    CHECK(!(k.in_dataset ? t["datasets"]["train"].contains(k.name) : t.contains(k.name)));
  }
}

TEST_CASE("degrade/cli_rejects_a_misspelt_key") {
  test::TempDir dir;
  const std::string in = dir.subdir("gt");
  std::mt19937_64 rng(2);
  data::write_image(in + "/a.png", test::random_image(rng, 40, 40, 3));
  const std::string cfg = dir.file("cfg.json");
  const std::string text = R"({"datasets": {"train": {"sinc_prob2": 0.2}}, "jpeg_rnge": [40, 90]})";
  test::write_bytes(cfg, std::vector<uint8_t>(text.begin(), text.end()));
  const std::string log = dir.file("log.txt");
  const std::string cmd = test::srengine_exe() + " degrade --config " + cfg + " --input " + in + " --output " +
                          dir.file("out") + " > " + log + " 2>&1";
  REQUIRE(std::system(cmd.c_str()) != 0);
  const std::string msg = test::read_text(log);
  INFO(msg);
  CHECK(msg.find(cfg) != std::string::npos);
  CHECK(msg.find("unknown key 'jpeg_rnge'") != std::string::npos);
  CHECK(msg.find("'jpeg_range'") != std::string::npos);
}
