// TensorBoard event files (train/tensorboard_writer, logger.use_tb_logger), read back by a
// decoder written here from the format alone (bitwise CRC-32C, hand-parsed protocol
// buffers with the field numbers of tensorflow/core/util/event.proto and
// framework/summary.proto: Event 1 wall_time, 2 step, 3 file_version, 5 summary, 7
// session_log; Summary 1 value; Value 1 tag, 2 simple_value; SessionLog 1 status, START 1),
// itself shown to catch a flipped byte.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "data/image_io.h"
#include "support/data_support.h"
#include "support/train_support.h"
#include "train/tensorboard_writer.h"
#include "train/trainer.h"

using namespace sr;
using namespace sr::train;
namespace fs = std::filesystem;

namespace {

struct TbEvent {
  int64_t step = 0;
  std::string file_version;
  std::optional<int> session_status;
  std::map<std::string, float> scalars;
};

// Bit by bit, no table: the reflected Castagnoli polynomial.
uint32_t crc32c_bitwise(const unsigned char* p, size_t n) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
  }
  return ~c;
}

uint32_t tb_masked(const unsigned char* p, size_t n) {
  const uint32_t c = crc32c_bitwise(p, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

struct PbReader {
  const unsigned char* p;
  const unsigned char* end;
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      REQUIRE(p < end);
      const unsigned char b = *p++;
      v |= (uint64_t)(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  }
  std::string bytes() {
    const uint64_t n = varint();
    REQUIRE(n <= (uint64_t)(end - p));
    std::string s((const char*)p, n);
    p += n;
    return s;
  }
  template <typename T>
  T fixed() {
    REQUIRE(sizeof(T) <= (size_t)(end - p));
    T v;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  }
};

TbEvent parse_tb_event(const std::string& data) {
  TbEvent e;
  PbReader r{(const unsigned char*)data.data(), (const unsigned char*)data.data() + data.size()};
  while (r.p < r.end) {
    const uint64_t key = r.varint();
    switch (key) {
      case 1 << 3 | 1: r.fixed<double>(); break;
      case 2 << 3 | 0: e.step = (int64_t)r.varint(); break;
      case 3 << 3 | 2: e.file_version = r.bytes(); break;
      case 5 << 3 | 2: {
        const std::string summary = r.bytes();
        PbReader s{(const unsigned char*)summary.data(), (const unsigned char*)summary.data() + summary.size()};
        while (s.p < s.end) {
          REQUIRE(s.varint() == (1 << 3 | 2));
          const std::string value = s.bytes();
          PbReader v{(const unsigned char*)value.data(), (const unsigned char*)value.data() + value.size()};
          REQUIRE(v.varint() == (1 << 3 | 2));
          const std::string tag = v.bytes();
          REQUIRE(v.varint() == (2 << 3 | 5));
          e.scalars[tag] = v.fixed<float>();
          REQUIRE(v.p == v.end);
        }
        break;
      }
      case 7 << 3 | 2: {  // session_log (6 is the deprecated log_message)
        const std::string log = r.bytes();
        PbReader s{(const unsigned char*)log.data(), (const unsigned char*)log.data() + log.size()};
        REQUIRE(s.varint() == (1 << 3 | 0));
        e.session_status = (int)s.varint();
        break;
      }
      default: FAIL("unexpected Event field key " << key);
    }
  }
  return e;
}

// Every record of an event file; an error (thrown) for a bad length or CRC.
std::vector<TbEvent> read_tb_events(const std::string& path) {
  const std::vector<uint8_t> b = data::read_file_bytes(path);
  std::vector<TbEvent> out;
  size_t at = 0;
  while (at < b.size()) {
    if (b.size() - at < 12) throw std::runtime_error("truncated record header");
    uint64_t n = 0;
    uint32_t c = 0;
    std::memcpy(&n, &b[at], 8);
    std::memcpy(&c, &b[at + 8], 4);
    if (c != tb_masked(&b[at], 8)) throw std::runtime_error("length CRC mismatch");
    if (n > b.size() - at - 16) throw std::runtime_error("truncated record");
    std::memcpy(&c, &b[at + 12 + n], 4);
    if (c != tb_masked(&b[at + 12], n)) throw std::runtime_error("data CRC mismatch");
    out.push_back(parse_tb_event(std::string((const char*)&b[at + 12], n)));
    at += 16 + n;
  }
  return out;
}

std::vector<std::string> event_files_in(const std::string& dir) {
  std::vector<std::string> out;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().rfind("events.out.tfevents.", 0) == 0) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("train/tensorboard_event_files_are_tfrecords_of_events") {
  CHECK(crc32c("123456789", 9) == 0xe3069283u);  // the CRC-32C check value
  CHECK(crc32c_bitwise((const unsigned char*)"123456789", 9) == 0xe3069283u);
  test::TempDir dir;
  std::string first, second;
  {
    TensorBoardWriter w(dir.file("tb"), 0);
    w.add_scalars({{"losses/l_pix", 0.25}, {"lr", 1e-4}}, 10);
    w.add_scalars({{"metrics/DIV2K/psnr", 27.5}}, 20);
    first = w.path();
  }
  {
    TensorBoardWriter w(dir.file("tb"), 7);  // a resume at 7, possibly within the same second
    second = w.path();
  }
  CHECK(first != second);
  CHECK(event_files_in(dir.file("tb")).size() == 2);
  const std::vector<TbEvent> a = read_tb_events(first);
  REQUIRE(a.size() == 3);
  CHECK(a[0].file_version == "brain.Event:2");
  CHECK(a[1].step == 10);
  CHECK(a[1].scalars == std::map<std::string, float>{{"losses/l_pix", 0.25f}, {"lr", 1e-4f}});
  CHECK(a[2].step == 20);
  CHECK(a[2].scalars == std::map<std::string, float>{{"metrics/DIV2K/psnr", 27.5f}});
  const std::vector<TbEvent> b = read_tb_events(second);
  REQUIRE(b.size() == 2);
  CHECK(b[1].step == 7);
  CHECK(b[1].session_status == std::optional<int>(1));  // SessionLog.START: TensorBoard purges steps >= 7
  // The reader catches a flipped byte anywhere in a record.
  const std::vector<uint8_t> bytes = data::read_file_bytes(first);
  for (size_t at : {size_t(3), size_t(9), size_t(20), bytes.size() - 2}) {
    std::vector<uint8_t> bad = bytes;
    bad[at] ^= 0x10;
    test::write_bytes(dir.file("bad"), bad);
    CHECK_THROWS(read_tb_events(dir.file("bad")));
  }
}

// logger.use_tb_logger: one TensorBoard run per stage under <experiment>/tb_logger/<stage>,
// BasicSR's tags (losses/l_*, metrics/<set name>/<metric>) at the logged iterations, and a
// resume purges the points it is about to log again.
TEST_CASE("train/use_tb_logger_writes_each_stages_scalars") {
  json c = test::tiny_train_config("tensorboard", {"logger.use_tb_logger=true"});
  const std::string d = test::train_exp_dir("tensorboard");
  REQUIRE(run_training(c, {}) == 0);
  for (const auto& [stage, total] : {std::pair<std::string, int64_t>{"psnr", 8}, {"gan", 6}}) {
    const std::vector<std::string> files = event_files_in(d + "/tb_logger/" + stage);
    REQUIRE(files.size() == 1);
    std::map<int64_t, std::map<std::string, float>> by_step;
    for (const TbEvent& e : read_tb_events(files[0]))
      for (const auto& [k, v] : e.scalars) by_step[e.step][k] = v;
    INFO(stage);
    for (int64_t it = 2; it <= total; it += 2) CHECK(by_step[it].count("losses/l_g_pix") == 1);
    CHECK(by_step[total].count("lr") == 1);
    CHECK(by_step[4].count("metrics/one_photo/psnr") == 1);
    CHECK(by_step[4].count("metrics/one_photo/psnr_bicubic") == 1);
    CHECK(by_step.count(1) == 0);
  }
  // The logged values are metrics.jsonl's.
  for (const json& ev : test::train_events("tensorboard"))
    if (ev["event"] == "train" && ev["stage"] == "psnr" && ev["iter"] == 8) {
      const std::vector<TbEvent> e = read_tb_events(event_files_in(d + "/tb_logger/psnr")[0]);
      bool found = false;
      for (const TbEvent& t : e)
        if (t.step == 8 && t.scalars.count("losses/l_g_pix"))
          found = t.scalars.at("losses/l_g_pix") == (float)ev["l_g_pix"].get<double>();
      CHECK(found);
    }
  // Resumed from the psnr stage's iteration 4: a second file in tb_logger/psnr starting with a
  // SessionLog START at 5.
  REQUIRE(run_training(c, {"", d + "/training_states/psnr_4.state"}) == 0);
  const std::vector<std::string> files = event_files_in(d + "/tb_logger/psnr");
  REQUIRE(files.size() == 2);
  bool purge_at_5 = false;
  for (const std::string& f : files)
    for (const TbEvent& e : read_tb_events(f)) purge_at_5 |= e.session_status == std::optional<int>(1) && e.step == 5;
  CHECK(purge_at_5);
}
