// Errors: every failure the user can cause is an sr::Error whose message names the op,
// file or key and the offending values. Nothing in srengine calls abort() or exit().
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace sr {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
inline void append_all(std::ostringstream&) {}
template <typename T, typename... Rest>
void append_all(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append_all(os, rest...);
}
}  // namespace detail

// Concatenates its arguments with operator<< into a string.
template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  detail::append_all(os, args...);
  return os.str();
}

template <typename... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(str_cat(args...));
}

}  // namespace sr

// SR_CHECK(cond, "op: message ", value, ...) throws sr::Error when cond is false.
#define SR_CHECK(cond, ...)                  \
  do {                                       \
    if (!(cond)) ::sr::fail(__VA_ARGS__);    \
  } while (0)
