// ONNX export of HAT (nets/hat.h), for any input size: SwinIR's graph pieces for the windowed
// attention (onnx_swin_graph.h), the channel attention block, and the overlapping
// cross-attention with its key / value windows cut from the input's grid in the graph. Internal
// to deploy/; docs/EXPORT.md, "SwinIR and HAT", lists the ops.
#pragma once
#include <string>

#include "deploy/onnx_graph.h"
#include "layers/module.h"

namespace sr::deploy {

// The graph of HAT `m` applied to the NCHW tensor `x`; returns the output tensor's name.
std::string emit_hat(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x);

}  // namespace sr::deploy
