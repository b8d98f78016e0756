// Helpers for the end-to-end training tests (see train_support.h).
#include "support/train_support.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

namespace sr::test {

namespace fs = std::filesystem;

namespace {
std::string train_root() { return std::string(SRENGINE_BINARY_DIR) + "/test_tmp/train"; }
}  // namespace

train::json tiny_train_config(const std::string& run, std::vector<std::string> overrides) {
  overrides.push_back("path.experiments_root=" + train_root());
  overrides.push_back("name=" + run);
  fs::remove_all(train_root() + "/" + run);
  return train::load_config(std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/train_tiny.json", overrides);
}

std::string train_exp_dir(const std::string& run) { return train_root() + "/" + run; }

std::vector<train::json> train_events(const std::string& run) {
  std::ifstream in(train_exp_dir(run) + "/metrics.jsonl");
  std::vector<train::json> out;
  std::string line;
  while (std::getline(in, line)) out.push_back(train::json::parse(line));
  return out;
}

void expect_same_tensors(const SafetensorsFile& a, const SafetensorsFile& b) {
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    INFO(a.tensors[i].first);
    REQUIRE(a.tensors[i].first == b.tensors[i].first);
    CHECK(a.tensors[i].second.to_vector() == b.tensors[i].second.to_vector());
  }
}

train::StageConfig gan_step_fixture_stage(const train::json& s, const std::string& type) {
  train::StageConfig c;
  c.name = "gan";
  c.type = type;
  c.total_iter = 3;
  c.optim_g.lr = s.at("lr_g");
  c.optim_d.lr = s.at("lr_d");
  c.optim_g.beta1 = c.optim_d.beta1 = s.at("betas")[0];
  c.optim_g.beta2 = c.optim_d.beta2 = s.at("betas")[1];
  c.pixel_opt = train::PixelLossConfig{"L1Loss", s.at("pixel_weight"), 1e-12};
  c.gan_opt = train::GanLossConfig{"vanilla", 1.0, 0.0, s.at("gan_weight")};
  return c;
}

}  // namespace sr::test
