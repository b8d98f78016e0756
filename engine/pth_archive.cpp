// Reading torch.save zip checkpoints (see pth_archive.h).
#include "engine/pth_archive.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "engine/error.h"
#include "engine/half_float.h"
#include "engine/pth_legacy.h"

namespace sr {

namespace {

template <typename S>
S load(const uint8_t* p) {
  S v;
  std::memcpy(&v, p, sizeof(S));
  return v;
}

float element(const uint8_t* base, TorchStorageType type, uint64_t i) {
  switch (type) {
    case TorchStorageType::f32: return load<float>(base + 4 * i);
    case TorchStorageType::f16: return half_to_float(load<uint16_t>(base + 2 * i));
    case TorchStorageType::bf16: return bfloat16_to_float(load<uint16_t>(base + 2 * i));
    case TorchStorageType::f64: return (float)load<double>(base + 8 * i);
    case TorchStorageType::i64: return (float)load<int64_t>(base + 8 * i);
    case TorchStorageType::i32: return (float)load<int32_t>(base + 4 * i);
    case TorchStorageType::i16: return (float)load<int16_t>(base + 2 * i);
    case TorchStorageType::i8: return (float)load<int8_t>(base + i);
    case TorchStorageType::u8: return (float)load<uint8_t>(base + i);
    case TorchStorageType::b8: return load<uint8_t>(base + i) ? 1.f : 0.f;  // torch writes 0 or 1
  }
  return 0.f;
}

}  // namespace

void gather_torch_view(const uint8_t* storage, TorchStorageType type, const PickledTensor& t, float* dst) {
  const size_t nd = t.sizes.size();
  uint64_t numel = 1;
  for (int64_t s : t.sizes) numel *= (uint64_t)s;
  if (numel == 0) return;
  std::vector<int64_t> idx(nd, 0);
  uint64_t src = t.storage_offset;
  for (uint64_t k = 0; k < numel; ++k) {
    dst[k] = element(storage, type, src);
    for (size_t d = nd; d-- > 0;) {  // odometer over the dimensions, last fastest
      if (++idx[d] < t.sizes[d]) {
        src += (uint64_t)t.strides[d];
        break;
      }
      src -= (uint64_t)t.strides[d] * (uint64_t)(t.sizes[d] - 1);
      idx[d] = 0;
    }
  }
}

namespace {

std::string entry_prefix(const ZipArchive& zip, const std::string& where) {
  SR_CHECK(!zip.entries().empty(), where, ": the zip archive is empty (not a torch.save checkpoint)");
  const std::string& first = zip.entries().front().name;
  const size_t slash = first.find('/');
  SR_CHECK(slash != std::string::npos && slash > 0, where, ": the archive's first entry '", first,
           "' is not in a folder, so this is not a torch.save checkpoint");
  return first.substr(0, slash);
}

}  // namespace

std::vector<std::string> read_pth_archive(const ByteSource& source, const PthAllocate& allocate,
                                          const PthReadOptions& options) {
  const std::string where = str_cat("pth '", source.name(), "'");
  const ZipArchive zip(source);
  const std::string prefix = entry_prefix(zip, where);
  SR_CHECK(!zip.find(prefix + "/constants.pkl"), where,
           ": this is a TorchScript archive (torch.jit.save), not a state dict; save "
           "model.state_dict() with torch.save instead");
  const ZipEntry* pkl = zip.find(prefix + "/data.pkl");
  SR_CHECK(pkl, where, ": the archive has no '", prefix, "/data.pkl', so it is not a torch.save checkpoint");
  if (const ZipEntry* bo = zip.find(prefix + "/byteorder")) {
    const std::vector<uint8_t> b = zip.read(*bo, 16, options.verify_crc);
    SR_CHECK(std::string(b.begin(), b.end()) == "little", where, ": the storages are stored '",
             std::string(b.begin(), b.end()), "'-endian; only little-endian checkpoints are supported");
  }
  const std::vector<uint8_t> pickle = zip.read(*pkl, options.max_pickle_bytes, options.verify_crc);
  const PickledStateDict sd = unpickle_state_dict(pickle.data(), pickle.size(), where);

  // Every storage entry must exist and hold exactly the declared bytes, checked for all
  // storages before any is read.
  std::map<std::string, const ZipEntry*> entries;
  for (const auto& [key, s] : sd.storages) {
    const std::string name = prefix + "/data/" + key;
    const ZipEntry* e = zip.find(name);
    SR_CHECK(e, where, ": storage '", key, "' (", torch_storage_class_name(s.type), ") has no entry '", name,
             "' in the archive");
    const uint64_t bytes = s.numel * torch_storage_element_size(s.type);
    SR_CHECK(e->uncompressed_size == bytes, where, ": storage '", key, "' declares ", s.numel, " elements of ",
             torch_storage_class_name(s.type), " (", bytes, " bytes) but its entry holds ", e->uncompressed_size,
             " bytes");
    entries[key] = e;
  }
  // Allocate every tensor first (in pickle order), then fill them one storage at a time.
  std::vector<float*> dst(sd.tensors.size());
  std::map<std::string, std::vector<size_t>> users;  // storage key -> tensors viewing it
  for (size_t i = 0; i < sd.tensors.size(); ++i) {
    dst[i] = allocate(sd.tensors[i].name, sd.tensors[i].sizes);
    users[sd.tensors[i].storage_key].push_back(i);
  }
  for (const auto& [key, e] : entries) {
    const PickledStorage& s = sd.storages.at(key);
    const std::vector<uint8_t> bytes = zip.read(*e, s.numel * torch_storage_element_size(s.type), options.verify_crc);
    for (size_t i : users[key]) gather_torch_view(bytes.data(), s.type, sd.tensors[i], dst[i]);
  }
  return sd.skipped;
}

WeightsFileKind sniff_weights_file(const uint8_t* head, size_t n) {
  if (n >= 9 && head[8] == '{') return WeightsFileKind::safetensors;
  if (n >= 4 && head[0] == 'P' && head[1] == 'K' &&
      ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6)))
    return WeightsFileKind::torch_zip;
  if (n >= 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5) return WeightsFileKind::torch_legacy;
  // torch.save(..., pickle_protocol=1) has no PROTO opcode: its first pickle, the magic number
  // 0x1950a86a20f9469cfc6c, is the LONG text "L119547037146038801333356L\n".
  if (n >= 16 && std::memcmp(head, "L119547037146038", 16) == 0) return WeightsFileKind::torch_legacy;
  return WeightsFileKind::unknown;
}

std::vector<std::string> read_torch_checkpoint(const ByteSource& source, const PthAllocate& allocate,
                                               const PthReadOptions& options) {
  uint8_t head[16] = {};
  const size_t n = (size_t)std::min<uint64_t>(source.size(), sizeof(head));
  source.read(0, n, head);
  if (sniff_weights_file(head, n) == WeightsFileKind::torch_legacy) return read_pth_legacy(source, allocate, options);
  return read_pth_archive(source, allocate, options);
}

}  // namespace sr
