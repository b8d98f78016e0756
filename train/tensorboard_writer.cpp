// TensorBoard event file writer (see tensorboard_writer.h for the format).
#include "train/tensorboard_writer.h"

#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "engine/error.h"

namespace sr::train {

static_assert(std::endian::native == std::endian::little,
              "TensorBoard event files are little-endian and written from host memory");

namespace {

// The byte-at-a-time table of the reflected Castagnoli polynomial.
const std::array<uint32_t, 256>& crc32c_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  const uint32_t c = crc32c(data, size);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

// Protocol-buffer wire format: a field key is (number << 3 | wire type); types used here are
// 0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back((char)(v | 0x80));
    v >>= 7;
  }
  out.push_back((char)v);
}

template <typename T>
void put_fixed(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian host (the static_assert above)
  out.append(b, sizeof(T));
}

void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_varint(out, (uint64_t)field << 3 | 2);
  put_varint(out, bytes.size());
  out += bytes;
}

std::string event_head(int64_t step) {
  std::string e;
  put_varint(e, 1 << 3 | 1);  // wall_time
  put_fixed(e, std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  put_varint(e, 2 << 3 | 0);  // step
  put_varint(e, (uint64_t)step);
  return e;
}

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  std::string s = buf;
  for (char& c : s)
    if (c == '/') c = '_';
  return s;
}

}  // namespace

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
  const auto& t = crc32c_table();
  const unsigned char* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = t[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir, int64_t start_step) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  SR_CHECK(!ec, "TensorBoard: cannot create '", dir, "': ", ec.message());
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  // A second writer in the same second (a quick resume) gets its own file, never the first's.
  const std::string base = dir + "/events.out.tfevents." + std::to_string(now) + "." + host_name();
  path_ = base;
  for (int k = 1; std::filesystem::exists(path_); ++k) path_ = base + "." + std::to_string(k);
  file_ = std::fopen(path_.c_str(), "wbx");
  SR_CHECK(file_, "TensorBoard: cannot write '", path_, "': ", std::strerror(errno));
  std::string version = event_head(0);
  put_bytes(version, 3, "brain.Event:2");
  write_record(version);
  if (start_step > 0) {
    std::string start = event_head(start_step), log;
    put_varint(log, 1 << 3 | 0);
    put_varint(log, 1);  // SessionLog.START
    put_bytes(start, 7, log);  // Event.session_log
    write_record(start);
  }
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);
}

void TensorBoardWriter::add_scalars(const std::vector<std::pair<std::string, double>>& scalars, int64_t step) {
  if (scalars.empty()) return;
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;
    put_bytes(v, 1, tag);
    put_varint(v, 2 << 3 | 5);
    put_fixed(v, (float)value);
    put_bytes(summary, 1, v);
  }
  std::string event = event_head(step);
  put_bytes(event, 5, summary);
  write_record(event);
}

void TensorBoardWriter::write_record(const std::string& event) {
  std::string r;
  put_fixed(r, (uint64_t)event.size());
  put_fixed(r, masked_crc32c(r.data(), 8));
  r += event;
  put_fixed(r, masked_crc32c(event.data(), event.size()));
  SR_CHECK(std::fwrite(r.data(), 1, r.size(), file_) == r.size() && std::fflush(file_) == 0,
           "TensorBoard: cannot write '", path_, "': ", std::strerror(errno));
}

}  // namespace sr::train
