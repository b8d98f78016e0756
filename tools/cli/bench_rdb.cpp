// Dense-block benchmark cases (see bench_rdb.h).
#include "tools/cli/bench_rdb.h"

#include <memory>

#include "engine/autograd.h"
#include "engine/random.h"
#include "layers/rrdb.h"

namespace sr::cli {

namespace {

// Forward FLOPs of one block's five 3x3 convs per pixel and image: 2 * 9 * cin * cout.
double block_conv_flops(double nf, double gc) {
  double f = 0;
  for (int k = 0; k < 4; ++k) f += 18.0 * (nf + k * gc) * gc;
  return f + 18.0 * (nf + 4 * gc) * nf;
}

}  // namespace

std::vector<RdbBenchCase> rdb_bench_cases(int batch) {
  const double N = batch, nf = 64, gc = 32, H = 32;
  const std::string shape = "n" + std::to_string(batch) + " nf64 gc32 32x32";
  const std::map<std::string, double> p{{"N", N}, {"nf", nf}, {"gc", gc}, {"H", H}, {"W", H}};
  // Forward + backward-data + backward-weight: three times the forward convolutions.
  const double flops = 3 * N * H * H * block_conv_flops(nf, gc);
  // The unfused forward builds cat(x, x1..x_{k}) for k = 1..4: (4 nf + 10 gc) channels.
  const double cat_bytes = 4.0 * N * H * H * (4 * nf + 10 * gc);
  return {{"rdb_fwd_bwd/rrdb.rdb", "rdb_fwd_bwd", shape, p, flops, cat_bytes},
          {"rrdb_fwd_bwd/rrdb.rrdb", "rrdb_fwd_bwd", shape + " x3 blocks", p, 3 * flops, 3 * cat_bytes}};
}

std::vector<RdbBenchVariant> rdb_bench_variants() {
  std::vector<RdbBenchVariant> v{{"cpu", "fused", true}, {"cpu", "unfused", false}};
#ifdef SRENGINE_WITH_CUDA
  v.push_back({"cuda", "fused", true});
  v.push_back({"cuda", "unfused", false});
#endif
  return v;
}

std::function<void(int)> make_rdb_bench_runner(const RdbBenchCase& c, const RdbBenchVariant& v,
                                               int rotations) {
  const Device dev = parse_device(v.device);
  activate_device(dev, "bench device '" + v.device + "'");
  const int64_t N = (int64_t)c.p.at("N"), nf = (int64_t)c.p.at("nf"), gc = (int64_t)c.p.at("gc"),
                H = (int64_t)c.p.at("H"), W = (int64_t)c.p.at("W");
  const bool whole = c.op == "rrdb_fwd_bwd";
  std::shared_ptr<Module> m;
  if (whole)
    m = std::make_shared<RRDB>(nf, gc);
  else
    m = std::make_shared<ResidualDenseBlock>(nf, gc);
  m->to(dev);
  Generator gen(4321);
  std::vector<Tensor> xs, gs;
  for (int i = 0; i < rotations; ++i) {
    Tensor x = Tensor::empty({N, nf, H, W});
    Tensor g = Tensor::empty({N, nf, H, W});
    uniform_(x, -1, 1, gen);
    uniform_(g, -1, 1, gen);
    x = x.to(dev);
    x.set_requires_grad(true);
    xs.push_back(x);
    gs.push_back(g.to(dev));
  }
  const bool fused = v.variant == "fused";
  return [m, xs, gs, whole, fused, rotations](int i) {
    Tensor x = xs[i % rotations];
    m->zero_grad();
    x.zero_grad();
    Tensor y;
    if (whole) {
      auto& r = static_cast<RRDB&>(*m);
      y = fused ? r.forward_fused(x) : r.forward_unfused(x);
    } else {
      auto& b = static_cast<ResidualDenseBlock&>(*m);
      y = fused ? b.forward_fused(x) : b.forward_unfused(x);
    }
    y.backward(gs[i % rotations]);
  };
}

}  // namespace sr::cli
