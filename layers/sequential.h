// Sequential: child modules applied in order, as nn.Sequential / nn.ModuleList. Children
// are named "0", "1", ... (push_back(m)) or explicitly (push_back(name, m), as
// nn.Sequential(OrderedDict)), so their parameters get BasicSR's names
// ("body.3.weight", "vgg_net.conv1_1.weight").
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/module.h"

namespace sr {

class Sequential : public Module {
 public:
  std::string type_name() const override { return "Sequential"; }
  Tensor forward(const Tensor& x) override;
  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    return push_back(std::to_string(items_.size()), std::move(m));
  }
  template <typename M>
  std::shared_ptr<M> push_back(const std::string& name, std::shared_ptr<M> m) {
    register_module(name, m);
    items_.push_back(m);
    names_.push_back(name);
    return m;
  }
  size_t size() const { return items_.size(); }
  Module& operator[](size_t i) const { return *items_.at(i); }
  const std::string& name(size_t i) const { return names_.at(i); }

 private:
  std::vector<std::shared_ptr<Module>> items_;
  std::vector<std::string> names_;
};

// nn.MaxPool2d(kernel, stride) as a module (no padding, floor mode).
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int kernel = 2, int stride = 2) : kernel(kernel), stride(stride) {}
  std::string type_name() const override { return "MaxPool2d"; }
  Tensor forward(const Tensor& x) override;
  int kernel, stride;
};

}  // namespace sr
