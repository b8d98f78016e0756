// What the onnx/ tests need outside srengine: ONNX Runtime (tools/ort, from npm via
// tools/setup.sh) and Debian's python3 with python3-onnx (the checker); each test skips with
// a clear message when they are missing.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

namespace sr::test {

inline std::string source_dir() { return SRENGINE_SOURCE_DIR; }

inline bool ort_available() {
  static const bool ok =
      std::filesystem::exists(source_dir() + "/tools/ort/node_modules/onnxruntime-node/package.json") &&
      std::system("node --version > /dev/null 2>&1") == 0;
  return ok;
}

// Debian's python3, which python3-onnx installs into (not a python3 earlier on PATH, e.g. pyenv's).
inline std::string python3() { return std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; }

inline bool python_onnx_available() {
  static const bool ok = std::system((python3() + " -c 'import onnx' > /dev/null 2>&1").c_str()) == 0;
  return ok;
}

// Runs `cmd` with its output in `log`; the exit status.
inline int run(const std::string& cmd, const std::string& log) {
  return std::system((cmd + " > " + log + " 2>&1").c_str());
}

}  // namespace sr::test
