// forward_by_convs (see conv_walk.h): nets/rrdbnet.cpp and nets/srvgg_compact.cpp's forward,
// with the convolutions taken out.
#include "quant/conv_walk.h"

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/ops.h"
#include "layers/rrdb.h"
#include "layers/sequential.h"
#include "nets/rrdbnet.h"
#include "nets/srvgg_compact.h"

namespace sr::quant {

namespace {

constexpr double kRrdbSlope = 0.2;     // nets/rrdbnet.cpp
constexpr double kRrdbResidual = 0.2;  // layers/rrdb.cpp

// x1..x4 = lrelu(conv_k(cat(x, x1, .., x_{k-1}))), x5 = conv5(cat(x, x1..x4)), out = 0.2 x5 + x.
Tensor rdb(const ResidualDenseBlock& b, const std::string& path, const Tensor& x, const ConvFn& conv) {
  const Conv2d* convs[5] = {b.conv1.get(), b.conv2.get(), b.conv3.get(), b.conv4.get(), b.conv5.get()};
  std::vector<Tensor> feats = {x};
  for (int k = 0; k < 5; ++k) {
    const Tensor in = k == 0 ? x : cat_channels(feats);
    const Tensor y = conv(*convs[k], path + ".conv" + std::to_string(k + 1), in);
    if (k < 4) feats.push_back(leaky_relu(y, kRrdbSlope));
    else return axpby(kRrdbResidual, y, 1.0, x);
  }
  return Tensor();
}

Tensor rrdbnet(RRDBNet& net, const Tensor& x, const ConvFn& conv) {
  const int r = net.unshuffle_factor();
  SR_CHECK(x.size(2) % r == 0 && x.size(3) % r == 0, "RRDBNet (scale ", net.scale,
           "): input height and width must be multiples of ", r, ", got ", x.shape().str());
  Tensor feat = conv(*net.conv_first, "conv_first", r > 1 ? pixel_unshuffle(x, r) : x);
  Tensor y = feat;
  for (size_t i = 0; i < net.body->size(); ++i) {
    const std::string path = "body." + net.body->name(i);
    auto* b = dynamic_cast<RRDB*>(&(*net.body)[i]);
    SR_CHECK(b, "int8 forward: RRDBNet's ", path, " is a ", (*net.body)[i].type_name(), ", not an RRDB");
    Tensor z = rdb(*b->rdb1, path + ".rdb1", y, conv);
    z = rdb(*b->rdb2, path + ".rdb2", z, conv);
    z = rdb(*b->rdb3, path + ".rdb3", z, conv);
    y = axpby(kRrdbResidual, z, 1.0, y);
  }
  feat = add(feat, conv(*net.conv_body, "conv_body", y));
  feat = leaky_relu(conv(*net.conv_up1, "conv_up1", upsample_nearest(feat, 2)), kRrdbSlope);
  feat = leaky_relu(conv(*net.conv_up2, "conv_up2", upsample_nearest(feat, 2)), kRrdbSlope);
  feat = leaky_relu(conv(*net.conv_hr, "conv_hr", feat), kRrdbSlope);
  return conv(*net.conv_last, "conv_last", feat);
}

Tensor srvgg(SRVGGNetCompact& net, const Tensor& x, const ConvFn& conv) {
  Tensor y = x;
  for (size_t i = 0; i < net.body->size(); ++i) {
    Module& m = (*net.body)[i];
    if (auto* c = dynamic_cast<Conv2d*>(&m)) y = conv(*c, "body." + net.body->name(i), y);
    else y = m.forward(y);  // the activation
  }
  Tensor out = pixel_shuffle(y, net.upscale);
  return add(out, upsample_nearest(x, net.upscale));
}

}  // namespace

NetworkShape network_shape(Module& net) {
  // The walk below knows these two generators' layer graphs.
  if (dynamic_cast<RRDBNet*>(&net) || dynamic_cast<SRVGGNetCompact*>(&net))
    return {net.output_scale(), net.input_multiple()};
  fail("int8 quantisation: network ", net.type_name(), " is not supported (RRDBNet, SRVGGNetCompact are)");
}

Tensor plain_conv(const Conv2d& c, const std::string&, const Tensor& x) {
  return conv2d(x, c.weight, c.bias, c.stride, c.padding);
}

Tensor forward_by_convs(Module& net, const Tensor& x, const ConvFn& conv) {
  SR_CHECK(x.defined() && x.dim() == 4, net.type_name(), ": input must be NCHW, got ",
           x.defined() ? x.shape().str() : "undefined");
  NoGradGuard no_grad;
  if (auto* r = dynamic_cast<RRDBNet*>(&net)) return rrdbnet(*r, x, conv);
  if (auto* s = dynamic_cast<SRVGGNetCompact*>(&net)) return srvgg(*s, x, conv);
  fail("int8 quantisation: network ", net.type_name(), " is not supported (RRDBNet, SRVGGNetCompact are)");
}

}  // namespace sr::quant
