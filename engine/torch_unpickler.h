// A restricted unpickler for the pickles of a torch.save checkpoint (the zip format's data.pkl,
// the legacy format's five pickles). It is a pickle virtual machine that knows only the opcodes
// a state dict uses and only these names: collections.OrderedDict,
// torch._utils._rebuild_tensor_v2, torch._utils._rebuild_tensor (PyTorch < 0.4),
// torch._utils._rebuild_parameter and the torch.<T>Storage classes of
// float32/float16/bfloat16/float64/int64/int32/int16/int8/uint8/bool storages. Any
// other import (os.system, builtins.eval, a model's class, torch.storage._load_from_bytes), any
// call of something else, and any object-building opcode (INST, OBJ, NEWOBJ) is refused with
// an sr::Error naming the file and the item. Nothing is ever imported or executed: names
// become inert tags, REDUCE of an allowed name builds a plain record.
//
// The result is the state dict flattened: nested dicts join their keys with '.', so BasicSR's
// {'params_ema': {'conv_first.weight': t}} becomes 'params_ema.conv_first.weight'. Tensors are
// descriptions (storage key, offset, sizes, strides), checked against their storage's declared
// element count; the storage bytes are read by the caller (engine/pth_archive.h,
// engine/pth_legacy.h). Python 2 pickles (PyTorch <= 0.4 files) read too: their byte strings
// are text, as torch.load decodes them, and their OrderedDict comes as a list of pairs. So do
// protocol 1 pickles (torch.save(..., pickle_protocol=1)), whose bools and ints past 32 bits are
// decimal text (INT "01" / "00", LONG "...L"), read strictly: malformed or out-of-range text is
// an sr::Error naming the file and the byte.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sr {

enum class TorchStorageType { f32, f16, bf16, f64, i64, i32, i16, i8, u8, b8 };

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
  std::map<std::string, PickledStorage> declared;  // every storage a persistent id names (also those of
                                                   // skipped entries: a legacy file stores them all)
  std::vector<std::string> skipped;               // non-tensor entries: "name (int)", ...
};

struct UnpickleLimits {
  size_t max_objects = 2u << 20;  // values created (each opcode makes at most one); also the
                                  // most stack entries, marks and memo slots
  int max_dims = 16;              // of one tensor
  int max_dict_depth = 32;        // nesting of dicts in the result
};

// `where` names the file in every message ("pth 'net.pth'").
PickledStateDict unpickle_state_dict(const uint8_t* data, size_t size, const std::string& where,
                                     const UnpickleLimits& limits = {});

// One pickle in a buffer that may hold more: the legacy format writes five back to back.
// Byte numbers in messages count from the buffer's start (the file's, for a legacy file).
struct PickleInput {
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t start = 0;                 // the pickle's first byte
  std::string where;                // "pth 'net.pth'"
  std::string name = "data.pkl";    // the pickle, in messages
  std::string end_note = "truncated or corrupt file";  // said when the buffer ends inside the pickle
  bool* ran_out = nullptr;  // set when it does (a reader of the file's first bytes then reads more)
};

// The persistent id of a storage: ('storage', class, key, location, numel) in the zip format;
// the legacy format adds view_metadata, which must be None (a storage view, written by PyTorch
// < 0.4 only for a sliced storage, never for a state dict's tensors).
enum class TorchSaveFormat { zip, legacy };

// The state dict of the pickle at in.start; *end receives the byte after its STOP.
PickledStateDict unpickle_state_dict(const PickleInput& in, TorchSaveFormat format, size_t* end,
                                     const UnpickleLimits& limits = {});

// A pickle of plain values only (the legacy header's magic number, protocol version and
// sys_info, and its list of storage keys): any import or persistent id is refused.
struct PlainValue {
  enum class Kind { none, boolean, integer, big_integer, real, str, tuple, list, dict } kind = Kind::none;
  int64_t i = 0;                  // boolean, integer
  double f = 0;                   // real
  std::string s;                  // str; big_integer: its little-endian two's complement bytes
  std::vector<PlainValue> items;  // tuple, list; dict: key, value, key, value, ...
  const PlainValue* get(const std::string& key) const;  // a dict's value under a str key, or nullptr
};
const char* plain_kind_name(PlainValue::Kind k);
PlainValue unpickle_plain(const PickleInput& in, size_t* end, const UnpickleLimits& limits = {});

}  // namespace sr
