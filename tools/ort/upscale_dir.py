"""Upscales every PNG of a folder with an ONNX model in ONNX Runtime (tools/ort/run_model.js),
writing 8-bit PNGs of the same names: the outputs docs/EXPORT.md's precision table measures
with `srengine metrics` (fp32, fp16 and int8 exports side by side).

    /usr/bin/python3 tools/ort/upscale_dir.py MODEL.onnx IN_DIR OUT_DIR

The output is clamped to [0, 1] and rounded half to even, as BasicSR's tensor2img.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def main(model, in_dir, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    names = sorted(n for n in os.listdir(in_dir) if n.lower().endswith(".png"))
    if not names:
        sys.exit(f"upscale_dir.py: no PNG images in '{in_dir}'")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            rgb = np.asarray(Image.open(os.path.join(in_dir, name)).convert("RGB"), dtype=np.float32) / 255.0
            h, w, _ = rgb.shape
            x = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None]).astype("<f4")
            x.tofile(os.path.join(tmp, "in.f32"))
            out = subprocess.run(["node", os.path.join(HERE, "run_model.js"), model, os.path.join(tmp, "in.f32"),
                                  "1", "3", str(h), str(w), os.path.join(tmp, "out.f32")],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"upscale_dir.py: {name}: {out.stderr.strip()}")
            dims = [int(v) for v in out.stdout.split()[1:5]]
            y = np.fromfile(os.path.join(tmp, "out.f32"), dtype="<f4").reshape(dims)[0].transpose(1, 2, 0)
            img = np.round(np.clip(y, 0, 1) * 255.0).astype(np.uint8)
            Image.fromarray(img).save(os.path.join(out_dir, name))
            print(f"{name}: {w}x{h} -> {dims[3]}x{dims[2]}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
