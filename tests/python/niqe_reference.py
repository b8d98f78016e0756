#!/usr/bin/python3
"""NumPy's side of the NIQE tests (tests/test_data_niqe.cpp): NIQE and its pristine-model fit
written from the method's description (Mittal et al., IEEE SPL 2013, as BasicSR evaluates
it), with the library calls BasicSR makes (scipy.ndimage.convolve, scipy.special.gamma,
NumPy's nanmean, cov, pinv and roll), so the C++ code is checked against an implementation
that shares none of its code.

Arrays are float32 where BasicSR's are (Y, the local mean and deviation, the field, the
resized image; NumPy's float32 means), as its numbers depend on it; --float64 computes them
in float64 instead, the variant srengine's test shows it can tell apart.

usage: niqe_reference.py score MODEL.npz CROP_BORDER IMG.png ...   one line per image: NAME VALUE
       niqe_reference.py --float64 score ...
       niqe_reference.py fit OUT.npz THRESHOLD WINDOW.npz IMG.png ...
                                       writes a pristine model fitted with WINDOW.npz's
                                       gaussian_window (NIQE's values on flat patches change
                                       with the window's last bits)
"""
import math
import os
import sys
import warnings

import numpy as np
from PIL import Image
from scipy.ndimage import convolve
from scipy.special import gamma

BLOCK = 96
DTYPE = np.float32


def luminance(path, crop):
    """8-bit RGB -> BT.601 Y with BasicSR's float32 steps (an 8-bit gray image as it is),
    cropped, rounded."""
    img = Image.open(path)
    if img.mode in ("L", "LA"):
        y = np.asarray(img.convert("L")).astype(np.float32)
    else:
        rgb = np.asarray(img.convert("RGB")).astype(np.float32) / 255.0
        bgr = rgb[:, :, ::-1]
        y = np.dot(bgr, [24.966, 128.553, 65.481]) + 16.0
        y = (y / 255.0).astype(np.float32) * np.float32(255.0)
    y = y.astype(DTYPE)
    if crop:
        y = y[crop:-crop, crop:-crop]
    return np.round(y)


def cubic(x):
    ax = np.abs(x)
    return ((1.5 * ax**3 - 2.5 * ax**2 + 1) * (ax <= 1) +
            (-0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def resize_taps(n, scale):
    """MATLAB imresize's bicubic (antialiased when shrinking): for each output, its taps in
    order as (source index after symmetric mirroring, weight)."""
    out = int(math.ceil(n * scale))
    width = 4.0 / scale if scale < 1 else 4.0
    rows = []
    for i in range(out):
        u = (i + 1) / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = np.arange(left, left + int(math.ceil(width)) + 2)
        w = scale * cubic((u - taps) * scale) if scale < 1 else cubic(u - taps)
        w = w / w.sum()
        row = []
        for t, wt in zip(taps, w):
            j = t - 1
            while j < 0 or j >= n:
                j = -j - 1 if j < 0 else 2 * n - j - 1
            if wt != 0:
                row.append((j, wt))
        rows.append(row)
    return rows


def imresize_half(img):
    """Rows, then columns: each output sum = sum + w * x over its taps in order, in the
    image's dtype (torch's mv on the reference BLAS)."""
    def one_pass(x):
        out = np.zeros((int(math.ceil(x.shape[0] * 0.5)), x.shape[1]), x.dtype)
        for i, row in enumerate(resize_taps(x.shape[0], 0.5)):
            for j, wt in row:
                out[i] = out[i] + x.dtype.type(wt) * x[j]
        return out
    return one_pass(one_pass(img).T).T


def convolve_nearest(img, w):
    return convolve(img, w, mode="nearest")


GAM = np.arange(0.2, 10.001, 0.001)
R_GAM = np.square(gamma(2 / GAM)) / (gamma(1 / GAM) * gamma(3 / GAM))


def aggd(v):
    """Moments in the block's dtype (NumPy's means), the rest in float64."""
    v = v.ravel()
    with np.errstate(all="ignore"):
        left = np.sqrt(np.mean(v[v < 0] ** 2))
        right = np.sqrt(np.mean(v[v > 0] ** 2))
        g = np.float64(left / right)
        r = np.float64(np.mean(np.abs(v))) ** 2 / np.float64(np.mean(v ** 2))
        rn = r * (g ** 3 + 1) * (g + 1) / (g ** 2 + 1) ** 2
        a = GAM[np.argmin((R_GAM - rn) ** 2)]
    s = np.sqrt(gamma(1 / a) / gamma(3 / a))
    return a, np.float64(left) * s, np.float64(right) * s


def features(block):
    a, bl, br = aggd(block)
    out = [a, (bl + br) / 2]
    for shift in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a, bl, br = aggd(block * np.roll(block, shift, axis=(0, 1)))
        out += [a, (br - bl) * (gamma(2 / a) / gamma(1 / a)), bl, br]
    return out


def block_rows(y, window):
    """(rows, sharpness): 36 features and the mean local deviation of each 96x96 block."""
    bh, bw = y.shape[0] // BLOCK, y.shape[1] // BLOCK
    img = y[:bh * BLOCK, :bw * BLOCK]
    per_scale, sharp = [], []
    for scale in (1, 2):
        mu = convolve_nearest(img, window)
        sigma = np.sqrt(np.abs(convolve_nearest(img * img, window) - mu * mu))
        field = (img - mu) / (sigma + 1)
        s = BLOCK // scale
        rows = []
        for bx in range(bw):
            for by in range(bh):
                rows.append(features(field[by * s:(by + 1) * s, bx * s:(bx + 1) * s]))
                if scale == 1:
                    sharp.append(sigma[by * s:(by + 1) * s, bx * s:(bx + 1) * s].astype(np.float64).mean())
        per_scale.append(np.array(rows))
        img = imresize_half(img / DTYPE(255.0)) * DTYPE(255.0)
    return np.concatenate(per_scale, axis=1), np.array(sharp)


def score(model, path, crop):
    rows, _ = block_rows(luminance(path, crop), model["gaussian_window"])
    finite = rows[~np.isnan(rows).any(axis=1)]
    if len(finite) == 0:
        return math.inf
    mu = np.nanmean(rows, axis=0)
    cov = np.cov(finite, rowvar=False)
    d = np.ravel(model["mu_pris_param"]) - mu
    return float(np.sqrt(d @ np.linalg.pinv((model["cov_pris_param"] + cov) / 2) @ d))


def gaussian_window():
    x = np.arange(7) - 3
    w = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * (7 / 6) ** 2))
    return w / w.sum()


def fit(out, threshold, window, paths):
    kept = []
    for p in paths:
        rows, sharp = block_rows(luminance(p, 0), window)
        if len(sharp):
            kept.append(rows[sharp > threshold * sharp.max()])
    rows = np.concatenate(kept)
    np.savez(out, mu_pris_param=np.nanmean(rows, axis=0)[None, :],
             cov_pris_param=np.cov(rows[~np.isnan(rows).any(axis=1)], rowvar=False), gaussian_window=window)


def main():
    global DTYPE
    warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "mean of empty slice" on flat blocks
    if sys.argv[1] == "--float64":
        DTYPE = np.float64
        del sys.argv[1]
    if sys.argv[1] == "score":
        model = dict(np.load(sys.argv[2]))
        crop = int(sys.argv[3])
        for p in sys.argv[4:]:
            print(os.path.basename(p), repr(score(model, p, crop)))
    else:
        fit(sys.argv[2], float(sys.argv[3]), np.load(sys.argv[4])["gaussian_window"], sys.argv[5:])


if __name__ == "__main__":
    main()
