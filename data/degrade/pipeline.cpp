// The two-order degradation pipeline on the CPU: the draws and the steps (see pipeline.h).
#include "data/degrade/pipeline.h"

#include <cmath>

#include "data/degrade/diff_jpeg.h"
#include "data/degrade/filter2d.h"
#include "data/degrade/noise.h"
#include "data/degrade/random_stream.h"
#include "engine/error.h"

namespace sr::data::degrade {

using json = nlohmann::json;

namespace {

// type by resize_prob (up, down, keep), then the factor, then the mode (uniform).
ResizeDraw draw_resize(const OrderOptions& o, Stream& rng) {
  const std::vector<double> p(o.resize_prob.begin(), o.resize_prob.end());
  ResizeDraw d;
  switch (rng.weighted_choice(p)) {
    case 0: d = {"up", rng.uniform(1.0, o.resize_range[1]), d.mode}; break;
    case 1: d = {"down", rng.uniform(o.resize_range[0], 1.0), d.mode}; break;
    default: break;
  }
  d.mode = (ResizeMode)rng.randint(0, 2);
  return d;
}

// The stream of noise field `kind` (0 colour Gaussian, 1 the shared gray Gaussian, 2
// Poisson) of sample b in order `order`.
uint64_t field_stream(uint64_t key, int order, int kind, size_t b) {
  return stream_id(StreamTag::noise_field, key, ((uint64_t)order << 40) | ((uint64_t)kind << 32) | b);
}

// Gaussian or Poisson (one choice for the batch), then amount and gray per sample.
NoiseDraw draw_noise(const OrderOptions& o, int order, uint64_t key, Stream& batch_rng,
                     std::vector<Stream>& sample_rng) {
  NoiseDraw n;
  n.gaussian = batch_rng.uniform01() < o.gaussian_noise_prob;
  n.gray_stream = field_stream(key, order, 1, 0);
  for (size_t b = 0; b < sample_rng.size(); ++b) {
    Stream& s = sample_rng[b];
    NoiseDraw::Sample x;
    x.amount = n.gaussian ? s.uniform(o.noise_range[0], o.noise_range[1])
                          : s.uniform(o.poisson_scale_range[0], o.poisson_scale_range[1]);
    x.gray = s.uniform01() < o.gray_noise_prob;
    x.stream = field_stream(key, order, n.gaussian ? 0 : 2, b);
    n.samples.push_back(x);
  }
  return n;
}

std::vector<double> draw_jpeg(const Range& range, std::vector<Stream>& sample_rng) {
  std::vector<double> q;
  for (Stream& s : sample_rng) q.push_back(s.uniform(range[0], range[1]));
  return q;
}

void add_noise(std::vector<Planes>& x, const NoiseDraw& n, uint64_t seed) {
  for (size_t b = 0; b < x.size(); ++b) {
    const NoiseDraw::Sample& s = n.samples[b];
    if (n.gaussian)
      add_gaussian_noise(x[b], s.amount, s.gray, {seed, s.stream}, {seed, n.gray_stream});
    else
      add_poisson_noise(x[b], s.amount, s.gray, {seed, s.stream});
  }
}

void jpeg(std::vector<Planes>& x, const std::vector<double>& quality) {
  for (size_t b = 0; b < x.size(); ++b) {
    clamp01(x[b]);
    diff_jpeg(x[b], quality[b]);
  }
}

json resize_json(const ResizeDraw& r, int h, int w) {
  return {{"type", r.type}, {"factor", r.factor}, {"mode", resize_mode_name(r.mode)}, {"size", {h, w}}};
}

json noise_json(const NoiseDraw& n, size_t b) {
  const NoiseDraw::Sample& s = n.samples[b];
  if (n.gaussian) return {{"type", "gaussian"}, {"sigma", s.amount}, {"gray", s.gray}};
  return {{"type", "poisson"}, {"scale", s.amount}, {"gray", s.gray}};
}

}  // namespace

DegradationParams draw_degradation(const std::vector<SampleKernels>& kernels, int height, int width,
                                   const DegradationOptions& opt, uint64_t seed, uint64_t batch_key) {
  SR_CHECK(!kernels.empty(), "degrade: empty batch");
  const int s = opt.scale;
  SR_CHECK(height / s >= 1 && width / s >= 1, "degrade: a ", width, "x", height, " GT is smaller than the scale ", s);
  const size_t B = kernels.size();
  Stream batch_rng(seed, stream_id(StreamTag::batch, batch_key));
  std::vector<Stream> sample_rng;
  for (size_t b = 0; b < B; ++b) sample_rng.emplace_back(seed, stream_id(StreamTag::batch_sample, batch_key, b));
  DegradationParams p;
  p.seed = seed;
  p.height = height;
  p.width = width;
  p.scale = s;
  p.kernels = kernels;
  p.resize1 = draw_resize(opt.order1, batch_rng);
  p.noise1 = draw_noise(opt.order1, 1, batch_key, batch_rng, sample_rng);
  p.jpeg1 = draw_jpeg(opt.order1.jpeg_range, sample_rng);
  p.second_blur = batch_rng.uniform01() < opt.second_blur_prob;
  p.resize2 = draw_resize(opt.order2, batch_rng);
  // Sizes relative to the final LR size H/s (float division, then truncation), not to
  // the size after the first resize.
  p.resize2_height = (int)((double)height / s * p.resize2.factor);
  p.resize2_width = (int)((double)width / s * p.resize2.factor);
  p.noise2 = draw_noise(opt.order2, 2, batch_key, batch_rng, sample_rng);
  p.sinc_first = batch_rng.uniform01() < 0.5;
  p.final_mode = (ResizeMode)batch_rng.randint(0, 2);
  p.jpeg2 = draw_jpeg(opt.order2.jpeg_range, sample_rng);
  return p;
}

const char* step_name(DegradationStep s) {
  static const char* const names[] = {"blur1",  "resize1",      "noise1", "jpeg1", "blur2",   "resize2",
                                      "noise2", "final_resize", "sinc",   "jpeg2", "quantize"};
  return names[(int)s];
}

std::vector<DegradationStep> degradation_steps(const DegradationParams& p) {
  using S = DegradationStep;
  std::vector<S> steps = {S::blur1, S::resize1, S::noise1, S::jpeg1};
  if (p.second_blur) steps.push_back(S::blur2);
  steps.insert(steps.end(), {S::resize2, S::noise2});
  if (p.sinc_first)
    steps.insert(steps.end(), {S::final_resize, S::sinc, S::jpeg2});
  else
    steps.insert(steps.end(), {S::jpeg2, S::final_resize, S::sinc});
  steps.push_back(S::quantize);
  return steps;
}

void apply_step(std::vector<Planes>& x, const DegradationParams& p, DegradationStep step) {
  SR_CHECK(x.size() == p.batch(), "degrade: ", x.size(), " images but parameters for ", p.batch());
  const int lh = p.height / p.scale, lw = p.width / p.scale;
  switch (step) {
    case DegradationStep::blur1:
      for (size_t b = 0; b < x.size(); ++b) x[b] = filter2d(x[b], p.kernels[b].kernel1.weights);
      return;
    case DegradationStep::resize1:
      for (Planes& q : x) q = resize_by_factor(q, p.resize1.factor, p.resize1.mode);
      return;
    case DegradationStep::noise1: add_noise(x, p.noise1, p.seed); return;
    case DegradationStep::jpeg1: jpeg(x, p.jpeg1); return;
    case DegradationStep::blur2:
      for (size_t b = 0; b < x.size(); ++b) x[b] = filter2d(x[b], p.kernels[b].kernel2.weights);
      return;
    case DegradationStep::resize2:
      for (Planes& q : x) q = resize_to(q, p.resize2_height, p.resize2_width, p.resize2.mode);
      return;
    case DegradationStep::noise2: add_noise(x, p.noise2, p.seed); return;
    case DegradationStep::final_resize:
      for (Planes& q : x) q = resize_to(q, lh, lw, p.final_mode);
      return;
    case DegradationStep::sinc:
      for (size_t b = 0; b < x.size(); ++b) x[b] = filter2d(x[b], p.kernels[b].sinc.weights);
      return;
    case DegradationStep::jpeg2: jpeg(x, p.jpeg2); return;
    case DegradationStep::quantize:
      for (Planes& q : x) quantize_u8(q);
      return;
  }
  fail("degrade: unknown step ", (int)step);
}

json params_json(const DegradationParams& p, size_t b) {
  const SampleKernels& k = p.kernels.at(b);
  json j;
  j["kernel1"] = kernel_params_json(k.kernel1);
  j["kernel2"] = kernel_params_json(k.kernel2);
  j["sinc_kernel"] = kernel_params_json(k.sinc);
  // resize_by_factor's output size.
  j["resize1"] = resize_json(p.resize1, (int)std::floor(p.height * p.resize1.factor),
                             (int)std::floor(p.width * p.resize1.factor));
  j["noise1"] = noise_json(p.noise1, b);
  j["jpeg1"] = p.jpeg1[b];
  j["second_blur"] = p.second_blur;
  j["resize2"] = resize_json(p.resize2, p.resize2_height, p.resize2_width);
  j["noise2"] = noise_json(p.noise2, b);
  j["jpeg2"] = p.jpeg2[b];
  j["final"] = {{"order", p.sinc_first ? "resize_sinc_jpeg" : "jpeg_resize_sinc"},
                {"mode", resize_mode_name(p.final_mode)}};
  return j;
}

std::vector<Planes> degrade_batch(const std::vector<Planes>& gt, const std::vector<SampleKernels>& kernels,
                                  const DegradationOptions& opt, uint64_t seed, uint64_t batch_key,
                                  std::vector<json>* params) {
  SR_CHECK(!gt.empty(), "degrade: empty batch");
  SR_CHECK(gt.size() == kernels.size(), "degrade: ", gt.size(), " images but ", kernels.size(), " kernel sets");
  const int H = gt[0].height, W = gt[0].width;
  for (const Planes& g : gt)
    SR_CHECK(g.channels == 3 && g.height == H && g.width == W, "degrade: every GT of a batch must be 3x", W, "x", H,
             ", got ", g.channels, "x", g.width, "x", g.height);
  const DegradationParams p = draw_degradation(kernels, H, W, opt, seed, batch_key);
  if (params) {
    params->clear();
    for (size_t b = 0; b < gt.size(); ++b) params->push_back(params_json(p, b));
  }
  std::vector<Planes> x = gt;
  for (const DegradationStep step : degradation_steps(p)) apply_step(x, p, step);
  return x;
}

}  // namespace sr::data::degrade
