// JPEG compression as the Real-ESRGAN pipeline applies it (BasicSR's DiffJPEG with
// differentiable=False): a continuous-quality block-DCT quantise/round on RGB [0, 1], not
// libjpeg. The same algorithm is the CPU reference of the device implementation.
//
//  1. f = 50/q for q < 50, else 2 - q/50 (continuous q; no rounding or [1, 255] clamp of
//     the scaled table as libjpeg does).
//  2. Pad bottom/right with zeros (black) to multiples of 16; crop back at the end.
//  3. x 255, full-range YCbCr (JFIF): Y = .299R + .587G + .114B, Cb/Cr + 128.
//  4. Chroma 4:2:0 by 2 x 2 box means.
//  5. 8 x 8 blocks, level shift -128, DCT-II C[u][v] = 1/4 a(u) a(v) sum p[x][y]
//     cos((2x+1)u pi/16) cos((2y+1)v pi/16), x = row (u vertical frequency).
//  6. C' = round(C / (T[u][v] f)) T[u][v] f, round half to even; T is the Annex-K table
//     transposed (T[u][v] = S[v][u]), a quirk of the original: horizontal frequency 1 gets
//     step 12 f, vertical 11 f (libjpeg: the reverse).
//  7. Inverse DCT + 128, chroma upsampled by 2 x 2 replication, RGB, clamp [0, 255], / 255.
// The output is continuous (not 8-bit).
#pragma once
#include "data/degrade/planes.h"

namespace sr::data::degrade {

// The table factor of step 1; an error unless 0 < q < 100.
double jpeg_quality_factor(double quality);

// Steps 5-7 on one plane of 0..255 values (sides multiples of 8): level shift, DCT,
// C' = round(C / step[u][v]) step[u][v] (u vertical frequency), inverse DCT, + 128.
void jpeg_quantize_plane(double* plane, int height, int width, const double (&step)[8][8]);

// In place on RGB planes with values in [0, 1] (the pipeline clamps before calling).
void diff_jpeg(Planes& x, double quality);

}  // namespace sr::data::degrade
