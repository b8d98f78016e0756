// ImageRowWriter: writes a PNG, JPEG, TIFF or BMP file row by row, so an image far larger
// than memory allows as floats (a 16000x12000 upscaled photo is 2.3 GB of float RGB) can be
// encoded as it is produced. WebP's encoder takes whole images: its rows are kept as 8-bit
// samples (4 bytes a pixel at most; the format's sides end at 16383) and encoded at
// finish(). Samples are quantised like write_image (clamp, x255 or x65535, round half to
// even); a non-finite sample is an error. Rows go to a temporary
// file beside the target that finish() renames into place, so a failure never leaves a
// truncated image under the real name. As write_file_atomically: a symbolic link is followed,
// a device, FIFO or folder at the path is refused.
#pragma once
#include <memory>
#include <string>

#include "data/image_io.h"

namespace sr::data {

class ImageRowWriter {
 public:
  // The format comes from the extension (.png, .jpg, .jpeg, .webp, .tif, .tiff, .bmp).
  // channels 1..4 (JPEG: 1 or 3); bit_depth 8, or 16 for PNG and TIFF. Errors name `path`.
  ImageRowWriter(const std::string& path, int width, int height, int channels, int bit_depth,
                 const EncodeOptions& opt = {});
  ~ImageRowWriter();  // without finish(): the temporary file is removed
  ImageRowWriter(const ImageRowWriter&) = delete;
  ImageRowWriter& operator=(const ImageRowWriter&) = delete;

  // `rows` rows of width * channels interleaved samples in [0, 1].
  void write_rows(const float* samples, int rows);
  // After all height rows: completes the file and renames it into place.
  void finish();

  int rows_written() const { return rows_written_; }

  struct Backend;  // the encoders' state (image_row_writer.cpp)

 private:
  std::string path_;
  std::string target_, tmp_path_;  // the file replaced (a symbolic link's target) and target_ + ".part"
  int width_, height_, channels_, bit_depth_;
  int rows_written_ = 0;
  bool finished_ = false;
  std::unique_ptr<Backend> backend_;
};

}  // namespace sr::data
