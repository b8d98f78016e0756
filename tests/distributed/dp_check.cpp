// Distributed checks, run under `mpirun -np 2` by ctest (tests/CMakeLists.txt):
//   grad_average  each rank computes the gradient of its half of a global batch, the
//                 bucketed reducer averages them; the result must equal (to float32
//                 reduction-order tolerance) the gradient of the whole batch on one rank,
//                 and be bit-identical on every rank.
//   rank_failure  rank 1 throws; the job must end non-zero with that message.
// Exit status 0 means the check passed.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "engine/ops.h"
#include "engine/random.h"
#include "train/comm.h"
#include "train/grad_reducer.h"

using namespace sr;
using namespace sr::train;

namespace {

struct TinyNet {
  Tensor w1, b1, w2, b2;
  explicit TinyNet(uint64_t seed) {
    Generator gen(seed);
    w1 = Tensor::empty({8, 3, 3, 3});
    kaiming_uniform_(w1, std::sqrt(5.0), FanMode::fan_in, gen);
    b1 = Tensor::zeros({8});
    w2 = Tensor::empty({3, 8, 3, 3});
    kaiming_uniform_(w2, std::sqrt(5.0), FanMode::fan_in, gen);
    b2 = Tensor::zeros({3});
    for (Tensor* t : {&w1, &b1, &w2, &b2}) t->set_requires_grad(true);
  }
  std::vector<Tensor> params() const { return {w1, b1, w2, b2}; }
  Tensor forward(const Tensor& x) const {
    return conv2d(bias_leaky_relu(conv2d(x, w1, Tensor(), 1, 1), b1, 0.2), w2, b2, 1, 1);
  }
};

int grad_average(Communicator& comm) {
  const int64_t B = 3, world = comm.world_size();
  Generator data_gen(99);
  Tensor x = Tensor::empty({B * world, 3, 12, 10}), y = Tensor::empty({B * world, 3, 12, 10});
  normal_(x, 0, 1, data_gen);
  normal_(y, 0, 1, data_gen);

  // Data parallel: this rank's shard, gradients averaged by the reducer (1 KB buckets so
  // that several buckets and the overlap path are exercised).
  TinyNet net(7);
  GradReducer reducer(comm, net.params(), 0.001);
  Tensor loss = l1_loss(net.forward(x.narrow(0, comm.rank() * B, B).contiguous()),
                        y.narrow(0, comm.rank() * B, B).contiguous());
  reducer.begin();
  loss.backward();
  reducer.finish();

  // Reference: the whole batch on this process alone.
  TinyNet ref(7);
  l1_loss(ref.forward(x), y).backward();

  int failures = 0;
  const auto p = net.params(), r = ref.params();
  for (size_t i = 0; i < p.size(); ++i) {
    auto a = p[i].grad().to_vector(), b = r[i].grad().to_vector();
    double worst = 0;
    for (size_t k = 0; k < a.size(); ++k) worst = std::max(worst, std::fabs(a[k] - b[k]) / (1e-6 + 1e-4 * std::fabs(b[k])));
    if (worst > 1) {
      std::fprintf(stderr, "rank %d: parameter %zu: averaged gradient differs from full batch (%.3g of tolerance)\n",
                   comm.rank(), i, worst);
      ++failures;
    }
    // Bit-identical across ranks: rank 0's gradient broadcast and compared exactly.
    Tensor mine = p[i].grad().clone(), root = p[i].grad().clone();
    comm.broadcast(root, 0);
    if (mine.to_vector() != root.to_vector()) {
      std::fprintf(stderr, "rank %d: parameter %zu: gradient differs from rank 0's\n", comm.rank(), i);
      ++failures;
    }
  }
  std::vector<double> total{(double)failures};
  comm.all_reduce_host(total);
  if (comm.rank() == 0)
    std::printf("grad_average: %zu buckets, %s\n", reducer.bucket_count(), total[0] == 0 ? "passed" : "FAILED");
  return total[0] == 0 ? 0 : 1;
}

int rank_failure(Communicator& comm) {
  if (comm.rank() == 1) throw Error("planned failure on rank 1");
  // The other ranks wait in a collective that rank 1 never joins.
  Tensor t = Tensor::ones({4});
  comm.all_reduce(t, false);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  std::unique_ptr<Communicator> comm;
  try {
    comm = make_communicator("mpi", Device::cpu());
    if (mode == "grad_average") return grad_average(*comm);
    if (mode == "rank_failure") return rank_failure(*comm);
    std::fprintf(stderr, "usage: dp_check grad_average|rank_failure\n");
    return 2;
  } catch (const std::exception& e) {
    if (comm) comm->abort(std::string("error: ") + e.what());
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
