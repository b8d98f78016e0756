// Training configuration: JSON mirroring BasicSR's option sections, with command-line
// overrides (`--set a.b.c=value`), defaults, and validation against one schema that also
// generates docs/CONFIG.md. Every error names the key; a misspelt key gets the nearest
// valid one as a suggestion.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sr::train {

using json = nlohmann::json;

// Reads a JSON config file; a missing file or a syntax error is an error naming the file
// (and the parser's position).
json read_config_file(const std::string& path);

// Applies one "a.b.c=value" override. Path elements address object keys or, for arrays,
// indices ("train.stages.0.total_iter=100"). The value is parsed as JSON when it parses,
// otherwise taken as a string. Creating a new key is allowed (validation then decides).
void apply_override(json& config, const std::string& assignment);

// Checks every key and type against the schema and fills in defaults; returns the full
// config. Unknown keys, wrong types and impossible values throw sr::Error naming the key.
// `earlier_problems` (e.g. a BasicSR option file's translation, train/basicsr_options.h)
// head the same numbered list, so one run reports every problem together.
json validate_config(const json& config, const std::vector<std::string>& earlier_problems = {});

// What a validated config asks for that its stages end before reaching: a MultiStepLR
// milestone or restart after the stage's total_iter, a warm-up (warmup_iter) as long as the
// stage. One line each, naming the key, the values and total_iter; the run goes on (BasicSR
// accepts them). Schedules that cannot run are validate_config's errors.
std::vector<std::string> stage_schedule_notes(const json& validated);

// The keys and types that are present, against the same schema, without requiring the
// training sections or checking files (`srengine degrade` reads a subset of a config).
// Unknown keys and wrong types throw naming the key; nothing is filled in.
void check_config_keys(const json& config);

// read + overrides + validate.
json load_config(const std::string& path, const std::vector<std::string>& overrides);

// What a config is read for. train: everything. test (`srengine test`, BasicSR's test_*.yml,
// which has no train section): the datasets.train of a training config is not used.
// network (infer, export, convert, the C API and Python's Upscaler): only network_g is, so
// no dataset folder or training section has to exist where the net runs. degradation
// (`srengine degrade`): only the degradation keys (top level and datasets.train) are read,
// by read_config_or_options, and checked with check_config_keys; such a config is never
// validated as a whole (it names no folders), so prepare_config_for_use refuses it.
enum class ConfigUse { train, test, network, degradation };

// Makes a config read for `use` validate as one: the sections that use does not read are
// dropped or (the schema requires train.stages) stood in for by a placeholder stage.
void prepare_config_for_use(json& config, ConfigUse use);

// The whole key reference in Markdown (docs/CONFIG.md is this text).
std::string config_reference_markdown();

}  // namespace sr::train
