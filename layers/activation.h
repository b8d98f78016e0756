// Activations as modules, for networks built from lists of layers (SRVGGNetCompact's
// body): LeakyReLU and ReLU hold nothing; PReLU holds one learnable slope per channel
// ("weight", initialised to 0.25 as nn.PReLU).
#pragma once
#include "layers/module.h"

namespace sr {

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double slope = 0.01) : slope(slope) {}
  std::string type_name() const override { return "LeakyReLU"; }
  Tensor forward(const Tensor& x) override;
  double slope;
};

class ReLU : public Module {
 public:
  std::string type_name() const override { return "ReLU"; }
  Tensor forward(const Tensor& x) override;
};

class PReLU : public Module {
 public:
  explicit PReLU(int64_t num_parameters = 1, double init = 0.25);
  std::string type_name() const override { return "PReLU"; }
  Tensor forward(const Tensor& x) override;
  Tensor weight;  // (num_parameters)
};

}  // namespace sr
