// OnnxGraph: a thin builder over onnx::GraphProto for the exporter. It names tensors uniquely
// (an ONNX graph is SSA: every tensor is written once), stores initializers in the graph's
// element type (float32 or float16), and sets node attributes. Internal to deploy/ (it
// includes ONNX's generated protobuf header).
#pragma once
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "engine/tensor.h"

namespace sr::quant {
struct QuantTable;
}

namespace sr::deploy {

class OnnxGraph {
 public:
  // `half`: initializers and activations are float16 (the model's I/O stays float32).
  OnnxGraph(onnx::GraphProto* graph, bool half);

  bool half() const { return half_; }
  // The element type of activations and weights: FLOAT or FLOAT16.
  int32_t elem_type() const;

  // A weight (any dtype/device; copied and converted), under `name` (e.g. a BasicSR key).
  // `dims` overrides the stored shape (same element count), e.g. PReLU's (C) as (C, 1, 1).
  std::string add_weight(const std::string& name, const Tensor& t, const std::vector<int64_t>& dims = {});
  // Weight values given directly, in the graph's element type.
  std::string add_weight(const std::string& name, const std::vector<float>& values,
                         const std::vector<int64_t>& dims);
  // Integer constants (the int8 QDQ graph's quantised weights and zero points, int32 biases).
  std::string add_int8(const std::string& name, const std::vector<int8_t>& values, const std::vector<int64_t>& dims);
  std::string add_int32(const std::string& name, const std::vector<int32_t>& values,
                        const std::vector<int64_t>& dims);
  // An int64 constant: shapes, axes, slice bounds and gather indices.
  std::string add_int64(const std::string& name, const std::vector<int64_t>& values, const std::vector<int64_t>& dims);
  // A float32 constant whatever the graph's type (Resize's scales and roi are float32).
  std::string add_float32(const std::string& name, const std::vector<float>& values,
                          const std::vector<int64_t>& dims);
  // Constants shared by many nodes: added under `name` the first time, reused afterwards
  // (the caller gives one name per value). A scalar in the graph's type; a float32 tensor.
  std::string shared_scalar(const std::string& name, float value);
  std::string shared_float32(const std::string& name, const std::vector<float>& values,
                             const std::vector<int64_t>& dims);
  // An int64 vector (dims {n}) and a 0-d int64, named after their values (`i64_4_m1_8`,
  // `i64_scalar_2`) and added once.
  std::string ints(const std::vector<int64_t>& values);
  std::string int_scalar(int64_t value);

  // A node with one output, named `name` (made unique); returns the node to set attributes.
  onnx::NodeProto& add_node(const std::string& op_type, std::initializer_list<std::string> inputs,
                            const std::string& name);

  // Marks a name as taken (the graph's input and output).
  void reserve_name(const std::string& name) { names_.insert(name); }

  int64_t node_count() const { return graph_->node_size(); }

  // The opset the graph is written for (ops whose form changed across opsets check it).
  int opset = 17;

  // Set for an int8 QDQ export: the calibrated scales of every conv's input (quant/ptq.h).
  const quant::QuantTable* int8 = nullptr;

 private:
  std::string unique(const std::string& name);
  onnx::TensorProto& new_initializer(const std::string& name, const std::vector<int64_t>& dims);

  onnx::GraphProto* graph_;
  bool half_;
  std::set<std::string> names_;
};

void set_attr(onnx::NodeProto& node, const std::string& name, int64_t value);
void set_attr(onnx::NodeProto& node, const std::string& name, float value);
void set_attr(onnx::NodeProto& node, const std::string& name, const std::string& value);
void set_attr(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values);

}  // namespace sr::deploy
