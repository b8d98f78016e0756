// Command-line value parsing shared by the subcommands.
#pragma once
#include <climits>
#include <string>

namespace sr::cli {

// `value` as an integer in [lo, hi]; anything else (empty, trailing characters, out of
// range) is an error naming the command, the flag and the value.
int parse_int_arg(const std::string& command, const std::string& flag, const std::string& value,
                  int lo = INT_MIN, int hi = INT_MAX);

}  // namespace sr::cli
