// Shared by the decoders and encoders: integer rows as the libraries return them (8-bit,
// or 16-bit big-endian) to float samples in [0, 1], for the whole image or a region of
// it, and back. Internal to data/.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/image.h"
#include "data/image_io.h"

namespace sr::data {

// An error naming `name` unless the region lies inside a width x height image.
void check_region(const Region& r, int width, int height, const std::string& name);

// Rows start every `rowbytes` bytes; samples are v / 255 (8-bit) or v / 65535 (16-bit).
Image raw_to_image(const unsigned char* pixels, size_t rowbytes, int width, int height, int channels, int bit_depth,
                   const Region& region);

// The pixel-limit check every decoder makes from the header, before allocating pixels.
void check_pixel_limit(const std::string& name, int64_t width, int64_t height, int64_t limit);

// img's samples quantised (quantize_u8 / quantize_u16) to interleaved rows, 16-bit ones
// in the host's byte order; a non-finite sample is an error naming `name` and its place.
std::vector<uint8_t> quantize_image_u8(const Image& img, const std::string& name);
std::vector<uint16_t> quantize_image_u16(const Image& img, const std::string& name);

}  // namespace sr::data
