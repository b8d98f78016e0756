// open_model: architecture, weights file(s) and DNI (see open_model.h).
#include "infer/open_model.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "engine/error.h"
#include "engine/pth_reader.h"
#include "nets/factory.h"
#include "nets/load_weights.h"
#include "nets/model_presets.h"
#include "nets/network_from_weights.h"
#include "train/networks.h"

namespace sr::infer {

namespace fs = std::filesystem;

namespace {

constexpr const char* kGeneralModel = "realesr-general-x4v3";
constexpr const char* kGeneralWdnModel = "realesr-general-wdn-x4v3";

SelectedWeights read_group(const std::string& path, const std::string& param_key) {
  return select_basicsr_weights(read_weights_file(path), param_key == "bare" ? "" : param_key, path);
}

}  // namespace

NamedTensors interpolate_weights(const NamedTensors& a, const NamedTensors& b, double alpha,
                                 const std::string& a_name, const std::string& b_name) {
  SR_CHECK(std::isfinite(alpha), "weight interpolation: alpha must be a finite number, got ", alpha);
  std::map<std::string, const Tensor*> bm;
  for (const auto& [k, t] : b) bm[k] = &t;
  SR_CHECK(a.size() == b.size(), "weight interpolation: '", a_name, "' has ", a.size(), " tensors and '", b_name,
           "' ", b.size(), ": not the same architecture");
  NamedTensors out;
  for (const auto& [k, ta] : a) {
    auto it = bm.find(k);
    SR_CHECK(it != bm.end(), "weight interpolation: '", k, "' of '", a_name, "' is not in '", b_name,
             "': not the same architecture");
    const Tensor& tb = *it->second;
    SR_CHECK(ta.shape() == tb.shape(), "weight interpolation: '", k, "' is ", ta.shape().str(), " in '", a_name,
             "' and ", tb.shape().str(), " in '", b_name, "'");
    const Tensor ca = ta.to(Device::cpu()).to(DType::f32).contiguous();
    const Tensor cb = tb.to(Device::cpu()).to(DType::f32).contiguous();
    Tensor r = Tensor::empty(ta.shape(), DType::f32);
    const float* pa = ca.data<float>();
    const float* pb = cb.data<float>();
    float* pr = r.data<float>();
    for (int64_t i = 0; i < r.numel(); ++i) pr[i] = (float)((1.0 - alpha) * (double)pa[i] + alpha * (double)pb[i]);
    out.emplace_back(k, r);
  }
  return out;
}

OpenedModel open_model(const ModelSpec& spec) {
  OpenedModel m;
  const auto name = [&](InferOption o) { return option_name(o, spec.spelling); };
  const ModelOptionNames names = model_option_names(spec.spelling);
  SR_CHECK(spec.model_name.empty() || spec.config.empty(), "give a model name (", name(InferOption::model_name), ") or ",
           name(InferOption::config), ", not both");
  SR_CHECK(spec.param_key == "auto" || spec.param_key == "params_ema" || spec.param_key == "params" ||
               spec.param_key == "bare",
           name(InferOption::param_key), " must be auto, params_ema, params or bare, got '", spec.param_key, "'");
  std::string weights = spec.weights, dni_weights = spec.dni_weights;
  double dni_alpha = spec.dni_alpha;
  const std::vector<std::string> dirs = model_search_dirs(spec.model_dir);
  const bool general = spec.model_name == kGeneralModel;
  SR_CHECK(spec.denoise_strength < 0 || general || spec.denoise_strength == 1.0,
           name(InferOption::denoise_strength), " applies only to ", kGeneralModel, " (it blends in ", kGeneralWdnModel, ")");
  if (!spec.model_name.empty()) {
    const ModelPreset& preset = find_model_preset(spec.model_name, names);
    m.network_g = preset.network_g;
    m.architecture_from = "model name";
    if (weights.empty()) weights = locate_model_weights(preset, dirs, names);
    const double dn = spec.denoise_strength < 0 ? 0.5 : spec.denoise_strength;
    if (general && dn != 1.0) {
      SR_CHECK(dn >= 0.0 && dn <= 1.0, name(InferOption::denoise_strength), " must be in [0, 1], got ", dn);
      SR_CHECK(dni_weights.empty(), name(InferOption::dni), " and ", name(InferOption::denoise_strength),
               " both blend weights: give one of them");
      // Real-ESRGAN's -dn: dn * x4v3 + (1 - dn) * wdn, i.e. from wdn towards x4v3 by dn. The
      // companion file is looked for beside the main one first.
      std::vector<std::string> wdn_dirs = {fs::path(weights).parent_path().string()};
      for (const auto& d : dirs)
        if (std::find(wdn_dirs.begin(), wdn_dirs.end(), d) == wdn_dirs.end()) wdn_dirs.push_back(d);
      dni_weights = weights;
      try {
        weights = locate_model_weights(find_model_preset(kGeneralWdnModel), wdn_dirs, names);
      } catch (const Error& e) {
        fail(e.what(), "; or give ", name(InferOption::denoise_strength), " 1 to run ", kGeneralModel, " alone (", name(InferOption::denoise_strength), " ", dn, " blends in ", kGeneralWdnModel,
             ")");
      }
      dni_alpha = dn;
    }
  } else if (!spec.config.empty()) {
    SR_CHECK(!weights.empty(), name(InferOption::config), " needs ", name(InferOption::weights),
             " (the config gives only the architecture)");
    m.network_g = spec.network_g.is_null() ? train::read_json_generator_config(spec.config).args : spec.network_g;
    m.architecture_from = "config";
  } else {
    SR_CHECK(!weights.empty(), "no model: give a model name (", name(InferOption::model_name), ") or a weights file (",
             name(InferOption::weights), "), with a config (", name(InferOption::config),
             ") when the file does not carry its architecture");
    const WeightsArchitecture arch = detect_weights_architecture(weights, spec.param_key, names);
    m.network_g = arch.network_g;
    m.architecture_from = arch.source;
  }
  m.net = train::make_network(m.network_g, 0, 1, Device::cpu(), LayerOptions{});
  if (dni_weights.empty()) {
    m.param_key =
        load_basicsr_weights(*m.net, weights, spec.param_key, true, &m.note, name(InferOption::param_key));
    m.weights = weights;
  } else {
    SR_CHECK(std::isfinite(dni_alpha), name(InferOption::dni_alpha), " must be a finite number");
    const SelectedWeights a = read_group(weights, spec.param_key), b = read_group(dni_weights, spec.param_key);
    const NamedTensors mixed = interpolate_weights(a.tensors, b.tensors, dni_alpha, weights, dni_weights);
    m.net->load_state_dict(mixed, true, "'" + weights + "' x " + std::to_string(1.0 - dni_alpha) + " + '" +
                                            dni_weights + "' x " + std::to_string(dni_alpha));
    m.param_key = a.key;
    m.weights = str_cat(weights, " x ", 1.0 - dni_alpha, " + ", dni_weights, " x ", dni_alpha);
  }
  m.net->eval();
  return m;
}

int upscaling_channels(const OpenedModel& m, const std::string& who) {
  const std::optional<NetworkChannels> ch = network_channels(m.network_g);
  if (!ch || !ch->in) return 3;  // a type without channel options (the factory has checked them)
  const int64_t in = *ch->in, out = ch->out ? *ch->out : in;
  if (in == out && (in == 3 || in == 1)) return (int)in;
  const std::string type = m.network_g.value("type", std::string("network"));
  const std::string keys = ch->out_key.empty() || ch->out_key == ch->in_key
                               ? str_cat("network_g.", ch->in_key, " ", in)
                               : str_cat("network_g.", ch->in_key, " ", in, " and network_g.", ch->out_key, " ", out);
  fail(who, ": ", type, " has ", keys, ": images are upscaled by networks of 3 channels in and out (RGB) or of 1 ",
       "(Y; Cb and Cr by bicubic); `srengine export` writes this network as it is");
}

}  // namespace sr::infer
