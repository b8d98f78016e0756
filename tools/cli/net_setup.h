// What `srengine infer`, `test` and `export` share before any image is touched: the
// device (with a clear error when CUDA is absent), an output folder proven writable, and
// the model (a --config read as training reads it: JSON or a BasicSR option file).
#pragma once
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "infer/open_model.h"
#include "layers/module.h"

namespace sr::cli {

// "cpu", "cuda", "cuda:N" or "simt"; CUDA is an error when the build has no CUDA backend or
// the machine no GPU.
Device resolve_infer_device(const std::string& s);
// "cuda" when this build has CUDA and the machine a GPU, else "cpu" (Real-ESRGAN's default).
std::string default_infer_device();

// Creates `dir` if needed and writes (then removes) a probe file in it; any failure is
// one error naming `what` and the folder.
void ensure_writable_dir(const std::string& dir, const std::string& what);

// The flags that name a model, spelled as `srengine infer` accepts them: -n / --model-name,
// --model-dir, --config, --weights / --model_path, --param-key. When `flag` is one of them,
// sets its field of `spec` from value() and returns true.
bool parse_model_flag(const std::string& flag, const std::function<std::string()>& value, infer::ModelSpec& spec);

// infer::open_model, with spec.config (JSON or .yml) read by train/yaml/options_file.h.
infer::OpenedModel open_cli_model(infer::ModelSpec spec);

// network_g of a config file (JSON or .yml) with fresh weights, built as training builds
// it (train/networks.h: seed 0, G's stream), on the CPU, and the image channels it takes
// (nets/factory.h network_channels; 3 when the type has no such option).
struct BuiltGenerator {
  std::unique_ptr<Module> net;
  int64_t in_channels = 3;
};
BuiltGenerator build_generator(const std::string& config_path);

}  // namespace sr::cli
