// `srengine convert`: a torch.save checkpoint (.pth of the zip or the legacy pre-1.6 format,
// read without Python by the restricted unpickler) or a safetensors file to a float32
// safetensors file with BasicSR names, choosing the params / params_ema group as --weights
// does; the original ESRGAN's names become BasicSR's (nets/esrgan_names.h). tools/convert_pth.py
// (needs PyTorch) writes .pth.
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include "engine/error.h"
#include "engine/pth_reader.h"
#include "engine/safetensors.h"
#include "infer/open_model.h"
#include "nets/ecbsr_deploy.h"
#include "nets/load_weights.h"
#include "nets/model_presets.h"
#include "nets/network_from_weights.h"
#include "train/networks.h"
#include "train/yaml/options_file.h"
#include "tools/cli/commands.h"

namespace sr::cli {

namespace {

const char* kUsage =
    "usage: srengine convert IN.pth|IN.safetensors OUT.safetensors [--param-key auto|params_ema|params|bare|all]\n"
    "                        [-n MODEL_NAME | --config CFG.json] [--fold]\n"
    "  Writes the weights of IN as float32 safetensors (whatever dtype IN stores). --param-key chooses\n"
    "  a BasicSR wrapper: auto (default) params_ema if present, else params, else the bare state dict;\n"
    "  all keeps every tensor with its dotted path (params.*, params_ema.*: --weights understands both).\n"
    "  DataParallel's 'module.' prefixes are removed (except with all; 'module.x' beside 'x' is an\n"
    "  error). Non-tensor entries are listed on stderr and skipped. Both torch.save formats are read:\n"
    "  the zip (PyTorch >= 1.6) and the legacy one (torchvision's and the original ESRGAN's files);\n"
    "  the original ESRGAN's names (model.N, RRDB_trunk) become BasicSR's (except with all).\n"
    "  The network's options go into the file's metadata (network_g), so `srengine infer --weights OUT`\n"
    "  needs no config: from -n (a released model's architecture: srengine infer --help lists them),\n"
    "  --config (its network_g), else the network_g IN records (srengine's own files), else recognised\n"
    "  from the tensor shapes as infer does (RRDBNet, SRVGGNetCompact, MSRResNet, SwinIR, HAT).\n"
    "  --fold (an ECBSR: from --config, else as IN records it): writes the SRVGGNetCompact the ECBSR\n"
    "  folds to (each block's five branches as one 3x3 conv: docs/EXPORT.md, \"ECBSR\"), Real-ESRGAN's\n"
    "  body.N keys, and that network in the metadata.\n";

}  // namespace

int run_convert(const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  std::string param_key = "auto", model_name, config;
  bool fold = false;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> std::string {
      SR_CHECK(i + 1 < args.size(), "convert: ", args[i], " needs a value (see srengine convert --help)");
      return args[++i];
    };
    if (args[i] == "--param-key") {
      param_key = value();
    } else if (args[i] == "-n" || args[i] == "--model-name" || args[i] == "--model_name") {
      model_name = value();
    } else if (args[i] == "--config") {
      config = value();
    } else if (args[i] == "--fold") {
      fold = true;
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (args[i].rfind("--", 0) == 0) {
      fail("convert: unknown argument '", args[i], "' (see srengine convert --help)");
    } else {
      paths.push_back(args[i]);
    }
  }
  SR_CHECK(paths.size() == 2, "convert: needs IN and OUT (see srengine convert --help)");
  SR_CHECK(param_key == "auto" || param_key == "params_ema" || param_key == "params" || param_key == "bare" ||
               param_key == "all",
           "convert: --param-key must be auto, params_ema, params, bare or all, got '", param_key, "'");
  const std::string& in = paths[0];
  const std::string& out = paths[1];
  SR_CHECK(std::filesystem::path(out).extension() == ".safetensors", "convert: OUT '", out,
           "' must end in .safetensors (srengine writes only safetensors)");
  SR_CHECK(model_name.empty() || config.empty(), "convert: give -n or --config, not both");
  std::optional<nlohmann::json> network;
  if (!model_name.empty()) network = find_model_preset(model_name).network_g;
  if (!config.empty()) network = train::read_generator_config(config).args;

  std::vector<std::string> skipped;
  NamedTensors tensors = read_weights_file(in, &skipped);
  // Named, so nothing leaves the checkpoint unseen (an optimizer state, a list of tensors).
  if (!skipped.empty()) {
    std::string list;
    for (const std::string& s : skipped) list += (list.empty() ? "" : ", ") + s;
    std::fprintf(stderr, "convert: '%s': skipped non-tensor entries: %s\n", in.c_str(), list.c_str());
  }
  std::string used = "all";
  if (param_key != "all") {
    SelectedWeights w = select_basicsr_weights(tensors, param_key, in, "--param-key");
    used = w.key.empty() ? "bare" : w.key;
    tensors = std::move(w.tensors);
  }
  SR_CHECK(!tensors.empty(), "convert: '", in, "' holds no tensors");
  int64_t values = 0;
  for (const auto& [k, t] : tensors) values += t.numel();
  std::map<std::string, std::string> meta = {
      {"format", "pt"}, {"source", std::filesystem::path(in).filename().string()}, {"param_key", used}};
  std::string arch_note, recorded;  // recorded: where the architecture came from when neither -n nor --config gave it
  if (!network && (param_key != "all" || fold)) {
    // As infer, export and quantize find it: the network_g that srengine's own files record in
    // their metadata, else the tensor shapes; an error names what to give instead.
    try {
      WeightsArchitecture a = detect_weights_architecture(in, param_key == "all" ? "auto" : param_key);
      network = std::move(a.network_g);
      recorded = a.source;
    } catch (const Error& e) {
      if (fold) fail("convert: --fold '", in, "': ", e.what());
      arch_note = str_cat(", no network recorded (", e.what(), ")");
    }
  }
  SR_CHECK(!fold || network->value("type", "") == "ECBSR", "convert: --fold folds an ECBSR: give its --config "
           "(network_g of type ECBSR), not ", network ? network->value("type", std::string("?")) : "", " (",
           recorded.empty() ? (model_name.empty() ? "--config" : "-n") : "'" + in + "': " + recorded, ")");
  // Shapes describe the tensors by construction; a network given or recorded is only a claim.
  if (network && recorded != "tensor shapes") {
    // The tensors must fit the architecture claimed for them: build it and load them.
    std::unique_ptr<Module> net = train::make_network(*network, 0, 1, Device::cpu(), LayerOptions{});
    std::map<std::string, Tensor> dict(tensors.begin(), tensors.end());
    net->load_state_dict(dict, true, "'" + in + "'");
    arch_note = ", network " + (*network)["type"].get<std::string>() +
                (!model_name.empty() ? " (" + model_name + ")" : !recorded.empty() ? " (from the " + recorded + ")" : "");
    if (fold) {
      // The deployed form replaces the training one: its tensors and its options.
      const ECBSR& ecbsr = dynamic_cast<const ECBSR&>(*net);
      std::unique_ptr<SRVGGNetCompact> srvgg;
      try {
        srvgg = ecbsr_to_srvgg(ecbsr);
      } catch (const Error& e) {
        fail("convert: --fold '", in, "': ", e.what());
      }
      tensors = srvgg->state_dict();
      network = nlohmann::json{{"type", "SRVGGNetCompact"},
                               {"num_in_ch", ecbsr.num_in_ch},
                               {"num_out_ch", ecbsr.num_out_ch},
                               {"num_feat", ecbsr.blocks.front()->conv3x3->weight.size(0)},
                               {"num_conv", int64_t(ecbsr.blocks.size()) - 2},
                               {"upscale", ecbsr.scale},
                               {"act_type", ecbsr.blocks.front()->act_type}};
      meta["folded_from"] = "ECBSR";
      values = 0;
      for (const auto& [k, t] : tensors) values += t.numel();
      arch_note = ", network SRVGGNetCompact (folded from ECBSR: " + std::to_string(ecbsr.blocks.size()) +
                  " blocks, one 3x3 conv each)";
    }
  } else if (network) {
    arch_note = ", network " + (*network)["type"].get<std::string>() + " (recognised from the shapes)";
  }
  if (network) meta[kNetworkMetadataKey] = network->dump();
  write_safetensors(out, tensors, meta);
  std::printf("convert: wrote %s: %zu tensors (%s), %lld values%s\n", out.c_str(), tensors.size(), used.c_str(),
              (long long)values, arch_note.c_str());
  return 0;
}

}  // namespace sr::cli
