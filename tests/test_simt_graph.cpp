// The simt device's CUDA graphs (kernels/simt/graph.h): a capture records launches, copies and
// fills without running them; each replay runs them again in order, reading host->device
// sources as they are then; memory allocated during the capture keeps its address until the
// graph is destroyed; a host wait inside a capture is refused.
// With SRENGINE_SIMT=OFF the test glob puts this file in srengine_tests: it compiles to nothing there.
#ifdef SRENGINE_WITH_SIMT
#include "kernels/simt/kernels.h"  // first: kernels/cuda's headers as sr::simt

#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "kernels/simt/device.h"
#include "kernels/simt/graph.h"

TEST_CASE("simt/graph_capture_and_replay") {
  namespace dev = sr::simt;
  const int64_t n = 1000;
  const size_t bytes = n * sizeof(float);
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<float> uni(-4.f, 4.f);
  auto* in = static_cast<float*>(dev::allocate_pinned_host(bytes, 0));  // refilled before each replay
  auto* a = static_cast<float*>(dev::allocate(bytes, 0));
  auto* y = static_cast<float*>(dev::allocate(bytes, 0));  // NaN-poisoned by the allocator
  const size_t before = ::simt::device_allocations();
  float factor = 2.f;  // a value passed as a kernel argument is the captured one at every replay

  ::simt::begin_capture();
  dev::memcpy(a, in, bytes, dev::CopyKind::host_to_device);
  auto* t = static_cast<float*>(dev::allocate(bytes, 0));  // graph memory
  dev::scale(a, factor, t, n);
  dev::add(t, a, y, n);
  dev::deallocate(t, 0);  // freed inside the capture: kept while the graph lives
  std::unique_ptr<::simt::Graph> g = ::simt::end_capture();
  REQUIRE_FALSE(::simt::capturing());
  CHECK(g->nodes() == 3);
  CHECK(g->allocations() == 1);
  CHECK(::simt::device_allocations() == before + 1);
  for (int64_t i = 0; i < n; ++i) REQUIRE(std::isnan(y[i]));  // nothing ran at capture time

  factor = 5.f;
  for (int replay = 0; replay < 3; ++replay) {
    for (int64_t i = 0; i < n; ++i) in[i] = uni(rng);
    g->replay();
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; ++i) wrong += y[i] != 2.f * in[i] + in[i];
    INFO("replay " << replay);
    CHECK(wrong == 0);
  }

  // The host cannot wait inside a capture, and captures do not nest.
  ::simt::begin_capture();
  std::vector<float> back(n);
  CHECK_THROWS_WITH(dev::memcpy(back.data(), y, bytes, dev::CopyKind::device_to_host),
                    Catch::Contains("a device->host copy inside a stream capture"));
  CHECK_THROWS_WITH(dev::synchronize(), Catch::Contains("synchronize() inside a stream capture"));
  CHECK_THROWS_WITH(::simt::begin_capture(), Catch::Contains("already open"));
  CHECK_THROWS_WITH(g->replay(), Catch::Contains("replayed inside a stream capture"));
  CHECK(::simt::end_capture()->nodes() == 0);
  CHECK_THROWS_WITH(::simt::end_capture(), Catch::Contains("without an open stream capture"));

  g.reset();  // its memory goes with it
  CHECK(::simt::device_allocations() == before);
  dev::deallocate(a, 0);
  dev::deallocate(y, 0);
  dev::release_pinned_host(in, bytes);
}

#endif  // SRENGINE_WITH_SIMT
