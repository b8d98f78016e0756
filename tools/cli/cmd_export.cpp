// `srengine export`: a generator (network_g of a config with its weights, a released model by
// name, or a weights file that carries its architecture: the same loading as `srengine infer`,
// infer/open_model.h) written as an ONNX model for ONNX Runtime, TensorRT, NCNN, TFLite and
// CoreML converters (deploy/onnx_export.h, docs/EXPORT.md).
#include <cstdio>

#include "deploy/onnx_export.h"
#include "engine/error.h"
#include "infer/open_model.h"
#include "tools/cli/args.h"
#include "tools/cli/commands.h"
#include "tools/cli/net_setup.h"

namespace sr::cli {

namespace {

const char* kUsage =
    "usage: srengine export (--config CFG --weights W | -n MODEL_NAME | --weights W) --output MODEL.onnx\n"
    "                       [--opset N] [--dtype fp32|fp16] [--shape NxCxHxW | --dynamic]\n"
    "  Writes the generator as an ONNX model: input `input`, float32 NCHW RGB in [0, 1]; output\n"
    "  `output`, float32 NCHW, scale times larger. Standard ONNX ops only (docs/EXPORT.md).\n"
    "  A one-channel (Y) network (num_in_ch = num_out_ch = 1; in_chans 1) takes and gives\n"
    "  [batch, 1, H, W]: the Y of BT.601 YCbCr in MATLAB's rgb2ycbcr convention (studio swing,\n"
    "  16..235 of 255) in [0, 1], as srengine infer feeds it; the application upscales Cb and Cr\n"
    "  (e.g. bicubic) and converts back. The model's metadata_props say which: input_color rgb\n"
    "  or y, value_range, upscale.\n"
    "model (as srengine infer):\n"
    "  --config CFG            a config whose network_g is the architecture (with --weights)\n"
    "  --weights W             safetensors or PyTorch .pth weights\n"
    "  -n, --model-name NAME   a released model (see srengine infer --help), found in --model-dir\n"
    "  --model-dir D           where -n looks first (default weights)\n"
    "  --param-key K           auto (default), params_ema, params or bare\n"
    "output:\n"
    "  -o, --output P          the .onnx file (written to a temporary file, then renamed)\n"
    "  --opset N               ONNX opset, 11..17 (default 17)\n"
    "  --dtype T               fp32 (default) or fp16: float16 weights and ops, float32 input and\n"
    "                          output (a Cast at each end)\n"
    "  --shape NxCxHxW         a fixed input shape (e.g. 1x3x256x256)\n"
    "  --dynamic               batch, height and width symbolic (the default)\n";

}  // namespace

int run_export(const std::vector<std::string>& args) {
  infer::ModelSpec spec;
  deploy::OnnxExportOptions options;
  std::string output;
  bool dynamic = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      SR_CHECK(i + 1 < args.size(), "export: ", a, " needs a value (see srengine export --help)");
      return args[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      if (!deploy::onnx_export_built())
        std::fputs("\nThis srengine was built without ONNX export (no libonnx-dev / libprotobuf-dev).\n", stdout);
      return 0;
    } else if (parse_model_flag(a, value, spec)) {
    } else if (a == "-o" || a == "--output") {
      output = value();
    } else if (a == "--opset") {
      options.opset = parse_int_arg("export", a, value());
    } else if (a == "--dtype") {
      options.dtype = value();
    } else if (a == "--shape") {
      options.shape = deploy::parse_onnx_shape(value());
    } else if (a == "--dynamic") {
      dynamic = true;
    } else {
      fail("export: unknown argument '", a, "' (see srengine export --help)");
    }
  }
  SR_CHECK(!output.empty(), "export: --output MODEL.onnx is required (see srengine export --help)");
  SR_CHECK(!(dynamic && options.shape), "export: give --shape or --dynamic, not both");
  deploy::check_onnx_options(options);
  deploy::check_onnx_output_path(output);
  // Fail before reading weights when the build cannot export at all.
  SR_CHECK(deploy::onnx_export_built(), "export: this srengine was built without ONNX export (CMake found no "
                                        "libonnx-dev / libprotobuf-dev); install them (tools/setup.sh) and rebuild");
  const infer::OpenedModel model = open_cli_model(spec);
  const deploy::OnnxExportSummary s = deploy::export_onnx(*model.net, options, output);
  const char* colour = s.input_color == "rgb" ? " RGB in [0, 1]"
                       : s.input_color == "y"  ? " Y (BT.601 YCbCr, MATLAB's rgb2ycbcr) in [0, 1]; Cb and Cr are "
                                                 "the application's"
                                               : "";
  std::printf("wrote %s: %s, %s, opset %d, %lld nodes, %lld initializers, %lld bytes\n  input  %s%s\n  output %s\n",
              output.c_str(), s.network.c_str(), options.dtype.c_str(), options.opset, (long long)s.nodes,
              (long long)s.initializers, (long long)s.bytes, s.input_shape.c_str(), colour, s.output_shape.c_str());
  return 0;
}

}  // namespace sr::cli
