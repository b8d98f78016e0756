// Shared by the PNG and JPEG decoders: integer rows as the libraries return them
// (8-bit, or 16-bit big-endian) to float samples in [0, 1], for the whole image or a
// region of it. Internal to data/.
#pragma once
#include <string>

#include "data/image.h"
#include "data/image_io.h"

namespace sr::data {

// An error naming `name` unless the region lies inside a width x height image.
void check_region(const Region& r, int width, int height, const std::string& name);

// Rows start every `rowbytes` bytes; samples are v / 255 (8-bit) or v / 65535 (16-bit).
Image raw_to_image(const unsigned char* pixels, size_t rowbytes, int width, int height, int channels, int bit_depth,
                   const Region& region);

}  // namespace sr::data
