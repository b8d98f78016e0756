// The training configuration as typed structs: what train/config.cpp's schema validated,
// with every default and derived value already set (parse_config, config_types.cpp, is the
// one place that reads the validated JSON). Field names are the config's keys (BasicSR's),
// so `stage.optim_g.lr` here is `train.stages.N.optim_g.lr` there; docs/CONFIG.md has the
// meaning of each.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/niqe.h"
#include "kernels/common/precision.h"
#include "nets/lpips.h"

namespace sr::train {

struct OptimizerConfig {  // optim_g / optim_d
  std::string type = "Adam";  // Adam or AdamW
  double lr = 1e-4, beta1 = 0.9, beta2 = 0.99, eps = 1e-8, weight_decay = 0.0;
};

struct SchedulerConfig {
  std::string type = "MultiStepLR";  // or CosineAnnealingRestartLR
  std::vector<int64_t> milestones, restarts, periods;
  std::vector<double> restart_weights{1.0};
  double gamma = 0.5, eta_min = 1e-7;
};

struct PixelLossConfig {
  std::string type = "L1Loss";  // L1Loss, MSELoss, CharbonnierLoss
  double loss_weight = 1.0, eps = 1e-12;
};

struct PerceptualLossConfig {
  std::map<std::string, double> layer_weights;  // VGG layer name -> weight
  bool use_input_norm = true, range_norm = false;
  double perceptual_weight = 1.0, style_weight = 0.0;
  std::string criterion = "l1";
  std::string vgg_weights;  // empty: the loss is skipped with a warning
};

struct GanLossConfig {
  std::string gan_type = "hinge";  // hinge, vanilla, lsgan
  double real_label_val = 1.0, fake_label_val = 0.0, loss_weight = 0.1;
};

struct StageConfig {
  std::string name, type;  // type: sr, srgan or esrgan
  int64_t total_iter = 0;
  bool init_from_previous = true;
  int64_t warmup_iter = -1;
  OptimizerConfig optim_g, optim_d;
  SchedulerConfig scheduler;
  std::optional<PixelLossConfig> pixel_opt;
  std::optional<PerceptualLossConfig> perceptual_opt;
  std::optional<GanLossConfig> gan_opt;
  int64_t net_d_iters = 1, net_d_init_iters = 0;
  // realesrgan: which losses compare with the USM-sharpened GT patch (RealESRGANModel).
  bool l1_gt_usm = true, percep_gt_usm = true, gan_gt_usm = false;
  bool adversarial() const { return type == "srgan" || type == "esrgan" || type == "realesrgan"; }
  // RealESRNetModel / RealESRGANModel: Real-ESRGAN's synthesised pairs and the pair pool.
  bool realesrgan_family() const { return type == "realesrnet" || type == "realesrgan"; }
  // ESRGANModel: D judges whether real data is more realistic than the average fake one.
  bool relativistic() const { return type == "esrgan"; }
};

// A network section: BasicSR's constructor arguments, checked by the network factory
// (nets/factory.h), which is why they stay a JSON object.
struct NetworkConfig {
  std::string type;
  nlohmann::json args;  // the whole section, "type" included
};

struct DatasetConfig {
  std::string key;   // train, val*, test*
  std::string name;  // display name
  data::DataConfig data;  // folders resolved; scale, seed and the train-only fields set
};

struct MetricConfig {
  std::string name, type;  // type: calculate_psnr, calculate_ssim, calculate_lpips or calculate_niqe
  int crop_border = 0;
  bool test_y_channel = false;
  bool lower_is_better = false;
  std::shared_ptr<const data::NiqeModel> niqe;  // calculate_niqe's pristine model (pris_params)
  std::shared_ptr<Lpips> lpips;                 // calculate_lpips's network (moved to the SR images' device)
  bool needs_gt() const { return type != "calculate_niqe"; }
};

struct PathConfig {
  std::string experiments_root = "experiments";
  std::string pretrain_network_g, pretrain_network_d;
  std::string param_key_g = "auto", param_key_d = "auto";  // load_basicsr_weights's param_key
  bool strict_load_g = true, strict_load_d = true;
};

// train.loss_scale: dynamic loss scaling of precision fp16 (train/loss_scaler.h).
struct LossScaleConfig {
  double init = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

struct TrainConfig {
  double ema_decay = 0.999;
  LossScaleConfig loss_scale;  // used when precision is fp16 (the defaults when the key is absent)
  int max_nan_steps = 10;
  std::vector<int64_t> inject_nan_iters;
  // auto, true or false: capture each iteration shape as a CUDA graph and replay it
  // (train/graphed_step.h; auto: on a CUDA GPU when the stage can be captured)
  std::string cuda_graph = "auto";
  std::vector<StageConfig> stages;
};

struct ValConfig {
  int64_t val_freq = 5000;
  bool save_img = true;
  std::string suffix;
  int report_images = 3;
  std::vector<MetricConfig> metrics;  // in name order
};

struct LoggerConfig {
  int64_t print_freq = 100, save_checkpoint_freq = 5000;
  int keep_last = 3;
};

struct DistConfig {
  std::string backend = "auto";  // auto, nccl, mpi
  double bucket_mb = 25.0;
  int timeout_s = 300;
};

struct Config {
  std::string name;
  int scale = 4;
  std::string device = "auto";
  uint64_t manual_seed = 0;
  std::string conv_impl = "native", rdb_impl = "fused";
  Precision precision = Precision::device_default;  // of net_g's convolutions in training (layers/precision.h)
  int64_t queue_size = 180;  // the training-pair pool of realesrnet / realesrgan stages (0: none)
  bool gt_usm = true;        // realesrnet on RealESRGANDataset: train against the sharpened GT
  std::vector<DatasetConfig> datasets;  // train first (when present), then val*/test* in name order
  std::optional<NetworkConfig> network_g, network_d;
  PathConfig path;
  TrainConfig train;
  ValConfig val;
  LoggerConfig logger;
  DistConfig dist;
  nlohmann::json json;  // the validated config itself: saved beside the experiment, hashed into checkpoints

  const DatasetConfig* find_dataset(const std::string& key) const;
  // The val*/test* sets, in name order.
  std::vector<const DatasetConfig*> eval_datasets() const;
};

// The typed view of a config that validate_config() accepted.
Config parse_config(const nlohmann::json& validated);

}  // namespace sr::train
