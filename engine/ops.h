// The differentiable ops of srengine (PyTorch names and semantics), on CPU and CUDA.
//
// Each op checks its arguments (a mismatch throws an sr::Error naming the op and both
// shapes), runs the forward kernel of the tensor's device (kernels/cpu or kernels/cuda)
// and, when an input requires grad, records a Node whose backward calls the matching
// backward kernels. Tensors are NCHW, weights OIHW.
#pragma once
#include <vector>

#include "engine/autograd.h"
#include "engine/tensor.h"
#include "kernels/common/precision.h"
#include "kernels/kernel_choice.h"

namespace sr {

// ---- Elementwise (same shapes; no broadcasting) -------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, double s);                                // s*x
Tensor axpby(double a, const Tensor& x, double b, const Tensor& y);     // a*x + b*y (residual scaling)
Tensor abs(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);                                       // 1 / (1 + exp(-x))
// torch.sqrt (named so that it does not hide std::sqrt from unqualified calls in namespace
// sr); the gradient at 0 is finite (math::square_root_grad_from_output).
Tensor square_root(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double slope);
// gain * leaky_relu(x + bias[c], slope) for NCHW x and bias of length C: the fused
// epilogue of every conv + LeakyReLU pair.
Tensor bias_leaky_relu(const Tensor& x, const Tensor& bias, double slope, double gain = 1.0);

// In-place, never recorded (optimizers, gradient accumulation).
void add_(Tensor& dst, const Tensor& src);                   // dst += src
void axpy_(Tensor& dst, double a, const Tensor& x);          // dst += a*x
void scale_(Tensor& dst, double s);                          // dst *= s

// ---- Layout ---------------------------------------------------------------------------------
Tensor cat_channels(const std::vector<Tensor>& xs);          // torch.cat(xs, dim=1), NCHW
Tensor slice_channels(const Tensor& x, int64_t start, int64_t length);  // a view, differentiable
Tensor reshape(const Tensor& x, const Shape& shape);         // differentiable view
Tensor pixel_shuffle(const Tensor& x, int factor);           // (N, C*r*r, H, W) -> (N, C, H*r, W*r)
Tensor pixel_unshuffle(const Tensor& x, int factor);         // (N, C, H*r, W*r) -> (N, C*r*r, H, W)
Tensor upsample_nearest(const Tensor& x, int factor);       // (N, C, H, W) -> (N, C, H*r, W*r), torch nearest
Tensor upsample_bilinear(const Tensor& x, int factor);      // (N, C, H, W) -> (N, C, H*r, W*r), align_corners=false

// ---- Channel attention (squeeze and excitation: RCAN's CALayer) -----------------------------
Tensor spatial_mean(const Tensor& x);                    // (N, C, H, W) -> (N, C, 1, 1), nn.AdaptiveAvgPool2d(1)
Tensor channel_scale(const Tensor& x, const Tensor& s);  // x (N, C, H, W) * s (N, C, 1, 1) over H, W

// ---- Convolution ------------------------------------------------------------------------------
// y = conv2d(x, w) + bias, zero padding. x (N, C, H, W) may be a channel-range view of a
// larger NCHW buffer. bias may be undefined. On CUDA it runs `choice`'s conv2d variant,
// forward and backward (the layers pass theirs; the default is the table's under the
// environment overrides, kernels/kernel_choice.h), turned into the variant of `precision`
// (kernels::conv_variant_for_precision; device_default keeps it). On the CPU precision bf16,
// tf32 or fp16 (float32 only) rounds the operands and accumulates in float32
// (kernels/cpu/conv2d_bf16.h, conv2d_rounded.h).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int padding,
              const kernels::KernelChoice& choice = {}, Precision precision = Precision::device_default);
// y = conv2d(upsample_nearest(x, 2), weight, bias, stride 1, padding): x (N, C, H, W) ->
// (N, K, 2H + 2 padding - R + 1, 2W + 2 padding - S + 1), without materialising the upsampled
// tensor where the kernel folds it into the convolution's gather (the CPU kernels, CUDA's
// igemm_v2; kernels/cpu/upsample_nearest2x_conv2d.h, kernels/cuda/upsample_nearest2x_conv2d.h),
// and saving x, not the upsampled tensor, for the backward. `choice` and `precision` as conv2d's.
Tensor upsample_nearest2x_conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int padding,
                                 const kernels::KernelChoice& choice = {},
                                 Precision precision = Precision::device_default);
// y = x @ w^T + b for x (N, in), w (out, in); on CUDA with `choice`'s gemm variant.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const kernels::KernelChoice& choice = {});

// ---- Reductions and losses (mean over all elements unless named otherwise) ------------------
Tensor sum(const Tensor& x);
Tensor mean(const Tensor& x);
Tensor l1_loss(const Tensor& pred, const Tensor& target);
Tensor mse_loss(const Tensor& pred, const Tensor& target);
Tensor charbonnier_loss(const Tensor& pred, const Tensor& target, double eps = 1e-12);
// mean(BCEWithLogits(x, target)) with a constant target label (GAN real/fake labels).
Tensor bce_with_logits(const Tensor& logits, double target);
Tensor hinge_real_loss(const Tensor& x);       // mean(relu(1 - x)), D on real
Tensor hinge_fake_loss(const Tensor& x);       // mean(relu(1 + x)), D on fake
Tensor hinge_generator_loss(const Tensor& x);  // -mean(x), G's adversarial term

// ---- Spectral normalisation (torch.nn.utils.spectral_norm, dim 0) --------------------------------
// Returns weight / sigma, with W viewed as (out, in*kh*kw). In training mode first runs
// `power_iterations` steps updating u and v in place (v = normalize(W^T u),
// u = normalize(W v), normalize(x) = x / max(|x|, eps)). sigma = u . (W v); the gradient
// flows through W and sigma with u and v held constant.
Tensor spectral_norm(const Tensor& weight, Tensor& u, Tensor& v, bool training,
                     int power_iterations = 1, double eps = 1e-12);

// ---- Shape checks shared by ops (throw sr::Error naming op and shapes) ----------------------
void check_same_shape(const char* op, const Tensor& a, const Tensor& b);
void check_same_device_dtype(const char* op, const Tensor& a, const Tensor& b);
void check_dim(const char* op, const Tensor& x, int ndim, const char* what);

}  // namespace sr
