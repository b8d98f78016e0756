// `srengine test`: BasicSR's test.py. network_g with the given weights upscales every image
// of every datasets.val* / test* set of a config (tiled when asked), the SR images are
// written to <output>/visualization/<set>/<stem>_<suffix>.png, and the val.metrics
// (BasicSR's PSNR/SSIM semantics: crop_border, test_y_channel) are printed per image and
// as means per set, and saved to <output>/metrics.json. An LQ-only set (LQOnlyDataset,
// BasicSR's SingleImageDataset) is upscaled without metrics.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/metrics.h"
#include "engine/autograd.h"
#include "data/output_names.h"
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
    "  <output>/visualization/<set>/, per-image and mean PSNR/SSIM (val.metrics: crop_border,\n"
    "  test_y_channel; not for LQ-only sets, which have no GT) are printed and saved to\n"
    "  <output>/metrics.json. --weights defaults to path.pretrain_network_g; --output to\n"
    "  results/<name>; --suffix to the config's name. A BasicSR option file (test_*.yml) is\n"
    "  translated first (docs/BASICSR_YAML.md); --set then addresses srengine's keys. --precision:\n"
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

// Upscales one set into <output>/visualization/<set>/, prints its table of metrics (none for
// an LQ-only set: there is no GT to measure against) and returns its metrics.json entry.
json test_one_set(Module& net, const train::DatasetConfig& dc, std::vector<train::MetricConfig> metrics,
                  const infer::TileOptions& tile, Device dev, const std::string& output, const std::string& suffix,
                  SetTotals& totals) {
  const std::string& set = dc.key;
  const data::Dataset ds(dc.data);
  const bool has_gt = data::has_gt(dc.data.type);
  if (!has_gt) metrics.clear();
  const std::string vis = str_cat(output, "/visualization/", set);
  fs::create_directories(vis);
  std::map<std::string, double> sums;
  json rows = json::array();
  ProgressBar bar(str_cat("test ", set), (long)ds.size());
  std::string table;
  int failed = 0;
  for (size_t i = 0; i < ds.size(); ++i) {
    try {
      const data::ValSample s = ds.load_val(i);
      const Tensor sr = infer::upscale_image(net, s.lq, tile, dev);
      const std::string stem = fs::path(s.name).stem().string();
      data::write_image(str_cat(vis, "/", stem, "_", suffix, ".png"), data::tensor_to_image(sr));
      json row = {{"name", s.name}};
      std::string line = str_cat("  ", s.name);
      if (line.size() < 34 && !metrics.empty()) line.resize(34, ' ');
      for (const train::MetricConfig& m : metrics) {
        data::MetricOptions mo;
        mo.crop_border = m.crop_border;
        mo.test_y_channel = m.test_y_channel;
        const double v = m.type == "calculate_psnr" ? data::calculate_psnr(sr, s.gt, mo)
                                                    : data::calculate_ssim(sr, s.gt, mo);
        sums[m.name] += v;
        row[m.name] = std::isinf(v) ? json("inf") : json(v);
        line += ' ';
        line += fmt_metric(v);
      }
      rows.push_back(row);
      table += line;
      table += '\n';
      ++totals.images;
      totals.out_mpix += (double)sr.size(2) * sr.size(3) / 1e6;
    } catch (const std::exception& e) {
      ++failed;
      std::fprintf(stderr, "\ntest: FAILED %s/%s: %s\n", set.c_str(), ds.file(i).name.c_str(), e.what());
    }
    bar.update((long)i + 1, failed ? str_cat(failed, " failed") : "");
  }
  totals.failed += failed;
  const std::string shown = dc.name.empty() ? set : dc.name;
  if (!has_gt) {
    std::printf("\n%s (%s) -> %s\n%s  %zu image(s) upscaled; no metrics: the set is LQ-only (LQOnlyDataset), "
                "metrics need GT images\n",
                set.c_str(), shown.c_str(), vis.c_str(), table.c_str(), rows.size());
    return {{"images", rows}, {"metrics", "none: LQ-only set (metrics need GT images)"}};
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
    means[m.name] = std::isinf(v) ? json("inf") : json(v);
    mean_line += ' ';
    mean_line += fmt_metric(v);
  }
  std::printf("\n%s (%s) -> %s\n%s\n%s%s\n", set.c_str(), shown.c_str(), vis.c_str(), header.c_str(), table.c_str(),
              mean_line.c_str());
  return {{"mean", means}, {"images", rows}};
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
  if (param_key.empty()) param_key = typed.path.param_key_g;
  if (output.empty()) output = str_cat("results/", name);
  if (suffix.empty()) suffix = typed.val.suffix;
  if (suffix.empty()) suffix = name;
  data::check_name_part(suffix, "test: --suffix");
  std::vector<std::string> sets;
  for (const train::DatasetConfig* d : typed.eval_datasets()) sets.push_back(d->key);
  SR_CHECK(!sets.empty(), "test: config '", config, "' has no datasets.val* / test* set to evaluate");
  ensure_writable_dir(output, "test: --output");

  // Built as training builds it (train/networks.h); the weights replace the initialisation.
  std::unique_ptr<Module> net = train::make_network(train::generator_of(typed, config), typed.manual_seed, 1,
                                                    Device::cpu(), train::layer_options(typed));
  std::string note;
  const std::string used = load_basicsr_weights(*net, weights, param_key == "bare" ? "" : param_key, true, &note);
  if (!note.empty()) std::fprintf(stderr, "test: note: %s\n", note.c_str());
  net->to(dev);
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
  for (const std::string& set : sets)
    report[set] = test_one_set(*net, *typed.find_dataset(set), typed.val.metrics, tile, dev, output, suffix, totals);
  std::ofstream(str_cat(output, "/metrics.json")) << report.dump(2) << "\n";
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
