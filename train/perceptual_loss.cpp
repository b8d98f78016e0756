// Perceptual loss on VGG19 features (see perceptual_loss.h).
#include "train/perceptual_loss.h"

#include <algorithm>
#include <filesystem>

#include "engine/ops.h"
#include "engine/regular_file.h"
#include "engine/suggest.h"
#include "nets/vgg_features.h"

namespace sr::train {

namespace {

class VggPerceptualLoss : public PerceptualLoss {
 public:
  VggPerceptualLoss(const PerceptualLossConfig& opt, const LayerOptions& layers) : weights_(opt.layer_weights) {
    VGGFeatureOptions vo;
    vo.layers = layers;
    check_options(opt);
    for (const auto& [layer, w] : opt.layer_weights) vo.layer_name_list.push_back(layer);
    vo.use_input_norm = opt.use_input_norm;
    vo.range_norm = opt.range_norm;
    criterion_ = opt.criterion;
    weight_ = opt.perceptual_weight;
    vgg_ = std::make_unique<VGGFeatureExtractor>(vo);
    vgg_->load_weights(opt.vgg_weights);
  }

  Tensor operator()(const Tensor& x, const Tensor& gt) override {
    std::map<std::string, Tensor> fx = vgg_->features(x);
    std::map<std::string, Tensor> fg;
    {
      NoGradGuard no_grad;
      fg = vgg_->features(gt.detach());
    }
    Tensor total;
    for (const auto& [name, w] : weights_) {
      Tensor l;
      if (criterion_ == "l1") {
        l = l1_loss(fx.at(name), fg.at(name));
      } else if (criterion_ == "l2") {
        l = mse_loss(fx.at(name), fg.at(name));
      } else {
        // The norm stays on the device: the sum and its square root are device ops.
        Tensor d = sub(fx.at(name), fg.at(name));
        l = square_root(sum(mul(d, d)));
      }
      l = scale(l, w);
      total = total.defined() ? add(total, l) : l;
    }
    return weight_ == 1.0 ? total : scale(total, weight_);
  }

  void to(Device device) override { vgg_->to(device); }

 private:
  std::unique_ptr<VGGFeatureExtractor> vgg_;
  std::map<std::string, double> weights_;
  std::string criterion_;
  double weight_ = 1.0;
};

}  // namespace

void PerceptualLoss::check_weights_file(const PerceptualLossConfig& opt) {
  const std::string& path = opt.vgg_weights;
  if (path.empty()) return;
  SR_CHECK(std::filesystem::exists(path), "perceptual_opt.vgg_weights: '", path,
           "' does not exist (torchvision's VGG19 ImageNet weights: vgg19-dcbb9e9d.pth as downloaded, or "
           "safetensors)");
  const RegularFile file(path, "perceptual_opt.vgg_weights");  // a folder or a FIFO: an error now
}

void PerceptualLoss::check_options(const PerceptualLossConfig& opt) {
  SR_CHECK(!opt.layer_weights.empty(), "perceptual_opt.layer_weights is empty");
  const std::vector<std::string>& names = vgg19_layer_names();
  for (const auto& [layer, w] : opt.layer_weights)
    SR_CHECK(std::find(names.begin(), names.end(), layer) != names.end(), "perceptual_opt.layer_weights: '", layer,
             "' is not a VGG19 layer", did_you_mean(layer, names), " (conv1_1 .. conv5_4, relu*, pool*)");
  SR_CHECK(opt.style_weight == 0.0, "perceptual_opt.style_weight (", opt.style_weight,
           "): the Gram-matrix style loss is not implemented; set it to 0");
}

std::unique_ptr<PerceptualLoss> PerceptualLoss::create(const PerceptualLossConfig& opt, const LayerOptions& layers) {
  if (opt.vgg_weights.empty()) return nullptr;
  check_weights_file(opt);
  return std::make_unique<VggPerceptualLoss>(opt, layers);
}

}  // namespace sr::train
