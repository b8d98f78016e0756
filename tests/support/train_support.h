// Helpers for the end-to-end training tests: the tiny two-stage config
// (tests/fixtures/train_tiny.json) in a fresh experiment folder, and what a run leaves.
#pragma once
#include <string>
#include <vector>

#include "engine/safetensors.h"
#include "train/config.h"
#include "train/config_types.h"

namespace sr::test {

// tests/fixtures/train_tiny.json with the overrides (`key=value`, as --set), written to
// <build>/test_tmp/train/<run>/ (emptied first).
train::json tiny_train_config(const std::string& run, std::vector<std::string> overrides = {});
std::string train_exp_dir(const std::string& run);
// The run's metrics.jsonl, one object per event.
std::vector<train::json> train_events(const std::string& run);
// The GAN stage of the PyTorch step fixtures (tools/make_esrgan_step_fixture.py,
// tools/make_realesrgan_step_fixture.py): 3 iterations with the fixture's Adam settings, L1
// and vanilla GAN losses and weights; `type` esrgan, srgan or realesrgan.
train::StageConfig gan_step_fixture_stage(const train::json& stage, const std::string& type);
// Same names in the same order, bit-identical values.
void expect_same_tensors(const SafetensorsFile& a, const SafetensorsFile& b);

}  // namespace sr::test
