// load_basicsr_weights and select_basicsr_weights (see load_weights.h).
#include "nets/load_weights.h"

#include <map>
#include <utility>

#include "engine/error.h"
#include "engine/pth_reader.h"
#include "nets/esrgan_names.h"

namespace sr {

void check_param_key(const std::string& param_key, const std::string& option) {
  SR_CHECK(param_key == "auto" || param_key == "params_ema" || param_key == "params" || param_key == "bare" ||
               param_key.empty() || param_key == "params_or_bare",
           "weights: ", option, " must be auto, params_ema, params, bare or params_or_bare, got '", param_key, "'");
}

SelectedWeights select_basicsr_weights(const NamedTensors& tensors, const std::string& param_key,
                                       const std::string& path, const std::string& option) {
  check_param_key(param_key, option);
  std::map<std::string, NamedTensors> groups;  // "params_ema" / "params" / "" -> tensors in file order
  // Group + key -> the file's name for it. Two names that become one key ('module.x' and 'x') are
  // an error: which value wins would depend on their order (tools/convert_pth.py refuses them too).
  std::map<std::pair<std::string, std::string>, std::string> source;
  for (const auto& [name, t] : tensors) {
    std::string group, key = name;
    for (const char* p : {"params_ema.", "params."}) {
      const std::string prefix = p;
      if (key.rfind(prefix, 0) == 0) {
        group = prefix.substr(0, prefix.size() - 1);
        key = key.substr(prefix.size());
        break;
      }
    }
    if (key.rfind("module.", 0) == 0) key = key.substr(7);
    const auto [it, inserted] = source.emplace(std::make_pair(group, key), name);
    SR_CHECK(inserted, "weights: '", path, "' holds both '", it->second, "' and '", name, "', which are both '", key,
             "' once DataParallel's 'module.' prefix is removed; keep one of them");
    groups[group].emplace_back(key, t);
  }
  std::string chosen = param_key == "bare" ? "" : param_key == "params_or_bare" ? "params" : param_key, note;
  if (param_key == "auto") chosen = groups.count("params_ema") ? "params_ema" : groups.count("params") ? "params" : "";
  const std::string other = chosen == "params_ema" ? "params" : chosen == "params" ? "params_ema" : "";
  if (!groups.count(chosen) && !other.empty() && groups.count(other)) {
    note = str_cat("weights: '", path, "' has no '", chosen, "' tensors: loading its '", other, "' ones instead");
    chosen = other;
  }
  // BasicSR's default key, not the user's choice: a network srengine trained holds bare keys.
  if (param_key == "params_or_bare" && !groups.count(chosen) && groups.count("")) {
    note = str_cat("weights: '", path, "' has no 'params' tensors (BasicSR's default when ", option,
                   " is left out), only bare keys, as srengine writes them: loading those");
    chosen = "";
  }
  if (!groups.count(chosen)) {
    std::string found, values;  // the groups, and the values of `option` that load them
    for (const auto& [g, d] : groups) {
      found += (found.empty() ? "" : ", ") + (g.empty() ? "bare keys" : g + ".*");
      values += (values.empty() ? "" : " or ") + (g.empty() ? std::string("bare") : g);
    }
    fail("weights: '", path, "' has no tensors ", chosen.empty() ? "with bare keys" : "under '" + chosen + ".'",
         " (", option, " is '", param_key.empty() ? "bare" : param_key, "'); found: ",
         found.empty() ? std::string("no tensors") : found,
         found.empty() ? "" : str_cat("; set ", option, " to ", values, " (or auto) to load them"));
  }
  SelectedWeights out{chosen, std::move(groups[chosen]), note};
  map_old_esrgan_names(out.tensors, path);  // xinntao/ESRGAN's own files: model.N or RRDB_trunk names
  return out;
}

std::string load_basicsr_weights(Module& net, const std::string& path, const std::string& param_key, bool strict,
                                 std::string* note, const std::string& option) {
  check_param_key(param_key, option);  // before reading a file that may be large
  // safetensors or torch.save (.pth), told apart by content
  const SelectedWeights w = select_basicsr_weights(read_weights_file(path), param_key, path, option);
  std::map<std::string, Tensor> dict;
  for (const auto& [k, t] : w.tensors) dict[k] = t;  // unique: select_basicsr_weights refuses repeats
  const StateDictReport report =
      net.load_state_dict(dict, strict, "'" + path + "'" + (w.key.empty() ? "" : " [" + w.key + "]"));
  if (note) {
    *note = w.note;
    if (!report.clean()) {
      // Mis-shaped tensors are both: the net's keeps its initial values, the file's is unused.
      const size_t skipped = report.missing.size() + report.mismatched.size();
      const size_t unused = report.unexpected.size() + report.mismatched.size();
      std::string what = "strict_load false: from '" + path + "'";
      if (skipped > 0)
        what += ", " + std::to_string(skipped) + " of the net's " + std::to_string(net.state_dict().size()) +
                " tensors not loaded (they keep their initial values)";
      if (unused > 0) what += ", " + std::to_string(unused) + " of the file's tensors unused";
      *note += (note->empty() ? "" : "; ") + what + ":" + report.str();
    }
  }
  return w.key;
}

}  // namespace sr
