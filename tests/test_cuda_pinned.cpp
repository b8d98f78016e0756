// Page-locked host memory for the loader's batches: a pinned tensor round-trips through
// the GPU unchanged, blocks are reused, and the block cache never hands out a block while
// a copy queued from it is still pending (the copies below are asynchronous and held back
// behind a long kernel; the host block is released and reused for the next, different
// batch; an early reuse would corrupt an earlier batch on the device). Skipped without a
// CUDA device.
#include <catch2/catch.hpp>

#include <cstdio>
#include <set>
#include <vector>

#include "engine/cuda_runtime.h"
#include "engine/ops.h"
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
  // A convolution of ~1 ms queued before every copy keeps the copy pending while the
  // host moves on to the next batch, which (with the cache working) reuses the same
  // block: without the release event the host would overwrite it under the DMA.
  const Tensor busy = Tensor::zeros({32, 64, 256, 256}, DType::f32, Device::cuda(0));
  const Tensor w = Tensor::zeros({64, 64, 3, 3}, DType::f32, Device::cuda(0));
  std::vector<Tensor> on_device;
  std::set<const void*> blocks;
  for (int i = 0; i < 40; ++i) {
    Tensor host = Tensor::empty_pinned(shape);
    REQUIRE(host.is_pinned());
    blocks.insert(host.raw_data());
    host.fill_(i + 0.5);
    (void)conv2d(busy, w, Tensor(), 1, 1);
    on_device.push_back(host.to(Device::cuda(0)));
  }  // each host block goes back to the cache right after its copy was queued
  CHECK(blocks.size() < 40);  // the cache did hand blocks out again
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
