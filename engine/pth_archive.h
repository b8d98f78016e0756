// torch.save checkpoints (the zip format, PyTorch >= 1.6): <prefix>/data.pkl holds the pickled
// object, <prefix>/data/<key> the raw little-endian bytes of each storage. This reads one without
// Python and without Tensor (so the fuzz target can build it alone): the zip central directory,
// data.pkl through the restricted unpickler (engine/torch_unpickler.h), then each storage entry
// once, its size checked against the storage's declared element count before it is read.
// Tensors come out as float32 in buffers the caller provides. engine/pth_reader.h wraps it;
// engine/pth_legacy.h reads the older (pre-1.6) format, and read_torch_checkpoint either.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/torch_unpickler.h"
#include "engine/zip_reader.h"

namespace sr {

struct PthReadOptions {
  bool verify_crc = true;              // check each entry's CRC-32 (the fuzz target turns it off)
  uint64_t max_pickle_bytes = 64u << 20;  // data.pkl, or a legacy file's five pickles together:
                                          // a large state dict's are a few MB
};

// Called once per tensor with its name and sizes; returns room for numel floats.
using PthAllocate = std::function<float*(const std::string& name, const std::vector<int64_t>& sizes)>;

// Reads every tensor of the flattened state dict (nested dicts join keys with '.') and returns
// the entries that are not tensors ("iter (int)", ...). Errors name source.name().
std::vector<std::string> read_pth_archive(const ByteSource& source, const PthAllocate& allocate,
                                          const PthReadOptions& options = {});

// What the first bytes of a weights file say it is.
enum class WeightsFileKind { safetensors, torch_zip, torch_legacy, unknown };
WeightsFileKind sniff_weights_file(const uint8_t* head, size_t n);  // n: up to the first 16 bytes

// read_pth_archive for a zip, read_pth_legacy (engine/pth_legacy.h) for a pickle stream, told
// apart by the first bytes; anything else is read as a zip, whose errors say what is wrong.
std::vector<std::string> read_torch_checkpoint(const ByteSource& source, const PthAllocate& allocate,
                                               const PthReadOptions& options = {});

// Copies tensor t, a view checked against its storage by the unpickler, out of the storage's
// raw little-endian bytes into dst as row-major float32. Both formats store storages alike.
void gather_torch_view(const uint8_t* storage, TorchStorageType type, const PickledTensor& t, float* dst);

}  // namespace sr
