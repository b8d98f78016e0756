// ONNX export of SwinIR (nets/swinir.h), for any input size: the reflect padding to the
// window, the (shifted) window partitions and the shift mask are computed in the graph from the
// input's shape. Internal to deploy/; docs/EXPORT.md, "SwinIR", lists the ops.
#pragma once
#include <string>

#include "deploy/onnx_graph.h"
#include "layers/module.h"

namespace sr::deploy {

// The graph of SwinIR `m` applied to the NCHW tensor `x`; returns the output tensor's name.
std::string emit_swinir(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x);

}  // namespace sr::deploy
