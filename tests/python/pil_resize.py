#!/usr/bin/python3
"""Pillow's side of the resize_lanczos3 / multiscale tests (tests/test_data_multiscale.cpp).

usage: pil_resize.py resize SPEC      SPEC lines: IN.png OUT.png WIDTH HEIGHT
       pil_resize.py multiscale IN_DIR OUT_DIR SHORTEST_EDGE
The first resizes each IN to WIDTH x HEIGHT with Image.LANCZOS. The second writes, for every
PNG in IN_DIR, {stem}T0..T2.png at scales 0.75, 0.5 and 1/3 (sides int(side * scale)) and
{stem}T3.png with the shorter side SHORTEST_EDGE (the other int(SHORTEST_EDGE * long / short)),
the recipe of BasicSR's generate_multiscale_DF2K.py, written here from its description.
"""
import os
import sys

from PIL import Image


def lanczos(img, w, h):
    return img.resize((w, h), resample=Image.LANCZOS)


def main():
    if sys.argv[1] == "resize":
        with open(sys.argv[2]) as f:
            for line in f:
                src, dst, w, h = line.split()
                lanczos(Image.open(src), int(w), int(h)).save(dst)
        return
    in_dir, out_dir, edge = sys.argv[2], sys.argv[3], int(sys.argv[4])
    for name in sorted(n for n in os.listdir(in_dir) if n.endswith(".png")):
        stem = os.path.splitext(name)[0]
        img = Image.open(os.path.join(in_dir, name))
        width, height = img.size
        sizes = [(int(width * s), int(height * s)) for s in (0.75, 0.5, 1 / 3)]
        if width < height:
            sizes.append((edge, int(edge * (height / width))))
        else:
            sizes.append((int(edge * (width / height)), edge))
        for i, (w, h) in enumerate(sizes):
            lanczos(img, w, h).save(os.path.join(out_dir, f"{stem}T{i}.png"))


if __name__ == "__main__":
    main()
