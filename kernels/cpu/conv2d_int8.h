// int8 convolution for CPU inference: uint8 activations x int8 weights, int32 sums.
//
// Quantisation (the ONNX QuantizeLinear / DequantizeLinear convention):
//   activation  real = sx * (qx - zx),  qx in [0, 255], one (sx, zx) per tensor
//   weight      real = sw[k] * qw,       qw in [-127, 127], one sw per output channel
// so a conv output is
//   y[k][pix] = sx * sw[k] * sum_{c,r,s} (qx - zx) * qw  + bias[k]
//             = sx * sw[k] * (sum qx * qw  -  zx * sum qw[k])  + bias[k],
// an integer sum that is exact in int32 (at most 255 * 127 * C*R*S, under 2^31 up to
// C*R*S = 66000), and one per-channel correction zx * sum qw[k] (wsum below).
//
// Layouts, chosen for AVX512-VNNI's vpdpbusd (16 lanes, each adding the dot product of 4
// unsigned bytes with 4 signed bytes to an int32):
//   activations  NHWC with the channels padded to Cp (a multiple of 4) and a border of
//                `pad` pixels that holds zx (a real 0), so every tap reads in bounds;
//   weights      [r][s][c / 4][k / 16][16 k][4 c]: one 64-byte row holds 4 input channels
//                of 16 output channels, the operand of one vpdpbusd against 4 broadcast
//                input bytes of one pixel; the 256-bit AVX-VNNI path reads each row as two
//                8-channel halves. The AVX2 path (no VNNI) reads its own copy, widened to
//                int16 pairs (pack_conv_weights_int16_pairs below).
// The epilogue applies scale, bias and an activation y = max(v, 0) + slope[k] * min(v, 0)
// (slope 1: none, 0: relu, a: leaky relu, a[k]: prelu), then either quantises into the next
// conv's activation (QuantizeLinear: round half to even of y / sy, plus zy, saturated to
// [0, 255]) or writes float NCHW.
//
// conv2d_int8_forward_reference is the plain loop nest every other path is tested against.
// The vector paths (avx512_vnni, avx_vnni, avx2) are each compiled for their own ISA whatever
// the build's -march, and conv2d_int8_forward picks one when it runs (Int8Isa below).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sr::cpu {

struct QuantActivation {
  int64_t N = 0, H = 0, W = 0, C = 0;  // interior size and real channel count
  int64_t Cp = 0, pad = 0;             // padded channel count (multiple of 4), border width
  float scale = 1.0f;
  int zero_point = 0;
  std::vector<uint8_t> data;  // N x (H + 2 pad) x (W + 2 pad) x Cp

  int64_t row_bytes() const { return (W + 2 * pad) * Cp; }
  int64_t image_bytes() const { return (H + 2 * pad) * row_bytes(); }
  // The interior pixel (n, y, x)'s first channel.
  uint8_t* at(int64_t n, int64_t y, int64_t x) { return data.data() + n * image_bytes() + (y + pad) * row_bytes() + (x + pad) * Cp; }
  const uint8_t* at(int64_t n, int64_t y, int64_t x) const {
    return data.data() + n * image_bytes() + (y + pad) * row_bytes() + (x + pad) * Cp;
  }
};

// An activation of the given size, every byte (border and padded channels too) zero_point.
QuantActivation make_quant_activation(int64_t N, int64_t C, int64_t H, int64_t W, int64_t pad, float scale,
                                      int zero_point);

// Sets the border of q to its zero point (after a change of zero point, when a buffer is
// reused for another activation of the same size: the convs write the interior).
void fill_border(QuantActivation& q);

// QuantizeLinear of float NCHW x into the interior of `q` (sizes must agree).
void quantize_activation(const float* x, QuantActivation& q);
// DequantizeLinear of q's interior into float NCHW.
void dequantize_activation(const QuantActivation& q, float* x);

struct QuantConvWeights {
  int64_t K = 0, C = 0, R = 0, S = 0;
  int64_t Cp = 0, Kp = 0;  // C padded to 4, K padded to 16
  std::vector<int8_t> packed;  // [r][s][Cp/4][Kp/16][16][4]
  std::vector<int16_t> pairs;  // the AVX2 path's copy: [r][s][Cp/4][Kp/8][2][8][2] (see below)
  std::vector<float> scale;    // Kp (0 past K)
  std::vector<int32_t> wsum;   // Kp: sum over (c, r, s) of qw[k]
  std::vector<float> bias;     // Kp (0 when the conv has none)
  std::vector<int8_t> oihw;    // the quantised weights as given (the reference reads these)
};

// Packs int8 weights qw (OIHW, K x C x R x S) with their per-channel scales and the bias
// (nullptr: none). Values outside [-127, 127] are refused.
QuantConvWeights pack_conv_weights_int8(const int8_t* qw, const float* scale, const float* bias, int64_t K,
                                        int64_t C, int64_t R, int64_t S);

// The AVX2 path's weights (no VNNI): for each tap, group of 4 input channels c0..c3 and block
// of 8 output channels, two rows of 8 int16 pairs, (w[k][c0], w[k][c1]) then (w[k][c2], w[k][c3]),
// the operands of vpmaddwd against a broadcast pair of input values (pack_conv_weights_int8
// fills w.pairs with it).
std::vector<int16_t> pack_conv_weights_int16_pairs(const std::vector<int8_t>& oihw, int64_t K, int64_t C,
                                                   int64_t R, int64_t S, int64_t Cp, int64_t Kp);

// Symmetric int8 quantisation of float OIHW weights: per output channel (or one scale for
// all when per_channel is false), scale = max|w| / 127, qw = round half to even (w / scale).
void quantize_conv_weights(const float* w, int64_t K, int64_t C, int64_t R, int64_t S, bool per_channel,
                           std::vector<int8_t>& qw, std::vector<float>& scale);

// Where a conv's result goes: quantised into `q` (the next conv's input; its N, H, W, C
// must match the output) or float NCHW into `y`. Exactly one of the two.
struct Int8ConvOutput {
  const float* slope = nullptr;  // K slopes of the activation, nullptr: none
  QuantActivation* q = nullptr;
  float* y = nullptr;
};

// The paths, fastest first: AVX512-VNNI (16 int32 lanes of vpdpbusd), AVX-VNNI (the same
// instruction on 8 lanes), AVX2 (vpmaddwd on int16 pairs) and the plain reference.
enum class Int8Isa { avx512_vnni, avx_vnni, avx2, reference };
inline constexpr Int8Isa kInt8Isas[] = {Int8Isa::avx512_vnni, Int8Isa::avx_vnni, Int8Isa::avx2, Int8Isa::reference};
const char* int8_isa_name(Int8Isa isa);
// Whether the running CPU (and OS) can execute the path.
bool int8_isa_supported(Int8Isa isa);
// The path of a name; an unknown name, or one this CPU cannot run, is an error naming `what`
// (e.g. the variable it came from) and listing the valid and the available names.
Int8Isa int8_isa_from_name(const std::string& name, const std::string& what);

// Stride 1, "same" padding: the input's border must be at least R / 2 and S / 2 (odd R, S).
// conv2d_int8_forward takes conv2d_int8_selected_isa()'s path; conv2d_int8_forward_isa a
// given one (an error where this CPU cannot run it).
void conv2d_int8_forward(const QuantActivation& x, const QuantConvWeights& w, const Int8ConvOutput& out);
void conv2d_int8_forward_isa(Int8Isa isa, const QuantActivation& x, const QuantConvWeights& w,
                             const Int8ConvOutput& out);
void conv2d_int8_forward_reference(const QuantActivation& x, const QuantConvWeights& w, const Int8ConvOutput& out);

// The path conv2d_int8_forward takes: the one named by the environment variable
// SRENGINE_INT8_ISA (avx512_vnni, avx_vnni, avx2 or reference; read at every call) when it is
// set, else the fastest this CPU supports. conv2d_int8_isa() is its name.
Int8Isa conv2d_int8_selected_isa();
const char* conv2d_int8_isa();

}  // namespace sr::cpu
