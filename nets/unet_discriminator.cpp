// UNetDiscriminatorSN (see unet_discriminator.h).
#include "nets/unet_discriminator.h"

#include "engine/ops.h"
#include "nets/size_options.h"

namespace sr {

namespace {
constexpr double kSlope = 0.2;
}

UNetDiscriminatorSN::UNetDiscriminatorSN(int64_t num_in_ch, int64_t nf, bool skip, const LayerOptions& options)
    : skip_connection(skip) {
  check_size_options("UNetDiscriminatorSN", {{"num_in_ch", num_in_ch, 1}, {"num_feat", nf, 1}});
  auto sn = [&](const char* name, int64_t in, int64_t out, int k, int s, int p) {
    return register_module(name, std::make_shared<SpectralNormConv2d>(in, out, k, s, p, false, 1, 1e-12, options));
  };
  conv0 = register_module("conv0", std::make_shared<Conv2d>(num_in_ch, nf, 3, 1, 1, true, options));
  conv1 = sn("conv1", nf, nf * 2, 4, 2, 1);
  conv2 = sn("conv2", nf * 2, nf * 4, 4, 2, 1);
  conv3 = sn("conv3", nf * 4, nf * 8, 4, 2, 1);
  conv4 = sn("conv4", nf * 8, nf * 4, 3, 1, 1);
  conv5 = sn("conv5", nf * 4, nf * 2, 3, 1, 1);
  conv6 = sn("conv6", nf * 2, nf, 3, 1, 1);
  conv7 = sn("conv7", nf, nf, 3, 1, 1);
  conv8 = sn("conv8", nf, nf, 3, 1, 1);
  conv9 = register_module("conv9", std::make_shared<Conv2d>(nf, 1, 3, 1, 1, true, options));
}

Tensor UNetDiscriminatorSN::forward(const Tensor& x) {
  SR_CHECK(x.defined() && x.dim() == 4, "UNetDiscriminatorSN: input must be NCHW, got ",
           x.defined() ? x.shape().str() : "undefined");
  SR_CHECK(x.size(2) % 8 == 0 && x.size(3) % 8 == 0, "UNetDiscriminatorSN: input height and width must be "
           "multiples of 8 (three stride-2 levels whose skips must line up), got ", x.shape().str());
  Tensor x0 = conv0->forward_leaky_relu(x, kSlope);
  Tensor x1 = conv1->forward_leaky_relu(x0, kSlope);
  Tensor x2 = conv2->forward_leaky_relu(x1, kSlope);
  Tensor x3 = conv3->forward_leaky_relu(x2, kSlope);
  Tensor x4 = conv4->forward_leaky_relu(upsample_bilinear(x3, 2), kSlope);
  if (skip_connection) x4 = add(x4, x2);
  Tensor x5 = conv5->forward_leaky_relu(upsample_bilinear(x4, 2), kSlope);
  if (skip_connection) x5 = add(x5, x1);
  Tensor x6 = conv6->forward_leaky_relu(upsample_bilinear(x5, 2), kSlope);
  if (skip_connection) x6 = add(x6, x0);
  Tensor out = conv7->forward_leaky_relu(x6, kSlope);
  out = conv8->forward_leaky_relu(out, kSlope);
  return conv9->forward(out);
}

}  // namespace sr
