// Command-line value parsing (see args.h).
#include "tools/cli/args.h"

#include <cerrno>
#include <cstdlib>

#include "engine/error.h"

namespace sr::cli {

int parse_int_arg(const std::string& command, const std::string& flag, const std::string& value, int lo, int hi) {
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(value.c_str(), &end, 10);
  const bool ok = !value.empty() && *end == 0 && errno == 0 && x >= lo && x <= hi;
  if (!ok) {
    if (lo == INT_MIN && hi == INT_MAX) fail(command, ": ", flag, " expects an integer, got '", value, "'");
    fail(command, ": ", flag, " expects an integer in [", lo, ", ", hi, "], got '", value, "'");
  }
  return (int)x;
}

}  // namespace sr::cli
