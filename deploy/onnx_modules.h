// The exporter's op table: for each module type srengine's generators are built from, the
// ONNX nodes that compute the same function (docs/EXPORT.md lists them). Internal to deploy/.
#pragma once
#include <string>
#include <vector>

#include "deploy/onnx_graph.h"
#include "layers/module.h"

namespace sr::deploy {

// Adds the nodes of module `m` (dotted path `path`, "" for the network) applied to the graph
// tensor `x` and returns its output tensor. A module type with no mapping is an sr::Error
// naming the type and the path.
std::string emit_module(OnnxGraph& g, const Module& m, const std::string& path, const std::string& x);

// The module types emit_module maps.
std::vector<std::string> exportable_module_types();

// What the graph's interface needs to know of a generator.
struct GeneratorInterface {
  std::string name;     // "RRDBNet x4"
  int64_t in_channels = 0, out_channels = 0;
  int scale = 1;        // output side = input side * scale
  int divisor = 1;      // input sides must be multiples of it (RRDBNet x2 / x1 unshuffle)
};

// The interface of an exportable network; any other network type is an error naming it.
GeneratorInterface generator_interface(const Module& net);

}  // namespace sr::deploy
