// Zip reading (see zip_reader.h). Order of checks: the end record and its zip64 twin, the
// central directory's extent, each central entry (signature, flags, method, name, zip64
// extra, data range), unique names. An entry's local header is read only when the entry is.
#include "engine/zip_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "engine/error.h"

namespace sr {

namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50,
                   kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr size_t kLocalHeaderBytes = 30, kCentralBytes = 46, kEndBytes = 22, kZip64EndBytes = 56,
                 kZip64LocatorBytes = 20;

uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t le32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }
uint64_t le64(const uint8_t* p) { return uint64_t(le32(p)) | uint64_t(le32(p + 4)) << 32; }

std::vector<uint8_t> read_range(const ByteSource& src, uint64_t offset, uint64_t n) {
  std::vector<uint8_t> out(n);
  if (n) src.read(offset, n, out.data());
  return out;
}

// Fields a zip64 extra record (id 1) may hold, in order, each present only where the
// 32-bit field is saturated.
void apply_zip64_extra(const uint8_t* extra, size_t n, ZipEntry& e, bool need_unc, bool need_comp, bool need_off,
                       const std::string& where) {
  size_t pos = 0;
  while (pos + 4 <= n) {
    const uint16_t id = le16(extra + pos), len = le16(extra + pos + 2);
    SR_CHECK(pos + 4 + len <= n, where, ": an extra field runs past its record");
    if (id == 0x0001) {
      const uint8_t* f = extra + pos + 4;
      size_t k = 0;
      auto take = [&](uint64_t& v) {
        SR_CHECK(k + 8 <= len, where, ": the zip64 extra field is too short");
        v = le64(f + k);
        k += 8;
      };
      if (need_unc) take(e.uncompressed_size);
      if (need_comp) take(e.compressed_size);
      if (need_off) take(e.local_header_offset);
      return;
    }
    pos += 4 + len;
  }
  fail(where, ": 32-bit sizes are saturated but there is no zip64 extra field");
}

}  // namespace

void MemoryByteSource::read(uint64_t offset, size_t n, uint8_t* dst) const {
  SR_CHECK(offset <= size_ && n <= size_ - offset, "'", name_, "': read of ", n, " bytes at offset ", offset,
           " lies past the end (", size_, " bytes; truncated file?)");
  std::memcpy(dst, data_ + offset, n);
}

FileByteSource::FileByteSource(const std::string& path) : name_(path) {
  std::error_code ec;
  SR_CHECK(!std::filesystem::is_directory(path, ec), "'", path, "': is a folder, not a file");
  in_.open(path, std::ios::binary);
  SR_CHECK(in_.good(), "'", path, "': cannot open the file (missing or unreadable)");
  in_.seekg(0, std::ios::end);
  const std::streamoff end = in_.tellg();
  SR_CHECK(end >= 0, "'", path, "': cannot determine the file size");
  size_ = (uint64_t)end;
}

void FileByteSource::read(uint64_t offset, size_t n, uint8_t* dst) const {
  SR_CHECK(offset <= size_ && n <= size_ - offset, "'", name_, "': read of ", n, " bytes at offset ", offset,
           " lies past the end (", size_, " bytes; truncated file?)");
  if (n == 0) return;
  in_.clear();
  in_.seekg((std::streamoff)offset);
  in_.read(reinterpret_cast<char*>(dst), (std::streamsize)n);
  SR_CHECK(in_.good(), "'", name_, "': read error at offset ", offset);
}

bool looks_like_zip(const uint8_t* data, size_t size) { return size >= 4 && le32(data) == kLocalHeaderSig; }

ZipArchive::ZipArchive(const ByteSource& source, const ZipReadLimits& limits) : source_(source) {
  const std::string where = str_cat("zip '", source.name(), "'");
  const uint64_t size = source.size();
  SR_CHECK(size >= kEndBytes, where, ": ", size, " bytes is too short for a zip archive (truncated?)");

  // The end record sits in the last 22 + 65535 (comment) bytes; search backwards.
  const uint64_t tail_len = std::min<uint64_t>(size, kEndBytes + 0xffff);
  const std::vector<uint8_t> tail = read_range(source, size - tail_len, tail_len);
  int64_t at = -1;
  for (int64_t i = (int64_t)tail_len - (int64_t)kEndBytes; i >= 0; --i) {
    if (le32(&tail[i]) == kEndSig && (uint64_t)i + kEndBytes + le16(&tail[i + 20]) <= tail_len) {
      at = i;
      break;
    }
  }
  SR_CHECK(at >= 0, where, ": no end-of-central-directory record (not a zip archive, or truncated)");
  const uint8_t* end = &tail[at];
  const uint64_t end_offset = size - tail_len + (uint64_t)at;
  uint64_t count = le16(end + 10), cd_size = le32(end + 12), cd_offset = le32(end + 16);
  SR_CHECK(le16(end + 4) == 0 && le16(end + 6) == 0 && le16(end + 8) == le16(end + 10), where,
           ": multi-disk archives are not supported");
  uint64_t cd_limit = end_offset;  // the central directory ends before this

  // zip64: a locator just before the end record points at the zip64 end record.
  if (end_offset >= kZip64LocatorBytes) {
    uint8_t loc[kZip64LocatorBytes];
    source.read(end_offset - kZip64LocatorBytes, kZip64LocatorBytes, loc);
    if (le32(loc) == kZip64LocatorSig) {
      const uint64_t z_off = le64(loc + 8);
      SR_CHECK(z_off <= end_offset - kZip64LocatorBytes && end_offset - kZip64LocatorBytes - z_off >= kZip64EndBytes,
               where, ": the zip64 end record's offset ", z_off, " is out of range");
      uint8_t z[kZip64EndBytes];
      source.read(z_off, kZip64EndBytes, z);
      SR_CHECK(le32(z) == kZip64EndSig, where, ": no zip64 end record at offset ", z_off);
      SR_CHECK(le32(z + 16) == 0 && le32(z + 20) == 0 && le64(z + 24) == le64(z + 32), where,
               ": multi-disk archives are not supported");
      count = le64(z + 32);
      cd_size = le64(z + 40);
      cd_offset = le64(z + 48);
      cd_limit = z_off;
    } else {
      SR_CHECK(count != 0xffff && cd_size != 0xffffffffu && cd_offset != 0xffffffffu, where,
               ": the end record is saturated but there is no zip64 locator");
    }
  }
  SR_CHECK(cd_offset <= cd_limit && cd_size <= cd_limit - cd_offset, where, ": the central directory (", cd_size,
           " bytes at offset ", cd_offset, ") lies outside the archive (truncated file?)");
  SR_CHECK(cd_size <= limits.max_central_directory_bytes, where, ": the central directory is ", cd_size,
           " bytes, over the limit of ", limits.max_central_directory_bytes);
  SR_CHECK(count <= limits.max_entries && count <= cd_size / kCentralBytes, where, ": ", count,
           " entries cannot fit a central directory of ", cd_size, " bytes");
  central_directory_offset_ = cd_offset;

  const std::vector<uint8_t> cd = read_range(source, cd_offset, cd_size);
  size_t pos = 0;
  entries_.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    const std::string ew = str_cat(where, ": central directory entry ", i);
    SR_CHECK(pos + kCentralBytes <= cd.size(), ew, " runs past the central directory");
    const uint8_t* h = &cd[pos];
    SR_CHECK(le32(h) == kCentralSig, ew, " has a bad signature (corrupt archive)");
    const uint16_t flags = le16(h + 8), name_len = le16(h + 28), extra_len = le16(h + 30),
                   comment_len = le16(h + 32);
    SR_CHECK(pos + kCentralBytes + name_len + extra_len + comment_len <= cd.size(), ew,
             " runs past the central directory");
    ZipEntry e;
    e.name.assign(reinterpret_cast<const char*>(h + kCentralBytes), name_len);
    const std::string nw = str_cat(where, ": entry '", e.name, "'");
    SR_CHECK(!(flags & 0x1), nw, " is encrypted (not supported)");
    e.method = le16(h + 10);
    SR_CHECK(e.method == 0 || e.method == 8, nw, " uses compression method ", e.method,
             " (only stored and deflated are supported)");
    e.crc32 = le32(h + 16);
    e.compressed_size = le32(h + 20);
    e.uncompressed_size = le32(h + 24);
    e.local_header_offset = le32(h + 42);
    const bool need_unc = e.uncompressed_size == 0xffffffffu, need_comp = e.compressed_size == 0xffffffffu,
               need_off = e.local_header_offset == 0xffffffffu;
    if (need_unc || need_comp || need_off)
      apply_zip64_extra(h + kCentralBytes + name_len, extra_len, e, need_unc, need_comp, need_off, nw);
    SR_CHECK(e.local_header_offset < cd_offset && e.compressed_size <= cd_offset - e.local_header_offset, nw,
             ": its data (", e.compressed_size, " bytes at offset ", e.local_header_offset,
             ") lies outside the archive's data area (truncated or corrupt file?)");
    SR_CHECK(e.method != 0 || e.compressed_size == e.uncompressed_size, nw, " is stored but its sizes differ (",
             e.compressed_size, " vs ", e.uncompressed_size, ")");
    SR_CHECK(index_.emplace(e.name, entries_.size()).second, nw, " appears twice");
    entries_.push_back(std::move(e));
    pos += kCentralBytes + name_len + extra_len + comment_len;
  }
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

std::vector<uint8_t> ZipArchive::read(const ZipEntry& e, uint64_t max_bytes, bool verify_crc) const {
  const std::string where = str_cat("zip '", source_.name(), "': entry '", e.name, "'");
  SR_CHECK(e.uncompressed_size <= max_bytes, where, " is ", e.uncompressed_size, " bytes, over the expected ",
           max_bytes);
  uint8_t h[kLocalHeaderBytes];
  SR_CHECK(e.local_header_offset <= central_directory_offset_ &&
               central_directory_offset_ - e.local_header_offset >= kLocalHeaderBytes,
           where, ": its local header lies outside the archive");
  source_.read(e.local_header_offset, kLocalHeaderBytes, h);
  SR_CHECK(le32(h) == kLocalHeaderSig, where, ": bad local header signature at offset ", e.local_header_offset);
  SR_CHECK(le16(h + 8) == e.method, where, ": the local header's method ", le16(h + 8),
           " differs from the central directory's ", e.method);
  // The local header names the same entry (several central entries pointing at one local
  // header would otherwise read one compressed stream many times over).
  const uint64_t name_len = le16(h + 26);
  SR_CHECK(name_len == e.name.size() && e.local_header_offset + kLocalHeaderBytes + name_len <= central_directory_offset_,
           where, ": the local header's name length ", name_len, " differs from the central directory's");
  std::vector<uint8_t> local_name = read_range(source_, e.local_header_offset + kLocalHeaderBytes, name_len);
  SR_CHECK(std::equal(local_name.begin(), local_name.end(), e.name.begin()), where,
           ": the local header names another entry");
  const uint64_t data = e.local_header_offset + kLocalHeaderBytes + le16(h + 26) + le16(h + 28);
  SR_CHECK(data <= central_directory_offset_ && e.compressed_size <= central_directory_offset_ - data, where,
           ": its data (", e.compressed_size, " bytes at offset ", data,
           ") runs into the central directory (truncated or corrupt file?)");

  std::vector<uint8_t> out;
  if (e.method == 0) {
    out = read_range(source_, data, e.uncompressed_size);
  } else {
    // Raw deflate, fed in chunks; the output grows only as data arrives, so a lying size
    // field costs no memory that the stream does not really produce.
    z_stream zs{};
    SR_CHECK(inflateInit2(&zs, -MAX_WBITS) == Z_OK, where, ": zlib inflateInit2 failed");
    struct Closer {
      z_stream* z;
      ~Closer() { inflateEnd(z); }
    } closer{&zs};
    constexpr uint64_t kChunk = 1u << 20;
    std::vector<uint8_t> in;
    uint64_t consumed = 0;
    int rc = Z_OK;
    out.resize(std::min<uint64_t>(e.uncompressed_size, 16u << 20));
    uint64_t produced = 0;
    while (rc != Z_STREAM_END) {
      if (zs.avail_in == 0) {
        SR_CHECK(consumed < e.compressed_size, where, ": the deflate stream ends early (corrupt or truncated)");
        const uint64_t n = std::min(kChunk, e.compressed_size - consumed);
        in = read_range(source_, data + consumed, n);
        consumed += n;
        zs.next_in = in.data();
        zs.avail_in = (uInt)n;
      }
      if (produced == out.size()) {
        // One spare byte beyond the declared size detects a stream that is too long.
        SR_CHECK(produced <= e.uncompressed_size, where, ": inflates to more than its declared ",
                 e.uncompressed_size, " bytes");
        out.resize(std::min<uint64_t>(e.uncompressed_size + 1, produced + std::max<uint64_t>(produced, 1u << 20)));
      }
      zs.next_out = out.data() + produced;
      zs.avail_out = (uInt)std::min<uint64_t>(out.size() - produced, 1u << 30);
      const uInt before = zs.avail_out;
      rc = inflate(&zs, Z_NO_FLUSH);
      produced += before - zs.avail_out;
      SR_CHECK(rc == Z_OK || rc == Z_STREAM_END || (rc == Z_BUF_ERROR && zs.avail_in == 0), where,
               ": corrupt deflate data (zlib: ", zs.msg ? zs.msg : "error", ")");
    }
    SR_CHECK(produced == e.uncompressed_size, where, ": inflates to ", produced, " bytes, not the declared ",
             e.uncompressed_size);
    out.resize(produced);
  }
  if (verify_crc) {
    uLong crc = crc32(0L, Z_NULL, 0);
    for (uint64_t off = 0; off < out.size(); off += 1u << 30)
      crc = crc32(crc, out.data() + off, (uInt)std::min<uint64_t>(out.size() - off, 1u << 30));
    SR_CHECK((uint32_t)crc == e.crc32, where, ": CRC-32 mismatch (the file is corrupt)");
  }
  return out;
}

}  // namespace sr
