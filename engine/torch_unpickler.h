// A restricted unpickler for the data.pkl of a torch.save checkpoint. It is a pickle
// virtual machine that knows only the opcodes a state dict uses and only these names:
// collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and
// the torch.<T>Storage classes of float32/float16/bfloat16/float64/int64/int32 storages. Any
// other import (os.system, builtins.eval, a model's class, torch.storage._load_from_bytes), any
// call of something else, and any object-building opcode (INST, OBJ, NEWOBJ) is refused with
// an sr::Error naming the file and the item. Nothing is ever imported or executed: names
// become inert tags, REDUCE of an allowed name builds a plain record.
//
// The result is the state dict flattened: nested dicts join their keys with '.', so BasicSR's
// {'params_ema': {'conv_first.weight': t}} becomes 'params_ema.conv_first.weight'. Tensors are
// descriptions (storage key, offset, sizes, strides), checked against their storage's declared
// element count; the storage bytes are read by the caller (engine/pth_reader.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sr {

enum class TorchStorageType { f32, f16, bf16, f64, i64, i32 };

const char* torch_storage_class_name(TorchStorageType t);  // "FloatStorage", ...
size_t torch_storage_element_size(TorchStorageType t);

struct PickledStorage {
  std::string key;  // the archive entry is <prefix>/data/<key>
  TorchStorageType type = TorchStorageType::f32;
  uint64_t numel = 0;
  std::string location;  // "cpu", "cuda:0", ... (ignored: everything loads to the CPU)
};

struct PickledTensor {
  std::string name;  // dotted path of dict keys
  std::string storage_key;
  uint64_t storage_offset = 0;  // in elements
  std::vector<int64_t> sizes, strides;
};

struct PickledStateDict {
  std::vector<PickledTensor> tensors;             // in pickle order; a repeated key keeps its first place
  std::map<std::string, PickledStorage> storages;  // every storage the tensors use, by key
  std::vector<std::string> skipped;               // non-tensor entries: "name (int)", ...
};

struct UnpickleLimits {
  size_t max_objects = 4u << 20;  // values created (each opcode makes at most one)
  int max_dims = 16;              // of one tensor
  int max_dict_depth = 32;        // nesting of dicts in the result
};

// `where` names the file in every message ("pth 'net.pth'").
PickledStateDict unpickle_state_dict(const uint8_t* data, size_t size, const std::string& where,
                                     const UnpickleLimits& limits = {});

}  // namespace sr
