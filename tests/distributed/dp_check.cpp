// Distributed checks, run under `mpirun -np 2` by ctest (tests/CMakeLists.txt):
//   grad_average  each rank computes the gradient of its half of a global batch, the
//                 bucketed reducer averages them; the result must equal (to float32
//                 reduction-order tolerance) the gradient of the whole batch on one rank,
//                 and be bit-identical on every rank.
//   rank_failure  rank 1 throws; the job must end non-zero with that message.
//   rank_hang     rank 1 stalls outside any collective; rank 0's watchdog (timeout 2 s)
//                 must end the job with a message naming the wait.
//   replica_check replicas_differing_from_rank0 finds nothing on equal replicas and
//                 exactly the one tensor rank 1 changed by one bit.
// And, without MPI, for the training tests (tests/distributed/train_runs.sh):
//   compare A B ABS REL PREFIX...  every tensor of safetensors file A whose name starts
//                 with a PREFIX must match B within |a-b| <= ABS + REL*|b|; prints the
//                 worst element and how much of the budget it used.
// Exit status 0 means the check passed.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "engine/ops.h"
#include "engine/random.h"
#include "engine/safetensors.h"
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

int rank_hang(Communicator& comm) {
  comm.set_timeout(2);
  if (comm.rank() == 1) std::this_thread::sleep_for(std::chrono::seconds(100));
  Tensor t = Tensor::ones({4});
  comm.all_reduce(t, false);
  return 0;
}

int replica_check(Communicator& comm) {
  NamedTensors state;
  for (int i = 0; i < 3; ++i) {
    Generator gen(11 + i);  // same seed on every rank: equal replicas
    Tensor t = Tensor::empty({5, 7});
    normal_(t, 0, 1, gen);
    state.push_back({"t" + std::to_string(i), t});
  }
  int failures = 0;
  if (!replicas_differing_from_rank0(comm, state).empty()) {
    std::fprintf(stderr, "rank %d: equal replicas reported as different\n", comm.rank());
    ++failures;
  }
  if (comm.rank() == 1) {  // flip the lowest mantissa bit of one element
    uint32_t bits;
    std::memcpy(&bits, state[1].second.data<float>() + 17, 4);
    bits ^= 1u;
    std::memcpy(state[1].second.data<float>() + 17, &bits, 4);
  }
  const auto differ = replicas_differing_from_rank0(comm, state);
  const std::vector<std::string> expected = comm.rank() == 1 ? std::vector<std::string>{"t1"} : std::vector<std::string>{};
  if (differ != expected) {
    std::fprintf(stderr, "rank %d: after a one-bit change on rank 1, %zu tensor(s) reported (expected %zu)\n",
                 comm.rank(), differ.size(), expected.size());
    ++failures;
  }
  std::vector<double> total{(double)failures};
  comm.all_reduce_host(total);
  if (comm.rank() == 0) std::printf("replica_check: %s\n", total[0] == 0 ? "passed" : "FAILED");
  return total[0] == 0 ? 0 : 1;
}

// compare A B ABS REL PREFIX...: see the top of the file.
int compare_files(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: dp_check compare A B ABS REL PREFIX...\n");
    return 2;
  }
  const SafetensorsFile a = read_safetensors(argv[2]), b = read_safetensors(argv[3]);
  const double abs_tol = std::atof(argv[4]), rel_tol = std::atof(argv[5]);
  std::map<std::string, Tensor> bt(b.tensors.begin(), b.tensors.end());
  size_t compared = 0;
  double worst = 0, worst_a = 0, worst_b = 0, max_diff = 0;
  std::string worst_name;
  int64_t worst_index = -1;
  for (const auto& [name, t] : a.tensors) {
    bool wanted = false;
    for (int i = 6; i < argc; ++i) wanted |= name.rfind(argv[i], 0) == 0;
    if (!wanted) continue;
    auto it = bt.find(name);
    if (it == bt.end() || it->second.shape() != t.shape()) {
      std::fprintf(stderr, "FAIL: %s: missing or of another shape in %s\n", name.c_str(), argv[3]);
      return 1;
    }
    const auto va = t.to_vector(), vb = it->second.to_vector();
    for (size_t k = 0; k < va.size(); ++k) {
      const double d = std::fabs(va[k] - vb[k]), used = d / (abs_tol + rel_tol * std::fabs(vb[k]));
      max_diff = std::max(max_diff, d);
      if (used > worst || worst_index < 0)
        worst = used, worst_name = name, worst_index = (int64_t)k, worst_a = va[k], worst_b = vb[k];
    }
    ++compared;
  }
  if (compared == 0) {
    std::fprintf(stderr, "FAIL: no tensor of %s matches the prefixes\n", argv[2]);
    return 1;
  }
  std::printf("%s: %zu tensors, max |a-b| %.3g; worst %s[%lld]: %.9g vs %.9g, %.3g of the tolerance "
              "(abs %g + rel %g)\n", worst > 1 ? "FAIL" : "ok", compared, max_diff, worst_name.c_str(),
              (long long)worst_index, worst_a, worst_b, worst, abs_tol, rel_tol);
  return worst > 1 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  std::unique_ptr<Communicator> comm;
  try {
    if (mode == "compare") return compare_files(argc, argv);
    comm = make_communicator("mpi", Device::cpu());
    if (mode == "grad_average") return grad_average(*comm);
    if (mode == "rank_failure") return rank_failure(*comm);
    if (mode == "rank_hang") return rank_hang(*comm);
    if (mode == "replica_check") return replica_check(*comm);
    std::fprintf(stderr, "usage: dp_check grad_average|rank_failure|rank_hang|replica_check|compare\n");
    return 2;
  } catch (const std::exception& e) {
    if (comm) comm->abort(std::string("error: ") + e.what());
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
