// read_yaml_file of a build made without yaml-cpp (CMake found no libyaml-cpp-dev, e.g. the
// bare GPU machine of tools/gpu_check.sh): JSON configs work as always; a .yml is one error.
#include "train/yaml/read_yaml.h"

#include "engine/error.h"

namespace sr::train {

bool yaml_reader_built() { return false; }

nlohmann::json read_yaml_file(const std::string& path) {
  fail("options '", path, "': this srengine was built without YAML support (CMake found no yaml-cpp); install ",
       "libyaml-cpp-dev (tools/setup.sh) and rebuild, or convert the file to srengine's JSON on a machine that has it ",
       "(srengine config --from-yaml IN.yml --out OUT.json)");
}

}  // namespace sr::train
