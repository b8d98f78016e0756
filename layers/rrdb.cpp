// ResidualDenseBlock and RRDB (see rrdb.h).
#include "layers/rrdb.h"

#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops_rdb.h"
#include "engine/random.h"

namespace sr {

namespace {
constexpr double kSlope = 0.2;     // LeakyReLU negative slope
constexpr double kResidual = 0.2;  // residual scaling of both blocks
}  // namespace

void scaled_kaiming_init_(Conv2d& conv, double scale, double bias_fill) {
  kaiming_normal_(conv.weight, 0.0, FanMode::fan_in);
  scale_(conv.weight, scale);
  if (conv.bias.defined()) conv.bias.fill_(bias_fill);
}

ResidualDenseBlock::ResidualDenseBlock(int64_t nf, int64_t gc, const LayerOptions& options_) : options(options_) {
  SR_CHECK(nf > 0 && gc > 0, "ResidualDenseBlock: num_feat ", nf, " and num_grow_ch ", gc, " must be > 0");
  conv1 = register_module("conv1", std::make_shared<Conv2d>(nf, gc, 3, 1, 1, true, options));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(nf + gc, gc, 3, 1, 1, true, options));
  conv3 = register_module("conv3", std::make_shared<Conv2d>(nf + 2 * gc, gc, 3, 1, 1, true, options));
  conv4 = register_module("conv4", std::make_shared<Conv2d>(nf + 3 * gc, gc, 3, 1, 1, true, options));
  conv5 = register_module("conv5", std::make_shared<Conv2d>(nf + 4 * gc, nf, 3, 1, 1, true, options));
  for (Conv2d* c : {conv1.get(), conv2.get(), conv3.get(), conv4.get(), conv5.get()})
    scaled_kaiming_init_(*c, 0.1);
}

Tensor ResidualDenseBlock::forward(const Tensor& x) {
  return options.kernels.rdb == kernels::RdbImpl::fused ? forward_fused(x) : forward_unfused(x);
}

Tensor ResidualDenseBlock::forward_fused(const Tensor& x, const Tensor& outer, RdbLink* link) {
  RdbParams p;
  const Conv2d* convs[5] = {conv1.get(), conv2.get(), conv3.get(), conv4.get(), conv5.get()};
  for (int k = 0; k < 5; ++k) {
    p.w[k] = convs[k]->weight;
    p.b[k] = convs[k]->bias;
  }
  // The block's five convs share one precision (set_precision sets all of them alike).
  return residual_dense_block(x, p, kSlope, kResidual, outer, kResidual, options.kernels, conv1->precision, link);
}

Tensor ResidualDenseBlock::forward_unfused(const Tensor& x) {
  Tensor x1 = conv1->forward_leaky_relu(x, kSlope);
  Tensor x2 = conv2->forward_leaky_relu(cat_channels({x, x1}), kSlope);
  Tensor x3 = conv3->forward_leaky_relu(cat_channels({x, x1, x2}), kSlope);
  Tensor x4 = conv4->forward_leaky_relu(cat_channels({x, x1, x2, x3}), kSlope);
  Tensor x5 = conv5->forward(cat_channels({x, x1, x2, x3, x4}));
  return axpby(kResidual, x5, 1.0, x);
}

RRDB::RRDB(int64_t nf, int64_t gc, const LayerOptions& options_) : options(options_) {
  rdb1 = register_module("rdb1", std::make_shared<ResidualDenseBlock>(nf, gc, options));
  rdb2 = register_module("rdb2", std::make_shared<ResidualDenseBlock>(nf, gc, options));
  rdb3 = register_module("rdb3", std::make_shared<ResidualDenseBlock>(nf, gc, options));
}

Tensor RRDB::forward(const Tensor& x) {
  return options.kernels.rdb == kernels::RdbImpl::fused ? forward_fused(x) : forward_unfused(x);
}

Tensor RRDB::forward_fused(const Tensor& x, RdbLink* link) {
  RdbLink own;
  own.leave_next = false;
  RdbLink& chain = link ? *link : own;
  const bool leave_after = chain.leave_next;
  // rdb1's and rdb2's outputs feed the next block alone; rdb3's (this RRDB's) the next RRDB's
  // rdb1 and its outer residual too.
  chain.leave_next = true;
  chain.sole_consumer = true;
  const Tensor a = rdb1->forward_fused(x, Tensor(), &chain);
  const Tensor b = rdb2->forward_fused(a, Tensor(), &chain);
  chain.leave_next = leave_after;
  chain.sole_consumer = false;
  // rdb3's node also applies out = x + 0.2 * rdb3(..): no separate axpby pass.
  return rdb3->forward_fused(b, x, &chain);
}

Tensor RRDB::forward_unfused(const Tensor& x) {
  return axpby(kResidual, rdb3->forward_unfused(rdb2->forward_unfused(rdb1->forward_unfused(x))), 1.0, x);
}

}  // namespace sr
