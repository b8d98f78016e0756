// The LMDB reader against databases python3-lmdb wrote (tools/make_lmdb_fixtures.py): record bytes,
// the newer meta page, refusals, corruptions at many offsets; io_backend lmdb datasets equal to the
// same images on disk; the writer and `srengine lmdb`.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "data/dataset.h"
#include "data/image_io.h"
#include "data/lmdb_reader.h"
#include "data/lmdb_writer.h"
#include "data/loader.h"
#include "engine/error.h"
#include "support/data_support.h"
#include "train/config.h"
#include "train/config_types.h"
#include "train/eval_sets.h"

using namespace sr;
using namespace sr::data;

namespace {

namespace fs = std::filesystem;

std::string lmdb_fixture(const std::string& name) {
  return std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/lmdb/" + name;
}

uint32_t lmdb_crc32(const std::vector<uint8_t>& bytes) {
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t b : bytes) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

uint64_t lmdb_le(const std::vector<uint8_t>& b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | b.at(at + i);
  return v;
}
void lmdb_put(std::vector<uint8_t>& b, size_t at, int bytes, uint64_t v) {
  for (int i = 0; i < bytes; ++i) b.at(at + i) = uint8_t(v >> (8 * i));
}

// A copy of fixture folder `name` (meta_info.txt and data.mdb, the latter replaced by `mdb`
// when given) as <dir>/<as>.
std::string lmdb_copy(const test::TempDir& dir, const std::string& name, const std::string& as,
                      const std::vector<uint8_t>* mdb = nullptr) {
  const std::string out = dir.file(as);
  fs::create_directories(out);
  fs::copy(lmdb_fixture(name), out, fs::copy_options::overwrite_existing | fs::copy_options::recursive);
  if (mdb) test::write_bytes(out + "/data.mdb", *mdb);
  return out;
}

// What a dataset does with a database: open it and read every record.
size_t lmdb_read_all(const std::string& folder) {
  const LmdbReader r(folder);
  size_t bytes = 0;
  for (const std::string& k : r.keys()) bytes += r.read(k).size();
  return bytes;
}

// Every record, key -> value.
std::map<std::string, std::vector<uint8_t>> lmdb_records(const std::string& folder) {
  const LmdbReader r(folder);
  std::map<std::string, std::vector<uint8_t>> out;
  for (const std::string& k : r.keys()) out[k] = r.read(k);
  return out;
}

// The fixture's layout, found the way the reader finds it: page size, the meta page of the
// newer transaction (its offset) and the main database's root page.
struct LmdbLayout {
  size_t page_size = 0, meta = 0;
  uint64_t root = 0;
};
LmdbLayout lmdb_layout(const std::vector<uint8_t>& b) {
  LmdbLayout l;
  l.page_size = lmdb_le(b, 16 + 24, 4);
  const bool second = lmdb_le(b, l.page_size + 16 + 128, 8) > lmdb_le(b, 16 + 128, 8);
  l.meta = (second ? l.page_size : 0) + 16;
  l.root = lmdb_le(b, l.meta + 112, 8);
  return l;
}
// Byte offset of entry i's node on page `pg`.
size_t lmdb_node(const std::vector<uint8_t>& b, const LmdbLayout& l, uint64_t pg, int i) {
  return pg * l.page_size + lmdb_le(b, pg * l.page_size + 16 + 2 * i, 2);
}

DataConfig lmdb_paired(const std::string& gt, const std::string& lq) {
  DataConfig cfg = test::paired_config(gt, lq, 2, 16);
  cfg.io_backend = "lmdb";
  cfg.batch_size_per_gpu = 2;
  cfg.num_worker_per_gpu = 2;
  cfg.seed = 11;
  return cfg;
}

bool lmdb_same(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.to_vector() == b.to_vector();
}

}  // namespace

TEST_CASE("lmdb/reader_reads_every_record") {
  std::ifstream in(lmdb_fixture("expected.txt"));
  std::map<std::string, std::unique_ptr<LmdbReader>> dbs;
  std::string db, key;
  size_t size = 0;
  uint32_t crc = 0;
  size_t records = 0;
  while (in >> db >> key >> size >> crc) {
    auto& r = dbs[db];
    if (!r) r = std::make_unique<LmdbReader>(lmdb_fixture(db));
    const std::vector<uint8_t> bytes = r->read(key);
    CHECK(bytes.size() == size);
    CHECK(lmdb_crc32(bytes) == crc);
    if (db != "many.lmdb")  // the paired sets' PNG files hold the same bytes
      CHECK(bytes == read_file_bytes(lmdb_fixture(db.substr(0, db.size() - 5) + "/" + key + ".png")));
    ++records;
  }
  CHECK(records == 312);
  CHECK(dbs["many.lmdb"]->size() == 300);
  const std::vector<std::string> keys = dbs["many.lmdb"]->keys();
  CHECK(keys.front() == "img00000");
  CHECK(keys.back() == "img00299");
  test::require_error([&] { dbs["many.lmdb"]->read("img99999"); }, {"many.lmdb:img99999", "no such key"});
  // Two of the paired GT records are larger than a page: they come from overflow pages.
  CHECK(dbs["paired_gt.lmdb"]->read("0002_s002").size() > 4096);
}

TEST_CASE("lmdb/reader_newer_meta_page_wins_and_older_is_kept_when_newer_is_damaged") {
  const LmdbReader r(lmdb_fixture("two_txns.lmdb"));
  CHECK(r.size() == 2);
  CHECK(r.read("a") == std::vector<uint8_t>{'n', 'e', 'w'});
  CHECK(r.read("b") == std::vector<uint8_t>{'a', 'd', 'd', 'e', 'd'});
  test::TempDir dir;
  std::vector<uint8_t> b = read_file_bytes(lmdb_fixture("two_txns.lmdb/data.mdb"));
  const LmdbLayout l = lmdb_layout(b);
  b[l.meta] ^= 0xFF;  // the newer meta page's magic
  const LmdbReader older(lmdb_copy(dir, "two_txns.lmdb", "older.lmdb", &b));
  CHECK(older.size() == 1);
  CHECK(older.read("a") == std::vector<uint8_t>{'o', 'l', 'd'});
  b[l.meta == 16 ? l.page_size + 16 : 16] ^= 0xFF;  // and the older one's
  test::require_error([&] { LmdbReader(lmdb_copy(dir, "two_txns.lmdb", "none.lmdb", &b)); },
                      {"none.lmdb/data.mdb", "meta page 0", "meta page 1", "magic"});
}

TEST_CASE("lmdb/reader_refuses_what_it_does_not_read") {
  test::require_error([&] { LmdbReader(lmdb_fixture("named.lmdb")); }, {"named.lmdb", "named sub-database"});
  test::TempDir dir;
  std::vector<uint8_t> b = read_file_bytes(lmdb_fixture("paired_lq.lmdb/data.mdb"));
  const LmdbLayout l = lmdb_layout(b);
  lmdb_put(b, l.meta + 72 + 4, 2, 0x04);  // main database flags: DUPSORT
  test::require_error([&] { LmdbReader(lmdb_copy(dir, "paired_lq.lmdb", "dup.lmdb", &b)); }, {"dup.lmdb", "DUPSORT"});
  test::require_error([&] { LmdbReader(dir.file("absent.lmdb")); }, {"absent.lmdb", "does not exist"});
  fs::create_directories(dir.file("empty.lmdb"));
  test::require_error([&] { LmdbReader(dir.file("empty.lmdb")); }, {"empty.lmdb/data.mdb", "cannot open"});
  test::write_bytes(dir.file("empty.lmdb/data.mdb"), {});
  test::require_error([&] { LmdbReader(dir.file("empty.lmdb")); }, {"empty.lmdb/data.mdb", "too short"});
}

// Each damage a hostile or broken file can carry, at the field it hits: every one an error
// naming the file and what is wrong.
TEST_CASE("lmdb/reader_corrupt_fields_are_errors") {
  test::TempDir dir;
  const std::vector<uint8_t> gt = read_file_bytes(lmdb_fixture("paired_gt.lmdb/data.mdb"));
  const std::vector<uint8_t> many = read_file_bytes(lmdb_fixture("many.lmdb/data.mdb"));
  const LmdbLayout lg = lmdb_layout(gt), lm = lmdb_layout(many);
  const size_t ps = lg.page_size;
  int n = 0;
  auto expect = [&](const std::string& fixture, std::vector<uint8_t> b,
                    const std::function<void(std::vector<uint8_t>&)>& hurt, const std::vector<std::string>& parts) {
    hurt(b);
    const std::string folder = lmdb_copy(dir, fixture, str_cat("c", n++, ".lmdb"), &b);
    std::vector<std::string> all = parts;
    all.push_back(folder + "/data.mdb");
    test::require_error([&] { lmdb_read_all(folder); }, all);
  };
  // The overflow node of paired_gt's leaf (the root: depth 1).
  size_t big = 0;
  for (int i = 0; i < 6 && !big; ++i) {
    const size_t node = lmdb_node(gt, lg, lg.root, i);
    if (lmdb_le(gt, node + 4, 2) & 1) big = node;
  }
  REQUIRE(big != 0);
  const size_t big_data = big + 8 + lmdb_le(gt, big + 6, 2);
  const uint64_t overflow = lmdb_le(gt, big_data, 8);
  // Both meta pages' roots out of range (one alone falls back to the other meta page).
  expect("paired_gt.lmdb", gt, [&](auto& b) { lmdb_put(b, 16 + 112, 8, 999); lmdb_put(b, ps + 16 + 112, 8, 999); },
         {"root page 999"});
  expect("paired_gt.lmdb", gt, [&](auto& b) { lmdb_put(b, lg.meta + 72 + 32, 8, 7); }, {"holds 6 records", "says 7"});
  expect("paired_gt.lmdb", gt, [&](auto& b) { lmdb_put(b, lg.root * ps + 16, 2, 2); }, {"entry 0", "outside"});
  expect("paired_gt.lmdb", gt, [&](auto& b) { lmdb_put(b, lg.root * ps + 12, 2, 4000); }, {"free-space bounds"});
  expect("paired_gt.lmdb", gt, [&](auto& b) { lmdb_put(b, lg.root * ps, 8, 77); }, {"holds page number 77"});
  expect("paired_gt.lmdb", gt, [&](auto& b) { lmdb_put(b, lg.root * ps + 10, 2, 0x04); }, {"page flags"});
  expect("paired_gt.lmdb", gt, [&](auto& b) { lmdb_put(b, big_data, 8, 1u << 30); }, {"overflow page 1073741824"});
  expect("paired_gt.lmdb", gt, [&](auto& b) { lmdb_put(b, overflow * ps + 10, 2, 0x02); }, {"not an overflow page"});
  expect("paired_gt.lmdb", gt, [&](auto& b) { lmdb_put(b, overflow * ps + 12, 4, 0xFFFFFFFFu); }, {"claims"});
  expect("paired_gt.lmdb", gt, [&](auto& b) { lmdb_put(b, big + 2, 2, 0x7FFF); }, {"does not fit"});
  expect("paired_gt.lmdb", gt, [&](auto& b) { lmdb_put(b, big + 4, 2, 0x02); }, {"named sub-database"});
  // many.lmdb: a branch root over 8 leaves.
  const size_t first = lmdb_node(many, lm, lm.root, 0), second = lmdb_node(many, lm, lm.root, 1);
  expect("many.lmdb", many, [&](auto& b) { lmdb_put(b, first, 4, 0xFFFFFFFFu); }, {"points to page"});
  expect("many.lmdb", many, [&](auto& b) { lmdb_put(b, second, 4, lm.root); }, {"reached twice"});
  expect("many.lmdb", many, [&](auto& b) { lmdb_put(b, second, 4, lmdb_le(b, first, 4)); }, {"reached twice"});
  expect("many.lmdb", many, [&](auto& b) { lmdb_put(b, lm.meta + 72 + 6, 2, 3); }, {"leaf page at level 2"});
  const uint64_t leaf = lmdb_le(many, first, 4);
  const size_t inline_node = lmdb_node(many, lm, leaf, 0);
  expect("many.lmdb", many, [&](auto& b) { lmdb_put(b, inline_node + 2, 2, 1); }, {"running past the page"});
  expect("many.lmdb", many, [&](auto& b) { lmdb_put(b, inline_node + 6, 2, 0xFFFF); }, {"65535-byte key", "511"});
  expect("many.lmdb", many, [&](auto& b) { lmdb_put(b, inline_node + 6, 2, 600); }, {"600-byte key", "511"});
  // The node nearest the free space given a 398-byte key: it runs over the nodes above it, a
  // distinct key made of their bytes. Overlapping entries would let a small file name gigabytes
  // of distinct keys (up to 511 bytes each, sharing the same bytes).
  expect("many.lmdb", many, [&](auto& b) {
    const size_t count = (lmdb_le(b, leaf * ps + 12, 2) - 16) / 2;
    size_t lowest = ps;
    for (size_t i = 0; i < count; ++i) lowest = std::min<size_t>(lowest, lmdb_le(b, leaf * ps + 16 + 2 * i, 2));
    lmdb_put(b, leaf * ps + lowest + 6, 2, 398);
  }, {"overlapping entries"});
  // A 32-bit build's meta pages (magic 4 bytes earlier) and a big-endian file's are named as such.
  expect("many.lmdb", many, [&](auto& b) {
    for (size_t m : {size_t(0), ps}) {
      std::rotate(b.begin() + m + 12, b.begin() + m + 16, b.begin() + m + 16 + 136);
    }
  }, {"32-bit LMDB file"});
  expect("many.lmdb", many, [&](auto& b) { for (size_t m : {size_t(0), ps}) lmdb_put(b, m + 16, 4, 0xDEC0EFBEu); },
         {"big-endian"});
}

// LMDB may leave data.mdb shorter than the last page its meta page counts (pages allocated and
// freed within one commit): such a file is whole and reads as the library reads it.
TEST_CASE("lmdb/reader_reads_a_file_shorter_than_its_last_page") {
  const std::vector<uint8_t> b = read_file_bytes(lmdb_fixture("short.lmdb/data.mdb"));
  const LmdbLayout l = lmdb_layout(b);
  const uint64_t last_page = lmdb_le(b, l.meta + 120, 8);
  REQUIRE(b.size() / l.page_size <= last_page);  // the fixture is short
  const auto records = lmdb_records(lmdb_fixture("short.lmdb"));
  const std::map<std::string, size_t> want = {{"00005", 3000}, {"00006", 3000}, {"00011", 3000},
                                              {"00014", 1000}, {"00035", 3000}, {"00036", 20000}};
  REQUIRE(records.size() == want.size());
  for (const auto& [k, n] : want) CHECK(records.at(k) == std::vector<uint8_t>(n, 'v'));
}

// Truncation at many lengths and a flipped byte at many offsets: an error or a clean read,
// never a crash, a hang or another exception (a huge allocation would be std::bad_alloc). A cut
// file reads only when every page the tree needs is still there (LMDB files may end before the
// last page a meta page counts), and then gives exactly the original records; a cut through a
// page the tree needs is an error naming the file.
TEST_CASE("lmdb/reader_truncations_and_flipped_bytes_never_crash") {
  test::TempDir dir;
  int errors = 0, reads = 0, cut_errors = 0;
  for (const char* name : {"paired_gt.lmdb", "many.lmdb", "two_txns.lmdb"}) {
    const std::vector<uint8_t> orig = read_file_bytes(lmdb_fixture(std::string(name) + "/data.mdb"));
    const std::string folder = lmdb_copy(dir, name, std::string("fuzz_") + name);
    const std::string mdb = folder + "/data.mdb";
    const auto original = lmdb_records(lmdb_fixture(name));
    for (size_t len = 0; len < orig.size(); len += 61) {
      test::write_bytes(mdb, std::vector<uint8_t>(orig.begin(), orig.begin() + len));
      std::map<std::string, std::vector<uint8_t>> got;
      try {
        got = lmdb_records(folder);
      } catch (const sr::Error& e) {
        ++cut_errors;
        CHECK(std::string(e.what()).find(mdb) != std::string::npos);
        continue;
      }
      CHECK(got == original);
    }
    test::write_bytes(mdb, orig);
    const size_t whole = lmdb_read_all(folder);
    std::fstream f(mdb, std::ios::in | std::ios::out | std::ios::binary);
    for (size_t at = 0; at < orig.size(); at += (at % 4096 < 256 ? 1 : 7)) {
      for (uint8_t x : {uint8_t(0xFF), uint8_t(0x01)}) {
        f.seekp(at);
        f.put(char(orig[at] ^ x));
        f.flush();
        try {
          const size_t got = lmdb_read_all(folder);
          ++reads;
          CHECK(got <= orig.size());
        } catch (const sr::Error& e) {
          ++errors;
          CHECK(std::string(e.what()).find(mdb) != std::string::npos);
        }
        f.seekp(at);
        f.put(char(orig[at]));
        f.flush();
      }
    }
    CHECK(lmdb_read_all(folder) == whole);
  }
  CHECK(cut_errors > 100);  // most cuts lose a page the tree needs
  CHECK(errors > 500);  // the header and node fields are checked...
  CHECK(reads > 500);   // ...and a flipped value byte still reads
}

TEST_CASE("lmdb/paired_set_equals_the_same_images_on_disk") {
  const DataConfig cl = lmdb_paired(lmdb_fixture("paired_gt.lmdb"), lmdb_fixture("paired_lq.lmdb"));
  DataConfig cd = cl;
  cd.io_backend = "disk";
  cd.dataroot_gt = lmdb_fixture("paired_gt");
  cd.dataroot_lq = lmdb_fixture("paired_lq");
  const Dataset l(cl), d(cd);
  REQUIRE(l.size() == 6);
  REQUIRE(d.size() == 6);
  for (size_t i = 0; i < l.size(); ++i) {
    CHECK(l.file(i).name + ".png" == d.file(i).name);
    CHECK(l.file(i).gt_path == cl.dataroot_gt + ":" + l.file(i).name);
    const ValSample a = l.load_val(i), b = d.load_val(i);
    CHECK(lmdb_same(a.gt, b.gt));
    CHECK(lmdb_same(a.lq, b.lq));
    CHECK(l.probe_val(i) == d.probe_val(i));
    CHECK(train::sr_stem(l.file(i)) == train::sr_stem(d.file(i)));  // the key, as the LQ file's stem
  }
  CHECK(train::plan_sr_images(l, "vis", "_x.png", "test")[0] == "vis/0000_s000_x.png");
  Loader from_lmdb(cl), from_disk(cd);
  for (int b = 0; b < 5; ++b) {  // past an epoch (3 batches)
    const Batch x = from_lmdb.next(), y = from_disk.next();
    CHECK(lmdb_same(x.gt, y.gt));
    CHECK(lmdb_same(x.lq, y.lq));
  }
  // GT-only and LQ-only sets read the keys in meta_info.txt order.
  DataConfig single = cl, lq_only = cl, single_disk = cd;
  single.type = single_disk.type = DatasetType::single;
  lq_only.type = DatasetType::lq_only;
  const Dataset s(single), sd(single_disk), q(lq_only);
  REQUIRE(s.size() == 6);
  CHECK(lmdb_same(s.load_val(4).lq, sd.load_val(4).lq));
  REQUIRE(q.size() == 6);
  CHECK(q.file(2).lq_path == cl.dataroot_lq + ":0002_s002");
  CHECK(lmdb_same(q.load_val(2).lq, l.load_val(2).lq));
  DataConfig realesrgan_paired = cl;  // pairs by key like PairedImageDataset
  realesrgan_paired.type = DatasetType::realesrgan_paired;
  const Dataset rp(realesrgan_paired);
  REQUIRE(rp.size() == 6);
  CHECK(lmdb_same(rp.load_val(5).gt, l.load_val(5).gt));
}

TEST_CASE("lmdb/dataset_errors_name_the_folder_file_and_key") {
  test::TempDir dir;
  const std::string gt = lmdb_fixture("paired_gt.lmdb"), lq = lmdb_fixture("paired_lq.lmdb");
  test::require_error([&] { Dataset(lmdb_paired(lmdb_fixture("paired_gt"), lq)); },
                      {"dataroot_gt", "paired_gt", "should end with '.lmdb'"});
  DataConfig with_meta = lmdb_paired(gt, lq);
  with_meta.meta_info_file = lmdb_fixture("paired_gt.lmdb/meta_info.txt");
  test::require_error([&] { Dataset{with_meta}; }, {"meta_info_file", "not used with io_backend type lmdb"});
  DataConfig tmpl = lmdb_paired(gt, lq);
  tmpl.filename_tmpl = "{}x2";
  test::require_error([&] { Dataset{tmpl}; }, {"filename_tmpl", "{}x2"});
  DataConfig unknown = lmdb_paired(gt, lq);
  unknown.io_backend = "memcached";
  test::require_error([&] { Dataset{unknown}; }, {"io_backend.type", "memcached"});

  const std::string no_meta = lmdb_copy(dir, "paired_gt.lmdb", "no_meta.lmdb");
  fs::remove(no_meta + "/meta_info.txt");
  test::require_error([&] { Dataset(lmdb_paired(no_meta, lq)); }, {no_meta + "/meta_info.txt", "missing"});

  const std::string extra = lmdb_copy(dir, "paired_gt.lmdb", "extra.lmdb");
  std::ofstream(extra + "/meta_info.txt", std::ios::app) << "0099_s000.png (16,16,3) 1\n";
  test::require_error([&] { Dataset(lmdb_paired(extra, lq)); },
                      {extra + "/meta_info.txt line 7", "key '0099_s000'", "not in the database", extra + "/data.mdb"});

  // The LQ list lacks one key the GT list has.
  const std::string fewer = lmdb_copy(dir, "paired_lq.lmdb", "fewer.lmdb");
  std::string text = test::read_text(fewer + "/meta_info.txt");
  text = text.substr(0, text.rfind('\n', text.size() - 2) + 1);
  test::write_text(fewer + "/meta_info.txt", text);
  test::require_error([&] { Dataset(lmdb_paired(gt, fewer)); },
                      {"key '0005_s002'", gt + "/meta_info.txt line 6", "not listed in LQ", fewer + "/meta_info.txt"});

  // A record that is no image: the error names <root>:<key>, at load time like a bad file.
  std::vector<uint8_t> b = read_file_bytes(lq + "/data.mdb");
  const std::vector<uint8_t> png = read_file_bytes(lmdb_fixture("paired_lq/0003_s000.png"));
  const auto at = std::search(b.begin(), b.end(), png.begin(), png.end());
  REQUIRE(at != b.end());
  lmdb_put(b, size_t(at - b.begin()) + 16, 4, 0x7F000000u);  // IHDR width: 127 x 2^24 pixels
  const std::string bad = lmdb_copy(dir, "paired_lq.lmdb", "bad.lmdb", &b);
  const Dataset ds(lmdb_paired(gt, bad));
  test::require_error([&] { ds.load_val(3); }, {bad + ":0003_s000"});
  CHECK(ds.load_val(2).lq.numel() > 0);
}

// meta_info.txt names as BasicSR's sets have them: a name with spaces or parentheses, a key in a
// subfolder (validation names its SR image by the key's last part, BasicSR's basename), a UTF-8
// byte-order mark, CRLF line ends and a line with no shape; a name that climbs out is refused.
TEST_CASE("lmdb/meta_info_names_with_spaces_folders_and_a_bom") {
  test::TempDir dir;
  std::mt19937_64 rng(31);
  const std::vector<std::string> keys = {"my img", "photo (1)", "sub/b"};  // bytewise order
  const std::string root = dir.file("odd.lmdb");
  write_lmdb(root, keys.size(), [&](size_t i) {
    return LmdbRecord{keys[i], encode_png(test::random_image(rng, 12, 8, 3), keys[i])};
  });
  test::write_text(root + "/meta_info.txt",
                   "\xEF\xBB\xBFmy img.png (8,12,3) 1\r\n  photo (1).png\r\n\nsub/b.png (8, 12, 3) 1 \n");
  DataConfig cfg = lmdb_paired(root, root);
  cfg.type = DatasetType::single;
  cfg.dataroot_lq.clear();
  const Dataset ds(cfg);
  REQUIRE(ds.size() == 3);
  std::vector<std::string> stems;
  for (size_t i = 0; i < ds.size(); ++i) stems.push_back(train::sr_stem(ds.file(i)));
  CHECK(stems == std::vector<std::string>{"my img", "photo (1)", "b"});
  CHECK(ds.load_val(2).gt.size(3) == 12);
  test::write_text(root + "/meta_info.txt", "my img.png (8,12,3) 1\n../sub/b.png (8,12,3) 1\n");
  test::require_error([&] { Dataset{cfg}; }, {"line 2", "'../sub/b.png' is not a record name"});
  test::write_text(root + "/meta_info.txt", "my img.png (8,12) 1\n");
  test::require_error([&] { Dataset{cfg}; }, {"line 1", "cannot parse the shape"});
}

TEST_CASE("lmdb/config_accepts_io_backend_lmdb") {
  const std::string tiny_cfg = std::string(SRENGINE_SOURCE_DIR) + "/tests/fixtures/train_tiny.json";
  const train::json c = train::load_config(
      tiny_cfg, {"datasets.train.type=PairedImageDataset",
                 "datasets.train.dataroot_gt=" + lmdb_fixture("paired_gt.lmdb"),
                 "datasets.train.dataroot_lq=" + lmdb_fixture("paired_lq.lmdb"),
                 "datasets.train.io_backend.type=lmdb"});
  const train::Config cfg = train::parse_config(c);
  const train::DatasetConfig* train_set = nullptr;
  for (const train::DatasetConfig& d : cfg.datasets)
    if (d.key == "train") train_set = &d;
  REQUIRE(train_set);
  CHECK(train_set->data.io_backend == "lmdb");
  CHECK_THROWS_WITH(train::load_config(tiny_cfg, {"datasets.train.io_backend.type=redis"}),
                    Catch::Contains("io_backend.type") && Catch::Contains("redis"));
}

TEST_CASE("lmdb/writer_output_reads_back_and_refuses_bad_input") {
  test::TempDir dir;
  std::mt19937_64 rng(5);
  std::vector<LmdbRecord> recs;
  for (int i = 0; i < 700; ++i) {  // several leaves under a branch page, and overflow runs
    LmdbRecord r;
    r.key = str_cat("k", 100000 + i);
    r.value.resize(i % 50 == 0 ? 9000 + i : size_t(i % 300));
    for (uint8_t& v : r.value) v = uint8_t(rng());
    recs.push_back(std::move(r));
  }
  const std::string out = dir.file("w.lmdb");
  write_lmdb(out, recs.size(), [&](size_t i) { return recs[i]; });
  const LmdbReader r(out);
  REQUIRE(r.size() == recs.size());
  for (const LmdbRecord& x : recs) CHECK(r.read(x.key) == x.value);
  test::require_error([&] { write_lmdb(out, recs.size(), [&](size_t i) { return recs[i]; }); },
                      {out + "/data.mdb", "already exists"});
  std::swap(recs[3], recs[4]);
  test::require_error([&] { write_lmdb(dir.file("order.lmdb"), recs.size(), [&](size_t i) { return recs[i]; }); },
                      {"key 'k100003' comes after 'k100004'"});
  CHECK_FALSE(fs::exists(dir.file("order.lmdb/data.mdb")));  // a failed write leaves no database
  LmdbRecord no_key;
  test::require_error([&] { write_lmdb(dir.file("nokey.lmdb"), 1, [&](size_t) { return no_key; }); },
                      {"key ''", "1..511"});
}

// `srengine lmdb` turns the paired folders into LMDB folders that read as the same images, with
// create_lmdb.py's meta_info.txt lines.
TEST_CASE("lmdb/cli_folder_to_lmdb_reads_as_the_folder") {
  if (!fs::exists(test::srengine_exe())) {
    WARN("SKIPPED: " << test::srengine_exe() << " is not built");
    return;
  }
  test::TempDir dir;
  auto run = [&](const std::string& args) {
    const std::string cmd = test::srengine_exe() + " lmdb " + args + " > " + dir.file("log.txt") + " 2>&1";
    return std::system(cmd.c_str());
  };
  const std::string gt = dir.file("gt.lmdb"), lq = dir.file("lq.lmdb");
  REQUIRE(run(lmdb_fixture("paired_gt") + " " + gt) == 0);
  REQUIRE(run(lmdb_fixture("paired_lq") + " " + lq) == 0);
  CHECK(test::read_text(gt + "/meta_info.txt") == test::read_text(lmdb_fixture("paired_gt.lmdb/meta_info.txt")));
  DataConfig disk = lmdb_paired(lmdb_fixture("paired_gt"), lmdb_fixture("paired_lq"));
  disk.io_backend = "disk";
  const Dataset a(lmdb_paired(gt, lq)), b(disk);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(lmdb_same(a.load_val(i).gt, b.load_val(i).gt));
    CHECK(lmdb_same(a.load_val(i).lq, b.load_val(i).lq));
  }
  CHECK(run(lmdb_fixture("paired_gt") + " " + gt) != 0);
  CHECK_THAT(test::read_text(dir.file("log.txt")), Catch::Contains("already exists"));
  CHECK(run(lmdb_fixture("paired_gt") + " " + dir.file("plain")) != 0);
  CHECK_THAT(test::read_text(dir.file("log.txt")), Catch::Contains("should end with '.lmdb'"));
  // meta_info.txt in file-name order as create_lmdb.py (and the folder's own listing) has it:
  // 'a-b.png' before 'a.png', though data.mdb holds key 'a' before 'a-b'; a name with a space
  // reads back as its key.
  const std::string odd = dir.subdir("odd");
  std::mt19937_64 rng(5);
  for (const char* name : {"a.png", "a-b.png", "my img.png"})
    data::write_image(odd + "/" + name, test::random_image(rng, 8, 8, 3));
  REQUIRE(run(odd + " " + dir.file("odd.lmdb")) == 0);
  CHECK(test::read_text(dir.file("odd.lmdb/meta_info.txt")) ==
        "a-b.png (8,8,3) 1\na.png (8,8,3) 1\nmy img.png (8,8,3) 1\n");
  DataConfig single = lmdb_paired(dir.file("odd.lmdb"), dir.file("odd.lmdb"));
  single.type = DatasetType::single;
  single.dataroot_lq.clear();
  CHECK(Dataset(single).size() == 3);
}
