// TensorBoard event files without TensorFlow: what BasicSR's `logger.use_tb_logger` gives
// (`tensorboard --logdir <experiments_root>` shows the losses and validation metrics).
//
// Format: a file named events.out.tfevents.<unix time>.<host> holds TFRecords, each
//   uint64 length | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
// (little-endian; masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8, CRC-32C = Castagnoli,
// reflected polynomial 0x82f63b78), and each record's data is a serialized tensorflow.Event:
//   Event      { double wall_time = 1; int64 step = 2; string file_version = 3;
//                Summary summary = 5; SessionLog session_log = 7; }
//   Summary    { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
//   SessionLog { SessionStatus status = 1; }   (START = 1)
// The first record is the file version "brain.Event:2". A run (re)starting at step N writes a
// SessionLog START at step N next: TensorBoard then drops the same folder's older files'
// points at steps >= N, which this run is about to log again (a resume, or a stage rerun).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace sr::train {

// CRC-32C of `size` bytes, continuing from `crc` (0 to start).
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

class TensorBoardWriter {
 public:
  // Creates `dir` and a new event file in it; start_step > 0 writes the SessionLog START.
  // Throws sr::Error naming the file when it cannot be written.
  TensorBoardWriter(const std::string& dir, int64_t start_step);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One Event with a simple_value per (tag, value), flushed so a running TensorBoard sees it.
  void add_scalars(const std::vector<std::pair<std::string, double>>& scalars, int64_t step);
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& event);

  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace sr::train
