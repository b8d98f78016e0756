// Command-line value parsing shared by the subcommands.
#pragma once
#include <climits>
#include <string>

#include "kernels/common/precision.h"

namespace sr::cli {

// `value` as an integer in [lo, hi]; anything else (empty, trailing characters, out of
// range) is an error naming the command, the flag and the value.
int parse_int_arg(const std::string& command, const std::string& flag, const std::string& value,
                  int lo = INT_MIN, int hi = INT_MAX);

// `value` as a precision name (default, fp32, tf32, bf16, fp16); anything else is an error
// naming the command, the flag, the value and the names.
Precision parse_precision_arg(const std::string& command, const std::string& flag, const std::string& value);

}  // namespace sr::cli
