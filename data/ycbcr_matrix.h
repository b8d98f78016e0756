// The full BT.601 YCbCr conversion pair in MATLAB's convention ("studio swing": rgb2ycbcr and
// ycbcr2rgb for double images), for running a network trained on Y (BasicSR's `color: y`) on
// colour photos: Y through the network, Cb and Cr by bicubic, then back to RGB.
#pragma once
#include "data/ycbcr.h"

namespace sr::data {

// Forward (ITU-R BT.601, MATLAB's rgb2ycbcr), R, G, B and the results in [0, 1]:
//   255 Y  =  16 + 65.481 R + 128.553 G + 24.966 B       Y  in [16/255, 235/255]
//   255 Cb = 128 - 37.797 R -  74.203 G + 112.0  B       Cb in [16/255, 240/255]
//   255 Cr = 128 + 112.0  R -  93.786 G -  18.214 B      Cr likewise
// Y is data::bt601_y itself (ycbcr.h); the sums are taken in float64 and rounded once.
inline void bt601_rgb_to_ycbcr(float r, float g, float b, float& y, float& cb, float& cr) {
  const double R = r, G = g, B = b;
  y = bt601_y(r, g, b);
  cb = (float)((128.0 - 37.797 * R - 74.203 * G + 112.0 * B) / 255.0);
  cr = (float)((128.0 + 112.0 * R - 93.786 * G - 18.214 * B) / 255.0);
}

// Inverse (MATLAB's ycbcr2rgb): with y = 255 Y - 16, u = 255 Cb - 128, v = 255 Cr - 128,
// (R, G, B) = T^-1 (y, u, v) where T is the forward matrix above. T^-1, computed exactly in
// rationals (det T = 1298184415899 / 500000) and rounded to double:
//   R = 1/219 y + 1.1808799899499555e-09 u + 0.006258928969943937   v
//   G = 1/219 y - 0.0015363236860449021  u - 0.003188110949655707   v
//   B = 1/219 y + 0.007910716233554741   u + 1.1977497040920977e-08 v
// The Y column is exactly 1/219 (each row of T's chroma part sums to 0 and its Y row to 219).
// The two tiny entries are what exact inversion of the rounded forward coefficients gives;
// MATLAB's T^-1 has them too, BasicSR's ycbcr2rgb rounds them to 0 (8 digits). Not clamped:
// the caller clamps once, at 8- or 16-bit output.
inline void bt601_ycbcr_to_rgb(float y, float cb, float cr, float& r, float& g, float& b) {
  const double Y = 255.0 * y - 16.0, U = 255.0 * cb - 128.0, V = 255.0 * cr - 128.0;
  r = (float)(Y / 219.0 + 1.1808799899499555e-09 * U + 0.006258928969943937 * V);
  g = (float)(Y / 219.0 - 0.0015363236860449021 * U - 0.003188110949655707 * V);
  b = (float)(Y / 219.0 + 0.007910716233554741 * U + 1.1977497040920977e-08 * V);
}

}  // namespace sr::data
