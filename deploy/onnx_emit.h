// The exporter's building blocks, shared by the module emitters (onnx_modules.cpp) and the
// transformer emitters (onnx_swinir.cpp): each adds the ONNX nodes of one srengine op to the
// graph and returns the name of its output tensor. Internal to deploy/ (docs/EXPORT.md lists
// the mapping of each op).
#pragma once
#include <string>
#include <vector>

#include "deploy/onnx_graph.h"
#include "engine/error.h"
#include "layers/conv2d.h"
#include "layers/mean_shift.h"
#include "layers/pixel_shuffle_upsample.h"

namespace sr::deploy {

// A module's dotted path: "" + "conv" = "conv", "body.0" + "conv" = "body.0.conv".
std::string join(const std::string& path, const std::string& name);

// The emitters are chosen by type_name(); a module whose class does not match its name is a bug.
template <typename M>
const M& as(const Module& m) {
  const M* p = dynamic_cast<const M*>(&m);
  SR_CHECK(p, "ONNX export: a module named ", m.type_name(), " is not of the class that name stands for");
  return *p;
}

// Conv (any kernel, stride, zero padding, bias; OIHW weights as stored), in the graph's
// precision or, for an int8 export, in its QDQ form. `weight` replaces the module's.
std::string emit_conv(OnnxGraph& g, const Conv2d& c, const std::string& path, const std::string& x,
                      const Tensor& weight);
std::string emit_conv(OnnxGraph& g, const Conv2d& c, const std::string& path, const std::string& x);
std::string emit_leaky_relu(OnnxGraph& g, const std::string& x, float slope, const std::string& name);
// Conv2d::forward_leaky_relu: Conv, then LeakyRelu.
std::string emit_conv_lrelu(OnnxGraph& g, const Conv2d& c, const std::string& path, const std::string& x,
                            float slope);
// scale * a + b.
std::string emit_scaled_add(OnnxGraph& g, const std::string& a, float scale, const std::string& b,
                            const std::string& path);
// PyTorch's nearest and bilinear (align_corners=False) upsampling by an integer factor.
std::string emit_upsample_nearest(OnnxGraph& g, const std::string& x, int factor, const std::string& name);
std::string emit_upsample_bilinear(OnnxGraph& g, const std::string& x, int factor, const std::string& name);
// Concat along channels, in the order given.
std::string emit_concat(OnnxGraph& g, const std::vector<std::string>& parts, const std::string& name);
// torch's pixel_shuffle(r): DepthToSpace in CRD mode.
std::string emit_pixel_shuffle(OnnxGraph& g, const std::string& x, int r, const std::string& name);

// layers/mean_shift.h: the constants (rgb_mean as (1, C, 1, 1), img_range a scalar), then
// (x - mean) * img_range on the way in and y / img_range + mean on the way out.
struct MeanShiftNames {
  std::string mean, range;
};
MeanShiftNames emit_mean_shift_constants(OnnxGraph& g, const RgbMeanShift& shift, const std::string& path);
std::string emit_mean_shift_in(OnnxGraph& g, const MeanShiftNames& k, const std::string& path, const std::string& x);
std::string emit_mean_shift_out(OnnxGraph& g, const MeanShiftNames& k, const std::string& path, const std::string& y);

// layers/pixel_shuffle_upsample.h: each step's conv, then DepthToSpace by its factor.
std::string emit_pixel_shuffle_upsample(OnnxGraph& g, const PixelShuffleUpsample& up, const std::string& path,
                                        std::string x);

}  // namespace sr::deploy
