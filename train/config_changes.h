// What a resumed run changes in its config. A resume continues the run its checkpoints were
// made with exactly only when the keys that shape training (seed, data, networks, losses,
// optimizers, schedules, precision) are the same; the trainer compares the folder's
// config.json with the new config and says which keys differ, old and new value, before any
// iteration, and keeps the old config beside the new one.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sr::train {

struct ConfigChange {
  std::string key;     // dotted path: train.stages.0.optim_g.lr
  std::string before;  // the values as JSON text; "(absent)" where the key is missing
  std::string after;
  bool shapes_training = true;  // false for logging, validation, checkpoint and worker keys
};

// The leaves of `before` and `after` that differ (objects and arrays of objects are walked;
// other arrays compare whole), in key order.
std::vector<ConfigChange> config_changes(const nlohmann::json& before, const nlohmann::json& after);

// Whether a key can change what training computes. Keys that only change what is logged,
// validated or kept, or how many workers load the (identical) batches, do not.
bool key_shapes_training(const std::string& key);

}  // namespace sr::train
