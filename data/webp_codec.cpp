// WebP decoding and encoding through libwebp. The header (WebPGetFeatures) gives the size
// before any pixel memory is allocated; libwebp then decodes into a buffer srengine owns.
// Errors come back as status codes (no longjmp).
#if SRENGINE_WITH_WEBP  // else data/codec_unavailable.cpp
#include <webp/decode.h>
#include <webp/encode.h>

#include <cstring>
#include <vector>

#include "data/codec_internal.h"
#include "data/image_io.h"
#include "data/raw_pixels.h"
#include "engine/error.h"

namespace sr::data {

namespace {

const char* status_text(VP8StatusCode s) {
  switch (s) {
    case VP8_STATUS_OK: return "ok";
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "corrupt bitstream";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "file is truncated (not enough data)";
  }
  return "unknown error";
}

WebPBitstreamFeatures features(const uint8_t* data, size_t size, const std::string& name) {
  WebPBitstreamFeatures f;
  const VP8StatusCode s = WebPGetFeatures(data, size, &f);
  SR_CHECK(s == VP8_STATUS_OK, name, ": cannot decode WebP: ", status_text(s));
  SR_CHECK(!f.has_animation, name, ": animated WebP is not supported (extract a frame first)");
  return f;
}

const char* encode_error_text(WebPEncodingError e) {
  switch (e) {
    case VP8_ENC_OK: return "ok";
    case VP8_ENC_ERROR_OUT_OF_MEMORY: return "out of memory";
    case VP8_ENC_ERROR_BITSTREAM_OUT_OF_MEMORY: return "out of memory for the bitstream";
    case VP8_ENC_ERROR_BAD_DIMENSION: return "bad dimension";
    case VP8_ENC_ERROR_PARTITION0_OVERFLOW: return "partition 0 overflow";
    case VP8_ENC_ERROR_PARTITION_OVERFLOW: return "partition overflow";
    case VP8_ENC_ERROR_BAD_WRITE: return "write error";
    case VP8_ENC_ERROR_FILE_TOO_BIG: return "file too big (over 4 GB)";
    default: return "encoder error";
  }
}

}  // namespace

ImageInfo probe_webp(const uint8_t* data, size_t size, const std::string& name) {
  const WebPBitstreamFeatures f = features(data, size, name);
  return {ImageFormat::webp, f.width, f.height, f.has_alpha ? 4 : 3, 8};
}

Image decode_webp(const uint8_t* data, size_t size, const std::string& name, const DecodeOptions& opt) {
  SR_CHECK(size > 0, name, ": empty file (0 bytes)");
  const WebPBitstreamFeatures f = features(data, size, name);
  check_pixel_limit(name, f.width, f.height, opt.max_pixels);
  if (!opt.region.empty()) check_region(opt.region, f.width, f.height, name);
  const int channels = f.has_alpha ? 4 : 3;
  const size_t stride = (size_t)f.width * channels;
  std::vector<uint8_t> pixels(stride * f.height);
  const uint8_t* ok = channels == 4 ? WebPDecodeRGBAInto(data, size, pixels.data(), pixels.size(), (int)stride)
                                    : WebPDecodeRGBInto(data, size, pixels.data(), pixels.size(), (int)stride);
  SR_CHECK(ok, name, ": cannot decode WebP: corrupt or truncated image data");
  return raw_to_image(pixels.data(), stride, f.width, f.height, channels, 8, opt.region);
}

std::vector<uint8_t> encode_webp_rows(const uint8_t* rgb, int width, int height, int channels, int quality,
                                      const std::string& name) {
  SR_CHECK(channels == 3 || channels == 4, name, ": WebP rows must be RGB or RGBA, got ", channels, " channels");
  SR_CHECK(width >= 1 && height >= 1 && width <= WEBP_MAX_DIMENSION && height <= WEBP_MAX_DIMENSION, name,
           ": WebP images are at most ", WEBP_MAX_DIMENSION, "x", WEBP_MAX_DIMENSION, ", got ", width, "x", height,
           " (write PNG or TIFF instead)");
  SR_CHECK(quality >= 1, name, ": WebP quality must be 1..100 (lossy) or above 100 (lossless), got ", quality);
  WebPConfig config;
  SR_CHECK(WebPConfigInit(&config), name, ": libwebp version mismatch");
  if (quality > 100) {
    config.lossless = 1;
    config.exact = 1;  // keep the colour under fully transparent pixels
    config.quality = 75;  // for lossless: effort, not loss
  } else {
    config.quality = (float)quality;
  }
  config.method = 4;
  WebPPicture pic;
  SR_CHECK(WebPPictureInit(&pic), name, ": libwebp version mismatch");
  pic.use_argb = config.lossless;
  pic.width = width;
  pic.height = height;
  const int stride = width * channels;
  const int imported =
      channels == 4 ? WebPPictureImportRGBA(&pic, rgb, stride) : WebPPictureImportRGB(&pic, rgb, stride);
  if (!imported) {
    WebPPictureFree(&pic);
    fail(name, ": cannot encode WebP: out of memory");
  }
  WebPMemoryWriter writer;
  WebPMemoryWriterInit(&writer);
  pic.writer = WebPMemoryWrite;
  pic.custom_ptr = &writer;
  const int ok = WebPEncode(&config, &pic);
  const WebPEncodingError err = pic.error_code;
  WebPPictureFree(&pic);
  std::vector<uint8_t> out;
  if (ok) out.assign(writer.mem, writer.mem + writer.size);
  WebPMemoryWriterClear(&writer);
  SR_CHECK(ok, name, ": cannot encode WebP: ", encode_error_text(err));
  return out;
}

std::vector<uint8_t> encode_webp(const Image& img, const std::string& name, int quality) {
  SR_CHECK(img.channels >= 1 && img.channels <= 4, name, ": channels must be 1..4, got ", img.channels);
  // WebP has no gray: gray is stored as RGB, gray+alpha as RGBA.
  const Image rgb = img.channels <= 2 ? convert_channels(img, img.channels + 2) : img;
  const std::vector<uint8_t> q = quantize_image_u8(rgb, name);
  return encode_webp_rows(q.data(), rgb.width, rgb.height, rgb.channels, quality, name);
}

}  // namespace sr::data

#endif  // SRENGINE_WITH_WEBP
