// GT crop, flips and kernels of one RealESRGANDataset sample (see realesrgan_sample.h).
#include "data/degrade/realesrgan_sample.h"

#include <algorithm>

#include "data/degrade/filter2d.h"
#include "data/degrade/kernel_sampling.h"
#include "data/degrade/random_stream.h"
#include "engine/error.h"

namespace sr::data::degrade {

namespace {

// reflect-101 that keeps mirroring when the pad exceeds the image (OpenCV's BORDER_REFLECT_101).
int reflect101_periodic(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

}  // namespace

GtSample make_gt_sample(const Image& img, const GtSampleOptions& g, const DegradationOptions& o, uint64_t seed,
                        uint64_t epoch, uint64_t position) {
  SR_CHECK(g.crop_pad_size >= 1, "RealESRGANDataset: 'crop_pad_size' must be positive, got ", g.crop_pad_size);
  Stream rng(seed, stream_id(StreamTag::sample, epoch, position));
  GtSample s;
  s.hflip = g.use_hflip && rng.uniform01() < 0.5;
  if (g.use_rot) {
    s.vflip = rng.uniform01() < 0.5;
    s.transpose = rng.uniform01() < 0.5;
  }
  const Planes src = planes_from_image(img);
  // Augmented image size, then pad to at least crop_pad_size, then crop position.
  const int ah = s.transpose ? src.width : src.height, aw = s.transpose ? src.height : src.width;
  const int size = g.crop_pad_size, ph = std::max(ah, size), pw = std::max(aw, size);
  s.top = ph > size || pw > size ? rng.randint(0, ph - size) : 0;
  s.left = ph > size || pw > size ? rng.randint(0, pw - size) : 0;
  s.gt = Planes(3, size, size);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      // (y, x) in the padded, augmented image -> the source pixel.
      int a = reflect101_periodic(s.top + y, ah), b = reflect101_periodic(s.left + x, aw);
      // Undo the augmentation: flips first (hflip, vflip), then transpose, as BasicSR applies them.
      int r = s.transpose ? b : a, c = s.transpose ? a : b;
      if (s.vflip) r = src.height - 1 - r;
      if (s.hflip) c = src.width - 1 - c;
      for (int ch = 0; ch < 3; ++ch) s.gt.at(ch, y, x) = src.at(ch, r, c);
    }
  s.kernels.kernel1 = sample_blur_kernel(o.kernel1, rng);
  s.kernels.kernel2 = sample_blur_kernel(o.kernel2, rng);
  s.kernels.sinc = sample_final_sinc(o.final_sinc_prob, rng);
  return s;
}

}  // namespace sr::data::degrade
