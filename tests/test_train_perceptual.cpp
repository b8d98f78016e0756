// The perceptual loss end to end: a stage trained by the VGG feature loss alone (pixel
// loss weighted 0) logs l_g_percep and drives it down, so its gradient reaches the
// generator through the frozen VGG. ImageNet weights are not in the repository; random
// VGG19 weights written to a safetensors file stand in (same file format and loading
// path as converted torchvision weights), which is enough to check the plumbing.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/safetensors.h"
#include "nets/vgg_features.h"
#include "support/data_support.h"
#include "support/train_support.h"
#include "train/trainer.h"

using namespace sr;
using namespace sr::train;

TEST_CASE("train/perceptual_loss_trains_the_generator") {
  test::TempDir dir;
  VGGFeatureOptions vo;
  vo.layer_name_list = {"conv2_2"};
  VGGFeatureExtractor vgg(vo);  // randomly initialised
  const std::string weights = dir.file("vgg19_random.safetensors");
  write_safetensors(weights, vgg.named_parameters());

  json c = test::tiny_train_config(
      "percep", {"train.stages.0.total_iter=40", "logger.print_freq=10", "val.val_freq=1000",
                 "logger.save_checkpoint_freq=1000", "train.stages.0.pixel_opt.loss_weight=0",
                 "train.stages.0.perceptual_opt={\"layer_weights\": {\"conv2_2\": 1.0}, \"vgg_weights\": \"" +
                     weights + "\"}"});
  c["train"]["stages"].erase(1);
  REQUIRE(run_training(c, {}) == 0);
  std::vector<double> percep;
  for (const json& e : test::train_events("percep"))
    if (e["event"] == "train") {
      REQUIRE(e.contains("l_g_percep"));
      percep.push_back(e["l_g_percep"]);
    }
  REQUIRE(percep.size() == 4);
  INFO("l_g_percep per 10 iterations: " << percep[0] << " " << percep[1] << " " << percep[2] << " " << percep[3]);
  for (double v : percep) CHECK((std::isfinite(v) && v > 0));
  CHECK(percep.back() < 0.8 * percep.front());
}
