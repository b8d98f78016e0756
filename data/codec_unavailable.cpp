// The TIFF and WebP entry points of a build made without libtiff / libwebp (CMake found no
// libtiff-dev / libwebp-dev: e.g. the bare GPU machine of tools/gpu_check.sh). PNG, JPEG and
// BMP work as always; a TIFF or WebP file is one clear error naming it, never a crash or a
// missing symbol.
#include "data/codec_internal.h"
#include "data/image_io.h"
#include "engine/error.h"

namespace sr::data {

bool image_format_built(ImageFormat f) {
  if (f == ImageFormat::tiff) return SRENGINE_WITH_TIFF;
  if (f == ImageFormat::webp) return SRENGINE_WITH_WEBP;
  return f != ImageFormat::unknown;
}

void check_image_format_built(ImageFormat f, const std::string& name) {
  if (image_format_built(f)) return;
  const char* lib = f == ImageFormat::tiff ? "libtiff" : "libwebp";
  fail(name, ": this srengine was built without ", image_format_name(f), " support (CMake found no ", lib,
       "); install ", lib, "-dev (tools/setup.sh) and rebuild, or use PNG");
}

namespace {
[[noreturn]] void unavailable(ImageFormat f, const std::string& name) {
  check_image_format_built(f, name);
  fail(name, ": ", image_format_name(f), " is not available");
}
}  // namespace

#if !SRENGINE_WITH_TIFF

struct TiffRowWriter::State {};
ImageInfo probe_tiff(const uint8_t*, size_t, const std::string& name) { unavailable(ImageFormat::tiff, name); }
Image decode_tiff(const uint8_t*, size_t, const std::string& name, const DecodeOptions&) { unavailable(ImageFormat::tiff, name); }
std::vector<uint8_t> encode_tiff(const Image&, const std::string& name, int) { unavailable(ImageFormat::tiff, name); }
TiffRowWriter::TiffRowWriter(const std::string&, int, int, int, int, const std::string& name) { unavailable(ImageFormat::tiff, name); }
TiffRowWriter::TiffRowWriter(std::vector<uint8_t>*, int, int, int, int, const std::string& name) { unavailable(ImageFormat::tiff, name); }
TiffRowWriter::~TiffRowWriter() = default;
void TiffRowWriter::write_row(const void*) {}
void TiffRowWriter::finish() {}
#endif

#if !SRENGINE_WITH_WEBP

ImageInfo probe_webp(const uint8_t*, size_t, const std::string& name) { unavailable(ImageFormat::webp, name); }
Image decode_webp(const uint8_t*, size_t, const std::string& name, const DecodeOptions&) { unavailable(ImageFormat::webp, name); }
std::vector<uint8_t> encode_webp_rows(const uint8_t*, int, int, int, int, const std::string& name) { unavailable(ImageFormat::webp, name); }
std::vector<uint8_t> encode_webp(const Image&, const std::string& name, int) { unavailable(ImageFormat::webp, name); }
#endif

}  // namespace sr::data
