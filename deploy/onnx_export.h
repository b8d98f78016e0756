// ONNX export of a generator (RRDBNet, SRVGGNetCompact): the graph is built op by op from the
// network's modules (deploy/onnx_modules.cpp) with ONNX's own protobuf classes (Debian's
// libonnx-dev), checked by ONNX's checker and written atomically. Input `input`, float32 NCHW
// in [0, 1]: RGB, or BT.601 Y for a one-channel network, which the model's doc_string and
// metadata_props (input_color, ...) say; output `output`, float32. docs/EXPORT.md lists every
// op and the fp16 scheme.
// This header does not include ONNX: a build without it (CMake found no libonnx-dev /
// libprotobuf-dev) links deploy/onnx_unavailable.cpp, whose functions say so.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "layers/module.h"

namespace sr::quant {
struct QuantTable;
}

namespace sr::deploy {

// ONNX 1.12 (Debian 12's libonnx) knows opsets up to 17; Resize's coordinate modes and
// DepthToSpace's CRD mode need 11.
constexpr int kMinOpset = 11;
constexpr int kMaxOpset = 17;

// The IR version that ONNX released with an opset (ONNX's versioning table: opset 11 came
// with IR 6, 12-14 with IR 7, 15-18 with IR 8), written into the model so that a runtime old
// enough to want --opset 11 also accepts the file.
int onnx_ir_version_for_opset(int opset);

struct OnnxExportOptions {
  int opset = kMaxOpset;
  // "fp32", or "fp16": weights and every op in float16, with a Cast after `input` and before
  // `output` so the model's interface stays float32 (docs/EXPORT.md, "fp16").
  std::string dtype = "fp32";
  // A fixed N, C, H, W; unset: batch, height and width are symbolic (dynamic).
  std::optional<std::array<int64_t, 4>> shape;
  // Set: an int8 QDQ graph (`srengine quantize`): each Conv's input goes through
  // QuantizeLinear/DequantizeLinear with these calibrated scales, its weights are stored int8
  // (per output channel, axis 0, or per tensor) and its bias int32, each with a
  // DequantizeLinear (docs/EXPORT.md, "int8"). Needs dtype fp32 and opset 13 or later.
  const quant::QuantTable* int8 = nullptr;
};

// What an export wrote, for the CLI's summary line.
struct OnnxExportSummary {
  std::string network;      // "RRDBNet x4"
  int64_t nodes = 0;
  int64_t initializers = 0;
  int64_t bytes = 0;        // of the file
  std::string input_shape;  // "[batch, 3, height, width]"
  std::string output_shape;
  std::string input_color;  // "rgb", "y" or "unspecified", as the model's metadata_props say
};

// False when this srengine was built without ONNX (no libonnx-dev / libprotobuf-dev).
bool onnx_export_built();

// "NxCxHxW" with four positive integers; anything else is an error naming the text.
std::array<int64_t, 4> parse_onnx_shape(const std::string& text);

// The opset range and the dtype name (the network-dependent checks come with the export).
void check_onnx_options(const OnnxExportOptions& options);

// The output's folder exists and the path is not a folder (the write itself may still fail,
// e.g. on permissions: that error names the path too).
void check_onnx_output_path(const std::string& path);

// Checks `options` (opset range, dtype name), builds the graph of `net`, runs ONNX's checker
// on it and writes it to `path` (temp file + rename). Errors name the unmappable op (its
// type and dotted path), a bad option, or the path that cannot be written.
OnnxExportSummary export_onnx(const Module& net, const OnnxExportOptions& options, const std::string& path);

}  // namespace sr::deploy
