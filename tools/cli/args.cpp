// Command-line value parsing (see args.h).
#include "tools/cli/args.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "data/output_names.h"
#include "engine/atomic_file.h"
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

double parse_double_arg(const std::string& command, const std::string& flag, const std::string& value, double lo,
                        double hi) {
  // from_chars: no leading spaces, sign '+' or hexadecimal (strtod takes "0x10" as 16).
  double x = 0;
  const char* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, x, std::chars_format::general);
  const bool ok = !value.empty() && ec == std::errc() && ptr == end && std::isfinite(x) && x >= lo && x <= hi;
  SR_CHECK(ok, command, ": ", flag, " expects a number in [", lo, ", ", hi, "], got '", value, "'");
  return x;
}

double parse_fraction_arg(const std::string& command, const std::string& flag, const std::string& value, double hi) {
  auto decimal = [](std::string s, double& x) {
    if (!s.empty() && s[0] == '+') s.erase(0, 1);  // from_chars takes no '+'; '-' stays refused below
    const char* end = s.data() + s.size();
    const auto [ptr, ec] = std::from_chars(s.data(), end, x, std::chars_format::general);
    return !s.empty() && s[0] != '-' && ec == std::errc() && ptr == end && std::isfinite(x);
  };
  const size_t slash = value.find('/');
  double v = 0, num = 0, den = 0;
  const bool ok = slash == std::string::npos
                      ? decimal(value, v)
                      : decimal(value.substr(0, slash), num) && decimal(value.substr(slash + 1), den) && den != 0 &&
                            std::isfinite(v = num / den);
  SR_CHECK(ok && v > 0 && v <= hi, command, ": ", flag, " expects a positive decimal factor such as 0.25 or 1/4 (at most ",
           hi, "), got '", value, "'");
  return v;
}

void check_output_file(const std::string& path, const std::vector<std::string>& inputs, const std::string& what) {
  SR_CHECK(!path.empty(), what, ": expects a file name, got ''");
  data::check_output_is_not_an_input(path, inputs, what);
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  std::error_code ec;
  SR_CHECK(folder.empty() || std::filesystem::is_directory(folder, ec), what, ": cannot write '", path,
           "': folder '", folder.string(), "' does not exist");
  try {
    (void)resolve_write_target(path);  // a folder, device or FIFO there is refused
  } catch (const std::exception& e) {
    fail(what, ": ", e.what());
  }
}

void write_output_file(const std::string& path, const std::string& text, const std::vector<std::string>& inputs,
                       const std::string& what) {
  check_output_file(path, inputs, what);
  try {
    write_file_atomically(path, [&](std::FILE* f) { std::fputs(text.c_str(), f); });
  } catch (const std::exception& e) {
    fail(what, ": ", e.what());
  }
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
