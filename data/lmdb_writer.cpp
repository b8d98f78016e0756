// LMDB file writing: records packed into leaf pages in key order, large values in overflow pages
// written as they come, branch levels built bottom-up, then the two meta pages (an empty one of
// transaction 0 and the database's of transaction 1, as a first commit leaves them).
#include "data/lmdb_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "engine/atomic_file.h"
#include "engine/error.h"

namespace sr::data {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kHeader = 16;
constexpr size_t kNode = 8;
constexpr size_t kMaxKey = 511;
// LMDB's node size limit for 4096-byte pages (two nodes must fit a page): a larger leaf entry
// keeps its value in overflow pages, as LMDB itself would.
constexpr size_t kNodeMax = ((kPage - kHeader) / 2 & ~size_t{1}) - 2;
constexpr uint16_t kBranch = 0x01, kLeaf = 0x02, kOverflow = 0x04, kMetaFlag = 0x08;
constexpr uint16_t kBigData = 0x01;
constexpr uint64_t kNoPage = ~uint64_t{0};

void put(uint8_t* b, int bytes, uint64_t v) {
  for (int i = 0; i < bytes; ++i) b[i] = uint8_t(v >> (8 * i));
}
size_t node_size(size_t key, size_t data) { return (kNode + key + data + 1) & ~size_t{1}; }

// One page being filled: entry pointers grow up from the header, nodes down from the end.
struct PageBuilder {
  std::vector<uint8_t> bytes = std::vector<uint8_t>(kPage, 0);
  size_t lower = kHeader, upper = kPage, count = 0;
  bool fits(size_t size) const { return lower + 2 + size <= upper; }
  // Appends a node (header fields, key, then `data`); the caller has checked fits().
  void add(uint32_t lo_hi, uint16_t flags, const std::string& key, const uint8_t* data, size_t data_size) {
    upper -= node_size(key.size(), data_size);
    put(&bytes[lower], 2, upper);
    lower += 2;
    ++count;
    put(&bytes[upper], 4, lo_hi);
    put(&bytes[upper + 4], 2, flags);
    put(&bytes[upper + 6], 2, key.size());
    std::memcpy(&bytes[upper + kNode], key.data(), key.size());
    if (data_size) std::memcpy(&bytes[upper + kNode + key.size()], data, data_size);
  }
  void finish(uint64_t pgno, uint16_t flags) {
    put(&bytes[0], 8, pgno);
    put(&bytes[10], 2, flags);
    put(&bytes[12], 2, lower);
    put(&bytes[14], 2, upper);
  }
};

struct Child {
  uint64_t page;
  std::string first_key;
};

class PageFile {
 public:
  explicit PageFile(std::FILE* f) : f_(f) {}
  uint64_t next() const { return next_; }
  void write(const uint8_t* data, size_t size) {  // whole pages
    errno = 0;
    SR_CHECK(std::fwrite(data, 1, size, f_) == size, "write failed: ", std::strerror(errno));
    next_ += size / kPage;
  }

 private:
  std::FILE* f_;
  uint64_t next_ = 0;
};

}  // namespace

void write_lmdb(const std::string& folder, size_t count, const std::function<LmdbRecord(size_t)>& record) {
  namespace fs = std::filesystem;
  const std::string file = (fs::path(folder) / "data.mdb").string();
  std::error_code ec;
  SR_CHECK(!fs::exists(file, ec), file, ": already exists; srengine does not overwrite an LMDB database (remove ",
           "it or choose another folder)");
  SR_CHECK(count > 0, folder, ": no records to write");
  fs::create_directories(folder, ec);
  SR_CHECK(fs::is_directory(folder, ec), folder, ": cannot create the folder");
  write_file_atomically(
      file,
      [&](std::FILE* f) {
        PageFile out(f);
        const std::vector<uint8_t> blank(2 * kPage, 0);
        out.write(blank.data(), blank.size());  // the meta pages, written last
        uint64_t leaf_pages = 0, branch_pages = 0, overflow_pages = 0;
        std::vector<Child> level;
        PageBuilder page;
        std::string first_key, last_key;
        auto flush_leaf = [&] {
          page.finish(out.next(), kLeaf);
          level.push_back({out.next(), first_key});
          out.write(page.bytes.data(), kPage);
          ++leaf_pages;
          page = PageBuilder();
        };
        for (size_t i = 0; i < count; ++i) {
          const LmdbRecord r = record(i);
          SR_CHECK(!r.key.empty() && r.key.size() <= kMaxKey, folder, ": key '", r.key, "' is ", r.key.size(),
                   " bytes (LMDB keys are 1..", kMaxKey, ")");
          SR_CHECK(r.value.size() <= 0xFFFFFFFFu, folder, ": the value of key '", r.key, "' is ", r.value.size(),
                   " bytes (4 GiB at most)");
          SR_CHECK(i == 0 || last_key < r.key, folder, ": key '", r.key, "' comes after '", last_key,
                   "' (keys must be distinct and in increasing order)");
          last_key = r.key;
          const bool big = kNode + r.key.size() + r.value.size() > kNodeMax;
          uint8_t ref[8] = {};
          if (big) {
            // The value's overflow run goes out now, ahead of the leaf that points to it.
            const size_t n = (kHeader + r.value.size() + kPage - 1) / kPage;
            std::vector<uint8_t> run(n * kPage, 0);
            put(&run[0], 8, out.next());
            put(&run[10], 2, kOverflow);
            put(&run[12], 4, n);
            std::memcpy(&run[kHeader], r.value.data(), r.value.size());
            put(ref, 8, out.next());
            out.write(run.data(), run.size());
            overflow_pages += n;
          }
          const size_t data_size = big ? 8 : r.value.size();
          if (!page.fits(node_size(r.key.size(), data_size))) flush_leaf();
          if (page.count == 0) first_key = r.key;
          page.add(uint32_t(r.value.size()), big ? kBigData : 0, r.key, big ? ref : r.value.data(), data_size);
        }
        flush_leaf();
        // Branch levels until one page holds the root. A branch's first key is stored empty, and
        // every branch page gets two children at least (LMDB's search expects it).
        uint16_t depth = 1;
        while (level.size() > 1) {
          std::vector<std::vector<Child>> groups(1);
          size_t used = kHeader;
          for (const Child& c : level) {
            const size_t need = 2 + node_size(groups.back().empty() ? 0 : c.first_key.size(), 0);
            if (used + need > kPage) {
              groups.emplace_back();
              used = kHeader + 2 + node_size(0, 0);
            } else {
              used += need;
            }
            groups.back().push_back(c);
          }
          if (groups.size() > 1 && groups.back().size() == 1) {
            groups.back().insert(groups.back().begin(), groups[groups.size() - 2].back());
            groups[groups.size() - 2].pop_back();
          }
          std::vector<Child> up;
          for (const std::vector<Child>& g : groups) {
            PageBuilder b;
            for (size_t i = 0; i < g.size(); ++i)
              b.add(uint32_t(g[i].page), uint16_t(g[i].page >> 32), i == 0 ? std::string() : g[i].first_key,
                    nullptr, 0);
            b.finish(out.next(), kBranch);
            up.push_back({out.next(), g[0].first_key});
            out.write(b.bytes.data(), kPage);
            ++branch_pages;
          }
          level = std::move(up);
          ++depth;
        }
        const uint64_t root = level[0].page, last_page = out.next() - 1;
        std::vector<uint8_t> metas(2 * kPage, 0);
        for (int m = 0; m < 2; ++m) {
          uint8_t* p = &metas[m * kPage];
          put(p, 8, m);
          put(p + 10, 2, kMetaFlag);
          uint8_t* meta = p + kHeader;
          put(meta, 4, 0xBEEFC0DEu);
          put(meta + 4, 4, 1);
          // The map size a later writer starts from: room to add as much again.
          put(meta + 16, 8, std::max<uint64_t>(2 * out.next() * kPage, uint64_t{1} << 20));
          put(meta + 24, 4, kPage);  // the free database's pad field holds the page size
          put(meta + 28, 2, 0x08);   // the free database has integer keys; it is empty
          put(meta + 24 + 40, 8, kNoPage);
          uint8_t* db = meta + 72;   // the main database: empty in transaction 0
          if (m == 0) {
            put(db + 40, 8, kNoPage);
            put(meta + 120, 8, 1);
          } else {
            put(db + 6, 2, depth);
            put(db + 8, 8, branch_pages);
            put(db + 16, 8, leaf_pages);
            put(db + 24, 8, overflow_pages);
            put(db + 32, 8, count);
            put(db + 40, 8, root);
            put(meta + 120, 8, last_page);
            put(meta + 128, 8, 1);
          }
        }
        SR_CHECK(std::fseek(f, 0, SEEK_SET) == 0, "seek failed: ", std::strerror(errno));
        SR_CHECK(std::fwrite(metas.data(), 1, metas.size(), f) == metas.size(), "write failed: ",
                 std::strerror(errno));
        SR_CHECK(std::fflush(f) == 0, "write failed: ", std::strerror(errno));
      },
      Durability::replaced_on_success);
}

}  // namespace sr::data
