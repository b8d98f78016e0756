// BasicSR option file (as JSON) -> srengine config JSON. Each section has its own function;
// a key is either mapped, ignored with one note (no effect here), a problem (would change
// results, cannot be honoured), or passed through to the same place, where the validator
// judges it (so a misspelt key there gets its "did you mean" from the schema).
#include "train/basicsr_options.h"

#include <algorithm>
#include <map>
#include <optional>

#include "engine/error.h"
#include "engine/suggest.h"

namespace sr::train {

namespace {

using nlohmann::json;
using Why = std::map<std::string, std::string>;  // ignored key -> why it has no effect here

bool among(const std::string& k, const std::vector<std::string>& keys) {
  return std::find(keys.begin(), keys.end(), k) != keys.end();
}

struct Translator {
  std::string file;
  BasicsrTranslation out;

  void note(const std::string& key, const std::string& why) {
    out.notes.push_back(str_cat("options '", file, "': '", key, "' ignored: ", why));
  }
  void problem(const std::string& key, const json& value, const std::string& why) {
    out.problems.push_back(str_cat("options '", file, "': '", key, "' (", value.dump(), ") ", why));
  }

  // Copies the section's keys, noting those in `ignored`.
  json section(const std::string& name, const json& s, const Why& ignored) {
    if (!s.is_object()) return s;  // the validator names the wrong type
    json o = json::object();
    for (auto it = s.begin(); it != s.end(); ++it) {
      const auto why = ignored.find(it.key());
      if (why != ignored.end()) note(name + "." + it.key(), why->second);
      else o[it.key()] = it.value();
    }
    return o;
  }

  void num_gpu(const json& v) {
    if (v == 0) {
      out.config["device"] = "cpu";  // BasicSR's CPU mode
      out.notes.push_back(str_cat("options '", file, "': 'num_gpu' is 0: device cpu"));
    } else if (v == "auto" || (v.is_number_integer() && v.get<int64_t>() > 0)) {
      note("num_gpu", "srengine runs one process per GPU: start N with mpirun -np N (docs/DISTRIBUTED.md)");
    } else {
      problem("num_gpu", v, "must be 'auto' or a number of GPUs");
    }
  }

  // One dataset, or nothing when its type cannot be honoured (then the problem says why,
  // and leaving it out spares the validator's follow-on complaints about its keys).
  std::optional<json> dataset(const std::string& key, const json& d) {
    static const Why ignored = {
        {"phase", "set from the section name"},
        {"prefetch_mode", "srengine's loader always prepares batches ahead on its worker threads"},
        {"num_prefetch_queue", "srengine's loader sizes its own queue"},
        {"pin_memory", "srengine's loader manages its host buffers itself"},
        {"persistent_workers", "srengine's loader threads live for the whole run"},
        {"use_shuffle", "BasicSR ignores it too: training sets are always shuffled"},
        {"blur_kernel_size", "Real-ESRGAN reads it but does not use it either: kernel sizes are drawn from 7..21"},
        {"blur_kernel_size2", "Real-ESRGAN reads it but does not use it either: kernel sizes are drawn from 7..21"},
    };
    const std::string base = "datasets." + key;
    if (!d.is_object()) return d;
    const std::string type = d.value("type", "");
    for (const char* k : {"mean", "std"})
      if (d.contains(k) && !d[k].is_null())
        problem(base + "." + k, d[k], "changes what the network sees and is not supported here");
    json o = section(base, d, ignored);
    for (const char* k : {"mean", "std"}) o.erase(k);
    // BasicSR's datasets convert to Y when `color` is 'y' (bgr2ycbcr, y_only) and leave the
    // images in colour for any other value, so only 'y' says something; srengine's key of the
    // same name does the same (docs/DATA.md). Another value would be a silent no-op there.
    o.erase("color");
    if (d.contains("color") && !d["color"].is_null()) {
      if (d["color"] == "y") o["color"] = "y";
      else problem(base + ".color", d["color"], "is not a colour space BasicSR converts to: only 'y' (the BT.601 Y "
                   "channel) changes the images; leave the key out for colour images");
    }
    // With lmdb BasicSR takes the keys from <dataroot>/meta_info.txt and pairs GT and LQ by
    // key, so the option files' meta_info_file and filename_tmpl (left in place when a user
    // switches the io_backend) do nothing there; a JSON config that sets them is an error.
    const json* backend = o.contains("io_backend") && o["io_backend"].is_object() ? &o["io_backend"] : nullptr;
    if (backend && backend->value("type", json()) == "lmdb") {
      for (const char* k : {"meta_info_file", "meta_info"})
        if (o.contains(k)) {
          note(base + "." + k, "io_backend lmdb reads the keys from each dataroot's meta_info.txt");
          o.erase(k);
        }
      if (o.contains("filename_tmpl") && o["filename_tmpl"] != "{}") {
        note(base + ".filename_tmpl", "io_backend lmdb pairs GT and LQ records by key");
        o.erase("filename_tmpl");
      }
    }
    // Real-ESRGAN's RealESRGANDataset (BasicSR's and HAT's copies alike) reads its list from
    // meta_info and never from meta_info_file; HAT's copy scans dataroot_gt without one. HAT's
    // Real-HAT option files set meta_info_file (to a file its repository does not ship), so
    // honouring it would train on another list than HAT does, or fail on the missing file.
    if (type == "RealESRGANDataset" && o.contains("meta_info_file")) {
      note(base + ".meta_info_file", "RealESRGANDataset reads meta_info only (without it, every image of dataroot_gt)");
      o.erase("meta_info_file");
    }
    // BasicSR's SingleImageDataset is LQ images only, upscaled without metrics (srengine's
    // GT-only set with bicubic LQ is GTOnlyBicubicDataset).
    if (type == "SingleImageDataset") o["type"] = "LQOnlyDataset";
    return o;
  }

  void datasets(const json& ds) {
    if (!ds.is_object()) {
      out.config["datasets"] = ds;
      return;
    }
    json o = json::object();
    for (auto it = ds.begin(); it != ds.end(); ++it)
      if (auto d = dataset(it.key(), it.value())) o[it.key()] = *d;
    out.config["datasets"] = o;
  }

  void path(const json& p) {
    static const Why ignored = {
        {"root", "set by BasicSR at run time"},
        {"experiments_root_parent", "set by BasicSR at run time"},
        {"models", "srengine writes <experiments_root>/<name>/models"},
        {"training_states", "srengine writes <experiments_root>/<name>/training_states"},
        {"log", "srengine writes <experiments_root>/<name>/train.log"},
        {"visualization", "srengine writes <experiments_root>/<name>/visualization"},
        {"results_root", "`srengine test` writes to --output (default results/<name>)"},
    };
    // BasicSR resumes from path.resume_state; srengine does the same from its own .state files
    // (`srengine train` refuses another kind, a BasicSR pickle among them, naming the key).
    if (p.is_object() && p.contains("resume_state")) {
      if (p["resume_state"].is_string()) out.resume_state = p["resume_state"].get<std::string>();
      else if (!p["resume_state"].is_null()) problem("path.resume_state", p["resume_state"], "must be a file path");
    }
    json o = section("path", p, ignored);
    if (o.is_object()) o.erase("resume_state");
    // BasicSR's load_network loads the whole file when param_key is None ('~'): bare keys.
    for (const char* k : {"param_key_g", "param_key_d"})
      if (o.is_object() && o.contains(k) && o[k].is_null()) o[k] = "bare";
    out.config["path"] = o;
  }

  // BasicSR measures nothing when val.metrics is null or left out (with_metrics is
  // `val.get('metrics') is not None`), where srengine's would mean its default PSNR and SSIM.
  void val(const json& v) {
    json o = section("val", v, {{"pbar", "srengine shows its own progress"}});
    if (o.is_object() && (!o.contains("metrics") || o["metrics"].is_null())) o["metrics"] = json::object();
    out.config["val"] = o;
  }

  // BasicSR's flat train section -> train.ema_decay + one stage.
  void train(const json& t, const std::string& model_type, const json& top) {
    static const std::vector<std::string> stage_keys = {
        "optim_g", "optim_d", "scheduler", "total_iter", "warmup_iter", "pixel_opt", "perceptual_opt",
        "gan_opt", "net_d_iters", "net_d_init_iters"};
    if (!t.is_object()) {
      out.config["train"] = t;
      return;
    }
    std::string type = stage_type_of_model(model_type);
    if (model_type.empty()) {
      problem("model_type", nullptr, "is missing: SRModel, SRGANModel or ESRGANModel picks the training stage");
    } else if (type.empty()) {
      problem("model_type", model_type,
              str_cat("is not a model srengine trains: SRModel, SwinIRModel or HATModel (stage sr), SRGANModel (srgan), "
                      "ESRGANModel (esrgan), RealESRNetModel or RealHATMSEModel (realesrnet), RealESRGANModel or "
                      "RealHATGANModel (realesrgan)",
                      did_you_mean(model_type, {"SRModel", "SwinIRModel", "HATModel", "SRGANModel", "ESRGANModel",
                                                "RealESRNetModel", "RealESRGANModel", "RealHATMSEModel",
                                                "RealHATGANModel"})));
    }
    // With the model type already reported, a stand-in type keeps the validator from
    // reporting the same mistake a second time as a missing key.
    if (type.empty()) type = "sr";
    json stage = {{"name", type}, {"type", type}};
    json train = json::object();
    std::vector<std::string> valid = stage_keys;
    valid.push_back("ema_decay");
    for (auto it = t.begin(); it != t.end(); ++it) {
      const std::string& k = it.key();
      if (k == "ema_decay") train[k] = it.value();
      else if (among(k, stage_keys)) stage[k] = it.value();
      else problem("train." + k, it.value(), "is not supported here" + did_you_mean(k, valid));
    }
    const json& percep = stage.contains("perceptual_opt") ? stage["perceptual_opt"] : json();
    if (percep.is_object() && !percep.contains("vgg_weights"))
      out.notes.push_back(str_cat("options '", file, "': 'train.perceptual_opt' needs VGG19 weights as a file (BasicSR "
                                  "downloads them): --set train.stages.0.perceptual_opt.vgg_weights=FILE; without it "
                                  "the perceptual loss is skipped with a warning"));
    // RealESRGANModel's loss targets are top-level keys in its option files.
    for (const char* k : {"l1_gt_usm", "percep_gt_usm", "gan_gt_usm"})
      if (top.contains(k) && type == "realesrgan") stage[k] = top[k];
    basicsr_defaults(train, stage);
    train["stages"] = json::array({stage});
    out.config["train"] = train;
  }

  // BasicSR's (and torch's) defaults where srengine's differ, for the keys a file leaves out,
  // so that it trains as it did there: no EMA unless asked (train_opt.get('ema_decay', 0)),
  // torch.optim's lr, betas and AdamW weight decay, MultiStepRestartLR's gamma 0.1,
  // CosineAnnealingRestartLR's eta_min 0, GANLoss's loss_weight 1; GANLoss has no default
  // gan_type.
  void basicsr_defaults(json& train, json& stage) {
    auto type_of = [](const json& section, const char* fallback) {
      return section.contains("type") && section["type"].is_string() ? section["type"].get<std::string>()
                                                                     : std::string(fallback);
    };
    if (!train.contains("ema_decay")) train["ema_decay"] = 0.0;
    for (const char* name : {"optim_g", "optim_d"}) {
      if (!stage.contains(name) || !stage[name].is_object()) continue;
      json& o = stage[name];
      if (!o.contains("lr")) o["lr"] = 1e-3;
      if (!o.contains("betas")) o["betas"] = {0.9, 0.999};
      if (!o.contains("weight_decay")) o["weight_decay"] = type_of(o, "Adam") == "AdamW" ? 0.01 : 0.0;
    }
    if (stage.contains("scheduler") && stage["scheduler"].is_object()) {
      json& s = stage["scheduler"];
      const std::string type = type_of(s, "MultiStepLR");
      if (type == "MultiStepLR" && !s.contains("gamma")) s["gamma"] = 0.1;
      if (type == "CosineAnnealingRestartLR" && !s.contains("eta_min")) s["eta_min"] = 0.0;
    }
    if (stage.contains("gan_opt") && stage["gan_opt"].is_object()) {
      json& g = stage["gan_opt"];
      if (!g.contains("loss_weight")) g["loss_weight"] = 1.0;
      if (!g.contains("gan_type"))
        problem("train.gan_opt.gan_type", nullptr, "is missing: BasicSR's GANLoss has no default (vanilla, lsgan or "
                                                   "hinge; ESRGAN uses vanilla)");
    }
  }

  // Real-ESRGAN's model keys at the top level of its option files: queue_size stays there,
  // the *_gt_usm switches go to the stage (train()), gt_size is the training set's patch.
  bool realesrgan_model_key(const std::string& k, const json& v, const std::string& model_type) {
    if (!among(k, {"queue_size", "gt_size", "l1_gt_usm", "percep_gt_usm", "gan_gt_usm", "high_order_degradation"}))
      return false;
    const std::string stage = stage_type_of_model(model_type);
    if (stage != "realesrnet" && stage != "realesrgan") {
      problem(k, v, "belongs to RealESRNetModel / RealESRGANModel and is not supported here");
    } else if (k == "queue_size") {
      out.config[k] = v;
    } else if (among(k, {"l1_gt_usm", "percep_gt_usm", "gan_gt_usm"}) && stage == "realesrnet") {
      note(k, model_type + " does not read it (its target follows gt_usm)");
    } else if (k == "high_order_degradation") {
      // On the fly for RealESRGANDataset, none for RealESRGANPairedDataset: the dataset decides.
      note(k, "the training set's type decides (RealESRGANDataset degrades, RealESRGANPairedDataset does not)");
    } else if (k == "gt_size") {
      gt_size = v;
    }
    return true;
  }

  json gt_size;  // the model's patch size (top level), checked against datasets.train.gt_size

  void top(const json& o) {
    static const Why ignored = {
        {"dist_params", "srengine's processes meet through MPI or NCCL (dist.backend; docs/DISTRIBUTED.md)"},
        {"is_train", "set by the command (srengine train / test)"},
        {"dist", "set by the launcher (mpirun)"},
        {"rank", "set by the launcher (mpirun)"},
        {"world_size", "set by the launcher (mpirun)"},
        {"auto_resume", "use `srengine train --resume auto`"},
        {"find_unused_parameters", "srengine's gradient all-reduce covers every parameter"},
    };
    const std::string model_type = o.value("model_type", "");
    for (auto it = o.begin(); it != o.end(); ++it) {
      const std::string& k = it.key();
      const json& v = it.value();
      const auto why = ignored.find(k);
      if (why != ignored.end()) note(k, why->second);
      else if (k == "model_type") continue;  // read with train
      else if (k == "num_gpu") num_gpu(v);
      else if (k == "datasets") datasets(v);
      else if (k == "path") path(v);
      else if (k == "train") train(v, model_type, o);
      else if (k == "val") val(v);
      else if (k == "logger") out.config[k] = section("logger", v, {{"wandb", "srengine writes metrics.jsonl and report.html"}});
      else if (realesrgan_model_key(k, v, model_type)) continue;
      else out.config[k] = v;  // name, scale, manual_seed, network_g/d, degradation keys; the rest the validator judges
    }
    if (o.contains("name") && o["name"].is_string() && o["name"].get<std::string>().find("debug") != std::string::npos)
      out.notes.push_back(str_cat("options '", file, "': the name holds 'debug': ", apply_debug_mode(out.config)));
    // BasicSR's load_network reads 'params' unless param_key_g / _d says otherwise (srengine's
    // own default, auto, prefers params_ema). Left out, that is BasicSR's default rather than a
    // choice, and the networks srengine trains hold bare keys: params_or_bare loads those too.
    if (!out.config.contains("path")) out.config["path"] = json::object();
    json& p = out.config["path"];
    for (const char* k : {"param_key_g", "param_key_d"})
      if (p.is_object() && !p.contains(k)) p[k] = "params_or_bare";
    if (!gt_size.is_null() && out.config.contains("datasets") && out.config["datasets"].is_object() &&
        out.config["datasets"].contains("train") && out.config["datasets"]["train"].is_object()) {
      json& d = out.config["datasets"]["train"];
      if (!d.contains("gt_size")) d["gt_size"] = gt_size;
      else if (d["gt_size"] != gt_size)
        problem("gt_size", gt_size, str_cat("differs from datasets.train.gt_size (", d["gt_size"].dump(),
                                            "): srengine has one patch size"));
    }
  }
};

}  // namespace

std::string apply_debug_mode(json& config) {
  if (!config.contains("logger") || !config["logger"].is_object()) config["logger"] = json::object();
  config["logger"]["print_freq"] = 1;
  config["logger"]["save_checkpoint_freq"] = 8;
  std::string what = "logger.print_freq 1, logger.save_checkpoint_freq 8";
  if (config["logger"].contains("use_tb_logger") && config["logger"]["use_tb_logger"] == true) {
    config["logger"]["use_tb_logger"] = false;  // BasicSR writes no TensorBoard files for debug runs
    what += ", no TensorBoard files";
  }
  if (config.contains("val") && config["val"].is_object()) {
    config["val"]["val_freq"] = 8;
    what += ", val.val_freq 8";
  }
  return "BasicSR's debug mode (" + what + ")";
}

std::string stage_type_of_model(const std::string& model_type) {
  // SwinIRModel and HATModel are SRModel with their validation input padded to the window, which
  // the nets do themselves.
  if (model_type == "SRModel" || model_type == "SwinIRModel" || model_type == "HATModel") return "sr";
  if (model_type == "SRGANModel") return "srgan";
  if (model_type == "ESRGANModel") return "esrgan";
  // HAT's Real-HAT models are Real-ESRGAN's (the same synthesis, pool, keys and losses) with the
  // test-time padding to the window, which HAT does itself.
  if (model_type == "RealESRNetModel" || model_type == "RealHATMSEModel") return "realesrnet";
  if (model_type == "RealESRGANModel" || model_type == "RealHATGANModel") return "realesrgan";
  return "";
}

BasicsrTranslation translate_basicsr_options(const json& options, const std::string& file) {
  Translator t;
  t.file = file;
  t.out.config = json::object();
  t.top(options);
  return t.out;
}

}  // namespace sr::train
