// OnnxGraph (see onnx_graph.h).
#include "deploy/onnx_graph.h"

#include <cmath>

#include "deploy/float16.h"
#include "engine/error.h"

namespace sr::deploy {

OnnxGraph::OnnxGraph(onnx::GraphProto* graph, bool half) : graph_(graph), half_(half) {}

int32_t OnnxGraph::elem_type() const {
  return half_ ? onnx::TensorProto::FLOAT16 : onnx::TensorProto::FLOAT;
}

std::string OnnxGraph::unique(const std::string& name) {
  std::string n = name;
  for (int i = 1; names_.count(n); ++i) n = name + "_" + std::to_string(i);
  names_.insert(n);
  return n;
}

onnx::TensorProto& OnnxGraph::new_initializer(const std::string& name, const std::vector<int64_t>& dims) {
  SR_CHECK(!names_.count(name), "ONNX export: tensor name '", name, "' is used twice");
  names_.insert(name);
  onnx::TensorProto& t = *graph_->add_initializer();
  t.set_name(name);
  for (int64_t d : dims) t.add_dims(d);
  return t;
}

std::string OnnxGraph::add_weight(const std::string& name, const Tensor& t, const std::vector<int64_t>& dims) {
  const Tensor c = t.detach().to(Device::cpu()).to(DType::f32).contiguous();
  const float* p = c.data<float>();
  std::vector<int64_t> d = dims.empty() ? c.shape().vec() : dims;
  int64_t n = 1;
  for (int64_t v : d) n *= v;
  SR_CHECK(n == c.numel(), "ONNX export: '", name, "' has ", c.numel(), " values, not ", n);
  return add_weight(name, std::vector<float>(p, p + c.numel()), d);
}

std::string OnnxGraph::add_weight(const std::string& name, const std::vector<float>& values,
                                  const std::vector<int64_t>& dims) {
  if (!half_) return add_float32(name, values, dims);
  onnx::TensorProto& t = new_initializer(name, dims);
  t.set_data_type(onnx::TensorProto::FLOAT16);
  // raw_data is little-endian IEEE half, two bytes per value (the ONNX spec's layout).
  std::string raw(values.size() * 2, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    // fp16's largest finite value is 65504; past it (less half a step) a weight would become
    // infinity and the model's output NaN: refused, naming the weight.
    SR_CHECK(std::isfinite(values[i]) && std::fabs(values[i]) < 65520.0f, "ONNX export (--dtype fp16): '", name,
             "' holds ", values[i], ", beyond fp16's range (|x| <= 65504): export it in fp32");
    const uint16_t h = float_to_half(values[i]);
    raw[2 * i] = char(h & 0xff);
    raw[2 * i + 1] = char(h >> 8);
  }
  t.set_raw_data(std::move(raw));
  return name;
}

std::string OnnxGraph::add_int8(const std::string& name, const std::vector<int8_t>& values,
                                const std::vector<int64_t>& dims) {
  onnx::TensorProto& t = new_initializer(name, dims);
  t.set_data_type(onnx::TensorProto::INT8);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size()));  // one byte each
  return name;
}

std::string OnnxGraph::add_int32(const std::string& name, const std::vector<int32_t>& values,
                                 const std::vector<int64_t>& dims) {
  onnx::TensorProto& t = new_initializer(name, dims);
  t.set_data_type(onnx::TensorProto::INT32);
  for (int32_t v : values) t.add_int32_data(v);
  return name;
}

std::string OnnxGraph::add_int64(const std::string& name, const std::vector<int64_t>& values,
                                 const std::vector<int64_t>& dims) {
  onnx::TensorProto& t = new_initializer(name, dims);
  t.set_data_type(onnx::TensorProto::INT64);
  for (int64_t v : values) t.add_int64_data(v);
  return name;
}

std::string OnnxGraph::add_float32(const std::string& name, const std::vector<float>& values,
                                   const std::vector<int64_t>& dims) {
  onnx::TensorProto& t = new_initializer(name, dims);
  t.set_data_type(onnx::TensorProto::FLOAT);
  // float_data: protobuf writes the values little-endian on any host, so no byte order to get
  // wrong (raw_data is used only for float16, which float_data cannot hold).
  for (float v : values) t.add_float_data(v);
  return name;
}

std::string OnnxGraph::shared_scalar(const std::string& name, float value) {
  if (names_.count(name)) return name;
  return add_weight(name, std::vector<float>{value}, {});
}

std::string OnnxGraph::shared_float32(const std::string& name, const std::vector<float>& values,
                                      const std::vector<int64_t>& dims) {
  if (names_.count(name)) return name;
  return add_float32(name, values, dims);
}

namespace {
// -1 as "m1": names stay identifiers.
void append_int_name(std::string& name, int64_t v) {
  name += v < 0 ? "_m" : "_";
  name += std::to_string(v < 0 ? -v : v);
}
}  // namespace

std::string OnnxGraph::ints(const std::vector<int64_t>& values) {
  std::string name = "i64";
  for (int64_t v : values) append_int_name(name, v);
  if (names_.count(name)) return name;
  return add_int64(name, values, {int64_t(values.size())});
}

std::string OnnxGraph::int_scalar(int64_t value) {
  std::string name = "i64_scalar";
  append_int_name(name, value);
  if (names_.count(name)) return name;
  return add_int64(name, {value}, {});
}

onnx::NodeProto& OnnxGraph::add_node(const std::string& op_type, std::initializer_list<std::string> inputs,
                                     const std::string& name) {
  onnx::NodeProto& n = *graph_->add_node();
  const std::string out = unique(name);
  n.set_op_type(op_type);
  n.set_name(out);
  for (const std::string& in : inputs) n.add_input(in);
  n.add_output(out);
  return n;
}

void set_attr(onnx::NodeProto& node, const std::string& name, int64_t value) {
  onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(value);
}

void set_attr(onnx::NodeProto& node, const std::string& name, float value) {
  onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::FLOAT);
  a.set_f(value);
}

void set_attr(onnx::NodeProto& node, const std::string& name, const std::string& value) {
  onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::STRING);
  a.set_s(value);
}

void set_attr(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto& a = *node.add_attribute();
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a.add_ints(v);
}

}  // namespace sr::deploy
