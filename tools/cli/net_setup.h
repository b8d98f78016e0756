// What `srengine infer` and `srengine test` share before any image is touched: the
// device (with a clear error when CUDA is absent), an output folder proven writable, and
// network_g built from a config.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

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

// network_g of a config (the scale taken from the top level as BasicSR configs carry it).
std::unique_ptr<Module> build_generator(const nlohmann::json& cfg, const std::string& config_path);
std::unique_ptr<Module> build_generator(const std::string& config_path);

}  // namespace sr::cli
