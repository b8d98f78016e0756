// Command-line value parsing shared by the subcommands.
#pragma once
#include <climits>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace sr::cli {

// `value` as an integer in [lo, hi]; anything else (empty, trailing characters, out of
// range) is an error naming the command, the flag and the value.
int parse_int_arg(const std::string& command, const std::string& flag, const std::string& value,
                  int lo = INT_MIN, int hi = INT_MAX);

// `value` as an unsigned 64-bit integer, 0 .. 2^64-1 (the range of a config's manual_seed):
// decimal digits only; a sign, trailing characters or a larger value is an error naming the
// command, the flag and the value (never clamped).
uint64_t parse_uint64_arg(const std::string& command, const std::string& flag, const std::string& value);

// `value` as a finite decimal number in [lo, hi] ("0.5", "2", "1e3"); anything else (empty,
// trailing characters, hexadecimal, inf, nan, out of range) is an error naming the command,
// the flag and the value.
double parse_double_arg(const std::string& command, const std::string& flag, const std::string& value, double lo,
                        double hi);

// `value` as a positive factor in (0, hi]: a decimal number ("0.25", "+0.25") or the quotient
// of two ("1/4", computed as 1.0 / 4 in float64, so "1/3" is Python's 1 / 3). Hexadecimal, inf,
// nan, a minus sign (also "-1/-4"), spaces or trailing characters are an error naming the
// command, the flag and the value.
double parse_fraction_arg(const std::string& command, const std::string& flag, const std::string& value, double hi);

// The most OpenMP threads a --threads option accepts: far above any core count, far below
// what makes libgomp crash (--threads 1000000 ended in a segmentation fault).
constexpr int kMaxThreads = 4096;

// Refuses an output file `path` of `what` ("bench train: --json") that is one of `inputs` (the
// config, the weights) under any spelling, a folder, device or FIFO, or in a folder that does
// not exist: called before a benchmark runs, so that a wrong path fails at once, not after
// minutes of work.
void check_output_file(const std::string& path, const std::vector<std::string>& inputs, const std::string& what);

// Writes `text` to `path` atomically (a temporary file renamed over it, so an interrupted or
// failed write leaves no torn file), after check_output_file.
void write_output_file(const std::string& path, const std::string& text, const std::vector<std::string>& inputs,
                       const std::string& what);

// The argparse / GNU spellings of an option with its value, as the two words the commands
// parse: `--name=value` becomes `--name` `value` (main() does this for every command), and a
// value glued to one of the short options in `glued` (`-s2`, `-t256`, `-dn0.5`) becomes
// `-s` `2`. Every other word is kept as it is.
std::vector<std::string> split_option_values(const std::vector<std::string>& args,
                                             std::initializer_list<const char*> glued = {});

}  // namespace sr::cli
