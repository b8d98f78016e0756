// `srengine convert`: a torch.save checkpoint (.pth, read without Python by the restricted
// unpickler) or a safetensors file to a float32 safetensors file with BasicSR names, choosing
// the params / params_ema group as --weights does. tools/convert_pth.py (needs PyTorch) also
// reads legacy checkpoints, maps the old ESRGAN names and writes .pth.
#include <cstdio>
#include <filesystem>

#include "engine/error.h"
#include "engine/pth_reader.h"
#include "engine/safetensors.h"
#include "nets/load_weights.h"
#include "tools/cli/commands.h"

namespace sr::cli {

namespace {

const char* kUsage =
    "usage: srengine convert IN.pth|IN.safetensors OUT.safetensors [--param-key auto|params_ema|params|bare|all]\n"
    "  Writes the weights of IN as float32 safetensors. --param-key chooses a BasicSR wrapper:\n"
    "  auto (default) params_ema if present, else params, else the bare state dict; all keeps every\n"
    "  tensor with its dotted path (params.*, params_ema.*: --weights understands both).\n"
    "  DataParallel's 'module.' prefixes are removed (except with all). Non-tensor entries are listed\n"
    "  and skipped. Legacy (pre-1.6) .pth files need tools/convert_pth.py (PyTorch).\n";

}  // namespace

int run_convert(const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  std::string param_key = "auto";
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--param-key") {
      SR_CHECK(i + 1 < args.size(), "convert: --param-key needs a value (see srengine convert --help)");
      param_key = args[++i];
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

  NamedTensors tensors = read_weights_file(in);
  std::string used = "all";
  if (param_key != "all") {
    SelectedWeights w = select_basicsr_weights(tensors, param_key == "bare" ? "" : param_key, in);
    used = w.key.empty() ? "bare" : w.key;
    tensors = std::move(w.tensors);
  }
  SR_CHECK(!tensors.empty(), "convert: '", in, "' holds no tensors");
  // A repeated name (e.g. 'module.x' and 'x') would make an invalid file.
  std::map<std::string, size_t> seen;
  NamedTensors unique;
  for (auto& [k, t] : tensors) {
    const auto [it, inserted] = seen.emplace(k, unique.size());
    if (inserted) unique.emplace_back(k, t);
    else unique[it->second].second = t;
  }
  int64_t values = 0;
  for (const auto& [k, t] : unique) values += t.numel();
  write_safetensors(out, unique,
                    {{"format", "pt"}, {"source", std::filesystem::path(in).filename().string()}, {"param_key", used}});
  std::printf("convert: wrote %s: %zu tensors (%s), %lld values\n", out.c_str(), unique.size(), used.c_str(),
              (long long)values);
  return 0;
}

}  // namespace sr::cli
