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

uint64_t parse_uint64_arg(const std::string& command, const std::string& flag, const std::string& value) {
  // Digits only: strtoull would take "-1" as 2^64-1 and skip leading spaces.
  SR_CHECK(!value.empty() && value.find_first_not_of("0123456789") == std::string::npos, command, ": ", flag,
           " expects an integer in [0, 18446744073709551615], got '", value, "'");
  errno = 0;
  const unsigned long long x = std::strtoull(value.c_str(), nullptr, 10);
  SR_CHECK(errno != ERANGE, command, ": ", flag, " expects an integer in [0, 18446744073709551615], got '", value,
           "' (too large)");
  return (uint64_t)x;
}

std::vector<std::string> split_option_values(const std::vector<std::string>& args,
                                             std::initializer_list<const char*> glued) {
  std::vector<std::string> out;
  for (const std::string& a : args) {
    const size_t eq = a.find('=');
    if (a.rfind("--", 0) == 0 && a.size() > 2 && eq != std::string::npos && eq > 2) {
      out.push_back(a.substr(0, eq));
      out.push_back(a.substr(eq + 1));
      continue;
    }
    // The longest short option that prefixes the word (-dn before a hypothetical -d).
    size_t best = 0;
    for (const char* g : glued) {
      const std::string s = g;
      if (a.size() > s.size() && a.rfind(s, 0) == 0 && s.size() > best) best = s.size();
    }
    if (best) {
      out.push_back(a.substr(0, best));
      out.push_back(a.substr(best));
    } else {
      out.push_back(a);
    }
  }
  return out;
}

}  // namespace sr::cli
