#!/usr/bin/env python3
"""Independent numpy reference for srengine's MATLAB-compatible bicubic resize and its
BasicSR-identical PSNR/SSIM, and the generator of tests/fixtures/data.

Written from the formulas (MATLAB imresize, BasicSR's metric definitions), in float64,
with a direct 2-D 11x11 window for SSIM (the C++ code filters separably), so the two
implementations share no code path.

  /usr/bin/python3 tools/ref_imresize_metrics.py fixtures   # rewrite tests/fixtures/data
                                                            # (crops of $SRENGINE_VAL_PHOTOS)
  /usr/bin/python3 tools/ref_imresize_metrics.py resize IN.png SCALE OUT.f32
  /usr/bin/python3 tools/ref_imresize_metrics.py metrics GT.png SR.png [--crop N] [--y]
"""
import json
import math
import os
import struct
import sys
import zlib
from fractions import Fraction

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "data")
PHOTOS = os.environ.get("SRENGINE_VAL_PHOTOS", "/work/shared/data/val_photos")  # source of the crops


# ---- MATLAB imresize (bicubic, antialiased when shrinking) --------------------------------

def keys_cubic(x):
    """Keys' cubic convolution kernel, a = -0.5."""
    a = np.abs(x)
    return np.where(a <= 1, 1.5 * a**3 - 2.5 * a**2 + 1,
                    np.where(a <= 2, -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2, 0.0))


def contributions(in_len, out_len, scale):
    """Per output pixel: 0-based input indices (mirrored) and normalised weights."""
    width = 4.0 / scale if scale < 1 else 4.0
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]          # 1-based
    d = u[:, None] - idx
    w = scale * keys_cubic(d * scale) if scale < 1 else keys_cubic(d)
    w = w / w.sum(axis=1, keepdims=True)
    # MATLAB's symmetric extension: aux = [1..L, L..1], index mod 2L.
    aux = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
    idx0 = aux[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    return idx0, w


def imresize(img, scale):
    """img: H x W x C float64. Rows first, then columns (as BasicSR)."""
    h, w, _ = img.shape
    oh, ow = int(math.ceil(h * scale)), int(math.ceil(w * scale))
    ih, wh = contributions(h, oh, scale)
    iw, ww = contributions(w, ow, scale)
    rows = np.einsum("ok,okwc->owc", wh, img[ih])            # (oh, w, c)
    return np.einsum("pk,hpkc->hpc", ww, rows[:, iw])        # (oh, ow, c)


# ---- BasicSR metrics ------------------------------------------------------------------------

def to_u8(img01):
    """tensor2img: clamp to [0,1], x255 in float32, round half to even."""
    return np.round(np.clip(img01.astype(np.float32), 0, 1) * np.float32(255)).astype(np.uint8)


def y_channel(rgb_u8):
    """BasicSR to_y_channel on RGB 0..255: float32 /255, Y in float64, /255 -> float32, *255 in float32."""
    x = rgb_u8.astype(np.float32) / np.float32(255.0)
    r, g, b = (x[..., i].astype(np.float64) for i in range(3))
    y = b * 24.966 + g * 128.553 + r * 65.481 + 16.0
    y32 = (y / 255.0).astype(np.float32)
    return (y32 * np.float32(255.0)).astype(np.float64)[..., None]


def prepare(img, crop, use_y):
    img = img.astype(np.float64)
    if crop:
        img = img[crop:-crop, crop:-crop, :]
    if use_y:
        img = y_channel(img.astype(np.uint8))
    return img


def psnr(a, b, crop=0, use_y=False):
    a, b = prepare(a, crop, use_y), prepare(b, crop, use_y)
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else 10 * math.log10(255.0 * 255.0 / mse)


def gaussian_window():
    g = np.exp(-((np.arange(11) - 5.0) ** 2) / (2 * 1.5**2))
    g /= g.sum()
    return np.outer(g, g)


def filter_valid(x, win):
    h, w = x.shape
    out = np.zeros((h - 10, w - 10))
    for i in range(11):
        for j in range(11):
            out += win[i, j] * x[i:i + h - 10, j:j + w - 10]
    return out


def ssim_plane(a, b):
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    win = gaussian_window()
    mu1, mu2 = filter_valid(a, win), filter_valid(b, win)
    s11 = filter_valid(a * a, win) - mu1**2
    s22 = filter_valid(b * b, win) - mu2**2
    s12 = filter_valid(a * b, win) - mu1 * mu2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1**2 + mu2**2 + c1) * (s11 + s22 + c2))
    return m.mean()


def ssim(a, b, crop=0, use_y=False):
    a, b = prepare(a, crop, use_y), prepare(b, crop, use_y)
    return float(np.mean([ssim_plane(a[..., c], b[..., c]) for c in range(a.shape[2])]))


# ---- Files ------------------------------------------------------------------------------------

def load_rgb(path):
    return np.asarray(Image.open(path).convert("RGB"))


def write_f32(path, img):
    """'SRF32' magic, then int32 channels, height, width, then float32 HWC little-endian."""
    h, w, c = img.shape
    with open(path, "wb") as f:
        f.write(b"SRF32\0\0\0" + struct.pack("<iii", c, h, w))
        f.write(img.astype("<f4").tobytes())


def write_png_raw(path, samples, color_type, bit_depth, interlace):
    """A minimal PNG writer (filter 0, optional Adam7) for decoder fixtures that PIL
    cannot make: interlaced files and 16-bit colour with alpha."""
    h, w, c = samples.shape
    dtype = ">u2" if bit_depth == 16 else "u1"

    def rows(img):
        return b"".join(b"\0" + img[y].astype(dtype).tobytes() for y in range(img.shape[0]))

    if interlace:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        raw = b"".join(rows(samples[y0::dy, x0::dx]) for x0, y0, dx, dy in passes
                       if samples[y0::dy, x0::dx].size)
    else:
        raw = rows(samples)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def pattern(w, h, c, ax, ay, ac, mod):
    """Sample (y, x, ch) = (x*ax + y*ay + ch*ac) % mod; the C++ tests use the same formula."""
    y, x, ch = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    return (x * ax + y * ay + ch * ac) % mod


def make_decoder_fixtures():
    write_png_raw(os.path.join(FIXTURES, "pattern_rgb8_adam7.png"), pattern(13, 11, 3, 37, 11, 101, 256), 2, 8, True)
    write_png_raw(os.path.join(FIXTURES, "pattern_gray16.png"), pattern(9, 7, 1, 4099, 7919, 0, 65536), 0, 16, False)
    write_png_raw(os.path.join(FIXTURES, "pattern_rgba16.png"), pattern(5, 4, 4, 4099, 7919, 12345, 65536), 6, 16, False)
    write_png_raw(os.path.join(FIXTURES, "pattern_graya8.png"), pattern(6, 5, 2, 40, 7, 90, 256), 4, 8, False)
    # Palette with a transparent entry (tRNS) and 1-bit gray, each with the RGBA / 8-bit
    # gray image PIL decodes them to.
    pal = Image.fromarray((pattern(10, 8, 1, 1, 3, 0, 6)[..., 0]).astype(np.uint8), mode="P")
    pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 200, 10, 30, 30, 30, 128, 64, 255])
    pal.info["transparency"] = 2
    pal.save(os.path.join(FIXTURES, "palette_trns.png"), transparency=2)
    Image.open(os.path.join(FIXTURES, "palette_trns.png")).convert("RGBA").save(
        os.path.join(FIXTURES, "palette_trns_rgba.png"))
    bits = Image.fromarray((pattern(11, 6, 1, 1, 2, 0, 3)[..., 0] == 0).astype(np.uint8) * 255).convert("1")
    bits.save(os.path.join(FIXTURES, "gray1.png"))
    Image.open(os.path.join(FIXTURES, "gray1.png")).convert("L").save(os.path.join(FIXTURES, "gray1_l.png"))
    # JPEGs and the pixels PIL (also libjpeg) decodes from them.
    coffee = Image.open(os.path.join(FIXTURES, "coffee_48.png")).convert("RGB")
    coffee.save(os.path.join(FIXTURES, "coffee_48_q90.jpg"), quality=90)
    Image.open(os.path.join(FIXTURES, "coffee_48_q90.jpg")).save(os.path.join(FIXTURES, "coffee_48_q90_pil.png"))
    coffee.convert("L").save(os.path.join(FIXTURES, "coffee_48_gray_q90.jpg"), quality=90)
    Image.open(os.path.join(FIXTURES, "coffee_48_gray_q90.jpg")).save(os.path.join(FIXTURES, "coffee_48_gray_q90_pil.png"))


def make_fixtures():
    os.makedirs(FIXTURES, exist_ok=True)
    crops = {  # name: (photo, left, top, width, height)
        "ladybird_60.png": ("mate_ladybird.png", 200, 120, 60, 60),
        "coffee_48.png": ("skimage_coffee.png", 250, 150, 48, 48),
        "glow_45x37.png": ("plasma_eveningglow.png", 300, 100, 45, 37),
        "wood_24x20.png": ("mate_wood.png", 100, 200, 24, 20),
    }
    for name, (photo, x, y, w, h) in crops.items():
        img = load_rgb(os.path.join(PHOTOS, photo))[y:y + h, x:x + w]
        Image.fromarray(img).save(os.path.join(FIXTURES, name))

    resize_cases = [("ladybird_60.png", 0.25), ("ladybird_60.png", 1 / 3), ("coffee_48.png", 0.5),
                    ("glow_45x37.png", 0.25), ("wood_24x20.png", 2.0)]
    cases = []
    for name, scale in resize_cases:
        src = load_rgb(os.path.join(FIXTURES, name)).astype(np.float64) / 255.0
        out = imresize(src, scale)
        out_name = "%s_x%.4f.f32" % (name[:-4], scale)
        write_f32(os.path.join(FIXTURES, out_name), out)
        cases.append({"input": name, "scale": scale, "output": out_name,
                      "height": out.shape[0], "width": out.shape[1]})

    # SR-like images: bicubic x1/4 then x4 (rounded to 8 bits), and a noisy copy.
    gt = load_rgb(os.path.join(FIXTURES, "ladybird_60.png")).astype(np.float64) / 255.0
    sr = to_u8(imresize(to_u8(imresize(gt, 0.25)).astype(np.float64) / 255.0, 4.0))
    Image.fromarray(sr).save(os.path.join(FIXTURES, "ladybird_60_bicubic_sr.png"))
    coffee = load_rgb(os.path.join(FIXTURES, "coffee_48.png")).astype(np.float64)
    noise = np.random.default_rng(5).normal(0, 6, coffee.shape)
    noisy = np.clip(np.round(coffee + noise), 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(os.path.join(FIXTURES, "coffee_48_noisy.png"))

    metrics = []
    for gt_name, sr_name in [("ladybird_60.png", "ladybird_60_bicubic_sr.png"), ("coffee_48.png", "coffee_48_noisy.png")]:
        a, b = load_rgb(os.path.join(FIXTURES, gt_name)), load_rgb(os.path.join(FIXTURES, sr_name))
        for crop in (0, 4):
            for use_y in (False, True):
                metrics.append({"gt": gt_name, "sr": sr_name, "crop_border": crop, "y_channel": use_y,
                                "psnr": psnr(a, b, crop, use_y), "ssim": ssim(a, b, crop, use_y)})
    make_decoder_fixtures()
    with open(os.path.join(FIXTURES, "expected.json"), "w") as f:
        json.dump({"resize": cases, "metrics": metrics}, f, indent=1)
        f.write("\n")


def main(argv):
    if len(argv) >= 1 and argv[0] == "fixtures":
        make_fixtures()
    elif len(argv) == 4 and argv[0] == "resize":
        write_f32(argv[3], imresize(load_rgb(argv[1]).astype(np.float64) / 255.0, float(Fraction(argv[2]))))
    elif len(argv) >= 3 and argv[0] == "metrics":
        crop = int(argv[argv.index("--crop") + 1]) if "--crop" in argv else 0
        a, b = load_rgb(argv[1]), load_rgb(argv[2])
        print(json.dumps({"psnr": psnr(a, b, crop, "--y" in argv), "ssim": ssim(a, b, crop, "--y" in argv)}))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
