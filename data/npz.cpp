// .npy / .npz reading and writing (see npz.h). The .npy layout (NumPy's format.py, NEP 1):
//   "\x93NUMPY" major minor | header length (u16 for 1.x, u32 for 2.x/3.x) | header | data
// where the header is a Python dict literal padded with spaces and ended by '\n'.
#include "data/npz.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "engine/zip_reader.h"

namespace sr::data {

int64_t NpyArray::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

constexpr int kMaxRank = 8;
constexpr char kMagic[] = "\x93NUMPY";

// A cursor over the header's dict literal: only the tokens NumPy writes are accepted.
struct HeaderParser {
  const std::string& s;
  const std::string& where;
  size_t i = 0;

  void skip_space() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t')) ++i;
  }
  bool take(char c) {
    skip_space();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  void expect(char c) {
    SR_CHECK(take(c), where, ": malformed .npy header (expected '", c, "' at offset ", i, "): ", s);
  }
  std::string quoted() {
    skip_space();
    SR_CHECK(i < s.size() && (s[i] == '\'' || s[i] == '"'), where, ": malformed .npy header (expected a quoted "
             "string at offset ", i, "): ", s);
    const char q = s[i++];
    const size_t start = i;
    while (i < s.size() && s[i] != q) ++i;
    SR_CHECK(i < s.size(), where, ": malformed .npy header (unterminated string): ", s);
    return s.substr(start, i++ - start);
  }
  bool boolean() {
    skip_space();
    for (const auto& [word, value] : {std::pair<const char*, bool>{"True", true}, {"False", false}})
      if (s.compare(i, std::strlen(word), word) == 0) {
        i += std::strlen(word);
        return value;
      }
    fail(where, ": malformed .npy header ('fortran_order' must be True or False): ", s);
  }
  std::vector<int64_t> shape() {
    expect('(');
    std::vector<int64_t> dims;
    while (!take(')')) {
      skip_space();
      SR_CHECK(i < s.size() && std::isdigit((unsigned char)s[i]), where, ": malformed .npy header (a shape holds "
               "non-negative integers): ", s);
      int64_t d = 0;
      while (i < s.size() && std::isdigit((unsigned char)s[i])) {
        SR_CHECK(d <= (std::numeric_limits<int64_t>::max() - 9) / 10, where, ": .npy shape dimension too large: ", s);
        d = d * 10 + (s[i++] - '0');
      }
      dims.push_back(d);
      SR_CHECK(dims.size() <= (size_t)kMaxRank, where, ": .npy array of rank over ", kMaxRank, ": ", s);
      if (!take(',')) {
        expect(')');
        break;
      }
    }
    return dims;
  }
};

template <typename T>
T load_le(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // little-endian host (checked in parse_npy)
  return v;
}

uint32_t le32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

}  // namespace

NpyArray parse_npy(const uint8_t* data, size_t size, const std::string& where, int64_t max_elements) {
  static_assert(std::numeric_limits<double>::is_iec559, "float64 must be IEEE 754");
  const uint16_t probe = 1;
  uint8_t first;
  std::memcpy(&first, &probe, 1);
  SR_CHECK(first == 1, where, ": reading .npy needs a little-endian host");
  SR_CHECK(size >= 10 && std::memcmp(data, kMagic, 6) == 0, where, ": not a .npy array (no \\x93NUMPY magic)");
  const int major = data[6];
  SR_CHECK(major >= 1 && major <= 3, where, ": .npy format version ", major, ".", int(data[7]), " is not supported");
  const size_t prefix = major == 1 ? 10 : 12;
  SR_CHECK(size >= prefix, where, ": truncated .npy header");
  const uint64_t header_len = major == 1 ? uint64_t(data[8] | data[9] << 8) : le32(data + 8);
  SR_CHECK(header_len <= size - prefix, where, ": .npy header of ", header_len, " bytes runs past the end (",
           size, " bytes)");
  const std::string header(reinterpret_cast<const char*>(data + prefix), header_len);
  HeaderParser p{header, where};
  std::string descr;
  bool fortran = false, have_descr = false, have_order = false, have_shape = false;
  std::vector<int64_t> shape;
  p.expect('{');
  while (!p.take('}')) {
    const std::string key = p.quoted();
    p.expect(':');
    if (key == "descr" && !have_descr) {
      descr = p.quoted();
      have_descr = true;
    } else if (key == "fortran_order" && !have_order) {
      fortran = p.boolean();
      have_order = true;
    } else if (key == "shape" && !have_shape) {
      shape = p.shape();
      have_shape = true;
    } else {
      fail(where, ": .npy header key '", key, "' is unknown or repeated: ", header);
    }
    if (!p.take(',')) {
      p.expect('}');
      break;
    }
  }
  p.skip_space();
  SR_CHECK(p.i == header.size(), where, ": text after the .npy header's dictionary: ", header);
  SR_CHECK(have_descr && have_order && have_shape, where, ": .npy header lacks 'descr', 'fortran_order' or 'shape': ",
           header);
  SR_CHECK(descr == "<f8" || descr == "<f4", where, ": .npy dtype '", descr, "' is not supported (only little-endian "
           "float64 '<f8' and float32 '<f4'", descr == "|O" ? "; object arrays are pickles and are never loaded" : "",
           ")");
  NpyArray a;
  a.shape = shape;
  std::string shape_text = "(";
  for (int64_t d : shape) shape_text += std::to_string(d) + ",";
  shape_text += ")";
  int64_t n = 1;
  for (int64_t d : shape) {
    SR_CHECK(d == 0 || n <= max_elements / d, where, ": .npy array of shape ", shape_text, " holds more than ",
             max_elements, " values");
    n *= d;
  }
  const size_t item = descr == "<f8" ? 8 : 4;
  const uint64_t body = size - prefix - header_len;
  SR_CHECK(body == (uint64_t)n * item, where, ": .npy data is ", body, " bytes, but its shape and dtype '", descr,
           "' need ", (uint64_t)n * item);
  const uint8_t* src = data + prefix + header_len;
  std::vector<double> raw(n);
  for (int64_t k = 0; k < n; ++k)
    raw[k] = item == 8 ? load_le<double>(src + 8 * k) : (double)load_le<float>(src + 4 * k);
  if (!fortran || shape.size() < 2) {
    a.values = std::move(raw);
    return a;
  }
  // Fortran order: the first axis fastest. Walk the C-order index and read its column-major offset.
  a.values.resize(n);
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t off = 0, stride = 1;
    for (size_t d = 0; d < shape.size(); ++d) {
      off += idx[d] * stride;
      stride *= shape[d];
    }
    a.values[k] = raw[off];
    for (int d = (int)shape.size() - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return a;
}

std::map<std::string, NpyArray> read_npz(const std::string& path, int64_t max_elements) {
  const FileByteSource source(path);
  SR_CHECK(source.size() >= 4, path, ": not an .npz archive (", source.size(), " bytes)");
  uint8_t head[4];
  source.read(0, 4, head);
  SR_CHECK(looks_like_zip(head, 4), path, ": not an .npz archive (a zip of .npy arrays)");
  ZipReadLimits limits;
  limits.max_entries = 4096;
  const ZipArchive zip(source, limits);
  // Every array's bytes together, from the central directory, before any is read: a small
  // file must not make the reader inflate gigabytes.
  const uint64_t max_bytes = 8 * (uint64_t)max_elements + (1u << 20);
  uint64_t total = 0;
  for (const ZipEntry& e : zip.entries()) {
    total += std::min<uint64_t>(e.uncompressed_size, max_bytes + 1);
    SR_CHECK(total <= max_bytes, path, ": its arrays hold more than ", max_bytes, " bytes together (entry '", e.name,
             "' declares ", e.uncompressed_size, ")");
  }
  std::map<std::string, NpyArray> out;
  for (const ZipEntry& e : zip.entries()) {
    const std::string where = path + ": entry '" + e.name + "'";
    SR_CHECK(e.name.size() > 4 && e.name.compare(e.name.size() - 4, 4, ".npy") == 0, where,
             " is not a .npy array (an .npz holds <name>.npy entries only)");
    const std::vector<uint8_t> bytes = zip.read(e, max_bytes);
    out[e.name.substr(0, e.name.size() - 4)] = parse_npy(bytes.data(), bytes.size(), where, max_elements);
  }
  return out;
}

namespace {

void put16(std::string& s, uint32_t v) {
  s += char(v & 0xff);
  s += char(v >> 8 & 0xff);
}
void put32(std::string& s, uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}

std::string npy_bytes(const NpyArray& a) {
  SR_CHECK((int64_t)a.values.size() == a.numel(), "write_npz: an array of shape rank ", a.shape.size(), " has ",
           a.values.size(), " values, its shape needs ", a.numel());
  std::string shape = "(";
  for (size_t d = 0; d < a.shape.size(); ++d) shape += std::to_string(a.shape[d]) + (a.shape.size() == 1 ? "," : d + 1 < a.shape.size() ? ", " : "");
  shape += ")";
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so that magic + version + length + header is a multiple of 64, ending in '\n'.
  const size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += char(1);
  out += char(0);
  put16(out, (uint32_t)header.size());
  out += header;
  out.append(reinterpret_cast<const char*>(a.values.data()), a.values.size() * sizeof(double));
  return out;
}

}  // namespace

void write_npz(const std::string& path, const std::map<std::string, NpyArray>& arrays) {
  std::string file, directory;
  for (const auto& [name, array] : arrays) {
    const std::string entry = name + ".npy", body = npy_bytes(array);
    SR_CHECK(body.size() < 0xffffffffu && file.size() < 0x7fffffffu, "write_npz: '", path, "' would need zip64");
    const uint32_t crc = (uint32_t)crc32(0L, reinterpret_cast<const Bytef*>(body.data()), (uInt)body.size());
    const uint32_t offset = (uint32_t)file.size();
    // Local file header: version 2.0, no flags, stored, DOS date 1980-01-01 00:00.
    put32(file, 0x04034b50);
    put16(file, 20), put16(file, 0), put16(file, 0), put16(file, 0), put16(file, 0x21);
    put32(file, crc), put32(file, (uint32_t)body.size()), put32(file, (uint32_t)body.size());
    put16(file, (uint32_t)entry.size()), put16(file, 0);
    file += entry;
    file += body;
    put32(directory, 0x02014b50);
    put16(directory, 20), put16(directory, 20), put16(directory, 0), put16(directory, 0), put16(directory, 0);
    put16(directory, 0x21);
    put32(directory, crc), put32(directory, (uint32_t)body.size()), put32(directory, (uint32_t)body.size());
    put16(directory, (uint32_t)entry.size()), put16(directory, 0), put16(directory, 0), put16(directory, 0);
    put16(directory, 0), put32(directory, 0), put32(directory, offset);
    directory += entry;
  }
  const uint32_t cd_offset = (uint32_t)file.size();
  file += directory;
  put32(file, 0x06054b50);
  put16(file, 0), put16(file, 0), put16(file, (uint32_t)arrays.size()), put16(file, (uint32_t)arrays.size());
  put32(file, (uint32_t)directory.size()), put32(file, cd_offset), put16(file, 0);
  write_file_atomically(path, [&](std::FILE* f) {
    SR_CHECK(std::fwrite(file.data(), 1, file.size(), f) == file.size(), path, ": write failed");
  });
}

}  // namespace sr::data
