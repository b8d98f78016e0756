// The generators' forward written out op by op with every convolution handed to a callback:
// the calibration observes each conv's input there, the fake-quant forward quantises the
// input and the weights there. Convolutions are named by their modules' dotted paths
// ("conv_first", "body.3.rdb2.conv4", "body.0"), the names the ONNX exporter gives the same
// Conv nodes (deploy/onnx_modules.cpp), so one table of scales serves both. The residual dense
// blocks run unfused (layers/rrdb.h: the fused block computes the same function).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "layers/conv2d.h"
#include "layers/module.h"

namespace sr::quant {

// Computes conv `c` (named `path`) of input `x`, bias included, activation not.
using ConvFn = std::function<Tensor(const Conv2d& c, const std::string& path, const Tensor& x)>;

// net(x) with each convolution computed by `conv` (RRDBNet, SRVGGNetCompact; any other
// network is an error naming it). With conv = plain conv2d it equals net.forward(x).
Tensor forward_by_convs(Module& net, const Tensor& x, const ConvFn& conv);

// What a caller must know of a supported network's input and output.
struct NetworkShape {
  int scale = 1;    // output side = input side * scale
  int divisor = 1;  // input sides must be multiples of it (RRDBNet x2 / x1 pixel-unshuffle)
};
NetworkShape network_shape(Module& net);

// The plain convolution: conv2d(x, c.weight, c.bias, c.stride, c.padding).
Tensor plain_conv(const Conv2d& c, const std::string& path, const Tensor& x);


}  // namespace sr::quant
