// Config sections -> data::DataConfig (see data_config.h).
#include "train/data_config.h"

namespace sr::train {

data::DataConfig eval_data_config(const nlohmann::json& d, int scale) {
  data::DataConfig c;
  c.type = data::parse_dataset_type(d.at("type"));
  c.dataroot_gt = d.at("dataroot_gt");
  c.dataroot_lq = d.value("dataroot_lq", "");
  // meta_info is Real-ESRGAN's name for the same key (validation allows only one of them).
  c.meta_info_file = d.value("meta_info_file", d.value("meta_info", ""));
  c.filename_tmpl = d.value("filename_tmpl", "{}");
  c.scale = scale;
  c.gt_size = scale;
  c.max_pixels = d.value("max_pixels", (int64_t)100000000);
  return c;
}

data::DataConfig train_data_config(const nlohmann::json& cfg) {
  const nlohmann::json& d = cfg.at("datasets").at("train");
  data::DataConfig c = eval_data_config(d, cfg.at("scale"));
  c.gt_size = d.at("gt_size");
  c.use_hflip = d.at("use_hflip");
  c.use_rot = d.at("use_rot");
  c.batch_size_per_gpu = d.at("batch_size_per_gpu");
  c.num_worker_per_gpu = d.at("num_worker_per_gpu");
  c.dataset_enlarge_ratio = d.at("dataset_enlarge_ratio");
  c.seed = cfg.at("manual_seed");
  c.skip_bad_images = d.at("skip_bad_images");
  c.max_pixels = d.at("max_pixels");
  return c;
}

}  // namespace sr::train
