#!/usr/bin/python3
"""Fits the polynomials of the CPU's float32 GELU (kernels/cpu/elementwise.cpp, gelu_cdf_f32)
and measures the float evaluation's error, emulated here operation by operation in float32.

The normal CDF Phi(x) (gelu(x) = x Phi(x), gelu'(x) = Phi(x) + x phi(x)) is computed in two
pieces split at |x| = sqrt 2:
  |x| < sqrt 2:  Phi(x) = 1/2 + x Pa(x^2)                      (Pa of degree 6 in x^2)
  |x| >= sqrt 2: Phi(-|x|) = exp(-x^2/2) t Qb(t), t = 1 / (1 + 0.375 |x|)  (Qb of degree 8)
the form of Abramowitz & Stegun 7.1.26 (erfc as exp(-z^2) times a polynomial in 1 / (1 + p z)),
refitted with more terms: 7.1.26's five give 1.5e-7, these 2e-9 before rounding to float.
exp(-x^2/2) (also the density phi) is exp on [-87, 0]: n = round(a / ln 2), r = a - n ln 2 in
two parts (Cody & Waite; ln 2 = 0.693359375 - 2.12194440e-4, the first exact times any n of 8
bits), exp(r) = Pe(r) of degree 6 on |r| <= ln2 / 2, times 2^n built from its exponent bits.

Each polynomial is a minimax fit in relative error, by Lawson's algorithm (least squares
reweighted by the error until the weights settle on the extremes) on Chebyshev points, of
values from mpmath at 40 digits; the coefficients are then rounded to float32 and printed
as the C++ arrays. The emulation rounds every operation to float32 (no FMA; the build's FMA
contraction only removes roundings) and compares with scipy's float64 ndtr over 2,000,001
points of [-14, 14]; the errors are in units of eps = 2^-23 times max(|ref|, 1).

usage: /usr/bin/python3 tools/fit_gelu_float.py
"""
import mpmath as mp
import numpy as np
from scipy.special import ndtr

mp.mp.dps = 40
f32 = np.float32

PA_DEG, QB_DEG, PE_DEG = 6, 8, 6
T_SCALE = 0.375               # t = 1 / (1 + T_SCALE |x|)
X_SPLIT = np.sqrt(2.0)
X_MAX = np.sqrt(174.0)        # x^2 / 2 <= 87: exp(-x^2/2) is a normal float (>= 2^-126)
LN2_HI, LN2_LO = 0.693359375, -2.12194440e-4


def lawson(f, points, basis, iters=400):
    """Minimax fit of f in relative error: coefficients and the largest relative error."""
    a = np.array([[float(b(p)) for b in basis] for p in points])
    y = np.array([float(f(p)) for p in points])
    a = a / y[:, None]
    one = np.ones_like(y)
    w = np.full(len(points), 1.0 / len(points))
    for _ in range(iters):
        s = np.sqrt(w)
        c, *_ = np.linalg.lstsq(a * s[:, None], one * s, rcond=None)
        err = np.abs(a @ c - one)
        w = w * err
        w /= w.sum()
    return c, float(np.max(np.abs(a @ c - one)))


def chebyshev_points(lo, hi, n):
    k = np.arange(n)
    return (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (k + 0.5) / n)


def fit():
    pa, pa_err = lawson(lambda v: (mp.ncdf(mp.sqrt(v)) - mp.mpf(0.5)) / mp.sqrt(v) if v > 0 else 1 / mp.sqrt(2 * mp.pi),
                        chebyshev_points(0, 2, 1500), [lambda v, k=k: v ** k for k in range(PA_DEG + 1)])
    qb, qb_err = lawson(lambda x: mp.ncdf(-x) * mp.exp(x * x / 2), chebyshev_points(X_SPLIT, X_MAX, 2500),
                        [lambda x, k=k: (1 / (1 + T_SCALE * x)) ** (k + 1) for k in range(QB_DEG + 1)])
    half = float(mp.log(2) / 2) + 1e-4  # the rounding of n lets |r| pass ln2 / 2 a little
    pe, pe_err = lawson(mp.exp, chebyshev_points(-half, half, 1500), [lambda r, k=k: r ** k for k in range(PE_DEG + 1)])
    print(f"relative fit errors before rounding to float32: Pa {pa_err:.3g}, Qb {qb_err:.3g}, Pe {pe_err:.3g}")
    return pa.astype(f32), qb.astype(f32), pe.astype(f32)


def horner(c, v):
    acc = np.full_like(v, c[-1])
    for k in range(len(c) - 2, -1, -1):
        acc = f32(acc * v + c[k])
    return acc


def emulate(x, pa, qb, pe):
    """Phi, gelu and gelu' as gelu_cdf_f32 computes them, each operation rounded to float32."""
    x = x.astype(f32)
    x2 = f32(x * x)
    a = f32(f32(-0.5) * x2)
    in_range = a > f32(-87)
    a = np.where(in_range, a, f32(-87))
    n = f32(f32(f32(a * f32(1.44269504)) + f32(12582912)) - f32(12582912))
    r = f32(f32(a - f32(n * f32(LN2_HI))) - f32(n * f32(LN2_LO)))
    e = np.where(in_range, f32(horner(pe, r) * np.ldexp(f32(1), n.astype(np.int32)).astype(f32)), f32(0))
    ax = np.abs(x)
    t = f32(f32(1) / f32(f32(1) + f32(T_SCALE) * ax))
    q = f32(f32(e * t) * horner(qb, t))
    far = np.where(x < 0, q, f32(f32(1) - q))
    near = f32(f32(0.5) + f32(x * horner(pa, x2)))
    phi = np.where(ax < f32(X_SPLIT), near, far)
    return phi, f32(x * phi), f32(phi + f32(x * f32(e * f32(0.398942280))))


def main():
    pa, qb, pe = fit()
    for name, c in (("kGeluPa", pa), ("kGeluQb", qb), ("kExpPe", pe)):
        text = ["%.9g" % v for v in c]
        text = [v if any(ch in v for ch in ".e") else v + ".0" for v in text]
        print(f"constexpr float {name}[] = {{{', '.join(v + 'f' for v in text)}}};")
    x = np.linspace(-14, 14, 2_000_001)
    with np.errstate(all="ignore"):
        phi, y, g = emulate(x, pa, qb, pe)
    xd = x.astype(f32).astype(np.float64)
    ref_phi = ndtr(xd)
    refs = (ref_phi, xd * ref_phi, ref_phi + xd * np.exp(-xd * xd / 2) / np.sqrt(2 * np.pi))
    for name, got, ref in zip(("Phi", "gelu", "gelu'"), (phi, y, g), refs):
        err = np.abs(got.astype(np.float64) - ref)
        units = err / np.maximum(np.abs(ref), 1) / 2.0 ** -23
        i = int(np.argmax(units))
        print(f"{name:6s} max error {units[i]:.3f} eps max(|ref|, 1) at x = {xd[i]:.6f} ({err[i]:.3g} absolute)")
    neg = (xd < -X_SPLIT) & (xd > -X_MAX)  # beyond, Phi is below 2^-126 / 5 and returned as 0
    rel = np.abs(phi[neg].astype(np.float64) - ref_phi[neg]) / ref_phi[neg]
    print(f"Phi on (-sqrt 174, -sqrt 2): max relative error {rel.max():.3g}")


if __name__ == "__main__":
    main()
