// Checkpoint files (see checkpoint.h).
#include "train/checkpoint.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <string_view>

#include "engine/error.h"

namespace sr::train {

namespace fs = std::filesystem;

namespace {
constexpr const char* kFormat = "srengine-training-state-1";
}

std::map<std::string, Tensor> state_tensors(const NamedTensors& tensors, const std::string& prefix) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : tensors)
    if (name.compare(0, prefix.size(), prefix) == 0) out[name.substr(prefix.size())] = t;
  return out;
}

std::string state_path(const std::string& dir, const std::string& stage, int64_t iter) {
  return dir + "/training_states/" + stage + "_" + std::to_string(iter) + ".state";
}

namespace {

// The one writer of the state record.
nlohmann::json record_json(const TrainingState& s) {
  const StateInfo& i = s.info;
  nlohmann::json info = nlohmann::json::object();
  auto put = [&](const char* key, const std::optional<int64_t>& v) {
    if (v) info[key] = *v;
  };
  put("optim_g_steps", i.optim_g_steps);
  put("optim_d_steps", i.optim_d_steps);
  put("loader_epoch", i.loader_epoch);
  put("loader_batch", i.loader_batch);
  put("loader_global_batch", i.loader_global_batch);
  put("loader_dataset_size", i.loader_dataset_size);
  put("validated_iter", i.validated_iter);
  info["world_size"] = i.world_size;
  info["seed"] = i.seed;
  info["nan_streak"] = i.nan_streak;
  info["best"] = nlohmann::json::object();
  // JSON has no infinity: an infinite best (identical images' PSNR, a flat image's NIQE) is
  // written as "inf" / "-inf" (NaN never becomes a best: Validator::update_best).
  for (const auto& [k, b] : i.best)
    info["best"][k] = {{"value", std::isinf(b.value) ? nlohmann::json(b.value > 0 ? "inf" : "-inf") : nlohmann::json(b.value)},
                       {"iter", b.iter}};
  info["has_net_d"] = i.has_net_d;
  if (i.loss_scaler)
    info["loss_scaler"] = {{"scale", i.loss_scaler->scale},
                           {"good_steps", i.loss_scaler->good_steps},
                           {"skipped", i.loss_scaler->skipped}};
  return info;
}

}  // namespace

void save_training_state(const std::string& dir, const TrainingState& s) {
  fs::create_directories(dir + "/training_states");
  nlohmann::json info = record_json(s);
  info["stage"] = s.stage;
  info["stage_index"] = s.stage_index;
  info["iter"] = s.iter;
  write_safetensors(state_path(dir, s.stage, s.iter), s.tensors,
                    {{"format", kFormat}, {"state", info.dump()}});
}

namespace {

// A state record is read back from a file that may have been edited or crafted: every
// field the trainer uses is checked here, once, for type and range, so that nothing
// downstream indexes with a negative stage or resumes at iteration -5.
int64_t checked_integer(const nlohmann::json& info, const char* key, int64_t lo, int64_t hi, const std::string& where,
                        bool required) {
  if (!info.contains(key)) {
    SR_CHECK(!required, where, ": the state record has no '", key, "'");
    return lo;
  }
  const nlohmann::json& v = info[key];
  SR_CHECK(v.is_number_integer(), where, ": '", key, "' must be an integer, got ", v.dump());
  const bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() <= (uint64_t)hi : v.get<int64_t>() >= lo &&
                                                                                     v.get<int64_t>() <= hi;
  SR_CHECK(in_range, where, ": '", key, "' is ", v.dump(), ", outside [", lo, ", ", hi, "]");
  return v.get<int64_t>();
}

void check_state_record(const nlohmann::json& info, const std::string& where) {
  SR_CHECK(info.is_object(), where, ": the state record must be a JSON object, got ", info.type_name());
  SR_CHECK(info.contains("stage") && info["stage"].is_string(), where, ": 'stage' must be a string, got ",
           info.value("stage", nlohmann::json()).dump());
  constexpr int64_t kMaxCount = (int64_t)1 << 53;  // iterations, steps, batches: exact in a double
  checked_integer(info, "stage_index", 0, 1 << 20, where, true);
  checked_integer(info, "iter", 0, kMaxCount, where, true);
  for (const char* key : {"optim_g_steps", "optim_d_steps", "loader_epoch", "loader_batch", "nan_streak"})
    checked_integer(info, key, 0, kMaxCount, where, false);
  checked_integer(info, "world_size", 1, 1 << 20, where, false);
  checked_integer(info, "loader_global_batch", 0, kMaxCount, where, false);
  checked_integer(info, "loader_dataset_size", 1, kMaxCount, where, false);
  checked_integer(info, "validated_iter", -1, kMaxCount, where, false);
  if (info.contains("has_net_d"))
    SR_CHECK(info["has_net_d"].is_boolean(), where, ": 'has_net_d' must be true or false, got ",
             info["has_net_d"].dump());
  if (info.contains("loss_scaler")) {
    const nlohmann::json& ls = info["loss_scaler"];
    SR_CHECK(ls.is_object() && ls.contains("scale") && ls["scale"].is_number() && ls["scale"].get<double>() > 0,
             where, ": 'loss_scaler' must be {\"scale\": positive number, \"good_steps\": integer, "
             "\"skipped\": integer}, got ", ls.dump());
    checked_integer(ls, "good_steps", 0, kMaxCount, where, true);
    checked_integer(ls, "skipped", 0, kMaxCount, where, true);
  }
  if (info.contains("best")) {
    const nlohmann::json& best = info["best"];
    SR_CHECK(best.is_object(), where, ": 'best' must be an object of {\"value\": number, \"iter\": integer}, got ",
             best.dump());
    for (auto it = best.begin(); it != best.end(); ++it) {
      const nlohmann::json& b = it.value();
      const bool value_ok = b.is_object() && b.contains("value") &&
                            (b["value"].is_number() || b["value"] == "inf" || b["value"] == "-inf");
      SR_CHECK(value_ok && b.contains("iter") && b["iter"].is_number_integer(), where, ": 'best.", it.key(),
               "' must be {\"value\": number, \"inf\" or \"-inf\", \"iter\": integer}, got ", b.dump());
    }
  }
}

}  // namespace

TrainingState load_training_state(const std::string& path) {
  SafetensorsFile f = read_safetensors(path);
  auto it = f.metadata.find("format");
  SR_CHECK(it != f.metadata.end() && it->second == kFormat, "resume: '", path,
           "' is not an srengine training state (metadata format '",
           it == f.metadata.end() ? "" : it->second, "')");
  const std::string where = "resume: '" + path + "'";
  TrainingState s;
  nlohmann::json info;
  try {
    info = nlohmann::json::parse(f.metadata.at("state"));
  } catch (const std::exception& e) {
    fail(where, " has a malformed state record: ", e.what());
  }
  check_state_record(info, where);
  s.stage = info["stage"];
  s.stage_index = (int)info["stage_index"].get<int64_t>();
  s.iter = info["iter"];
  // The one reader of the state record (types and ranges checked just above).
  StateInfo& i = s.info;
  auto get = [&](const char* key) -> std::optional<int64_t> {
    if (!info.contains(key)) return std::nullopt;
    return info[key].get<int64_t>();
  };
  i.optim_g_steps = get("optim_g_steps");
  i.optim_d_steps = get("optim_d_steps");
  i.loader_epoch = get("loader_epoch");
  i.loader_batch = get("loader_batch");
  i.loader_global_batch = get("loader_global_batch");
  i.loader_dataset_size = get("loader_dataset_size");
  i.validated_iter = get("validated_iter");
  i.world_size = (int)get("world_size").value_or(1);
  if (info.contains("seed") && info["seed"].is_number_integer()) i.seed = info["seed"].get<uint64_t>();
  i.nan_streak = (int)get("nan_streak").value_or(0);
  if (info.contains("best"))
    for (auto it = info["best"].begin(); it != info["best"].end(); ++it)
      i.best[it.key()] = BestMetric{it.value()["value"].is_string()
                                        ? (it.value()["value"] == "inf" ? INFINITY : -INFINITY)
                                        : it.value()["value"].get<double>(),
                                    it.value()["iter"].get<int64_t>()};
  i.has_net_d = info.value("has_net_d", false);
  if (info.contains("loss_scaler")) {
    const nlohmann::json& ls = info["loss_scaler"];
    i.loss_scaler = LossScalerState{ls["scale"].get<double>(), ls["good_steps"].get<int64_t>(),
                                    ls["skipped"].get<int64_t>()};
  }
  s.tensors = std::move(f.tensors);
  return s;
}

int64_t TrainingState::count(const std::optional<int64_t> StateInfo::*field, const char* key) const {
  const std::optional<int64_t>& v = info.*field;
  SR_CHECK(v.has_value(), "resume: the training state of stage '", stage, "' iteration ", iter, " has no '", key,
           "' (written by an older srengine?)");
  return *v;
}

std::optional<std::string> find_latest_state(const std::string& dir, std::string* skipped,
                                             const std::string& only_stage) {
  const fs::path folder = fs::path(dir) / "training_states";
  if (!fs::is_directory(folder)) return std::nullopt;
  std::optional<std::string> best;
  std::pair<int, int64_t> best_key{-1, -1};
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() != ".state") continue;
    try {
      // Only the header is needed, but reading checks the whole file is intact.
      TrainingState s = load_training_state(entry.path().string());
      if (!only_stage.empty() && s.stage != only_stage) continue;
      const std::pair<int, int64_t> key{s.stage_index, s.iter};
      if (key > best_key) best_key = key, best = entry.path().string();
    } catch (const Error& e) {
      if (skipped) *skipped += std::string(skipped->empty() ? "" : "; ") + e.what();
    }
  }
  return best;
}

std::vector<std::string> move_aside_states_after(const std::string& dir, int stage_index, int64_t iter,
                                                 const std::string& stage) {
  const fs::path folder = fs::path(dir) / "training_states";
  std::vector<std::string> moved;
  if (!fs::is_directory(folder)) return moved;
  const fs::path aside = folder / ("superseded_by_" + stage + "_" + std::to_string(iter));
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() != ".state") continue;
    try {
      const TrainingState s = load_training_state(entry.path().string());
      if (std::pair<int, int64_t>{s.stage_index, s.iter} <= std::pair<int, int64_t>{stage_index, iter}) continue;
    } catch (const Error&) {
      continue;  // unreadable: --resume auto skips it anyway
    }
    fs::create_directories(aside);
    fs::rename(entry.path(), aside / entry.path().filename());
    moved.push_back(entry.path().filename().string());
  }
  std::sort(moved.begin(), moved.end());
  return moved;
}

std::optional<int64_t> checkpoint_iteration(const std::string& name, const std::string& head, const std::string& ext) {
  if (name.size() <= head.size() + ext.size() || name.compare(0, head.size(), head) != 0 ||
      name.compare(name.size() - ext.size(), ext.size(), ext) != 0)
    return std::nullopt;
  const char* first = name.data() + head.size();
  const char* last = name.data() + name.size() - ext.size();
  if (std::string_view(first, last - first) == "final") return -1;
  if (*first < '0' || *first > '9') return std::nullopt;  // from_chars would take a '-'
  int64_t iter = 0;
  const auto [end, err] = std::from_chars(first, last, iter);
  if (err != std::errc() || end != last) return std::nullopt;
  return iter;
}

void prune_checkpoints(const std::string& dir, const std::string& prefix, const std::string& stage,
                       const std::string& suffix, int keep_last, const std::set<int64_t>& keep_iters) {
  if (!fs::is_directory(dir)) return;
  std::vector<std::pair<int64_t, fs::path>> found;
  const std::string head = prefix + stage + "_";
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::optional<int64_t> iter = checkpoint_iteration(entry.path().filename().string(), head, suffix);
    if (iter && *iter >= 0) found.push_back({*iter, entry.path()});  // *_final files are kept
  }
  std::sort(found.begin(), found.end());
  for (size_t i = 0; i + keep_last < found.size(); ++i)
    if (!keep_iters.count(found[i].first)) fs::remove(found[i].second);
}

}  // namespace sr::train
