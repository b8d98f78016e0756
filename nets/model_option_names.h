// What the errors of model lookup and architecture detection tell a user to give instead,
// spelled as that user gives it: srengine's flags by default (--config CFG.json, -n NAME),
// the C and Python APIs' argument names when they ask (infer/option_names.h makes both).
#pragma once
#include <string>

namespace sr {

struct ModelOptionNames {
  std::string config = "--config CFG.json";
  std::string model_name = "-n MODEL_NAME";
  std::string weights = "--weights FILE";
  std::string model_dir = "--model-dir";
};

}  // namespace sr
