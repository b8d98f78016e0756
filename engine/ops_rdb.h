// residual_dense_block: ESRGAN's residual dense block as one autograd node with a fused
// forward and backward (kernels/cpu/rdb.h, kernels/cuda/rdb.h), optionally finishing the
// RRDB around it. It computes exactly what layers/rrdb.cpp's unfused composition does:
//   x_k   = leaky_relu(conv_k(cat(x, x_1, .., x_{k-1})) + b_k, slope)   k = 1..4
//   inner = x + residual * (conv5(cat(x, x_1, .., x_4)) + b5)
//   y     = inner, or outer + outer_scale * inner when `outer` is defined
// (3x3 convs, padding 1), but keeps one (N, nf + 4 gc, H, W) buffer instead of four
// concatenation copies, and saves only that buffer for backward (on CUDA with igemm_v2 or
// wgmma and nf, gc multiples of 8, its packed bf16 twin instead: half the bytes).
#pragma once
#include <array>
#include <memory>

#include "engine/tensor.h"
#include "kernels/common/precision.h"
#include "kernels/kernel_choice.h"

namespace sr {

// w[k]: (gc, nf + k gc, 3, 3) for k < 4 and (nf, nf + 4 gc, 3, 3) for k = 4; b[k] the
// matching biases (each may be undefined).
struct RdbParams {
  std::array<Tensor, 5> w, b;
};

// A chain of blocks, each one's output the next one's input (the RRDB trunk: layers/rrdb.cpp,
// nets/rrdbnet.cpp). Where the blocks keep packed twins (kernels/cuda/rdb.h: igemm_v2 and
// wgmma), a block given a link leaves in it, when leave_next, the next block's twin with its x
// channels already written by its own last convolution's store (its output y, rounded to bf16,
// as packing y would write it), together with y; the next block given the same link takes the
// twin when its x is that y, and so packs no x. Anything else (the CPU, other variants, another
// x) takes nothing and leaves the link empty: the link changes no result, only the packing.
// The match is by tensor identity, so `of` must not be written in place between the two
// blocks (nothing does: the layers pass it straight on).
// The backward's half (kernels/cuda/rdb.h's RdbBackwardLink): a block told that the next block
// is the only consumer of its output (sole_consumer: rdb1's and rdb2's in an RRDB, not rdb3's,
// which the next RRDB's outer residual reads too) leaves with the twin a handoff that its own
// backward reads. The next block's backward, which runs first, stores there its dx scaled for
// this block's conv5 and packed; this block's backward takes it when the gradient it receives
// is that very dx, and then packs no dy for conv5. Gradients are never modified in place (the
// autograd sums into new tensors), so the same tensor means the same values; any other
// gradient (a sum, another consumer) is packed as without the link.
struct RdbGradHandoff {
  float scale = 1.0f;                // the earlier block's conv5 dy scale (cuda::rdb_dz5_scale)
  std::shared_ptr<Storage> packed;   // bf16 bytes, stored by the later block's backward
  Tensor of;                         // the later block's dx that `packed` holds
};

struct RdbLink {
  bool leave_next = true;
  bool sole_consumer = false;     // the next block alone reads this block's output
  std::shared_ptr<Storage> twin;  // the leftover twin (bf16 bytes)
  Tensor of;                      // the block output its x channels hold
  std::shared_ptr<RdbGradHandoff> grad;  // the handoff to the backward of the block that left it
};

// Test hook, a planted bug: the backward takes the next block's handoff whatever gradient it
// receives (RdbLink's identity check skipped). Process-wide; the test restores it.
void set_rdb_grad_handoff_unchecked(bool on);

// On CUDA the convolutions run `choice`'s conv2d variant, forward and backward.
Tensor residual_dense_block(const Tensor& x, const RdbParams& p, double slope = 0.2,
                            double residual = 0.2, const Tensor& outer = Tensor(),
                            double outer_scale = 0.2, const kernels::KernelChoice& choice = {},
                            Precision precision = Precision::device_default, RdbLink* link = nullptr);

}  // namespace sr
