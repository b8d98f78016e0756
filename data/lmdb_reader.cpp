// LMDB file parsing: the two meta pages, the main database's branch and leaf pages and the
// overflow pages of large values, each field checked against the file before it is followed.
#include "data/lmdb_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unordered_set>
#include <utility>

#include "engine/error.h"

namespace sr::data {
namespace {

// The on-disk layout of a 64-bit little-endian LMDB file (format version 1).
constexpr uint32_t kMagic = 0xBEEFC0DEu;
constexpr uint32_t kVersion = 1;
constexpr size_t kPageHeader = 16;   // page number (8), pad (2), flags (2), lower/upper or page count (4)
constexpr size_t kMetaSize = 136;    // magic, version, address, map size, 2 databases of 48, last page, txnid
constexpr size_t kNodeHeader = 8;    // data size or child page (lo, hi), flags, key size
constexpr uint16_t kPageBranch = 0x01, kPageLeaf = 0x02, kPageOverflow = 0x04, kPageMeta = 0x08;
constexpr uint16_t kPageLeaf2 = 0x20, kPageSub = 0x40;
constexpr uint16_t kNodeBigData = 0x01, kNodeSubData = 0x02, kNodeDupData = 0x04;
constexpr uint16_t kDbDupSort = 0x04, kDbDupFixed = 0x10;
constexpr uint64_t kNoPage = ~uint64_t{0};
constexpr uint32_t kMinPageSize = 512, kMaxPageSize = 32768;  // LMDB's own bounds
constexpr size_t kMaxKeySize = 511;                            // LMDB's default MDB_MAXKEYSIZE
// Deeper than any real tree: 2^32 records of 4 KB pages need about 8 levels.
constexpr uint32_t kMaxDepth = 32;

uint16_t u16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint64_t u64(const uint8_t* p) { return uint64_t(u32(p)) | uint64_t(u32(p + 4)) << 32; }

struct Meta {
  uint32_t page_size = 0;
  uint16_t main_flags = 0;
  uint16_t depth = 0;
  uint64_t entries = 0, root = 0, last_page = 0, txnid = 0;
};

// A meta page's fields (`page` holds its first kPageHeader + kMetaSize bytes), or the reason
// it is not a valid meta page. The file's length is not one: LMDB may leave the file shorter
// than the last page a meta page counts (pages allocated and freed in one commit), so a cut
// file shows where a page the tree needs lies past its end.
std::string parse_meta(const uint8_t* page, uint64_t index, Meta* m) {
  const uint8_t* meta = page + kPageHeader;
  const uint32_t magic = u32(meta);
  if (magic == 0xDEC0EFBEu) return "has the magic of a big-endian file (not supported)";
  // A 32-bit build's page header is 12 bytes: its magic sits 4 bytes earlier.
  if (magic != kMagic && u32(page + 12) == kMagic) return "is a 32-bit LMDB file's (not supported)";
  if (magic != kMagic) return str_cat("has no LMDB magic (0x", std::hex, magic, std::dec, ")");
  if (!(u16(page + 10) & kPageMeta)) return "not marked as a meta page";
  if (u64(page) != index) return str_cat("holds page number ", u64(page), " instead of ", index);
  if (u32(meta + 4) != kVersion) return str_cat("has format version ", u32(meta + 4), " (only version 1 is read)");
  // The page size is kept in the free database's pad field, the main database follows it.
  m->page_size = u32(meta + 24);
  const uint8_t* main_db = meta + 24 + 48;
  m->main_flags = u16(main_db + 4);
  m->depth = u16(main_db + 6);
  m->entries = u64(main_db + 32);
  m->root = u64(main_db + 40);
  m->last_page = u64(meta + 120);
  m->txnid = u64(meta + 128);
  const uint32_t ps = m->page_size;
  if (ps < kMinPageSize || ps > kMaxPageSize || (ps & (ps - 1)) != 0)
    return str_cat("has page size ", ps, " (a power of two from ", kMinPageSize, " to ", kMaxPageSize, " expected)");
  if (m->last_page < 1) return str_cat("says the last page is ", m->last_page);
  if (m->root == kNoPage) {
    if (m->entries != 0 || m->depth != 0)
      return str_cat("has no root page but ", m->entries, " records of depth ", m->depth);
  } else {
    if (m->root < 2 || m->root > m->last_page)
      return str_cat("has root page ", m->root, " outside pages 2..", m->last_page);
    if (m->depth < 1 || m->depth > kMaxDepth) return str_cat("has tree depth ", m->depth, " (1..", kMaxDepth, ")");
  }
  return "";
}

}  // namespace

LmdbReader::LmdbReader(const std::string& folder)
    : folder_(folder), file_((std::filesystem::path(folder) / "data.mdb").string()) {
  std::error_code ec;
  SR_CHECK(std::filesystem::is_directory(folder, ec), folder, ": LMDB folder does not exist (or is not a folder)");
  // O_NONBLOCK: a FIFO in data.mdb's place must not hang the open; fstat then refuses it.
  fd_ = ::open(file_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  SR_CHECK(fd_ >= 0, file_, ": cannot open: ", std::strerror(errno));
  try {
    struct stat st {};
    SR_CHECK(::fstat(fd_, &st) == 0, file_, ": cannot stat: ", std::strerror(errno));
    SR_CHECK(S_ISREG(st.st_mode), file_, ": is not a regular file");
    file_size_ = uint64_t(st.st_size);
    open_meta();
    walk_tree();
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

LmdbReader::~LmdbReader() {
  if (fd_ >= 0) ::close(fd_);
}

void LmdbReader::read_at(uint64_t offset, size_t size, uint8_t* out, const char* what) const {
  SR_CHECK(offset <= file_size_ && size <= file_size_ - offset, file_, ": ", what, " at byte ", offset, " (", size,
           " bytes) lies past the end of the ", file_size_, "-byte file");
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd_, out + done, size - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    SR_CHECK(n >= 0, file_, ": read error at byte ", offset + done, ": ", std::strerror(errno));
    SR_CHECK(n > 0, file_, ": ", what, " at byte ", offset, " is cut short: the file ended at byte ", offset + done,
             " (truncated while open?)");
    done += size_t(n);
  }
}

void LmdbReader::open_meta() {
  const size_t need = kPageHeader + kMetaSize;
  SR_CHECK(file_size_ >= need, file_, ": not an LMDB database: the file is ", file_size_, " bytes, too short for ",
           "a meta page");
  uint8_t buf[kPageHeader + kMetaSize];
  Meta metas[2];
  std::string why[2];
  read_at(0, need, buf, "meta page 0");
  why[0] = parse_meta(buf, 0, &metas[0]);
  // Meta page 1 lies one page in; without a valid meta page 0 its size is found by trying
  // each page size that page 1 could have. Where none holds one, the reason given is that of
  // the likeliest place: a page size whose page 1 has the magic, else 4096.
  std::vector<uint32_t> sizes;
  // LMDB writes both meta pages when it creates a file: one that ends before page 1 is whole
  // is cut (read as meta page 0 alone it would be the empty database of the first commit).
  SR_CHECK(!why[0].empty() || file_size_ >= 2 * uint64_t(metas[0].page_size), file_, ": truncated: the ", file_size_,
           "-byte file ends before its second meta page (pages of ", metas[0].page_size, " bytes)");
  if (why[0].empty()) sizes.push_back(metas[0].page_size);
  else
    for (uint32_t ps = kMinPageSize; ps <= kMaxPageSize; ps *= 2) sizes.push_back(ps);
  why[1] = str_cat("lies past the end of the ", file_size_, "-byte file");
  bool reason_has_magic = false;
  for (uint32_t ps : sizes) {
    if (file_size_ < uint64_t(ps) + need) continue;
    read_at(ps, need, buf, "meta page 1");
    Meta m;
    std::string w = parse_meta(buf, 1, &m);
    if (w.empty() && m.page_size != ps)
      w = str_cat("has page size ", m.page_size, " but lies at byte ", ps);
    const bool magic = u32(buf + kPageHeader) == kMagic;
    if (w.empty() || sizes.size() == 1 || (magic && !reason_has_magic) || (ps == 4096 && !reason_has_magic)) {
      why[1] = w.empty() || sizes.size() == 1 ? w : str_cat("(at page size ", ps, ") ", w);
      metas[1] = m;
      reason_has_magic = reason_has_magic || magic;
    }
    if (w.empty()) break;
  }
  SR_CHECK(why[0].empty() || why[1].empty(), file_, ": not a readable LMDB database: meta page 0 ", why[0],
           "; meta page 1 ", why[1]);
  // The newer transaction's meta page describes the database; a damaged one leaves the other
  // (a torn meta write). A cut file is not read as the older commit's database: the newer meta
  // page stays valid, and the walk stops at the first page it needs that the file lacks.
  int pick = why[0].empty() ? 0 : 1;
  if (why[0].empty() && why[1].empty() && metas[1].txnid > metas[0].txnid) pick = 1;
  const Meta& m = metas[pick];
  SR_CHECK(!(m.main_flags & (kDbDupSort | kDbDupFixed)), file_, ": the main database is DUPSORT/DUPFIXED (flags 0x",
           std::hex, m.main_flags, std::dec, "): only one value per key is supported, as create_lmdb.py writes");
  page_size_ = m.page_size;
  last_page_ = m.last_page;
  root_ = m.root;
  entries_ = m.entries;
  depth_ = m.depth;
  txnid_ = m.txnid;
}

void LmdbReader::walk_tree() {
  if (root_ == kNoPage) return;
  const uint32_t ps = page_size_;
  std::vector<uint8_t> page(ps);
  std::unordered_set<uint64_t> seen;
  std::vector<std::pair<uint64_t, uint32_t>> stack{{root_, 1}};  // page, level (root: 1)
  while (!stack.empty()) {
    const auto [pgno, level] = stack.back();
    stack.pop_back();
    const std::string where = str_cat(file_, ": page ", pgno);
    SR_CHECK(seen.insert(pgno).second, where, " is reached twice in the tree (a cycle or a shared page)");
    read_at(pgno * ps, ps, page.data(), "a tree page");
    const uint8_t* p = page.data();
    SR_CHECK(u64(p) == pgno, where, " holds page number ", u64(p));
    const uint16_t flags = u16(p + 10);
    SR_CHECK(!(flags & (kPageLeaf2 | kPageSub)), where, " is a LEAF2/sub-page (DUPFIXED data, not supported)");
    const bool branch = flags & kPageBranch, leaf = flags & kPageLeaf;
    SR_CHECK(branch != leaf && !(flags & (kPageOverflow | kPageMeta)), where, " has page flags 0x", std::hex, flags,
             std::dec, " where a branch or leaf page belongs");
    SR_CHECK(leaf == (level == depth_), where, " is a ", leaf ? "leaf" : "branch", " page at level ", level,
             " of a tree the meta page says is ", depth_, " deep");
    const uint16_t lower = u16(p + 12), upper = u16(p + 14);
    SR_CHECK(lower >= kPageHeader + 2 && lower <= upper && upper <= ps && (lower - kPageHeader) % 2 == 0, where,
             " has free-space bounds ", lower, "..", upper, " that do not fit a ", ps, "-byte page with entries");
    const size_t count = (lower - kPageHeader) / 2;
    // The entries' nodes (2-byte aligned) share the data area upper..ps without overlapping:
    // their sizes sum to at most its length. Overlapping nodes would let a small file name
    // gigabytes of distinct keys.
    size_t node_bytes = 0;
    for (size_t i = 0; i < count; ++i) {
      const size_t off = u16(p + kPageHeader + 2 * i);
      const std::string node = str_cat(where, " entry ", i);
      SR_CHECK(off >= upper && off + kNodeHeader <= ps, node, " lies at byte ", off, ", outside the page's data area ",
               upper, "..", ps);
      const uint8_t* n = p + off;
      const uint32_t lo_hi = uint32_t(u16(n)) | uint32_t(u16(n + 2)) << 16;
      const uint16_t node_flags = u16(n + 4);
      const size_t key_size = u16(n + 6);
      const size_t key_at = off + kNodeHeader;
      SR_CHECK(key_size <= kMaxKeySize, node, " has a ", key_size, "-byte key (LMDB's keys are at most ",
               kMaxKeySize, " bytes)");
      SR_CHECK(key_at + key_size <= ps, node, " has a ", key_size, "-byte key running past the page");
      // Called once the node's own fields are checked (so their errors come first): a node is
      // its header, key and in-page value, rounded up to an even size.
      const auto count_node_bytes = [&](size_t value_on_page) {
        node_bytes += (kNodeHeader + key_size + value_on_page + 1) & ~size_t{1};
        SR_CHECK(node_bytes <= ps - upper, where, "'s entries 0..", i, " take ", node_bytes,
                 " bytes, more than its data area of ", ps - upper, " (overlapping entries)");
      };
      if (branch) {
        // A branch entry's child page number spreads over the size and flags fields.
        const uint64_t child = uint64_t(lo_hi) | uint64_t(node_flags) << 32;
        SR_CHECK(child >= 2 && child <= last_page_, node, " points to page ", child, ", outside pages 2..", last_page_);
        count_node_bytes(0);
        stack.emplace_back(child, level + 1);
        continue;
      }
      std::string key(reinterpret_cast<const char*>(p + key_at), key_size);
      SR_CHECK(!(node_flags & (kNodeSubData | kNodeDupData)), node, " (key '", key, "') is a ",
               node_flags & kNodeSubData ? "named sub-database" : "DUPSORT record",
               ": only the main database's plain records are read");
      SR_CHECK(!(node_flags & ~kNodeBigData), node, " has unknown flags 0x", std::hex, node_flags);
      const uint64_t size = lo_hi;
      Record r;
      r.size = size;
      const size_t data_at = key_at + key_size;
      if (node_flags & kNodeBigData) {
        // The value fills a run of overflow pages; the entry holds the run's first page.
        SR_CHECK(data_at + 8 <= ps, node, " (key '", key, "') has its overflow page number past the page end");
        const uint64_t first = u64(p + data_at);
        SR_CHECK(first >= 2 && first <= last_page_, node, " (key '", key, "') points to overflow page ", first,
                 ", outside pages 2..", last_page_);
        uint8_t head[kPageHeader];
        read_at(first * ps, kPageHeader, head, "an overflow page header");
        const uint32_t pages = u32(head + 12);
        const std::string ov = str_cat(file_, ": overflow page ", first, " (key '", key, "')");
        SR_CHECK(u64(head) == first && (u16(head + 10) & kPageOverflow), ov, " is not an overflow page (number ",
                 u64(head), ", flags 0x", std::hex, u16(head + 10), ")");
        SR_CHECK(pages >= 1 && pages - 1 <= last_page_ - first, ov, " claims ", pages, " pages, past the last page ",
                 last_page_);
        SR_CHECK(kPageHeader + size <= uint64_t(pages) * ps, ov, ": a ", size, "-byte value does not fit its ", pages,
                 " pages");
        r.offset = first * ps + kPageHeader;
        count_node_bytes(8);
      } else {
        SR_CHECK(data_at + size <= ps, node, " (key '", key, "') has a ", size, "-byte value running past the page");
        r.offset = pgno * ps + data_at;
        count_node_bytes(size);
      }
      SR_CHECK(records_.emplace(key, r).second, node, " repeats key '", key, "'");
      SR_CHECK(records_.size() <= entries_, file_, ": the tree holds more records than the ", entries_,
               " its meta page counts");
    }
  }
  SR_CHECK(records_.size() == entries_, file_, ": the tree holds ", records_.size(), " records but the meta page ",
           "says ", entries_);
}

std::vector<std::string> LmdbReader::keys() const {
  std::vector<std::string> out;
  out.reserve(records_.size());
  for (const auto& kv : records_) out.push_back(kv.first);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint8_t> LmdbReader::read(const std::string& key) const {
  const auto it = records_.find(key);
  SR_CHECK(it != records_.end(), folder_, ":", key, ": no such key in ", file_);
  std::vector<uint8_t> out(it->second.size);
  read_at(it->second.offset, out.size(), out.data(), str_cat("the value of key '", key, "'").c_str());
  return out;
}

}  // namespace sr::data
