// The size options of a network (channels, blocks, widths) checked one key at a time, so a bad
// value is named by its key ("ECBSR: num_block must be at least 0, got -1"), not listed among
// all the sizes. Every network constructor checks its own with one call.
#pragma once
#include <cstdint>
#include <initializer_list>

namespace sr {

// One option: BasicSR's key, its value and the least value the network accepts.
struct SizeOption {
  const char* key;
  int64_t value;
  int64_t least;
};

// Fails (sr::Error) on the first option below its least value, naming `network`, the key, the
// least value and the value given.
void check_size_options(const char* network, std::initializer_list<SizeOption> options);

}  // namespace sr
