// Helpers of the simt/ tests: device buffers of the SIMT interpreter (guarded and
// NaN-poisoned, kernels/simt/device.h), and the parity suites' tolerances, random inputs and
// comparison (tests/support/parity.h).
#pragma once
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "engine/error.h"
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

// The error a launch (or any call) throws, "" when it throws none: the interpreter's reports
// (a race, a stuck barrier, a misuse of a primitive) are sr::Error.
inline std::string fault_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sr::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace sr::simt_test
