// What a run does with an experiment folder that already holds work: a fresh run archives an
// earlier run's folder instead of mixing into it, a fresh --stage run refuses to overwrite
// that stage's checkpoints, a resume is checked against the config before anything is
// written, and the best validation's models outlive keep_last.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "support/data_support.h"
#include "support/train_support.h"
#include "train/checkpoint.h"
#include "train/experiment_folder.h"
#include "train/trainer.h"

using namespace sr;
using namespace sr::train;
namespace fs = std::filesystem;

namespace {

// The tiny config's first stage alone (psnr, 8 iterations, a checkpoint and a validation
// every 4), in a fresh folder with no archive of an earlier test run beside it.
json psnr_only(const std::string& run, std::vector<std::string> extra = {}) {
  json c = test::tiny_train_config(run, std::move(extra));
  c["train"]["stages"].erase(1);
  const fs::path dir = test::train_exp_dir(run);
  fs::create_directories(dir.parent_path());
  for (const auto& e : fs::directory_iterator(dir.parent_path()))
    if (e.path().filename().string().rfind(run + "_archived_", 0) == 0) fs::remove_all(e.path());
  return c;
}

std::vector<fs::path> archives_of(const std::string& run) {
  std::vector<fs::path> out;
  const fs::path dir = test::train_exp_dir(run);
  for (const auto& e : fs::directory_iterator(dir.parent_path()))
    if (e.path().filename().string().rfind(run + "_archived_", 0) == 0) out.push_back(e.path());
  return out;
}

size_t occurrences(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("train/fresh_run_archives_the_folder_of_an_earlier_run") {
  json c = psnr_only("archive");
  const std::string d = test::train_exp_dir("archive");
  REQUIRE(run_training(c, {}) == 0);
  const SafetensorsFile first = read_safetensors(d + "/models/net_g_psnr_8.safetensors");
  // The same name again, another learning rate, no --resume: a new run, in a new folder.
  c["train"]["stages"][0]["optim_g"]["lr"] = 5e-4;
  REQUIRE(run_training(c, {}) == 0);
  const std::vector<fs::path> archived = archives_of("archive");
  REQUIRE(archived.size() == 1);
  // The earlier run is whole in the archive; the folder holds the new run's alone.
  test::expect_same_tensors(first, read_safetensors((archived[0] / "models/net_g_psnr_8.safetensors").string()));
  CHECK(fs::exists(archived[0] / "training_states/psnr_8.state"));
  const std::string log = test::read_text(d + "/train.log");
  CHECK(occurrences(log, "finished.") == 1);
  CHECK_THAT(log, Catch::Contains("held an earlier run, moved to " + archived[0].string()));
  const SafetensorsFile second = read_safetensors(d + "/models/net_g_psnr_8.safetensors");
  CHECK(second.get("conv_first.weight").to_vector() != first.get("conv_first.weight").to_vector());
  // A folder whose only content is a failed start's log and config is no earlier run.
  test::TempDir tmp;
  std::ofstream(tmp.file("train.log")) << "error: x\n";
  std::ofstream(tmp.file("config.json")) << "{}\n";
  CHECK_FALSE(holds_previous_run(tmp.path()));
  fs::create_directories(tmp.file("models"));
  CHECK_FALSE(holds_previous_run(tmp.path()));
  std::ofstream(tmp.file("models/net_g_psnr_4.safetensors")) << "x";
  CHECK(holds_previous_run(tmp.path()));
}

TEST_CASE("train/fresh_stage_run_refuses_that_stages_checkpoints") {
  json c = test::tiny_train_config("stage_again");
  const std::string d = test::train_exp_dir("stage_again");
  REQUIRE(run_training(c, {}) == 0);
  const auto before = fs::last_write_time(d + "/training_states/gan_6.state");
  TrainOptions gan;
  gan.only_stage = "gan";
  CHECK_THROWS_WITH(run_training(c, gan), Catch::Contains("of stage 'gan' or a later one") &&
                                              Catch::Contains("--resume auto"));
  CHECK(fs::last_write_time(d + "/training_states/gan_6.state") == before);
  // --stage psnr --resume auto continues psnr's newest state, not the later stage's.
  REQUIRE(run_training(c, {"psnr", "auto"}) == 0);
  CHECK_THAT(test::read_text(d + "/train.log"),
             Catch::Contains("resuming from " + state_path(d, "psnr", 8) + " (stage psnr, iteration 8)") &&
                 Catch::Contains("all 8 iterations done, ending the stage"));
  // With gan's checkpoints gone, gan starts afresh from psnr's final model.
  for (const std::string& f : stage_checkpoint_files(d, {"gan"})) fs::remove(f);
  CHECK(stage_checkpoint_files(d, {"psnr"}).size() > 0);
  REQUIRE(run_training(c, gan) == 0);
  CHECK(fs::exists(d + "/training_states/gan_6.state"));
  // A stage named like another's prefix does not claim its files.
  CHECK(stage_checkpoint_files(d, {"ga"}).empty());
}

TEST_CASE("train/resume_is_checked_against_the_config_first") {
  json c = test::tiny_train_config("resume_checks");
  const std::string d = test::train_exp_dir("resume_checks");
  REQUIRE(run_training(c, {"psnr", ""}) == 0);
  const std::string config_before = test::read_text(d + "/config.json");
  // A total_iter below the state's iteration: refused, nothing labelled with the lower count.
  json shorter = c;
  shorter["train"]["stages"][0]["total_iter"] = 6;
  CHECK_THROWS_WITH(run_training(shorter, {"psnr", "auto"}),
                    Catch::Contains("psnr_8.state' is at iteration 8") && Catch::Contains("past its total_iter 6"));
  CHECK_FALSE(fs::exists(d + "/models/net_g_psnr_6.safetensors"));
  // Another network: refused before config.json is replaced; train.log keeps the error.
  json wider = c;
  wider["network_g"]["num_feat"] = 16;
  CHECK_THROWS_WITH(run_training(wider, {"psnr", "auto"}),
                    Catch::Contains("psnr_8.state': network_g: ") && Catch::Contains("mis-shaped"));
  CHECK(test::read_text(d + "/config.json") == config_before);
  const std::string log = test::read_text(d + "/train.log");
  CHECK(log.find("error: resume: ", log.rfind("resuming from")) != std::string::npos);
  // A state of another stage than --stage's.
  CHECK_THROWS_WITH(run_training(c, {"gan", state_path(d, "psnr", 8)}),
                    Catch::Contains("is from stage 'psnr', but --stage runs stage 'gan' only"));
  // --resume auto where every state is unreadable: an error naming them, not a fresh start.
  for (const auto& e : fs::directory_iterator(d + "/training_states")) std::ofstream(e.path()) << "damaged";
  CHECK_THROWS_WITH(run_training(c, {"", "auto"}), Catch::Contains("no readable training state in " + d) &&
                                                       Catch::Contains("psnr_8.state"));
  CHECK(fs::exists(d + "/models/net_g_psnr_8.safetensors"));  // not archived
}

// The learning rate jumps after iteration 4, so the best validation comes early; with
// keep_last 1 its models must still be there at the end.
TEST_CASE("train/best_validation_models_outlive_keep_last") {
  json c = psnr_only("keep_best", {"logger.keep_last=1", "train.stages.0.total_iter=12",
                                   "train.stages.0.scheduler.milestones=[4]", "train.stages.0.scheduler.gamma=100"});
  const std::string d = test::train_exp_dir("keep_best");
  REQUIRE(run_training(c, {}) == 0);
  int64_t best_iter = 0;
  double best = -1e30;
  for (const json& e : test::train_events("keep_best"))
    if (e["event"] == "val" && e["val_psnr"].get<double>() > best) best = e["val_psnr"], best_iter = e["iter"];
  REQUIRE(best_iter < 12);  // else the test shows nothing: the newest checkpoint is kept anyway
  CHECK(fs::exists(d + "/models/net_g_psnr_" + std::to_string(best_iter) + ".safetensors"));
  CHECK(fs::exists(d + "/models/net_g_ema_psnr_" + std::to_string(best_iter) + ".safetensors"));
  CHECK(fs::exists(d + "/models/net_g_psnr_12.safetensors"));
  std::set<std::string> states;
  for (const auto& e : fs::directory_iterator(d + "/training_states")) states.insert(e.path().filename().string());
  CHECK(states == std::set<std::string>{"psnr_12.state"});  // training states are pruned as before
}

// A kill -9 leaves metrics.jsonl with records past the last training state (and maybe a line
// cut short). --resume auto drops them, with a note, before logging those iterations again:
// every (event, stage, iteration) is there once and iterations never go back within a stage,
// so report.html's charts never double back. A stage resumed from its end state (validated
// before the state was saved) does not validate and log that iteration a second time.
TEST_CASE("train/resume_drops_metrics_logged_after_the_state") {
  const std::string run = "resume_metrics";
  json c = psnr_only(run);
  c["train"]["stages"] = test::tiny_train_config(run)["train"]["stages"];  // both stages
  const std::string d = test::train_exp_dir(run);
  fs::remove_all(d);
  REQUIRE(run_training(c, {}) == 0);
  CHECK_THAT(test::read_text(d + "/train.log"), !Catch::Contains("metrics.jsonl: dropped"));  // a fresh run
  const std::vector<json> whole = test::train_events(run);

  // Each (event, stage, iteration) once; iterations rise within a stage, stages in order.
  auto check_once_and_in_order = [&](const std::vector<json>& events) {
    std::set<std::string> seen;
    std::string stage;
    int64_t last = -1;
    for (const json& e : events) {
      const std::string key = e["event"].get<std::string>() + " " + e["stage"].get<std::string>() + " " +
                              std::to_string(e["iter"].get<int64_t>());
      CHECK(seen.insert(key).second);
      if (e["stage"] != stage) {
        CHECK((stage.empty() || (stage == "psnr" && e["stage"] == "gan")));
        stage = e["stage"], last = -1;
      }
      CHECK(e["iter"].get<int64_t>() >= last);
      last = e["iter"].get<int64_t>();
    }
  };
  check_once_and_in_order(whole);

  // Killed in the GAN stage after iteration 6 was logged, before its state: gan_4 resumes.
  fs::remove(state_path(d, "gan", 6));
  std::ofstream(d + "/metrics.jsonl", std::ios::app)
      << R"({"event":"train","stage":"gan","iter":7,"l_g_pix":0.5})" << "\n"
      << R"({"event":"train","stage":"gan","it)";  // cut short by the kill
  REQUIRE(run_training(c, {"", "auto"}) == 0);
  std::vector<json> events = test::train_events(run);
  check_once_and_in_order(events);
  CHECK(events.size() == whole.size());
  CHECK_THAT(test::read_text(d + "/train.log"), Catch::Contains("metrics.jsonl: dropped 4 record(s)") &&
                                                    Catch::Contains("those iterations run again"));

  // Killed right after the first stage ended (its end state saved, a GAN line logged):
  // psnr_8 resumes; the GAN stage's records go and psnr's validation at 8 is not repeated.
  for (const auto& e : fs::directory_iterator(d + "/training_states"))
    if (e.path().filename().string().rfind("gan_", 0) == 0) fs::remove(e.path());
  REQUIRE(find_latest_state(d).value() == state_path(d, "psnr", 8));
  REQUIRE(run_training(c, {"", "auto"}) == 0);
  events = test::train_events(run);
  check_once_and_in_order(events);
  CHECK(events.size() == whole.size());
}
