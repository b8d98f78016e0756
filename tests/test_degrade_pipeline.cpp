// degrade/: the whole two-order pipeline: output sizes for every scale and odd sizes, LQ
// values on the 8-bit grid, batch structure, determinism from the seed whatever the thread
// layout, and option errors that name the key (realesrgan-degradations.md §5, §13 P1 P2).
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <thread>

#include "data/degrade/pipeline.h"

using namespace sr::data::degrade;
using json = nlohmann::json;

namespace {

Planes pattern(int h, int w, int phase) {
  Planes p(3, h, w);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        p.at(c, y, x) = 0.5f + 0.25f * std::sin(0.27f * x + c + phase) * std::cos(0.17f * y) +
                        0.2f * (float)(((x / 16 + y / 16) % 2) - 0.5);
  return p;
}

// One sample as the dataset would make it: kernels from the sample's own stream.
SampleKernels sample_kernels(const DegradationOptions& o, uint64_t seed, uint64_t index) {
  Stream rng(seed, stream_id(StreamTag::sample, 0, index));
  SampleKernels k;
  k.kernel1 = sample_blur_kernel(o.kernel1, rng);
  k.kernel2 = sample_blur_kernel(o.kernel2, rng);
  k.sinc = sample_final_sinc(o.final_sinc_prob, rng);
  return k;
}

std::vector<Planes> degrade_one(const Planes& gt, const DegradationOptions& o, uint64_t seed, uint64_t index,
                                std::vector<json>* params = nullptr) {
  return degrade_batch({gt}, {sample_kernels(o, seed, index)}, o, seed, index, params);
}

void require_u8_grid(const Planes& p) {
  for (float v : p.v) {
    REQUIRE((v >= 0 && v <= 1));
    REQUIRE(v * 255 == Catch::Detail::Approx(std::round(v * 255)).margin(1e-3));
  }
}

}  // namespace

TEST_CASE("degrade/pipeline_output_sizes_every_scale_and_odd_sizes") {
  DegradationOptions o;
  for (int scale : {1, 2, 3, 4}) {
    o.scale = scale;
    for (auto [h, w] : {std::pair{64, 64}, std::pair{101, 77}, std::pair{45, 130}}) {
      for (uint64_t i = 0; i < 3; ++i) {
        INFO("scale " << scale << ", GT " << w << "x" << h << ", sample " << i);
        const Planes lq = degrade_one(pattern(h, w, (int)i), o, 5, i)[0];
        REQUIRE((lq.channels == 3 && lq.height == h / scale && lq.width == w / scale));
        require_u8_grid(lq);
      }
    }
  }
  // P1 at the training size: 400 -> 100 (x4), 200 (x2).
  o.scale = 4;
  REQUIRE(degrade_one(pattern(400, 400, 0), o, 1, 0)[0].width == 100);
  o.scale = 2;
  REQUIRE(degrade_one(pattern(400, 400, 0), o, 1, 1)[0].height == 200);
}

TEST_CASE("degrade/pipeline_batch_structure_and_params") {
  // P2: one batch shares the resize sizes, the noise type and the final order; kernels,
  // sigma / scale and q are per sample.
  DegradationOptions o;
  std::vector<Planes> gt;
  std::vector<SampleKernels> k;
  for (int b = 0; b < 4; ++b) {
    gt.push_back(pattern(96, 96, b));
    k.push_back(sample_kernels(o, 3, b));
  }
  std::vector<json> params;
  const std::vector<Planes> lq = degrade_batch(gt, k, o, 3, 17, &params);
  REQUIRE(params.size() == 4);
  for (int b = 1; b < 4; ++b) {
    for (const char* key : {"resize1", "resize2", "final", "second_blur"}) REQUIRE(params[b][key] == params[0][key]);
    REQUIRE(params[b]["noise1"]["type"] == params[0]["noise1"]["type"]);
    REQUIRE(params[b]["jpeg1"] != params[0]["jpeg1"]);
  }
  REQUIRE(params[0]["jpeg2"].get<double>() >= 30);
  REQUIRE(params[0]["jpeg2"].get<double>() < 95);
}

TEST_CASE("degrade/pipeline_deterministic_across_threads_and_seeds") {
  // The same seed gives byte-identical LQ however the samples are spread over threads and
  // in whatever order they run; another seed gives other images.
  const DegradationOptions o;
  const int n = 6;
  std::vector<Planes> gt;
  for (int i = 0; i < n; ++i) gt.push_back(pattern(72, 88, i));
  auto run = [&](int threads, bool reverse) {
    std::vector<Planes> out(n);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (int j = t; j < n; j += threads) {
          const int i = reverse ? n - 1 - j : j;
          out[i] = degrade_one(gt[i], o, 42, i)[0];
        }
      });
    for (auto& th : pool) th.join();
    return out;
  };
  const std::vector<Planes> one = run(1, false), three = run(3, true);
  for (int i = 0; i < n; ++i) REQUIRE(one[i].v == three[i].v);
  for (int i = 0; i < n; ++i) REQUIRE(degrade_one(gt[i], o, 43, i)[0].v != one[i].v);
}

TEST_CASE("degrade/options_errors_name_the_key") {
  const json top = json::object();
  auto err = [&](json dataset, json t, const std::string& part) {
    INFO(dataset.dump() << " " << t.dump());
    REQUIRE_THROWS_WITH(parse_degradation_options(dataset, "datasets.train", t), Catch::Contains(part));
  };
  // The defaults are the official values and are valid.
  const DegradationOptions d = parse_degradation_options(json::object(), "datasets.train", top);
  REQUIRE(d.order2.resize_range[1] == 1.2);
  err({{"kernel_prob", {0.45, 0.25, 0.12, 0.03, 0.12, 0.02}}}, top, "'datasets.train.kernel_prob' sums to 0.99");
  err({{"kernel_list", json::array()}, {"kernel_prob", json::array()}}, top,
      "'datasets.train.kernel_list' is empty");
  err({{"kernel_list2", {"iso", "gaussian"}}}, top, "'datasets.train.kernel_list2' has unknown kernel type 'gaussian'");
  err({{"kernel_list", {"iso"}}}, top, "'datasets.train.kernel_prob' has 6 entries but 'datasets.train.kernel_list' has 1");
  err({{"blur_sigma2", {1.5, 0.2}}}, top, "'datasets.train.blur_sigma2' is [1.5, 0.2]: reversed");
  err({{"betap_range", {1.5, 2}}}, top, "'datasets.train.betap_range' is [1.5, 2]: it must contain 1");
  err({{"final_sinc_prob", 1.2}}, top, "'datasets.train.final_sinc_prob' is 1.2");
  err(json::object(), {{"resize_prob", {0.2, 0.7, 0.2}}}, "'resize_prob' sums to 1.1");
  err(json::object(), {{"resize_prob2", {0.3, 0.4}}}, "'resize_prob2' must be a list of 3 numbers");
  err(json::object(), {{"noise_range2", {25, 1}}}, "'noise_range2' is [25, 1]: reversed");
  err(json::object(), {{"jpeg_range", {30, 100}}}, "'jpeg_range' is [30, 100]");
  err(json::object(), {{"second_blur_prob", "high"}}, "'second_blur_prob' must be a number");
  err(json::object(), {{"resize_range", {1.1, 1.5}}}, "'resize_range' is [1.1, 1.5]: it must contain 1");
}
