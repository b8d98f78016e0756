// What the network fixtures of tests/fixtures/nets share (tools/make_fixtures.py writes them):
// the input of the fixtures too large to store, rebuilt from its hash.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace sr::test {

// tools/make_fixtures.py's hashed_input: element i is a fixed hash of i mapped to [-1, 1).
inline Tensor fixture_hashed_input(const Shape& shape, DType dtype) {
  std::vector<double> v(shape.numel());
  for (size_t i = 0; i < v.size(); ++i) {
    const uint64_t h = (uint64_t(i) * 2654435761ull + 12345ull) & 0xffffffffull;
    v[i] = double(h) / 4294967296.0 * 2.0 - 1.0;
  }
  return Tensor::from_vector(v, shape, dtype);
}

}  // namespace sr::test
