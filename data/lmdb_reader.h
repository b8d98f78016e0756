// A read-only reader of LMDB databases (the data.mdb of BasicSR's create_lmdb.py folders) that
// parses the file format itself, without liblmdb: every offset, page number, count and length is
// checked against the file before use, so a corrupt or hostile file is an sr::Error naming it.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace sr::data {

// Opens <folder>/data.mdb read-only (pread; lock.mdb is neither read nor written), picks the newer
// valid meta page and walks the main database's B+tree once, recording where each value lies.
// Only the main (unnamed) database of a 64-bit little-endian file is read: named sub-databases,
// DUPSORT / DUPFIXED databases and LEAF2 pages are refused. read() is const and uses pread
// alone, so loader workers may call it concurrently.
class LmdbReader {
 public:
  explicit LmdbReader(const std::string& folder);
  ~LmdbReader();
  LmdbReader(const LmdbReader&) = delete;
  LmdbReader& operator=(const LmdbReader&) = delete;

  const std::string& folder() const { return folder_; }
  const std::string& file() const { return file_; }  // <folder>/data.mdb
  size_t size() const { return records_.size(); }
  bool contains(const std::string& key) const { return records_.count(key) != 0; }
  std::vector<std::string> keys() const;  // sorted bytewise
  // The value's bytes; a missing key is an error naming <folder>:<key>.
  std::vector<uint8_t> read(const std::string& key) const;

 private:
  struct Record {
    uint64_t offset = 0;  // of the value's first byte in the file
    uint64_t size = 0;
  };
  void open_meta();
  void walk_tree();
  void read_at(uint64_t offset, size_t size, uint8_t* out, const char* what) const;

  std::string folder_, file_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  uint32_t page_size_ = 0;
  uint64_t last_page_ = 0;   // highest page number the chosen meta page says is in use
  uint64_t root_ = 0;        // main database root page, kNoPage when empty
  uint64_t entries_ = 0;     // the meta page's record count
  uint32_t depth_ = 0;       // the meta page's tree depth
  uint64_t txnid_ = 0;
  std::unordered_map<std::string, Record> records_;
};

}  // namespace sr::data
