// The degradation keys with their defaults (see option_keys.h). Defaults come from
// degradation_options_json(DegradationOptions{}), so they are the ones the parser uses.
#include "data/degrade/option_keys.h"

#include "data/degrade/options.h"

namespace sr::data::degrade {

const std::vector<OptionKey>& degradation_option_keys() {
  static const std::vector<OptionKey> keys = [] {
    const nlohmann::json d = degradation_options_json(DegradationOptions{});
    std::vector<OptionKey> k;
    auto add = [&](const std::string& name, bool in_dataset, const std::string& doc) {
      k.push_back({name, in_dataset, d.at(name), doc});
    };
    for (const std::string s : {"", "2"}) {
      const std::string which = s.empty() ? "first blur (kernel1)" : "second blur (kernel2)";
      add("kernel_list" + s, true, "kernel types of the " + which + ": iso, aniso, generalized_iso, "
                                   "generalized_aniso, plateau_iso, plateau_aniso");
      add("kernel_prob" + s, true, "weight of each kernel_list" + s + " entry; must sum to 1");
      add("sinc_prob" + s, true, "probability that the " + which + " is a sinc kernel");
      add("blur_sigma" + s, true, "[lo, hi] Gaussian sigma of the " + which);
      add("betag_range" + s, true, "[lo, hi] shape beta of generalized Gaussian kernels (must contain 1)");
      add("betap_range" + s, true, "[lo, hi] shape beta of plateau kernels (must contain 1)");
    }
    add("final_sinc_prob", true, "probability of the final sinc filter (else none)");
    k.push_back({"crop_pad_size", true, 400, "side of the GT crop the degradation starts from (RealESRGANDataset, srengine degrade)"});
    for (const std::string s : {"", "2"}) {
      const std::string order = s.empty() ? "first order" : "second order";
      add("resize_prob" + s, false, "[up, down, keep] probabilities of the " + order + " resize; sum 1");
      add("resize_range" + s, false, "[lo, hi]: down factor from [lo, 1], up from [1, hi] (" + order + ")");
      add("gaussian_noise_prob" + s, false, "probability of Gaussian (else Poisson) noise (" + order + ")");
      add("noise_range" + s, false, "[lo, hi] Gaussian noise sigma in 0..255 units (" + order + ")");
      add("poisson_scale_range" + s, false, "[lo, hi] Poisson noise scale (" + order + ")");
      add("gray_noise_prob" + s, false, "probability that a sample's noise is gray (" + order + ")");
      add("jpeg_range" + s, false, "[lo, hi] JPEG quality, below 100 (" + order + ")");
    }
    add("second_blur_prob", false, "probability of the second blur");
    k.push_back({"gt_usm", false, true, "USM-sharpen the GT crop before degrading it; a realesrnet stage also trains against the sharpened GT (a realesrgan stage always degrades from it)"});
    return k;
  }();
  return keys;
}

}  // namespace sr::data::degrade
