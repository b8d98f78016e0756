// Reading legacy torch.save checkpoints (see pth_legacy.h). The layout follows PyTorch's
// _legacy_save; sys_info, which torch.load ignores, is checked here because the storages'
// bytes are read as little-endian.
#include "engine/pth_legacy.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "engine/error.h"

namespace sr {

namespace {

// 0x1950a86a20f9469cfc6c as pickle's LONG1 writes it: little-endian two's complement.
constexpr uint8_t kMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int64_t kProtocolVersion = 1001;
// The pickles of a state dict are a small part of a file; most files need one read of this.
constexpr uint64_t kFirstRead = 1u << 20;

struct LegacyPickles {
  PickledStateDict sd;
  std::vector<std::string> keys;  // storage keys in the order their data follows
  uint64_t data_start = 0;
};

// A value in a message: an int or bool as Python prints it, else its kind.
std::string describe(const PlainValue* v) {
  if (!v) return "missing";
  if (v->kind == PlainValue::Kind::integer) return std::to_string(v->i);
  if (v->kind == PlainValue::Kind::boolean) return v->i ? "True" : "False";
  const std::string kind = plain_kind_name(v->kind);
  return (kind[0] == 'i' ? "an " : "a ") + kind;
}

void check_header(const PlainValue& magic, const PlainValue& protocol, const PlainValue& sys_info,
                  const std::string& where) {
  SR_CHECK(magic.kind == PlainValue::Kind::big_integer &&
               magic.s == std::string(reinterpret_cast<const char*>(kMagic), sizeof(kMagic)),
           where, ": starts with a pickle of ", describe(&magic),
           ", not torch.save's magic number 0x1950a86a20f9469cfc6c (a pickle, but not a torch.save checkpoint)");
  SR_CHECK(protocol.kind == PlainValue::Kind::integer && protocol.i == kProtocolVersion, where,
           ": legacy torch.save protocol version ", describe(&protocol), " (only ", kProtocolVersion, " is known)");
  SR_CHECK(sys_info.kind == PlainValue::Kind::dict, where, ": sys_info is ", describe(&sys_info), ", not a dict");
  const PlainValue* version = sys_info.get("protocol_version");
  SR_CHECK(version && version->kind == PlainValue::Kind::integer && version->i == kProtocolVersion, where,
           ": sys_info protocol_version is ", describe(version), ", expected ", kProtocolVersion);
  const PlainValue* little = sys_info.get("little_endian");
  SR_CHECK(little && little->kind == PlainValue::Kind::boolean, where, ": sys_info little_endian is ",
           describe(little), ", expected True or False");
  SR_CHECK(little->i, where,
           ": sys_info says the storages are big-endian (little_endian False); only little-endian checkpoints "
           "are supported");
  const PlainValue* sizes = sys_info.get("type_sizes");
  SR_CHECK(sizes && sizes->kind == PlainValue::Kind::dict, where, ": sys_info type_sizes is ", describe(sizes),
           ", not a dict");
  for (const auto& [name, bytes] : {std::pair<const char*, int64_t>{"short", 2}, {"int", 4}, {"long", 4}}) {
    const PlainValue* v = sizes->get(name);
    SR_CHECK(v && v->kind == PlainValue::Kind::integer && v->i == bytes, where, ": sys_info type_sizes['", name,
             "'] is ", describe(v), ", expected ", bytes, " (as torch.save writes on every platform)");
  }
}

// An undeclared key as read: any bytes, so shown only when plain.
std::string shown_key(const std::string& key) {
  const bool plain = key.size() <= 64 && std::all_of(key.begin(), key.end(), [](char c) {
                       return std::isalnum((unsigned char)c) || c == '_';
                     });
  return plain ? key : str_cat("(", key.size(), " bytes, not letters and digits)");
}

// The storage keys, checked against the storages the object declares: each exactly once.
std::vector<std::string> storage_keys(const PlainValue& list, const PickledStateDict& sd, const std::string& where) {
  SR_CHECK(list.kind == PlainValue::Kind::list, where, ": the storage-key list is ", describe(&list),
           ", not a list of storage keys");
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (size_t i = 0; i < list.items.size(); ++i) {
    const PlainValue& k = list.items[i];
    SR_CHECK(k.kind == PlainValue::Kind::str, where, ": the storage-key list's item ", i, " is ", describe(&k),
             ", not a str");
    SR_CHECK(sd.declared.count(k.s), where, ": the storage-key list names storage '", shown_key(k.s),
             "', which the object does not declare");
    SR_CHECK(seen.insert(k.s).second, where, ": the storage-key list names storage '", k.s, "' twice");
    keys.push_back(k.s);
  }
  for (const auto& [key, s] : sd.declared)
    SR_CHECK(seen.count(key), where, ": storage '", key, "' (", torch_storage_class_name(s.type), ", ", s.numel,
             " elements) is declared by the object but missing from the storage-key list, so its data is absent");
  return keys;
}

// The five pickles from the file's first n bytes. *ran_out tells a buffer that ended too soon.
LegacyPickles parse_pickles(const uint8_t* data, size_t n, const std::string& where, const std::string& end_note,
                            bool* ran_out) {
  PickleInput in;
  in.data = data;
  in.size = n;
  in.where = where;
  in.end_note = end_note;
  in.ran_out = ran_out;
  size_t pos = 0;
  const auto next = [&](const char* name) {
    in.start = pos;
    in.name = name;
  };
  next("the magic-number pickle (legacy torch.save header)");
  const PlainValue magic = unpickle_plain(in, &pos);
  next("the protocol-version pickle (legacy torch.save header)");
  const PlainValue protocol = unpickle_plain(in, &pos);
  next("the sys_info pickle (legacy torch.save header)");
  const PlainValue sys_info = unpickle_plain(in, &pos);
  check_header(magic, protocol, sys_info, where);
  LegacyPickles out;
  next("the object pickle");
  out.sd = unpickle_state_dict(in, TorchSaveFormat::legacy, &pos);
  next("the storage-key list");
  out.keys = storage_keys(unpickle_plain(in, &pos), out.sd, where);
  out.data_start = pos;
  return out;
}

// Reads the file's first bytes, more as needed up to max_pickle_bytes, and parses the pickles.
LegacyPickles read_pickles(const ByteSource& source, const PthReadOptions& options, const std::string& where) {
  const uint64_t limit = std::min<uint64_t>(source.size(), options.max_pickle_bytes);
  const std::string over_limit =
      str_cat("the pickles before the storage data are over ", options.max_pickle_bytes,
              " bytes, the limit of PthReadOptions::max_pickle_bytes");
  std::vector<uint8_t> head;
  uint64_t want = std::min(limit, kFirstRead);
  while (true) {
    const size_t had = head.size();
    head.resize((size_t)want);
    source.read(had, head.size() - had, head.data() + had);
    bool ran_out = false;
    const bool whole = want == source.size();
    try {
      return parse_pickles(head.data(), head.size(), where, whole ? "truncated or corrupt file" : over_limit,
                           &ran_out);
    } catch (const Error&) {
      if (!ran_out || want == limit) throw;
    }
    want = std::min(limit, want * 8);
  }
}

}  // namespace

std::vector<std::string> read_pth_legacy(const ByteSource& source, const PthAllocate& allocate,
                                         const PthReadOptions& options) {
  const std::string where = str_cat("pth '", source.name(), "'");
  const LegacyPickles p = read_pickles(source, options, where);
  const PickledStateDict& sd = p.sd;

  // Where each storage's data lies: every count and size checked, and the end of the file
  // reached, before anything is allocated (a file may declare 2^40 elements and hold none).
  const uint64_t file_size = source.size();
  std::map<std::string, uint64_t> data_at;
  uint64_t at = p.data_start;
  for (const std::string& key : p.keys) {
    const PickledStorage& s = sd.declared.at(key);
    const uint64_t bytes = s.numel * torch_storage_element_size(s.type);  // <= 2^60: the unpickler checks numel
    const std::string what = str_cat(where, ": storage '", key, "' (", torch_storage_class_name(s.type), ", ",
                                     s.numel, " elements, ", bytes, " bytes)");
    SR_CHECK(file_size - at >= 8, what, " has no element count at byte ", at, ": the file ends there (truncated?)");
    uint8_t count_bytes[8];
    source.read(at, 8, count_bytes);
    uint64_t count = 0;
    for (int b = 7; b >= 0; --b) count = (count << 8) | count_bytes[b];
    SR_CHECK(count == s.numel, what, ": its data at byte ", at, " holds ", count,
             " elements, not the number its persistent id declares");
    at += 8;
    SR_CHECK(bytes <= file_size - at, what, " starts at byte ", at, " but only ", file_size - at,
             " bytes are left in the file (truncated?)");
    data_at[key] = at;
    at += bytes;
  }
  SR_CHECK(at == file_size, where, ": ", file_size - at, " bytes follow the last storage (which ends at byte ", at,
           "); a torch.save file ends there (corrupt, or two files joined?)");

  // Allocate every tensor first (in pickle order), then fill them one storage at a time.
  std::vector<float*> dst(sd.tensors.size());
  std::map<std::string, std::vector<size_t>> users;  // storage key -> tensors viewing it
  for (size_t i = 0; i < sd.tensors.size(); ++i) {
    dst[i] = allocate(sd.tensors[i].name, sd.tensors[i].sizes);
    users[sd.tensors[i].storage_key].push_back(i);
  }
  std::vector<uint8_t> bytes;
  for (const auto& [key, tensors] : users) {
    const PickledStorage& s = sd.storages.at(key);
    bytes.resize((size_t)(s.numel * torch_storage_element_size(s.type)));
    source.read(data_at.at(key), bytes.size(), bytes.data());
    for (size_t i : tensors) gather_torch_view(bytes.data(), s.type, sd.tensors[i], dst[i]);
  }
  return sd.skipped;
}

}  // namespace sr
