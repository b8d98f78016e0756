// libFuzzer target for the image decoders (PNG, JPEG, WebP, TIFF, BMP): any byte string must decode, or fail
// with sr::Error, without a crash, leak or sanitizer report. Exercises the header
// probe, the full decode and the region decode (early stop) paths.
#include <cstddef>
#include <cstdint>

#include "data/image_io.h"
#include "engine/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sr::data::DecodeOptions opt;
  opt.max_pixels = 1 << 22;  // keep each input's memory bounded under ASan
  try {
    const sr::data::ImageInfo info = sr::data::probe_image(data, size, "fuzz");
    const sr::data::Image img = sr::data::decode_image(data, size, "fuzz", opt);
    if (img.pixels.size() != (size_t)img.width * img.height * img.channels || img.width != info.width ||
        img.height != info.height)
      __builtin_trap();  // a decoder that disagrees with its own header is a bug
    opt.region = {img.height / 2, img.width / 3, (img.height + 1) / 2, img.width - img.width / 3};
    const sr::data::Image part = sr::data::decode_image(data, size, "fuzz", opt);
    for (int y = 0; y < part.height; ++y)
      for (int x = 0; x < part.width; ++x)
        for (int c = 0; c < part.channels; ++c)
          if (part.at(y, x, c) != img.at(opt.region.top + y, opt.region.left + x, c)) __builtin_trap();
  } catch (const sr::Error&) {
  }
  return 0;
}
