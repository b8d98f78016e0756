// Reading and writing PNG (libpng), JPEG (libjpeg-turbo), WebP (libwebp), TIFF (libtiff)
// and BMP (by hand) files as data::Image.
// Every failure is an sr::Error naming the file: unreadable, empty, truncated, corrupt,
// unknown format, or larger than the pixel limit (checked from the header, before any
// pixel memory is allocated, so a decompression bomb costs nothing).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"

namespace sr::data {

constexpr int64_t kDefaultMaxPixels = 100'000'000;

// A rectangle of an image (rows top..top+height-1, columns left..left+width-1).
struct Region {
  int top = 0, left = 0, height = 0, width = 0;
  bool empty() const { return height <= 0 || width <= 0; }
};

struct DecodeOptions {
  int64_t max_pixels = kDefaultMaxPixels;  // width * height above this is refused
  // When set, only this rectangle is returned, and decoding stops after its last row
  // (non-interlaced PNG, JPEG): a training crop near the top decodes a fraction of the
  // file. Damage below the region then goes unnoticed for that read.
  Region region;
};

enum class ImageFormat { unknown, png, jpeg, webp, tiff, bmp };
const char* image_format_name(ImageFormat f);  // "PNG", "JPEG", ...
// False for TIFF / WebP in a build made without libtiff / libwebp (CMake found no -dev
// package); check_image_format_built then throws an error naming `name` and the fix.
bool image_format_built(ImageFormat f);
void check_image_format_built(ImageFormat f, const std::string& name);

// Header facts without decoding the pixels.
struct ImageInfo {
  ImageFormat format = ImageFormat::unknown;
  int width = 0, height = 0;
  int channels = 0;   // as decode_image would return them
  int bit_depth = 8;
};

// The format from the file signature (PNG's 8-byte magic, JPEG's FF D8 FF, RIFF....WEBP,
// TIFF's II*\0 / MM\0* (and BigTIFF's), BMP's "BM" with a known header size).
ImageFormat sniff_format(const uint8_t* data, size_t size);

// Whole file into memory; errors name the path (missing, a directory, unreadable, empty).
std::vector<uint8_t> read_file_bytes(const std::string& path);
// Written beside `path` and renamed over it (engine/atomic_file.h, without fsync): a failed
// write leaves what was there untouched. A symbolic link is followed; a device, FIFO or
// folder at `path` is refused.
void write_file_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

// Decoding. `name` is the file name used in error messages.
// PNG: 1/2/4/8/16-bit gray, gray+alpha, RGB, RGBA and palette (tRNS becomes alpha);
// 16-bit files stay 16-bit (values / 65535). JPEG: gray or colour (CMYK is refused).
// WebP: lossy or lossless, RGB or RGBA (animations are refused). TIFF (first page): 8- and
// 16-bit gray, gray+alpha, RGB, RGBA stay as they are; every other kind libtiff's RGBA reader
// knows (palette, 1/2/4-bit, YCbCr, CMYK, tiles, planar) is read as 8-bit; float samples are
// refused. BMP: 1/4/8-bit palette (all-gray palettes give gray), 16/24/32-bit, bit fields with
// alpha; RLE and embedded JPEG/PNG are refused.
Image decode_image(const uint8_t* data, size_t size, const std::string& name,
                   const DecodeOptions& opt = {});
Image decode_png(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& opt = {});
Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& opt = {});
Image decode_webp(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& opt = {});
Image decode_tiff(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& opt = {});
Image decode_bmp(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& opt = {});
ImageInfo probe_image(const uint8_t* data, size_t size, const std::string& name);
ImageInfo probe_png(const uint8_t* data, size_t size, const std::string& name);
ImageInfo probe_jpeg(const uint8_t* data, size_t size, const std::string& name);
ImageInfo probe_webp(const uint8_t* data, size_t size, const std::string& name);
ImageInfo probe_tiff(const uint8_t* data, size_t size, const std::string& name);
ImageInfo probe_bmp(const uint8_t* data, size_t size, const std::string& name);

Image read_image(const std::string& path, const DecodeOptions& opt = {});
ImageInfo read_image_info(const std::string& path);

// The bit depth a file of this extension stores: 16 when `wanted` is 16 and the format has
// it (PNG, TIFF), else 8. An unknown extension is an error.
int storable_bit_depth(const std::string& path, int wanted);
// Whether the format of this extension stores alpha (all but JPEG).
bool stores_alpha(const std::string& path);

// Encoding: samples are clamped to [0, 1] and rounded half to even (quantize_u8/u16);
// a non-finite sample is an error. PNG writes 8 or 16 bits (img.bit_depth unless
// `bit_depth` > 0) with zlib level `compression` (0..9); JPEG is 8-bit, quality 1..100,
// gray or RGB (alpha cannot be stored in JPEG and is an error).
std::vector<uint8_t> encode_png(const Image& img, const std::string& name, int bit_depth = 0,
                                int compression = 3);
std::vector<uint8_t> encode_jpeg(const Image& img, const std::string& name, int quality = 95);
// WebP (8-bit; gray is stored as RGB): quality 1..100 lossy, above 100 lossless with the
// exact colours under transparent pixels (cv2's convention; lossless is the default).
// Sides are at most 16383 (the format's limit).
constexpr int kWebpLossless = 101;
std::vector<uint8_t> encode_webp(const Image& img, const std::string& name, int quality = kWebpLossless);
// TIFF: 8 or 16 bits (img.bit_depth unless `bit_depth` > 0), 1..4 channels (alpha as an
// unassociated extra sample), deflate with the horizontal predictor.
std::vector<uint8_t> encode_tiff(const Image& img, const std::string& name, int bit_depth = 0);
// BMP (8-bit): gray as 8-bit with a gray palette, RGB as 24-bit, gray+alpha and RGBA as
// 32-bit BGRA with a BITMAPV4 header (bit fields with an alpha mask); bottom-up rows.
std::vector<uint8_t> encode_bmp(const Image& img, const std::string& name);

struct EncodeOptions {
  int bit_depth = 0;      // PNG, TIFF: 0 keeps img.bit_depth
  int compression = 3;    // PNG zlib level (BasicSR's extract_subimages uses 3)
  int jpeg_quality = 95;
  int webp_quality = kWebpLossless;
};
// Chooses the encoder from the extension (.png, .jpg, .jpeg, .webp, .tif, .tiff, .bmp;
// case-insensitive); the bytes go through write_file_bytes.
void write_image(const std::string& path, const Image& img, const EncodeOptions& opt = {});

// True for the extensions the readers accept (.png, .jpg, .jpeg, .webp, .tif, .tiff, .bmp;
// any case).
bool is_image_file_name(const std::string& path);
// Those extensions as text for messages: ".png .jpg .jpeg .webp .tif .tiff .bmp".
std::string image_extensions_text();

}  // namespace sr::data
