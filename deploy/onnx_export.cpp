// export_onnx (see onnx_export.h): options, the graph's interface (input, output, the fp16
// casts), ONNX's checker, the atomic write.
#include "deploy/onnx_export.h"

#include <climits>
#include <utility>
#include <vector>

#include <onnx/checker.h>

#include "deploy/onnx_graph.h"
#include "deploy/onnx_modules.h"
#include "engine/atomic_file.h"
#include "engine/error.h"
#include "nets/hat.h"
#include "nets/swinir.h"

namespace sr::deploy {

namespace {

// A dimension is a number (fixed) or a name (symbolic: dynamic).
struct Dim {
  int64_t value = 0;
  std::string name;
};

void set_io(onnx::ValueInfoProto* v, const std::string& name, const std::vector<Dim>& dims) {
  v->set_name(name);
  onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);  // float32 I/O in both precisions
  for (const Dim& d : dims) {
    onnx::TensorShapeProto_Dimension* p = t->mutable_shape()->add_dim();
    if (d.name.empty()) p->set_dim_value(d.value);
    else p->set_dim_param(d.name);
  }
}

std::string dims_str(const std::vector<Dim>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + (dims[i].name.empty() ? std::to_string(dims[i].value) : dims[i].name);
  return s + "]";
}

// Renames the graph tensor `from` (a node output) to `to`, in every node that uses it.
void rename_tensor(onnx::GraphProto& g, const std::string& from, const std::string& to) {
  for (onnx::NodeProto& n : *g.mutable_node()) {
    for (std::string& s : *n.mutable_output())
      if (s == from) s = to;
    for (std::string& s : *n.mutable_input())
      if (s == from) s = to;
  }
}

void check_options(const OnnxExportOptions& o, const GeneratorInterface& io, const Module& net) {
  check_onnx_options(o);
  if (o.int8) {
    SR_CHECK(o.dtype == "fp32", "int8 export: the QDQ graph's float side is fp32, not ", o.dtype);
    SR_CHECK(o.opset >= 13, "int8 export: opset ", o.opset, " has no per-channel DequantizeLinear (13 or later)");
  }
  if (!o.shape) return;
  const auto& s = *o.shape;
  SR_CHECK(s[1] == io.in_channels, "--shape ", s[0], "x", s[1], "x", s[2], "x", s[3], ": ", io.name, " takes ",
           io.in_channels, " channels, not ", s[1]);
  SR_CHECK(s[2] % io.divisor == 0 && s[3] % io.divisor == 0, "--shape ", s[0], "x", s[1], "x", s[2], "x", s[3],
           ": ", io.name, " needs a height and width that are multiples of ", io.divisor,
           " (it pixel-unshuffles its input)");
  // SwinIR's and HAT's graphs reflect-pad the input to a multiple of the window, which needs more
  // rows and columns than it adds (as their forwards check): a fixed shape that can never run is
  // refused here instead of failing in the runtime's Pad.
  int64_t ws = 0;
  if (const auto* sw = dynamic_cast<const SwinIR*>(&net)) ws = sw->options.window_size;
  if (const auto* h = dynamic_cast<const HAT*>(&net)) ws = h->options.window_size;
  if (ws > 0) {
    for (int a : {2, 3}) {
      const int64_t pad = (ws - s[a] % ws) % ws;
      SR_CHECK(pad < s[a], "--shape ", s[0], "x", s[1], "x", s[2], "x", s[3], ": ", io.name,
               " reflect-pads its input to a multiple of window_size ", ws, ", which needs a height and width of at "
               "least ", ws / 2 + 1, " (", s[a], " would be padded by ", pad, ")");
    }
  }
}

// What the model's input and output hold, written where a deployer's code reads it: the
// doc_string for people, metadata_props for code. Three channels in and out are RGB; one in and
// one out are Y, as `srengine infer` feeds such a network (docs/INFERENCE.md, "One-channel (Y)
// networks"): a net trained on Y given gray or R values would run without error and be wrong,
// so the file says which. Counts that differ (ECBSR's one channel to three) hold what the
// training put there, which the weights do not say: "unspecified".
struct ColourInterface {
  std::string doc;  // after "exported by srengine: "
  std::vector<std::pair<std::string, std::string>> metadata;
};

ColourInterface colour_interface(const GeneratorInterface& io) {
  const std::string larger = std::to_string(io.scale) + " times larger";
  ColourInterface c;
  std::string colour;
  if (io.in_channels == 3 && io.out_channels == 3) {
    colour = "rgb";
    c.doc = "input RGB NCHW float32 in [0, 1]; output RGB, " + larger;
  } else if (io.in_channels == 1 && io.out_channels == 1) {
    colour = "y";
    c.doc = "input Y NCHW [batch, 1, H, W] float32 in [0, 1]: the Y of BT.601 YCbCr in MATLAB's rgb2ycbcr "
            "convention (studio swing, Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255 with R, G, B in [0, 1]); "
            "output Y, " + larger + ". Cb and Cr are the application's: upscale them (e.g. bicubic) and convert "
            "back with ycbcr2rgb";
  } else {
    colour = "unspecified";
    c.doc = "input " + std::to_string(io.in_channels) + " channel(s) NCHW float32 in [0, 1]; output " +
            std::to_string(io.out_channels) + " channel(s), " + larger + " (what the channels hold is the training's)";
  }
  c.metadata = {{"input_color", colour}, {"output_color", colour}, {"value_range", "[0, 1]"},
                {"upscale", std::to_string(io.scale)}};
  if (colour == "y") {
    c.metadata.push_back({"ycbcr", "BT.601 studio swing, MATLAB rgb2ycbcr: Y = (16 + 65.481 R + 128.553 G + "
                                   "24.966 B) / 255, R, G, B in [0, 1]"});
    c.metadata.push_back({"chroma", "not processed: upscale Cb and Cr in the application (e.g. bicubic) and "
                                    "convert back with MATLAB ycbcr2rgb"});
  }
  return c;
}

}  // namespace

bool onnx_export_built() { return true; }

OnnxExportSummary export_onnx(const Module& net, const OnnxExportOptions& o, const std::string& path) {
  const GeneratorInterface io = generator_interface(net);
  check_options(o, io, net);
  check_onnx_output_path(path);
  const bool half = o.dtype == "fp16";

  onnx::ModelProto model;
  model.set_ir_version(onnx_ir_version_for_opset(o.opset));
  model.set_producer_name("srengine");
  model.set_producer_version(SRENGINE_VERSION);
  const ColourInterface colour = colour_interface(io);
  model.set_doc_string(io.name + " (" + (o.int8 ? std::string("int8 QDQ") : o.dtype) + ") exported by srengine: " +
                       colour.doc);
  for (const auto& [key, value] : colour.metadata) {
    onnx::StringStringEntryProto* e = model.add_metadata_props();
    e->set_key(key);
    e->set_value(value);
  }
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(o.opset);
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name(io.name);

  std::vector<Dim> in_dims, out_dims;
  if (o.shape) {
    const auto& s = *o.shape;
    in_dims = {{s[0], ""}, {s[1], ""}, {s[2], ""}, {s[3], ""}};
    out_dims = {{s[0], ""}, {io.out_channels, ""}, {s[2] * io.scale, ""}, {s[3] * io.scale, ""}};
  } else {
    in_dims = {{0, "batch"}, {io.in_channels, ""}, {0, "height"}, {0, "width"}};
    out_dims = {{0, "batch"}, {io.out_channels, ""}, {0, "height_x" + std::to_string(io.scale)},
                {0, "width_x" + std::to_string(io.scale)}};
  }
  set_io(graph.add_input(), "input", in_dims);
  set_io(graph.add_output(), "output", out_dims);

  OnnxGraph g(&graph, half);
  g.int8 = o.int8;
  g.opset = o.opset;
  g.reserve_name("input");
  g.reserve_name("output");
  std::string x = "input";
  if (half) {
    onnx::NodeProto& cast = g.add_node("Cast", {x}, "input_fp16");
    set_attr(cast, "to", int64_t(onnx::TensorProto::FLOAT16));
    x = cast.output(0);
  }
  std::string y = emit_module(g, net, "", x);
  if (half) {
    onnx::NodeProto& cast = g.add_node("Cast", {y}, "output_fp32");
    set_attr(cast, "to", int64_t(onnx::TensorProto::FLOAT));
    y = cast.output(0);
  }
  rename_tensor(graph, y, "output");

  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    fail("ONNX export of ", io.name, ": ONNX's checker rejects the graph (a bug in srengine's exporter): ", e.what());
  }
  const size_t size = model.ByteSizeLong();
  SR_CHECK(size < size_t(INT_MAX), "cannot write '", path, "': the model is ", size,
           " bytes, over protobuf's 2 GB limit for one file");
  std::string bytes;
  SR_CHECK(model.SerializeToString(&bytes), "ONNX export of ", io.name, ": protobuf could not serialise the model");
  write_file_atomically(path, [&](std::FILE* f) {
    SR_CHECK(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size(), "short write");
  });

  OnnxExportSummary s;
  s.network = io.name;
  s.nodes = g.node_count();
  s.initializers = graph.initializer_size();
  s.bytes = int64_t(bytes.size());
  s.input_shape = dims_str(in_dims);
  s.output_shape = dims_str(out_dims);
  s.input_color = colour.metadata.front().second;
  return s;
}

}  // namespace sr::deploy
