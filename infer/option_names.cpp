// The flag and argument names of the inference options (see option_names.h).
#include "infer/option_names.h"

namespace sr::infer {

const char* option_name(InferOption option, Spelling spelling) {
  const bool cli = spelling == Spelling::cli;
  switch (option) {
    case InferOption::model_name: return cli ? "-n" : "model_name";
    case InferOption::config: return cli ? "--config" : "config";
    case InferOption::weights: return cli ? "--weights" : "weights";
    case InferOption::model_dir: return cli ? "--model-dir" : "model_dir";
    case InferOption::param_key: return cli ? "--param-key" : "param_key";
    case InferOption::denoise_strength: return cli ? "--denoise_strength" : "denoise_strength";
    case InferOption::dni: return cli ? "--dni" : "dni_weights";
    case InferOption::dni_alpha: return cli ? "--dni alpha" : "dni_alpha";
    case InferOption::tile: return cli ? "--tile" : "tile";
    case InferOption::tile_pad: return cli ? "--tile-pad" : "tile_pad";
    case InferOption::pre_pad: return cli ? "--pre-pad" : "pre_pad";
    case InferOption::outscale: return cli ? "--outscale" : "outscale";
  }
  return "?";
}

ModelOptionNames model_option_names(Spelling spelling) {
  if (spelling == Spelling::cli) return {};
  return {"config", "model_name", "weights", "model_dir"};
}

}  // namespace sr::infer
