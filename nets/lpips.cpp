// LPIPS (see lpips.h).
#include "nets/lpips.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/pth_archive.h"
#include "engine/pth_reader.h"
#include "layers/activation.h"
#include "layers/conv2d.h"

namespace sr {

namespace {

constexpr double kShift[3] = {-0.030, -0.088, -0.188};
constexpr double kScale[3] = {0.458, 0.448, 0.450};
constexpr double kNormEps = 1e-10;  // lpips' normalize_tensor: f / (||f|| + eps)
constexpr int kTaps = 5;

// One entry of torchvision's `features`: a conv (followed by its own ReLU entry), a ReLU or a
// max pool.
struct BackboneLayer {
  char kind;  // 'c' conv, 'r' ReLU, 'p' max pool
  int in = 0, out = 0, kernel = 0, stride = 1, padding = 0;
};

// VGG16: blocks of 3x3 convs (padding 1) of 64, 128, 256, 512, 512 channels with 2, 2, 3, 3, 3
// convs, a 2x2 pool between blocks; the taps are each block's last ReLU.
std::vector<BackboneLayer> vgg16_layers() {
  constexpr int width[kTaps] = {64, 128, 256, 512, 512}, convs[kTaps] = {2, 2, 3, 3, 3};
  std::vector<BackboneLayer> l;
  int in = 3;
  for (int b = 0; b < kTaps; ++b) {
    if (b > 0) l.push_back({'p', 0, 0, 2, 2, 0});
    for (int c = 0; c < convs[b]; ++c) {
      l.push_back({'c', in, width[b], 3, 1, 1});
      l.push_back({'r'});
      in = width[b];
    }
  }
  return l;
}

// AlexNet (torchvision's): 11x11 stride 4, pool, 5x5, pool, three 3x3; the taps are the five ReLUs.
std::vector<BackboneLayer> alexnet_layers() {
  return {{'c', 3, 64, 11, 4, 2}, {'r'}, {'p', 0, 0, 3, 2, 0}, {'c', 64, 192, 5, 1, 2}, {'r'},
          {'p', 0, 0, 3, 2, 0},   {'c', 192, 384, 3, 1, 1},    {'r'}, {'c', 384, 256, 3, 1, 1},
          {'r'},                  {'c', 256, 256, 3, 1, 1},    {'r'}};
}

std::vector<BackboneLayer> backbone_layers(LpipsNet net) {
  return net == LpipsNet::vgg ? vgg16_layers() : alexnet_layers();
}

std::vector<size_t> relu_taps(const std::vector<BackboneLayer>& layers, LpipsNet net) {
  std::vector<size_t> taps;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].kind != 'r') continue;
    // VGG16 taps a block's last ReLU (the next layer is a pool, or the end); AlexNet every ReLU.
    const bool last_of_block = i + 1 == layers.size() || layers[i + 1].kind == 'p';
    if (net == LpipsNet::alex || last_of_block) taps.push_back(i);
  }
  return taps;
}

// The linear layers' input channels, one per tap: how a file's net is recognised.
std::vector<int64_t> tap_channels(LpipsNet net) {
  const auto layers = backbone_layers(net);
  std::vector<int64_t> c;
  for (size_t tap : relu_taps(layers, net)) {
    size_t conv = tap;
    while (layers[conv].kind != 'c') --conv;  // a ReLU follows its conv
    c.push_back(layers[conv].out);
  }
  return c;
}

// lin<k>.model.1.weight of a Conv2d(C, 1, 1, bias=False) after lpips' dropout entry.
class LpipsLinear : public Module {
 public:
  explicit LpipsLinear(int64_t channels) {
    model = register_module("model", std::make_shared<Sequential>());
    conv = model->push_back("1", std::make_shared<Conv2d>(channels, 1, 1, 1, 0, false));
  }
  std::string type_name() const override { return "NetLinLayer"; }
  std::shared_ptr<Sequential> model;
  std::shared_ptr<Conv2d> conv;
};

// The names a linear layer's weight may have in a file: the lpips package's own, its ModuleList
// twin (a whole LPIPS state dict holds both), and a linear layer saved without dropout.
std::vector<std::string> lin_key_candidates(int k) {
  const std::string s = std::to_string(k);
  return {"lin" + s + ".model.1.weight", "lins." + s + ".model.1.weight", "lin" + s + ".model.0.weight"};
}

const Tensor* find_tensor(const NamedTensors& t, const std::string& name) {
  for (const auto& [k, v] : t)
    if (k == name) return &v;
  return nullptr;
}

const Tensor* find_any(const NamedTensors& t, const std::vector<std::string>& names) {
  for (const auto& n : names)
    if (const Tensor* v = find_tensor(t, n)) return v;
  return nullptr;
}

// Per-channel (x - shift) / scale on the host, back on x's device and dtype.
Tensor scaling_layer(const Tensor& x) {
  std::vector<double> v = x.to_vector();
  const int64_t plane = x.size(2) * x.size(3);
  for (size_t i = 0; i < v.size(); ++i) {
    const int c = (int)((int64_t)i / plane % 3);
    v[i] = (v[i] - kShift[c]) / kScale[c];
  }
  return Tensor::from_vector(v, x.shape(), x.dtype()).to(x.device());
}

// A conv of stride s > 2 (AlexNet's first: 11x11, stride 4, padding 2), which conv2d does not
// take (strides 1 and 2, kernels up to 7), as a stride-1 conv over the s x s space-to-depth
// image: with kk = ceil(k / s),
//   y[k, i, j] = sum_{c, dy, dx < s, a, b < kk} U[c s^2 + dy s + dx, i + a, j + b] W'[k, c s^2 + dy s + dx, a, b],
//   U[c s^2 + dy s + dx, u, v] = x_padded[c, s u + dy, s v + dx],  W'[.., a, b] = w[k, c, s a + dy, s b + dx]
// (0 where s a + dy or s b + dx >= k), U of side o + kk - 1 for an output side o: every input
// a valid output reads lies in it. Exact: the same products, summed in another order.
Tensor strided_conv_by_space_to_depth(const Tensor& x, const Conv2d& conv) {
  const int s = conv.stride, pad = conv.padding;
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const int64_t k_out = conv.weight.size(0), k = conv.weight.size(2), kk = (k + s - 1) / s;
  const int64_t oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1;
  const int64_t uh = oh + kk - 1, uw = ow + kk - 1, uc = c * s * s;
  const std::vector<double> xv = x.to_vector(), wv = conv.weight.to_vector();
  std::vector<double> u((size_t)(n * uc * uh * uw), 0.0), w2((size_t)(k_out * uc * kk * kk), 0.0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int dy = 0; dy < s; ++dy)
        for (int dx = 0; dx < s; ++dx)
          for (int64_t i = 0; i < uh; ++i)
            for (int64_t j = 0; j < uw; ++j) {
              const int64_t y0 = s * i + dy - pad, x0 = s * j + dx - pad;
              if (y0 < 0 || y0 >= h || x0 < 0 || x0 >= w) continue;
              u[(((b * uc) + ch * s * s + dy * s + dx) * uh + i) * uw + j] = xv[((b * c + ch) * h + y0) * w + x0];
            }
  for (int64_t ko = 0; ko < k_out; ++ko)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int dy = 0; dy < s; ++dy)
        for (int dx = 0; dx < s; ++dx)
          for (int64_t a = 0; a < kk; ++a)
            for (int64_t bb = 0; bb < kk; ++bb) {
              const int64_t r = s * a + dy, q = s * bb + dx;
              if (r >= k || q >= k) continue;
              w2[(((ko * uc) + ch * s * s + dy * s + dx) * kk + a) * kk + bb] = wv[((ko * c + ch) * k + r) * k + q];
            }
  const Tensor ut = Tensor::from_vector(u, {n, uc, uh, uw}, x.dtype()).to(x.device());
  const Tensor wt = Tensor::from_vector(w2, {k_out, uc, kk, kk}, x.dtype()).to(x.device());
  return conv2d(ut, wt, conv.bias, 1, 0, conv.options.kernels, conv.precision);
}

// Step 3-4 of lpips.h for one tap: per image, the spatial mean of sum_c w_c (f0_c/(|f0|+eps) -
// f1_c/(|f1|+eps))^2, added to out.
template <typename T>
void add_tap_distance(const T* f0, const T* f1, const std::vector<double>& w, int64_t n_images, int64_t channels,
                      int64_t plane, std::vector<double>& out) {
  for (int64_t n = 0; n < n_images; ++n) {
    const T* a = f0 + n * channels * plane;
    const T* b = f1 + n * channels * plane;
    double total = 0;
    for (int64_t p = 0; p < plane; ++p) {
      double na = 0, nb = 0;
      for (int64_t c = 0; c < channels; ++c) {
        na += (double)a[c * plane + p] * (double)a[c * plane + p];
        nb += (double)b[c * plane + p] * (double)b[c * plane + p];
      }
      const double ia = 1.0 / (std::sqrt(na) + kNormEps), ib = 1.0 / (std::sqrt(nb) + kNormEps);
      double d = 0;
      for (int64_t c = 0; c < channels; ++c) {
        const double e = (double)a[c * plane + p] * ia - (double)b[c * plane + p] * ib;
        d += w[c] * e * e;
      }
      total += d;
    }
    out[n] += total / (double)plane;
  }
}

}  // namespace

const char* lpips_net_name(LpipsNet net) { return net == LpipsNet::vgg ? "vgg" : "alex"; }

Lpips::Lpips(LpipsNet net) : net_(net) {
  const auto layers = backbone_layers(net);
  taps_ = relu_taps(layers, net);
  features_ = register_module("features", std::make_shared<Sequential>());
  for (size_t i = 0; i < layers.size(); ++i) {
    const BackboneLayer& l = layers[i];
    const std::string name = std::to_string(i);
    if (l.kind == 'c') {
      // float32 on every device (not CUDA's TF32 default): a metric's numbers, as PyTorch's in fp32.
      auto conv = features_->push_back(name, std::make_shared<Conv2d>(l.in, l.out, l.kernel, l.stride, l.padding, true));
      conv->precision = Precision::fp32;
    }
    else if (l.kind == 'r')
      features_->push_back(name, std::make_shared<ReLU>());
    else
      features_->push_back(name, std::make_shared<MaxPool2d>(l.kernel, l.stride));
  }
  const std::vector<int64_t> channels = tap_channels(net);
  for (int k = 0; k < kTaps; ++k) {
    auto lin = register_module("lin" + std::to_string(k), std::make_shared<LpipsLinear>(channels[k]));
    lin_weights_.push_back(lin->conv->weight);
  }
  set_requires_grad(false);
  eval();
}

void Lpips::check_size(LpipsNet net, int width, int height) {
  const auto layers = backbone_layers(net);
  const size_t last = relu_taps(layers, net).back();
  for (int side : {width, height}) {
    int64_t s = side;
    bool ok = s >= 1;
    for (size_t i = 0; ok && i <= last; ++i) {
      const BackboneLayer& l = layers[i];
      if (l.kind == 'c') {
        ok = s + 2 * l.padding >= l.kernel;
        s = ok ? (s + 2 * l.padding - l.kernel) / l.stride + 1 : 0;
      } else if (l.kind == 'p') {
        ok = s >= l.kernel;
        s = ok ? (s - l.kernel) / l.stride + 1 : 0;
      }
    }
    SR_CHECK(ok, "LPIPS (", lpips_net_name(net), "): a ", width, "x", height, " image is too small for the backbone "
             "to reach its fifth layer (each side must be at least ", net == LpipsNet::vgg ? 16 : 31, " pixels)");
  }
}

namespace {

// The net whose linear layers `lin` holds, told from their widths; errors name the file.
LpipsNet net_of_linear_layers(const NamedTensors& lin, const std::string& lin_path) {
  std::vector<int64_t> found;
  for (int k = 0; k < kTaps; ++k) {
    const Tensor* w = find_any(lin, lin_key_candidates(k));
    SR_CHECK(w, "LPIPS: '", lin_path, "' has no linear layer ", k, " (", lin_key_candidates(k)[0], "); it is not "
             "an LPIPS weights file (the lpips package's weights/v0.1/vgg.pth or alex.pth)");
    SR_CHECK(w->dim() == 4 && w->size(0) == 1 && w->size(2) == 1 && w->size(3) == 1, "LPIPS: '", lin_path, "': ",
             lin_key_candidates(k)[0], " is ", w->shape().str(), ", not a (1, C, 1, 1) linear layer");
    found.push_back(w->size(1));
  }
  if (found == tap_channels(LpipsNet::alex)) return LpipsNet::alex;
  SR_CHECK(found == tap_channels(LpipsNet::vgg), "LPIPS: '", lin_path, "': linear layers of ", found[0], ", ", found[1],
           ", ", found[2], ", ", found[3], ", ", found[4], " channels belong to neither VGG16 (64, 128, 256, 512, 512) "
           "nor AlexNet (64, 192, 384, 256, 256); srengine measures LPIPS with those two");
  return LpipsNet::vgg;
}

// The backbone's convs of `bb` under this module's names (features.<i>.weight / .bias), found
// as torchvision names them or as a whole LPIPS state dict does (net.slice<s>.<i>.*). `in_lin_file`:
// bb is the linear layers' file, which then must hold the whole net.
std::map<std::string, Tensor> backbone_tensors(const NamedTensors& bb, const std::string& bb_path, LpipsNet net,
                                               bool in_lin_file) {
  const auto layers = backbone_layers(net);
  const auto taps = relu_taps(layers, net);
  std::map<std::string, Tensor> dict;
  std::vector<std::string> missing;
  for (size_t i = 0; i <= taps.back(); ++i) {
    if (layers[i].kind != 'c') continue;
    const int slice = 1 + (int)(std::lower_bound(taps.begin(), taps.end(), i) - taps.begin());
    for (const char* p : {"weight", "bias"}) {
      const std::string tv = "features." + std::to_string(i) + "." + p;
      const std::string whole = "net.slice" + std::to_string(slice) + "." + std::to_string(i) + "." + p;
      if (const Tensor* t = find_any(bb, {tv, whole}))
        dict[tv] = *t;
      else
        missing.push_back(tv);
    }
  }
  if (missing.empty()) return dict;
  const char* name = net == LpipsNet::vgg ? "VGG16" : "AlexNet";
  const char* file = net == LpipsNet::vgg ? "vgg16-397923af.pth" : "alexnet-owt-7be5be79.pth";
  if (in_lin_file)
    fail("LPIPS: '", bb_path, "' holds the linear layers of ", name, " but not the backbone (", missing.front(),
         " ...): give the backbone's ImageNet weights too (torchvision's ", file, ")");
  std::string list;
  for (const auto& m : missing) list += "\n  " + m;
  fail("LPIPS: '", bb_path, "' lacks ", missing.size(), " tensor(s) of the ", name, " backbone (torchvision's ", file,
       " has them; named features.<i> or net.slice<s>.<i>):", list);
}

}  // namespace

void Lpips::check_files(const std::string& lin_path, const std::string& backbone_path) {
  const NamedTensors lin = read_weights_file(lin_path);
  const LpipsNet net = net_of_linear_layers(lin, lin_path);
  if (backbone_path.empty()) {
    backbone_tensors(lin, lin_path, net, true);
    return;
  }
  std::ifstream in(backbone_path, std::ios::binary);
  uint8_t head[16] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  SR_CHECK(in.gcount() > 0 && sniff_weights_file(head, (size_t)in.gcount()) != WeightsFileKind::unknown, "LPIPS: '",
           backbone_path, "' is not a weights file (safetensors or a torch.save checkpoint)");
}

std::shared_ptr<Lpips> Lpips::from_files(const std::string& lin_path, const std::string& backbone_path) {
  SR_CHECK(!lin_path.empty(), "LPIPS: no linear-layer weights given (the lpips package's weights/v0.1/vgg.pth or "
           "alex.pth)");
  const NamedTensors lin = read_weights_file(lin_path);
  const LpipsNet net = net_of_linear_layers(lin, lin_path);
  const NamedTensors bb = backbone_path.empty() ? NamedTensors{} : read_weights_file(backbone_path);
  const std::string& bb_path = backbone_path.empty() ? lin_path : backbone_path;
  std::map<std::string, Tensor> dict = backbone_tensors(backbone_path.empty() ? lin : bb, bb_path, net,
                                                        backbone_path.empty());
  for (int k = 0; k < kTaps; ++k) dict["lin" + std::to_string(k) + ".model.1.weight"] = *find_any(lin, lin_key_candidates(k));
  for (const auto& [name, t] : dict)
    for (double v : t.to_vector())
      SR_CHECK(std::isfinite(v), "LPIPS: '", name.rfind("lin", 0) == 0 ? lin_path : bb_path, "': ", name,
               " holds a non-finite value (", v, ")");
  auto lpips = std::make_shared<Lpips>(net);
  lpips->load_state_dict(dict, true, "'" + bb_path + "'");
  return lpips;
}

std::vector<double> Lpips::distance(const Tensor& a, const Tensor& b) {
  SR_CHECK(a.defined() && b.defined() && a.dim() == 4 && a.size(1) == 3 && a.shape() == b.shape(),
           "LPIPS: the images must be two (N, 3, H, W) tensors of one shape, got ",
           a.defined() ? a.shape().str() : "undefined", " and ", b.defined() ? b.shape().str() : "undefined");
  check_size(net_, (int)a.size(3), (int)a.size(2));
  NoGradGuard no_grad;
  const int64_t n = a.size(0);
  std::vector<double> out(n, 0.0);
  Tensor ya = scaling_layer(a), yb = scaling_layer(b);
  size_t tap = 0;
  // Both images go through the backbone layer by layer, so only the current activations of
  // each are alive (a full-resolution tap of VGG16 is 64 channels of the whole image).
  for (size_t i = 0; i <= taps_.back(); ++i) {
    Module& layer = (*features_)[i];
    if (auto* conv = dynamic_cast<Conv2d*>(&layer); conv && conv->stride > 2) {
      ya = strided_conv_by_space_to_depth(ya, *conv);
      yb = strided_conv_by_space_to_depth(yb, *conv);
    } else {
      ya = layer.forward(ya);
      yb = layer.forward(yb);
    }
    if (i != taps_[tap]) continue;
    const Tensor fa = ya.to(Device::cpu()).contiguous(), fb = yb.to(Device::cpu()).contiguous();
    const std::vector<double> w = lin_weights_[tap].to_vector();
    const int64_t c = fa.size(1), plane = fa.size(2) * fa.size(3);
    if (fa.dtype() == DType::f64)
      add_tap_distance(fa.data<double>(), fb.data<double>(), w, n, c, plane, out);
    else
      add_tap_distance(fa.to(DType::f32).data<float>(), fb.to(DType::f32).data<float>(), w, n, c, plane, out);
    ++tap;
  }
  return out;
}

}  // namespace sr
