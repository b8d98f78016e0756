// The two-order degradation pipeline (see pipeline.h).
#include "data/degrade/pipeline.h"

#include "data/degrade/diff_jpeg.h"
#include "data/degrade/filter2d.h"
#include "data/degrade/noise.h"
#include "data/degrade/random_stream.h"
#include "data/degrade/resize.h"
#include "engine/error.h"

namespace sr::data::degrade {

using json = nlohmann::json;

namespace {

struct ResizeDraw {
  const char* type;
  double factor;
  ResizeMode mode;
};

// type by resize_prob (up, down, keep), then the factor, then the mode (uniform).
ResizeDraw draw_resize(const OrderOptions& o, Stream& rng) {
  const std::vector<double> p(o.resize_prob.begin(), o.resize_prob.end());
  ResizeDraw d{"keep", 1.0, ResizeMode::area};
  switch (rng.weighted_choice(p)) {
    case 0: d = {"up", rng.uniform(1.0, o.resize_range[1]), d.mode}; break;
    case 1: d = {"down", rng.uniform(o.resize_range[0], 1.0), d.mode}; break;
    default: break;
  }
  d.mode = (ResizeMode)rng.randint(0, 2);
  return d;
}

ResizeMode draw_mode(Stream& rng) { return (ResizeMode)rng.randint(0, 2); }

struct Batch {
  std::vector<Planes>& x;
  const DegradationOptions& opt;
  uint64_t seed, key;
  std::vector<Stream>& sample_rng;
  std::vector<json>* params;

  FieldKey field(int order, int kind, size_t b) const {
    return {seed, stream_id(StreamTag::noise_field, key, ((uint64_t)order << 40) | ((uint64_t)kind << 32) | b)};
  }
  void record(size_t b, const std::string& k, json v) {
    if (params) (*params)[b][k] = std::move(v);
  }

  // Gaussian or Poisson noise (one choice for the batch), then the clamp (inside the adders).
  void noise(const OrderOptions& o, int order, Stream& batch_rng) {
    const bool gaussian = batch_rng.uniform01() < o.gaussian_noise_prob;
    const std::string name = "noise" + std::to_string(order);
    // All gray samples of a batch share one gray Gaussian field (as the original's H x W field).
    const FieldKey shared_gray = field(order, 1, 0);
    for (size_t b = 0; b < x.size(); ++b) {
      Stream& s = sample_rng[b];
      if (gaussian) {
        const double sigma = s.uniform(o.noise_range[0], o.noise_range[1]);
        const bool gray = s.uniform01() < o.gray_noise_prob;
        add_gaussian_noise(x[b], sigma, gray, field(order, 0, b), shared_gray);
        record(b, name, {{"type", "gaussian"}, {"sigma", sigma}, {"gray", gray}});
      } else {
        const double scale = s.uniform(o.poisson_scale_range[0], o.poisson_scale_range[1]);
        const bool gray = s.uniform01() < o.gray_noise_prob;
        add_poisson_noise(x[b], scale, gray, field(order, 2, b));
        record(b, name, {{"type", "poisson"}, {"scale", scale}, {"gray", gray}});
      }
    }
  }

  // Per-sample quality, clamp, DiffJPEG.
  void jpeg(const Range& range, const std::string& name) {
    for (size_t b = 0; b < x.size(); ++b) {
      const double q = sample_rng[b].uniform(range[0], range[1]);
      clamp01(x[b]);
      diff_jpeg(x[b], q);
      record(b, name, q);
    }
  }

};

}  // namespace

std::vector<Planes> degrade_batch(const std::vector<Planes>& gt, const std::vector<SampleKernels>& kernels,
                                  const DegradationOptions& opt, uint64_t seed, uint64_t batch_key,
                                  std::vector<json>* params) {
  SR_CHECK(!gt.empty(), "degrade: empty batch");
  SR_CHECK(gt.size() == kernels.size(), "degrade: ", gt.size(), " images but ", kernels.size(), " kernel sets");
  const int H = gt[0].height, W = gt[0].width, s = opt.scale;
  for (const Planes& g : gt)
    SR_CHECK(g.channels == 3 && g.height == H && g.width == W, "degrade: every GT of a batch must be 3x", W, "x", H,
             ", got ", g.channels, "x", g.width, "x", g.height);
  SR_CHECK(H / s >= 1 && W / s >= 1, "degrade: a ", W, "x", H, " GT is smaller than the scale ", s);
  const size_t B = gt.size();
  Stream batch_rng(seed, stream_id(StreamTag::batch, batch_key));
  std::vector<Stream> sample_rng;
  for (size_t b = 0; b < B; ++b) sample_rng.emplace_back(seed, stream_id(StreamTag::batch_sample, batch_key, b));
  if (params) {
    params->assign(B, json::object());
    for (size_t b = 0; b < B; ++b) {
      (*params)[b]["kernel1"] = kernel_params_json(kernels[b].kernel1);
      (*params)[b]["kernel2"] = kernel_params_json(kernels[b].kernel2);
      (*params)[b]["sinc_kernel"] = kernel_params_json(kernels[b].sinc);
    }
  }
  std::vector<Planes> x(B);
  Batch batch{x, opt, seed, batch_key, sample_rng, params};
  auto record_all = [&](const std::string& k, const json& v) {
    for (size_t b = 0; b < B; ++b) batch.record(b, k, v);
  };

  // ---- first order
  for (size_t b = 0; b < B; ++b) x[b] = filter2d(gt[b], kernels[b].kernel1.weights);
  const ResizeDraw r1 = draw_resize(opt.order1, batch_rng);
  for (Planes& p : x) p = resize_by_factor(p, r1.factor, r1.mode);
  record_all("resize1", {{"type", r1.type}, {"factor", r1.factor}, {"mode", resize_mode_name(r1.mode)},
                         {"size", {x[0].height, x[0].width}}});
  batch.noise(opt.order1, 1, batch_rng);
  batch.jpeg(opt.order1.jpeg_range, "jpeg1");

  // ---- second order
  const bool second_blur = batch_rng.uniform01() < opt.second_blur_prob;
  if (second_blur)
    for (size_t b = 0; b < B; ++b) x[b] = filter2d(x[b], kernels[b].kernel2.weights);
  record_all("second_blur", second_blur);
  const ResizeDraw r2 = draw_resize(opt.order2, batch_rng);
  // Sizes relative to the final LR size H/s (float division, then truncation), not to
  // the size after the first resize.
  const int h2 = (int)((double)H / s * r2.factor), w2 = (int)((double)W / s * r2.factor);
  for (Planes& p : x) p = resize_to(p, h2, w2, r2.mode);
  record_all("resize2", {{"type", r2.type}, {"factor", r2.factor}, {"mode", resize_mode_name(r2.mode)},
                         {"size", {h2, w2}}});
  batch.noise(opt.order2, 2, batch_rng);

  // ---- final sinc + resize and JPEG, in a random order
  const bool sinc_first = batch_rng.uniform01() < 0.5;
  const ResizeMode mode = draw_mode(batch_rng);
  auto resize_and_sinc = [&] {
    for (size_t b = 0; b < B; ++b) x[b] = filter2d(resize_to(x[b], H / s, W / s, mode), kernels[b].sinc.weights);
  };
  if (sinc_first) {
    resize_and_sinc();
    batch.jpeg(opt.order2.jpeg_range, "jpeg2");
  } else {
    batch.jpeg(opt.order2.jpeg_range, "jpeg2");
    resize_and_sinc();
  }
  record_all("final", {{"order", sinc_first ? "resize_sinc_jpeg" : "jpeg_resize_sinc"},
                       {"mode", resize_mode_name(mode)}});
  for (Planes& p : x) quantize_u8(p);
  return x;
}

}  // namespace sr::data::degrade
