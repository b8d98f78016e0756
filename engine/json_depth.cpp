// json_nesting_depth (see json_depth.h).
#include "engine/json_depth.h"

#include <algorithm>

namespace sr {

int json_nesting_depth(const char* s, size_t n, int stop_above) {
  int depth = 0, worst = 0;
  bool in_string = false;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '/' && i + 1 < n && s[i + 1] == '/') {
      while (i < n && s[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      i += 2;
      while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/')) ++i;
      ++i;
    } else if (c == '{' || c == '[') {
      worst = std::max(worst, ++depth);
      if (worst > stop_above) return worst;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return worst;
}

}  // namespace sr
