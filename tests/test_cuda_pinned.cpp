// Page-locked host memory for the loader's batches: a pinned tensor round-trips through
// the GPU unchanged, and the block cache never hands out a block while a copy queued from
// it is still pending (the copies below are asynchronous, the host block is released and
// immediately reused for the next, different batch; an early reuse would corrupt an
// earlier batch on the device). Skipped without a CUDA device.
#include <catch2/catch.hpp>

#include <cstdio>
#include <vector>

#include "engine/cuda_runtime.h"
#include "engine/tensor.h"

using namespace sr;

TEST_CASE("cuda/pinned_host_memory") {
#ifdef SRENGINE_WITH_CUDA
  if (!cuda::available()) {
    std::printf("SKIPPED: no CUDA device\n");
    WARN("SKIPPED: no CUDA device");
    return;
  }
  const Shape shape({16, 3, 128, 128});  // one GT batch of the esrgan config: 3 MB
  std::vector<Tensor> on_device;
  for (int i = 0; i < 40; ++i) {
    Tensor host = Tensor::empty_pinned(shape);
    REQUIRE(host.is_pinned());
    host.fill_(i + 0.5);
    on_device.push_back(host.to(Device::cuda(0)));
  }  // each host block goes back to the cache right after its copy was queued
  for (int i = 0; i < 40; ++i) {
    const std::vector<double> v = on_device[i].to(Device::cpu()).to_vector();
    INFO("batch " << i);
    CHECK(v.front() == i + 0.5);
    CHECK(v.back() == i + 0.5);
    CHECK(v[v.size() / 2] == i + 0.5);
  }
#else
  std::printf("SKIPPED: srengine was built without CUDA\n");
  WARN("SKIPPED: srengine was built without CUDA");
#endif
}
