// The options of Real-ESRGAN's degradation model under BasicSR's key names, so the values
// of Real-ESRGAN's published option files carry over unchanged. Defaults are those of
// train_realesrnet_x4plus / train_realesrgan_x4plus (Wang et al. 2021, Sec. 4.1).
//
// Where the keys live: the kernel keys (kernel_list ... final_sinc_prob) belong to the
// RealESRGANDataset section (datasets.train), the pipeline keys (resize_prob ...
// jpeg_range2) to the top level of the config, as in BasicSR's option files.
#pragma once
#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/degrade/blur_kernels.h"

namespace sr::data::degrade {

using Range = std::array<double, 2>;  // [lo, hi], lo <= hi

// One blur stage's kernel draw (the first uses the plain keys, the second the *2 keys).
struct KernelOptions {
  std::vector<KernelType> kernel_list{KernelType::iso, KernelType::aniso, KernelType::generalized_iso,
                                      KernelType::generalized_aniso, KernelType::plateau_iso,
                                      KernelType::plateau_aniso};
  std::vector<double> kernel_prob{0.45, 0.25, 0.12, 0.03, 0.12, 0.03};
  double sinc_prob = 0.1;
  Range blur_sigma{0.2, 3.0};
  Range betag_range{0.5, 4.0};
  Range betap_range{1.0, 2.0};
};

// One order of the pipeline's resize + noise + JPEG (the second uses the *2 keys).
struct OrderOptions {
  std::array<double, 3> resize_prob{0.2, 0.7, 0.1};  // up, down, keep
  Range resize_range{0.15, 1.5};                     // up: U(1, hi), down: U(lo, 1)
  double gaussian_noise_prob = 0.5;                  // else Poisson
  Range noise_range{1, 30};                          // Gaussian sigma, 0..255 units
  Range poisson_scale_range{0.05, 3};
  double gray_noise_prob = 0.4;
  Range jpeg_range{30, 95};
};

struct DegradationOptions {
  int scale = 4;
  KernelOptions kernel1;
  KernelOptions kernel2{.sinc_prob = 0.1, .blur_sigma = {0.2, 1.5}};
  double final_sinc_prob = 0.8;
  OrderOptions order1;
  OrderOptions order2{.resize_prob = {0.3, 0.4, 0.3}, .resize_range = {0.3, 1.2}, .noise_range = {1, 25},
                      .poisson_scale_range = {0.05, 2.5}};
  double second_blur_prob = 0.8;
};

// Reads the kernel keys from `dataset` (its path, e.g. "datasets.train", prefixes every
// key in messages) and the pipeline keys and `scale` from `top`; absent keys keep their
// defaults. Every value is checked (see validate).
DegradationOptions parse_degradation_options(const nlohmann::json& dataset, const std::string& dataset_path,
                                             const nlohmann::json& top);
// Probabilities in [0, 1], probability lists summing to 1, non-empty kernel lists of the
// same length as their probabilities, ranges with lo <= hi inside their domains; errors
// name the key. `dataset_path` prefixes the kernel keys in messages.
void validate(const DegradationOptions& o, const std::string& dataset_path = "datasets.train");

// The official option values as JSON (both sections' keys in one object), for docs and dumps.
nlohmann::json degradation_options_json(const DegradationOptions& o);

}  // namespace sr::data::degrade
