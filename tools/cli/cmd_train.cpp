// `srengine train CFG.json|OPTIONS.yml [--stage NAME] [--resume auto|STATE] [--set key=value ...]`
// (a BasicSR / Real-ESRGAN option file is translated first: train/yaml/options_file.h)
#include <cstdio>

#include "engine/error.h"
#include "tools/cli/commands.h"
#include "train/config.h"
#include "train/trainer.h"
#include "train/yaml/options_file.h"

namespace sr::cli {

int run_train(const std::vector<std::string>& args) {
  std::string path;
  std::vector<std::string> overrides;
  train::TrainOptions opt;
  bool debug = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* flag) -> std::string {
      SR_CHECK(i + 1 < args.size(), flag, " needs a value");
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: srengine train CFG.json|OPTIONS.yml [options]\n"
          "  A BasicSR / Real-ESRGAN option file (.yml) is translated to srengine's config first\n"
          "  (docs/BASICSR_YAML.md); --set then addresses srengine's keys.\n"
          "  --stage NAME        run only this stage (it starts from the previous stage's final weights)\n"
          "  --resume auto|FILE  continue from the newest valid training state, or from FILE (an option\n"
          "                      file's path.resume_state is FILE when --resume is not given)\n"
          "  --auto_resume       BasicSR's spelling of --resume auto\n"
          "  --debug             BasicSR's debug mode: name prefixed debug_, a log line every iteration,\n"
          "                      a checkpoint and a validation every 8 (an option file whose name holds\n"
          "                      'debug' turns it on too)\n"
          "  --set key.path=v    override a config key (repeatable), e.g. --set train.stages.0.total_iter=100\n"
          "Outputs go to <path.experiments_root>/<name>/: models/, training_states/, train.log,\n"
          "metrics.jsonl, report.html. A fresh run (no state resumed) in a folder an earlier run filled\n"
          "moves that folder to <name>_archived_<time> first (as BasicSR does).\n"
          "Distributed: mpirun -np N srengine train CFG.json\n"
          "Ctrl-C (SIGINT) or SIGTERM: a checkpoint at the end of the iteration, then exit 130 / 143\n"
          "(continue with --resume auto); a second stop signal quits at once. A closed terminal\n"
          "(SIGHUP) or output pipe (SIGPIPE) stops it the same way (129 / 141), unless ignored (nohup).\n");
      return 0;
    } else if (a == "--stage") {
      opt.only_stage = value("--stage");
    } else if (a == "--resume") {
      opt.resume = value("--resume");
    } else if (a == "--auto_resume") {
      opt.resume = "auto";
    } else if (a == "--debug") {
      debug = true;
    } else if (a == "-opt" || a == "--opt") {  // BasicSR's spelling of the option file
      SR_CHECK(path.empty(), a, ": a config is given already ('", path, "')");
      path = value(a.c_str());
    } else if (a == "--set") {
      overrides.push_back(value("--set"));
    } else if ((a == "--launcher" && i + 1 < args.size() && args[i + 1] == "none") || a == "--launcher=none") {
      i += a == "--launcher";  // BasicSR's non-distributed launch: what srengine train does without mpirun
    } else if (a == "--launcher" || a.rfind("--launcher=", 0) == 0 || a == "--local_rank" ||
               a.rfind("--local_rank=", 0) == 0 || a.rfind("--local-rank", 0) == 0) {
      fail("'", a, "' is BasicSR's PyTorch launcher option: srengine starts one process per GPU with mpirun "
           "(mpirun -np N srengine train CFG; docs/DISTRIBUTED.md)");
    } else if (a == "--force_yml") {
      fail("'--force_yml' is BasicSR's option override: srengine's is --set key.path=value (srengine's keys; "
           "`srengine config OPTIONS.yml` shows them)");
    } else if (path.empty() && !a.empty() && a[0] != '-') {
      path = a;
    } else {
      fail("unknown argument '", a, "' (see srengine train --help)");
    }
  }
  SR_CHECK(!path.empty(), "missing config file (see srengine train --help)");
  train::LoadedConfig loaded = train::load_config_or_options(path, overrides, train::ConfigUse::train, debug);
  if (!loaded.resume_state.empty()) {
    if (opt.resume.empty()) {
      opt.resume = loaded.resume_state;
      opt.resume_from = "options '" + path + "': path.resume_state";
    } else {
      loaded.notes.push_back("options '" + path + "': path.resume_state ignored: --resume " + opt.resume +
                             " was given");
    }
  }
  train::print_config_notes(loaded.notes);
  return train::run_training(loaded.config, opt);
}

}  // namespace sr::cli
