// `srengine test`: BasicSR's test.py. network_g with the given weights upscales every image
// of every datasets.val* / test* set of a config (tiled when asked), the SR images are
// written to <output>/visualization/<set name>/<LQ stem>_<suffix>.png (unless val.save_img
// is false), and the val.metrics (BasicSR's PSNR/SSIM semantics: crop_border,
// test_y_channel) are printed per image and as means per set, and saved to
// <output>/metrics.json with the images that failed. An LQ-only set (LQOnlyDataset,
// BasicSR's SingleImageDataset) is measured by the no-reference metric alone (NIQE), else
// upscaled without metrics. An earlier run's <output> is
// renamed <output>_archived_<time> first, as BasicSR's mkdir_and_rename does.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "data/dataset.h"
#include "data/evaluate.h"
#include "data/image_io.h"
#include "data/metrics.h"
#include "data/output_names.h"
#include "engine/atomic_file.h"
#include "engine/autograd.h"
#include "engine/error.h"
#include "infer/tiled_upscale.h"
#include "layers/precision.h"
#include "nets/load_weights.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/net_setup.h"
#include "tools/cli/progress_bar.h"
#include "train/config.h"
#include "train/config_types.h"
#include "train/eval_sets.h"
#include "train/networks.h"
#include "train/yaml/options_file.h"

namespace sr::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kUsage =
    "usage: srengine test [--config] CFG.json|OPTIONS.yml [--weights W.safetensors|W.pth] [--output DIR] [--suffix S]\n"
    "                     [--tile T] [--tile-pad P] [--pre-pad P] [--device cpu|cuda|cuda:N|simt]\n"
    "                     [--param-key auto|params_ema|params|bare] [--precision P] [--set key=value ...]\n"
    "  Evaluates network_g on every datasets.val*/test* set of the config (paired folders, a GT\n"
    "  folder with bicubic LQ, or an LQ folder alone), as BasicSR's test.py: SR images go to\n"
    "  <output>/visualization/<set's name, else key>/<LQ stem>_<suffix>.png (not with val.save_img\n"
    "  false), per-image and mean val.metrics (PSNR/SSIM: crop_border, test_y_channel; an LQ-only\n"
    "  set, which has no GT, only by calculate_niqe) are printed and saved to <output>/metrics.json, with the\n"
    "  images that failed (exit status 1). An <output> that holds files is first renamed to\n"
    "  <output>_archived_<YYYYmmdd_HHMMSS>. --weights defaults to path.pretrain_network_g; --param-key to\n"
    "  path.param_key_g; --output to results/<name>; --suffix to val.suffix, else the config's name. A\n"
    "  BasicSR option file (test_*.yml) is translated first (docs/BASICSR_YAML.md); --set then addresses\n"
    "  srengine's keys. --precision:\n"
    "  the convolutions' (default, fp32, tf32, bf16, fp16: as srengine infer --precision); the\n"
    "  default is the device's, as validation during training (not the config's training precision).\n";

std::string fmt_metric(double v) {
  if (std::isinf(v)) return "      inf";
  char b[32];
  std::snprintf(b, sizeof b, "%9.4f", v);
  return b;
}

struct SetTotals {
  int failed = 0;
  size_t images = 0;
  double out_mpix = 0;
};

// One set, as settled before anything is upscaled.
struct SetPlan {
  const train::DatasetConfig* d = nullptr;
  std::shared_ptr<const data::Dataset> ds;  // the one listing of its files: sr_paths follow its order
  std::string vis;                          // <output>/visualization/<name, else key>
  bool save = true;                         // val.save_img
  std::vector<std::string> sr_paths;        // per image, when saved
};

// Every set's outputs and sizes, checked before the net is built: two sets with one
// visualization folder, two images with one SR name (a.png, a.jpg) or an image too small
// for a metric is one error naming them, not a result lost or a mean of fewer images.
std::vector<SetPlan> plan_sets(const train::Config& typed, const std::string& output, const std::string& suffix) {
  const std::vector<const train::DatasetConfig*> sets = typed.eval_datasets();
  if (typed.val.save_img) train::check_visualization_folders(sets, "test");
  std::vector<SetPlan> plans;
  for (const train::DatasetConfig* d : sets) {
    const std::string what = str_cat("test: set 'datasets.", d->key, "'");
    SetPlan p{d, std::make_shared<const data::Dataset>(d->data),
              str_cat(output, "/visualization/", train::visualization_folder(*d)), typed.val.save_img, {}};
    // An unreadable file is left to fail as one image of the set (named, exit status 1).
    train::check_metric_sizes(*p.ds, typed.val.metrics, what, true);
    if (p.save) p.sr_paths = train::plan_sr_images(*p.ds, p.vis, "_" + suffix + ".png", what);
    plans.push_back(std::move(p));
  }
  return plans;
}

// An --output folder that holds the weights or a set's files would be moved away with them
// (archived) before they are read.
void check_output_holds_no_input(const std::string& output, const std::string& weights, const train::Config& typed) {
  std::error_code ec;
  if (!fs::is_directory(output, ec)) return;
  std::vector<std::pair<std::string, std::string>> inputs = {{"--weights", weights}};
  for (const train::DatasetConfig* d : typed.eval_datasets())
    for (const auto& [key, path] : {std::pair<std::string, std::string>{"dataroot_gt", d->data.dataroot_gt},
                                    {"dataroot_lq", d->data.dataroot_lq}, {"meta_info_file", d->data.meta_info_file}})
      if (!path.empty()) inputs.push_back({str_cat("datasets.", d->key, ".", key), path});
  for (const auto& [what, path] : inputs)
    SR_CHECK(!data::path_lies_within(path, output), "test: --output '", output, "' holds ", what, " '", path,
             "': its earlier results would be archived (renamed) with it; choose another output folder");
}

// Upscales one set into its visualization folder (unless val.save_img is false), prints its
// table of metrics (for an LQ-only set only NIQE: there is no GT to measure against) and returns
// its metrics.json entry. An image counts only once all its metrics are computed and its SR
// image written; one that fails leaves no SR image and is listed under "failed".
json test_one_set(Module& net, const SetPlan& plan, std::vector<train::MetricConfig> metrics,
                  const infer::TileOptions& tile, Device dev, SetTotals& totals) {
  const train::DatasetConfig& dc = *plan.d;
  const std::string& set = dc.key;
  const std::string shown = train::visualization_folder(dc);
  const bool save = plan.save;
  const data::Dataset& ds = *plan.ds;
  const bool has_gt = data::has_gt(dc.data.type);
  if (!has_gt)  // an LQ-only set: NIQE needs no GT, the other metrics are left out
    std::erase_if(metrics, [](const train::MetricConfig& m) { return m.needs_gt(); });
  if (save) fs::create_directories(plan.vis);
  train::place_metric_networks(metrics, dev);
  std::map<std::string, double> sums;
  json rows = json::array(), failed_rows = json::array();
  ProgressBar bar(str_cat("test ", set), (long)ds.size());
  std::string table;
  for (size_t i = 0; i < ds.size(); ++i) {
    std::string written;
    try {
      const data::ValSample s = ds.load_val(i);
      const Tensor sr = infer::upscale_image(net, s.lq, tile, dev);
      std::vector<double> values;
      for (const train::MetricConfig& m : metrics) values.push_back(train::measure(m, sr, s.gt));
      if (save) {
        written = plan.sr_paths[i];
        data::write_image(written, data::tensor_to_image(sr));
      }
      json row = {{"name", s.name}};
      std::string line = str_cat("  ", s.name);
      if (line.size() < 34 && !metrics.empty()) line.resize(34, ' ');
      for (size_t k = 0; k < metrics.size(); ++k) {
        row[metrics[k].name] = data::metric_json(values[k]);
        line += ' ';
        line += fmt_metric(values[k]);
      }
      rows.push_back(row);
      table += line;
      table += '\n';
      for (size_t k = 0; k < metrics.size(); ++k) sums[metrics[k].name] += values[k];
      ++totals.images;
      totals.out_mpix += (double)sr.size(2) * sr.size(3) / 1e6;
    } catch (const std::exception& e) {
      std::error_code ignore;
      if (!written.empty()) fs::remove(written, ignore);  // a row that failed leaves no SR image
      failed_rows.push_back({{"name", ds.file(i).name}, {"error", e.what()}});
      std::fprintf(stderr, "\ntest: FAILED %s/%s: %s\n", set.c_str(), ds.file(i).name.c_str(), e.what());
    }
    bar.update((long)i + 1, failed_rows.empty() ? "" : str_cat(failed_rows.size(), " failed"));
  }
  totals.failed += (int)failed_rows.size();
  const std::string where = save ? plan.vis : "(val.save_img is false: no SR images written)";
  if (!has_gt && metrics.empty()) {
    std::printf("\n%s (%s) -> %s\n%s  %zu image(s) upscaled; no metrics: the set is LQ-only (LQOnlyDataset), "
                "metrics need GT images\n",
                set.c_str(), shown.c_str(), where.c_str(), table.c_str(), rows.size());
    return {{"name", shown}, {"images", rows}, {"failed", failed_rows},
            {"metrics", "none: LQ-only set (metrics need GT images)"}};
  }
  std::string header = "  image";
  header.resize(34, ' ');
  for (const train::MetricConfig& m : metrics) {
    char k[64];
    std::snprintf(k, sizeof k, " %9s", m.name.c_str());
    header += k;
  }
  std::string mean_line = str_cat("  mean (", rows.size(), " images)");
  mean_line.resize(34, ' ');
  json means = json::object();
  for (const train::MetricConfig& m : metrics) {
    const double v = rows.empty() ? NAN : sums[m.name] / rows.size();
    means[m.name] = data::metric_json(v);
    mean_line += ' ';
    mean_line += fmt_metric(v);
  }
  std::printf("\n%s (%s) -> %s\n%s\n%s%s\n", set.c_str(), shown.c_str(), where.c_str(), header.c_str(), table.c_str(),
              mean_line.c_str());
  return {{"name", shown}, {"mean", means}, {"images", rows}, {"failed", failed_rows}};
}

}  // namespace

int run_test(const std::vector<std::string>& args) {
  std::string config, weights, output, suffix, param_key, device = "cpu";
  Precision precision = Precision::device_default;
  std::vector<std::string> overrides;
  infer::TileOptions tile;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&](const char* flag) -> std::string {
      SR_CHECK(i + 1 < args.size(), "test: ", flag, " needs a value (see srengine test --help)");
      return args[++i];
    };
    const std::string& a = args[i];
    if (a == "--config") config = value("--config");
    else if (a == "--weights") weights = value("--weights");
    else if (a == "--output") output = value("--output");
    else if (a == "--suffix") suffix = value("--suffix");
    else if (a == "--param-key") param_key = value("--param-key");
    else if (a == "--device") device = value("--device");
    else if (a == "--precision") precision = parse_precision(value("--precision"), "test: --precision");
    else if (a == "--set") overrides.push_back(value("--set"));
    else if (a == "--tile") tile.tile = parse_int_arg("test", a, value("--tile"));
    else if (a == "--tile-pad") tile.tile_pad = parse_int_arg("test", a, value("--tile-pad"));
    else if (a == "--pre-pad") tile.pre_pad = parse_int_arg("test", a, value("--pre-pad"));
    else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (config.empty() && !a.empty() && a[0] != '-') {
      config = a;
    } else {
      fail("test: unknown argument '", a, "' (see srengine test --help)");
    }
  }
  SR_CHECK(!config.empty(), "test: a config is required: CFG.json or OPTIONS.yml (see srengine test --help)");
  infer::check_tile_options(tile);
  const Device dev = resolve_infer_device(device);
  train::LoadedConfig loaded = train::load_config_or_options(config, overrides, train::ConfigUse::test);
  train::print_config_notes(loaded.notes);
  const json& cfg = loaded.config;
  const train::Config typed = train::parse_config(cfg);
  // The net below runs the config's conv_impl: the precision must suit it.
  check_precision_supported(precision, dev, typed.conv_impl, "test: --precision");
  const std::string& name = typed.name;
  if (weights.empty()) weights = typed.path.pretrain_network_g;
  SR_CHECK(!weights.empty(), "test: no weights: pass --weights or set path.pretrain_network_g in '", config, "'");
  // Named in the error a missing group gives: where the key came from.
  const std::string param_key_option = param_key.empty() ? "path.param_key_g (or --param-key)" : "--param-key";
  if (param_key.empty()) param_key = typed.path.param_key_g;
  if (output.empty()) output = str_cat("results/", name);
  if (suffix.empty()) suffix = typed.val.suffix;
  if (suffix.empty()) suffix = name;
  data::check_name_part(suffix, "test: --suffix");
  SR_CHECK(!typed.eval_datasets().empty(), "test: config '", config, "' has no datasets.val* / test* set to evaluate");
  const std::vector<SetPlan> plans = plan_sets(typed, output, suffix);

  // Built as training builds it (train/networks.h); the weights replace the initialisation.
  std::unique_ptr<Module> net = train::make_network(train::generator_of(typed, config), typed.manual_seed, 1,
                                                    Device::cpu(), train::layer_options(typed));
  std::string note;
  const std::string used = load_basicsr_weights(*net, weights, param_key, true, &note, param_key_option);
  if (!note.empty()) std::fprintf(stderr, "test: note: %s\n", note.c_str());
  // As BasicSR's mkdir_and_rename: the results of an earlier run are kept, not overwritten;
  // a folder that holds this run's own inputs (the weights, a set's images) is not moved.
  check_output_holds_no_input(output, weights, typed);
  const std::string archived = data::archive_existing_folder(output, "test: --output");
  if (!archived.empty())
    std::fprintf(stderr, "test: note: '%s' already held results: renamed to '%s'\n", output.c_str(), archived.c_str());
  ensure_writable_dir(output, "test: --output");
  net->to(dev);
  if (tile.tile > 0 && !net->why_tiles_differ().empty())
    std::fprintf(stderr, "test: note: %s %s, so the metrics of %d-pixel tiles differ from the whole images' (BasicSR "
                 "tests whole images)\n", net->type_name().c_str(), net->why_tiles_differ().c_str(), tile.tile);
  net->eval();
  set_precision(*net, precision);
  const int scale = infer::net_scale(*net);
  SR_CHECK(scale == typed.scale, "test: network_g upscales x", scale, " but the config's scale is ", typed.scale);
  std::printf("test: %s x%d from '%s'%s on %s%s\n", net->type_name().c_str(), scale, weights.c_str(),
              used.empty() ? "" : str_cat(" [", used, "]").c_str(), dev.str().c_str(),
              precision == Precision::device_default ? "" : str_cat(", ", precision_name(precision)).c_str());

  NoGradGuard no_grad;
  json report = json::object();
  SetTotals totals;
  const auto t0 = std::chrono::steady_clock::now();
  for (const SetPlan& plan : plans)
    report[plan.d->key] = test_one_set(*net, plan, typed.val.metrics, tile, dev, totals);
  write_text_atomically(str_cat(output, "/metrics.json"), report.dump(2) + "\n");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("\ntest: %zu image(s) in %.2f s: %.3f images/s, %.3f output megapixels/s; metrics in %s/metrics.json\n",
              totals.images, secs, totals.images / secs, totals.out_mpix / secs, output.c_str());
  if (totals.failed) {
    std::fprintf(stderr, "test: %d image(s) failed (named above)\n", totals.failed);
    return 1;
  }
  return 0;
}

}  // namespace sr::cli
