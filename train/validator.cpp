// Validation during a run: rank 0 measures and logs, the others wait (validator.h).
#include "train/validator.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "data/evaluate.h"
#include "train/report.h"
#include "train/validation.h"

namespace sr::train {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

ValidationFailure Validator::run(const std::string& stage, int64_t iter, Module& net) {
  ValidationFailure f;
  const std::string where = str_cat("[", stage, "] validation at iteration ", iter);
  if (ctx_.rank0()) {
    try {
      validate_and_log(stage, iter, net);
    } catch (const DivergedOutput& e) {
      f = {true, true, where + ": " + e.what()};
    } catch (const std::exception& e) {  // also the file system's (the report, a lost folder)
      f = {true, false, where + ": " + e.what()};
    }
    if (f.failed) ctx_.log->warn(f.message);  // train.log keeps the cause the other ranks point to
  }
  ctx_.comm->barrier_untimed();  // validation runs on rank 0 alone and may outlast dist.timeout_s
  if (ctx_.comm->world_size() > 1) {
    std::vector<double> outcome{f.failed ? (f.diverged ? 2.0 : 1.0) : 0.0};
    ctx_.comm->broadcast_host(outcome, 0);
    if (!ctx_.rank0() && outcome[0] != 0)
      f = {true, outcome[0] == 2, where + " failed on rank 0 (train.log names the cause)"};
  }
  return f;
}

BestMetric Validator::update_best(const std::string& stage, const std::string& k, double value, int64_t iter) {
  bool lower_better = false;  // val.metrics.<name>.better
  for (const MetricConfig& mc : ctx_.cfg.val.metrics)
    if (k.size() > mc.name.size() && k.compare(k.size() - mc.name.size() - 1, std::string::npos, "_" + mc.name) == 0)
      lower_better = mc.lower_is_better;
  auto& best = ctx_.counters.best;
  const std::string key = stage + "/" + k;
  auto it = best.find(key);
  // A NaN is never the best (no later value would compare better than it).
  if (std::isnan(value)) return it == best.end() ? BestMetric{value, iter} : it->second;
  if (it == best.end() || (lower_better ? value < it->second.value : value > it->second.value))
    it = best.insert_or_assign(key, BestMetric{value, iter}).first;
  return it->second;
}

void Validator::validate_and_log(const std::string& stage, int64_t iter, Module& net) {
  const Config& cfg = ctx_.cfg;
  if (cfg.eval_datasets().empty()) return;
  const auto t0 = Clock::now();
  const ValidationResult v = validate(net, cfg, ctx_.dir, stage + "_" + std::to_string(iter), ctx_.device, &bicubic_);
  json ev = {{"event", "val"}, {"stage", stage}, {"iter", iter}};
  std::string line = "[" + stage + "] validation at iter " + std::to_string(iter) + ":";
  for (const auto& [k, m] : v.means) {
    ev[k] = data::metric_json(m);  // "inf" where JSON has no number
    if (k.size() > 8 && k.compare(k.size() - 8, 8, "_bicubic") == 0) continue;  // shown beside its metric
    char buf[96];
    std::snprintf(buf, sizeof buf, " %s %.4f", k.c_str(), m);
    line += buf;
    if (v.means.count(k + "_bicubic")) {
      std::snprintf(buf, sizeof buf, " (bicubic %.4f)", v.means.at(k + "_bicubic"));
      line += buf;
    }
    const BestMetric best = update_best(stage, k, m, iter);
    std::snprintf(buf, sizeof buf, " (best %.4f @%lld)", best.value, (long long)best.iter);
    line += buf;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, " [%.1fs]", std::chrono::duration<double>(Clock::now() - t0).count());
  ctx_.log->info(line + buf);
  ctx_.log->event(ev);
  std::vector<std::pair<std::string, double>> tb;  // BasicSR's tags: metrics/<set>/<metric>
  for (const auto& [set, metrics] : v.by_set)
    for (const auto& [metric, mean] : metrics) tb.emplace_back("metrics/" + set + "/" + metric, mean);
  ctx_.log->scalars(tb, iter);
  write_report(ctx_.dir, cfg.name, v.report_images);
}

}  // namespace sr::train
