// Console, train.log and metrics.jsonl writer (see run_log.h).
#include "train/run_log.h"

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "engine/atomic_file.h"
#include "engine/error.h"

namespace sr::train {

namespace {
std::string timestamp() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}
}  // namespace

RunLog::RunLog(const std::string& dir, bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  std::filesystem::create_directories(dir);
  log_path_ = dir + "/train.log";
  jsonl_path_ = dir + "/metrics.jsonl";
  log_ = std::fopen(log_path_.c_str(), "a");
  if (!log_) fail("run log: cannot write '", log_path_, "': ", std::strerror(errno));
  jsonl_ = std::fopen(jsonl_path_.c_str(), "a");
  if (!jsonl_) fail("run log: cannot write '", jsonl_path_, "': ", std::strerror(errno));
}

RunLog::~RunLog() {
  if (log_) std::fclose(log_);
  if (jsonl_) std::fclose(jsonl_);
}

// A line that cannot be written (a full disk, a quota) stops the run: a run whose log and
// metrics silently stay empty is worse than one that says why it stopped.
void RunLog::put(std::FILE* f, const std::string& path, const std::string& text) {
  errno = 0;
  const bool ok = std::fputs(text.c_str(), f) >= 0 && std::fflush(f) == 0 && !std::ferror(f);
  if (!ok) {
    const int err = errno;
    std::clearerr(f);
    fail("run log: cannot write '", path, "': ", err ? std::strerror(err) : "write error");
  }
}

void RunLog::info(const std::string& line) {
  if (!enabled_) return;
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  put(log_, log_path_, timestamp() + " " + line + "\n");
}

void RunLog::warn(const std::string& line) {
  if (!enabled_) return;
  std::fprintf(stderr, "warning: %s\n", line.c_str());
  put(log_, log_path_, timestamp() + " warning: " + line + "\n");
}

void RunLog::error_in_file(const std::string& line) {
  if (!enabled_) return;
  put(log_, log_path_, timestamp() + " error: " + line + "\n");
}

void RunLog::event(const nlohmann::json& record) {
  if (!enabled_) return;
  put(jsonl_, jsonl_path_, record.dump() + "\n");
  if (!tensorboard_ || record.value("event", "") != "train" || !record.contains("iter")) return;
  // BasicSR's tags: losses under losses/, the other logged numbers by their own name.
  std::vector<std::pair<std::string, double>> values;
  for (const auto& [k, v] : record.items()) {
    if (!v.is_number() || k == "iter" || k == "epoch" || k == "threads") continue;
    values.emplace_back(k.rfind("l_", 0) == 0 ? "losses/" + k : k, v.get<double>());
  }
  scalars(values, record.at("iter").get<int64_t>());
}

int64_t RunLog::drop_events_past(const std::vector<std::string>& stages, size_t stage_index, int64_t iter) {
  if (!enabled_) return 0;
  std::string text;
  {
    std::ifstream in(jsonl_path_, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // Past the resumed point: a record of a later stage, or of the same stage at a later
  // iteration. A line that is not a record (no stage or iter) is kept, as report.html skips it.
  auto past = [&](const std::string& line) {
    const nlohmann::json e = nlohmann::json::parse(line, nullptr, false);
    if (e.is_discarded() || !e.is_object() || !e.contains("stage") || !e["stage"].is_string() ||
        !e.contains("iter") || !e["iter"].is_number_integer())
      return false;
    const auto it = std::find(stages.begin(), stages.end(), e["stage"].get<std::string>());
    if (it == stages.end()) return false;
    const size_t si = (size_t)(it - stages.begin());
    return si > stage_index || (si == stage_index && e["iter"].get<int64_t>() > iter);
  };
  std::string kept;
  int64_t dropped = 0;
  for (size_t at = 0; at < text.size();) {
    const size_t end = text.find('\n', at);
    if (end == std::string::npos) {  // no newline: the kill cut this line short
      ++dropped;
      break;
    }
    const std::string line = text.substr(at, end - at);
    if (past(line))
      ++dropped;
    else
      kept.append(text, at, end + 1 - at);
    at = end + 1;
  }
  if (dropped == 0) return 0;
  // Replaced as checkpoints are (temporary file, fsync, rename); the append handle follows.
  std::fclose(jsonl_);
  jsonl_ = nullptr;
  std::string error;
  try {
    write_text_atomically(jsonl_path_, kept);
  } catch (const Error& e) {
    error = e.what();
  }
  jsonl_ = std::fopen(jsonl_path_.c_str(), "a");
  if (!jsonl_) fail("run log: cannot write '", jsonl_path_, "': ", std::strerror(errno));
  if (!error.empty()) fail("run log: ", error);
  return dropped;
}

void RunLog::enable_tensorboard(const std::string& dir) {
  if (enabled_) tensorboard_dir_ = dir;
}

void RunLog::begin_stage(const std::string& stage, int64_t first_iter) {
  if (!enabled_ || tensorboard_dir_.empty()) return;
  tensorboard_.reset();  // the previous stage's file is closed first
  tensorboard_ = std::make_unique<TensorBoardWriter>(tensorboard_dir_ + "/" + stage, first_iter);
}

void RunLog::scalars(const std::vector<std::pair<std::string, double>>& values, int64_t step) {
  if (tensorboard_) tensorboard_->add_scalars(values, step);
}

std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  const long t = (long)(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

}  // namespace sr::train
