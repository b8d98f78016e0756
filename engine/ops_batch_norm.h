// batch_norm: F.batch_norm for NCHW (nn.BatchNorm2d, used by VGGStyleDiscriminator),
// differentiable in x, weight and bias.
#pragma once
#include "engine/tensor.h"

namespace sr {

// training: normalises with the batch's mean and biased variance and updates the running
// statistics in place (running_mean = (1 - momentum) * running_mean + momentum * mean,
// running_var likewise with the unbiased variance M/(M-1) * var, M = N*H*W);
// needs M > 1. eval: normalises with running_mean / running_var.
// weight and bias (length C) may be undefined (affine=False); running_* may be undefined
// in training mode (track_running_stats=False), never in eval mode.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                  Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);

}  // namespace sr
