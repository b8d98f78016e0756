// Helpers of the simt/ tests: device buffers of the SIMT interpreter (guarded and
// NaN-poisoned, kernels/simt/device.h), and the parity suites' tolerances, random inputs and
// comparison (tests/support/parity.h).
#pragma once
#include <cstring>
#include <vector>

#include "kernels/simt/device.h"
#include "support/parity.h"

namespace sr::simt_test {

using namespace sr::parity;

// n elements of T in the interpreter's device memory (poisoned unless given values).
template <class T>
struct DevT {
  T* p = nullptr;
  int64_t n = 0;
  explicit DevT(int64_t count) : p(static_cast<T*>(::simt::device_alloc(count * sizeof(T)))), n(count) {}
  explicit DevT(const std::vector<T>& v) : DevT((int64_t)v.size()) {
    if (!v.empty()) std::memcpy(p, v.data(), v.size() * sizeof(T));
  }
  ~DevT() { ::simt::device_free(p); }
  DevT(const DevT&) = delete;
  DevT& operator=(const DevT&) = delete;
  std::vector<T> get() const { return std::vector<T>(p, p + n); }
};
using Dev = DevT<float>;

}  // namespace sr::simt_test
