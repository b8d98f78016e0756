// A training batch's degradation on the device (see batch_device.h).
#include "data/degrade/batch_device.h"

#include "data/degrade/pipeline_device.h"
#include "engine/dispatch.h"
#include "engine/error.h"
#include "kernels/cuda/degrade_usm_sharp.h"

namespace sr::data::degrade {

void degrade_crops_on_device(const Tensor& crops, const DeviceDegradation& d, Tensor* lq, Tensor* gt) {
  const DegradationParams& p = d.params;
  SR_CHECK(crops.defined() && crops.dim() == 4 && crops.shape()[0] == (int64_t)p.batch() && crops.shape()[1] == 3 &&
               crops.shape()[2] == p.height && crops.shape()[3] == p.width,
           "degrade (device): the crops ", crops.defined() ? crops.str() : "none", " are not the parameters' ",
           p.batch(), "x3x", p.height, "x", p.width);
  const int s = p.scale, g = d.gt_size, l = g / s;
  SR_CHECK(g % s == 0 && d.top >= 0 && d.left >= 0 && d.top + l <= p.height / s && d.left + l <= p.width / s,
           "degrade (device): a ", g, "-pixel patch at LQ (", d.top, ", ", d.left, ") does not fit the ",
           p.width / s, "x", p.height / s, " LQ");
  const Tensor plain = crops.contiguous();
  Tensor sharp;
  if (d.usm_gt || d.degrade_from_usm) {
    sharp = Tensor::empty(plain.shape(), DType::f32, plain.device());
    SR_ON_DEVICE(plain.device(), cuda::degrade_usm_sharp(plain.data<float>(), sharp.data<float>(),
                                                         plain.shape()[0] * 3, p.height, p.width));
  }
  const Tensor lq_full = degrade_batch_device(d.degrade_from_usm ? sharp : plain, p);
  *lq = lq_full.narrow(2, d.top, l).narrow(3, d.left, l).contiguous();
  *gt = (d.usm_gt ? sharp : plain).narrow(2, d.top * s, g).narrow(3, d.left * s, g).contiguous();
}

}  // namespace sr::data::degrade
