// The parts of the ONNX export interface that need no ONNX library (built in every srengine):
// parsing --shape and checking the options and the output path, before any weights are read.
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "deploy/onnx_export.h"
#include "engine/error.h"

namespace sr::deploy {

std::array<int64_t, 4> parse_onnx_shape(const std::string& text) {
  std::array<int64_t, 4> dims{};
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t end = i < 3 ? text.find('x', pos) : text.size();
    const std::string part = end == std::string::npos ? std::string() : text.substr(pos, end - pos);
    char* stop = nullptr;
    errno = 0;
    const long long v = part.empty() || part[0] == '-' || part[0] == '+' ? 0 : std::strtoll(part.c_str(), &stop, 10);
    SR_CHECK(!part.empty() && stop && *stop == '\0' && errno == 0 && v > 0 && v <= (1LL << 31),
             "--shape must be NxCxHxW with four positive integers (e.g. 1x3x64x64), got '", text, "'");
    dims[i] = v;
    pos = end + 1;
  }
  return dims;
}

int onnx_ir_version_for_opset(int opset) {
  SR_CHECK(opset >= kMinOpset && opset <= kMaxOpset, "onnx_ir_version_for_opset: opset ", opset);
  return opset <= 11 ? 6 : opset <= 14 ? 7 : 8;
}

void check_onnx_options(const OnnxExportOptions& o) {
  SR_CHECK(o.opset >= kMinOpset && o.opset <= kMaxOpset, "--opset must be between ", kMinOpset, " and ", kMaxOpset,
           " (", kMinOpset, ": Resize's coordinate modes; ", kMaxOpset, ": the newest this ONNX library knows), got ",
           o.opset);
  SR_CHECK(o.dtype == "fp32" || o.dtype == "fp16", "--dtype must be fp32 or fp16, got '", o.dtype, "'");
}

void check_onnx_output_path(const std::string& path) {
  namespace fs = std::filesystem;
  SR_CHECK(!path.empty(), "export: --output is empty");
  std::error_code ec;
  SR_CHECK(!fs::is_directory(path, ec), "cannot write '", path, "': it is a folder");
  const fs::file_status st = fs::status(path, ec);
  SR_CHECK(!fs::exists(st) || fs::is_regular_file(st), "cannot write '", path,
           "': it exists and is not a regular file (a device, FIFO or socket): give another path");
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  SR_CHECK(fs::is_directory(dir, ec), "cannot write '", path, "': folder '", dir, "' does not exist");
  // The model is written beside its name and renamed (engine/atomic_file.h): prove the folder
  // takes a new file now, before any weights are read or images calibrated.
  std::string probe = (fs::path(dir) / ".srengine_probe.XXXXXX").string();
  const int fd = ::mkstemp(probe.data());
  SR_CHECK(fd >= 0, "cannot write '", path, "': folder '", dir, "' does not take a new file: ",
           std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

}  // namespace sr::deploy
