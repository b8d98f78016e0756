// The Catch2 entry point of srengine_tests (one binary; ctest runs each TEST_CASE alone).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
