// LayerOptions: what a network builder hands to every layer it makes, beside the layer's
// own sizes (train/networks.h's make_network takes it; nets/ pass it to their layers). Each
// layer keeps its copy and passes it to the ops it runs, so networks built side by side in
// one process (tests, the C API, a library user) can differ.
#pragma once
#include "kernels/kernel_choice.h"

namespace sr {

struct LayerOptions {
  // Which kernel variants the layer's ops run (conv2d and gemm on CUDA, the residual dense
  // block's fused or unfused path on every device): the config's conv_impl / rdb_impl.
  kernels::KernelChoice kernels;
};

}  // namespace sr
