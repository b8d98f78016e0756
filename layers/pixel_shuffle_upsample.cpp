// PixelShuffleUpsample (see pixel_shuffle_upsample.h).
#include "layers/pixel_shuffle_upsample.h"

#include <memory>

#include "engine/ops.h"

namespace sr {

PixelShuffleUpsample::PixelShuffleUpsample(int64_t nf, int upscale, const std::string& net,
                                           const LayerOptions& options) {
  SR_CHECK(upscale == 2 || upscale == 3 || upscale == 4 || upscale == 8, net, ": upscale must be 2, 3, 4 or 8, got ",
           upscale);
  if (upscale == 3) factors_ = {3};
  for (int s = upscale; s > 1 && upscale != 3; s /= 2) factors_.push_back(2);
  for (size_t i = 0; i < factors_.size(); ++i) {
    const int r = factors_[i];
    push_back(std::to_string(2 * i), std::make_shared<Conv2d>(nf, r * r * nf, 3, 1, 1, true, options));
  }
}

Tensor PixelShuffleUpsample::forward(const Tensor& x) {
  Tensor h = x;
  for (size_t i = 0; i < size(); ++i) h = pixel_shuffle((*this)[i].forward(h), factors_[i]);
  return h;
}

}  // namespace sr
