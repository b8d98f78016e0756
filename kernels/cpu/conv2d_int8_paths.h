// The vector paths of conv2d_int8 (conv2d_int8.h), one file each, each compiled for exactly its
// own ISA (`#pragma GCC target` over the x86-64 baseline, whatever the build's -march), and the
// per-conv epilogue constants they share. conv2d_int8.cpp checks the CPU before calling one.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/cpu/conv2d_int8.h"

namespace sr::cpu::int8_paths {

// The epilogue's constants per output channel (Kp of each), computed with the same float
// operations as the reference: zx * wsum[k], sx * sw[k] (one float product), bias, slope.
struct Epilogue {
  std::vector<int32_t> zx_wsum;
  std::vector<float> mult, bias, slope;
};
Epilogue make_epilogue(const QuantActivation& x, const QuantConvWeights& w, const Int8ConvOutput& out);

// Shapes are checked by the caller.
void forward_avx512_vnni(const QuantActivation& x, const QuantConvWeights& w, const Epilogue& e,
                         const Int8ConvOutput& out);
void forward_avx_vnni(const QuantActivation& x, const QuantConvWeights& w, const Epilogue& e,
                      const Int8ConvOutput& out);
void forward_avx2(const QuantActivation& x, const QuantConvWeights& w, const Epilogue& e, const Int8ConvOutput& out);

}  // namespace sr::cpu::int8_paths
