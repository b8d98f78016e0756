// The pieces the whole-image encoders (encode_webp / encode_tiff / encode_bmp) share with the
// streaming ImageRowWriter, so both write the same bytes. Internal to data/.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sr::data {

// WebP from interleaved 8-bit RGB or RGBA rows (quality as encode_webp).
std::vector<uint8_t> encode_webp_rows(const uint8_t* rgb, int width, int height, int channels, int quality,
                                      const std::string& name);

// The layout of a BMP file for an 8-bit image of 1..4 channels: gray as 8-bit with a gray
// palette, RGB as 24-bit, gray+alpha and RGBA as 32-bit BGRA (BITMAPV4 header, bit fields).
struct BmpLayout {
  int width = 0, height = 0, channels = 0, bits = 0;
  size_t row_stride = 0, data_offset = 0, file_size = 0;
  std::vector<uint8_t> header;  // file header, info header and palette: the first data_offset bytes
  // Where top-down row y goes (BMP stores rows bottom-up).
  size_t row_offset(int y) const { return data_offset + (size_t)(height - 1 - y) * row_stride; }
  // One row of width * channels quantised samples to row_stride bytes.
  void pack_row(const uint8_t* samples, uint8_t* out) const;
};
BmpLayout bmp_layout(int width, int height, int channels, const std::string& name);

// A TIFF written scanline by scanline, to a file or to memory: 8- or 16-bit (host-order
// uint16) samples, 1..4 channels (the 2nd / 4th is unassociated alpha), deflate with the
// horizontal predictor. Errors name `name`.
class TiffRowWriter {
 public:
  TiffRowWriter(const std::string& path, int width, int height, int channels, int bit_depth, const std::string& name);
  TiffRowWriter(std::vector<uint8_t>* memory, int width, int height, int channels, int bit_depth,
                const std::string& name);
  ~TiffRowWriter();
  TiffRowWriter(const TiffRowWriter&) = delete;
  TiffRowWriter& operator=(const TiffRowWriter&) = delete;
  void write_row(const void* samples);
  // Completes the file (an error if rows are missing or libtiff failed).
  void finish();
  struct State;

 private:
  void start(int width, int height, int channels, int bit_depth);
  void start_or_close(int width, int height, int channels, int bit_depth);
  std::unique_ptr<State> s_;
};

}  // namespace sr::data
