// A fresh seed per run for the tests' random inputs, from the OS entropy source; a test prints
// it with its failure. SRENGINE_TEST_SEED=<seed> replays one: every fresh seed of that run is
// the given value. Header-only, so that the simt test objects (linked without tests/support's
// sources) share it.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

#include "engine/error.h"

namespace sr::test {

inline uint64_t fresh_seed() {
  if (const char* s = std::getenv("SRENGINE_TEST_SEED"); s && *s) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s, &end, 10);
    SR_CHECK(*end == '\0', "SRENGINE_TEST_SEED must be a decimal seed, got '", s, "'");
    return v;
  }
  std::random_device rd;
  return ((uint64_t)rd() << 32) ^ rd();
}

}  // namespace sr::test
