// PyTorch checkpoints as srengine tensors, and one entry point for every weights file.
// read_pth reads a torch.save checkpoint, zip (engine/pth_archive.h) or legacy pre-1.6
// (engine/pth_legacy.h), through a restricted unpickler (nothing executed) into float32 CPU
// tensors named by their flattened dict path ("params_ema.conv_first.weight").
// read_weights_file tells safetensors and the two torch.save formats apart by their first
// bytes, not their names.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/pth_archive.h"
#include "engine/safetensors.h"

namespace sr {

struct PthFile {
  std::string source;
  NamedTensors tensors;               // float32, in the pickle's order
  std::vector<std::string> skipped;   // entries that are not tensors: "iter (int)", ...
};

PthFile read_pth(const std::string& path, const PthReadOptions& options = {});
// The same from a buffer; `name` is used in messages.
PthFile parse_pth(const uint8_t* data, size_t size, const std::string& name, const PthReadOptions& options = {});

// Named float32 tensors of a safetensors file or a torch.save checkpoint of either format
// (every stored dtype converted, F64 included). `skipped`, when given, receives a
// checkpoint's non-tensor entries ("iter (int)", as PthFile::skipped; none for safetensors).
NamedTensors read_weights_file(const std::string& path, std::vector<std::string>* skipped = nullptr);

}  // namespace sr
