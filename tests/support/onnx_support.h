// What the onnx/ tests need outside srengine: ONNX Runtime (tools/ort, from npm via
// tools/setup.sh) and Debian's python3 with python3-onnx (the checker); each test skips with
// a clear message when they are missing.
#pragma once
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "support/data_support.h"

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

// The model's output for x (float32 NCHW on the CPU) in ONNX Runtime (tools/ort/run_model.js),
// whose reported output shape must be `expect`; its files (in.f32, out.f32, ort.log) go to dir.
inline std::vector<float> onnxruntime_forward(const std::string& model, const Tensor& x, const Shape& expect,
                                              const std::string& dir) {
  const Tensor xc = x.contiguous();
  {
    std::ofstream f(dir + "/in.f32", std::ios::binary);
    f.write(reinterpret_cast<const char*>(xc.data<float>()), xc.numel() * 4);
  }
  std::ostringstream cmd;
  cmd << "node " << source_dir() << "/tools/ort/run_model.js " << model << " " << dir << "/in.f32";
  for (int d = 0; d < 4; ++d) cmd << " " << xc.size(d);
  cmd << " " << dir << "/out.f32";
  const int rc = run(cmd.str(), dir + "/ort.log");
  const std::string log = read_text(dir + "/ort.log");
  INFO(log);
  REQUIRE(rc == 0);
  std::ostringstream want;
  want << "shape " << expect[0] << " " << expect[1] << " " << expect[2] << " " << expect[3];
  REQUIRE(log.find(want.str()) != std::string::npos);
  const std::string bytes = read_text(dir + "/out.f32");
  REQUIRE(int64_t(bytes.size()) == expect.numel() * 4);
  std::vector<float> out(expect.numel());
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

}  // namespace sr::test
