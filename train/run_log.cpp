// Console, train.log and metrics.jsonl writer (see run_log.h).
#include "train/run_log.h"

#include <chrono>
#include <ctime>
#include <filesystem>

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
  log_ = std::fopen((dir + "/train.log").c_str(), "a");
  jsonl_ = std::fopen((dir + "/metrics.jsonl").c_str(), "a");
  SR_CHECK(log_ && jsonl_, "run log: cannot write in '", dir, "'");
}

RunLog::~RunLog() {
  if (log_) std::fclose(log_);
  if (jsonl_) std::fclose(jsonl_);
}

void RunLog::info(const std::string& line) {
  if (!enabled_) return;
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  std::fprintf(log_, "%s %s\n", timestamp().c_str(), line.c_str());
  std::fflush(log_);
}

void RunLog::warn(const std::string& line) {
  if (!enabled_) return;
  std::fprintf(stderr, "warning: %s\n", line.c_str());
  std::fprintf(log_, "%s warning: %s\n", timestamp().c_str(), line.c_str());
  std::fflush(log_);
}

void RunLog::event(const nlohmann::json& record) {
  if (!enabled_) return;
  std::fprintf(jsonl_, "%s\n", record.dump().c_str());
  std::fflush(jsonl_);
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
