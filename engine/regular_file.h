// Reading files that must be regular files: a FIFO given as a config or weights path would
// block open() forever, a folder or a device never ends. RegularFile opens without
// blocking, refuses anything but a regular file, and reads exact byte ranges, so a reader
// can check a header before it reads (or allocates for) the rest of the file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sr {

class RegularFile {
 public:
  // `what` starts every error message ("config", "safetensors"); empty: the path alone.
  // Errors: no such file, a folder, not a regular file (pipe, socket, device), cannot open.
  RegularFile(const std::string& path, const std::string& what);
  ~RegularFile();
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Exactly n bytes at `offset` into dst; a short read is an error naming the file.
  void read_at(uint64_t offset, void* dst, size_t n) const;
  // The whole file; an error when it is larger than max_bytes.
  std::vector<uint8_t> read_all(uint64_t max_bytes = UINT64_MAX) const;
  // The message prefix: "<what> '<path>'" or "<path>".
  std::string where() const;

 private:
  int fd_ = -1;
  std::string path_, what_;
  uint64_t size_ = 0;
};

}  // namespace sr
