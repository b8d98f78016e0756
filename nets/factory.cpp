// Network factory (see factory.h). Each type lists its keys with defaults; `required`
// keys have none (BasicSR's constructors give num_in_ch/num_out_ch no default).
#include "nets/factory.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include "engine/error.h"
#include "engine/storage.h"
#include "engine/suggest.h"
#include "nets/ecbsr.h"
#include "nets/edsr.h"
#include "nets/hat.h"
#include "nets/rcan.h"
#include "nets/msrresnet.h"
#include "nets/rrdbnet.h"
#include "nets/srvgg_compact.h"
#include "nets/swinir.h"
#include "nets/unet_discriminator.h"
#include "nets/vgg_discriminator.h"

namespace sr {

namespace {

using json = nlohmann::json;

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& e : v) s += (s.empty() ? "" : ", ") + e;
  return s;
}

// Reads the keys of one network section, rejecting anything not asked for.
class Args {
 public:
  Args(const json& opt, std::string type) : opt_(opt), type_(std::move(type)) {}

  int64_t integer(const std::string& key, std::optional<int64_t> def) {
    const json* v = find(key, def.has_value());
    if (!v) return *def;
    if (v->is_number_float() && v->get<double>() == (double)(int64_t)v->get<double>()) return (int64_t)v->get<double>();
    SR_CHECK(v->is_number_integer(), where(key), " must be an integer, got ", v->dump());
    return v->get<int64_t>();
  }
  bool boolean(const std::string& key, std::optional<bool> def) {
    const json* v = find(key, def.has_value());
    if (!v) return *def;
    SR_CHECK(v->is_boolean(), where(key), " must be true or false, got ", v->dump());
    return v->get<bool>();
  }
  double number(const std::string& key, double def) {
    const json* v = find(key, true);
    if (!v) return def;
    SR_CHECK(v->is_number(), where(key), " must be a number, got ", v->dump());
    return v->get<double>();
  }
  std::vector<double> numbers(const std::string& key, const std::vector<double>& def) {
    const json* v = find(key, true);
    if (!v) return def;
    SR_CHECK(v->is_array() && !v->empty() && std::all_of(v->begin(), v->end(), [](const json& e) {
               return e.is_number();
             }), where(key), " must be a list of numbers, got ", v->dump());
    return v->get<std::vector<double>>();
  }
  std::vector<int64_t> integers(const std::string& key, const std::vector<int64_t>& def) {
    const json* v = find(key, true);
    if (!v) return def;
    SR_CHECK(v->is_array() && !v->empty() && std::all_of(v->begin(), v->end(), [](const json& e) {
               return e.is_number_integer();
             }), where(key), " must be a list of integers, got ", v->dump());
    return v->get<std::vector<int64_t>>();
  }
  // An integer n (meaning n x n) or a list [h, w] (BasicSR's img_size takes both).
  std::pair<int64_t, int64_t> integer_pair(const std::string& key, int64_t def) {
    const json* v = find(key, true);
    if (!v) return {def, def};
    if (v->is_number_integer()) return {v->get<int64_t>(), v->get<int64_t>()};
    SR_CHECK(v->is_array() && v->size() == 2 && (*v)[0].is_number_integer() && (*v)[1].is_number_integer(),
             where(key), " must be an integer or a list of two integers, got ", v->dump());
    return {(*v)[0].get<int64_t>(), (*v)[1].get<int64_t>()};
  }
  // A key whose only accepted value is `expected` (an option srengine does not implement
  // otherwise): absent, null or equal passes, anything else names the key and the reason.
  void only(const std::string& key, const json& expected, const std::string& why) {
    const json* v = find(key, true);
    SR_CHECK(!v || *v == expected, where(key), " must be ", expected.dump(), " (", why, "), got ", v ? v->dump() : "");
  }
  std::string string(const std::string& key, const std::optional<std::string>& def) {
    const json* v = find(key, def.has_value());
    if (!v) return *def;
    SR_CHECK(v->is_string(), where(key), " must be a string, got ", v->dump());
    return v->get<std::string>();
  }
  // After all reads: any key not read is unknown.
  void check_no_unknown() const {
    for (auto it = opt_.begin(); it != opt_.end(); ++it)
      if (it.key() != "type" && std::find(known_.begin(), known_.end(), it.key()) == known_.end())
        fail("network ", type_, ": unknown key '", it.key(), "'", did_you_mean(it.key(), known_),
             "; valid keys: type, ", join(known_));
  }

 private:
  std::string where(const std::string& key) const { return "network " + type_ + ": '" + key + "'"; }
  const json* find(const std::string& key, bool optional) {
    known_.push_back(key);
    auto it = opt_.find(key);
    if (it == opt_.end() || it->is_null()) {
      SR_CHECK(optional, where(key), " is required");
      return nullptr;
    }
    return &*it;
  }
  const json& opt_;
  std::string type_;
  std::vector<std::string> known_;
};

// num_in_ch / num_out_ch where BasicSR's constructor has a default (SRVGGNetCompact,
// MSRResNet); network_channels reads the same value.
constexpr int64_t kDefaultChannels = 3;

using Builder = std::function<std::unique_ptr<Module>(Args&, const LayerOptions&)>;

const std::vector<std::pair<std::string, Builder>>& builders() {
  static const std::vector<std::pair<std::string, Builder>> table = {
      {"RRDBNet",
       [](Args& a, const LayerOptions& layers) -> std::unique_ptr<Module> {
         const int64_t in = a.integer("num_in_ch", std::nullopt), out = a.integer("num_out_ch", std::nullopt);
         const int64_t scale = a.integer("scale", 4), nf = a.integer("num_feat", 64),
                       nb = a.integer("num_block", 23), gc = a.integer("num_grow_ch", 32);
         a.check_no_unknown();
         return std::make_unique<RRDBNet>(in, out, (int)scale, nf, nb, gc, layers);
       }},
      {"UNetDiscriminatorSN",
       [](Args& a, const LayerOptions& layers) -> std::unique_ptr<Module> {
         const int64_t in = a.integer("num_in_ch", std::nullopt), nf = a.integer("num_feat", 64);
         const bool skip = a.boolean("skip_connection", true);
         a.check_no_unknown();
         return std::make_unique<UNetDiscriminatorSN>(in, nf, skip, layers);
       }},
      {"VGGStyleDiscriminator",
       [](Args& a, const LayerOptions& layers) -> std::unique_ptr<Module> {
         const int64_t in = a.integer("num_in_ch", std::nullopt), nf = a.integer("num_feat", std::nullopt);
         const int64_t size = a.integer("input_size", 128);
         a.check_no_unknown();
         return std::make_unique<VGGStyleDiscriminator>(in, nf, (int)size, layers);
       }},
      {"SRVGGNetCompact",
       [](Args& a, const LayerOptions& layers) -> std::unique_ptr<Module> {
         const int64_t in = a.integer("num_in_ch", kDefaultChannels), out = a.integer("num_out_ch", kDefaultChannels),
                       nf = a.integer("num_feat", 64), nc = a.integer("num_conv", 16),
                       up = a.integer("upscale", 4);
         const std::string act = a.string("act_type", "prelu");
         a.check_no_unknown();
         return std::make_unique<SRVGGNetCompact>(in, out, nf, nc, (int)up, act, layers);
       }},
      {"EDSR",
       [](Args& a, const LayerOptions& layers) -> std::unique_ptr<Module> {
         const int64_t in = a.integer("num_in_ch", std::nullopt), out = a.integer("num_out_ch", std::nullopt);
         const int64_t nf = a.integer("num_feat", 64), nb = a.integer("num_block", 16), up = a.integer("upscale", 4);
         const double res_scale = a.number("res_scale", 1.0), img_range = a.number("img_range", 255.0);
         const std::vector<double> mean = a.numbers("rgb_mean", {0.4488, 0.4371, 0.4040});
         a.check_no_unknown();
         return std::make_unique<EDSR>(in, out, nf, nb, (int)up, res_scale, img_range, mean, layers);
       }},
      {"RCAN",
       [](Args& a, const LayerOptions& layers) -> std::unique_ptr<Module> {
         const int64_t in = a.integer("num_in_ch", std::nullopt), out = a.integer("num_out_ch", std::nullopt);
         const int64_t nf = a.integer("num_feat", 64), ng = a.integer("num_group", 10), nb = a.integer("num_block", 16),
                       squeeze = a.integer("squeeze_factor", 16), up = a.integer("upscale", 4);
         const double res_scale = a.number("res_scale", 1.0), img_range = a.number("img_range", 255.0);
         const std::vector<double> mean = a.numbers("rgb_mean", {0.4488, 0.4371, 0.4040});
         a.check_no_unknown();
         return std::make_unique<RCAN>(in, out, nf, ng, nb, squeeze, (int)up, res_scale, img_range, mean, layers);
       }},
      {"SwinIR",
       [](Args& a, const LayerOptions& layers) -> std::unique_ptr<Module> {
         SwinIROptions o;  // BasicSR's defaults
         o.upscale = (int)a.integer("upscale", o.upscale);
         o.in_chans = a.integer("in_chans", o.in_chans);
         o.img_size = a.integer_pair("img_size", o.img_size.first);
         o.window_size = (int)a.integer("window_size", o.window_size);
         o.img_range = a.number("img_range", o.img_range);
         o.depths = a.integers("depths", o.depths);
         o.embed_dim = a.integer("embed_dim", o.embed_dim);
         o.num_heads = a.integers("num_heads", o.num_heads);
         o.mlp_ratio = a.number("mlp_ratio", o.mlp_ratio);
         o.qkv_bias = a.boolean("qkv_bias", o.qkv_bias);
         o.qk_scale = a.number("qk_scale", o.qk_scale);
         o.drop_path_rate = a.number("drop_path_rate", o.drop_path_rate);
         o.patch_norm = a.boolean("patch_norm", o.patch_norm);
         o.upsampler = a.string("upsampler", o.upsampler);
         o.resi_connection = a.string("resi_connection", o.resi_connection);
         o.num_feat = a.integer("num_feat", o.num_feat);  // srengine's key: BasicSR's heads are 64 wide
         a.only("patch_size", 1, "SwinIR's image restoration nets embed single pixels");
         a.only("drop_rate", 0, "dropout is not implemented; stochastic depth is drop_path_rate");
         a.only("attn_drop_rate", 0, "attention dropout is not implemented");
         a.only("ape", false, "absolute position embeddings are not implemented");
         a.boolean("use_checkpoint", false);  // gradient checkpointing: memory only, not the values
         a.check_no_unknown();
         return std::make_unique<SwinIR>(o, layers);
       }},
      {"HAT",
       [](Args& a, const LayerOptions& layers) -> std::unique_ptr<Module> {
         HATOptions o;  // HAT's defaults
         o.upscale = (int)a.integer("upscale", o.upscale);
         o.in_chans = a.integer("in_chans", o.in_chans);
         o.img_size = a.integer_pair("img_size", o.img_size.first);
         o.window_size = (int)a.integer("window_size", o.window_size);
         o.compress_ratio = a.integer("compress_ratio", o.compress_ratio);
         o.squeeze_factor = a.integer("squeeze_factor", o.squeeze_factor);
         o.conv_scale = a.number("conv_scale", o.conv_scale);
         o.overlap_ratio = a.number("overlap_ratio", o.overlap_ratio);
         o.img_range = a.number("img_range", o.img_range);
         o.depths = a.integers("depths", o.depths);
         o.embed_dim = a.integer("embed_dim", o.embed_dim);
         o.num_heads = a.integers("num_heads", o.num_heads);
         o.mlp_ratio = a.number("mlp_ratio", o.mlp_ratio);
         o.qkv_bias = a.boolean("qkv_bias", o.qkv_bias);
         o.qk_scale = a.number("qk_scale", o.qk_scale);
         o.drop_path_rate = a.number("drop_path_rate", o.drop_path_rate);
         o.patch_norm = a.boolean("patch_norm", o.patch_norm);
         o.upsampler = a.string("upsampler", o.upsampler);
         o.resi_connection = a.string("resi_connection", o.resi_connection);
         o.num_feat = a.integer("num_feat", o.num_feat);  // srengine's key: HAT's head is 64 wide
         a.only("patch_size", 1, "HAT embeds single pixels");
         a.only("drop_rate", 0, "dropout is not implemented; stochastic depth is drop_path_rate");
         a.only("attn_drop_rate", 0, "attention dropout is not implemented");
         a.only("ape", false, "absolute position embeddings are not implemented");
         a.boolean("use_checkpoint", false);  // gradient checkpointing: memory only, not the values
         a.check_no_unknown();
         return std::make_unique<HAT>(o, layers);
       }},
      {"ECBSR",  // BasicSR's constructor has no defaults: every key is required
       [](Args& a, const LayerOptions& layers) -> std::unique_ptr<Module> {
         const int64_t in = a.integer("num_in_ch", std::nullopt), out = a.integer("num_out_ch", std::nullopt),
                       nb = a.integer("num_block", std::nullopt), nc = a.integer("num_channel", std::nullopt);
         const bool idt = a.boolean("with_idt", std::nullopt);
         const std::string act = a.string("act_type", std::nullopt);
         const int64_t scale = a.integer("scale", std::nullopt);
         a.check_no_unknown();
         return std::make_unique<ECBSR>(in, out, nb, nc, idt, act, (int)scale, layers);
       }},
      {"MSRResNet",
       [](Args& a, const LayerOptions& layers) -> std::unique_ptr<Module> {
         const int64_t in = a.integer("num_in_ch", kDefaultChannels), out = a.integer("num_out_ch", kDefaultChannels),
                       nf = a.integer("num_feat", 64), nb = a.integer("num_block", 16), up = a.integer("upscale", 4);
         a.check_no_unknown();
         return std::make_unique<MSRResNet>(in, out, nf, nb, (int)up, layers);
       }},
  };
  return table;
}

}  // namespace

std::vector<std::string> network_types() {
  std::vector<std::string> out;
  for (const auto& [name, b] : builders()) out.push_back(name);
  return out;
}

std::optional<NetworkChannels> network_channels(const json& opt) {
  if (!opt.is_object() || !opt.contains("type") || !opt["type"].is_string()) return std::nullopt;
  const std::string type = opt["type"];
  // The key's integer value, `def` when it is left out (or null), nullopt when it is missing
  // without a default or not a whole number.
  auto read = [&](const std::string& key, std::optional<int64_t> def) -> std::optional<int64_t> {
    if (!opt.contains(key) || opt[key].is_null()) return def;
    const json& v = opt[key];
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_number_float() && v.get<double>() == (double)(int64_t)v.get<double>()) return (int64_t)v.get<double>();
    return std::nullopt;
  };
  NetworkChannels c;
  if (type == "SwinIR" || type == "HAT") {  // in_chans in and out
    c.in_key = c.out_key = "in_chans";
    c.in = c.out = read("in_chans", type == "SwinIR" ? SwinIROptions{}.in_chans : HATOptions{}.in_chans);
  } else if (type == "UNetDiscriminatorSN" || type == "VGGStyleDiscriminator") {
    c.in_key = "num_in_ch";
    c.in = read("num_in_ch", std::nullopt);
  } else if (type == "SRVGGNetCompact" || type == "MSRResNet") {
    c.in_key = "num_in_ch";
    c.out_key = "num_out_ch";
    c.in = read("num_in_ch", kDefaultChannels);
    c.out = read("num_out_ch", kDefaultChannels);
  } else if (type == "RRDBNet" || type == "EDSR" || type == "RCAN" || type == "ECBSR") {
    c.in_key = "num_in_ch";
    c.out_key = "num_out_ch";
    c.in = read("num_in_ch", std::nullopt);
    c.out = read("num_out_ch", std::nullopt);
  } else {
    return std::nullopt;
  }
  return c;
}

std::unique_ptr<Module> build_network(const json& opt, const LayerOptions& layers) {
  SR_CHECK(opt.is_object(), "network: options must be an object like {\"type\": \"RRDBNet\", ...}, got ", opt.dump());
  SR_CHECK(opt.contains("type") && opt["type"].is_string(), "network: missing string key 'type' in ", opt.dump(),
           " (one of: ", join(network_types()), ")");
  const std::string type = opt["type"];
  for (const auto& [name, build] : builders()) {
    if (name != type) continue;
    Args args(opt, type);
    // A mistyped size (num_block 100000, num_feat 100000) would take the machine's memory, or
    // have the process killed for it, before failing: the parameters may take what the system
    // has available now, and the error then names every option.
    const size_t available = available_host_memory();
    const double gib = std::round(available / 0x1p30 * 10) / 10;
    HostAllocationLimit limit(available, str_cat(type, " ", opt.dump(), " needs more than the ", gib,
                                                 " GiB of memory available now: check its size options"));
    return build(args, layers);
  }
  fail("network: unknown type '", type, "'", did_you_mean(type, network_types()), "; known types: ",
       join(network_types()));
}

}  // namespace sr
