// Checkpoint files (see checkpoint.h).
#include "train/checkpoint.h"

#include <algorithm>
#include <filesystem>

#include "engine/error.h"

namespace sr::train {

namespace fs = std::filesystem;

namespace {
constexpr const char* kFormat = "srengine-training-state-1";
}

std::string state_path(const std::string& dir, const std::string& stage, int64_t iter) {
  return dir + "/training_states/" + stage + "_" + std::to_string(iter) + ".state";
}

void save_training_state(const std::string& dir, const TrainingState& s) {
  fs::create_directories(dir + "/training_states");
  nlohmann::json info = s.info;
  info["stage"] = s.stage;
  info["stage_index"] = s.stage_index;
  info["iter"] = s.iter;
  write_safetensors(state_path(dir, s.stage, s.iter), s.tensors,
                    {{"format", kFormat}, {"state", info.dump()}});
}

TrainingState load_training_state(const std::string& path) {
  SafetensorsFile f = read_safetensors(path);
  auto it = f.metadata.find("format");
  SR_CHECK(it != f.metadata.end() && it->second == kFormat, "resume: '", path,
           "' is not an srengine training state (metadata format '",
           it == f.metadata.end() ? "" : it->second, "')");
  TrainingState s;
  try {
    s.info = nlohmann::json::parse(f.metadata.at("state"));
    s.stage = s.info.at("stage");
    s.stage_index = s.info.at("stage_index");
    s.iter = s.info.at("iter");
  } catch (const std::exception& e) {
    fail("resume: '", path, "' has a malformed state record: ", e.what());
  }
  s.tensors = std::move(f.tensors);
  return s;
}

std::optional<std::string> find_latest_state(const std::string& dir, std::string* skipped) {
  const fs::path folder = fs::path(dir) / "training_states";
  if (!fs::is_directory(folder)) return std::nullopt;
  std::optional<std::string> best;
  std::pair<int, int64_t> best_key{-1, -1};
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() != ".state") continue;
    try {
      // Only the header is needed, but reading checks the whole file is intact.
      TrainingState s = load_training_state(entry.path().string());
      const std::pair<int, int64_t> key{s.stage_index, s.iter};
      if (key > best_key) best_key = key, best = entry.path().string();
    } catch (const Error& e) {
      if (skipped) *skipped += std::string(skipped->empty() ? "" : "; ") + e.what();
    }
  }
  return best;
}

void prune_checkpoints(const std::string& dir, const std::string& prefix, const std::string& stage,
                       const std::string& suffix, int keep_last) {
  if (!fs::is_directory(dir)) return;
  std::vector<std::pair<int64_t, fs::path>> found;
  const std::string head = prefix + stage + "_";
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= head.size() + suffix.size() || name.compare(0, head.size(), head) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    const std::string number = name.substr(head.size(), name.size() - head.size() - suffix.size());
    if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos) continue;
    found.push_back({std::stoll(number), entry.path()});
  }
  std::sort(found.begin(), found.end());
  for (size_t i = 0; i + keep_last < found.size(); ++i) fs::remove(found[i].second);
}

}  // namespace sr::train
