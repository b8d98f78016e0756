// Differences between a run's saved config and a resumed run's (see config_changes.h).
#include "train/config_changes.h"

#include <algorithm>
#include <set>

namespace sr::train {

using nlohmann::json;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool is_container(const json& v) {
  if (v.is_object()) return true;
  if (!v.is_array() || v.empty()) return false;
  for (const json& e : v)
    if (!e.is_object()) return false;
  return true;  // an array of objects (train.stages) is walked by index
}

void walk(const json* before, const json* after, const std::string& path, std::vector<ConfigChange>& out) {
  const bool walk_before = before && is_container(*before), walk_after = after && is_container(*after);
  if (walk_before && walk_after && before->type() == after->type()) {
    if (before->is_object()) {
      std::set<std::string> keys;
      for (const auto& [k, v] : before->items()) keys.insert(k);
      for (const auto& [k, v] : after->items()) keys.insert(k);
      for (const std::string& k : keys)
        walk(before->contains(k) ? &(*before)[k] : nullptr, after->contains(k) ? &(*after)[k] : nullptr,
             path.empty() ? k : path + "." + k, out);
    } else {
      for (size_t i = 0; i < std::max(before->size(), after->size()); ++i)
        walk(i < before->size() ? &(*before)[i] : nullptr, i < after->size() ? &(*after)[i] : nullptr,
             path + "." + std::to_string(i), out);
    }
    return;
  }
  if (before && after && *before == *after) return;
  out.push_back({path, before ? before->dump() : "(absent)", after ? after->dump() : "(absent)",
                 key_shapes_training(path)});
}

}  // namespace

bool key_shapes_training(const std::string& key) {
  // Logging, checkpoint cadence and validation read the run; they do not steer it.
  for (const char* prefix : {"logger.", "val.", "path."})
    if (starts_with(key, prefix)) return false;
  if (starts_with(key, "datasets.") && !starts_with(key, "datasets.train.")) return false;  // validation sets
  // The loader's batches do not depend on its worker count (data/loader.h), nor does the
  // gradient exchange on its time-out.
  return key != "datasets.train.num_worker_per_gpu" && key != "dist.timeout_s";
}

std::vector<ConfigChange> config_changes(const json& before, const json& after) {
  std::vector<ConfigChange> out;
  walk(&before, &after, "", out);
  return out;
}

}  // namespace sr::train
