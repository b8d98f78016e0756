// Parsing and checking the degradation options (see options.h).
#include "data/degrade/options.h"

#include <cmath>

#include "engine/error.h"

namespace sr::data::degrade {

using json = nlohmann::json;

namespace {

std::string key_path(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

double read_number(const json& j, const std::string& path) {
  SR_CHECK(j.is_number(), "degrade: '", path, "' must be a number, got ", j.dump());
  return j.get<double>();
}

template <size_t N>
std::array<double, N> read_numbers(const json& j, const std::string& path) {
  SR_CHECK(j.is_array() && j.size() == N, "degrade: '", path, "' must be a list of ", N, " numbers, got ", j.dump());
  std::array<double, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = read_number(j[i], path + "." + std::to_string(i));
  return out;
}

void read_kernel_keys(const json& d, const std::string& prefix, const std::string& suffix, KernelOptions& k) {
  auto get = [&](const char* key) -> const json* {
    const std::string name = std::string(key) + suffix;
    return d.contains(name) && !d[name].is_null() ? &d[name] : nullptr;
  };
  auto path = [&](const char* key) { return key_path(prefix, std::string(key) + suffix); };
  if (const json* j = get("kernel_list")) {
    SR_CHECK(j->is_array(), "degrade: '", path("kernel_list"), "' must be a list of kernel type names, got ", j->dump());
    k.kernel_list.clear();
    for (const json& e : *j) {
      SR_CHECK(e.is_string(), "degrade: '", path("kernel_list"), "' must hold strings, got ", e.dump());
      k.kernel_list.push_back(parse_kernel_type(e.get<std::string>(), path("kernel_list")));
    }
  }
  if (const json* j = get("kernel_prob")) {
    SR_CHECK(j->is_array(), "degrade: '", path("kernel_prob"), "' must be a list of numbers, got ", j->dump());
    k.kernel_prob.clear();
    for (size_t i = 0; i < j->size(); ++i)
      k.kernel_prob.push_back(read_number((*j)[i], path("kernel_prob") + "." + std::to_string(i)));
  }
  if (const json* j = get("sinc_prob")) k.sinc_prob = read_number(*j, path("sinc_prob"));
  if (const json* j = get("blur_sigma")) k.blur_sigma = read_numbers<2>(*j, path("blur_sigma"));
  if (const json* j = get("betag_range")) k.betag_range = read_numbers<2>(*j, path("betag_range"));
  if (const json* j = get("betap_range")) k.betap_range = read_numbers<2>(*j, path("betap_range"));
}

void read_order_keys(const json& t, const std::string& suffix, OrderOptions& o) {
  auto get = [&](const char* key) -> const json* {
    const std::string name = std::string(key) + suffix;
    return t.contains(name) && !t[name].is_null() ? &t[name] : nullptr;
  };
  auto path = [&](const char* key) { return std::string(key) + suffix; };
  if (const json* j = get("resize_prob")) o.resize_prob = read_numbers<3>(*j, path("resize_prob"));
  if (const json* j = get("resize_range")) o.resize_range = read_numbers<2>(*j, path("resize_range"));
  if (const json* j = get("gaussian_noise_prob")) o.gaussian_noise_prob = read_number(*j, path("gaussian_noise_prob"));
  if (const json* j = get("noise_range")) o.noise_range = read_numbers<2>(*j, path("noise_range"));
  if (const json* j = get("poisson_scale_range"))
    o.poisson_scale_range = read_numbers<2>(*j, path("poisson_scale_range"));
  if (const json* j = get("gray_noise_prob")) o.gray_noise_prob = read_number(*j, path("gray_noise_prob"));
  if (const json* j = get("jpeg_range")) o.jpeg_range = read_numbers<2>(*j, path("jpeg_range"));
}

void check_prob(double p, const std::string& key) {
  SR_CHECK(std::isfinite(p) && p >= 0 && p <= 1, "degrade: '", key, "' is ", p, ", must be a probability in [0, 1]");
}

void check_sums_to_one(const double* p, size_t n, const std::string& key) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) {
    check_prob(p[i], key + "." + std::to_string(i));
    s += p[i];
  }
  SR_CHECK(std::fabs(s - 1.0) <= 1e-6, "degrade: '", key, "' sums to ", s, ", must sum to 1");
}

void check_range(const Range& r, const std::string& key, double min, double max, const char* domain) {
  SR_CHECK(std::isfinite(r[0]) && std::isfinite(r[1]), "degrade: '", key, "' must be finite, got [", r[0], ", ",
           r[1], "]");
  SR_CHECK(r[0] <= r[1], "degrade: '", key, "' is [", r[0], ", ", r[1], "]: reversed (the first value must be <= ",
           "the second)");
  SR_CHECK(r[0] >= min && r[1] <= max, "degrade: '", key, "' is [", r[0], ", ", r[1], "], must lie in ", domain);
}

void validate_kernel(const KernelOptions& k, const std::string& prefix, const std::string& suffix) {
  auto path = [&](const char* key) { return key_path(prefix, std::string(key) + suffix); };
  SR_CHECK(!k.kernel_list.empty(), "degrade: '", path("kernel_list"), "' is empty: list at least one kernel type");
  SR_CHECK(k.kernel_list.size() == k.kernel_prob.size(), "degrade: '", path("kernel_prob"), "' has ",
           k.kernel_prob.size(), " entries but '", path("kernel_list"), "' has ", k.kernel_list.size());
  for (KernelType t : k.kernel_list)
    SR_CHECK(t != KernelType::sinc, "degrade: '", path("kernel_list"),
             "' lists 'sinc': sinc kernels are chosen by '", path("sinc_prob"), "' instead");
  check_sums_to_one(k.kernel_prob.data(), k.kernel_prob.size(), path("kernel_prob"));
  check_prob(k.sinc_prob, path("sinc_prob"));
  check_range(k.blur_sigma, path("blur_sigma"), 1e-3, 100, "[0.001, 100]");
  // beta is drawn from U(lo, 1) or U(1, hi) with probability 1/2 each: the range must contain 1.
  for (const char* key : {"betag_range", "betap_range"}) {
    const Range& r = std::string(key) == "betag_range" ? k.betag_range : k.betap_range;
    check_range(r, path(key), 1e-3, 100, "[0.001, 100]");
    SR_CHECK(r[0] <= 1 && r[1] >= 1, "degrade: '", path(key), "' is [", r[0], ", ", r[1],
             "]: it must contain 1 (beta is drawn from [lo, 1] or [1, hi])");
  }
}

void validate_order(const OrderOptions& o, const std::string& suffix) {
  auto path = [&](const char* key) { return std::string(key) + suffix; };
  check_sums_to_one(o.resize_prob.data(), 3, path("resize_prob"));
  check_range(o.resize_range, path("resize_range"), 1e-3, 100, "[0.001, 100]");
  SR_CHECK(o.resize_range[0] <= 1 && o.resize_range[1] >= 1, "degrade: '", path("resize_range"), "' is [",
           o.resize_range[0], ", ", o.resize_range[1],
           "]: it must contain 1 (down-scaling draws from [lo, 1], up-scaling from [1, hi])");
  check_prob(o.gaussian_noise_prob, path("gaussian_noise_prob"));
  check_range(o.noise_range, path("noise_range"), 0, 1e4, "[0, 10000] (0..255 units)");
  check_range(o.poisson_scale_range, path("poisson_scale_range"), 0, 1e4, "[0, 10000]");
  check_prob(o.gray_noise_prob, path("gray_noise_prob"));
  // Quality 100 makes DiffJPEG's table factor 2 - q/50 zero (a division by zero).
  check_range(o.jpeg_range, path("jpeg_range"), 1, 99.999, "[1, 99.999] (quality 100 divides by zero)");
}

}  // namespace

void validate(const DegradationOptions& o, const std::string& dataset_path) {
  SR_CHECK(o.scale >= 1 && o.scale <= 16, "degrade: 'scale' must be 1..16, got ", o.scale);
  validate_kernel(o.kernel1, dataset_path, "");
  validate_kernel(o.kernel2, dataset_path, "2");
  check_prob(o.final_sinc_prob, key_path(dataset_path, "final_sinc_prob"));
  validate_order(o.order1, "");
  validate_order(o.order2, "2");
  check_prob(o.second_blur_prob, "second_blur_prob");
}

DegradationOptions parse_degradation_options(const json& dataset, const std::string& dataset_path, const json& top) {
  SR_CHECK(dataset.is_object(), "degrade: '", dataset_path, "' must be an object");
  SR_CHECK(top.is_object(), "degrade: the config must be an object");
  DegradationOptions o;
  if (top.contains("scale")) {
    SR_CHECK(top["scale"].is_number_integer(), "degrade: 'scale' must be an integer, got ", top["scale"].dump());
    o.scale = top["scale"].get<int>();
  }
  // The degraded crop's side must split into whole LQ pixels (BasicSR's paired_random_crop
  // raises a scale mismatch otherwise), in training and in `srengine degrade` alike.
  if (dataset.contains("crop_pad_size") && dataset["crop_pad_size"].is_number()) {
    const int64_t pad = (int64_t)dataset["crop_pad_size"].get<double>(), s = o.scale;  // 402.0 is 402
    SR_CHECK(s < 1 || pad % s == 0, "degrade: '", key_path(dataset_path, "crop_pad_size"), "' is ", pad,
             ", not a multiple of scale ", s, " (use ", pad / s > 0 ? std::to_string(pad / s * s) + " or " : "",
             (pad / s + 1) * s, ")");
  } else if (o.scale > 1) {
    const int s = o.scale;
    SR_CHECK(400 % s == 0, "degrade: '", key_path(dataset_path, "crop_pad_size"), "' is 400 (the default), not a "
             "multiple of scale ", s, ": set it (use ", 400 / s * s, " or ", (400 / s + 1) * s, ")");
  }
  read_kernel_keys(dataset, dataset_path, "", o.kernel1);
  read_kernel_keys(dataset, dataset_path, "2", o.kernel2);
  if (dataset.contains("final_sinc_prob"))
    o.final_sinc_prob = read_number(dataset["final_sinc_prob"], key_path(dataset_path, "final_sinc_prob"));
  read_order_keys(top, "", o.order1);
  read_order_keys(top, "2", o.order2);
  if (top.contains("second_blur_prob")) o.second_blur_prob = read_number(top["second_blur_prob"], "second_blur_prob");
  validate(o, dataset_path);
  return o;
}

json degradation_options_json(const DegradationOptions& o) {
  json j;
  j["scale"] = o.scale;
  auto kernel = [&](const KernelOptions& k, const std::string& s) {
    json names = json::array();
    for (KernelType t : k.kernel_list) names.push_back(kernel_type_name(t));
    j["kernel_list" + s] = names;
    j["kernel_prob" + s] = k.kernel_prob;
    j["sinc_prob" + s] = k.sinc_prob;
    j["blur_sigma" + s] = k.blur_sigma;
    j["betag_range" + s] = k.betag_range;
    j["betap_range" + s] = k.betap_range;
  };
  kernel(o.kernel1, "");
  kernel(o.kernel2, "2");
  j["final_sinc_prob"] = o.final_sinc_prob;
  auto order = [&](const OrderOptions& r, const std::string& s) {
    j["resize_prob" + s] = r.resize_prob;
    j["resize_range" + s] = r.resize_range;
    j["gaussian_noise_prob" + s] = r.gaussian_noise_prob;
    j["noise_range" + s] = r.noise_range;
    j["poisson_scale_range" + s] = r.poisson_scale_range;
    j["gray_noise_prob" + s] = r.gray_noise_prob;
    j["jpeg_range" + s] = r.jpeg_range;
  };
  order(o.order1, "");
  order(o.order2, "2");
  j["second_blur_prob"] = o.second_blur_prob;
  return j;
}

}  // namespace sr::data::degrade
