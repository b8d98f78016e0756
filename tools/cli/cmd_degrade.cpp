// `srengine degrade`: the LQ images Real-ESRGAN training would make from a folder of GT
// images (crop, flips, kernels, USM, the two-order degradation; data/degrade/), so the
// degradation can be tuned before training. Same seed, same files, byte for byte.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "data/dataset.h"
#include "data/degrade/pipeline.h"
#include "data/degrade/random_stream.h"
#include "data/degrade/realesrgan_sample.h"
#include "data/degrade/usm_sharp.h"
#include "data/image_io.h"
#include "data/output_names.h"
#include "engine/error.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "train/config.h"
#include "train/yaml/options_file.h"

namespace sr::cli {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Everything that can be refused is refused before the first write: an output folder that
// holds files (among them, when it is the input folder, the inputs themselves), two inputs of
// one stem (a.png, a.jpg: both NAME_k.png), and a --dump-params file that is an input or
// one of the LQ images to be written.
std::vector<data::PlannedOutput> plan_degrade_outputs(const std::string& input, const std::vector<std::string>& names,
                                                      const std::string& output, const std::string& dump, int count) {
  data::check_different_folders(input, "degrade: --input", output, "--output");
  std::vector<std::string> inputs;
  for (const std::string& name : names) inputs.push_back((fs::path(input) / name).string());
  // NAME_k.png for every k collides exactly when NAME_0.png does ("_" and digits end it).
  std::vector<data::PlannedOutput> plan = data::plan_outputs(
      inputs, output, [](const std::string& in) { return fs::path(in).stem().string() + "_0.png"; }, "degrade");
  data::check_output_folder_is_new(output, "degrade: --output");
  if (!dump.empty()) {
    data::check_output_is_not_an_input(dump, inputs, "degrade: --dump-params");
    const bool in_output = data::is_same_folder(fs::absolute(dump).parent_path().string(), output);
    const std::string dump_name = fs::path(dump).filename().string();
    for (size_t i = 0; in_output && i < names.size(); ++i)
      for (int k = 0; k < count; ++k)
        SR_CHECK(fs::path(names[i]).stem().string() + "_" + std::to_string(k) + ".png" != dump_name,
                 "degrade: --dump-params '", dump, "' is the name of an LQ image of '", names[i],
                 "' in --output: one would overwrite the other; give another file name");
  }
  return plan;
}

}  // namespace

int run_degrade(const std::vector<std::string>& args) {
  std::string config_path, input, output, dump;
  uint64_t seed = 0;
  bool seed_given = false;
  int count = 1;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> const std::string& {
      SR_CHECK(i + 1 < args.size(), args[i], " needs a value (see srengine degrade --help)");
      return args[++i];
    };
    if (args[i] == "--config") config_path = value();
    else if (args[i] == "--input") input = value();
    else if (args[i] == "--output") output = value();
    else if (args[i] == "--dump-params") dump = value();
    else if (args[i] == "--seed") seed = parse_uint64_arg("degrade", "--seed", value()), seed_given = true;
    else if (args[i] == "--count") count = parse_int_arg("degrade", "--count", value(), 1);
    else if (args[i] == "--help" || args[i] == "-h") {
      std::printf(
          "usage: srengine degrade --config CFG --input DIR --output DIR [--seed S] [--count K]\n"
          "                        [--dump-params FILE.jsonl]\n\n"
          "Writes the LQ images Real-ESRGAN training would see: for each GT image, K samples of\n"
          "flip + 400x400 crop (reflect-padded when smaller), USM sharpening (gt_usm, default on),\n"
          "and the two-order degradation (blur, resize, noise, JPEG, twice; final sinc/resize/JPEG).\n"
          "Kernel keys come from datasets.train, pipeline keys (resize_prob, noise_range, ...) and\n"
          "scale from the top level, under BasicSR's names; absent keys take the official values.\n"
          "Every key is checked against the config schema (a training config works as it is).\n"
          "CFG is srengine's JSON or a BasicSR / Real-ESRGAN option file (.yml): of that only the\n"
          "degradation keys are read, so its dataset folders need not exist.\n"
          "  --output DIR      a new or empty folder (nothing is written otherwise, nor when two\n"
          "                    inputs share a name stem: a.png and a.jpg both give a_0.png)\n"
          "  --seed S          0 .. 18446744073709551615; default: the config's manual_seed (0)\n"
          "  --count K         LQ samples per GT image (default 1): NAME_k.png\n"
          "  --dump-params F   one JSON line per LQ image with every drawn parameter\n");
      return 0;
    } else fail("unknown argument '", args[i], "' (see srengine degrade --help)");
  }
  SR_CHECK(!config_path.empty() && !input.empty() && !output.empty(),
           "degrade needs --config, --input and --output (see srengine degrade --help)");
  // A JSON config as it is; a BasicSR / Real-ESRGAN option file translated, reading only
  // what the degradation needs (ConfigUse::degradation: no dataset folder has to exist).
  const train::ConfigFile file = train::read_config_or_options(config_path, train::ConfigUse::degradation);
  if (!file.problems.empty()) {
    std::string list;
    for (const auto& p : file.problems) list += "\n  " + p;
    fail(config_path, ": cannot be read as srengine's config:", list);
  }
  train::print_config_notes(file.notes);
  const json& cfg = file.config;
  SR_CHECK(cfg.is_object(), config_path, ": the config must be a JSON object");
  // Strict: every key present must be a schema key (a training config's or a degradation
  // key, train/config.cpp) with the right type, so a misspelt key cannot silently keep its
  // default. Values are read from `cfg` itself: the schema's defaults are a paired
  // dataset's (use_rot true), not RealESRGANDataset's.
  try {
    train::check_config_keys(cfg);
  } catch (const Error& e) {
    fail(config_path, ": ", e.what());
  }
  const json dataset = cfg.contains("datasets") && cfg["datasets"].contains("train") ? cfg["datasets"]["train"]
                                                                                      : json::object();
  const data::degrade::DegradationOptions opt =
      data::degrade::parse_degradation_options(dataset, "datasets.train", cfg);
  data::degrade::GtSampleOptions gopt;
  gopt.use_hflip = dataset.value("use_hflip", true);
  gopt.use_rot = dataset.value("use_rot", false);
  gopt.crop_pad_size = dataset.value("crop_pad_size", 400);
  const bool gt_usm = cfg.value("gt_usm", true);
  if (!seed_given) seed = cfg.value("manual_seed", (uint64_t)0);

  const std::vector<std::string> names = data::list_image_files(input);
  const std::vector<data::PlannedOutput> plan = plan_degrade_outputs(input, names, output, dump, count);
  std::error_code ec;
  fs::create_directories(output, ec);
  SR_CHECK(fs::is_directory(output), output, ": cannot create the output folder");
  std::ofstream params_out;
  if (!dump.empty()) {
    params_out.open(dump);
    SR_CHECK(params_out.good(), dump, ": cannot open for writing");
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const data::Image img = data::read_image(plan[i].input);
    for (int k = 0; k < count; ++k) {
      // Sample stream (seed, epoch = k, position = i); batch key from the same pair.
      data::degrade::GtSample s = data::degrade::make_gt_sample(img, gopt, opt, seed, (uint64_t)k, i);
      if (gt_usm) s.gt = data::degrade::usm_sharp(s.gt);
      std::vector<json> params;
      const uint64_t key = data::degrade::stream_id(data::degrade::StreamTag::sample, (uint64_t)k, i);
      const data::degrade::Planes lq = data::degrade::degrade_batch({s.gt}, {s.kernels}, opt, seed, key,
                                                                    dump.empty() ? nullptr : &params)[0];
      const std::string out_name = fs::path(names[i]).stem().string() + "_" + std::to_string(k) + ".png";
      data::write_image((fs::path(output) / out_name).string(), data::degrade::image_from_planes(lq));
      if (!dump.empty()) {
        json line = params[0];
        line["input"] = names[i];
        line["output"] = out_name;
        line["sample"] = k;
        line["crop"] = {{"top", s.top}, {"left", s.left}, {"hflip", s.hflip}};
        params_out << line.dump() << "\n";
      }
    }
  }
  std::printf("degrade: %zu image(s) x %d sample(s) -> %s\n", names.size(), count, output.c_str());
  return 0;
}

}  // namespace sr::cli
