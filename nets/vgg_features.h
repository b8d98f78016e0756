// VGG19 feature extractor for the perceptual loss (BasicSR's VGGFeatureExtractor):
// torchvision's vgg19 `features`, truncated after the deepest requested layer, with
// BasicSR's layer names (conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, ... relu5_4,
// pool5; "convX_Y" is the pre-activation output). Pools are 2x2 max with stride
// `pooling_stride`. Frozen (no parameter requires grad) and in eval mode, but
// differentiable with respect to its input.
// Input RGB in [0, 1] (or [-1, 1] with range_norm); use_input_norm subtracts the ImageNet
// mean [0.485, 0.456, 0.406] and divides by std [0.229, 0.224, 0.225].
// Keys: vgg_net.<convX_Y>.{weight,bias}, buffers mean and std (1, 3, 1, 1) with input norm.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "layers/layer_options.h"
#include "layers/sequential.h"

namespace sr {

// The 37 layer names of VGG19's features, in order (index = torchvision's features index).
const std::vector<std::string>& vgg19_layer_names();

struct VGGFeatureOptions {
  std::vector<std::string> layer_name_list;  // e.g. {"conv5_4"}; at least one
  bool use_input_norm = true;
  bool range_norm = false;
  int pooling_stride = 2;
  LayerOptions layers;  // the kernel variants of its convolutions
};

class VGGFeatureExtractor : public Module {
 public:
  explicit VGGFeatureExtractor(const VGGFeatureOptions& options);
  std::string type_name() const override { return "VGGFeatureExtractor"; }
  // The requested layers' outputs, by name. x is (N, 3, H, W).
  std::map<std::string, Tensor> features(const Tensor& x);

  // Loads ImageNet weights from a safetensors file with torchvision names
  // (features.<index>.weight/bias: torchvision's vgg19-dcbb9e9d.pth itself, a legacy .pth) or
  // BasicSR's (vgg_net.convX_Y.weight/bias). An empty path or a missing file is an error
  // naming it; a file lacking a needed layer is an error listing the missing keys.
  void load_weights(const std::string& path);

  const VGGFeatureOptions& options() const { return options_; }
  std::shared_ptr<Sequential> vgg_net;

 private:
  VGGFeatureOptions options_;
  Tensor mean_, std_;
  Tensor norm_w_, norm_b_;  // the input map as a 1x1 conv, on the device and dtype last used
};

}  // namespace sr
