// File-level image I/O: reading bytes with errors that name the path, choosing the
// decoder from the signature and the encoder from the extension.
#include "data/image_io.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "engine/regular_file.h"

namespace sr::data {
namespace fs = std::filesystem;

namespace {

std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return (char)std::tolower(c); });
  return ext;
}

// The first bytes in hex (and as text when printable), for "not an image" messages.
std::string describe_start(const uint8_t* data, size_t size) {
  std::string hex, text;
  char buf[4];
  const size_t n = std::min<size_t>(size, 8);
  bool printable = true;
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", data[i]);
    if (i) hex += ' ';
    hex += buf;
    printable = printable && data[i] >= 0x20 && data[i] < 0x7f;
    text += (char)data[i];
  }
  return printable ? hex + " = \"" + text + "\"" : hex;
}

}  // namespace

ImageFormat sniff_format(const uint8_t* data, size_t size) {
  static const uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (size >= 8 && std::memcmp(data, kPng, 8) == 0) return ImageFormat::png;
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return ImageFormat::jpeg;
  if (size >= 12 && std::memcmp(data, "RIFF", 4) == 0 && std::memcmp(data + 8, "WEBP", 4) == 0)
    return ImageFormat::webp;
  if (size >= 4 && (std::memcmp(data, "II*\0", 4) == 0 || std::memcmp(data, "MM\0*", 4) == 0 ||
                    std::memcmp(data, "II+\0", 4) == 0 || std::memcmp(data, "MM\0+", 4) == 0))
    return ImageFormat::tiff;
  if (size >= 18 && data[0] == 'B' && data[1] == 'M') {
    // "BM" alone is too weak (a text file may start so): the DIB header size must be known.
    const uint32_t dib = data[14] | data[15] << 8 | data[16] << 16 | (uint32_t)data[17] << 24;
    if (dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 108 || dib == 124) return ImageFormat::bmp;
  }
  return ImageFormat::unknown;
}

const char* image_format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::png: return "PNG";
    case ImageFormat::jpeg: return "JPEG";
    case ImageFormat::webp: return "WebP";
    case ImageFormat::tiff: return "TIFF";
    case ImageFormat::bmp: return "BMP";
    case ImageFormat::unknown: break;
  }
  return "unknown";
}

std::string image_extensions_text() { return ".png .jpg .jpeg .webp .tif .tiff .bmp"; }

bool is_image_file_name(const std::string& path) {
  const std::string ext = lower_extension(path);
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".webp" || ext == ".tif" || ext == ".tiff" ||
         ext == ".bmp";
}

int storable_bit_depth(const std::string& path, int wanted) {
  const std::string ext = lower_extension(path);
  SR_CHECK(is_image_file_name(path), path, ": unknown image extension '", ext, "' (use ", image_extensions_text(),
           ")");
  return wanted == 16 && (ext == ".png" || ext == ".tif" || ext == ".tiff") ? 16 : 8;
}

bool stores_alpha(const std::string& path) {
  const std::string ext = lower_extension(path);
  return ext != ".jpg" && ext != ".jpeg";
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  // Only regular files: a FIFO or device would block or never end (never opened blocking).
  return RegularFile(path, "").read_all();
}

void write_file_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  // Through a temporary file renamed into place, so a failed write (ENOSPC, EDQUOT, EFBIG,
  // EIO) leaves an existing file as it was rather than truncated. Without fsync
  // (Durability::replaced_on_success): prepare writes tens of thousands of sub-images, and on
  // an ext4 virtual disk an fsync each added 2.0 s to writing 264 480x480 crops (141 MB),
  // which took 0.1 s with the rename alone and 16 s for the whole prepare; on a hard disk an
  // fsync costs more still. A power loss may leave a new image empty; a rerun remakes it.
  write_file_atomically(
      path,
      [&](std::FILE* f) {
        errno = 0;
        const size_t n = bytes.empty() ? 0 : std::fwrite(bytes.data(), 1, bytes.size(), f);
        if (n != bytes.size() || std::fflush(f) != 0)
          fail("write failed: ", std::strerror(errno), " (", n, " of ", bytes.size(), " bytes written)");
      },
      Durability::replaced_on_success);
}

Image decode_image(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& opt) {
  SR_CHECK(size > 0, name, ": empty file (0 bytes)");
  SR_CHECK(opt.max_pixels > 0, name, ": max_pixels must be positive, got ", opt.max_pixels);
  switch (sniff_format(data, size)) {
    case ImageFormat::png: return decode_png(data, size, name, opt);
    case ImageFormat::jpeg: return decode_jpeg(data, size, name, opt);
    case ImageFormat::webp: return decode_webp(data, size, name, opt);
    case ImageFormat::tiff: return decode_tiff(data, size, name, opt);
    case ImageFormat::bmp: return decode_bmp(data, size, name, opt);
    case ImageFormat::unknown: break;
  }
  fail(name, ": not a PNG, JPEG, WebP, TIFF or BMP file (", size, " bytes starting ", describe_start(data, size), ")");
}

ImageInfo probe_image(const uint8_t* data, size_t size, const std::string& name) {
  SR_CHECK(size > 0, name, ": empty file (0 bytes)");
  switch (sniff_format(data, size)) {
    case ImageFormat::png: return probe_png(data, size, name);
    case ImageFormat::jpeg: return probe_jpeg(data, size, name);
    case ImageFormat::webp: return probe_webp(data, size, name);
    case ImageFormat::tiff: return probe_tiff(data, size, name);
    case ImageFormat::bmp: return probe_bmp(data, size, name);
    case ImageFormat::unknown: break;
  }
  fail(name, ": not a PNG, JPEG, WebP, TIFF or BMP file (", size, " bytes starting ", describe_start(data, size), ")");
}

Image read_image(const std::string& path, const DecodeOptions& opt) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_image(bytes.data(), bytes.size(), path, opt);
}

ImageInfo read_image_info(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return probe_image(bytes.data(), bytes.size(), path);
}

void write_image(const std::string& path, const Image& img, const EncodeOptions& opt) {
  const std::string ext = lower_extension(path);
  if (ext == ".png") {
    write_file_bytes(path, encode_png(img, path, opt.bit_depth, opt.compression));
  } else if (ext == ".jpg" || ext == ".jpeg") {
    write_file_bytes(path, encode_jpeg(img, path, opt.jpeg_quality));
  } else if (ext == ".webp") {
    write_file_bytes(path, encode_webp(img, path, opt.webp_quality));
  } else if (ext == ".tif" || ext == ".tiff") {
    write_file_bytes(path, encode_tiff(img, path, opt.bit_depth));
  } else if (ext == ".bmp") {
    write_file_bytes(path, encode_bmp(img, path));
  } else {
    fail(path, ": unknown image extension '", ext, "' (use ", image_extensions_text(), ")");
  }
}

}  // namespace sr::data
