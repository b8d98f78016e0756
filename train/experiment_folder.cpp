// Experiment folders an earlier run filled (see experiment_folder.h).
#include "train/experiment_folder.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "data/output_names.h"
#include "engine/error.h"
#include "train/checkpoint.h"

namespace sr::train {

namespace fs = std::filesystem;

namespace {

bool has_entries(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && !fs::is_empty(dir, ec) && !ec;
}

bool non_empty_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && fs::file_size(p, ec) > 0 && !ec;
}

}  // namespace

bool holds_previous_run(const std::string& dir) {
  const fs::path d(dir);
  return has_entries(d / "models") || has_entries(d / "training_states") || has_entries(d / "visualization") ||
         non_empty_file(d / "metrics.jsonl") || fs::exists(d / "report.html");
}

std::string archive_experiment_folder(const std::string& dir) {
  try {
    return data::archive_existing_folder(dir, "experiment folder");
  } catch (const std::exception& e) {  // also std::filesystem's, resolving the folder
    fail(e.what(), " (resume its run with --resume auto, or give this run another name: --set name=...)");
  }
}

std::vector<std::string> stage_checkpoint_files(const std::string& dir, const std::vector<std::string>& stages) {
  std::vector<std::string> found;
  for (const char* sub : {"models", "training_states"}) {
    const fs::path folder = fs::path(dir) / sub;
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) continue;
    const bool states = std::string(sub) == "training_states";
    for (const auto& e : fs::directory_iterator(folder, ec)) {
      const std::string name = e.path().filename().string();
      for (const std::string& s : stages) {
        const bool model = !states && (checkpoint_iteration(name, "net_g_" + s + "_", ".safetensors") ||
                                       checkpoint_iteration(name, "net_g_ema_" + s + "_", ".safetensors") ||
                                       checkpoint_iteration(name, "net_d_" + s + "_", ".safetensors"));
        if (model || (states && checkpoint_iteration(name, s + "_", ".state"))) {
          found.push_back(e.path().string());
          break;
        }
      }
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace sr::train
