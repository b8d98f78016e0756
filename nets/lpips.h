// LPIPS, the learned perceptual image patch similarity: a full-reference distance (lower is
// more alike) that follows human judgements of SR output better than PSNR / SSIM.
//   R. Zhang, P. Isola, A. A. Efros, E. Shechtman, O. Wang, "The Unreasonable Effectiveness
//   of Deep Features as a Perceptual Metric", CVPR 2018.
//
// Version 0.1, as the lpips package computes it (and so BasicSR's scripts/metrics/
// calculate_lpips.py, which uses net 'vgg'), for images x0, x1 in [-1, 1]:
//   1. each is mapped per channel to (x - shift) / scale, shift (-0.030, -0.088, -0.188),
//      scale (0.458, 0.448, 0.450) (the "scaling layer");
//   2. an ImageNet backbone's five ReLU outputs are taken: VGG16's relu1_2, relu2_2,
//      relu3_3, relu4_3, relu5_3 or AlexNet's relu1..relu5 (torchvision's layouts);
//   3. at every pixel each feature vector f (C values) is divided by (||f||_2 + 1e-10);
//   4. layer k contributes the spatial mean of sum_c w_kc (f0_c - f1_c)^2, w_k the learned
//      1x1 "linear" layer (C -> 1, no bias); the distance is the sum over the five layers.
// Steps 1-2 run as engine ops on the module's device and dtype; 3-4 on the host in double.
//
// Weights: the linear layers from the lpips package (weights/v0.1/vgg.pth or alex.pth:
// lin<k>.model.1.weight, shape (1, C, 1, 1)); the net is told from their channel counts.
// The backbone from torchvision's ImageNet file (vgg16-397923af.pth, alexnet-owt-7be5be79.pth:
// features.<i>.weight / .bias), or from the first file when it holds a whole LPIPS state dict
// (net.slice<s>.<i>.weight). Keys in this module: features.<i>.*, lin<k>.model.1.weight.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/sequential.h"

namespace sr {

enum class LpipsNet { vgg, alex };
const char* lpips_net_name(LpipsNet net);  // "vgg", "alex"

class Lpips : public Module {
 public:
  explicit Lpips(LpipsNet net);
  std::string type_name() const override { return "LPIPS"; }

  // Builds the net the linear layers of `lin_path` belong to and loads both files (safetensors
  // or torch.save checkpoints); an empty backbone_path means lin_path holds the backbone too.
  // Errors name the file and what is missing, mis-shaped or not finite.
  static std::shared_ptr<Lpips> from_files(const std::string& lin_path, const std::string& backbone_path);
  // What a config check needs without loading the backbone: the linear layers read and their
  // net told; the backbone file's first bytes a weights file's (the whole net when backbone_path
  // is empty). from_files checks the rest.
  static void check_files(const std::string& lin_path, const std::string& backbone_path);

  LpipsNet net() const { return net_; }
  // The distance of every image pair: a and b (N, 3, H, W) in [-1, 1], one shape, the
  // module's device and dtype. Returns N values.
  std::vector<double> distance(const Tensor& a, const Tensor& b);
  // Whether the backbone reaches its fifth tap on a width x height image (VGG16: 16 pixels a
  // side, AlexNet: 31); the error names the size and the net.
  static void check_size(LpipsNet net, int width, int height);

 private:
  LpipsNet net_;
  std::shared_ptr<Sequential> features_;  // torchvision's `features`, up to the fifth tap
  std::vector<size_t> taps_;              // indices of the five ReLUs
  std::vector<Tensor> lin_weights_;       // (1, C_k, 1, 1)
};

}  // namespace sr
