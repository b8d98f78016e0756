// ECBSR folded into SRVGGNetCompact (see ecbsr_deploy.h).
#include "nets/ecbsr_deploy.h"

#include "engine/autograd.h"
#include "engine/error.h"
#include "layers/activation.h"

namespace sr {

std::shared_ptr<Conv2d> ecb_to_conv2d(const ECB& block) {
  const Tensor& w = block.conv3x3->weight;
  auto conv = std::make_shared<Conv2d>(w.size(1), w.size(0), 3, 1, 1, true, block.conv3x3->options);
  conv->precision = block.conv3x3->precision;
  conv->to(w.dtype());
  conv->to(w.device());
  NoGradGuard no_grad;
  const EcbTensors b = block.tensors();
  // copy_ keeps the handles the module registered (its state dict sees the folded values).
  conv->weight.copy_(ecb_weight(b, block.identity));
  conv->bias.copy_(ecb_bias(b));
  return conv;
}

std::string ecbsr_srvgg_unrepresentable(const ECBSR& net) {
  const std::string act = net.blocks.front()->act_type;
  if (net.num_in_ch != net.num_out_ch)
    return "num_in_ch " + std::to_string(net.num_in_ch) + " broadcast to num_out_ch " + std::to_string(net.num_out_ch) +
           " (srengine's SRVGGNetCompact adds the upsampled input channel for channel)";
  if (net.scale < 2)
    return "scale " + std::to_string(net.scale) + " (SRVGGNetCompact upsamples by 2, 3 or 4)";
  if (act != "prelu" && act != "relu")
    return "act_type " + act + " (SRVGGNetCompact has an activation after every conv but the last: prelu, relu "
           "or leakyrelu)";
  return "";
}

std::unique_ptr<SRVGGNetCompact> ecbsr_to_srvgg(const ECBSR& net) {
  const std::string why = ecbsr_srvgg_unrepresentable(net);
  SR_CHECK(why.empty(), "ECBSR -> SRVGGNetCompact: not representable: ", why,
           "; export it as ECBSR (srengine export) instead");
  const ECB& first = *net.blocks.front();
  const int64_t num_channel = first.conv3x3->weight.size(0);
  const int64_t num_block = int64_t(net.blocks.size()) - 2;  // backbone.1 .. backbone.{num_block}
  auto srvgg = std::make_unique<SRVGGNetCompact>(net.num_in_ch, net.num_out_ch, num_channel, num_block, net.scale,
                                                 first.act_type, first.conv3x3->options);
  const Tensor& like = first.conv3x3->weight;
  srvgg->to(like.dtype());
  srvgg->to(like.device());
  srvgg->eval();
  NoGradGuard no_grad;
  Sequential& body = *srvgg->body;
  for (size_t i = 0; i < net.blocks.size(); ++i) {
    const ECB& block = *net.blocks[i];
    // body.{2i} is block i's conv; body.{2i+1} its activation (none after the last block).
    auto* conv = dynamic_cast<Conv2d*>(&body[2 * i]);
    SR_CHECK(conv, "ECBSR -> SRVGGNetCompact: body.", 2 * i, " is a ", body[2 * i].type_name(), ", not a Conv2d");
    const std::shared_ptr<Conv2d> folded = ecb_to_conv2d(block);
    SR_CHECK(conv->weight.shape() == folded->weight.shape(), "ECBSR -> SRVGGNetCompact: backbone.", i, " folds to ",
             folded->weight.shape().str(), " but body.", 2 * i, ".weight is ", conv->weight.shape().str());
    conv->weight.copy_(folded->weight);
    conv->bias.copy_(folded->bias);
    conv->precision = folded->precision;
    if (i + 1 == net.blocks.size()) break;
    if (auto* prelu = dynamic_cast<PReLU*>(&body[2 * i + 1])) {
      const auto* from = dynamic_cast<const PReLU*>(block.act.get());
      SR_CHECK(from && from->weight.numel() == prelu->weight.numel(), "ECBSR -> SRVGGNetCompact: backbone.", i,
               ".act is not a PReLU of ", prelu->weight.numel(), " slopes");
      prelu->weight.copy_(from->weight);
    }
  }
  return srvgg;
}

}  // namespace sr
