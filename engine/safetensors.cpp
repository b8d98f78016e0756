// safetensors reader and writer (format in safetensors.h). The reader validates in this
// order: header length against the file size, JSON nesting depth (before parsing), JSON
// syntax, each entry's dtype/shape/offsets, then that the entries tile the data section
// exactly (sorted by offset: no gaps, no overlaps, nothing left over). Only then is data read.
#include "engine/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_set>

#include "engine/atomic_file.h"
#include "engine/json_depth.h"
#include "engine/regular_file.h"

namespace sr {

static_assert(std::endian::native == std::endian::little,
              "safetensors I/O assumes a little-endian host (the format is little-endian)");

namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

constexpr int kMaxJsonDepth = 3;  // {entries: {fields: [numbers]}}

enum class Stored { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

struct StoredInfo {
  const char* name;
  Stored type;
  size_t bytes;
};

constexpr StoredInfo kStoredTypes[] = {
    {"F64", Stored::F64, 8},  {"F32", Stored::F32, 4}, {"F16", Stored::F16, 2},
    {"BF16", Stored::BF16, 2}, {"I64", Stored::I64, 8}, {"I32", Stored::I32, 4},
    {"I16", Stored::I16, 2},  {"I8", Stored::I8, 1},   {"U8", Stored::U8, 1},
    {"BOOL", Stored::BOOL, 1},
};

const StoredInfo* find_stored(const std::string& name) {
  for (const auto& s : kStoredTypes)
    if (name == s.name) return &s;
  return nullptr;
}

struct Entry {
  std::string name;
  const StoredInfo* stored = nullptr;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

uint64_t as_offset(const json& v, const std::string& where) {
  SR_CHECK(v.is_number_unsigned(), where, " must be a non-negative integer, got ", v.dump());
  return v.get<uint64_t>();
}

Entry parse_entry(const std::string& file, const std::string& name, const json& v) {
  const std::string where = str_cat("safetensors '", file, "': tensor '", name, "'");
  SR_CHECK(v.is_object(), where, " must be an object, got ", v.dump());
  SR_CHECK(v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"), where,
           " needs \"dtype\", \"shape\" and \"data_offsets\", got ", v.dump());
  Entry e;
  e.name = name;
  const json& dt = v["dtype"];
  SR_CHECK(dt.is_string(), where, ": dtype must be a string, got ", dt.dump());
  e.stored = find_stored(dt.get<std::string>());
  SR_CHECK(e.stored, where, ": unsupported dtype ", dt.dump(),
           " (readable: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
  const json& sh = v["shape"];
  SR_CHECK(sh.is_array(), where, ": shape must be an array, got ", sh.dump());
  SR_CHECK(sh.size() <= (size_t)Shape::kMaxDims, where, ": shape ", sh.dump(), " has ", sh.size(),
           " dimensions; at most ", Shape::kMaxDims, " are supported");
  std::vector<int64_t> dims;
  uint64_t numel = 1;
  for (const json& d : sh) {
    const uint64_t n = as_offset(d, where + ": shape entry");
    SR_CHECK(n <= (uint64_t(1) << 48), where, ": shape ", sh.dump(), " has an impossible dimension ", n);
    SR_CHECK(!__builtin_mul_overflow(numel, n, &numel), where, ": shape ", sh.dump(), " overflows");
    dims.push_back((int64_t)n);
  }
  e.shape = Shape(dims);
  const json& off = v["data_offsets"];
  SR_CHECK(off.is_array() && off.size() == 2, where, ": data_offsets must be [begin, end], got ",
           off.dump());
  e.begin = as_offset(off[0], where + ": data_offsets[0]");
  e.end = as_offset(off[1], where + ": data_offsets[1]");
  SR_CHECK(e.begin <= e.end, where, ": data_offsets ", off.dump(), " end before they begin");
  uint64_t bytes = 0;
  SR_CHECK(!__builtin_mul_overflow(numel, (uint64_t)e.stored->bytes, &bytes), where, ": shape ",
           sh.dump(), " overflows");
  SR_CHECK(bytes == e.end - e.begin, where, ": shape ", sh.dump(), " of ", e.stored->name, " needs ",
           bytes, " bytes but data_offsets ", off.dump(), " span ", e.end - e.begin);
  return e;
}

template <typename S>
S load(const uint8_t* p) {
  S v;
  std::memcpy(&v, p, sizeof(S));
  return v;
}

// Converts n stored elements at p (possibly unaligned) into dst.
template <typename T>
void convert(const uint8_t* p, Stored type, int64_t n, T* dst) {
  for (int64_t i = 0; i < n; ++i) {
    switch (type) {
      case Stored::F64: dst[i] = (T)load<double>(p + 8 * i); break;
      case Stored::F32: dst[i] = (T)load<float>(p + 4 * i); break;
      case Stored::F16: dst[i] = (T)half_to_float(load<uint16_t>(p + 2 * i)); break;
      case Stored::BF16: dst[i] = (T)bfloat16_to_float(load<uint16_t>(p + 2 * i)); break;
      case Stored::I64: dst[i] = (T)load<int64_t>(p + 8 * i); break;
      case Stored::I32: dst[i] = (T)load<int32_t>(p + 4 * i); break;
      case Stored::I16: dst[i] = (T)load<int16_t>(p + 2 * i); break;
      case Stored::I8: dst[i] = (T)(int8_t)p[i]; break;
      case Stored::U8: dst[i] = (T)p[i]; break;
      case Stored::BOOL: dst[i] = p[i] ? T(1) : T(0); break;
    }
  }
}

}  // namespace

bool SafetensorsFile::contains(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return true;
  return false;
}

const Tensor& SafetensorsFile::get(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  fail("safetensors '", source, "' has no tensor '", name, "'");
}

std::map<std::string, Tensor> SafetensorsFile::as_map() const {
  return std::map<std::string, Tensor>(tensors.begin(), tensors.end());
}

namespace {

// What a header says, checked against the file's total size: the reader knows from the
// first 8 + N bytes alone whether the rest of the file is what it claims to be.
struct Header {
  uint64_t length = 0;  // N
  std::vector<Entry> entries;  // sorted by offset, tiling the data section exactly
  std::map<std::string, std::string> metadata;
};

// A PyTorch checkpoint is the most likely wrong file: say so instead of "header length
// 85966670672 exceeds the limit".
void refuse_pytorch_file(const uint8_t* start, size_t n, const std::string& where) {
  const bool zip = n >= 4 && start[0] == 'P' && start[1] == 'K' && start[2] == 3 && start[3] == 4;
  // Protocol 2-5 pickles start with PROTO; protocol 1 (torch.save(..., pickle_protocol=1)) with
  // the magic number as LONG text, "L119547037146038801333356L".
  const bool pickle = (n >= 2 && start[0] == 0x80 && start[1] >= 2 && start[1] <= 5) ||
                      (n >= 8 && std::memcmp(start, "L1195470", 8) == 0);
  // --weights and pretrain_network_* read .pth files themselves (engine/pth_reader.h);
  // this reader is also the one for training states, which are never PyTorch files.
  SR_CHECK(!zip, where, ": is a PyTorch zip (.pth/.pt) file, not safetensors: give it as --weights or "
                        "pretrain_network_g (read directly), or convert it with `srengine convert IN.pth OUT.safetensors`");
  SR_CHECK(!pickle, where, ": is a legacy PyTorch pickle (.pth) file, not safetensors: give it as --weights or "
                           "pretrain_network_g (read directly), or convert it with "
                           "`srengine convert IN.pth OUT.safetensors`");
}

// The header length from the first 8 bytes, checked against the limit and the file size.
uint64_t header_length(const uint8_t* first8, uint64_t file_size, const std::string& where,
                       const SafetensorsReadOptions& options) {
  SR_CHECK(file_size >= 8, where, ": file is ", file_size, " bytes, shorter than the 8-byte header length");
  const uint64_t n = read_le64(first8);
  // Only a length that is impossible anyway is blamed on PyTorch: a real header of 640
  // bytes also starts 80 02.
  if (n < 2 || n > options.max_header_bytes || n > file_size - 8) refuse_pytorch_file(first8, 8, where);
  SR_CHECK(n >= 2, where, ": header length ", n, " is too small for a JSON object");
  SR_CHECK(n <= options.max_header_bytes, where, ": header length ", n, " exceeds the limit of ",
           options.max_header_bytes, " bytes");
  SR_CHECK(n <= file_size - 8, where, ": header length ", n, " exceeds the file's ", file_size - 8,
           " bytes after the length field (truncated file?)");
  return n;
}

// Parses and checks the header JSON (n bytes at text) of a file of `file_size` bytes.
Header parse_header(const char* text, uint64_t n, uint64_t file_size, const std::string& name,
                    const std::string& where) {
  const int depth = json_nesting_depth(text, n, kMaxJsonDepth);
  SR_CHECK(depth <= kMaxJsonDepth, where, ": header JSON is nested ", depth, " levels deep (at most ",
           kMaxJsonDepth, " are valid)");
  json header;
  try {
    header = json::parse(text, text + n);
  } catch (const json::exception& e) {
    fail(where, ": header is not valid JSON: ", e.what());
  }
  SR_CHECK(header.is_object(), where, ": header must be a JSON object, got ", header.type_name());

  Header out;
  out.length = n;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      SR_CHECK(it.value().is_object(), where, ": __metadata__ must be an object, got ", it.value().dump());
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        SR_CHECK(m.value().is_string(), where, ": __metadata__ value of '", m.key(),
                 "' must be a string, got ", m.value().dump());
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    out.entries.push_back(parse_entry(name, it.key(), it.value()));
  }

  // The entries must tile [0, data_size) exactly.
  const uint64_t data_size = file_size - 8 - n;
  std::sort(out.entries.begin(), out.entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t pos = 0;
  for (const Entry& e : out.entries) {
    SR_CHECK(e.begin >= pos, where, ": tensor '", e.name, "' at bytes [", e.begin, ", ", e.end,
             ") overlaps the previous tensor, which ends at ", pos);
    SR_CHECK(e.begin == pos, where, ": gap in the data section before tensor '", e.name, "' (bytes [",
             pos, ", ", e.begin, ") belong to no tensor)");
    SR_CHECK(e.end <= data_size, where, ": tensor '", e.name, "' at bytes [", e.begin, ", ", e.end,
             ") lies past the end of the data section (", data_size, " bytes; truncated file?)");
    pos = e.end;
  }
  SR_CHECK(pos == data_size, where, ": the data section has ", data_size - pos,
           " trailing bytes that belong to no tensor");
  return out;
}

Tensor make_tensor(const Entry& e, const uint8_t* raw, const SafetensorsReadOptions& options) {
  const DType dt = options.dtype ? *options.dtype : (e.stored->type == Stored::F64 ? DType::f64 : DType::f32);
  Tensor t = Tensor::empty(e.shape, dt);
  if (dt == DType::f32)
    convert<float>(raw, e.stored->type, t.numel(), t.data<float>());
  else
    convert<double>(raw, e.stored->type, t.numel(), t.data<double>());
  return t;
}

void check_read_dtype(const SafetensorsReadOptions& options, const std::string& where) {
  SR_CHECK(options.dtype == std::nullopt || *options.dtype == DType::f32 || *options.dtype == DType::f64,
           where, ": can only read into float32 or float64");
}

}  // namespace

SafetensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& name,
                                  const SafetensorsReadOptions& options) {
  const std::string where = str_cat("safetensors '", name, "'");
  check_read_dtype(options, where);
  const uint64_t n = header_length(data, size, where, options);
  const Header h = parse_header(reinterpret_cast<const char*>(data + 8), n, size, name, where);
  SafetensorsFile out;
  out.source = name;
  out.metadata = h.metadata;
  const uint8_t* base = data + 8 + n;
  for (const Entry& e : h.entries) out.tensors.emplace_back(e.name, make_tensor(e, base + e.begin, options));
  return out;
}

// Reads the length, then the header, checks both against the file's size, and only then
// reads the data, one tensor at a time: a 4 GB file with a 2-byte header costs 10 bytes
// of reading before it is refused, and a valid file at most one tensor's raw bytes beyond
// the tensors themselves.
SafetensorsFile read_safetensors(const std::string& path, const SafetensorsReadOptions& options) {
  const std::string where = str_cat("safetensors '", path, "'");
  check_read_dtype(options, where);
  RegularFile file(path, "safetensors");
  uint8_t first8[8] = {0};
  if (file.size() >= 8) file.read_at(0, first8, 8);
  const uint64_t n = header_length(first8, file.size(), where, options);
  std::vector<char> text((size_t)n);
  file.read_at(8, text.data(), (size_t)n);
  const Header h = parse_header(text.data(), n, file.size(), path, where);
  SafetensorsFile out;
  out.source = path;
  out.metadata = h.metadata;
  std::vector<uint8_t> raw;
  for (const Entry& e : h.entries) {
    raw.resize((size_t)(e.end - e.begin));
    if (!raw.empty()) file.read_at(8 + n + e.begin, raw.data(), raw.size());
    out.tensors.emplace_back(e.name, make_tensor(e, raw.data(), options));
  }
  return out;
}

namespace {

// A JSON string as nlohmann's dump() writes it: '"', '\\' and control bytes escaped, UTF-8 kept
// as is, invalid UTF-8 an error.
void append_json_string(std::string& text, const std::string& s) {
  try {
    text += ordered_json(s).dump();
  } catch (const ordered_json::exception& e) {
    fail("write_safetensors: a tensor name or metadata string is not valid UTF-8: ", e.what());
  }
}

// The header JSON, padded with spaces so the data section starts 8-byte aligned. It is written
// by appending to one string, in the bytes ordered_json::dump() gave for the same object
// (compact, keys in insertion order: "__metadata__" first, then the tensors in the given order,
// each {"dtype","shape","data_offsets"}); names are checked for repeats in a hash set. Building
// an ordered_json object instead costs a linear key search per insertion (ordered_map is a
// vector), quadratic in the tensor count: 80,000 tensors took 23 s.
std::string make_header(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata,
                        std::vector<Tensor>& host) {
  std::string text = "{";
  if (!metadata.empty()) {
    text += "\"__metadata__\":{";
    for (auto it = metadata.begin(); it != metadata.end(); ++it) {
      if (it != metadata.begin()) text += ',';
      append_json_string(text, it->first);
      text += ':';
      append_json_string(text, it->second);
    }
    text += '}';
  }
  std::unordered_set<std::string_view> names;
  names.reserve(tensors.size());
  host.reserve(tensors.size());
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    SR_CHECK(!name.empty(), "write_safetensors: empty tensor name");
    SR_CHECK(name != "__metadata__", "write_safetensors: '__metadata__' is reserved");
    SR_CHECK(names.insert(name).second, "write_safetensors: tensor name '", name, "' is repeated");
    SR_CHECK(t.defined(), "write_safetensors: tensor '", name, "' is undefined");
    SR_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, "write_safetensors: tensor '", name,
             "' is ", dtype_name(t.dtype()), "; only float32 and float64 are written");
    Tensor h = t.to(Device::cpu()).contiguous();
    if (text.size() > 1) text += ',';
    append_json_string(text, name);
    text += h.dtype() == DType::f64 ? ":{\"dtype\":\"F64\",\"shape\":[" : ":{\"dtype\":\"F32\",\"shape\":[";
    const std::vector<int64_t> shape = h.shape().vec();
    for (size_t d = 0; d < shape.size(); ++d) {
      if (d) text += ',';
      text += std::to_string(shape[d]);
    }
    text += "],\"data_offsets\":[" + std::to_string(offset) + ',' + std::to_string(offset + h.nbytes()) + "]}";
    offset += h.nbytes();
    host.push_back(std::move(h));
  }
  text += '}';
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');
  return text;
}

void put_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = uint8_t(v >> (8 * i));
}

}  // namespace

std::vector<uint8_t> serialize_safetensors(const NamedTensors& tensors,
                                           const std::map<std::string, std::string>& metadata) {
  std::vector<Tensor> host;
  const std::string text = make_header(tensors, metadata, host);
  std::vector<uint8_t> out(8 + text.size());
  put_le64(out.data(), text.size());
  std::memcpy(out.data() + 8, text.data(), text.size());
  for (const Tensor& h : host) {
    const uint8_t* p = static_cast<const uint8_t*>(h.raw_data());
    out.insert(out.end(), p, p + h.nbytes());
  }
  return out;
}

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<Tensor> host;
  const std::string text = make_header(tensors, metadata, host);
  write_file_atomically(path, [&](std::FILE* f) {
    uint8_t len[8];
    put_le64(len, text.size());
    // A short fwrite leaves the reason (ENOSPC, EDQUOT, EFBIG) in errno.
    if (std::fwrite(len, 1, 8, f) != 8 || std::fwrite(text.data(), 1, text.size(), f) != text.size())
      fail("short write of the header: ", std::strerror(errno));
    for (const Tensor& h : host)
      if (std::fwrite(h.raw_data(), 1, h.nbytes(), f) != h.nbytes())
        fail("short write of tensor data: ", std::strerror(errno));
  });
}

}  // namespace sr
