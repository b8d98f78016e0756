#!/usr/bin/python3
"""The picture in docs/DEGRADATIONS.md: one GT crop and a grid of LQ samples that
`srengine degrade` makes from it, each upscaled nearest-neighbour to the GT size.

usage: tools/degrade_grid.py [--srengine build/srengine] [--out docs/images/degrade_grid.png]

The input is a 400 x 400 crop of an embedded photo, so the dataset step's own 400 crop is
the whole image and every LQ lines up with the GT (flips are off for the same reason).
Needs Pillow (Debian: python3-pil)."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from PIL import Image, ImageDraw

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTO = os.path.join(ROOT, "datasets", "train_photos", "skimage_astronaut.png")  # public domain (NASA)
CROP = (52, 20, 452, 420)  # 400 x 400, the face and the flag
VIEW = (96, 40, 288, 232)  # the part shown: 192 x 192 GT pixels, on the x4 LQ grid
SAMPLES = 8
SEED = 0


def label(p):
    """One short line per sample from its --dump-params record: kernel1 type, noise of each
    order (G sigma / P scale), JPEG quality of each order, and whether the final step ends
    with the sinc filter (S) or with JPEG (J)."""
    n1, n2 = p["noise1"], p["noise2"]
    noise = lambda n: ("G%.0f" % n["sigma"]) if n["type"] == "gaussian" else ("P%.1f" % n["scale"])
    return "%s %s q%.0f/%.0f %s" % (p["kernel1"]["type"].replace("generalized", "gen").replace("plateau", "plat"),
                                     noise(n1) + "/" + noise(n2), p["jpeg1"], p["jpeg2"],
                                     "S" if p["final"]["order"] == "jpeg_resize_sinc" else "J")  # what comes last


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--srengine", default=os.path.join(ROOT, "build", "srengine"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "images", "degrade_grid.png"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "in"))
        gt = Image.open(PHOTO).convert("RGB").crop(CROP)
        gt.save(os.path.join(tmp, "in", "gt.png"))
        cfg = os.path.join(tmp, "cfg.json")
        with open(cfg, "w") as f:  # official x4 values; only flips off
            json.dump({"scale": 4, "datasets": {"train": {"use_hflip": False}}}, f)
        params = os.path.join(tmp, "params.jsonl")
        subprocess.run([a.srengine, "degrade", "--config", cfg, "--input", os.path.join(tmp, "in"), "--output",
                        os.path.join(tmp, "out"), "--count", str(SAMPLES), "--seed", str(SEED), "--dump-params",
                        params], check=True)
        with open(params) as f:
            records = [json.loads(line) for line in f]
        tiles = [(gt.crop(VIEW), "GT (400 crop, x4)")]
        lq_view = tuple(v // 4 for v in VIEW)
        side = VIEW[2] - VIEW[0]
        for r in records:
            lq = Image.open(os.path.join(tmp, "out", r["output"])).convert("RGB")
            tiles.append((lq.crop(lq_view).resize((side, side), Image.NEAREST), label(r)))
    cols, text_h, pad = 3, 14, 4
    rows = (len(tiles) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * (side + pad) + pad, rows * (side + text_h + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (img, text) in enumerate(tiles):
        x = pad + (i % cols) * (side + pad)
        y = pad + (i // cols) * (side + text_h + pad)
        sheet.paste(img, (x, y + text_h))
        draw.text((x + 1, y + 1), text, fill="black")
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    sheet.save(a.out, optimize=True)
    print("%s: %dx%d, %d bytes" % (a.out, sheet.width, sheet.height, os.path.getsize(a.out)))


if __name__ == "__main__":
    sys.exit(main())
