// Dataset channels against the networks and losses of a config (see data_channels.h).
#include "train/data_channels.h"

#include "engine/error.h"
#include "nets/factory.h"

namespace sr::train {

using nlohmann::json;

namespace {

// "rgb" or "y" as the schema allows; the channels of such images.
int channels_of(const std::string& color) { return color == "y" ? 1 : 3; }

std::string describe(const std::string& color) {
  return color == "y" ? "'y' (one-channel BT.601 Y images)" : "'rgb' (three-channel images)";
}

// The remedy for a network whose channels are not the data's.
std::string remedy(const std::string& color, const std::string& net, const NetworkChannels& nc) {
  const std::string keys = nc.out_key.empty() || nc.out_key == nc.in_key
                               ? net + "." + nc.in_key
                               : net + "." + nc.in_key + " and " + net + "." + nc.out_key;
  return color == "y" ? str_cat("set ", keys, " to 1, or color rgb")
                      : str_cat("set ", keys, " to 3, or color y to train on the Y channel");
}

}  // namespace

std::vector<std::string> data_channel_problems(const json& c) {
  std::vector<std::string> out;
  if (!c.contains("datasets") || !c["datasets"].is_object()) return out;
  const json* net_g = c.contains("network_g") && c["network_g"].is_object() ? &c["network_g"] : nullptr;
  const json* net_d = c.contains("network_d") && c["network_d"].is_object() ? &c["network_d"] : nullptr;
  const std::optional<NetworkChannels> g = net_g ? network_channels(*net_g) : std::nullopt;
  const std::optional<NetworkChannels> d = net_d ? network_channels(*net_d) : std::nullopt;
  bool any_gan = false, any_perceptual = false;
  std::string perceptual_key, realesrgan_key;
  if (c.contains("train") && c["train"].is_object() && c["train"].contains("stages") && c["train"]["stages"].is_array()) {
    const json& stages = c["train"]["stages"];
    for (size_t i = 0; i < stages.size(); ++i) {
      const std::string type = stages[i].value("type", "");
      any_gan = any_gan || type == "srgan" || type == "esrgan" || type == "realesrgan";
      if (realesrgan_key.empty() && (type == "realesrnet" || type == "realesrgan"))
        realesrgan_key = str_cat("train.stages.", i, ".type");
      if (!any_perceptual && stages[i].contains("perceptual_opt") && stages[i]["perceptual_opt"].is_object()) {
        any_perceptual = true;
        perceptual_key = str_cat("train.stages.", i, ".perceptual_opt");
      }
    }
  }
  std::string lpips_key;
  if (c.contains("val") && c["val"].is_object() && c["val"].contains("metrics") && c["val"]["metrics"].is_object())
    for (const auto& [name, m] : c["val"]["metrics"].items())
      if (lpips_key.empty() && m.is_object() && m.value("type", "") == "calculate_lpips") lpips_key = "val.metrics." + name;

  for (const auto& [key, set] : c["datasets"].items()) {
    if (!set.is_object()) continue;
    const std::string color = set.value("color", "rgb");
    if (color != "rgb" && color != "y") continue;  // the schema has reported it
    const std::string base = "datasets." + key + ".color";
    const int ch = channels_of(color);
    if (color == "y" && set.value("type", "") == "RealESRGANDataset")
      out.push_back(str_cat("config: '", base, "' is 'y', but a RealESRGANDataset synthesises its LQ from colour ",
                            "images (Real-ESRGAN's datasets have no color option): use color rgb"));
    // The generator reads the LQ images and is compared with the GT images: both have `ch`.
    if (g) {
      if (g->in && *g->in != ch)
        out.push_back(str_cat("config: '", base, "' is ", describe(color), ", but 'network_g.", g->in_key, "' is ",
                              *g->in, ": the network must take the images it is given (", remedy(color, "network_g", *g),
                              ")"));
      else if (g->out && *g->out != ch && !g->out_key.empty() && g->out_key != g->in_key)
        out.push_back(str_cat("config: '", base, "' is ", describe(color), ", but 'network_g.", g->out_key, "' is ",
                              *g->out, ": the network's output is compared with GT images of ", ch, " channel",
                              ch == 1 ? "" : "s", " (", remedy(color, "network_g", *g), ")"));
    }
    if (key != "train") {
      if (color == "y" && !lpips_key.empty())
        out.push_back(str_cat("config: '", base, "' is 'y', but '", lpips_key, "' is LPIPS, whose network measures ",
                              "RGB images: measure this set with PSNR / SSIM, or use color rgb"));
      continue;
    }
    if (any_gan && d && d->in && *d->in != ch)
      out.push_back(str_cat("config: '", base, "' is ", describe(color), ", but 'network_d.", d->in_key, "' is ",
                            *d->in, ": the discriminator judges the training images (set network_d.", d->in_key, " to ",
                            ch, ")"));
    // Real-ESRGAN's stages sharpen the GT batch (gt_usm, the *_gt_usm losses) as RGB images.
    if (color == "y" && !realesrgan_key.empty())
      out.push_back(str_cat("config: '", base, "' is 'y', but '", realesrgan_key, "' is a Real-ESRGAN stage, ",
                            "which sharpens its RGB GT batches (Real-ESRGAN trains on colour images): use an sr ",
                            "stage, or color rgb"));
    if (color == "y" && any_perceptual)
      out.push_back(str_cat("config: '", base, "' is 'y', but '", perceptual_key, "' is set: the perceptual loss's ",
                            "VGG19 takes RGB images (remove perceptual_opt, or use color rgb)"));
  }
  return out;
}

}  // namespace sr::train
