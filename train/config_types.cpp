// The validated config JSON -> typed structs (config_types.h). The schema (config.cpp) has
// filled every default and checked every type, so this reads with .at() and nothing else
// in the trainer needs to.
#include "train/config_types.h"

#include "data/degrade/options.h"
#include "engine/error.h"

namespace sr::train {

namespace {

using nlohmann::json;

OptimizerConfig optimizer(const json& o) {
  OptimizerConfig c;
  c.type = o.at("type");
  c.lr = o.at("lr");
  const auto betas = o.at("betas").get<std::vector<double>>();
  SR_CHECK(betas.size() == 2, "config: 'betas' needs two values, got ", betas.size());
  c.beta1 = betas[0];
  c.beta2 = betas[1];
  c.eps = o.at("eps");
  c.weight_decay = o.at("weight_decay");
  return c;
}

SchedulerConfig scheduler(const json& o) {
  SchedulerConfig c;
  c.type = o.at("type");
  c.milestones = o.at("milestones").get<std::vector<int64_t>>();
  c.restarts = o.at("restarts").get<std::vector<int64_t>>();
  c.periods = o.at("periods").get<std::vector<int64_t>>();
  c.restart_weights = o.at("restart_weights").get<std::vector<double>>();
  c.gamma = o.at("gamma");
  c.eta_min = o.at("eta_min");
  return c;
}

StageConfig stage(const json& s) {
  StageConfig c;
  c.name = s.at("name");
  c.type = s.at("type");
  c.total_iter = s.at("total_iter");
  c.init_from_previous = s.at("init_from_previous");
  c.warmup_iter = s.at("warmup_iter");
  c.optim_g = optimizer(s.at("optim_g"));
  c.optim_d = optimizer(s.at("optim_d"));
  c.scheduler = scheduler(s.at("scheduler"));
  if (s.contains("pixel_opt")) {
    const json& p = s["pixel_opt"];
    c.pixel_opt = PixelLossConfig{p.at("type"), p.at("loss_weight"), p.at("eps")};
  }
  if (s.contains("perceptual_opt")) {
    const json& p = s["perceptual_opt"];
    PerceptualLossConfig q;
    for (auto it = p.at("layer_weights").begin(); it != p.at("layer_weights").end(); ++it) {
      SR_CHECK(it.value().is_number(), "config: 'perceptual_opt.layer_weights.", it.key(),
               "' must be a number, got ", it.value().dump());
      q.layer_weights[it.key()] = it.value().get<double>();
    }
    q.use_input_norm = p.at("use_input_norm");
    q.range_norm = p.at("range_norm");
    q.perceptual_weight = p.at("perceptual_weight");
    q.style_weight = p.at("style_weight");
    q.criterion = p.at("criterion");
    q.vgg_weights = p.at("vgg_weights");
    c.perceptual_opt = q;
  }
  if (s.contains("gan_opt")) {
    const json& g = s["gan_opt"];
    c.gan_opt = GanLossConfig{g.at("gan_type"), g.at("real_label_val"), g.at("fake_label_val"), g.at("loss_weight")};
  }
  c.net_d_iters = s.at("net_d_iters");
  c.net_d_init_iters = s.at("net_d_init_iters");
  c.l1_gt_usm = s.at("l1_gt_usm");
  c.percep_gt_usm = s.at("percep_gt_usm");
  c.gan_gt_usm = s.at("gan_gt_usm");
  return c;
}

DatasetConfig dataset(const std::string& key, const json& d, int scale, uint64_t seed, const json& top) {
  DatasetConfig c;
  c.key = key;
  c.name = d.at("name");
  data::DataConfig& x = c.data;
  x.type = data::parse_dataset_type(d.at("type"));
  x.dataroot_gt = d.value("dataroot_gt", "");  // absent only for LQOnlyDataset
  x.dataroot_lq = d.value("dataroot_lq", "");
  // meta_info is Real-ESRGAN's name for the same key (validation allows only one of them).
  x.meta_info_file = d.value("meta_info_file", d.value("meta_info", ""));
  x.filename_tmpl = d.at("filename_tmpl");
  x.io_backend = d.value("io_backend", json::object()).value("type", "disk");
  x.color = data::parse_data_color(d.value("color", "rgb"), "datasets." + key + ".color");
  x.scale = scale;
  x.max_pixels = d.at("max_pixels");
  if (x.type == data::DatasetType::realesrgan) {
    x.degradation = data::degrade::parse_degradation_options(d, "datasets." + key, top);
    x.crop_pad_size = d.value("crop_pad_size", 400);
    x.degrade_on = d.value("degrade_on", "auto");
    x.usm_gt = x.degrade_from_usm = top.value("gt_usm", true);  // RealESRNetModel's; the trainer sets them per stage
  }
  if (key == "train") {
    x.gt_size = d.at("gt_size");
    x.use_hflip = d.at("use_hflip");
    x.use_rot = d.at("use_rot");
    x.batch_size_per_gpu = d.at("batch_size_per_gpu");
    x.num_worker_per_gpu = d.at("num_worker_per_gpu");
    x.dataset_enlarge_ratio = d.at("dataset_enlarge_ratio");
    x.seed = seed;
    x.skip_bad_images = d.at("skip_bad_images");
  } else {
    x.gt_size = scale;  // whole images: the patch size is unused
  }
  return c;
}

}  // namespace

Config parse_config(const json& v) {
  Config c;
  c.json = v;
  c.name = v.at("name");
  c.scale = v.at("scale");
  c.device = v.at("device");
  c.manual_seed = v.at("manual_seed");
  c.conv_impl = v.at("conv_impl");
  c.rdb_impl = v.at("rdb_impl");
  SR_CHECK(precision_from_name(v.at("precision"), &c.precision), "config: unknown precision '",
           v.at("precision").get<std::string>(), "'");  // validate_config has checked the value
  c.queue_size = v.at("queue_size");
  c.gt_usm = v.value("gt_usm", true);
  const json& ds = v.at("datasets");
  if (ds.contains("train")) c.datasets.push_back(dataset("train", ds["train"], c.scale, c.manual_seed, v));
  for (auto it = ds.begin(); it != ds.end(); ++it)  // a std::map: name order
    if (it.key() != "train") c.datasets.push_back(dataset(it.key(), it.value(), c.scale, c.manual_seed, v));
  if (v.contains("network_g")) c.network_g = NetworkConfig{v["network_g"].at("type"), v["network_g"]};
  if (v.contains("network_d")) c.network_d = NetworkConfig{v["network_d"].at("type"), v["network_d"]};
  const json& p = v.at("path");
  c.path.experiments_root = p.at("experiments_root");
  c.path.pretrain_network_g = p.at("pretrain_network_g");
  c.path.pretrain_network_d = p.at("pretrain_network_d");
  c.path.param_key_g = p.at("param_key_g");
  c.path.param_key_d = p.at("param_key_d");
  c.path.strict_load_g = p.at("strict_load_g");
  c.path.strict_load_d = p.at("strict_load_d");
  const json& t = v.at("train");
  c.train.ema_decay = t.at("ema_decay");
  c.train.max_nan_steps = t.at("max_nan_steps");
  if (t.contains("loss_scale") && t["loss_scale"].is_object()) {
    const json& ls = t["loss_scale"];
    c.train.loss_scale = LossScaleConfig{ls.at("init"), ls.at("growth_factor"), ls.at("backoff_factor"),
                                         ls.at("growth_interval")};
  }
  c.train.inject_nan_iters = t.at("inject_nan_iters").get<std::vector<int64_t>>();
  c.train.cuda_graph = t.at("cuda_graph");
  for (const json& s : t.at("stages")) c.train.stages.push_back(stage(s));
  const json& val = v.at("val");
  c.val.val_freq = val.at("val_freq");
  c.val.save_img = val.at("save_img");
  c.val.suffix = val.at("suffix");
  c.val.report_images = val.at("report_images");
  for (auto it = val.at("metrics").begin(); it != val.at("metrics").end(); ++it) {
    const json& m = it.value();
    MetricConfig mc{it.key(), m.at("type"), m.at("crop_border"), m.at("test_y_channel"), m.at("better") == "lower",
                    nullptr, nullptr};
    if (mc.type == "calculate_niqe")
      mc.niqe = std::make_shared<const data::NiqeModel>(data::load_niqe_model(m.at("pris_params")));
    if (mc.type == "calculate_lpips")
      mc.lpips = Lpips::from_files(m.at("lpips_weights"), m.value("backbone_weights", json()).is_string()
                                                              ? m.at("backbone_weights").get<std::string>()
                                                              : std::string());
    c.val.metrics.push_back(std::move(mc));
  }
  const json& l = v.at("logger");
  c.logger.print_freq = l.at("print_freq");
  c.logger.save_checkpoint_freq = l.at("save_checkpoint_freq");
  c.logger.keep_last = l.at("keep_last");
  const json& d = v.at("dist");
  c.dist.backend = d.at("backend");
  c.dist.bucket_mb = d.at("bucket_mb");
  c.dist.timeout_s = d.at("timeout_s");
  return c;
}

const DatasetConfig* Config::find_dataset(const std::string& key) const {
  for (const auto& d : datasets)
    if (d.key == key) return &d;
  return nullptr;
}

std::vector<const DatasetConfig*> Config::eval_datasets() const {
  std::vector<const DatasetConfig*> out;
  for (const auto& d : datasets)
    if (d.key != "train") out.push_back(&d);
  return out;
}

}  // namespace sr::train
