// The ONNX export entry points of a build made without ONNX (CMake found no libonnx-dev /
// libprotobuf-dev, e.g. the bare GPU machine of tools/gpu_check.sh): `srengine export` is
// one clear error saying how to get it, never a missing symbol.
#include "deploy/onnx_export.h"
#include "engine/error.h"

namespace sr::deploy {

bool onnx_export_built() { return false; }

OnnxExportSummary export_onnx(const Module&, const OnnxExportOptions&, const std::string& path) {
  fail("cannot write '", path, "': this srengine was built without ONNX export (CMake found no "
       "libonnx-dev / libprotobuf-dev); install them (tools/setup.sh) and rebuild");
}

}  // namespace sr::deploy
