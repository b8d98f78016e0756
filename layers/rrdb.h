// ESRGAN's building blocks (BasicSR rrdbnet_arch):
//   ResidualDenseBlock: x1..x4 = lrelu(conv_k(cat(x, x1, .., x_{k-1}))), x5 = conv5(cat(x, x1..x4)),
//                       out = 0.2 * x5 + x   (conv_k: 3x3, nf + (k-1)*gc -> gc; conv5 -> nf)
//   RRDB:               out = 0.2 * rdb3(rdb2(rdb1(x))) + x
// forward() runs the fused block (engine/ops_rdb.h: one buffer, no concatenation copies, the
// RRDB's residual fused into rdb3) unless the block's options say rdb = unfused; both paths
// compute the same function with the same parameters (state dict keys unchanged).
// LeakyReLU slope 0.2. The five convs are initialised Kaiming-normal (fan_in, a = 0) scaled
// by 0.1 with zero bias, as BasicSR's default_init_weights(scale=0.1).
#pragma once
#include <memory>

#include "engine/ops_rdb.h"
#include "layers/conv2d.h"

namespace sr {

class ResidualDenseBlock : public Module {
 public:
  explicit ResidualDenseBlock(int64_t num_feat = 64, int64_t num_grow_ch = 32, const LayerOptions& options = {});
  std::string type_name() const override { return "ResidualDenseBlock"; }
  Tensor forward(const Tensor& x) override;
  // BasicSR's composition, op by op (the reference for the fused path).
  Tensor forward_unfused(const Tensor& x);
  // One fused node; with `outer` defined it returns outer + 0.2 * block(x) (an RRDB's tail).
  // link: the chain of blocks it belongs to (engine/ops_rdb.h's RdbLink), or null.
  Tensor forward_fused(const Tensor& x, const Tensor& outer = Tensor(), RdbLink* link = nullptr);

  std::shared_ptr<Conv2d> conv1, conv2, conv3, conv4, conv5;
  LayerOptions options;  // fused or unfused, and the convolutions' kernel variants
};

class RRDB : public Module {
 public:
  explicit RRDB(int64_t num_feat = 64, int64_t num_grow_ch = 32, const LayerOptions& options = {});
  std::string type_name() const override { return "RRDB"; }
  Tensor forward(const Tensor& x) override;
  Tensor forward_unfused(const Tensor& x);
  // The three blocks chained by one RdbLink: rdb1 and rdb2 leave the next block's packed twin,
  // rdb3 when the caller's link asks (the trunk's next RRDB).
  Tensor forward_fused(const Tensor& x, RdbLink* link = nullptr);

  std::shared_ptr<ResidualDenseBlock> rdb1, rdb2, rdb3;
  LayerOptions options;
};

// BasicSR's default_init_weights for one conv: kaiming_normal_ (a = 0, fan_in) times
// `scale`, bias filled with `bias_fill`.
void scaled_kaiming_init_(Conv2d& conv, double scale, double bias_fill = 0.0);

}  // namespace sr
