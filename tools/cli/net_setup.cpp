// Device, output folder and generator set-up for the inference commands (net_setup.h).
#include "tools/cli/net_setup.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "engine/cuda_runtime.h"
#include "engine/error.h"
#include "infer/open_model.h"
#include "nets/factory.h"
#include "train/networks.h"
#include "train/yaml/options_file.h"

namespace sr::cli {

namespace fs = std::filesystem;

std::string default_infer_device() {
#ifdef SRENGINE_WITH_CUDA
  if (cuda::available()) return "cuda";
#endif
  return "cpu";
}

bool parse_model_flag(const std::string& flag, const std::function<std::string()>& value, infer::ModelSpec& spec) {
  auto is = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (flag == n) return true;
    return false;
  };
  if (is({"-n", "--model-name", "--model_name"})) {
    // Real-ESRGAN drops what follows the name (-n RealESRGAN_x4plus.pth); so does this.
    spec.model_name = value();
    for (const char* ext : {".pth", ".safetensors", ".pt"})
      if (spec.model_name.size() > std::strlen(ext) &&
          spec.model_name.compare(spec.model_name.size() - std::strlen(ext), std::string::npos, ext) == 0)
        spec.model_name.erase(spec.model_name.size() - std::strlen(ext));
  }
  else if (is({"--model-dir", "--model_dir"})) spec.model_dir = value();
  else if (is({"--config"})) spec.config = value();
  else if (is({"--weights", "--model_path", "--model-path"})) spec.weights = value();
  else if (is({"--param-key", "--param_key"})) spec.param_key = value();
  else return false;
  return true;
}

Device resolve_infer_device(const std::string& s) {
  const Device d = parse_device(s);
  activate_device(d, "--device " + s);
  return d;
}

void ensure_writable_dir(const std::string& dir, const std::string& what) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  SR_CHECK(!ec, what, " '", dir, "' cannot be created: ", ec.message());
  SR_CHECK(fs::is_directory(dir), what, " '", dir, "' is not a folder");
  const fs::path probe = fs::path(dir) / ".srengine_write_probe";
  std::FILE* f = std::fopen(probe.c_str(), "wb");
  const bool ok = f && std::fputc('x', f) != EOF && std::fclose(f) == 0;
  if (!ok && f) std::fclose(f);
  std::error_code ignore;
  fs::remove(probe, ignore);
  SR_CHECK(ok, what, " '", dir, "' is not writable");
}

BuiltGenerator build_generator(const std::string& config_path) {
  const train::NetworkConfig g = train::read_generator_config(config_path);
  BuiltGenerator b;
  b.net = train::make_network(g, 0, 1, Device::cpu(), LayerOptions{});
  if (const auto ch = network_channels(g.args); ch && ch->in) b.in_channels = *ch->in;
  return b;
}

infer::OpenedModel open_cli_model(infer::ModelSpec spec) {
  if (!spec.config.empty() && spec.network_g.is_null()) spec.network_g = train::read_generator_config(spec.config).args;
  infer::OpenedModel m = infer::open_model(spec);
  if (!m.note.empty()) std::fprintf(stderr, "note: %s\n", m.note.c_str());
  return m;
}

}  // namespace sr::cli
