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
#include "engine/error.h"
#include "tools/cli/commands.h"
#include "train/config.h"

namespace sr::cli {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

int64_t parse_int(const std::string& flag, const std::string& v, int64_t min) {
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  SR_CHECK(!v.empty() && *end == 0 && x >= min, flag, " must be an integer >= ", min, ", got '", v, "'");
  return x;
}

}  // namespace

int run_degrade(const std::vector<std::string>& args) {
  std::string config_path, input, output, dump;
  uint64_t seed = 0;
  bool seed_given = false;
  int64_t count = 1;
  for (size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> const std::string& {
      SR_CHECK(i + 1 < args.size(), args[i], " needs a value (see srengine degrade --help)");
      return args[++i];
    };
    if (args[i] == "--config") config_path = value();
    else if (args[i] == "--input") input = value();
    else if (args[i] == "--output") output = value();
    else if (args[i] == "--dump-params") dump = value();
    else if (args[i] == "--seed") seed = (uint64_t)parse_int("--seed", value(), 0), seed_given = true;
    else if (args[i] == "--count") count = parse_int("--count", value(), 1);
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
          "  --seed S          default: the config's manual_seed (0)\n"
          "  --count K         LQ samples per GT image (default 1): NAME_k.png\n"
          "  --dump-params F   one JSON line per LQ image with every drawn parameter\n");
      return 0;
    } else fail("unknown argument '", args[i], "' (see srengine degrade --help)");
  }
  SR_CHECK(!config_path.empty() && !input.empty() && !output.empty(),
           "degrade needs --config, --input and --output (see srengine degrade --help)");
  const json cfg = train::read_config_file(config_path);
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
  std::error_code ec;
  fs::create_directories(output, ec);
  SR_CHECK(fs::is_directory(output), output, ": cannot create the output folder");
  std::ofstream params_out;
  if (!dump.empty()) {
    params_out.open(dump);
    SR_CHECK(params_out.good(), dump, ": cannot open for writing");
  }
  for (size_t i = 0; i < names.size(); ++i) {
    const data::Image img = data::read_image((fs::path(input) / names[i]).string());
    for (int64_t k = 0; k < count; ++k) {
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
  std::printf("degrade: %zu image(s) x %lld sample(s) -> %s\n", names.size(), (long long)count, output.c_str());
  return 0;
}

}  // namespace sr::cli
