"""ONNX's own checks on an srengine export, for the onnx/ tests (tests/test_onnx_export.cpp).

    python3 tests/onnx/check_model.py MODEL.onnx fp32|fp16|int8

onnx.checker with full_check (which adds strict shape inference), then the interface the
exporter promises (docs/EXPORT.md): the IR version of its opset, one float32 input `input`
and one float32 output `output`, what they hold (RGB or Y) in doc_string and metadata_props,
and every float weight in the export's precision (Resize's scales
and roi are float32 by the spec).
"""
import sys

import onnx

FLOAT, FLOAT16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16


def check_qdq(g):
    """The int8 QDQ layout (docs/EXPORT.md, "int8"): every Conv reads its input through
    QuantizeLinear -> DequantizeLinear with an int8 zero point, its weight from an int8
    initializer and its bias from an int32 one, each through a DequantizeLinear; nothing else
    is quantised and no float weight is left on a Conv."""
    inits = {i.name: i for i in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    convs = [n for n in g.node if n.op_type == "Conv"]
    assert convs, "no Conv"
    for c in convs:
        x = producer.get(c.input[0])
        assert x is not None and x.op_type == "DequantizeLinear", f"{c.name}: input not dequantised"
        q = producer.get(x.input[0])
        assert q is not None and q.op_type == "QuantizeLinear", f"{c.name}: input not quantised"
        assert inits[q.input[2]].data_type == onnx.TensorProto.INT8, f"{c.name}: input zero point not int8"
        w = producer.get(c.input[1])
        assert w is not None and w.op_type == "DequantizeLinear", f"{c.name}: weight not dequantised"
        assert inits[w.input[0]].data_type == onnx.TensorProto.INT8, f"{c.name}: weight not int8"
        if len(c.input) > 2:
            b = producer.get(c.input[2])
            assert b is not None and b.op_type == "DequantizeLinear", f"{c.name}: bias not dequantised"
            assert inits[b.input[0]].data_type == onnx.TensorProto.INT32, f"{c.name}: bias not int32"
    n_q = sum(n.op_type == "QuantizeLinear" for n in g.node)
    assert n_q == len(convs), f"{n_q} QuantizeLinear for {len(convs)} Conv"


def check_interface(model):
    """What the input and output hold, in doc_string and metadata_props (docs/EXPORT.md): RGB for
    three channels in and out, BT.601 Y for one, "unspecified" when the counts differ; the
    upscale is the output's side over the input's where both are fixed."""
    meta = {p.key: p.value for p in model.metadata_props}
    dims = [[d.dim_value for d in v.type.tensor_type.shape.dim] for v in (model.graph.input[0], model.graph.output[0])]
    cin, cout = dims[0][1], dims[1][1]
    want = "rgb" if cin == cout == 3 else "y" if cin == cout == 1 else "unspecified"
    assert meta.get("input_color") == want and meta.get("output_color") == want, \
        f"{cin} channels in, {cout} out: metadata {meta}, not {want}"
    assert meta.get("value_range") == "[0, 1]", meta
    assert meta.get("upscale", "").isdigit(), meta
    if dims[0][2] and dims[1][2]:
        assert dims[1][2] == dims[0][2] * int(meta["upscale"]), f"{dims}: upscale {meta['upscale']}"
    doc = model.doc_string
    if want == "y":
        assert "input Y NCHW [batch, 1, H, W]" in doc and "BT.601" in doc and "RGB" not in doc, doc
        assert "rgb2ycbcr" in meta["ycbcr"] and "Cb and Cr" in meta["chroma"], meta
    elif want == "rgb":
        assert "input RGB NCHW float32 in [0, 1]" in doc and "ycbcr" not in meta, (doc, meta)
    else:
        assert "RGB" not in doc and " Y " not in doc, doc


def main(path, dtype):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    g = model.graph
    # The IR version ONNX released with the opset, so that a runtime of that age reads the file.
    opset = model.opset_import[0].version
    want_ir = {11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8}[opset]
    assert model.ir_version == want_ir, f"IR version {model.ir_version} with opset {opset}, not {want_ir}"
    assert [i.name for i in g.input] == ["input"], [i.name for i in g.input]
    assert [o.name for o in g.output] == ["output"], [o.name for o in g.output]
    for v in list(g.input) + list(g.output):
        assert v.type.tensor_type.elem_type == FLOAT, f"{v.name} is not float32"
    check_interface(model)
    if dtype == "int8":
        check_qdq(g)
    else:
        want = FLOAT16 if dtype == "fp16" else FLOAT
        # Float weights only: int64 constants are shapes, axes and indices.
        floats = [i for i in g.initializer if i.data_type in (FLOAT, FLOAT16)]
        wrong = [i.name for i in floats if i.data_type != want and not i.name.startswith("resize_")
                 and not i.name.endswith(".eps")]  # float32 LayerNorm statistics (fp16, opset < 17)
        assert not wrong, f"not {dtype}: {wrong}"
    if dtype == "fp16":
        # Statistics (a written-out LayerNorm's means of x and of (x - mean)^2) in float32:
        # squares of float16 overflow past 256.
        inferred = onnx.shape_inference.infer_shapes(model)
        types = {v.name: v.type.tensor_type.elem_type for v in list(inferred.graph.value_info) + list(g.input)}
        half_means = [n.name for n in g.node if n.op_type == "ReduceMean" and types.get(n.input[0]) != FLOAT]
        assert not half_means, f"ReduceMean not in float32: {half_means[:3]}"
    print(f"{path}: checked, {len(g.node)} nodes, opset {model.opset_import[0].version}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
