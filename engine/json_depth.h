// The bracket nesting depth of JSON text, found by a flat scan before any parser sees it:
// nlohmann's parser, destructor and dump() recurse per level, so a hostile file of a
// hundred thousand '[' would overflow the stack (a crash, not an error). Safetensors
// headers and configs are measured with this first and refused when too deep.
#pragma once
#include <cstddef>

namespace sr {

// Deepest '[' / '{' nesting outside string literals (and outside // and /* */ comments,
// which the config reader accepts). The scan stops as soon as the depth exceeds
// `stop_above`, so the cost of a hostile input is bounded by where it becomes too deep.
int json_nesting_depth(const char* text, size_t n, int stop_above);

}  // namespace sr
