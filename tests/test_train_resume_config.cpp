// A resumed run whose config differs from the one its checkpoints were made with says so:
// every key that shapes training with its old and new value as a warning, the others as a
// note, and the old config is kept beside the new one.
#include <catch2/catch.hpp>

#include <filesystem>

#include "support/data_support.h"
#include "support/train_support.h"
#include "train/config_changes.h"
#include "train/trainer.h"

using namespace sr;
using namespace sr::train;
namespace fs = std::filesystem;

TEST_CASE("train/config_changes_walk_keys_and_stages") {
  const json before = {{"manual_seed", 3},
                       {"logger", {{"print_freq", 2}}},
                       {"train", {{"stages", {{{"optim_g", {{"lr", 1e-3}}}}, {{"name", "gan"}}}}}},
                       {"datasets", {{"train", {{"gt_size", 32}, {"num_worker_per_gpu", 2}}}, {"val", {{"name", "a"}}}}}};
  json after = before;
  CHECK(config_changes(before, after).empty());
  after["manual_seed"] = 99;
  after["logger"]["print_freq"] = 4;
  after["train"]["stages"][0]["optim_g"]["lr"] = 0.5;
  after["datasets"]["train"]["num_worker_per_gpu"] = 0;
  after["datasets"]["val"]["name"] = "b";
  after["train"]["stages"][1]["total_iter"] = 6;
  const std::vector<ConfigChange> c = config_changes(before, after);
  REQUIRE(c.size() == 6);
  CHECK((c[0].key == "datasets.train.num_worker_per_gpu" && !c[0].shapes_training));
  CHECK((c[1].key == "datasets.val.name" && !c[1].shapes_training && c[1].before == "\"a\""));
  CHECK((c[2].key == "logger.print_freq" && !c[2].shapes_training));
  CHECK((c[3].key == "manual_seed" && c[3].shapes_training && c[3].before == "3" && c[3].after == "99"));
  CHECK((c[4].key == "train.stages.0.optim_g.lr" && c[4].shapes_training));
  CHECK((c[5].key == "train.stages.1.total_iter" && c[5].shapes_training && c[5].before == "(absent)"));
}

TEST_CASE("train/resume_with_another_config_names_each_change_and_keeps_the_old_config") {
  json c = test::tiny_train_config("resume_config");
  c["train"]["stages"].erase(1);
  const std::string d = test::train_exp_dir("resume_config");
  REQUIRE(run_training(c, {}) == 0);
  const std::string first_config = test::read_text(d + "/config.json");
  // The same config: nothing said, nothing kept.
  REQUIRE(run_training(c, {"", "auto"}) == 0);
  std::string log = test::read_text(d + "/train.log");
  CHECK(log.find("resuming from") != std::string::npos);
  CHECK(log.find("resume: the config differs") == std::string::npos);
  CHECK(log.find("resume: config changes") == std::string::npos);
  CHECK_FALSE(fs::exists(d + "/config_until_psnr_8.json"));
  // A longer stage: the run goes on past its last state (8), and says the key changed.
  json more = c;
  more["train"]["stages"][0]["total_iter"] = 10;
  REQUIRE(run_training(more, {"", "auto"}) == 0);
  log = test::read_text(d + "/train.log");
  CHECK(log.find("train.stages.0.total_iter 8 -> 10") != std::string::npos);
  CHECK(test::read_text(d + "/config_until_psnr_8.json") == first_config);
  // Another seed and learning rate, and a print frequency: the first two warned, the third noted.
  json other = more;
  other["train"]["stages"][0]["total_iter"] = 12;
  other["manual_seed"] = 99;
  other["train"]["stages"][0]["optim_g"]["lr"] = 0.5;
  other["logger"]["print_freq"] = 1;
  const std::string second_config = test::read_text(d + "/config.json");
  REQUIRE(run_training(other, {"", "auto"}) == 0);
  log = test::read_text(d + "/train.log");
  const size_t at = log.rfind("resuming from");
  REQUIRE(at != std::string::npos);
  const std::string warned = log.substr(log.find("resume: the config differs", at));
  CHECK(warned.find("manual_seed 3 -> 99") != std::string::npos);
  CHECK(warned.find("train.stages.0.optim_g.lr 0.001 -> 0.5") != std::string::npos);
  CHECK(warned.find("after iteration 10 of stage 'psnr' it is not the run it resumes") != std::string::npos);
  CHECK(log.find("config changes that do not shape training: logger.print_freq 2 -> 1", at) != std::string::npos);
  CHECK(test::read_text(d + "/config_until_psnr_10.json") == second_config);
  CHECK(json::parse(test::read_text(d + "/config.json"))["manual_seed"] == 99);
}

// --resume FILE of an older state than the folder's newest starts a branch from it: the newer
// states are moved aside (not deleted), so a later --resume auto continues this run.
TEST_CASE("train/resume_from_an_older_state_moves_the_newer_ones_aside") {
  json c = test::tiny_train_config("resume_older");
  c["train"]["stages"].erase(1);
  const std::string d = test::train_exp_dir("resume_older");
  REQUIRE(run_training(c, {}) == 0);
  REQUIRE(fs::exists(d + "/training_states/psnr_8.state"));
  const std::string old_8 = test::read_text(d + "/training_states/psnr_8.state");
  json other = c;
  other["train"]["stages"][0]["optim_g"]["lr"] = 2e-3;  // the new branch differs from the old one
  REQUIRE(run_training(other, {"", d + "/training_states/psnr_4.state"}) == 0);
  const std::string log = test::read_text(d + "/train.log");
  CHECK(log.find("psnr_4.state is older than 1 state(s) of this folder (psnr_8.state)") != std::string::npos);
  const std::string aside = d + "/training_states/superseded_by_psnr_4/psnr_8.state";
  REQUIRE(fs::exists(aside));
  CHECK(test::read_text(aside) == old_8);
  CHECK(test::read_text(d + "/training_states/psnr_8.state") != old_8);  // this run's own
  // --resume auto: nothing older to move; no warning.
  REQUIRE(run_training(other, {"", "auto"}) == 0);
  CHECK(test::read_text(d + "/train.log").find("older than", log.size()) == std::string::npos);
}
