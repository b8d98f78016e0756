"""ONNX's own checks on an srengine export, for the onnx/ tests (tests/test_onnx_export.cpp).

    python3 tests/onnx/check_model.py MODEL.onnx fp32|fp16

onnx.checker with full_check (which adds strict shape inference), then the interface the
exporter promises (docs/EXPORT.md): one float32 input `input` and one float32 output `output`,
and every weight in the export's precision (Resize's scales and roi are float32 by the spec).
"""
import sys

import onnx

FLOAT, FLOAT16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16


def main(path, dtype):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    g = model.graph
    assert [i.name for i in g.input] == ["input"], [i.name for i in g.input]
    assert [o.name for o in g.output] == ["output"], [o.name for o in g.output]
    for v in list(g.input) + list(g.output):
        assert v.type.tensor_type.elem_type == FLOAT, f"{v.name} is not float32"
    want = FLOAT16 if dtype == "fp16" else FLOAT
    wrong = [i.name for i in g.initializer if i.data_type != want and not i.name.startswith("resize_")]
    assert not wrong, f"not {dtype}: {wrong}"
    print(f"{path}: checked, {len(g.node)} nodes, opset {model.opset_import[0].version}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
