// Loading BasicSR-style weight files into a network: safetensors, or PyTorch's torch.save
// checkpoints (.pth, read without Python: engine/pth_reader.h), told apart by content. Keys may
// be bare ("conv_first.weight"), or wrapped as BasicSR checkpoints are ("params.conv_first.weight",
// "params_ema.conv_first.weight": a .pth's nested {'params_ema': {...}} dicts, or the prefix
// tools/convert_pth.py keeps), and may carry DataParallel's "module." prefix. The original
// ESRGAN's names (model.N, RRDB_trunk) become BasicSR's RRDBNet names (nets/esrgan_names.h).
#pragma once
#include <string>

#include "engine/safetensors.h"
#include "layers/module.h"

namespace sr {

struct SelectedWeights {
  std::string key;       // "params_ema", "params" or "" (bare keys)
  NamedTensors tensors;  // that group's tensors, wrapper and "module." prefixes removed, in file order
  std::string note;      // set when the group asked for was absent and the other one was used
};

// The group param_key names among a file's tensors (rules of load_basicsr_weights); `path`
// is for messages, `option` names the setting that chose param_key ("--param-key",
// "path.param_key_g") in the error that a missing group gives. Two tensors of one group whose
// names differ only by a 'module.' prefix ('module.x' and 'x') are an error naming both. The
// original ESRGAN's names are mapped.
SelectedWeights select_basicsr_weights(const NamedTensors& tensors, const std::string& param_key,
                                       const std::string& path, const std::string& option = "param_key");

// param_key: "params_ema", "params", "bare" or "" (bare keys), "auto" (params_ema if present,
// else params, else bare) or "params_or_bare" (what a BasicSR option file without param_key_g
// means: BasicSR reads 'params', but srengine writes its own networks with bare keys, so a file
// holding only those loads them, with a note). A file without the group asked for but with the
// other one (params_ema / params) loads that one, as BasicSR's load_network falls back from
// params_ema to params (here both ways), and `note` (when given) says so. Returns the group
// used. A missing file, no such group (the error lists the groups found and the values of
// `option` that load them), or (strict) any missing / unexpected / mis-shaped key is an error
// naming the file; not strict (BasicSR's strict_load false, e.g. an x3 net started from an x2
// model) they are skipped, and `note` lists them, as BasicSR's load_network warns.
std::string load_basicsr_weights(Module& net, const std::string& path, const std::string& param_key = "auto",
                                 bool strict = true, std::string* note = nullptr,
                                 const std::string& option = "param_key");

// Refuses a param_key that is none of the above, naming `option` and the value.
void check_param_key(const std::string& param_key, const std::string& option);

}  // namespace sr
