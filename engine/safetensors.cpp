// safetensors reader and writer (format in safetensors.h). The reader validates in this
// order: header length against the file size, JSON nesting depth (before parsing), JSON
// syntax, each entry's dtype/shape/offsets, then that the entries tile the data section
// exactly (sorted by offset: no gaps, no overlaps, nothing left over). Only then is data read.
#include "engine/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/atomic_file.h"

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

// Deepest bracket nesting outside string literals. A hostile header of a million '['
// must not reach a recursive parser (or destructor); this scan is linear and flat.
int json_depth(const char* s, size_t n) {
  int depth = 0, worst = 0;
  bool in_string = false;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      worst = std::max(worst, ++depth);
      if (worst > kMaxJsonDepth) return worst;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return worst;
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

SafetensorsFile parse_safetensors(const uint8_t* data, size_t size, const std::string& name,
                                  const SafetensorsReadOptions& options) {
  const std::string where = str_cat("safetensors '", name, "'");
  SR_CHECK(options.dtype == std::nullopt || *options.dtype == DType::f32 || *options.dtype == DType::f64,
           where, ": can only read into float32 or float64");
  SR_CHECK(size >= 8, where, ": file is ", size, " bytes, shorter than the 8-byte header length");
  const uint64_t n = read_le64(data);
  SR_CHECK(n >= 2, where, ": header length ", n, " is too small for a JSON object");
  SR_CHECK(n <= options.max_header_bytes, where, ": header length ", n, " exceeds the limit of ",
           options.max_header_bytes, " bytes");
  SR_CHECK(n <= size - 8, where, ": header length ", n, " exceeds the file's ", size - 8,
           " bytes after the length field (truncated file?)");
  const char* text = reinterpret_cast<const char*>(data + 8);
  const int depth = json_depth(text, n);
  SR_CHECK(depth <= kMaxJsonDepth, where, ": header JSON is nested ", depth, " levels deep (at most ",
           kMaxJsonDepth, " are valid)");
  json header;
  try {
    header = json::parse(text, text + n);
  } catch (const json::exception& e) {
    fail(where, ": header is not valid JSON: ", e.what());
  }
  SR_CHECK(header.is_object(), where, ": header must be a JSON object, got ", header.type_name());

  SafetensorsFile out;
  out.source = name;
  std::vector<Entry> entries;
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
    entries.push_back(parse_entry(name, it.key(), it.value()));
  }

  // The entries must tile [0, data_size) exactly.
  const uint64_t data_size = size - 8 - n;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t pos = 0;
  for (const Entry& e : entries) {
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

  const uint8_t* base = data + 8 + n;
  for (const Entry& e : entries) {
    DType dt = options.dtype ? *options.dtype : (e.stored->type == Stored::F64 ? DType::f64 : DType::f32);
    Tensor t = Tensor::empty(e.shape, dt);
    if (dt == DType::f32)
      convert<float>(base + e.begin, e.stored->type, t.numel(), t.data<float>());
    else
      convert<double>(base + e.begin, e.stored->type, t.numel(), t.data<double>());
    out.tensors.emplace_back(e.name, t);
  }
  return out;
}

SafetensorsFile read_safetensors(const std::string& path, const SafetensorsReadOptions& options) {
  std::error_code ec;
  SR_CHECK(!std::filesystem::is_directory(path, ec), "safetensors '", path, "': is a folder, not a file");
  std::ifstream in(path, std::ios::binary);
  SR_CHECK(in.good(), "safetensors '", path, "': cannot open the file (missing or unreadable)");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  SR_CHECK(size >= 0, "safetensors '", path, "': cannot determine the file size (a folder?)");
  in.seekg(0, std::ios::beg);
  std::vector<uint8_t> bytes((size_t)size);
  if (size > 0) in.read(reinterpret_cast<char*>(bytes.data()), size);
  SR_CHECK(in.good() || size == 0, "safetensors '", path, "': read error");
  return parse_safetensors(bytes.data(), bytes.size(), path, options);
}

namespace {

// The header JSON, padded with spaces so the data section starts 8-byte aligned.
std::string make_header(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata,
                        std::vector<Tensor>& host) {
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) {
    ordered_json m = ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    SR_CHECK(!name.empty(), "write_safetensors: empty tensor name");
    SR_CHECK(name != "__metadata__", "write_safetensors: '__metadata__' is reserved");
    SR_CHECK(!header.contains(name), "write_safetensors: tensor name '", name, "' is repeated");
    SR_CHECK(t.defined(), "write_safetensors: tensor '", name, "' is undefined");
    SR_CHECK(t.dtype() == DType::f32 || t.dtype() == DType::f64, "write_safetensors: tensor '", name,
             "' is ", dtype_name(t.dtype()), "; only float32 and float64 are written");
    Tensor h = t.to(Device::cpu()).contiguous();
    host.push_back(h);
    ordered_json e;
    e["dtype"] = h.dtype() == DType::f64 ? "F64" : "F32";
    e["shape"] = h.shape().vec();
    e["data_offsets"] = {offset, offset + h.nbytes()};
    offset += h.nbytes();
    header[name] = e;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const ordered_json::exception& e) {
    fail("write_safetensors: a tensor name or metadata string is not valid UTF-8: ", e.what());
  }
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
    SR_CHECK(std::fwrite(len, 1, 8, f) == 8 && std::fwrite(text.data(), 1, text.size(), f) == text.size(),
             "short write of the header");
    for (const Tensor& h : host)
      SR_CHECK(std::fwrite(h.raw_data(), 1, h.nbytes(), f) == h.nbytes(), "short write of tensor data");
  });
}

}  // namespace sr
