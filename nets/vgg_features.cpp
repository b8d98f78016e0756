// VGG19 feature extractor (see vgg_features.h).
#include "nets/vgg_features.h"

#include <algorithm>
#include <filesystem>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/pth_reader.h"
#include "layers/activation.h"
#include "layers/conv2d.h"

namespace sr {

namespace {

constexpr int64_t kBlockWidth[] = {64, 128, 256, 512, 512};
constexpr int kBlockConvs[] = {2, 2, 4, 4, 4};
constexpr double kMean[] = {0.485, 0.456, 0.406};
constexpr double kStd[] = {0.229, 0.224, 0.225};

}  // namespace

const std::vector<std::string>& vgg19_layer_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (int b = 0; b < 5; ++b) {
      for (int c = 1; c <= kBlockConvs[b]; ++c) {
        const std::string s = std::to_string(b + 1) + "_" + std::to_string(c);
        n.push_back("conv" + s);
        n.push_back("relu" + s);
      }
      n.push_back("pool" + std::to_string(b + 1));
    }
    return n;
  }();
  return names;
}

VGGFeatureExtractor::VGGFeatureExtractor(const VGGFeatureOptions& options) : options_(options) {
  const auto& all = vgg19_layer_names();
  SR_CHECK(!options.layer_name_list.empty(), "VGGFeatureExtractor: layer_name_list is empty");
  SR_CHECK(options.pooling_stride >= 1, "VGGFeatureExtractor: pooling_stride must be >= 1, got ",
           options.pooling_stride);
  size_t deepest = 0;
  for (const auto& name : options.layer_name_list) {
    auto it = std::find(all.begin(), all.end(), name);
    if (it == all.end()) {
      std::string valid;
      for (const auto& n : all) valid += (valid.empty() ? "" : ", ") + n;
      fail("VGGFeatureExtractor: unknown layer '", name, "' (valid: ", valid, ")");
    }
    deepest = std::max(deepest, size_t(it - all.begin()));
  }
  if (options.use_input_norm) {
    mean_ = register_buffer("mean", Tensor::from_vector(std::vector<double>(kMean, kMean + 3), {1, 3, 1, 1}));
    std_ = register_buffer("std", Tensor::from_vector(std::vector<double>(kStd, kStd + 3), {1, 3, 1, 1}));
  }
  vgg_net = register_module("vgg_net", std::make_shared<Sequential>());
  int64_t in = 3;
  for (size_t i = 0; i <= deepest; ++i) {
    const std::string& name = all[i];
    const int block = name[name.size() - (name[0] == 'p' ? 1 : 3)] - '1';
    if (name.rfind("conv", 0) == 0) {
      vgg_net->push_back(name, std::make_shared<Conv2d>(in, kBlockWidth[block], 3, 1, 1, true, options.layers));
      in = kBlockWidth[block];
    } else if (name.rfind("relu", 0) == 0) {
      vgg_net->push_back(name, std::make_shared<ReLU>());
    } else {
      vgg_net->push_back(name, std::make_shared<MaxPool2d>(2, options.pooling_stride));
    }
  }
  set_requires_grad(false);
  eval();
}

std::map<std::string, Tensor> VGGFeatureExtractor::features(const Tensor& x) {
  SR_CHECK(x.defined() && x.dim() == 4 && x.size(1) == 3, "VGGFeatureExtractor: input must be (N, 3, H, W), got ",
           x.defined() ? x.shape().str() : "undefined");
  // range_norm and the mean/std normalisation are one per-channel affine map
  // y_c = a_c x_c + b_c, run as a 1x1 conv with a diagonal weight (differentiable in x).
  Tensor y = x;
  if (options_.use_input_norm || options_.range_norm) {
    // Built once per device and dtype and kept there: a training step's forward reads
    // nothing back and copies nothing up (docs/GPU.md, the sync-free step). The buffers
    // stay as constructed (load_weights keeps them), so the map does not go stale.
    if (!norm_w_.defined() || norm_w_.device() != x.device() || norm_w_.dtype() != x.dtype()) {
      const double rs = options_.range_norm ? 0.5 : 1.0, rb = options_.range_norm ? 0.5 : 0.0;
      std::vector<double> w(9, 0.0), b(3);
      const std::vector<double> m = options_.use_input_norm ? mean_.to_vector() : std::vector<double>{0, 0, 0};
      const std::vector<double> s = options_.use_input_norm ? std_.to_vector() : std::vector<double>{1, 1, 1};
      for (int c = 0; c < 3; ++c) {
        w[c * 3 + c] = rs / s[c];
        b[c] = (rb - m[c]) / s[c];
      }
      norm_w_ = Tensor::from_vector(w, {3, 3, 1, 1}, x.dtype()).to(x.device());
      norm_b_ = Tensor::from_vector(b, {3}, x.dtype()).to(x.device());
    }
    y = conv2d(x, norm_w_, norm_b_, 1, 0, options_.layers.kernels);
  }
  std::map<std::string, Tensor> out;
  const auto& wanted = options_.layer_name_list;
  for (size_t i = 0; i < vgg_net->size(); ++i) {
    y = (*vgg_net)[i].forward(y);
    if (std::find(wanted.begin(), wanted.end(), vgg_net->name(i)) != wanted.end()) out[vgg_net->name(i)] = y;
  }
  return out;
}

void VGGFeatureExtractor::load_weights(const std::string& path) {
  SR_CHECK(!path.empty(), "VGGFeatureExtractor: no VGG19 weights file given; the perceptual loss needs "
           "ImageNet weights (torchvision's vgg19-dcbb9e9d.pth as downloaded, or safetensors)");
  SR_CHECK(std::filesystem::exists(path), "VGGFeatureExtractor: VGG19 weights file '", path,
           "' does not exist (torchvision's vgg19-dcbb9e9d.pth as downloaded, or safetensors)");
  SafetensorsFile f;  // for its lookups; the file may be safetensors or a torch.save checkpoint
  f.source = path;
  f.tensors = read_weights_file(path);
  const auto& all = vgg19_layer_names();
  std::map<std::string, Tensor> dict;
  std::vector<std::string> missing;
  for (size_t i = 0; i < vgg_net->size(); ++i) {
    const std::string& name = vgg_net->name(i);
    if (name.rfind("conv", 0) != 0) continue;
    const size_t index = std::find(all.begin(), all.end(), name) - all.begin();
    for (const char* p : {"weight", "bias"}) {
      const std::string tv = "features." + std::to_string(index) + "." + p;
      const std::string bs = "vgg_net." + name + "." + p;
      if (f.contains(tv))
        dict[bs] = f.get(tv);
      else if (f.contains(bs))
        dict[bs] = f.get(bs);
      else
        missing.push_back(tv + " (or " + bs + ")");
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += "\n  " + m;
    fail("VGGFeatureExtractor: '", path, "' lacks ", missing.size(), " VGG19 tensor(s):", list);
  }
  // Mean and std stay as constructed; only the convs come from the file.
  for (const auto& [k, t] : named_buffers()) dict[k] = t;
  load_state_dict(dict, true, "'" + path + "'");
}

}  // namespace sr
