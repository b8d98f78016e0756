// The Catch2 entry point of srengine_tests (one binary; ctest runs each TEST_CASE alone).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "engine/host_block_cache.h"

// Reused large host blocks come back NaN-filled in the tests, so that code reading an
// activation before writing it fails here instead of seeing a fresh mapping's zeros.
static const bool kPoisonReusedBlocks = [] {
  sr::host_cache::set_poison(true);
  return true;
}();
