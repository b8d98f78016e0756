// ECBSR's deployment form. After training each ECB is one 3x3 convolution (its five branches
// folded: engine/ops_ecb.h, the math in kernels/common/ecb_reparameterize.h) followed by the
// block's activation, so the deployed ECBSR is Real-ESRGAN's SRVGGNetCompact layout:
//   ECBSR backbone.0          ECB + act   ->  SRVGGNetCompact body.0 conv, body.1 act
//         backbone.1..nb      ECB + act   ->  body.2i conv, body.2i+1 act
//         backbone.nb+1       ECB         ->  body.{2 nb + 2} conv
//   pixel_shuffle(.) + nearest(x)         ->  the same
// which every SRVGGNetCompact path (ONNX export, int8, the CPU int8 network, released-model
// tooling keyed on body.N) already serves.
#pragma once
#include <memory>
#include <string>

#include "layers/conv2d.h"
#include "nets/ecbsr.h"
#include "nets/srvgg_compact.h"

namespace sr {

// The block as the plain Conv2d it equals (3x3, stride 1, zero padding 1, bias): weight K and
// bias B computed by ecb_weight / ecb_bias without recording gradients, in the block's dtype
// and on its device, with the block's kernel options and precision. The activation is not
// included (block.act).
std::shared_ptr<Conv2d> ecb_to_conv2d(const ECB& block);

// Why `net` has no SRVGGNetCompact form ("" when it has one): SRVGGNetCompact adds the
// upsampled input channel for channel (num_in_ch == num_out_ch), upsamples by 2, 3 or 4, and
// has an activation after every conv but the last (prelu or relu here; ECBSR's linear has none).
std::string ecbsr_srvgg_unrepresentable(const ECBSR& net);

// The SRVGGNetCompact computing the same function as `net` in evaluation: num_feat =
// num_channel, num_conv = num_block, upscale = scale, act_type as the ECBs' (PReLU slopes
// copied block by block). Same dtype and device as `net`, in eval mode. A net with no such
// form (above) is an sr::Error naming what is not representable.
std::unique_ptr<SRVGGNetCompact> ecbsr_to_srvgg(const ECBSR& net);

}  // namespace sr
