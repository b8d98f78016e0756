// From a validated config's `datasets` entries to the data pipeline's DataConfig, in one
// place for training, validation and `srengine test`.
#pragma once
#include <nlohmann/json.hpp>

#include "data/dataset.h"

namespace sr::train {

// One datasets.<name> entry read whole-image (validation, testing): type, folders,
// meta_info_file, filename_tmpl, max_pixels; gt_size is set to `scale` (unused, but a
// valid multiple).
data::DataConfig eval_data_config(const nlohmann::json& dataset, int scale);
// datasets.train of a config: the above plus crop size, augmentation, batch, workers,
// enlarge ratio, seed and skip_bad_images.
data::DataConfig train_data_config(const nlohmann::json& config);

}  // namespace sr::train
