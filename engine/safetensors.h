// safetensors files: an 8-byte little-endian header length N, N bytes of JSON
// ({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}),
// then the raw little-endian tensor data, offsets relative to the data section.
// Checkpoints and BasicSR-compatible weights use it. Reading checks every header field
// against the file's size before touching data, so a malformed or hostile file is an
// sr::Error naming the file, never a crash or an out-of-bounds read.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/half_float.h"  // half_to_float, bfloat16_to_float
#include "engine/tensor.h"

namespace sr {

// Named tensors in a fixed order (a module's state dict, a file's contents).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct SafetensorsFile {
  std::string source;                          // the file name, for messages
  NamedTensors tensors;                        // in the order of their data in the file
  std::map<std::string, std::string> metadata;  // the "__metadata__" object

  bool contains(const std::string& name) const;
  // The tensor called `name`; an error naming the file and the key when absent.
  const Tensor& get(const std::string& name) const;
  // Name -> tensor (for load_state_dict and lookups).
  std::map<std::string, Tensor> as_map() const;
};

struct SafetensorsReadOptions {
  // Convert every tensor to this dtype. Unset: F64 stays float64, every other stored
  // dtype (F32, F16, BF16, I64, I32, I16, I8, U8, BOOL) becomes float32.
  std::optional<DType> dtype;
  // Refuse headers longer than this (the reference implementation's limit).
  uint64_t max_header_bytes = 100u << 20;
};

// Parses a whole file held in memory; `name` is used in error messages.
SafetensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& name,
                                  const SafetensorsReadOptions& options = {});
// Reads `path` (an error names it when missing or unreadable).
SafetensorsFile read_safetensors(const std::string& path, const SafetensorsReadOptions& options = {});

// Writes float32/float64 tensors (from any device) and string metadata. The write is
// atomic (temporary file, fsync, rename: see engine/atomic_file.h). Names must be unique
// and non-empty; "__metadata__" is reserved. Tensors are stored in the given order.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});
// The same bytes in memory (tests, small payloads).
std::vector<uint8_t> serialize_safetensors(const NamedTensors& tensors,
                                           const std::map<std::string, std::string>& metadata = {});

}  // namespace sr
