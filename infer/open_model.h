// A generator ready for inference from what a user names: a released model (-n, its
// weights found in the models folders: nets/model_presets.h), a config's network_g with a
// weights file (built as training builds it: train/networks.h), or a weights file alone (its metadata or its shapes give the architecture:
// nets/network_from_weights.h). Optionally two weight files of one architecture blended
// (deep network interpolation, DNI). The CLI, the C API and the Python module share it.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/safetensors.h"
#include "infer/option_names.h"
#include "layers/module.h"

namespace sr::infer {

struct ModelSpec {
  std::string model_name;             // a preset (-n); its weights looked up unless `weights` is set
  std::string config;                 // a config file whose network_g is used (not with model_name);
                                      // JSON here: callers that read option files set network_g
  nlohmann::json network_g;           // the config's network_g when the caller has read it
                                      // (train/yaml/options_file.h: read_generator_config)
  std::string weights;                // the weights file
  std::string model_dir = "weights";  // where presets' files are looked for, before $SRENGINE_MODELS
  std::string param_key = "auto";     // auto, params_ema, params or bare
  // DNI: when `dni_weights` is set the net gets (1 - dni_alpha) * weights + dni_alpha *
  // dni_weights, tensor by tensor (alpha 0 and 1 give either file exactly).
  std::string dni_weights;
  double dni_alpha = 0.0;
  // realesr-general-x4v3's denoise strength (Real-ESRGAN's -dn, default 0.5): below 1 the
  // weights are interpolated with realesr-general-wdn-x4v3 as dn * x4v3 + (1 - dn) * wdn.
  // Ignored (must stay 1 or unset) for other models.
  double denoise_strength = -1;       // < 0: the model's default (0.5 for realesr-general-x4v3)
  Spelling spelling = Spelling::cli;  // how errors name these options
};

struct OpenedModel {
  std::unique_ptr<Module> net;  // on the CPU, eval mode
  nlohmann::json network_g;     // its build options
  std::string weights;          // the file(s) loaded, for messages
  std::string param_key;        // the group used ("params_ema", "params", "" for bare keys)
  std::string architecture_from;  // "model name", "config", "file metadata" or "tensor shapes"
  std::string note;               // the param_key group asked for was absent: which one was used
};

// Builds and loads the net; every failure (unknown name, missing file with where to get it,
// mismatched keys) is an sr::Error.
OpenedModel open_model(const ModelSpec& spec);

// The image channels an upscaling run feeds the net and reads back (FileOptions::net_channels):
// 3 for an RGB net, 1 for a net trained on Y (network_g's num_in_ch = num_out_ch = 1, or
// in_chans = 1 for SwinIR and HAT; nets/factory.h network_channels). A net whose channels in
// and out differ, or are neither, is an sr::Error naming network_g's keys and values: an
// upscaled image keeps the input's colours, so there is no image such a net could return.
// `who` starts the message ("infer", "srengine_open", "Upscaler").
int upscaling_channels(const OpenedModel& m, const std::string& who);

// (1 - alpha) * a + alpha * b for every tensor, computed in float64 and rounded once; the two
// must have the same names and shapes (errors name the files through `a_name`, `b_name`).
NamedTensors interpolate_weights(const NamedTensors& a, const NamedTensors& b, double alpha,
                                 const std::string& a_name, const std::string& b_name);

}  // namespace sr::infer
