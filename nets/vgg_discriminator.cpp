// VGGStyleDiscriminator (see vgg_discriminator.h).
#include "nets/vgg_discriminator.h"

#include "engine/ops.h"
#include "nets/size_options.h"

namespace sr {

namespace {
constexpr double kSlope = 0.2;
}

VGGStyleDiscriminator::VGGStyleDiscriminator(int64_t num_in_ch, int64_t nf, int input_size_, const LayerOptions& options)
    : input_size(input_size_) {
  SR_CHECK(input_size == 128 || input_size == 256, "VGGStyleDiscriminator: input_size must be 128 or 256, got ",
           input_size);
  check_size_options("VGGStyleDiscriminator", {{"num_in_ch", num_in_ch, 1}, {"num_feat", nf, 1}});
  // Registration follows BasicSR's attribute order (conv0_0, conv0_1, bn0_1, conv1_0, bn1_0, ...).
  stages.emplace_back(register_module("conv0_0", std::make_shared<Conv2d>(num_in_ch, nf, 3, 1, 1, true, options)), nullptr);
  auto add_stage = [&](int k, int j, int64_t in, int64_t out) {
    const std::string s = std::to_string(k) + "_" + std::to_string(j);
    auto conv = j == 0 ? std::make_shared<Conv2d>(in, out, 3, 1, 1, false, options)
                       : std::make_shared<Conv2d>(in, out, 4, 2, 1, false, options);
    register_module("conv" + s, conv);
    auto bn = register_module("bn" + s, std::make_shared<BatchNorm2d>(out));
    stages.emplace_back(conv, bn);
  };
  add_stage(0, 1, nf, nf);
  const int64_t widths[] = {nf, nf * 2, nf * 4, nf * 8, nf * 8, nf * 8};
  const int last = input_size == 256 ? 5 : 4;
  for (int k = 1; k <= last; ++k) {
    add_stage(k, 0, widths[k - 1], widths[k]);
    add_stage(k, 1, widths[k], widths[k]);
  }
  linear1 = register_module("linear1", std::make_shared<Linear>(nf * 8 * 4 * 4, 100, true, options));
  linear2 = register_module("linear2", std::make_shared<Linear>(100, 1, true, options));
}

Tensor VGGStyleDiscriminator::forward(const Tensor& x) {
  SR_CHECK(x.defined() && x.dim() == 4, "VGGStyleDiscriminator: input must be NCHW, got ",
           x.defined() ? x.shape().str() : "undefined");
  SR_CHECK(x.size(2) == input_size && x.size(3) == input_size, "VGGStyleDiscriminator: input must be ",
           input_size, "x", input_size, " (its input_size), got ", x.shape().str(),
           "; crop the GT patches to input_size or use UNetDiscriminatorSN");
  Tensor feat = x;
  for (auto& [conv, bn] : stages) {
    if (bn)
      feat = leaky_relu(bn->forward(conv->forward(feat)), kSlope);
    else
      feat = conv->forward_leaky_relu(feat, kSlope);
  }
  feat = reshape(feat, {feat.size(0), feat.numel() / feat.size(0)});
  return linear2->forward(leaky_relu(linear1->forward(feat), kSlope));
}

}  // namespace sr
