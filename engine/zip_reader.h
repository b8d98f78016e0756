// A read-only zip archive reader, as much of the format as torch.save's checkpoints (and a
// re-zipped copy of one) use: stored and deflated entries, zip64 sizes and offsets, no
// encryption, no multi-disk. It reads the central directory first and each entry only when
// asked, from a ByteSource (a file, read piecewise, or a buffer), so a huge or hostile file is
// validated before its data is loaded. Every malformed field is an sr::Error naming the source.
#pragma once
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace sr {

// Random-access bytes: read(offset, n) fills n bytes or throws an sr::Error naming the source.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  virtual void read(uint64_t offset, size_t n, uint8_t* dst) const = 0;
  virtual const std::string& name() const = 0;
};

// A buffer the caller keeps alive.
class MemoryByteSource : public ByteSource {
 public:
  MemoryByteSource(const uint8_t* data, size_t size, std::string name)
      : data_(data), size_(size), name_(std::move(name)) {}
  uint64_t size() const override { return size_; }
  void read(uint64_t offset, size_t n, uint8_t* dst) const override;
  const std::string& name() const override { return name_; }

 private:
  const uint8_t* data_;
  size_t size_;
  std::string name_;
};

// A file on disk, read on demand (never whole).
class FileByteSource : public ByteSource {
 public:
  explicit FileByteSource(const std::string& path);  // an error names a missing or unreadable file
  uint64_t size() const override { return size_; }
  void read(uint64_t offset, size_t n, uint8_t* dst) const override;
  const std::string& name() const override { return name_; }

 private:
  mutable std::ifstream in_;
  uint64_t size_ = 0;
  std::string name_;
};

struct ZipEntry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflated
  uint32_t crc32 = 0;
  uint64_t compressed_size = 0, uncompressed_size = 0;
  uint64_t local_header_offset = 0;
};

struct ZipReadLimits {
  uint64_t max_central_directory_bytes = 64u << 20;
  uint64_t max_entries = 1u << 20;
};

class ZipArchive {
 public:
  // Reads and checks the end-of-central-directory record (zip64 when present) and the central
  // directory: every entry's name, sizes and offset must lie inside the file, names are unique.
  explicit ZipArchive(const ByteSource& source, const ZipReadLimits& limits = {});

  const std::vector<ZipEntry>& entries() const { return entries_; }
  const ZipEntry* find(const std::string& name) const;  // nullptr when absent
  // The entry's uncompressed bytes; refused (before reading) when larger than max_bytes.
  // verify_crc compares the CRC-32 with the central directory's.
  std::vector<uint8_t> read(const ZipEntry& entry, uint64_t max_bytes, bool verify_crc = true) const;

 private:
  const ByteSource& source_;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string, size_t> index_;  // name -> entries_ position
  uint64_t central_directory_offset_ = 0;  // entries' data must end before it
};

// True when the bytes start like a zip archive (a local file header, "PK\3\4").
bool looks_like_zip(const uint8_t* data, size_t size);

}  // namespace sr
