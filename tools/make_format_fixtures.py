#!/usr/bin/python3
"""Writes tests/fixtures/formats/: WebP, TIFF and BMP files written by other software (PIL,
and hand-built byte layouts PIL cannot write), each beside NAME_expected.png holding the
pixels a reader must return (PIL's decoding, or the array the file was built from), in the
channel layout srengine returns (gray stays gray, palettes become RGB unless all gray).

usage: /usr/bin/python3 tools/make_format_fixtures.py [--out tests/fixtures/formats]
"""
import argparse
import os
import struct
import zlib

import numpy as np
from PIL import Image


def pattern(h, w, c, seed, depth=8):
    rng = np.random.default_rng(seed)
    top = 255 if depth == 8 else 65535
    return rng.integers(0, top + 1, size=(h, w, c), dtype=np.uint16 if depth == 16 else np.uint8)


def write_png16(path, a):
    """A 16-bit PNG of (h, w, c) uint16 by hand (PIL cannot write 16-bit RGB)."""
    h, w, c = a.shape
    color = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    raw = b"".join(b"\0" + a[y].astype(">u2").tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, color, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def expected(path, a):
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.dtype == np.uint16:
        write_png16(path, a)
    else:
        Image.fromarray(a[:, :, 0] if a.shape[2] == 1 else a).save(path)


def tiff_rgb16_big_endian(path, a):
    """Uncompressed 16-bit RGB, big-endian ('MM'), one strip: a layout PIL cannot write."""
    h, w, _ = a.shape
    data = a.astype(">u2").tobytes()
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 3, None), (259, 3, 1, 1), (262, 3, 1, 2),
               (273, 4, 1, None), (277, 3, 1, 3), (278, 4, 1, h), (279, 4, 1, len(data)), (284, 3, 1, 1)]
    ifd_at = 8
    extra_at = ifd_at + 2 + 12 * len(entries) + 4  # BitsPerSample's three values live here
    data_at = extra_at + 6
    out = bytearray(b"MM\0\x2a" + struct.pack(">I", ifd_at) + struct.pack(">H", len(entries)))
    for tag, typ, count, value in entries:
        if tag == 258:
            field = struct.pack(">I", extra_at)
        elif tag == 273:
            field = struct.pack(">I", data_at)
        elif typ == 3:
            field = struct.pack(">HH", value, 0)
        else:
            field = struct.pack(">I", value)
        out += struct.pack(">HHI", tag, typ, count) + field
    out += struct.pack(">I", 0) + struct.pack(">HHH", 16, 16, 16) + data
    with open(path, "wb") as f:
        f.write(bytes(out))


def bmp(path, w, h, bpp, rows, dib=40, compression=0, masks=None, palette=None, top_down=False):
    """A BMP from already-packed bottom-up (or top-down) rows; dib 12 writes the OS/2 header."""
    stride = (w * bpp + 31) // 32 * 4
    pixels = b"".join(r + b"\0" * (stride - len(r)) for r in rows)
    pal = b""
    if palette is not None:
        pal = b"".join(bytes([b, g, r]) + (b"" if dib == 12 else b"\0") for r, g, b in palette)
    if dib == 12:
        info = struct.pack("<IHHHH", 12, w, h, 1, bpp)
    else:
        info = struct.pack("<IiiHHIIiiII", dib, w, -h if top_down else h, 1, bpp, compression, len(pixels),
                           2835, 2835, len(palette) if palette is not None else 0, 0)
        if masks is not None:
            info += struct.pack("<" + "I" * len(masks), *masks)
        info += b"\0" * (dib - len(info))
    offset = 14 + len(info) + len(pal)
    head = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    with open(path, "wb") as f:
        f.write(head + info + pal + pixels)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "formats"))
    out = ap.parse_args().out
    os.makedirs(out, exist_ok=True)
    p = lambda name: os.path.join(out, name)  # noqa: E731
    photo = np.asarray(Image.open(os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "data",
                                               "ladybird_60.png")).convert("RGB"))[:20, :27]
    rgba = np.concatenate([photo, pattern(20, 27, 1, 1)], axis=2)
    gray = np.asarray(Image.fromarray(photo).convert("L"))

    # WebP (libwebp through PIL): lossless RGB and RGBA (exact), lossy RGB (same decoder).
    Image.fromarray(photo).save(p("webp_lossless_rgb.webp"), lossless=True)
    expected(p("webp_lossless_rgb_expected.png"), photo)
    Image.fromarray(rgba).save(p("webp_lossless_rgba.webp"), lossless=True, exact=True)
    expected(p("webp_lossless_rgba_expected.png"), rgba)
    Image.fromarray(photo).save(p("webp_lossy_rgb.webp"), quality=80)
    expected(p("webp_lossy_rgb_expected.png"), np.asarray(Image.open(p("webp_lossy_rgb.webp")).convert("RGB")))

    # TIFF (libtiff through PIL): deflate RGB, LZW RGBA, gray 8 and 16, palette, bilevel; by
    # hand: big-endian 16-bit RGB.
    Image.fromarray(photo).save(p("tiff_rgb8_deflate.tif"), compression="tiff_adobe_deflate")
    expected(p("tiff_rgb8_deflate_expected.png"), photo)
    Image.fromarray(rgba).save(p("tiff_rgba8_lzw.tif"), compression="tiff_lzw")
    expected(p("tiff_rgba8_lzw_expected.png"), rgba)
    Image.fromarray(gray).save(p("tiff_gray8.tif"))
    expected(p("tiff_gray8_expected.png"), gray)
    g16 = pattern(9, 14, 1, 2, 16)[:, :, 0]
    Image.fromarray(g16.astype(np.uint16), mode="I;16").save(p("tiff_gray16.tif"))
    expected(p("tiff_gray16_expected.png"), g16)
    pal = Image.fromarray(photo).quantize(16)
    pal.save(p("tiff_palette.tif"))
    expected(p("tiff_palette_expected.png"), np.asarray(pal.convert("RGB")))
    bilevel = Image.fromarray(gray).convert("1")
    bilevel.save(p("tiff_bilevel_g4.tif"), compression="group4")
    expected(p("tiff_bilevel_g4_expected.png"), np.asarray(bilevel.convert("L")))
    rgb16 = pattern(7, 11, 3, 3, 16)
    tiff_rgb16_big_endian(p("tiff_rgb16_be.tif"), rgb16)
    expected(p("tiff_rgb16_be_expected.png"), rgb16)

    # BMP: PIL's 8-bit gray, 8-bit palette, 1-bit, 24-bit; by hand: 4-bit palette, 16-bit 565
    # bit fields, 32-bit BGRA with a V4 header, top-down 24-bit, OS/2 24-bit, RLE8 (refused).
    Image.fromarray(gray).save(p("bmp_gray8.bmp"))
    expected(p("bmp_gray8_expected.png"), gray)
    pal8 = Image.fromarray(photo).quantize(64)
    pal8.save(p("bmp_palette8.bmp"))
    expected(p("bmp_palette8_expected.png"), np.asarray(pal8.convert("RGB")))
    bilevel.save(p("bmp_1bit.bmp"))
    expected(p("bmp_1bit_expected.png"), np.asarray(bilevel.convert("L")))
    Image.fromarray(photo).save(p("bmp_rgb24.bmp"))
    expected(p("bmp_rgb24_expected.png"), photo)

    h, w = 5, 7
    idx = pattern(h, w, 1, 4)[:, :, 0] % 11
    colors = [tuple(int(v) for v in c) for c in pattern(11, 1, 3, 5)[:, 0]]
    rows = [bytes((int(r[2 * i]) << 4) | (int(r[2 * i + 1]) if 2 * i + 1 < w else 0) for i in range((w + 1) // 2))
            for r in idx[::-1]]
    bmp(p("bmp_palette4.bmp"), w, h, 4, rows, palette=colors)
    expected(p("bmp_palette4_expected.png"), np.array(colors, dtype=np.uint8)[idx])

    px = pattern(h, w, 1, 6, 16)[:, :, 0]
    rows = [r.astype("<u2").tobytes() for r in px[::-1]]
    bmp(p("bmp_rgb565.bmp"), w, h, 16, rows, compression=3, masks=[0xF800, 0x07E0, 0x001F])
    scale = lambda v, bits: ((v.astype(np.int64) * 255 + ((1 << bits) - 1) // 2) // ((1 << bits) - 1))  # noqa: E731
    e565 = np.stack([scale(px >> 11, 5), scale((px >> 5) & 63, 6), scale(px & 31, 5)], axis=2).astype(np.uint8)
    expected(p("bmp_rgb565_expected.png"), e565)

    a = pattern(h, w, 4, 7)
    rows = [r[:, [2, 1, 0, 3]].tobytes() for r in a[::-1]]
    bmp(p("bmp_bgra32_v4.bmp"), w, h, 32, rows, dib=108, compression=3,
        masks=[0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000])
    expected(p("bmp_bgra32_v4_expected.png"), a)

    c3 = pattern(h, w, 3, 8)
    bmp(p("bmp_rgb24_topdown.bmp"), w, h, 24, [r[:, ::-1].tobytes() for r in c3], top_down=True)
    expected(p("bmp_rgb24_topdown_expected.png"), c3)
    bmp(p("bmp_os2_rgb24.bmp"), w, h, 24, [r[:, ::-1].tobytes() for r in c3[::-1]], dib=12)
    expected(p("bmp_os2_rgb24_expected.png"), c3)
    bmp(p("bad_bmp_rle8.bmp"), 2, 1, 8, [b"\x02\x00\x00\x01"], compression=1, palette=[(0, 0, 0), (255, 0, 0)])


if __name__ == "__main__":
    main()
