// Networks from typed config sections (networks.h).
#include "train/networks.h"

#include <algorithm>
#include <filesystem>

#include "engine/error.h"
#include "engine/random.h"
#include "nets/factory.h"
#include "train/config.h"

namespace sr::train {

std::unique_ptr<Module> make_network(const NetworkConfig& net, uint64_t seed, uint64_t salt, Device device,
                                     const LayerOptions& layers) {
  // Its own deterministic random stream, so that a resumed run builds exactly the
  // discriminator an uninterrupted one did.
  manual_seed(seed * 1000003ull + salt);
  std::unique_ptr<Module> m = build_network(net.args, layers);
  m->to(device);
  return m;
}

std::unique_ptr<Module> make_network(const nlohmann::json& opt, uint64_t seed, uint64_t salt, Device device,
                                     const LayerOptions& layers) {
  return make_network(NetworkConfig{opt.value("type", ""), opt}, seed, salt, device, layers);
}

LayerOptions layer_options(const Config& cfg) {
  LayerOptions o;
  o.kernels = kernels::kernel_choice(cfg.conv_impl, cfg.rdb_impl);
  return o;
}

const NetworkConfig& generator_of(const Config& cfg, const std::string& source) {
  SR_CHECK(cfg.network_g.has_value(), "config '", source, "' has no network_g section");
  return *cfg.network_g;
}

NetworkConfig read_json_generator_config(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return (char)std::tolower(c); });
  SR_CHECK(ext != ".yml" && ext != ".yaml", "config '", path, "' is a BasicSR option file: this library reads JSON "
           "configs; the srengine CLI and the Python module read option files (or write the JSON with `srengine "
           "config --from-yaml`)");
  json c = read_config_file(path);
  prepare_config_for_use(c, ConfigUse::network);
  return generator_of(parse_config(validate_config(c)), path);
}

}  // namespace sr::train
